//! Where mail goes: the only module with SQL.
//!
//! The server sees storage through [`MailStore`], a narrow interface (look up a recipient's
//! account, read an account's members, submit a delivery and wait for its commit) so that a
//! PostgreSQL backend for several MX hosts can slot in beside [`SqliteStore`]. The CLI reads and
//! administers through [`admin::Admin`] and [`read`].
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a transaction that returned Ok survives a crash
//! or power loss. One writer thread owns the write connection and commits deliveries in batches
//! (group commit), so many sessions share one fsync.

pub mod admin;
mod apply;
mod checkpoint;
pub mod files;
pub mod keys;
mod local_part;
mod pending;
pub mod read;
pub mod schema;
pub mod settings;
mod writer;

use crate::mail::{AccountRoute, Delivery, DmarcAction, POSTMASTER};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use pending::Pending;

/// Why a commit failed. Every variant means "nothing of this delivery was stored".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The disk or the configured size cap is full: 452 4.3.1.
    Full(String),
    /// Any other failure (locked, I/O error, writer gone): 451 4.3.0.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Full(why) => write!(f, "storage full: {why}"),
            StoreError::Failed(why) => write!(f, "storage failed: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.to_string()),
            _ => StoreError::Failed(e.to_string()),
        }
    }
}

/// What a committed delivery became in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub account_id: i64,
    /// Row id in `messages`.
    pub message_id: i64,
    /// The same message was already stored for this account (a retry): nothing new was written.
    pub duplicate: bool,
}

/// The storage interface of the SMTP server.
pub trait MailStore: Send + Sync + 'static {
    /// The account whose address is `local@domain` (lower case, without tag).
    fn find_account(&self, local: &str, domain: &str) -> Result<Option<AccountRoute>, StoreError>;
    /// The account with this id (for signed reply addresses).
    fn account(&self, id: i64) -> Result<Option<AccountRoute>, StoreError>;
    /// The postmaster account `postmaster@<domain>` (RFC 5321 §4.5.1: postmaster must be
    /// deliverable). A store that can write creates it the first time mail arrives for it.
    fn postmaster_account(&self, domain: &str) -> Result<Option<AccountRoute>, StoreError> {
        self.find_account(POSTMASTER, domain)
    }
    /// Lower-case addresses of the account's agents.
    fn members(&self, account_id: i64) -> Result<Vec<String>, StoreError>;
    /// Queues a delivery for the next group commit; the answer arrives once it is durable (or failed).
    fn submit(&self, delivery: Delivery) -> Pending<Vec<Committed>>;
    /// True when storing `incoming` more bytes would pass the configured size cap.
    fn is_full(&self, incoming: u64) -> bool;
    /// Proves the store can take the write lock and answer (for `/healthz`).
    fn ping(&self) -> Pending<()>;
    /// The reply-token key kept in the store when the configuration gives none, generated the first
    /// time it is asked for (see [`settings`]). A store without one says so.
    fn reply_key(&self) -> Result<Vec<u8>, StoreError> {
        Err(StoreError::Failed(
            "this store keeps no reply-token key: configure reply_tokens".into(),
        ))
    }
}

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

fn route_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRoute> {
    let dmarc: Option<String> = r.get(2)?;
    Ok(AccountRoute {
        id: r.get(0)?,
        enabled: r.get(1)?,
        dmarc_reject: dmarc.as_deref().and_then(DmarcAction::parse),
        bulk_contacts: r.get(3)?,
    })
}

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
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: in WAL mode this fsyncs the log at every commit, so a 250 survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
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
        let checkpointer = checkpoint::Checkpointer::spawn(open_connection(&options.path, options.mode)?);
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
}

impl MailStore for SqliteStore {
    fn find_account(&self, local: &str, domain: &str) -> Result<Option<AccountRoute>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached(
                "SELECT id, enabled, dmarc_reject, bulk_contacts FROM accounts WHERE local_part = ?1 AND domain = ?2",
            )?
            .query_row((local, domain), route_row)
            .optional()
        })
    }

    fn postmaster_account(&self, domain: &str) -> Result<Option<AccountRoute>, StoreError> {
        if let Some(found) = self.find_account(POSTMASTER, domain)? {
            return Ok(Some(found));
        }
        // Once per database: a short write on the reader's connection (SQLite serializes it with
        // the writer thread's commits), so that the tenant list holds no account nobody needed.
        self.with_reader(|c| admin::create_postmaster_account(c, domain))?;
        self.find_account(POSTMASTER, domain)
    }

    fn account(&self, id: i64) -> Result<Option<AccountRoute>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT id, enabled, dmarc_reject, bulk_contacts FROM accounts WHERE id = ?1")?
                .query_row([id], route_row)
                .optional()
        })
    }

    fn members(&self, account_id: i64) -> Result<Vec<String>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT email_key FROM members WHERE account_id = ?1")?
                .query_map([account_id], |r| r.get(0))?
                .collect()
        })
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

    fn reply_key(&self) -> Result<Vec<u8>, StoreError> {
        // Once per process: a short write on the reader's connection, like the postmaster account.
        self.with_reader(settings::reply_key)
    }
}
