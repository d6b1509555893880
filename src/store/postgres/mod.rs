//! The PostgreSQL backend: several MX hosts sharing one store, with the semantics of one SQLite
//! host.
//!
//! Deliveries are group-committed as on SQLite ([`super::commit`]), by a few writer tasks that
//! share the queue: while one batch's COMMIT waits for the WAL flush, the next batch is applied on
//! another connection. The writers run on a thread and runtime of their own, with connections of
//! their own: a commit's round trips are answered as soon as the database answers, not after
//! every SMTP session's task that happened to be ready on the server's workers. Everything that must come out as if there were one host is decided by the
//! database: advisory locks on the rows a delivery touches serialize the deliveries that could see
//! each other, across hosts (one message stored once, one new sender one contact, one thread one
//! conversation), `ON CONFLICT`
//! settles concurrent creation (the postmaster account, the reply-token key), and the events lock
//! orders event ids by commit. Routing reads the database, remembering a found account for a
//! second ([`recent`]), so a change made on any host routes everywhere within that second.
//!
//! Every database call is async on the runtime; none blocks a worker thread. While the database is
//! unreachable, work fails with 451 at once (the pool's connect and wait timeouts bound it), a
//! prober retries with backoff, and after [`DOWN_AFTER`] new sessions are told 421 4.3.2.

mod connect;
mod recent;

use super::engine::postgres::error;
pub use connect::{PostgresOptions, connect, migrate, pool, version};

use super::accounts::{self, ROUTE_BY_ADDRESS, ROUTE_BY_ID, route_of};
use super::commit::{Queued, commit_batch};
use super::pending::{Answer, Pending};
use super::sql::{Conn, args};
use super::{Committed, MailStore, StoreError, settings};
use crate::mail::{AccountData, AccountRoute, Delivery, POSTMASTER};
use deadpool_postgres::Pool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Writer tasks per host: batches whose rows differ are applied and committed at once.
const WRITERS: usize = 2;
/// How long the database may be unreachable before new sessions are turned away with 421.
pub const DOWN_AFTER: Duration = Duration::from_secs(3);

/// Settings of the PostgreSQL backend.
#[derive(Debug, Clone)]
pub struct PostgresStoreOptions {
    pub connection: PostgresOptions,
    pub max_batch: usize,
    pub subject_window_days: u32,
}

pub struct PostgresStore {
    pool: Pool,
    by_address: Arc<recent::Recent<(String, String), Option<AccountRoute>>>,
    by_id: Arc<recent::Recent<i64, Option<AccountRoute>>>,
    account_data: Arc<recent::Recent<i64, AccountData>>,
    queue: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
    writers: Mutex<Option<std::thread::JoinHandle<()>>>,
    health: Arc<Health>,
    prober: tokio::task::JoinHandle<()>,
}

/// Whether the database answers, as the prober last saw it.
#[derive(Default)]
struct Health {
    down_since: Mutex<Option<Instant>>,
}

impl Health {
    fn set(&self, up: bool) {
        let mut down = self.down_since.lock().unwrap_or_else(|e| e.into_inner());
        match (up, *down) {
            (true, Some(since)) => {
                tracing::info!(down_ms = since.elapsed().as_millis() as u64, "database reachable again");
                *down = None;
            }
            (false, None) => {
                tracing::error!("database unreachable");
                *down = Some(Instant::now());
            }
            _ => {}
        }
    }

    fn down_for(&self) -> Option<Duration> {
        self.down_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|since| since.elapsed())
    }
}

impl PostgresStore {
    /// Connects, migrates (under the migration lock), and starts the writers and the prober. Must
    /// run on the server's runtime.
    pub async fn open(options: PostgresStoreOptions) -> Result<PostgresStore, StoreError> {
        let first = connect(&options.connection).await?;
        migrate(&first).await?;
        let commit_mode: String = first
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(error)?
            .get(0);
        drop(first);
        let mut connection = options.connection.clone();
        if matches!(commit_mode.as_str(), "off" | "local") {
            // A 250 is a promise: never acknowledge what a crash of the server could lose.
            tracing::warn!(server = %commit_mode, "synchronous_commit raised to `on` for inboxd's sessions");
            connection.force_synchronous_commit = true;
        }
        let pool = connect::pool(&connection)?;
        let writer_pool = connect::pool(&PostgresOptions {
            pool_size: WRITERS,
            ..connection.clone()
        })?;
        let (queue, jobs) = mpsc::unbounded_channel();
        let health = Arc::new(Health::default());
        let writers = {
            let health = Arc::clone(&health);
            let (max_batch, window_days) = (options.max_batch, options.subject_window_days);
            std::thread::Builder::new()
                .name("inboxd-pg-writer".into())
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(e) => return tracing::error!(error = %e, "cannot start the writers' runtime"),
                    };
                    runtime.block_on(async move {
                        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
                        let writers: Vec<_> = (0..WRITERS)
                            .map(|_| {
                                let (pool, jobs, health) =
                                    (writer_pool.clone(), Arc::clone(&jobs), Arc::clone(&health));
                                tokio::spawn(write(pool, jobs, max_batch, window_days, health))
                            })
                            .collect();
                        for writer in writers {
                            let _ = writer.await;
                        }
                    });
                })
                .map_err(|e| StoreError::Failed(format!("cannot start the writers: {e}")))?
        };
        let prober = tokio::spawn(probe(pool.clone(), Arc::clone(&health)));
        Ok(PostgresStore {
            pool,
            by_address: Arc::new(recent::Recent::new()),
            by_id: Arc::new(recent::Recent::new()),
            account_data: Arc::new(recent::Recent::new()),
            queue: Mutex::new(Some(queue)),
            writers: Mutex::new(Some(writers)),
            health,
            prober,
        })
    }

    /// The pool, for the HTTP door's reads.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Stops taking deliveries and waits until the writers committed everything already queued.
    pub async fn close(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        let writers = self.writers.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writers) = writers {
            let _ = tokio::task::spawn_blocking(move || writers.join()).await;
        }
        self.prober.abort();
    }

    /// What `recent` remembers under `key`, or else `lookup`'s answer, remembered when `keep` says.
    fn remembered<K, V>(
        &self,
        recent: &Arc<recent::Recent<K, V>>,
        key: K,
        keep: fn(&V) -> bool,
        lookup: impl for<'c> FnOnce(Conn<'c>) -> super::BoxFuture<'c, Result<V, StoreError>> + Send + 'static,
    ) -> Pending<V>
    where
        K: Eq + std::hash::Hash + Send + 'static,
        V: Clone + Send + 'static,
    {
        if let Some(value) = recent.get(&key) {
            return Pending::ready(Ok(value));
        }
        let recent = Arc::clone(recent);
        self.spawn(move |c| {
            Box::pin(async move {
                let value = lookup(c).await?;
                if keep(&value) {
                    recent.put(key, value.clone());
                }
                Ok(value)
            })
        })
    }

    /// Runs `work` on a pooled connection, on the runtime, answering through a [`Pending`].
    fn spawn<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(Conn<'c>) -> super::BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    ) -> Pending<T> {
        let (answer, pending) = Pending::channel();
        let pool = self.pool.clone();
        let health = Arc::clone(&self.health);
        tokio::spawn(async move {
            let outcome = match pool.get().await {
                Ok(client) => work(Conn::Postgres(&client)).await,
                Err(e) => {
                    health.set(false);
                    Err(StoreError::Failed(format!("database unreachable: {e}")))
                }
            };
            let _ = answer.send(outcome);
        });
        pending
    }
}

impl MailStore for PostgresStore {
    fn find_account(&self, local: &str, domain: &str) -> Pending<Option<AccountRoute>> {
        let key = (local.to_string(), domain.to_string());
        let (local, domain) = key.clone();
        self.remembered(&self.by_address, key, Option::is_some, move |c| {
            Box::pin(async move {
                c.query_opt(ROUTE_BY_ADDRESS, args![local, domain])
                    .await?
                    .as_ref()
                    .map(route_of)
                    .transpose()
            })
        })
    }

    fn postmaster_account(&self, domain: &str) -> Pending<Option<AccountRoute>> {
        let domain = domain.to_string();
        self.spawn(move |c| {
            Box::pin(async move {
                if let Some(row) = c.query_opt(ROUTE_BY_ADDRESS, args![POSTMASTER, domain]).await? {
                    return route_of(&row).map(Some);
                }
                // Two hosts may create it at once: ON CONFLICT keeps one.
                accounts::create_postmaster(c, &domain).await?;
                c.query_opt(ROUTE_BY_ADDRESS, args![POSTMASTER, domain])
                    .await?
                    .as_ref()
                    .map(route_of)
                    .transpose()
            })
        })
    }

    fn account(&self, id: i64) -> Pending<Option<AccountRoute>> {
        self.remembered(&self.by_id, id, Option::is_some, move |c| {
            Box::pin(async move {
                c.query_opt(ROUTE_BY_ID, args![id])
                    .await?
                    .as_ref()
                    .map(route_of)
                    .transpose()
            })
        })
    }

    fn account_data(&self, account_id: i64) -> Pending<AccountData> {
        self.remembered(
            &self.account_data,
            account_id,
            |_| true,
            move |c| Box::pin(accounts::pipeline_data(c, account_id)),
        )
    }

    fn submit(&self, delivery: Delivery) -> Pending<Vec<Committed>> {
        let (answer, pending) = Pending::channel();
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.as_ref() {
            Some(queue) => {
                if let Err(mpsc::error::SendError((_, answer))) = queue.send((delivery, answer)) {
                    let _ = answer.send(Err(StoreError::Failed("the writers have stopped".into())));
                }
            }
            None => {
                let _ = answer.send(Err(StoreError::Failed("the store is closed".into())));
            }
        }
        pending
    }

    fn is_full(&self, _incoming: u64) -> bool {
        // PostgreSQL says so itself (disk_full → 452 4.3.1 at the commit).
        false
    }

    fn ping(&self) -> Pending<()> {
        self.spawn(|c| Box::pin(async move { c.batch("SELECT 1").await }))
    }

    fn available(&self) -> bool {
        self.health.down_for().is_none_or(|down| down < DOWN_AFTER)
    }

    fn reply_key(&self) -> Pending<Vec<u8>> {
        self.spawn(|c| Box::pin(settings::reply_key(c)))
    }
}

/// One writer: takes whatever has queued (up to `max_batch`) while the others apply or commit,
/// then applies and commits it on a pooled connection.
async fn write(
    pool: Pool,
    jobs: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>>,
    max_batch: usize,
    window_days: u32,
    health: Arc<Health>,
) {
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        match pool.get().await {
            Ok(client) => commit_batch(Conn::Postgres(&client), batch, window_days).await,
            Err(e) => {
                health.set(false);
                let err = StoreError::Failed(format!("database unreachable: {e}"));
                tracing::error!(error = %err, batch = batch.len(), "cannot commit");
                fail(batch.into_iter().map(|(_, answer)| answer), &err);
            }
        }
    }
}

/// The tables every message writes, analyzed by us once if autovacuum has not yet: the statements'
/// plans are made once per connection and kept, and a plan made while a new database's tables
/// were empty scans them (autovacuum analyzes only after its next nap, up to a minute, and a
/// burst of mail can fill tens of thousands of rows by then). `ANALYZE` makes every connection
/// plan again.
/// True once all of them have statistics (then it is not asked again in this process).
async fn analyze_new_tables(pool: &Pool) -> bool {
    let Ok(client) = pool.get().await else {
        return false;
    };
    let Ok(rows) = client
        .query(
            "SELECT relname::text, n_tup_ins >= 500 FROM pg_stat_user_tables
             WHERE relname IN ('messages', 'conversations', 'contacts', 'raw_messages', 'events', 'message_search')
             AND last_analyze IS NULL AND last_autoanalyze IS NULL",
            &[],
        )
        .await
    else {
        return false;
    };
    let mut done = true;
    for row in rows {
        let (table, grown): (String, bool) = (row.get(0), row.get(1));
        if !grown {
            done = false;
        } else if client.batch_execute(&format!("ANALYZE {table}")).await.is_ok() {
            tracing::info!(%table, "analyzed a new table (first statistics)");
        } else {
            done = false;
        }
    }
    done
}

fn fail(answers: impl Iterator<Item = Answer<Vec<Committed>>>, err: &StoreError) {
    for answer in answers {
        let _ = answer.send(Err(err.clone()));
    }
}

/// Watches the database: once a second while it answers; while it does not, again after a
/// backoff that doubles from 100 ms to 2 s, so a restart is noticed quickly without hammering it.
/// Until every table a message writes has statistics, it also gives them their first (see
/// [`analyze_new_tables`]).
async fn probe(pool: Pool, health: Arc<Health>) {
    let mut backoff = Duration::from_millis(100);
    let mut analyzed = false;
    loop {
        if !analyzed {
            analyzed = analyze_new_tables(&pool).await;
        }
        let up = matches!(
            tokio::time::timeout(Duration::from_secs(2), async {
                let client = pool.get().await.ok()?;
                client.batch_execute("SELECT 1").await.ok()
            })
            .await,
            Ok(Some(()))
        );
        health.set(up);
        if up {
            backoff = Duration::from_millis(100);
            tokio::time::sleep(Duration::from_secs(1)).await;
        } else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}
