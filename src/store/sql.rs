//! One way to speak SQL to either backend: statements written once, run on SQLite or PostgreSQL,
//! through a [`Conn`] borrowed for a unit of work. The values they carry are [`super::value`]'s;
//! the engines that run them are [`super::engine`]'s.
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

use super::engine;
use super::error::StoreError;
use super::value::FromValue;
use std::sync::{Mutex, MutexGuard};

pub(crate) use super::value::args;
pub use super::value::{Param, Row};
pub use engine::sqlite::block;

/// Which engine a connection talks to, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The condition that `column` is one of a list of ids given as placeholder `?n` (its value
    /// [`Dialect::ids`]): a page's rows read in one statement, each by its key.
    pub fn in_ids(self, column: &str, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("{column} IN (SELECT value FROM json_each(?{n}))"),
            Dialect::Postgres => format!("{column} = ANY(CAST(CAST(?{n} AS TEXT) AS BIGINT[]))"),
        }
    }

    /// The value of an [`Dialect::in_ids`] placeholder: a JSON array or an array literal.
    pub fn ids(self, ids: &[i64]) -> String {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        match self {
            Dialect::Sqlite => format!("[{list}]"),
            Dialect::Postgres => format!("{{{list}}}"),
        }
    }
}

/// A connection of either engine, borrowed for a unit of work.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    /// Behind a mutex so that the borrow can cross threads (rusqlite's connection is not `Sync`);
    /// the lock is held for one statement at a time, never across an await.
    Sqlite(&'a Mutex<rusqlite::Connection>),
    Postgres(&'a deadpool_postgres::ClientWrapper),
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
            Conn::Sqlite(conn) => Some(engine::sqlite::lock(conn)),
            Conn::Postgres(_) => None,
        }
    }

    /// Every row the statement returns.
    pub async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        match self {
            Conn::Sqlite(conn) => engine::sqlite::query(&engine::sqlite::lock(conn), sql, params),
            Conn::Postgres(client) => engine::postgres::query(client, sql, params).await,
        }
    }

    /// Every row the statement returns, the statement planned for its values each time: for a
    /// statement whose best plan depends on them (search). SQLite plans every run so already.
    pub async fn query_planned(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        match self {
            Conn::Sqlite(conn) => engine::sqlite::query(&engine::sqlite::lock(conn), sql, params),
            Conn::Postgres(client) => engine::postgres::query_planned(client, sql, params).await,
        }
    }

    /// The first row, if any.
    pub async fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// The first column of the first row, if there is a row.
    pub async fn value<T: FromValue>(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<T>, StoreError> {
        Ok(self.query_opt(sql, params).await?.map(|r| r.get(0)).transpose()?)
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(conn) => engine::sqlite::execute(&engine::sqlite::lock(conn), sql, params),
            Conn::Postgres(client) => engine::postgres::execute(client, sql, params).await,
        }
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(conn) => Ok(engine::sqlite::lock(conn).execute_batch(sql)?),
            Conn::Postgres(client) => client.batch_execute(sql).await.map_err(engine::postgres::error),
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
            Conn::Sqlite(conn) => !engine::sqlite::lock(conn).is_autocommit(),
            Conn::Postgres(_) => true,
        }
    }
}
