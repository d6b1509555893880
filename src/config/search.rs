//! `[search]`: the full-text index of what people wrote, kept in the database with each message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Index each message as it is stored (subject, text, sender, contact), for `q` and the web
    /// inbox's search box. Off: nothing is indexed (a deployment with a search service of its
    /// own), and searching answers from what was indexed before.
    pub index: bool,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { index: true }
    }
}
