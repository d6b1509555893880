//! A message as ingest read it: the owned, size-capped fields the rules and the inbox use.
//!
//! Filled by `ingest::parse` (mail-parser) and stored by the store; nothing here parses.

use super::address::Mailbox;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: usize,
    pub content_id: Option<String>,
    pub inline: bool,
}

/// What a message says about itself, as far as it could be parsed.
#[derive(Debug, Clone, Default)]
pub struct ParsedMessage {
    /// False when mail-parser found no message at all: stored raw and flagged `unparsed`.
    pub parsed: bool,
    pub message_id: Option<String>,
    /// The message carried more than one Message-ID field (`message_id` is the first).
    pub multiple_message_ids: bool,
    pub from: Option<Mailbox>,
    pub sender: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: Option<String>,
    /// RFC 3339, when the Date header is valid.
    pub date: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Lower-case header name → raw value, for the headers in the parser's kept list that are present.
    pub headers: BTreeMap<String, String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub text_from_html: bool,
    pub attachments: Vec<Attachment>,
    /// A body was longer than the parser's body cap and was cut.
    pub truncated: bool,
}

impl ParsedMessage {
    pub fn header(&self, lower_name: &str) -> Option<&str> {
        self.headers.get(lower_name).map(String::as_str)
    }
}
