//! `[reply_tokens]`: the key that signs reply addresses (inline, from a file or the environment;
//! without one, a key generated and kept in the database).

use super::{Invalid, fail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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

impl ReplyTokenConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if let Err(why) = self.secret() {
            let key = match (&self.secret_env, &self.secret_file) {
                (Some(_), _) => "reply_tokens.secret_env",
                (None, Some(_)) => "reply_tokens.secret_file",
                _ => "reply_tokens.secret",
            };
            return fail(key, &why);
        }
        Ok(())
    }

    /// The reply-token key, from the environment, a file or the config, in that order of preference.
    pub fn secret(&self) -> Result<Option<Vec<u8>>, String> {
        let cfg = self;
        let checked = |key: &str| {
            if key.trim().len() < 16 {
                Err("the key must be at least 16 characters".to_string())
            } else {
                Ok(Some(key.trim().as_bytes().to_vec()))
            }
        };
        if let Some(var) = &cfg.secret_env {
            return match std::env::var(var) {
                Ok(v) => checked(&v),
                Err(_) => Err(format!("environment variable {var} is not set")),
            };
        }
        if let Some(file) = &cfg.secret_file {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            return checked(&text);
        }
        if let Some(secret) = &cfg.secret {
            return checked(secret);
        }
        Ok(None)
    }

    /// Where the configured reply-token key comes from, if one is configured.
    pub fn source(&self) -> Option<&'static str> {
        let cfg = self;
        if cfg.secret_env.is_some() {
            Some("reply_tokens.secret_env")
        } else if cfg.secret_file.is_some() {
            Some("reply_tokens.secret_file")
        } else if cfg.secret.is_some() {
            Some("reply_tokens.secret")
        } else {
            None
        }
    }
}
