//! `[database]`: where mail is kept (the SQLite file, or a PostgreSQL URL and its password), how
//! many messages one commit takes, the size cap and the files' permissions.

use super::{Invalid, fail};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// The SQLite file (created with its folder if missing).
    pub path: PathBuf,
    /// Largest number of messages committed together (one fsync per batch).
    pub max_batch: usize,
    /// Size cap of the database in bytes (0: none). When reached, MAIL gets 452 4.3.1.
    pub max_size: u64,
    /// Permissions of the database files (octal); the folder gets the same plus the search bit.
    /// `0600` keeps every customer's mail to the service's own user, whatever the umask.
    pub mode: FileMode,
    /// `postgres://USER@HOST:PORT/DB`: PostgreSQL instead of the SQLite file at `path`, for
    /// several MX hosts sharing one store. `sslmode=require|verify-full` (and `sslrootcert=FILE`)
    /// in the query string turn on TLS.
    pub url: Option<String>,
    /// An environment variable holding the URL (then the password need not be in the file).
    pub url_env: Option<String>,
    /// A file whose content (trimmed) is the database password.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL connections per host (0: sized for the machine, 4 per core, at least 8).
    pub pool_size: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./data/inboxd.db"),
            max_batch: 256,
            max_size: 0,
            mode: FileMode(0o600),
            url: None,
            url_env: None,
            password_file: None,
            pool_size: 0,
        }
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.mode.0 & 0o600 != 0o600 || self.mode.0 & 0o7007 != 0 {
            return fail(
                "database.mode",
                "must give the owner read and write, and others nothing (e.g. \"0600\" or \"0640\")",
            );
        }
        if self.max_batch == 0 {
            return fail("database.max_batch", "must be at least 1");
        }
        if self.max_size != 0 && self.max_size < 1024 * 1024 {
            return fail("database.max_size", "must be 0 (no cap) or at least 1 MiB");
        }
        if self.url.is_some() && self.url_env.is_some() {
            return fail("database.url_env", "set database.url or database.url_env, not both");
        }
        if let Err(why) = self.url() {
            return fail(
                if self.url_env.is_some() {
                    "database.url_env"
                } else {
                    "database.url"
                },
                &why,
            );
        }
        Ok(())
    }

    /// The PostgreSQL URL when one is configured (inline or from `url_env`); None means SQLite.
    pub fn url(&self) -> Result<Option<String>, String> {
        let db = self;
        let url = match (&db.url, &db.url_env) {
            (Some(url), _) => url.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?,
            (None, None) => return Ok(None),
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("must be a postgres:// URL".into());
        }
        Ok(Some(url))
    }

    /// The database password from `password_file`, if one is configured.
    pub fn password(&self) -> Result<Option<String>, String> {
        match &self.password_file {
            None => Ok(None),
            Some(file) => std::fs::read_to_string(file)
                .map(|p| Some(p.trim().to_string()))
                .map_err(|e| format!("database.password_file {}: {e}", file.display())),
        }
    }
}

/// File permissions, written in octal (`"0600"`, `"0640"`) in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        u32::from_str_radix(text.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .map(FileMode)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an octal file mode such as \"0600\"")))
    }
}
