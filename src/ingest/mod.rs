//! What a message is: bytes + envelope → a [`Delivery`] with one [`Plan`] per recipient account.
//!
//! Everything here is decided from the message and the account's data alone, without I/O, so the
//! same message always gives the same plan and a retried delivery is a no-op in the store
//! (invariant 3). The store then executes the plan inside its commit (find or create the contact,
//! pick the conversation). `plan` holds the decision rules; the other files each read one thing out
//! of a message: `parse` the fields, `sender` the contact, `thread` the thread keys, `forward` a
//! forwarded original, `bounce` a delivery report, `autoreply` an automatic answer, `notice` a
//! forwarding confirmation, `reply_text` the new text without quotes.

pub mod address;
pub mod autoreply;
pub mod bounce;
pub mod forward;
pub mod large;
pub mod notice;
pub mod parse;
mod plan;
pub mod reply_text;
pub mod sender;
pub mod thread;
pub mod verdict;

use crate::auth::AuthResult;
use crate::config::DmarcAction;
use crate::routing::ReplyToken;
use address::Mailbox;
use parse::ParsedMessage;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The SMTP facts about one accepted message, stored with it.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub queue_id: String,
    /// The reverse path, `""` for the null sender.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub client_ip: IpAddr,
    pub helo: String,
    /// `ESMTP`, `ESMTPS`, `UTF8SMTPS`, … (RFC 3848).
    pub protocol: String,
    /// TLS version and cipher suite when the session was encrypted.
    pub tls: Option<String>,
    /// `8BITMIME`, `7BIT`, `BINARYMIME` when the client declared a BODY.
    pub body: Option<String>,
    pub smtputf8: bool,
    pub env_id: Option<String>,
    pub received_at: String,
    /// Size of the message as received, before our Received header.
    pub size: usize,
}

/// One accepted recipient, as routing resolved it.
#[derive(Debug, Clone)]
pub struct AcceptedRecipient {
    pub address: String,
    pub account_id: i64,
    pub tag: Option<String>,
    pub token: Option<ReplyToken>,
    /// The account's own answer to DMARC `p=reject` failures, when it overrides the server's.
    pub dmarc_reject: Option<DmarcAction>,
}

/// The account data a plan depends on (besides what the store looks up inside the commit).
#[derive(Debug, Clone, Default)]
pub struct AccountData {
    /// Lower-case addresses of the account's agents.
    pub members: Vec<String>,
}

/// What a message is, for the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A person writing to the account.
    Message,
    /// An agent's manual forward of a customer's mail.
    Forward,
    /// An out-of-office or other automatic answer (RFC 3834).
    AutoReply,
    /// A delivery status notification.
    Bounce,
    /// An ARF feedback report (complaint).
    Feedback,
    /// A notice for the account itself (forwarding confirmations).
    System,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Forward => "forward",
            Kind::AutoReply => "auto_reply",
            Kind::Bounce => "bounce",
            Kind::Feedback => "feedback",
            Kind::System => "system",
        }
    }
}

/// Whose conversation the message goes to.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactChoice {
    /// Find the contact by address, creating it (not opt-in, no list, no automation) if new.
    FindOrCreate(Mailbox),
    /// Use the contact if it exists; never create one (auto-replies, bounces).
    FindExisting(Mailbox),
    /// No contact: the message is stored without a conversation unless its thread finds one.
    None,
}

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
    pub recipients: Vec<FailedRecipient>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRecipient {
    pub recipient: String,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    pub reason: Option<String>,
    pub hard: bool,
}

/// The decision for one account.
#[derive(Debug, Clone)]
pub struct Plan {
    pub account_id: i64,
    /// `+tags` of the addresses this account was reached through.
    pub tags: Vec<String>,
    pub kind: Kind,
    pub flags: Vec<&'static str>,
    pub contact: ContactChoice,
    /// Message-IDs that may name the conversation, most specific first.
    pub thread_ids: Vec<String>,
    /// Subject for a new conversation, and its normalized key for the subject rule.
    pub subject: String,
    pub subject_key: String,
    pub campaign_id: Option<String>,
    pub automation_id: Option<String>,
    pub reply_text: Option<String>,
    pub forwarded_by: Option<String>,
    /// A forward's original: sender, subject, date, To/Cc, body and the agent's note.
    pub original: Option<forward::Forwarded>,
    pub bounce: Option<BounceInfo>,
    pub notice: Option<notice::Notice>,
    /// The From is proven genuine (or came through a trusted relay); see `verdict`.
    pub verified: bool,
}

impl Plan {
    /// The From failed authentication: the message must not pass as the contact's.
    pub fn suspicious(&self) -> bool {
        self.flags.contains(&"suspicious")
    }
}

/// Everything the store needs to commit one message: raw bytes once, a plan per account.
#[derive(Debug)]
pub struct Delivery {
    pub envelope: Envelope,
    /// The message as stored: our Received header, then the bytes as received.
    pub raw: Vec<u8>,
    pub message: Arc<ParsedMessage>,
    /// The sender authentication verdicts, when the checks ran.
    pub auth: Option<AuthResult>,
    /// Same for every retry of the same message: `mid:<Message-ID>` or `sha256:<hex>`.
    pub dedupe_key: String,
    pub plans: Vec<Plan>,
}

impl Delivery {
    /// Parses `raw` (whose first `trace_len` bytes are our own trace headers: Received and
    /// Authentication-Results) and plans it for each account among `recipients`.
    pub fn prepare(
        envelope: Envelope,
        raw: Vec<u8>,
        trace_len: usize,
        recipients: &[AcceptedRecipient],
        accounts: &BTreeMap<i64, AccountData>,
        auth: Option<AuthResult>,
        trusted_sealers: &[String],
    ) -> Delivery {
        let verdict = verdict::judge(auth.as_ref(), trusted_sealers);
        // Our own Received header is not part of what the sender wrote: judge the message without it.
        let content = &raw[trace_len.min(raw.len())..];
        let mut by_account: BTreeMap<i64, Vec<&AcceptedRecipient>> = BTreeMap::new();
        for r in recipients {
            by_account.entry(r.account_id).or_default().push(r);
        }
        let (message, plans) = {
            let reader = plan::Reader::new(content, envelope.mail_from.is_empty());
            let plans = by_account
                .into_iter()
                .map(|(account_id, rcpts)| {
                    let data = accounts.get(&account_id).cloned().unwrap_or_default();
                    reader.plan(account_id, &rcpts, &data, verdict)
                })
                .collect();
            (reader.into_message(), plans)
        };
        let dedupe_key = dedupe_key(&message, content);
        Delivery {
            envelope,
            raw,
            message: Arc::new(message),
            auth,
            dedupe_key,
            plans,
        }
    }
}

fn dedupe_key(message: &ParsedMessage, content: &[u8]) -> String {
    match &message.message_id {
        Some(id) => format!("mid:{id}"),
        None => {
            let digest = Sha256::digest(content);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    }
}
