//! `[spam]`: scoring by rspamd (its worker, time limit, what a failure does), learning through its
//! controller, and how long the quarantine keeps mail.

use super::{Invalid, fail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SpamConfig {
    /// rspamd's normal worker (`http://127.0.0.1:11333`). Unset: no scoring.
    pub rspamd_url: Option<String>,
    /// A scan must answer within this many seconds.
    pub timeout_secs: u64,
    /// When rspamd does not answer: `accept` (file the message flagged `unscored`) or `tempfail`
    /// (451 4.7.1, the sender retries).
    pub on_failure: SpamFailure,
    /// rspamd's controller, for learning (`http://127.0.0.1:11334`).
    pub controller_url: Option<String>,
    pub controller_password_file: Option<PathBuf>,
    /// Quarantined mail older than this is purged.
    pub quarantine_days: u32,
}

impl Default for SpamConfig {
    fn default() -> Self {
        Self {
            rspamd_url: None,
            timeout_secs: 5,
            on_failure: SpamFailure::Accept,
            controller_url: None,
            controller_password_file: None,
            quarantine_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SpamFailure {
    Accept,
    Tempfail,
}

impl SpamConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if let Some(url) = &self.rspamd_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return fail(
                "spam.rspamd_url",
                "must be an http:// or https:// URL of rspamd's normal worker",
            );
        }
        if self.timeout_secs == 0 || self.timeout_secs > 60 {
            return fail("spam.timeout_secs", "must be 1 to 60 seconds");
        }
        if self.quarantine_days == 0 || self.quarantine_days > 3650 {
            return fail("spam.quarantine_days", "must be 1 to 3650 days");
        }
        if let Some(url) = &self.controller_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return fail(
                "spam.controller_url",
                "must be an http:// or https:// URL of rspamd's controller",
            );
        }
        Ok(())
    }
}
