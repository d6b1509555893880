//! The command line: `serve` runs the server; the other commands administer accounts and read what
//! was stored. Each prints human text, or one JSON document on stdout with `--json`.

mod accounts;
mod check;
mod inbox;
mod keys;
mod migrate;
mod platform;
mod quarantine;
mod serve;
mod webhooks;

use crate::config::{Config, LogFormat};
use crate::store::page::{self, Page, Paged};
use crate::store::sql::Conn;
use crate::store::{BoxFuture, Db, StoreError};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "inboxd", version, about = "Inbound SMTP server for unified inboxes")]
pub struct Cli {
    /// Configuration file (TOML). Without one, the embedded defaults are used.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format, overriding the configuration's `log.format`.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the SMTP server.
    Serve,
    /// Apply the database's schema migrations and exit (before a rolling upgrade).
    Migrate {
        /// Every host on this database runs this build (or a later one): write events' data and
        /// envelopes packed from now on, and pack the older ones (PostgreSQL; SQLite does so at once).
        #[arg(long)]
        all_hosts_upgraded: bool,
    },
    /// Validate the configuration without starting, and print the effective settings.
    CheckConfig {
        /// Also reach the database and the DNS resolver; exit non-zero when either does not answer.
        #[arg(long)]
        connect: bool,
    },
    /// Accounts and their unique inbound addresses.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Keys of the HTTP door (`Authorization: Bearer <key>`).
    #[command(subcommand)]
    ApiKeys(keys::ApiKeysCommand),
    /// An account's quarantined spam.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCommand),
    /// Endpoints the inbox application is sent signed events at, and their deliveries.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// An account's contacts.
    #[command(subcommand)]
    Contacts(inbox::ContactsCommand),
    /// The log of contacts erased (no address in it: a keyed hash).
    #[command(subcommand)]
    Erasures(inbox::ErasuresCommand),
    /// An account's conversations.
    #[command(subcommand)]
    Conversations(inbox::ConversationsCommand),
    /// Stored messages.
    #[command(subcommand)]
    Messages(inbox::MessagesCommand),
    /// The append-only event log the inbox application follows.
    Events(inbox::EventsArgs),
    /// Agents' personal addresses of an account (their forwards name the original sender).
    #[command(subcommand)]
    Members(platform::MembersCommand),
    /// Mint a signed reply address for a contact (and campaign or automation).
    ReplyAddress(platform::ReplyAddressArgs),
    /// Record an outbound Message-ID so replies thread to the right contact.
    RegisterSent(platform::RegisterSentArgs),
}

/// Parses arguments, loads the configuration and runs the command; the exit code says how it went.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve) {
        restore_sigpipe();
    }
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("inboxd: configuration error: {e}");
            return ExitCode::from(2);
        }
    };

    if let Some(format) = cli.log_format {
        config.log.format = format;
    }
    let result = match cli.command {
        Command::Serve => serve::run(config),
        Command::Migrate { all_hosts_upgraded } => migrate::migrate(&config, all_hosts_upgraded),
        Command::CheckConfig { connect } => check::check(&config, connect),
        Command::Accounts(cmd) => accounts::run(&config, cmd),
        Command::ApiKeys(cmd) => keys::run(&config, cmd),
        Command::Webhooks(cmd) => webhooks::run(&config, cmd),
        Command::Quarantine(cmd) => quarantine::run(&config, cmd),
        Command::Contacts(cmd) => inbox::contacts(&config, cmd),
        Command::Erasures(cmd) => inbox::erasures(&config, cmd),
        Command::Conversations(cmd) => inbox::conversations(&config, cmd),
        Command::Messages(cmd) => inbox::messages(&config, cmd),
        Command::Events(args) => inbox::events(&config, args),
        Command::Members(cmd) => platform::members(&config, cmd),
        Command::ReplyAddress(args) => platform::reply_address(&config, args),
        Command::RegisterSent(args) => platform::register_sent(&config, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inboxd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reading commands are often piped into `head` or `jq`: a closed pipe should end them quietly,
/// as it does other Unix tools, instead of panicking in `println!`. The server keeps ignoring it.
fn restore_sigpipe() {
    // SAFETY: called once at start, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints a value as one JSON document.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// The configured database as the CLI reaches it: the store's one handle ([`Db`]), as the HTTP
/// doors have it, and a runtime that runs each piece of work to its end.
pub(crate) struct Store {
    runtime: tokio::runtime::Runtime,
    db: Db,
}

impl Store {
    pub(crate) fn open(config: &Config) -> Result<Store, String> {
        let location = database_location(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let db = runtime
            .block_on(Db::open(&location))
            .map_err(|e| format!("cannot open database {}: {e}", location.describe()))?;
        Ok(Store { runtime, db })
    }

    /// Runs `work` on a connection to its end.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, String> {
        self.runtime.block_on(self.db.run(work)).map_err(|e| e.to_string())
    }

    /// Runs `work` in one write transaction: committed when it returns Ok.
    pub(crate) fn in_transaction<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, String> {
        self.runtime
            .block_on(self.db.transaction(work))
            .map_err(|e| e.to_string())
    }

    /// The store's handle, for work that runs in several transactions (an erasure, a deletion).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Runs anything else on this runtime (a request to rspamd's controller).
    pub(crate) fn block_on<F: std::future::Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// 404's sentence unless account `id` exists.
    pub(crate) fn require_account(&self, id: i64) -> Result<(), String> {
        match self.run(move |c| Box::pin(crate::store::accounts::exists(c, id)))? {
            true => Ok(()),
            false => Err(format!("no account {id}")),
        }
    }

    /// Every page of a list, from the first: printed as one JSON array with `json` (written as
    /// the pages come, so a list of any length costs a page of memory), else a line each.
    pub(crate) fn list<T, K>(
        &self,
        json: bool,
        mut fetch: impl FnMut(&Store, Page<K>) -> Result<Paged<T, K>, String>,
        line: impl Fn(&T),
    ) -> Result<(), String>
    where
        T: serde::Serialize,
        K: Clone,
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut page = Page::first(page::MAX_LIMIT);
        let mut first = true;
        if json {
            out.write_all(b"[").map_err(|e| e.to_string())?;
        }
        loop {
            let got = fetch(self, page.clone())?;
            for item in &got.items {
                if json {
                    let text = serde_json::to_string_pretty(item).map_err(|e| e.to_string())?;
                    let sep: &[u8] = if first { b"\n" } else { b",\n" };
                    out.write_all(sep)
                        .and_then(|_| out.write_all(text.as_bytes()))
                        .map_err(|e| e.to_string())?;
                } else {
                    out.flush().map_err(|e| e.to_string())?;
                    line(item);
                }
                first = false;
            }
            match got.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        if json {
            let end: &[u8] = if first { b"]\n" } else { b"\n]\n" };
            out.write_all(end).map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())
    }
}

/// The router of the configured domains and reply key (`[server] reply_secret`, or the one kept
/// in the database).
fn router(config: &Config, store: &Store) -> Result<crate::routing::Router, String> {
    let key = match config.reply_secret()? {
        Some(key) => key,
        None => store.run(|c| Box::pin(crate::store::settings::reply_key(c)))?,
    };
    Ok(crate::routing::Router::new(config.domains_lowercase(), key))
}

/// People's decisions (release, mark spam or ham) as the configuration says.
fn review(config: &Config, store: &Store) -> Result<crate::review::Review, String> {
    crate::review::Review::from_config(config, std::sync::Arc::new(router(config, store)?))
}

/// Review work on a connection, its own error kept.
fn decide<T: Send + 'static>(
    store: &Store,
    review: &std::sync::Arc<crate::review::Review>,
    work: impl for<'c> FnOnce(
        std::sync::Arc<crate::review::Review>,
        Conn<'c>,
    ) -> BoxFuture<'c, Result<T, crate::review::ReviewError>>
    + Send
    + 'static,
) -> Result<Result<T, crate::review::ReviewError>, String> {
    let review = std::sync::Arc::clone(review);
    store.run(move |c| Box::pin(async move { Ok(work(review, c).await) }))
}

/// `messages mark-spam` (`spam`) or `mark-ham`: rspamd is taught first, then the message moves.
fn mark(config: &Config, store: &Store, id: i64, spam: bool) -> Result<(), String> {
    let review = std::sync::Arc::new(review(config, store)?);
    let failed = |e: crate::review::ReviewError| format!("message {id}: {e}");
    let lesson = decide(store, &review, move |r, c| {
        Box::pin(async move { r.lesson(c, id).await })
    })?
    .map_err(failed)?;
    let learned = store.block_on(review.teach(lesson, spam)).map_err(failed)?;
    let marked = decide(store, &review, move |r, c| {
        Box::pin(async move {
            if spam {
                r.mark_spam(c, id, learned).await
            } else {
                r.mark_ham(c, id, learned).await
            }
        })
    })?
    .map_err(failed)?;
    say_marked(id, &marked);
    Ok(())
}

/// Says what a mark-spam or mark-ham did, on stderr.
fn say_marked(id: i64, marked: &crate::review::Marked) {
    use crate::review::Released;
    use crate::spam::Learned;
    use crate::store::quarantine::MarkedSpam;
    match marked.learned {
        Some(Learned::Learned) => eprintln!("rspamd learned message {id}"),
        Some(Learned::AlreadyLearned) => eprintln!("rspamd had already learned message {id}"),
        None => eprintln!("rspamd not taught: spam.controller_url is not set"),
    }
    match &marked.moved {
        Some(MarkedSpam::Moved {
            contact_deleted: Some(contact),
        }) => {
            eprintln!("message {id} moved to the quarantine; contact {contact}, which only it had made, deleted")
        }
        Some(MarkedSpam::Moved { contact_deleted: None }) => eprintln!("message {id} moved to the quarantine"),
        Some(MarkedSpam::AlreadySpam) => eprintln!("message {id} was already in the quarantine"),
        Some(MarkedSpam::NotFound) | None => {}
    }
    match marked.released {
        Some(Released::Filed { message_id }) => eprintln!("message {id} released: filed as message {message_id}"),
        Some(Released::AlreadyReleased { message_id }) => say_already_released(id, message_id),
        None => {}
    }
}

fn say_already_released(id: i64, message_id: Option<i64>) {
    match message_id {
        Some(new) => eprintln!("message {id} was already released (filed as message {new})"),
        None => eprintln!("message {id} was already released"),
    }
}

/// The configured database: PostgreSQL when `database.url` (or `url_env`) is set, else the SQLite
/// file at `database.path`.
pub fn database_location(config: &Config) -> Result<crate::store::Location, String> {
    Ok(match config.database_url()? {
        Some(url) => crate::store::Location::Postgres(crate::store::PostgresOptions {
            url,
            password: config.database_password()?,
            pool_size: config.database.pool_size,
            force_synchronous_commit: false,
        }),
        None => crate::store::Location::Sqlite {
            path: config.database.path.clone(),
            mode: config.database.mode.0,
        },
    })
}
