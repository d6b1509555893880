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
}
