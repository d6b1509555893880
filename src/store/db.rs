//! The one way the doors reach the store (the CLI, the HTTP API, the web inbox, the webhook
//! sender): a [`Db`] handle, and work on it given as a closure over a connection that calls the
//! resources' functions. SQLite's work runs on the blocking pool, PostgreSQL's on a pooled
//! connection; neither blocks the async workers.

use super::sql::{Conn, block};
use super::{BoxFuture, Location, StoreError};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub enum Db {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(deadpool_postgres::Pool),
}

impl Db {
    pub fn sqlite(conn: rusqlite::Connection) -> Db {
        Db::Sqlite(Arc::new(Mutex::new(conn)))
    }

    /// Opens the configured database for a door outside the server (the CLI), brought up to this
    /// build's schema as `serve` would: a connection of its own, or a small pool. Runs on a
    /// runtime.
    pub async fn open(location: &Location) -> Result<Db, StoreError> {
        match location {
            Location::Sqlite { path, mode } => Ok(Db::sqlite(super::open_connection(path, *mode)?)),
            Location::Postgres(options) => {
                let first = super::postgres::connect(options).await?;
                super::postgres::migrate(&first).await?;
                drop(first);
                let options = super::PostgresOptions {
                    pool_size: 2,
                    ..options.clone()
                };
                Ok(Db::Postgres(super::postgres::pool(&options)?))
            }
        }
    }

    /// Runs `work` on a connection: SQLite's on the blocking pool, PostgreSQL's on a pooled one.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        match self {
            Db::Sqlite(conn) => {
                let conn = Arc::clone(conn);
                tokio::task::spawn_blocking(move || block(work(Conn::Sqlite(&conn))))
                    .await
                    .map_err(|e| StoreError::Failed(format!("database work panicked: {e}")))?
            }
            Db::Postgres(pool) => match pool.get().await {
                Ok(client) => work(Conn::Postgres(&client)).await,
                Err(e) => Err(StoreError::Failed(format!("database unreachable: {e}"))),
            },
        }
    }

    /// Runs `work` inside one write transaction: committed when it returns Ok, rolled back
    /// otherwise.
    pub async fn transaction<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.run(move |c| {
            Box::pin(async move {
                c.begin().await?;
                match work(c).await {
                    Ok(value) => {
                        c.batch("COMMIT").await?;
                        Ok(value)
                    }
                    Err(e) => {
                        if c.in_transaction() {
                            let _ = c.batch("ROLLBACK").await;
                        }
                        Err(e)
                    }
                }
            })
        })
        .await
    }
}
