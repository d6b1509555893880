//! `[retention]`: how long a conversation is kept after its last message, for accounts without a
//! retention of their own (`inboxd accounts set-retention`).

use super::{Invalid, fail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days after its last message a conversation is deleted (with its messages); 0 keeps forever.
    pub days: u32,
}

/// The longest retention that means anything (a hundred years).
pub const MAX_DAYS: u32 = 36_500;

impl RetentionConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.days > MAX_DAYS {
            return fail("retention.days", "must be 0 (keep forever) to 36500 days");
        }
        Ok(())
    }
}
