//! The single writer: owns the write connection and commits deliveries in batches.
//!
//! Sessions submit a delivery and wait on a oneshot. The writer takes whatever has queued up while
//! the previous commit was fsyncing (up to `max_batch`), applies each delivery in its own savepoint
//! (a failure undoes that delivery only), commits once, and only then answers each session. So an
//! answer of Ok always means "durably committed" (invariant 1), and a failed commit answers every
//! delivery of the batch with an error: nothing half-stored.

use super::{Committed, StoreError, apply};
use crate::ingest::Delivery;
use crate::metrics::METRICS;
use rusqlite::{Connection, TransactionBehavior};
use std::sync::Mutex;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Vec<Committed>, StoreError>>;

enum Job {
    Deliver {
        delivery: Box<Delivery>,
        reply: Reply,
    },
    /// Take the write lock and let go: proves the database is writable (for `/healthz`).
    Ping(oneshot::Sender<Result<(), StoreError>>),
}

pub(super) struct WriterHandle {
    tx: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

pub(super) fn spawn(conn: Connection, max_batch: usize, window_days: u32) -> WriterHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let thread = std::thread::Builder::new()
        .name("inboxd-writer".into())
        .spawn(move || run(conn, rx, max_batch, window_days))
        .expect("the writer thread starts");
    WriterHandle {
        tx: Mutex::new(Some(tx)),
        thread: Mutex::new(Some(thread)),
    }
}

impl WriterHandle {
    pub(super) fn submit(&self, delivery: Delivery) -> oneshot::Receiver<Result<Vec<Committed>, StoreError>> {
        let (reply, answer) = oneshot::channel();
        let sender = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match sender.as_ref() {
            Some(tx) => {
                if let Err(mpsc::error::SendError(Job::Deliver { reply, .. })) = tx.send(Job::Deliver {
                    delivery: Box::new(delivery),
                    reply,
                }) {
                    let _ = reply.send(Err(StoreError::Failed("the writer has stopped".into())));
                }
            }
            None => {
                let _ = reply.send(Err(StoreError::Failed("the store is closed".into())));
            }
        }
        answer
    }

    pub(super) fn ping(&self) -> oneshot::Receiver<Result<(), StoreError>> {
        let (reply, answer) = oneshot::channel();
        let sender = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = sender.as_ref() {
            let _ = tx.send(Job::Ping(reply));
        }
        answer
    }

    /// Closes the queue and waits until everything queued has been committed.
    pub(super) fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, mut rx: mpsc::UnboundedReceiver<Job>, max_batch: usize, window_days: u32) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Deliver { delivery, reply } => batch.push((*delivery, reply)),
                Job::Ping(reply) => {
                    let ok = conn
                        .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
                        .map_err(StoreError::from);
                    let _ = reply.send(ok);
                }
            }
            if batch.len() < max_batch {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, std::mem::take(&mut batch), window_days);
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<(Delivery, Reply)>, window_days: u32) {
    let started = std::time::Instant::now();
    let size = batch.len();
    let fail_all = |batch: Vec<Reply>, err: &StoreError| {
        for reply in batch {
            let _ = reply.send(Err(err.clone()));
        }
    };
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let err = StoreError::from(e);
            tracing::error!(error = %err, batch = size, "cannot begin a transaction");
            return fail_all(batch.into_iter().map(|(_, r)| r).collect(), &err);
        }
    };
    let now = crate::time::now_rfc3339();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some((delivery, reply)) = jobs.next() {
        let outcome = match tx.savepoint() {
            Ok(sp) => match apply::apply(&sp, &delivery, &now, window_days) {
                Ok(done) => sp.commit().map(|_| done).map_err(StoreError::from),
                // Dropping the savepoint rolls back this delivery only.
                Err(e) => Err(StoreError::from(e)),
            },
            Err(e) => Err(StoreError::from(e)),
        };
        if let Err(e) = &outcome {
            tracing::warn!(queue_id = %delivery.envelope.queue_id, error = %e, "delivery not stored");
            // SQLite rolls the whole transaction back by itself after some errors (disk full,
            // I/O error): then nothing of this batch is stored, and every delivery must hear so.
            if tx.is_autocommit() {
                let err = e.clone();
                let all = outcomes.into_iter().map(|(r, _)| r).chain(std::iter::once(reply));
                return fail_all(all.chain(jobs.map(|(_, r)| r)).collect(), &err);
            }
        }
        outcomes.push((reply, outcome));
    }
    match tx.commit() {
        Ok(()) => {
            let elapsed = started.elapsed();
            METRICS.commit_latency.observe(elapsed.as_secs_f64());
            METRICS.batch_size.observe(size as f64);
            tracing::debug!(batch = size, elapsed_us = elapsed.as_micros() as u64, "committed");
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            let err = StoreError::from(e);
            tracing::error!(error = %err, batch = size, "commit failed");
            fail_all(outcomes.into_iter().map(|(r, _)| r).collect(), &err);
        }
    }
}
