//! The single writer: owns the write connection and commits deliveries in batches.
//!
//! Sessions submit a delivery and wait on a oneshot. The writer takes whatever has queued up while
//! the previous commit was fsyncing (up to `max_batch`), applies each delivery in its own savepoint
//! (a failure undoes that delivery only), commits once, and only then answers each session. So an
//! answer of Ok always means "durably committed" (invariant 1), and a failed commit answers every
//! delivery of the batch with an error: nothing half-stored.

use super::pending::{Answer, Pending};
use super::{Committed, StoreError, apply};
use crate::mail::Delivery;
use crate::metrics::METRICS;
use rusqlite::{Connection, TransactionBehavior};
use std::sync::Mutex;
use std::thread::JoinHandle;
use tokio::sync::mpsc;

enum Job {
    Deliver {
        delivery: Box<Delivery>,
        answer: Answer<Vec<Committed>>,
    },
    /// Take the write lock and let go: proves the database is writable (for `/healthz`).
    Ping(Answer<()>),
}

pub(super) struct WriterHandle {
    /// The writer thread's job queue; None once the store is closed.
    queue: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

pub(super) fn spawn(conn: Connection, max_batch: usize, window_days: u32) -> WriterHandle {
    let (queue, jobs) = mpsc::unbounded_channel();
    let thread = std::thread::Builder::new()
        .name("inboxd-writer".into())
        .spawn(move || run(conn, jobs, max_batch, window_days))
        .expect("the writer thread starts");
    WriterHandle {
        queue: Mutex::new(Some(queue)),
        thread: Mutex::new(Some(thread)),
    }
}

impl WriterHandle {
    pub(super) fn submit(&self, delivery: Delivery) -> Pending<Vec<Committed>> {
        let (answer, pending) = Pending::channel();
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.as_ref() {
            Some(queue) => {
                if let Err(mpsc::error::SendError(Job::Deliver { answer, .. })) = queue.send(Job::Deliver {
                    delivery: Box::new(delivery),
                    answer,
                }) {
                    let _ = answer.send(Err(StoreError::Failed("the writer has stopped".into())));
                }
            }
            None => {
                let _ = answer.send(Err(StoreError::Failed("the store is closed".into())));
            }
        }
        pending
    }

    pub(super) fn ping(&self) -> Pending<()> {
        let (answer, pending) = Pending::channel();
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = queue.as_ref() {
            let _ = queue.send(Job::Ping(answer));
        }
        pending
    }

    /// Closes the queue and waits until everything queued has been committed.
    pub(super) fn close(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, mut jobs: mpsc::UnboundedReceiver<Job>, max_batch: usize, window_days: u32) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = jobs.blocking_recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Deliver { delivery, answer } => batch.push((*delivery, answer)),
                Job::Ping(answer) => {
                    let ok = conn
                        .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
                        .map_err(StoreError::from);
                    let _ = answer.send(ok);
                }
            }
            if batch.len() < max_batch {
                next = jobs.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit_batch(&mut conn, std::mem::take(&mut batch), window_days);
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<(Delivery, Answer<Vec<Committed>>)>, window_days: u32) {
    let started = std::time::Instant::now();
    let size = batch.len();
    let fail_all = |answers: Vec<Answer<Vec<Committed>>>, err: &StoreError| {
        for answer in answers {
            let _ = answer.send(Err(err.clone()));
        }
    };
    let mut txn = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(txn) => txn,
        Err(e) => {
            let err = StoreError::from(e);
            tracing::error!(error = %err, batch = size, "cannot begin a transaction");
            return fail_all(batch.into_iter().map(|(_, r)| r).collect(), &err);
        }
    };
    let now = crate::time::now_rfc3339();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut rest = batch.into_iter();
    while let Some((delivery, answer)) = rest.next() {
        let outcome = match txn.savepoint() {
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
            if txn.is_autocommit() {
                let err = e.clone();
                let all = outcomes.into_iter().map(|(r, _)| r).chain(std::iter::once(answer));
                return fail_all(all.chain(rest.map(|(_, r)| r)).collect(), &err);
            }
        }
        outcomes.push((answer, outcome));
    }
    match txn.commit() {
        Ok(()) => {
            let elapsed = started.elapsed();
            METRICS.commit_latency.observe(elapsed.as_secs_f64());
            METRICS.batch_size.observe(size as f64);
            tracing::debug!(batch = size, elapsed_us = elapsed.as_micros() as u64, "committed");
            for (answer, outcome) in outcomes {
                let _ = answer.send(outcome);
            }
        }
        Err(e) => {
            let err = StoreError::from(e);
            tracing::error!(error = %err, batch = size, "commit failed");
            fail_all(outcomes.into_iter().map(|(r, _)| r).collect(), &err);
        }
    }
}
