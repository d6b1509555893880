//! `[auth]`: sender authentication (SPF, DKIM, DMARC, ARC): on or off, its DNS, what a DMARC
//! reject does, and the forwarders whose ARC seal is trusted.

use super::{Invalid, fail};
use crate::mail::DmarcAction;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Verify SPF, DKIM, DMARC and ARC on every message from an untrusted client.
    pub enabled: bool,
    /// Bound on all DNS work for one message, in seconds; what is unfinished is `temperror`.
    pub dns_timeout_secs: u64,
    /// DNS servers as `ip:port`; empty: the system's (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    /// What to do when DMARC fails and the sender's domain publishes `p=reject`: `reject` (550 5.7.1
    /// at the end of DATA) or `accept` (store it, flagged `suspicious`). Accounts may override it.
    pub dmarc_reject: DmarcAction,
    /// Forwarders whose ARC seal we trust to carry the original DMARC verdict (auto-forwarded mail).
    pub trusted_arc_sealers: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dns_timeout_secs: 5,
            nameservers: Vec::new(),
            dmarc_reject: DmarcAction::Reject,
            trusted_arc_sealers: vec!["google.com".into(), "microsoft.com".into(), "outlook.com".into()],
        }
    }
}

impl AuthConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.dns_timeout_secs == 0 || self.dns_timeout_secs > 60 {
            return fail("auth.dns_timeout_secs", "must be between 1 and 60 seconds");
        }
        Ok(())
    }
}
