//! `[threading]`: how far back the subject rule looks for a contact's conversation.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThreadingConfig {
    /// A message without thread headers joins the same contact's conversation with the same
    /// normalized subject if that conversation was active within this many days. 0 turns it off.
    pub subject_window_days: u32,
}

impl Default for ThreadingConfig {
    fn default() -> Self {
        Self {
            subject_window_days: 30,
        }
    }
}
