//! `[server]`: who we are on the wire (host name, listeners, the domains we receive for), the PROXY
//! protocol, and the relays we trust.

use super::{Invalid, Network, fail};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Name in the greeting, EHLO reply and Received headers.
    pub hostname: String,
    /// Plain SMTP listeners (STARTTLS offered when a certificate is configured).
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS listeners (port 465 style); need `tls.certificate`.
    pub listen_tls: Vec<SocketAddr>,
    /// Domains we receive for. Mail for any other domain is refused: we are never a relay.
    pub domains: Vec<String>,
    /// Seconds that sessions with a transaction in flight get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Expect a PROXY protocol (v1 or v2) header on every listener, from `proxy_trusted_networks`.
    pub proxy_protocol: bool,
    /// Load balancers whose PROXY header is believed. Others are served as direct clients.
    pub proxy_trusted_networks: Vec<Network>,
    /// Relays we trust (the platform's own servers): no rate limits, no sender authentication checks.
    pub trusted_networks: Vec<Network>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hostname: "inboxd.localhost".into(),
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 2525))],
            listen_tls: Vec::new(),
            domains: vec!["inbox.localhost".into()],
            shutdown_grace_secs: 30,
            proxy_protocol: false,
            proxy_trusted_networks: vec![
                "127.0.0.1/32".parse().expect("a network"),
                "::1/128".parse().expect("a network"),
            ],
            trusted_networks: Vec::new(),
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.hostname.trim().is_empty() || self.hostname.contains(char::is_whitespace) {
            return fail("server.hostname", "must be a host name without spaces");
        }
        if self.listen.is_empty() && self.listen_tls.is_empty() {
            return fail("server.listen", "at least one listen address is needed");
        }
        if self.domains.is_empty() {
            return fail("server.domains", "at least one domain is needed");
        }
        for domain in &self.domains {
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return fail("server.domains", &format!("`{domain}` is not a domain name"));
            }
        }
        Ok(())
    }
}
