//! What a long deletion (an erasure, a retention purge, an account's deletion) leaves in SQLite's
//! files, taken out, and the pace of such a deletion beside the commit.
//!
//! The connections zero freed space (`secure_delete`); the search index is written again without
//! the deleted entries (FTS5 keeps a deleted row's words in its segments, under a tombstone, until
//! a merge rewrites them), by FTS5's incremental optimize, a bounded number of pages per
//! transaction so that sessions commit in between; and the WAL, which still holds the pages as
//! they were, starts over. PostgreSQL keeps dead rows until VACUUM (README: "The data's life").
//!
//! A merge step writes at most [`MERGE_PAGES`] pages but reads whatever input it takes to fill
//! them, deleted entries included: where nearly all of the index is deleted, one step reads all of
//! it under the write lock (352 ms when a purge emptied an index of 100,000 messages, and growing
//! with the index). So a long deletion rewrites the index as it goes, whenever as much has been
//! deleted as is left: no step then reads much more than twice what it writes (the benchmark's
//! steps held the lock 24 ms at most), and the rewrites of a deletion that empties the index add
//! up to once its size.

use super::Db;
use super::error::StoreError;
use std::time::{Duration, Instant};

/// Pause between two batches of a deletion beside the commit (an erasure, retention), in which
/// the sessions waiting for the writer take it. SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20,
/// then 25 ms between tries: a shorter pause lets the deletion take the lock again before a
/// waiting session wakes, and a 250 waits for several batches (the retention benchmark saw 230 ms
/// with a 2 ms pause).
pub(super) const BREATHE: Duration = Duration::from_millis(25);

/// Pages of the search index one merge step writes (FTS5's pages are about 4 KB). Each step holds
/// the write lock while it runs; the scrub logs its longest hold.
const MERGE_PAGES: i64 = 64;
/// How long the checkpoint that starts the WAL over may hold writers back waiting for readers.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// A deletion's account of the search index: its entries when it was last written whole, and how
/// many of them have been deleted since.
#[derive(Debug)]
pub struct Scrub {
    sqlite: bool,
    live: u64,
    deleted: u64,
    longest: Duration,
}

impl Scrub {
    /// Before a deletion: how many entries the index holds.
    pub async fn begin(db: &Db) -> Result<Scrub, StoreError> {
        let Db::Sqlite(_) = db else {
            return Ok(Scrub {
                sqlite: false,
                live: 0,
                deleted: 0,
                longest: Duration::ZERO,
            });
        };
        Ok(Scrub {
            sqlite: true,
            live: entries(db).await?,
            deleted: 0,
            longest: Duration::ZERO,
        })
    }

    /// After a batch of the deletion: `messages` more gone. Once as many are deleted as are left,
    /// the index is written again without them before the deletion goes on.
    pub async fn deleted(&mut self, db: &Db, messages: u64) -> Result<(), StoreError> {
        if !self.sqlite {
            return Ok(());
        }
        self.deleted += messages;
        if self.deleted > 0 && self.deleted * 2 >= self.live {
            let began = Instant::now();
            self.longest = self.longest.max(rewrite_index(db).await?);
            self.live = entries(db).await?;
            self.deleted = 0;
            tracing::info!(
                entries = self.live,
                ms = began.elapsed().as_millis() as u64,
                longest_step_ms = self.longest.as_millis() as u64,
                "search index rewritten during a deletion (half of it was deleted)"
            );
        }
        Ok(())
    }

    /// After the deletion: the index written again without the deleted entries, then the WAL
    /// started over (a TRUNCATE checkpoint that waits at most [`RESTART_WAIT`] for readers, tried
    /// again while they hold old snapshots).
    pub async fn finish(self, db: &Db) -> Result<(), StoreError> {
        if !self.sqlite {
            return Ok(());
        }
        let began = Instant::now();
        let longest = self.longest.max(rewrite_index(db).await?);
        let merged = began.elapsed();
        for _ in 0..200 {
            let restarted = db
                .run(|c| {
                    Box::pin(async move {
                        let Some(sqlite) = c.sqlite() else { return Ok(true) };
                        sqlite.busy_timeout(RESTART_WAIT)?;
                        // (busy, log frames, frames checkpointed): busy 0 is a log started over.
                        let busy = sqlite.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
                        sqlite.busy_timeout(Duration::from_secs(10))?;
                        Ok(busy.unwrap_or(1) == 0)
                    })
                })
                .await?;
            if restarted {
                tracing::info!(
                    search_index_ms = merged.as_millis() as u64,
                    longest_step_ms = longest.as_millis() as u64,
                    total_ms = began.elapsed().as_millis() as u64,
                    "deleted mail scrubbed from the files: search index rewritten, log started over"
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!(
            "the WAL could not be started over after a deletion (readers held it); the next checkpoint that restarts it will"
        );
        Ok(())
    }
}

/// The entries of the search index (one per indexed message): its document-size table's rows,
/// counted by a reader.
async fn entries(db: &Db) -> Result<u64, StoreError> {
    db.run(|c| {
        Box::pin(async move {
            let Some(sqlite) = c.sqlite() else { return Ok(0) };
            Ok(
                sqlite.query_row("SELECT count(*) FROM message_search_docsize", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    })
    .await
}

/// The search index written again without its deleted entries, [`MERGE_PAGES`] at a time; the
/// longest step.
async fn rewrite_index(db: &Db) -> Result<Duration, StoreError> {
    // A negative budget starts an optimize (every segment into one); positive ones go on with it
    // until a call changes nothing.
    let mut budget = -MERGE_PAGES;
    let mut longest = Duration::ZERO;
    let mut steps = 0u64;
    loop {
        steps += 1;
        // Timed from the moment the write lock is held (BEGIN IMMEDIATE waits for it) to the
        // commit: what a session waiting for the writer waits for.
        let (changed, held) = db
            .run(move |c| {
                Box::pin(async move {
                    let Some(sqlite) = c.sqlite() else {
                        return Ok((0, Duration::ZERO));
                    };
                    sqlite.execute_batch("BEGIN IMMEDIATE")?;
                    let held = Instant::now();
                    let before = sqlite.total_changes();
                    let merged = sqlite.execute(
                        "INSERT INTO message_search (message_search, rank) VALUES ('merge', ?1)",
                        [budget],
                    );
                    if let Err(e) = merged {
                        let _ = sqlite.execute_batch("ROLLBACK");
                        return Err(e.into());
                    }
                    let changed = sqlite.total_changes() - before;
                    sqlite.execute_batch("COMMIT")?;
                    Ok((changed, held.elapsed()))
                })
            })
            .await?;
        longest = longest.max(held);
        if held > Duration::from_millis(50) {
            tracing::info!(
                step = steps,
                changed,
                ms = held.as_millis() as u64,
                "search index: a merge step held the writer long"
            );
        }
        if budget > 0 && changed < 2 {
            return Ok(longest);
        }
        budget = MERGE_PAGES;
        tokio::time::sleep(BREATHE).await;
    }
}
