//! What a message is: bytes + envelope → a [`Delivery`] with one [`Plan`] per recipient account.
//!
//! Everything here is decided from the message and the account's data alone, without I/O, so the
//! same message always gives the same plan and a retried delivery is a no-op in the store. The store
//! then executes the plan inside its commit (find or create the contact, pick the conversation).

pub mod address;
pub mod parse;
pub mod sender;
pub mod thread;

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
    Message,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
        }
    }
}

/// Whose conversation the message goes to.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactChoice {
    /// Find the contact by address, creating it (not opt-in, no list, no automation) if new.
    FindOrCreate(Mailbox),
    /// No contact: the message is stored without a conversation unless its thread finds one.
    None,
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
}

/// Everything the store needs to commit one message: raw bytes once, a plan per account.
#[derive(Debug)]
pub struct Delivery {
    pub envelope: Envelope,
    /// The message as stored: our Received header, then the bytes as received.
    pub raw: Vec<u8>,
    pub message: Arc<ParsedMessage>,
    /// Same for every retry of the same message: `mid:<Message-ID>` or `sha256:<hex>`.
    pub dedupe_key: String,
    pub plans: Vec<Plan>,
}

impl Delivery {
    /// Parses `raw` (whose first `trace_len` bytes are our own Received header) and plans it for
    /// each account among `recipients`.
    pub fn prepare(
        envelope: Envelope,
        raw: Vec<u8>,
        trace_len: usize,
        recipients: &[AcceptedRecipient],
        accounts: &BTreeMap<i64, AccountData>,
    ) -> Delivery {
        let message = Arc::new(parse::parse(&raw));
        let dedupe_key = dedupe_key(&message, &raw[trace_len.min(raw.len())..]);
        let mut by_account: BTreeMap<i64, Vec<&AcceptedRecipient>> = BTreeMap::new();
        for r in recipients {
            by_account.entry(r.account_id).or_default().push(r);
        }
        let plans = by_account
            .into_iter()
            .map(|(account_id, rcpts)| {
                let data = accounts.get(&account_id).cloned().unwrap_or_default();
                plan(&message, account_id, &rcpts, &data)
            })
            .collect();
        Delivery {
            envelope,
            raw,
            message,
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

fn plan(
    message: &ParsedMessage,
    account_id: i64,
    rcpts: &[&AcceptedRecipient],
    data: &AccountData,
) -> Plan {
    let mut tags: Vec<String> = rcpts.iter().filter_map(|r| r.tag.clone()).collect();
    tags.dedup();
    let token = rcpts.iter().find_map(|r| r.token.as_ref());
    let mut flags = Vec::new();
    if !message.parsed {
        flags.push("unparsed");
    }
    if message.truncated {
        flags.push("truncated");
    }
    let subject = message.subject.clone().unwrap_or_default();
    let contact = match sender::contact_mailbox(message) {
        Some(mailbox) if data.members.contains(&mailbox.key()) => {
            // An agent writing to their own inbox is not a customer.
            flags.push("member");
            ContactChoice::None
        }
        Some(mailbox) => ContactChoice::FindOrCreate(mailbox),
        None => {
            flags.push("no_sender");
            ContactChoice::None
        }
    };
    Plan {
        account_id,
        tags,
        kind: Kind::Message,
        flags,
        contact,
        thread_ids: thread::lookup_ids(&message.in_reply_to, &message.references),
        subject_key: thread::subject_key(&subject),
        subject: thread::strip_prefixes(&subject),
        campaign_id: token.and_then(|t| t.campaign_id().map(str::to_string)),
        automation_id: token.and_then(|t| t.automation_id().map(str::to_string)),
    }
}
