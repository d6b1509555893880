//! Sender authentication of inbound mail: SPF, DKIM, DMARC and ARC verdicts for one message, and our
//! RFC 8601 `Authentication-Results:` header.
//!
//! The checks are `mail-auth`'s; this module owns how they are run (concurrently, bounded by one
//! timeout, with shared TTL caches in front of DNS) and how their outputs become one flat
//! [`AuthResult`]. `verify` runs the checks, `resolver` owns DNS and its caches (and the fixed
//! records of offline tests), `header` writes and reads Authentication-Results text.
//!
//! Rules:
//! - Verification never fails: a DNS error, a timeout or a malformed message gives `temperror`,
//!   `permerror` or `none` results, never an error the server could lose the message over.
//! - One deadline bounds the whole call. A check still running when it passes is dropped and
//!   reported as `temperror`; the checks that finished keep their results.
//! - `verify` must see the message as received (without our own Received header); strip forged
//!   results with [`strip_forged_results`] afterwards, then prepend our header.

mod header;
pub mod policy;
mod resolver;
mod verify;

#[cfg(test)]
mod tests;

pub use header::{OurDomains, strip_forged_results};
pub use resolver::TestRecords;
pub use verify::{DEFAULT_TIMEOUT, Verifier};

pub use crate::mail::auth::{AuthResult, DkimSignature};

use std::net::IpAddr;

/// One message as the SMTP session received it.
#[derive(Debug, Clone, Copy)]
pub struct AuthInput<'a> {
    /// The message as received, without our Received header.
    pub raw: &'a [u8],
    pub client_ip: IpAddr,
    pub helo: &'a str,
    /// The reverse path without angle brackets, `""` for the null sender.
    pub mail_from: &'a str,
    /// Our host name, as SPF's `%{r}` macro sees it.
    pub our_hostname: &'a str,
}
