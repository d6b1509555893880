//! `[tls]`: the certificate and key of STARTTLS, implicit TLS and HTTPS (reloaded on SIGHUP).

use super::{Invalid, fail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; STARTTLS is offered when both files are set. Reloaded on SIGHUP.
    pub certificate: Option<PathBuf>,
    /// PEM private key.
    pub private_key: Option<PathBuf>,
}

impl TlsConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.certificate.is_some() != self.private_key.is_some() {
            return fail(
                "tls.certificate",
                "set both tls.certificate and tls.private_key, or neither",
            );
        }
        Ok(())
    }
}
