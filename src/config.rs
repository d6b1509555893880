//! The typed configuration: every setting, its default, and the checks run before the server starts.
//!
//! Defaults live here and only here; `config/inboxd.toml` documents the same values. A file is parsed
//! strictly: an unknown key or a bad value is refused with the key and the line that holds it.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    pub threading: ThreadingConfig,
    pub reply_tokens: ReplyTokenConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Name in the greeting, EHLO reply and Received headers.
    pub hostname: String,
    /// Plain SMTP listeners (STARTTLS offered when a certificate is configured).
    pub listen: Vec<SocketAddr>,
    /// Domains we receive for. Mail for any other domain is refused: we are never a relay.
    pub domains: Vec<String>,
    /// Seconds that sessions with a transaction in flight get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub max_message_size: usize,
    /// Recipients per transaction.
    pub max_recipients: usize,
    /// Seconds without a command or data before 421 4.4.2.
    pub idle_timeout_secs: u64,
    /// Seconds a whole session may last before 421 4.4.2.
    pub session_timeout_secs: u64,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client IP.
    pub max_connections_per_ip: usize,
    /// Bad commands and refused recipients tolerated in one session before 421 and close.
    pub max_errors: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; STARTTLS is offered when both files are set.
    pub certificate: Option<PathBuf>,
    /// PEM private key.
    pub private_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// The SQLite file (created with its folder if missing).
    pub path: PathBuf,
    /// Largest number of messages committed together (one fsync per batch).
    pub max_batch: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThreadingConfig {
    /// A message without thread headers joins the same contact's conversation with the same
    /// normalized subject if that conversation was active within this many days. 0 turns it off.
    pub subject_window_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReplyTokenConfig {
    /// HMAC key for signed reply addresses, inline (prefer `secret_file` or `secret_env`).
    pub secret: Option<String>,
    /// A file whose content (trimmed) is the key.
    pub secret_file: Option<PathBuf>,
    /// An environment variable that holds the key.
    pub secret_env: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `inboxd=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hostname: "inboxd.localhost".into(),
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 2525))],
            domains: vec!["inbox.localhost".into()],
            shutdown_grace_secs: 30,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            idle_timeout_secs: 300,
            session_timeout_secs: 1800,
            max_connections: 1000,
            max_connections_per_ip: 20,
            max_errors: 10,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./data/inboxd.db"),
            max_batch: 256,
        }
    }
}

impl Default for ThreadingConfig {
    fn default() -> Self {
        Self {
            subject_window_days: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// The secret used when none is configured. Fine for a laptop; `check-config` warns about it.
const DEVELOPMENT_SECRET: &str = "inboxd-development-reply-token-key";

impl Config {
    /// The embedded defaults, or the file when one is given, validated.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text; errors name the key and the line (toml's spans).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks the values that serde cannot: each message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let fail = |key: &str, why: &str| Err(format!("invalid value for `{key}`: {why}"));
        if self.server.hostname.trim().is_empty() || self.server.hostname.contains(char::is_whitespace) {
            return fail("server.hostname", "must be a host name without spaces");
        }
        if self.server.listen.is_empty() {
            return fail("server.listen", "at least one address is needed");
        }
        if self.server.domains.is_empty() {
            return fail("server.domains", "at least one domain is needed");
        }
        for domain in &self.server.domains {
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return fail("server.domains", &format!("`{domain}` is not a domain name"));
            }
        }
        if self.limits.max_message_size < 1024 {
            return fail("limits.max_message_size", "must be at least 1024 bytes");
        }
        if self.limits.max_recipients == 0 {
            return fail("limits.max_recipients", "must be at least 1");
        }
        if self.limits.idle_timeout_secs == 0 || self.limits.session_timeout_secs == 0 {
            return fail("limits.idle_timeout_secs", "timeouts must be at least 1 second");
        }
        if self.limits.max_connections == 0 || self.limits.max_connections_per_ip == 0 {
            return fail("limits.max_connections", "connection limits must be at least 1");
        }
        if self.database.max_batch == 0 {
            return fail("database.max_batch", "must be at least 1");
        }
        if self.tls.certificate.is_some() != self.tls.private_key.is_some() {
            return fail(
                "tls.certificate",
                "set both tls.certificate and tls.private_key, or neither",
            );
        }
        if self.log.level.trim().is_empty() {
            return fail("log.level", "must not be empty");
        }
        self.reply_secret()?;
        Ok(())
    }

    /// Domains in lower case, for comparisons.
    pub fn domains_lowercase(&self) -> Vec<String> {
        self.server.domains.iter().map(|d| d.to_ascii_lowercase()).collect()
    }

    /// The reply-token key, from the environment, a file or the config, in that order of preference.
    pub fn reply_secret(&self) -> Result<Vec<u8>, String> {
        let cfg = &self.reply_tokens;
        if let Some(var) = &cfg.secret_env {
            return match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(v.trim().as_bytes().to_vec()),
                _ => Err(format!(
                    "invalid value for `reply_tokens.secret_env`: environment variable {var} is not set"
                )),
            };
        }
        if let Some(file) = &cfg.secret_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("invalid value for `reply_tokens.secret_file`: {}: {e}", file.display()))?;
            if text.trim().len() < 16 {
                return Err(
                    "invalid value for `reply_tokens.secret_file`: the key must be at least 16 characters".into(),
                );
            }
            return Ok(text.trim().as_bytes().to_vec());
        }
        if let Some(secret) = &cfg.secret {
            if secret.len() < 16 {
                return Err("invalid value for `reply_tokens.secret`: the key must be at least 16 characters".into());
            }
            return Ok(secret.as_bytes().to_vec());
        }
        Ok(DEVELOPMENT_SECRET.as_bytes().to_vec())
    }

    /// True when no reply-token key was configured (the development key is in use).
    pub fn uses_development_secret(&self) -> bool {
        let cfg = &self.reply_tokens;
        cfg.secret.is_none() && cfg.secret_file.is_none() && cfg.secret_env.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Config::parse("[server]\nhostname = \"mx\"\nlisten_on = []\n").unwrap_err();
        assert!(err.contains("listen_on"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn bad_value_names_key() {
        let err = Config::parse("[limits]\nmax_recipients = \"many\"\n").unwrap_err();
        assert!(err.contains("max_recipients") || err.contains("line 2"), "{err}");
        let cfg = Config::parse("[limits]\nmax_recipients = 0\n").unwrap();
        assert!(cfg.validate().unwrap_err().contains("limits.max_recipients"));
    }
}
