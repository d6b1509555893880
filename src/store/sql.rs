//! One way to speak SQL to either backend: statements written once, run on SQLite or PostgreSQL.
//!
//! Statements use SQLite's numbered placeholders (`?1`, `?2`, …) and the SQL both engines share
//! (`ON CONFLICT`, `RETURNING`, `TRUE`/`FALSE`, `coalesce`, `||`). For PostgreSQL a statement is
//! rewritten once (`?N` → `$N`, SQLite's `INDEXED BY` hints dropped) and prepared on each connection
//! from its statement cache. Values travel as [`Param`] and come back as [`Row`]s of owned values,
//! so the rules that write and read mail (apply, read, admin) exist once, not once per engine.
//!
//! SQLite answers at once: its futures never wait, and [`block`] runs them on the calling thread
//! (the SQLite writer thread, the CLI, the blocking pool). PostgreSQL's are real network futures
//! awaited on the runtime.

use super::StoreError;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Which engine a connection talks to, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection of either engine, borrowed for a unit of work.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    /// Behind a mutex so that the borrow can cross threads (rusqlite's connection is not `Sync`);
    /// the lock is held for one statement at a time, never across an await.
    Sqlite(&'a Mutex<rusqlite::Connection>),
    Postgres(&'a deadpool_postgres::ClientWrapper),
}

/// A value bound to a statement's placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be bound as a [`Param`].
pub trait ToParam {
    fn param(&self) -> Param<'_>;
}

impl ToParam for i64 {
    fn param(&self) -> Param<'_> {
        Param::Int(*self)
    }
}
impl ToParam for bool {
    fn param(&self) -> Param<'_> {
        Param::Bool(*self)
    }
}
impl ToParam for str {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for String {
    fn param(&self) -> Param<'_> {
        Param::Text(self)
    }
}
impl ToParam for [u8] {
    fn param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}
impl ToParam for Vec<u8> {
    fn param(&self) -> Param<'_> {
        Param::Blob(self)
    }
}
impl ToParam for Param<'_> {
    fn param(&self) -> Param<'_> {
        *self
    }
}
impl<T: ToParam + ?Sized> ToParam for &T {
    fn param(&self) -> Param<'_> {
        (**self).param()
    }
}
impl<T: ToParam> ToParam for Option<T> {
    fn param(&self) -> Param<'_> {
        self.as_ref().map_or(Param::Null, ToParam::param)
    }
}

/// The parameters of one statement: `args![a, b, c]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::ToParam::param(&$value)),*][..]
    };
}
pub(crate) use args;

/// A column's value as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// One result row: its values in column order, and the columns' names.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

/// A Rust type a column converts to.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Int(v) => Ok(v),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, String> {
        i64::from_value(value).map(|v| v != 0)
    }
}
impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(v) => Ok(v),
            Value::Blob(v) => String::from_utf8(v).map_err(|e| e.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Blob(v) => Ok(v),
            Value::Text(v) => Ok(v.into_bytes()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}
/// A JSON column (stored as text): its value, or null when absent or unreadable.
impl FromValue for serde_json::Value {
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(Option::<String>::from_value(value)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null))
    }
}

impl Row {
    pub(super) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    /// The value of column `index` (from 0).
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.values.get(index).cloned().unwrap_or(Value::Null);
        T::from_value(value).map_err(|e| StoreError::Failed(format!("column {index}: {e}")))
    }

    /// The value of the column named `name`.
    pub fn named<T: FromValue>(&self, name: &str) -> Result<T, StoreError> {
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| StoreError::Failed(format!("no column `{name}`")))?;
        T::from_value(self.values[index].clone()).map_err(|e| StoreError::Failed(format!("column {name}: {e}")))
    }
}

impl Conn<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection itself, for what only SQLite does (streaming a blob in place).
    pub fn sqlite(&self) -> Option<MutexGuard<'_, rusqlite::Connection>> {
        match self {
            Conn::Sqlite(conn) => Some(lock(conn)),
            Conn::Postgres(_) => None,
        }
    }

    /// Every row the statement returns.
    pub async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        match self {
            Conn::Sqlite(conn) => sqlite_query(&lock(conn), sql, params),
            Conn::Postgres(client) => super::postgres::query(client, sql, params).await,
        }
    }

    /// The first row, if any.
    pub async fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// The first column of the first row, if there is a row.
    pub async fn value<T: FromValue>(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<T>, StoreError> {
        self.query_opt(sql, params).await?.map(|r| r.get(0)).transpose()
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let conn = lock(conn);
                let mut stmt = conn.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Conn::Postgres(client) => super::postgres::execute(client, sql, params).await,
        }
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(conn) => Ok(lock(conn).execute_batch(sql)?),
            Conn::Postgres(client) => client.batch_execute(sql).await.map_err(super::postgres::error),
        }
    }

    /// Starts a write transaction: SQLite takes its write lock at once (`IMMEDIATE`), so a busy
    /// database is met here and not halfway through.
    pub async fn begin(&self) -> Result<(), StoreError> {
        self.batch(match self {
            Conn::Sqlite(_) => "BEGIN IMMEDIATE",
            Conn::Postgres(_) => "BEGIN",
        })
        .await
    }

    /// False once the engine has given up the transaction by itself (SQLite rolls back on a full
    /// disk or an I/O error); PostgreSQL keeps it open, failed, until ROLLBACK.
    pub fn in_transaction(&self) -> bool {
        match self {
            Conn::Sqlite(conn) => !lock(conn).is_autocommit(),
            Conn::Postgres(_) => true,
        }
    }
}

fn lock(conn: &Mutex<rusqlite::Connection>) -> MutexGuard<'_, rusqlite::Connection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

fn sqlite_query(conn: &rusqlite::Connection, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
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
/// thread. Only for [`Conn::Sqlite`] work: a PostgreSQL future is awaited on the runtime instead.
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
