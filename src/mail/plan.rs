//! The decision ingest makes for one account, which the store carries out inside its commit.

use super::address::Mailbox;
use super::facts::{BounceInfo, Forwarded, Notice};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a message is, for the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// A newsletter or list mail (List-Id, List-Unsubscribe, Precedence bulk).
    Bulk,
    /// Spam, in the account's quarantine: no contact, no conversation.
    Spam,
}

impl Kind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Kind; 8] = [
        Kind::Message,
        Kind::Forward,
        Kind::AutoReply,
        Kind::Bounce,
        Kind::Feedback,
        Kind::System,
        Kind::Bulk,
        Kind::Spam,
    ];

    /// The kind stored as `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Forward => "forward",
            Kind::AutoReply => "auto_reply",
            Kind::Bounce => "bounce",
            Kind::Feedback => "feedback",
            Kind::System => "system",
            Kind::Bulk => "bulk",
            Kind::Spam => "spam",
        }
    }
}

/// A fact about a message the inbox shows beside its kind; stored as the list of their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// The From failed authentication: kept out of the contact's existing conversations.
    Suspicious,
    /// mail-parser found no message: stored raw.
    Unparsed,
    /// A body was cut at the cap, or a large message was read from its first window.
    Truncated,
    /// No usable From (or Reply-To): no contact.
    NoSender,
    /// An agent's forward whose original sender could not be found.
    ForwardUnparsed,
    /// An agent's own mail that is not a forward: the agent never becomes a contact.
    Member,
    /// More than one Message-ID field: the first is the message's.
    MultipleMessageIds,
    /// The spam filter did not answer and `[spam] on_failure = "accept"`: filed unscored.
    Unscored,
}

impl Flag {
    /// Every flag.
    pub const ALL: [Flag; 8] = [
        Flag::Suspicious,
        Flag::Unparsed,
        Flag::Truncated,
        Flag::NoSender,
        Flag::ForwardUnparsed,
        Flag::Member,
        Flag::MultipleMessageIds,
        Flag::Unscored,
    ];

    /// The flag stored as `name`.
    pub fn from_name(name: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Suspicious => "suspicious",
            Flag::Unparsed => "unparsed",
            Flag::Truncated => "truncated",
            Flag::NoSender => "no_sender",
            Flag::ForwardUnparsed => "forward_unparsed",
            Flag::Member => "member",
            Flag::MultipleMessageIds => "multiple_message_ids",
            Flag::Unscored => "unscored",
        }
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Flag::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown flag `{name}`")))
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

/// The decision for one account.
#[derive(Debug, Clone)]
pub struct Plan {
    pub account_id: i64,
    /// `+tags` of the addresses this account was reached through.
    pub tags: Vec<String>,
    pub kind: Kind,
    pub flags: Vec<Flag>,
    pub contact: ContactChoice,
    /// Message-IDs that may name the conversation, most specific first.
    pub thread_ids: Vec<String>,
    /// Subject for a new conversation, and its normalized key for the subject rule.
    pub subject: String,
    pub subject_key: String,
    pub campaign_id: Option<String>,
    pub automation_id: Option<String>,
    pub reply_text: Option<String>,
    /// The signature cut from the end of the new text (`-- ` delimiter, app footers).
    pub signature: Option<String>,
    pub forwarded_by: Option<String>,
    /// A forward's original: sender, subject, date, To/Cc, body and the agent's note.
    pub original: Option<Forwarded>,
    pub bounce: Option<BounceInfo>,
    pub notice: Option<Notice>,
    /// The From is proven genuine (or came through a trusted relay).
    pub verified: bool,
}

impl Plan {
    /// The From failed authentication: the message must not pass as the contact's.
    pub fn suspicious(&self) -> bool {
        self.flags.contains(&Flag::Suspicious)
    }
}
