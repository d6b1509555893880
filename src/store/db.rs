//! The store as the doors beside the CLI reach it from the async runtime (the HTTP API, the
//! webhook sender): a SQLite connection of their own, or the PostgreSQL pool. SQLite work runs on
//! the blocking pool, PostgreSQL's on a pooled connection; neither blocks the async workers.

use super::sql::{Conn, block};
use super::{BoxFuture, StoreError};
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
