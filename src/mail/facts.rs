//! The facts a plan carries beyond its kind: what a bounce reports, what a forward held, what a
//! provider's notice asks. Each is found by its reader in `ingest` and stored as JSON by the store.

use serde::Serialize;

/// The failed delivery a bounce reports: the first failed recipient at the top level, every one
/// in `recipients`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BounceInfo {
    pub recipient: Option<String>,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    pub reason: Option<String>,
    pub hard: bool,
    pub feedback_type: Option<String>,
    pub original_message_id: Option<String>,
    pub recipients: Vec<BouncedRecipient>,
}

/// One recipient a report names as failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BouncedRecipient {
    pub recipient: String,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    pub reason: Option<String>,
    pub hard: bool,
}

/// A forward's original message, as the agent's forward showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Forwarded {
    /// Original sender address, lower-case domain (local part as written).
    pub from_email: String,
    /// Original sender display name, if any.
    pub from_name: Option<String>,
    /// Original subject.
    pub subject: Option<String>,
    /// Original date as written in the block.
    pub date: Option<String>,
    /// Original To addresses.
    pub to: Vec<String>,
    /// Original Cc addresses.
    pub cc: Vec<String>,
    /// The body of the original message (plain text).
    pub body: String,
    /// What the forwarder wrote above the forward block (trimmed; "" if none).
    pub note: String,
}

/// A notice for the account itself (a forwarding confirmation), with what the agent must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// `forwarding_confirmation`
    pub kind: &'static str,
    /// The provider that asked: `gmail` or `outlook`.
    pub provider: &'static str,
    pub link: Option<String>,
    pub code: Option<String>,
    /// The mailbox whose owner asked to forward to us.
    pub requested_by: Option<String>,
}
