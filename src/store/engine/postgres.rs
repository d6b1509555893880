//! Statements on one PostgreSQL connection: the SQL of [`crate::store::sql`] rewritten for
//! PostgreSQL, prepared once per connection, its values bound and read back, its errors sorted
//! into [`StoreError`]s.

use crate::store::error::StoreError;
use crate::store::value::{Param, Row, Value};
use deadpool_postgres::ClientWrapper;
use deadpool_postgres::tokio_postgres::error::SqlState;
use deadpool_postgres::tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use std::sync::Arc;

pub async fn query(client: &ClientWrapper, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
    let stmt = client.prepare_cached(&rewrite(sql)).await.map_err(error)?;
    let bound: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&stmt, &bound).await.map_err(error)?;
    let columns: Arc<[String]> = stmt.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|row| {
            let values = stmt
                .columns()
                .iter()
                .enumerate()
                .map(|(i, column)| read(row, i, column.type_()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row::new(Arc::clone(&columns), values))
        })
        .collect()
}

/// Like [`query`], but planned for its values each time (an unnamed statement, never cached):
/// for a statement whose best plan depends on them. A cached statement gets a generic plan after
/// a few runs, blind to its values; for search that is a bitmap of every match sorted, where a
/// frequent word is found at once walking the newest rows (measured at 100,000 messages: 29 ms
/// against 0.4 ms).
pub async fn query_planned(client: &ClientWrapper, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
    let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
        .iter()
        .map(|p| {
            let ty = match p {
                Param::Int(_) => Type::INT8,
                Param::Bool(_) => Type::BOOL,
                Param::Text(_) => Type::TEXT,
                Param::Blob(_) => Type::BYTEA,
                Param::Null => Type::UNKNOWN,
            };
            (p as &(dyn ToSql + Sync), ty)
        })
        .collect();
    let rows = client.query_typed(&rewrite(sql), &typed).await.map_err(error)?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first.columns().iter().map(|c| c.name().to_string()).collect();
    rows.iter()
        .map(|row| {
            let values = row
                .columns()
                .iter()
                .enumerate()
                .map(|(i, column)| read(row, i, column.type_()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row::new(Arc::clone(&columns), values))
        })
        .collect()
}

pub async fn execute(client: &ClientWrapper, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
    let stmt = client.prepare_cached(&rewrite(sql)).await.map_err(error)?;
    let bound: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    client.execute(&stmt, &bound).await.map_err(error)
}

/// A column as a [`Value`]: integers and booleans as integers (SQLite keeps booleans so), text,
/// bytes; anything else by its text form.
fn read(row: &deadpool_postgres::tokio_postgres::Row, i: usize, ty: &Type) -> Result<Value, StoreError> {
    let fail = |e: deadpool_postgres::tokio_postgres::Error| StoreError::Failed(format!("column {i}: {e}"));
    let value = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(fail)?.map(Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(fail)?
            .map(|v| Value::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(fail)?
            .map(|v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(fail)?
            .map(|v| Value::Int(v.into())),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(fail)?.map(Value::Blob),
        Type::VOID => None,
        _ => row.try_get::<_, Option<String>>(i).map_err(fail)?.map(Value::Text),
    };
    Ok(value.unwrap_or(Value::Null))
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N`; SQLite's `INDEXED BY name` hints dropped
/// (PostgreSQL's planner picks the index itself). Our statements hold no `?` inside literals.
pub fn rewrite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(['?', 'I']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix('?') {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("INDEXED BY ") {
            // Skip the index name that follows.
            rest = after
                .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
                .trim_start_matches(' ');
        } else {
            out.push('I');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// A PostgreSQL failure as the SMTP side answers it: no space left is 452 4.3.1, anything else
/// (connection lost, server shutting down, serialization failure, deadlock) 451 4.3.0.
pub fn error(e: deadpool_postgres::tokio_postgres::Error) -> StoreError {
    let text = match e.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {e}"),
    };
    match e.code() {
        Some(code) if *code == SqlState::DISK_FULL || *code == SqlState::OUT_OF_MEMORY => StoreError::Full(text),
        _ => StoreError::Failed(text),
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => match *ty {
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Param::Bool(v) => match *ty {
                Type::BOOL => v.to_sql(ty, out),
                _ => i64::from(v).to_sql(ty, out),
            },
            // PostgreSQL's text cannot hold NUL; the raw message (bytes) keeps it.
            Param::Text(v) if v.contains('\0') => v.replace('\0', "\u{fffd}").as_str().to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn placeholders_and_index_hints_are_rewritten() {
        assert_eq!(
            rewrite("SELECT id FROM conversations INDEXED BY conversations_by_contact WHERE a = ?1 AND b = ?12"),
            "SELECT id FROM conversations WHERE a = $1 AND b = $12"
        );
        assert_eq!(
            rewrite("INSERT INTO t (x) VALUES (?1)"),
            "INSERT INTO t (x) VALUES ($1)"
        );
    }
}
