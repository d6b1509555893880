//! Group commit, the same on both engines: many sessions' deliveries in one transaction, each in
//! its own savepoint (a failure undoes that delivery only), one durable commit, and only then an
//! answer to each session. An answer of Ok always means "durably committed"; a failed commit
//! answers every delivery of the batch with an error: nothing half-stored.
//!
//! On PostgreSQL several hosts write at once, so the transaction first takes an advisory lock per
//! account of the batch, in account order (no two batches can wait on each other): within one
//! account, deliveries from every host then run one after another, and the duplicate check, the
//! contact lookup and the threading rules see exactly what one SQLite host would. The events of
//! the batch are written last, just before COMMIT, so the events lock (see `docs/SCHEMA.md`) is held
//! only for the commit itself.

use super::apply::{self, NewEvent};
use super::pending::Answer;
use super::sql::{Conn, Dialect, args};
use super::{Committed, StoreError};
use crate::mail::Delivery;
use crate::metrics::METRICS;

/// One delivery waiting in a batch, and where its answer goes.
pub(super) type Queued = (Delivery, Answer<Vec<Committed>>);

pub(super) async fn commit_batch(conn: Conn<'_>, batch: Vec<Queued>, window_days: u32) {
    let started = std::time::Instant::now();
    let size = batch.len();
    let fail_all = |answers: Vec<Answer<Vec<Committed>>>, err: &StoreError| {
        for answer in answers {
            let _ = answer.send(Err(err.clone()));
        }
    };
    if let Err(err) = begin(conn, &batch).await {
        tracing::error!(error = %err, batch = size, "cannot begin a transaction");
        let _ = conn.batch("ROLLBACK").await;
        return fail_all(batch.into_iter().map(|(_, r)| r).collect(), &err);
    }
    let now = crate::time::now_rfc3339();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut events = Vec::new();
    let mut rest = batch.into_iter();
    while let Some((delivery, answer)) = rest.next() {
        let outcome = in_savepoint(conn, &delivery, &now, window_days).await;
        let outcome = match outcome {
            Ok((done, new)) => {
                events.extend(new);
                Ok(done)
            }
            Err(e) => {
                tracing::warn!(queue_id = %delivery.envelope.queue_id, error = %e, "delivery not stored");
                // SQLite rolls the whole transaction back by itself after some errors (disk full,
                // I/O error): then nothing of this batch is stored, and every delivery must hear so.
                if !conn.in_transaction() {
                    let all = outcomes.into_iter().map(|(r, _)| r).chain(std::iter::once(answer));
                    return fail_all(all.chain(rest.map(|(_, r)| r)).collect(), &e);
                }
                Err(e)
            }
        };
        outcomes.push((answer, outcome));
    }
    let committed = async {
        for e in &events {
            apply::insert_event(conn, e, &now).await?;
        }
        conn.batch("COMMIT").await
    }
    .await;
    match committed {
        Ok(()) => {
            let elapsed = started.elapsed();
            METRICS.commit_latency.observe(elapsed.as_secs_f64());
            METRICS.batch_size.observe(size as f64);
            tracing::debug!(batch = size, elapsed_us = elapsed.as_micros() as u64, "committed");
            for (answer, outcome) in outcomes {
                let _ = answer.send(outcome);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, batch = size, "commit failed");
            let _ = conn.batch("ROLLBACK").await;
            fail_all(outcomes.into_iter().map(|(r, _)| r).collect(), &err);
        }
    }
}

/// BEGIN, and on PostgreSQL the batch's account locks in ascending order.
async fn begin(conn: Conn<'_>, batch: &[Queued]) -> Result<(), StoreError> {
    conn.begin().await?;
    if conn.dialect() == Dialect::Postgres {
        let mut accounts: Vec<i64> = batch
            .iter()
            .flat_map(|(d, _)| d.plans.iter().map(|p| p.account_id))
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            conn.execute("SELECT pg_advisory_xact_lock(?1)", args![account]).await?;
        }
    }
    Ok(())
}

/// One delivery in its own savepoint: kept when it worked, undone alone when it failed.
async fn in_savepoint(
    conn: Conn<'_>,
    delivery: &Delivery,
    now: &str,
    window_days: u32,
) -> Result<(Vec<Committed>, Vec<NewEvent>), StoreError> {
    conn.batch("SAVEPOINT delivery").await?;
    match apply::apply(conn, delivery, now, window_days).await {
        Ok(done) => {
            conn.batch("RELEASE SAVEPOINT delivery").await?;
            Ok(done)
        }
        Err(e) => {
            if conn.in_transaction() {
                conn.batch("ROLLBACK TO SAVEPOINT delivery; RELEASE SAVEPOINT delivery")
                    .await?;
            }
            Err(e)
        }
    }
}
