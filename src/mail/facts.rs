//! The facts a plan carries beyond its kind: what a bounce reports, what a forward held, what a
//! provider's notice asks. Each is found by its reader in `ingest` and stored as JSON by the store.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The failed delivery a bounce reports: the first failed recipient at the top level, every one
/// in `recipients`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct BounceInfo {
    pub recipient: Option<String>,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    /// Why it failed, in sisimai's names (`userunknown`, `mailboxfull`, …).
    #[schema(value_type = Option<String>)]
    pub reason: Option<Reason>,
    pub hard: bool,
    pub feedback_type: Option<String>,
    pub original_message_id: Option<String>,
    pub recipients: Vec<BouncedRecipient>,
}

/// One recipient a report names as failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BouncedRecipient {
    pub recipient: String,
    pub status: Option<String>,
    pub reply_code: Option<String>,
    #[schema(value_type = Option<String>)]
    pub reason: Option<Reason>,
    pub hard: bool,
}

/// Why a delivery failed, in sisimai's vocabulary (so results compare with its corpus): the
/// reason a bounce names for each failed recipient, stored and shown by its name (`userunknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    AuthFailure,
    BadReputation,
    Blocked,
    ContentError,
    Delivered,
    EmailTooLong,
    ExceedLimit,
    Expired,
    FailedStartTls,
    Feedback,
    Filtered,
    HasMoved,
    HostUnknown,
    MailboxFull,
    MailerError,
    MesgTooBig,
    NetworkError,
    NoRelaying,
    NotAccept,
    NotCompliantRfc,
    OnHold,
    PolicyViolation,
    Rejected,
    RequirePtr,
    SecurityError,
    SpamDetected,
    Speeding,
    Suppressed,
    Suspend,
    SyntaxError,
    SystemError,
    SystemFull,
    TooManyConn,
    Undefined,
    UserUnknown,
    Vacation,
    VirusDetected,
}

impl Reason {
    /// Every reason, in alphabetical order of its name.
    pub const ALL: &[Reason] = &[
        Reason::AuthFailure,
        Reason::BadReputation,
        Reason::Blocked,
        Reason::ContentError,
        Reason::Delivered,
        Reason::EmailTooLong,
        Reason::ExceedLimit,
        Reason::Expired,
        Reason::FailedStartTls,
        Reason::Feedback,
        Reason::Filtered,
        Reason::HasMoved,
        Reason::HostUnknown,
        Reason::MailboxFull,
        Reason::MailerError,
        Reason::MesgTooBig,
        Reason::NetworkError,
        Reason::NoRelaying,
        Reason::NotAccept,
        Reason::NotCompliantRfc,
        Reason::OnHold,
        Reason::PolicyViolation,
        Reason::Rejected,
        Reason::RequirePtr,
        Reason::SecurityError,
        Reason::SpamDetected,
        Reason::Speeding,
        Reason::Suppressed,
        Reason::Suspend,
        Reason::SyntaxError,
        Reason::SystemError,
        Reason::SystemFull,
        Reason::TooManyConn,
        Reason::Undefined,
        Reason::UserUnknown,
        Reason::Vacation,
        Reason::VirusDetected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AuthFailure => "authfailure",
            Reason::BadReputation => "badreputation",
            Reason::Blocked => "blocked",
            Reason::ContentError => "contenterror",
            Reason::Delivered => "delivered",
            Reason::EmailTooLong => "emailtoolong",
            Reason::ExceedLimit => "exceedlimit",
            Reason::Expired => "expired",
            Reason::FailedStartTls => "failedstarttls",
            Reason::Feedback => "feedback",
            Reason::Filtered => "filtered",
            Reason::HasMoved => "hasmoved",
            Reason::HostUnknown => "hostunknown",
            Reason::MailboxFull => "mailboxfull",
            Reason::MailerError => "mailererror",
            Reason::MesgTooBig => "mesgtoobig",
            Reason::NetworkError => "networkerror",
            Reason::NoRelaying => "norelaying",
            Reason::NotAccept => "notaccept",
            Reason::NotCompliantRfc => "notcompliantrfc",
            Reason::OnHold => "onhold",
            Reason::PolicyViolation => "policyviolation",
            Reason::Rejected => "rejected",
            Reason::RequirePtr => "requireptr",
            Reason::SecurityError => "securityerror",
            Reason::SpamDetected => "spamdetected",
            Reason::Speeding => "speeding",
            Reason::Suppressed => "suppressed",
            Reason::Suspend => "suspend",
            Reason::SyntaxError => "syntaxerror",
            Reason::SystemError => "systemerror",
            Reason::SystemFull => "systemfull",
            Reason::TooManyConn => "toomanyconn",
            Reason::Undefined => "undefined",
            Reason::UserUnknown => "userunknown",
            Reason::Vacation => "vacation",
            Reason::VirusDetected => "virusdetected",
        }
    }

    /// The reason named `name` (sisimai's spelling), if there is one.
    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// A reason that says something: not `undefined` or `onhold`.
    pub fn is_explicit(self) -> bool {
        !matches!(self, Reason::Undefined | Reason::OnHold)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Reason::from_name(&name).unwrap_or(Reason::Undefined))
    }
}

/// A forward's original message, as the agent's forward showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
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
