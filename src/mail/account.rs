//! What the pipeline knows of an account: how RCPT routes to it, and the data a plan depends on.

use serde::{Deserialize, Serialize};

/// An account as routing needs it at RCPT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRoute {
    pub id: i64,
    pub enabled: bool,
    /// The account's override of `auth.dmarc_reject`.
    pub dmarc_reject: Option<DmarcAction>,
    /// Bulk mail (newsletters, lists) creates a contact (`accounts set-bulk ID contact`); by default
    /// it does not.
    pub bulk_contacts: bool,
}

/// The account data a plan depends on (besides what the store looks up inside the commit).
#[derive(Debug, Clone, Default)]
pub struct AccountData {
    /// Lower-case addresses of the account's agents.
    pub members: Vec<String>,
    /// Senders the account always takes or never takes.
    pub senders: super::SenderRules,
}

/// What to do with mail that fails DMARC under the sender's `p=reject`: the server's default
/// (`auth.dmarc_reject`) and each account's override.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DmarcAction {
    Reject,
    Accept,
}

impl DmarcAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcAction::Reject => "reject",
            DmarcAction::Accept => "accept",
        }
    }

    pub fn parse(s: &str) -> Option<DmarcAction> {
        match s {
            "reject" => Some(DmarcAction::Reject),
            "accept" => Some(DmarcAction::Accept),
            _ => None,
        }
    }
}
