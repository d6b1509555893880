//! WAL checkpoints off the commit path.
//!
//! SQLite normally checkpoints inside whichever commit crosses the WAL size threshold, so one
//! session in a thousand would wait for the whole WAL to be copied into the database and fsynced.
//! The writer turns that off; this thread checkpoints on its own connection instead (PASSIVE: it
//! never blocks the writer or readers), every few hundred milliseconds.
//!
//! A PASSIVE checkpoint copies the log into the database but never starts the log over: SQLite
//! does that only when a write begins while no reader holds an old snapshot, and under steady load
//! (sessions' lookups, the webhook sender) some reader nearly always does, so the log grew past a
//! gigabyte in a benchmark. Once it is over [`RESTART_ABOVE`], a TRUNCATE checkpoint (which holds writers back while it waits) waits briefly
//! ([`RESTART_WAIT`]) for the readers of the moment to finish, and the log starts over at zero.

use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const PERIOD: Duration = Duration::from_millis(250);
/// The log size past which the checkpoint also starts the log over.
const RESTART_ABOVE: u64 = 256 * 1024 * 1024;
/// How long that checkpoint may wait for readers and the writer (then it tries again later).
const RESTART_WAIT: Duration = Duration::from_millis(100);

pub(super) struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn spawn(conn: Connection, wal: std::path::PathBuf) -> Checkpointer {
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
                    if let Ok(size) = std::fs::metadata(&wal).map(|m| m.len())
                        && size > RESTART_ABOVE
                    {
                        let _ = conn.busy_timeout(RESTART_WAIT);
                        let started = std::time::Instant::now();
                        // Busy (a reader or the writer did not finish in time) is no error: next time.
                        let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
                        let _ = conn.busy_timeout(Duration::from_secs(10));
                        // It holds writers back while it runs: how long is worth a line.
                        tracing::info!(
                            wal_bytes = size,
                            busy = !matches!(done, Ok(0)),
                            ms = started.elapsed().as_millis() as u64,
                            "WAL restarted"
                        );
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
