//! Where mail goes: the only module with SQL.
//!
//! The server sees storage through [`MailStore`], a narrow interface (look up a recipient's
//! account, read an account's members, submit a delivery and wait for its commit), served by the
//! embedded [`SqliteStore`] (one file, one host) or by [`PostgresStore`] (several MX hosts sharing
//! one database). The doors beside it (the CLI, the HTTP API, the web inbox, the webhook sender)
//! reach it one way, through a [`Db`] handle, and read and write one file per resource
//! ([`accounts`], [`contacts`], [`conversations`], [`messages`], [`events`], [`members`],
//! [`senders`], [`sent`], [`search`], [`keys`], [`webhooks`], …); both engines run the same
//! statements ([`sql`]), so the rules for writing and reading mail exist once.
//!
//! The layers, bottom up: [`value`] (what statements carry; imports nothing of the store),
//! [`engine`] (each engine running a statement), [`sql`] (a connection of either), the resources
//! and the commit ([`apply`], [`commit`]), then the two stores and [`Db`].
//!
//! Either way an answer of Ok means durably committed: SQLite in WAL mode with `synchronous=FULL`,
//! PostgreSQL with `synchronous_commit` at least `on`. Deliveries are group-committed
//! ([`commit`]), so many sessions share one flush.

pub mod account_deletion;
pub mod accounts;
mod apply;
mod checkpoint;
pub mod codec;
pub mod commit;
pub mod contacts;
pub mod conversations;
pub mod convert;
mod db;
pub mod engine;
pub mod erasure;
mod error;
pub mod events;
pub mod files;
mod json_codec;
pub mod keys;
mod local_part;
pub mod members;
pub mod merge;
pub mod messages;
pub mod pack;
pub mod page;
pub mod participants;
mod pending;
pub mod plans;
pub mod postgres;
pub mod quarantine;
pub mod raw;
pub mod retention;
pub mod schema;
mod scrub;
pub mod search;
pub mod senders;
pub mod sent;
pub mod sessions;
pub mod settings;
pub mod sql;
mod sqlite;
pub mod value;
pub mod webhooks;
mod writer;

use crate::mail::{AccountData, AccountRoute, Delivery, POSTMASTER};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

pub use db::Db;
pub use error::StoreError;
pub use pending::Pending;
pub use postgres::{PostgresOptions, PostgresStore, PostgresStoreOptions};
pub use sqlite::{SqliteOptions, SqliteStore, open_connection};

/// A boxed future that may cross threads: database work handed to a pool or a task.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the configured database is: the embedded file or a PostgreSQL server.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite { path: PathBuf, mode: u32 },
    Postgres(PostgresOptions),
}

impl Location {
    /// How the database is named in messages (never with a password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite { path, .. } => path.display().to_string(),
            Location::Postgres(options) => {
                // postgres://user:secret@host/db → postgres://user@host/db
                let url = &options.url;
                match (url.find("://"), url.rfind('@')) {
                    (Some(scheme), Some(at)) if at > scheme => {
                        let userinfo = &url[scheme + 3..at];
                        let user = userinfo.split(':').next().unwrap_or("");
                        format!("{}{user}{}", &url[..scheme + 3], &url[at..])
                    }
                    _ => url.clone(),
                }
            }
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

/// The storage interface of the SMTP server. Every answer is a [`Pending`]: SQLite's are ready at
/// once, PostgreSQL's arrive over the network without blocking a runtime thread.
pub trait MailStore: Send + Sync + 'static {
    /// The account whose address is `local@domain` (lower case, without tag).
    fn find_account(&self, local: &str, domain: &str) -> Pending<Option<AccountRoute>>;
    /// The account with this id (for signed reply addresses).
    fn account(&self, id: i64) -> Pending<Option<AccountRoute>>;
    /// The postmaster account `postmaster@<domain>` (RFC 5321 §4.5.1: postmaster must be
    /// deliverable). A store that can write creates it the first time mail arrives for it.
    fn postmaster_account(&self, domain: &str) -> Pending<Option<AccountRoute>> {
        self.find_account(POSTMASTER, domain)
    }
    /// What a plan depends on of the account: its agents' addresses and its sender rules.
    fn account_data(&self, account_id: i64) -> Pending<AccountData>;
    /// Queues a delivery for the next group commit; the answer arrives once it is durable (or failed).
    fn submit(&self, delivery: Delivery) -> Pending<Vec<Committed>>;
    /// True when storing `incoming` more bytes would pass the configured size cap.
    fn is_full(&self, incoming: u64) -> bool;
    /// Proves the store can take the write lock and answer (for `/healthz`).
    fn ping(&self) -> Pending<()>;
    /// False while the store has been unreachable for a while: new sessions are then told
    /// 421 4.3.2 at once instead of being taken in and deferred at every message.
    fn available(&self) -> bool {
        true
    }
    /// The reply-token key kept in the store when the configuration gives none, generated the first
    /// time it is asked for (see [`settings`]). A store without one says so.
    fn reply_key(&self) -> Pending<Vec<u8>> {
        Pending::ready(Err(StoreError::Failed(
            "this store keeps no reply-token key: configure reply_tokens".into(),
        )))
    }
}
