//! SQLite's single writer: a thread that owns the write connection and group-commits deliveries
//! ([`super::commit`]).
//!
//! Sessions submit a delivery and wait on its [`Pending`]. The writer takes whatever has queued up
//! while the previous commit was fsyncing (up to `max_batch`) and commits it as one batch.

use super::commit::commit_batch;
use super::pending::{Answer, Pending};
use super::sql::{Conn, block};
use super::{Committed, StoreError};
use crate::mail::Delivery;
use rusqlite::Connection;
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

fn run(conn: Connection, mut jobs: mpsc::UnboundedReceiver<Job>, max_batch: usize, window_days: u32) {
    let conn = Mutex::new(conn);
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = jobs.blocking_recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Deliver { delivery, answer } => batch.push((*delivery, answer)),
                Job::Ping(answer) => {
                    let ok = conn
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
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
            block(commit_batch(
                Conn::Sqlite(&conn),
                std::mem::take(&mut batch),
                window_days,
            ));
        }
    }
}
