//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL` (a transaction that
//! returned Ok survives a crash or power loss). One writer thread owns the write connection and
//! group-commits deliveries ([`super::writer`]); a reader connection answers routing lookups at
//! once; checkpoints run on a thread of their own.

use super::accounts::{self, ROUTE_BY_ADDRESS, ROUTE_BY_ID, route_of};
use super::sql::{Conn, args, block};
use super::{Committed, MailStore, Pending, StoreError, checkpoint, files, schema, settings, writer};
use crate::mail::{AccountData, AccountRoute, Delivery, POSTMASTER};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Settings of the SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    pub max_batch: usize,
    pub subject_window_days: u32,
    /// Size cap in bytes (0: none).
    pub max_size: u64,
    /// Permissions of the database files (`database.mode`).
    pub mode: u32,
}

/// Prepared statements each connection keeps: every statement the commit path, the reads and the
/// sender run (about 60), with room to spare; a miss would parse and plan the statement again.
const STATEMENT_CACHE: usize = 256;

/// The page size of a new database (see [`open_connection`]).
const PAGE_SIZE: i64 = 1024;

/// Room a MAIL needs under the size cap when the client declared no SIZE.
const FULL_MARGIN: u64 = 1024 * 1024;

/// The embedded backend: one SQLite file.
pub struct SqliteStore {
    reader: Mutex<Connection>,
    writer: writer::WriterHandle,
    checkpointer: Mutex<checkpoint::Checkpointer>,
    max_size: u64,
    /// When the size cap was last reported in the log (at most once a minute).
    full_reported: Mutex<Option<std::time::Instant>>,
}

/// Opens (creating if needed) a database file with our settings and brings its schema up to date.
/// The files get `mode` (see [`files`]).
pub fn open_connection(path: &Path, mode: u32) -> rusqlite::Result<Connection> {
    files::prepare(path, mode).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("{}: {e}", path.display())),
        )
    })?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A new database's pages are 1 KiB (SQLite's default is 4): every commit writes each page it
    // touched whole to the log, and most of what a commit touches is one page here and there (the
    // last page of each index whose keys only grow, the page a Message-ID's key falls in), so
    // smaller pages write less per message: 27.7 KB with 4 KiB pages, 14.5 with 2, 10.7 with 1,
    // for 7 % more on disk than with 2 (BENCHMARKS.md, "Pages of 1 KiB"). A database made with
    // other pages keeps them.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: in WAL mode this fsyncs the log at every commit, so a 250 survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // What is deleted is overwritten with zeros, not left in free space: an erased contact leaves
    // no trace in the file (store::erasure). Mail is seldom deleted, so the commit pays nothing.
    conn.pragma_update(None, "secure_delete", "ON")?;
    // A plan made once is kept (the query planner stability guarantee). Without it SQLite makes
    // some statements again at every new binding, as if the schema had changed: a statement
    // whose WHERE holds a range on an indexed column, or that a partial index's WHERE is tried
    // against. The commit path's first lookup was such a statement, and preparing it again for
    // every message cost a fifth of the CPU per message (git bisect: 489fda9). Our plans are
    // pinned by INDEXED BY and tested (see `store::plans`), so nothing is lost.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    schema::migrate(&mut conn)?;
    Ok(conn)
}

impl SqliteStore {
    pub fn open(options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let write_conn = open_connection(&options.path, options.mode)?;
        if options.max_size > 0 {
            // SQLite itself refuses to grow past the cap (SQLITE_FULL → 452 4.3.1): existing data is
            // never touched, and a commit that would not fit is rolled back whole.
            let page_size: u64 = write_conn.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))? as u64;
            write_conn.query_row(
                &format!("PRAGMA max_page_count = {}", options.max_size / page_size),
                [],
                |_| Ok(()),
            )?;
        }
        // Checkpoints run on their own thread, never inside a session's commit.
        write_conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let wal = std::path::PathBuf::from(format!("{}-wal", options.path.display()));
        let checkpointer = checkpoint::Checkpointer::spawn(open_connection(&options.path, options.mode)?, wal);
        let reader = open_connection(&options.path, options.mode)?;
        let writer = writer::spawn(write_conn, options.max_batch, options.subject_window_days);
        Ok(SqliteStore {
            reader: Mutex::new(reader),
            writer,
            checkpointer: Mutex::new(checkpointer),
            max_size: options.max_size,
            full_reported: Mutex::new(None),
        })
    }

    /// Stops the writer after it has committed everything already submitted.
    pub fn close(&self) {
        self.writer.close();
        self.checkpointer.lock().unwrap_or_else(|e| e.into_inner()).stop();
    }

    /// A full database defers every sender (452 4.3.1): say so at `warn`, once a minute, with the
    /// cap and the size, so that it shows without debug logging.
    fn report_full(&self, used: u64) {
        let mut last = self.full_reported.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60)) {
            *last = Some(std::time::Instant::now());
            tracing::warn!(
                max_size = self.max_size,
                size = used,
                "database.max_size reached: new mail is deferred with 452 4.3.1"
            );
        }
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(StoreError::from)
    }

    /// A lookup on the reader connection, answered at once.
    fn route(&self, sql: &str, params: &[super::sql::Param<'_>]) -> Result<Option<AccountRoute>, StoreError> {
        block(Conn::Sqlite(&self.reader).query_opt(sql, params))?
            .as_ref()
            .map(route_of)
            .transpose()
    }
}

impl MailStore for SqliteStore {
    fn find_account(&self, local: &str, domain: &str) -> Pending<Option<AccountRoute>> {
        Pending::ready(self.route(ROUTE_BY_ADDRESS, args![local, domain]))
    }

    fn postmaster_account(&self, domain: &str) -> Pending<Option<AccountRoute>> {
        Pending::ready((|| {
            if let Some(found) = self.route(ROUTE_BY_ADDRESS, args![POSTMASTER, domain])? {
                return Ok(Some(found));
            }
            // Once per database: a short write on the reader's connection (SQLite serializes it
            // with the writer thread's commits), so that the tenant list holds no account nobody
            // needed.
            block(accounts::create_postmaster(Conn::Sqlite(&self.reader), domain))?;
            self.route(ROUTE_BY_ADDRESS, args![POSTMASTER, domain])
        })())
    }

    fn account(&self, id: i64) -> Pending<Option<AccountRoute>> {
        Pending::ready(self.route(ROUTE_BY_ID, args![id]))
    }

    fn account_data(&self, account_id: i64) -> Pending<AccountData> {
        Pending::ready(block(accounts::pipeline_data(Conn::Sqlite(&self.reader), account_id)))
    }

    fn submit(&self, delivery: Delivery) -> Pending<Vec<Committed>> {
        self.writer.submit(delivery)
    }

    fn is_full(&self, incoming: u64) -> bool {
        if self.max_size == 0 {
            return false;
        }
        let used = self.with_reader(|c| {
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let free: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            Ok(((pages - free).max(0) * size) as u64)
        });
        // Without a declared SIZE, assume a typical message's worth of room is needed, so that MAIL
        // is refused once the cap is practically reached rather than only when it is hit exactly.
        let needed = incoming.max(FULL_MARGIN.min(self.max_size / 2));
        match used {
            Ok(used) if used.saturating_add(needed) > self.max_size => {
                self.report_full(used);
                true
            }
            Ok(_) => false,
            // Unknown is not full: the commit itself still enforces the cap.
            Err(_) => false,
        }
    }

    fn ping(&self) -> Pending<()> {
        self.writer.ping()
    }

    fn reply_key(&self) -> Pending<Vec<u8>> {
        // Once per process: a short write on the reader's connection, like the postmaster account.
        Pending::ready(block(settings::reply_key(Conn::Sqlite(&self.reader))))
    }
}

#[cfg(test)]
mod tests {
    use super::{PAGE_SIZE, open_connection};

    fn page_size(conn: &rusqlite::Connection) -> i64 {
        conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_new_database_has_small_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.db");
        assert_eq!(page_size(&open_connection(&new, 0o600).unwrap()), PAGE_SIZE);
        assert_eq!(PAGE_SIZE, 1024);

        // A database made with 4 KiB pages (by an older build, or by hand) is not rewritten.
        let old = dir.path().join("old.db");
        let made = rusqlite::Connection::open(&old).unwrap();
        made.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x)")
            .unwrap();
        drop(made);
        let conn = open_connection(&old, 0o600).unwrap();
        assert_eq!(page_size(&conn), 4096);
        // Both still open once more as they are.
        drop(conn);
        assert_eq!(page_size(&open_connection(&old, 0o600).unwrap()), 4096);
        assert_eq!(page_size(&open_connection(&new, 0o600).unwrap()), PAGE_SIZE);
    }
}
