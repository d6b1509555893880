//! Statements on one SQLite connection: prepared from the connection's cache, values bound and
//! read back as owned [`Row`]s. SQLite answers at once, so the futures built on these never wait
//! and [`block`] runs them to their end on the calling thread.

use crate::store::error::StoreError;
use crate::store::value::{Param, Row, Value};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The connection, for one statement: a poisoned lock (a panic elsewhere) still hands it out,
/// since SQLite itself keeps the data consistent.
pub fn lock(conn: &Mutex<rusqlite::Connection>) -> MutexGuard<'_, rusqlite::Connection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn query(conn: &rusqlite::Connection, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns: Arc<[String]> = stmt.column_names().map(String::from).collect();
    let width = columns.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                rusqlite::types::ValueRef::Real(v) => Value::Int(v as i64),
                rusqlite::types::ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                rusqlite::types::ValueRef::Blob(v) => Value::Blob(v.to_vec()),
            });
        }
        out.push(Row::new(Arc::clone(&columns), values));
    }
    Ok(out)
}

pub fn execute(conn: &rusqlite::Connection, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(v),
            Param::Bool(v) => ValueRef::Integer(i64::from(v)),
            Param::Text(v) => ValueRef::Text(v.as_bytes()),
            Param::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// Runs a future that never waits (every SQLite statement answers at once) to its end on this
/// thread. Only for SQLite work: a PostgreSQL future is awaited on a runtime instead.
pub fn block<F: Future>(work: F) -> F::Output {
    let mut work = std::pin::pin!(work);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = work.as_mut().poll(&mut cx) {
            return output;
        }
        // Not reached with SQLite; yielding keeps a misuse from spinning a core flat out.
        std::thread::yield_now();
    }
}
