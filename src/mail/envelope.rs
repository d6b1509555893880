//! The SMTP facts of one message: the envelope the session built, and each recipient as routing
//! resolved it at RCPT.

use super::account::DmarcAction;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The SMTP facts about one accepted message, stored with it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Envelope {
    pub queue_id: String,
    /// The reverse path, `""` for the null sender.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    #[schema(value_type = String)]
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

/// What a signed reply address answers: the campaign or automation email whose Reply-To it was.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenOrigin {
    /// A one-off email of the platform's.
    #[default]
    None,
    Campaign(String),
    Automation(String),
}

impl TokenOrigin {
    pub fn campaign_id(&self) -> Option<&str> {
        match self {
            TokenOrigin::Campaign(id) => Some(id),
            _ => None,
        }
    }

    pub fn automation_id(&self) -> Option<&str> {
        match self {
            TokenOrigin::Automation(id) => Some(id),
            _ => None,
        }
    }
}

/// One accepted recipient, as routing resolved it.
#[derive(Debug, Clone)]
pub struct AcceptedRecipient {
    pub address: String,
    pub account_id: i64,
    pub tag: Option<String>,
    /// Set when the address was a verified signed reply address.
    pub reply_to: Option<TokenOrigin>,
    /// The account's own answer to DMARC `p=reject` failures, when it overrides the server's.
    pub dmarc_reject: Option<DmarcAction>,
    /// The account lets bulk mail create contacts (see `AccountRoute::bulk_contacts`).
    pub bulk_contacts: bool,
}
