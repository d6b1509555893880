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
mod resolver;
mod verify;

#[cfg(test)]
mod tests;

pub use header::strip_forged_results;
pub use resolver::TestRecords;
pub use verify::{DEFAULT_TIMEOUT, Verifier};

use serde::Serialize;
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

/// The verdicts for one message. Results are RFC 8601 result words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthResult {
    /// SPF for MAIL FROM, or for HELO when MAIL FROM is null: `pass`, `fail`, `softfail`, `neutral`,
    /// `none`, `temperror` or `permerror`.
    pub spf: String,
    /// The domain `spf` was evaluated for.
    pub spf_domain: String,
    /// SPF for the HELO name.
    pub spf_helo: String,
    /// The best DKIM result over all signatures, in the order `pass`, `temperror`, `fail`,
    /// `permerror`, `neutral`, `none` (no signature). A body that no longer matches its hash is `fail`.
    pub dkim: String,
    /// Each signature: the malformed ones (at most 8), then the ones checked (at most 8, topmost first).
    pub dkim_signatures: Vec<DkimSignature>,
    /// Domains (`d=`) of the passing signatures.
    pub dkim_domains: Vec<String>,
    /// `pass`, `fail`, `none` (no From domain or no policy published), `temperror` or `permerror`.
    pub dmarc: String,
    /// The policy to apply: `none`, `quarantine` or `reject` (`p=` for the domain itself, `sp=` for a
    /// subdomain, one step lower under `t=y`), when a DMARC record was found.
    pub dmarc_policy: Option<String>,
    /// ARC chain validation: `pass`, `fail`, `none` (no chain) or `temperror`.
    pub arc: String,
    /// Sealing domains (`d=` of each ARC-Seal), oldest hop first; empty without a chain.
    pub arc_sealers: Vec<String>,
    /// The DMARC result the first ARC hop recorded, in its ARC-Authentication-Results (`i=1`), when
    /// the chain passes and that record is about our From domain.
    ///
    /// Rule for forwarded mail: only trust it (e.g. treat `dmarc=fail` as a pass when `arc_dmarc`
    /// is `Some("pass")`) if every domain in `arc_sealers` is a forwarder you trust (Gmail,
    /// Microsoft 365, ...). ARC proves only that the chain is intact: a hop you do not trust could
    /// have sealed a message it altered, or built the whole chain itself.
    pub arc_dmarc: Option<String>,
    /// The RFC 5322 From domain (lower case), when there is one.
    pub from_domain: Option<String>,
    /// Whether a passing SPF or DKIM identity is aligned with the From domain (DMARC alignment).
    /// Without a DMARC record, the identity must equal the From domain or be a parent or a
    /// subdomain of it (there is no policy to say how strict to be).
    pub from_domain_aligned: bool,
    /// The deadline passed before every check finished (the unfinished ones are `temperror`).
    pub timed_out: bool,
    /// The envelope identities the results are about, for the header.
    pub smtp_mailfrom: String,
    pub smtp_helo: String,
}

/// One DKIM signature's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimSignature {
    /// `d=` (empty when the signature could not be parsed).
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `pass`, `fail`, `neutral`, `temperror` or `permerror`.
    pub result: String,
}
