//! WAL checkpoints off the commit path.
//!
//! SQLite normally checkpoints inside whichever commit crosses the WAL size threshold, so one
//! session in a thousand would wait for the whole WAL to be copied into the database and fsynced.
//! The writer turns that off; this thread checkpoints on its own connection instead (PASSIVE: it
//! never blocks the writer or readers), every few hundred milliseconds.

use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const PERIOD: Duration = Duration::from_millis(250);

pub(super) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn spawn(conn: Connection) -> Checkpointer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("inboxd-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(PERIOD);
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "checkpoint failed");
                    }
                }
                // Leave a short WAL behind for the next start.
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            })
            .expect("the checkpoint thread starts");
        Checkpointer {
            stop,
            thread: Some(thread),
        }
    }

    pub(super) fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
