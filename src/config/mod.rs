//! The typed configuration: every setting, its default, and the checks run before the server starts,
//! one file per section (`[server]` in `server.rs`, …), each with its struct, its defaults and its
//! own checks; the checks that span sections are here.
//!
//! Defaults live in these files and only there; `config/inboxd.toml` documents the same values. A
//! file is parsed strictly: an unknown key or a bad value is refused with the key and the line that
//! holds it.

mod auth;
mod database;
mod http;
mod limits;
mod log;
mod reply_tokens;
mod retention;
mod search;
mod server;
mod spam;
mod threading;
mod tls;
mod webhooks;

pub use crate::mail::DmarcAction;
pub use auth::AuthConfig;
pub use database::{DatabaseConfig, FileMode};
pub use http::HttpConfig;
pub use limits::{LimitsConfig, Network};
pub use log::{LogConfig, LogFormat};
pub use reply_tokens::ReplyTokenConfig;
pub use retention::{MAX_DAYS as MAX_RETENTION_DAYS, RetentionConfig};
pub use search::SearchConfig;
pub use server::ServerConfig;
pub use spam::{SpamConfig, SpamFailure};
pub use threading::ThreadingConfig;
pub use tls::TlsConfig;
pub use webhooks::WebhooksConfig;

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    pub threading: ThreadingConfig,
    pub reply_tokens: ReplyTokenConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub webhooks: WebhooksConfig,
    pub spam: SpamConfig,
    pub search: SearchConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
}

/// A value that serde accepted but the server cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub why: String,
}

/// The refusal of `key`'s value, saying why.
fn fail(key: &'static str, why: &str) -> Result<(), Invalid> {
    Err(Invalid {
        key,
        why: why.to_string(),
    })
}

impl Config {
    /// The embedded defaults, or the file when one is given, validated. Errors name the file, the
    /// key and its line.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let Some(path) = path else {
            let config = Config::default();
            config
                .validate()
                .map_err(|e| format!("invalid value for `{}`: {}", e.key, e.why))?;
            return Ok(config);
        };
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config = Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.validate().map_err(|e| {
            let line = key_line(&text, e.key)
                .map(|n| format!(" (line {n})"))
                .unwrap_or_default();
            format!("{}{line}: invalid value for `{}`: {}", path.display(), e.key, e.why)
        })?;
        Ok(config)
    }

    /// Parses TOML text; errors name the key and the line (toml's spans).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Checks the values that serde cannot: each section's own, then those that span sections.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.server.validate()?;
        self.spam.validate()?;
        self.retention.validate()?;
        self.webhooks.validate()?;
        self.limits.validate()?;
        self.database.validate()?;
        self.tls.validate()?;
        self.auth.validate()?;
        self.log.validate()?;
        self.reply_tokens.validate()?;
        if !self.server.listen_tls.is_empty() && self.tls.certificate.is_none() {
            return fail(
                "server.listen_tls",
                "implicit TLS needs tls.certificate and tls.private_key",
            );
        }
        if self.http.tls && self.tls.certificate.is_none() {
            return fail("http.tls", "HTTPS needs tls.certificate and tls.private_key");
        }
        Ok(())
    }

    /// The PostgreSQL URL when one is configured (inline or from `url_env`); None means SQLite.
    pub fn database_url(&self) -> Result<Option<String>, String> {
        self.database.url()
    }

    /// The database password from `password_file`, if one is configured.
    pub fn database_password(&self) -> Result<Option<String>, String> {
        self.database.password()
    }

    /// The reply-token key, from the environment, a file or the config, in that order of preference.
    pub fn reply_secret(&self) -> Result<Option<Vec<u8>>, String> {
        self.reply_tokens.secret()
    }

    /// Where the configured reply-token key comes from, if one is configured.
    pub fn reply_secret_source(&self) -> Option<&'static str> {
        self.reply_tokens.source()
    }

    /// Domains in lower case, for comparisons.
    pub fn domains_lowercase(&self) -> Vec<String> {
        self.server.domains.iter().map(|d| d.to_ascii_lowercase()).collect()
    }

    /// The effective configuration as TOML, with the inline secret masked.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.reply_tokens.secret.is_some() {
            shown.reply_tokens.secret = Some("********".into());
        }
        toml::to_string(&shown).unwrap_or_default()
    }
}

/// The line (1-based) where `section.key` is set in a TOML text, for error messages.
fn key_line(text: &str, dotted: &str) -> Option<usize> {
    let (section, key) = dotted.split_once('.')?;
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim().to_string();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if (current == section && name == key) || (current.is_empty() && name == dotted) {
            return Some(i + 1);
        }
    }
    None
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
    fn bad_value_names_key_and_line() {
        let err = Config::parse("[limits]\nmax_recipients = \"many\"\n").unwrap_err();
        assert!(err.contains("max_recipients") && err.contains("line 2"), "{err}");
        let text = "[server]\nhostname = \"mx\"\n\n[limits]\nidle_timeout_secs = 5\nmax_recipients = 0\n";
        let e = Config::parse(text).unwrap().validate().unwrap_err();
        assert_eq!(e.key, "limits.max_recipients");
        assert_eq!(key_line(text, e.key), Some(6));
    }

    #[test]
    fn networks_match_addresses() {
        let n: Network = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.2.3".parse().unwrap()));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(
            "0.0.0.0/0"
                .parse::<Network>()
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
    }
}
