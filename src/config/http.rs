//! `[http]`: the HTTP door (health, metrics, the API, the web inbox): where it listens, and
//! whether it speaks TLS.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `/healthz` and `/metrics` (Prometheus). Off unless set; keep it on loopback.
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with the certificate of `[tls]` (reloaded with it on SIGHUP).
    pub tls: bool,
}
