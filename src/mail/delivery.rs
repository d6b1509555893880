//! One message on its way into the store: the raw bytes once, a plan per recipient account.

use super::auth::AuthResult;
use super::envelope::Envelope;
use super::message::ParsedMessage;
use super::plan::Plan;
use std::sync::Arc;

/// Everything the store needs to commit one message.
#[derive(Debug)]
pub struct Delivery {
    pub envelope: Envelope,
    /// The message as stored: our trace headers, then the bytes as received.
    pub raw: Vec<u8>,
    pub message: Arc<ParsedMessage>,
    /// The sender authentication verdicts, when the checks ran.
    pub auth: Option<AuthResult>,
    /// The spam filter's verdict, when it scored the message.
    pub spam: Option<crate::mail::SpamVerdict>,
    /// Same for every retry of the same message: `mid:<Message-ID>` or `sha256:<hex>`.
    pub dedupe_key: String,
    pub plans: Vec<Plan>,
    /// Set when a person released this message from the quarantine: the quarantined row (this
    /// id) is replaced by the message filed anew, in the same transaction, once.
    pub release: Option<i64>,
    /// The message as the store keeps it, packed where it was received (then `raw` is emptied);
    /// None until then (the store packs it itself).
    pub stored: Option<Stored>,
}

/// What the store writes of a message, prepared before the commit so that the writer only
/// writes: the raw bytes compressed, the body compressed, the search document.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub raw: Packed,
    /// The plain text and the HTML, compressed; None when the message had neither.
    pub body: Option<Vec<u8>>,
    /// The words the search index gets for this message (subject, text, sender), normalized; None
    /// when the index is off (`[search] index = false`).
    pub search: Option<String>,
    /// The envelope's JSON, packed (the store's `json_codec`), and as text: the store writes one.
    pub envelope: Vec<u8>,
    pub envelope_json: String,
}

/// Bytes as kept: compressed, with the SHA-256 and the length of the bytes themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packed {
    pub hash: Vec<u8>,
    pub size: usize,
    pub data: Vec<u8>,
    /// How `data` is kept (the store's codec number: plain or zstd).
    pub codec: i64,
}
