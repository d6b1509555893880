//! Group commit, the same on both engines: many sessions' deliveries in one transaction (a failure
//! undoes that delivery only), one durable commit, and only then an answer to each session. An answer of Ok always means "durably committed"; a failed commit
//! answers every delivery of the batch with an error: nothing half-stored.
//!
//! On PostgreSQL several hosts write at once, so the transaction first takes an advisory lock per
//! row key it touches (the message's dedupe key, its contact, the messages its thread headers
//! name), in ascending order (no two transactions can wait on each other): deliveries that could
//! see each other's rows run one after another, from whichever host, and the duplicate check, the
//! contact lookup and the threading rules see exactly what one SQLite host would; the others run
//! at once. The events of
//! the batch are written last, just before COMMIT, so the events lock (see `docs/SCHEMA.md`) is held
//! only for the commit itself.

use super::accounts::{self, Counts};
use super::apply::{self, Applied};
use super::pending::Answer;
use super::sql::{Conn, Dialect, args};
use super::{Committed, StoreError};
use super::{events, search};
use crate::mail::Delivery;
use crate::metrics::METRICS;
use futures_util::future::join_all;
use std::collections::HashMap;

/// One delivery waiting in a batch, and where its answer goes.
pub(super) type Queued = (Delivery, Answer<Vec<Committed>>);

/// Commits one delivery at once on `conn`, outside the server's group commit: what a person's
/// decision (a quarantine release) needs from the CLI or the HTTP door. The same transaction
/// as a batch of one, with its events.
pub async fn commit_one(conn: Conn<'_>, delivery: Delivery, window_days: u32) -> Result<Vec<Committed>, StoreError> {
    let (answer, pending) = super::Pending::channel();
    let back = attempt(conn, vec![(delivery, answer)], window_days, false).await;
    debug_assert!(back.is_none(), "one delivery alone is always answered");
    pending.await
}

pub(super) async fn commit_batch(conn: Conn<'_>, batch: Vec<Queued>, window_days: u32) {
    // SQLite keeps each delivery in a savepoint. PostgreSQL does not: every savepoint is a
    // subtransaction, and past 64 of them in one transaction every snapshot on the server has to
    // consult pg_subtrans, which slows each lookup tenfold. There a failing delivery fails the
    // batch's transaction instead, and each delivery is then tried again alone, so that only the
    // failing one hears an error.
    let savepoints = conn.dialect() == Dialect::Sqlite;
    if let Some(batch) = attempt(conn, batch, window_days, savepoints).await {
        for queued in batch {
            let back = attempt(conn, vec![queued], window_days, false).await;
            debug_assert!(back.is_none(), "one delivery alone is always answered");
        }
    }
}

/// One transaction for `batch`. Every delivery is answered, except when (without savepoints) one
/// of several failed: then nothing was committed, and the batch comes back to be tried again.
async fn attempt(conn: Conn<'_>, batch: Vec<Queued>, window_days: u32, savepoints: bool) -> Option<Vec<Queued>> {
    let started = std::time::Instant::now();
    let size = batch.len();
    let fail_all = |batch: Vec<Queued>, err: &StoreError| {
        for (_, answer) in batch {
            let _ = answer.send(Err(err.clone()));
        }
    };
    if let Err(err) = begin(conn, &batch).await {
        tracing::error!(error = %err, batch = size, "cannot begin a transaction");
        let _ = conn.batch("ROLLBACK").await;
        fail_all(batch, &err);
        return None;
    }
    let now = crate::time::now_rfc3339();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut events = Vec::new();
    let mut counts: HashMap<i64, Counts> = HashMap::new();
    let mut indexed = Vec::new();
    let applied = if savepoints {
        let mut applied = Vec::with_capacity(size);
        for (i, (delivery, _)) in batch.iter().enumerate() {
            applied.push(in_savepoint(conn, delivery, &now, window_days, i == 0).await);
        }
        applied
    } else {
        in_waves(conn, &batch, &now, window_days).await
    };
    for ((delivery, _), outcome) in batch.iter().zip(applied) {
        match outcome {
            Ok(applied) => {
                events.extend(applied.events);
                indexed.extend(applied.search);
                for (account, delta) in applied.counts {
                    let count = counts.entry(account).or_default();
                    count.messages += delta.messages;
                    count.quarantined += delta.quarantined;
                }
                outcomes.push(Ok(applied.committed));
            }
            Err(e) => {
                tracing::warn!(queue_id = %delivery.envelope.queue_id, error = %e, "delivery not stored");
                if !savepoints {
                    let _ = conn.batch("ROLLBACK").await;
                    if size > 1 {
                        return Some(batch);
                    }
                    fail_all(batch, &e);
                    return None;
                }
                // SQLite rolls the whole transaction back by itself after some errors (disk full,
                // I/O error): then nothing of this batch is stored, and every delivery must hear so.
                if !conn.in_transaction() {
                    fail_all(batch, &e);
                    return None;
                }
                outcomes.push(Err(e));
            }
        }
    }
    // The last savepoint's release, the batch's search entries, its counts (each account's row
    // once, in account order, so no two hosts wait on each other in a circle), its events (in
    // order: their ids follow it) and COMMIT go out together: one round trip. A failed statement makes PostgreSQL turn the
    // COMMIT into a rollback, and the error is what we answer.
    let release = async {
        if savepoints {
            conn.batch("RELEASE SAVEPOINT delivery").await
        } else {
            Ok(())
        }
    };
    let shard = count_shard(conn);
    let mut counts: Vec<(i64, Counts)> = counts.into_iter().collect();
    counts.sort_unstable_by_key(|(account, _)| *account);
    let count = async {
        for (account, delta) in &counts {
            accounts::count(conn, *account, shard, *delta).await?;
        }
        Ok(())
    };
    let committed = tokio::try_join!(biased;
        release,
        search::index(conn, &indexed),
        count,
        events::insert(conn, &events, &now),
        conn.batch("COMMIT"),
    );
    match committed {
        Ok(_) => {
            let elapsed = started.elapsed();
            METRICS.commit_latency.observe(elapsed.as_secs_f64());
            METRICS.batch_size.observe(size as f64);
            tracing::debug!(batch = size, elapsed_us = elapsed.as_micros() as u64, "committed");
            for ((_, answer), outcome) in batch.into_iter().zip(outcomes) {
                let _ = answer.send(outcome);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, batch = size, "commit failed");
            let _ = conn.batch("ROLLBACK").await;
            fail_all(batch, &err);
        }
    }
    None
}

/// Applies the batch in waves: deliveries that share no row ([`apply::footprint`]) run at once,
/// their statements pipelined on the one connection, so a wave costs the round trips of one
/// delivery, not of each; a delivery that shares a row with an earlier one waits for the wave after
/// it. The outcome is the one of applying them one by one, in order. Outcomes in batch order.
async fn in_waves(conn: Conn<'_>, batch: &[Queued], now: &str, window_days: u32) -> Vec<Result<Applied, StoreError>> {
    let mut last_wave: HashMap<(i64, String), usize> = HashMap::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, (delivery, _)) in batch.iter().enumerate() {
        let keys = apply::footprint(delivery);
        let wave = keys
            .iter()
            .filter_map(|k| last_wave.get(k).map(|w| w + 1))
            .max()
            .unwrap_or(0);
        for k in keys {
            last_wave.insert(k, wave);
        }
        if waves.len() <= wave {
            waves.resize_with(wave + 1, Vec::new);
        }
        waves[wave].push(i);
    }
    let mut outcomes: Vec<Option<Result<_, StoreError>>> = (0..batch.len()).map(|_| None).collect();
    for wave in waves {
        let results = join_all(wave.iter().map(|&i| apply::apply(conn, &batch[i].0, now, window_days))).await;
        let failed = results.iter().any(Result::is_err);
        for (i, result) in wave.into_iter().zip(results) {
            outcomes[i] = Some(result);
        }
        if failed {
            // The caller rolls back and tries each delivery alone; later waves need not run.
            break;
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(StoreError::Failed("not applied: an earlier delivery failed".into()))))
        .collect()
}

/// BEGIN, and on PostgreSQL a transaction-scoped advisory lock on every row key the batch touches
/// ([`apply::footprint`]), in ascending order so that no two transactions wait on each other
/// (the events lock, `-1`, comes last, from the trigger). Transactions of other hosts and writers
/// whose keys differ run at once; one that shares a key waits for the other's commit and then
/// sees it. The lock requests go out together: one round trip, taken in the order sent.
async fn begin(conn: Conn<'_>, batch: &[Queued]) -> Result<(), StoreError> {
    if conn.dialect() == Dialect::Sqlite {
        return conn.begin().await;
    }
    let mut locks: Vec<i64> = batch
        .iter()
        .flat_map(|(d, _)| apply::footprint(d))
        .map(|(account, key)| lock_id(account, &key))
        .collect();
    locks.sort_unstable();
    locks.dedup();
    let ids = locks.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    // One statement for all of them; OFFSET 0 keeps the sorted subquery whole, so the locks are
    // taken in its order.
    let take = async {
        conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM
             (SELECT CAST(x AS BIGINT) AS k FROM unnest(string_to_array(?1, ',')) AS x ORDER BY 1 OFFSET 0) AS sorted",
            args![ids],
        )
        .await
    };
    tokio::try_join!(biased; conn.begin(), take).map(|_| ())
}

/// The counts' row a batch adds to: SQLite's one writer keeps one row per account; PostgreSQL's
/// writers (on every host) spread over a few, so that batches of one account rarely wait for
/// each other's row.
fn count_shard(conn: Conn<'_>) -> i64 {
    const SHARDS: u64 = 16;
    match conn.dialect() {
        Dialect::Sqlite => 0,
        Dialect::Postgres => {
            let mut byte = [0u8; 1];
            let _ = getrandom::fill(&mut byte);
            (u64::from(byte[0]) % SHARDS) as i64
        }
    }
}

/// The advisory lock of one row key: the same on every host and every build (SHA-256, not Rust's
/// hasher), positive (negative ids are the events' and the migrations' locks). Two keys that share
/// an id only wait for each other.
fn lock_id(account: i64, key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(account.to_be_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (i64::from_be_bytes(first) & i64::MAX).max(1)
}

/// One delivery in its own savepoint: kept when it worked, undone alone when it failed. The
/// previous delivery's savepoint is released as this one's is taken, in the same flight as the
/// delivery's first statement, so savepoints cost no round trip of their own.
async fn in_savepoint(
    conn: Conn<'_>,
    delivery: &Delivery,
    now: &str,
    window_days: u32,
    first: bool,
) -> Result<Applied, StoreError> {
    let open = if first {
        "SAVEPOINT delivery"
    } else {
        "RELEASE SAVEPOINT delivery; SAVEPOINT delivery"
    };
    match tokio::try_join!(biased; conn.batch(open), apply::apply(conn, delivery, now, window_days)) {
        Ok(((), done)) => Ok(done),
        Err(e) => {
            if conn.in_transaction() {
                // The savepoint stays: the next delivery (or the tail) releases it.
                conn.batch("ROLLBACK TO SAVEPOINT delivery").await?;
            }
            Err(e)
        }
    }
}
