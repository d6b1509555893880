//! `inboxd check-config [--connect]`: validates the configuration without starting, prints the
//! effective settings, says which reply-token key is in use, and with `--connect` also reaches the
//! database and the DNS resolver the checks use, exiting non-zero when either does not answer.

use crate::auth::Verifier;
use crate::config::Config;
use crate::smtp::tls::TlsSettings;
use crate::store::sql::{Conn, block};
use crate::store::{Location, postgres, schema, settings};
use rusqlite::{Connection, OpenFlags};
use std::time::Duration;

/// How long the resolver may take to answer the probe.
const RESOLVER_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub fn check(config: &Config, connect: bool) -> Result<(), String> {
    if let (Some(cert), Some(key)) = (&config.tls.certificate, &config.tls.private_key) {
        TlsSettings::load(cert, key)?;
    }
    print!("{}", config.to_toml());
    // With --connect we know whether a generated key is stored already.
    let stored_key = if connect {
        Some(match super::database_location(config)? {
            Location::Sqlite { .. } => database(config)?.is_some_and(|conn| {
                let conn = std::sync::Mutex::new(conn);
                block(settings::stored_reply_key(Conn::Sqlite(&conn)))
                    .ok()
                    .flatten()
                    .is_some()
            }),
            Location::Postgres(options) => postgres_database(&options)?,
        })
    } else {
        None
    };
    eprintln!("{}", reply_key_line(config, stored_key));
    eprintln!("{}", spam_line(config));
    if connect {
        resolver(config)?;
    }
    eprintln!("configuration ok");
    Ok(())
}

/// The PostgreSQL server: its version and our schema's, or why it cannot be reached (nothing is
/// written, nothing migrated). Whether a generated reply-token key is stored.
fn postgres_database(options: &crate::store::PostgresOptions) -> Result<bool, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let name = Location::Postgres(options.clone()).describe();
    runtime.block_on(async {
        let client = postgres::connect(options).await.map_err(|e| {
            let e = format!("database {name}: cannot connect: {e}");
            eprintln!("database: PostgreSQL, {e}");
            e
        })?;
        let server: String = client
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| format!("database {name}: {e}"))?
            .get(0);
        let version = postgres::version(&client)
            .await
            .map_err(|e| format!("database {name}: {e}"))?;
        eprintln!(
            "database: PostgreSQL {server}, schema {version} (this build knows {})",
            schema::LATEST
        );
        if version > schema::LATEST {
            return Err(schema::too_new_message(version));
        }
        if version == 0 {
            return Ok(false);
        }
        Ok(settings::stored_reply_key(Conn::Postgres(&client))
            .await
            .ok()
            .flatten()
            .is_some())
    })
}

/// The database, read-only: its engine, version and schema, or why it cannot be opened.
fn database(config: &Config) -> Result<Option<Connection>, String> {
    let path = &config.database.path;
    let engine = format!("SQLite {}", rusqlite::version());
    if !path.exists() {
        eprintln!(
            "database: {engine}, {} not created yet (the first start creates it; this build knows schema {})",
            path.display(),
            schema::LATEST
        );
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| schema::version(&c).map(|v| (c, v)))
        .map_err(|e| format!("database {}: cannot connect: {e}", path.display()));
    match conn {
        Ok((conn, version)) => {
            eprintln!(
                "database: {engine}, schema {version} (this build knows {})",
                schema::LATEST
            );
            if version > schema::LATEST {
                return Err(format!(
                    "database schema {version} is newer than this build knows ({}): upgrade inboxd",
                    schema::LATEST
                ));
            }
            Ok(Some(conn))
        }
        Err(e) => {
            eprintln!("database: {engine}, {e}");
            Err(e)
        }
    }
}

/// Which reply-token key is in use; `stored`: whether a generated one is kept (None: not looked).
fn reply_key_line(config: &Config, stored: Option<bool>) -> String {
    if let Some(source) = config.reply_secret_source() {
        return format!("reply_tokens: the configured key ({source})");
    }
    match stored {
        Some(true) => "reply_tokens: no key configured; the key generated at first start and kept in the database is used".into(),
        Some(false) => "reply_tokens: no key configured; the first start generates one and keeps it in the database".into(),
        None => "reply_tokens: no key configured; a key generated at first start and kept in the database is used (--connect tells whether it exists)".into(),
    }
}

/// The resolver the sender checks use: does it answer?
fn resolver(config: &Config) -> Result<(), String> {
    let auth = &config.auth;
    if !auth.enabled {
        eprintln!("resolver: not used (auth.enabled = false)");
        return Ok(());
    }
    let timeout = Duration::from_secs(auth.dns_timeout_secs);
    let servers = if auth.nameservers.is_empty() {
        "the system's (/etc/resolv.conf)".to_string()
    } else {
        auth.nameservers
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let verifier = if auth.nameservers.is_empty() {
        Verifier::new(timeout)
    } else {
        Verifier::with_nameservers(&auth.nameservers, timeout)
    }
    .map_err(|e| format!("resolver: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let hostname = config.server.hostname.clone();
    match runtime.block_on(verifier.resolver_answers(&hostname, RESOLVER_PROBE_TIMEOUT)) {
        Ok(took) => {
            eprintln!("resolver: {servers} answered in {} ms", took.as_millis());
            Ok(())
        }
        Err(why) => {
            let message = format!(
                "resolver: {servers} did not answer ({why}): every message would wait auth.dns_timeout_secs \
                 ({} s) for its SPF/DKIM/DMARC checks; run a local caching resolver and list it in auth.nameservers",
                auth.dns_timeout_secs
            );
            eprintln!("{message}");
            Err(message)
        }
    }
}

/// What check-config says of spam scoring: where rspamd is, or that scoring is off, loudly when a
/// listener is on an address the Internet can reach (every spammer would become a contact).
fn spam_line(config: &Config) -> String {
    if let Some(url) = &config.spam.rspamd_url {
        let on_failure = match config.spam.on_failure {
            crate::config::SpamFailure::Accept => "accept",
            crate::config::SpamFailure::Tempfail => "tempfail",
        };
        let learning = match &config.spam.controller_url {
            Some(controller) => format!("mark-spam/mark-ham teach its controller at {controller}"),
            None => "mark-spam/mark-ham teach nothing ([spam] controller_url is unset)".to_string(),
        };
        return format!(
            "spam: scored by rspamd at {url} (on failure: {on_failure}); {learning}; quarantine kept {} days",
            config.spam.quarantine_days
        );
    }
    let public =
        config.server.listen.iter().chain(&config.server.listen_tls).any(|a| {
            !(a.ip().is_loopback() || crate::webhooks::guard::is_internal(a.ip()) && !a.ip().is_unspecified())
        });
    if public {
        "WARNING: spam scoring is off ([spam] rspamd_url is unset) while a listener is on a public address: \
         every spammer who writes will become a contact"
            .to_string()
    } else {
        "spam: scoring off ([spam] rspamd_url is unset)".to_string()
    }
}
