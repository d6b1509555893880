//! What the spam filter said of a message: its score, the score needed to act, the action and the
//! rules that fired. Decided in `spam` (rspamd), acted on in `smtp::deliver`, stored with the
//! message (`spam` in its JSON).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SpamVerdict {
    pub score: f64,
    pub required: f64,
    /// rspamd's action: `no action`, `greylist`, `add header`, `rewrite subject`, `soft reject`, `reject`.
    #[schema(value_type = String)]
    pub action: SpamAction,
    pub symbols: Vec<String>,
}

/// rspamd's actions, mildest first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum SpamAction {
    #[serde(rename = "no action")]
    NoAction,
    #[serde(rename = "greylist")]
    Greylist,
    #[serde(rename = "add header")]
    AddHeader,
    #[serde(rename = "rewrite subject")]
    RewriteSubject,
    #[serde(rename = "soft reject")]
    SoftReject,
    #[serde(rename = "reject")]
    Reject,
}

impl SpamAction {
    /// rspamd's spelling (`no action`, `add header`, …); an action we do not know counts as none.
    pub fn parse(action: &str) -> SpamAction {
        match action {
            "greylist" => SpamAction::Greylist,
            "add header" => SpamAction::AddHeader,
            "rewrite subject" => SpamAction::RewriteSubject,
            "soft reject" => SpamAction::SoftReject,
            "reject" => SpamAction::Reject,
            _ => SpamAction::NoAction,
        }
    }

    /// The metric label: `no_action`, `add_header`, …
    pub fn label(self) -> &'static str {
        match self {
            SpamAction::NoAction => "no_action",
            SpamAction::Greylist => "greylist",
            SpamAction::AddHeader => "add_header",
            SpamAction::RewriteSubject => "rewrite_subject",
            SpamAction::SoftReject => "soft_reject",
            SpamAction::Reject => "reject",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpamAction::NoAction => "no action",
            SpamAction::Greylist => "greylist",
            SpamAction::AddHeader => "add header",
            SpamAction::RewriteSubject => "rewrite subject",
            SpamAction::SoftReject => "soft reject",
            SpamAction::Reject => "reject",
        }
    }
}

impl SpamVerdict {
    /// Filed in the account's quarantine rather than its inbox.
    pub fn quarantines(&self) -> bool {
        matches!(self.action, SpamAction::AddHeader | SpamAction::RewriteSubject)
    }
}
