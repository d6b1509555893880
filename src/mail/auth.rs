//! The sender-authentication verdicts of one message (SPF, DKIM, DMARC, ARC), as `auth` computes
//! them and the store keeps them.

use serde::{Deserialize, Serialize};

/// The verdicts for one message. Results are RFC 8601 result words.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DkimSignature {
    /// `d=` (empty when the signature could not be parsed).
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `pass`, `fail`, `neutral`, `temperror` or `permerror`.
    pub result: String,
}

impl AuthResult {
    /// The forwarded-mail exception: a trusted forwarder's ARC seal says the original passed DMARC.
    pub fn arc_vouches(&self, trusted_sealers: &[String]) -> bool {
        self.arc == "pass"
            && self.arc_dmarc.as_deref() == Some("pass")
            && !self.arc_sealers.is_empty()
            && self
                .arc_sealers
                .iter()
                .all(|s| trusted_sealers.iter().any(|t| t.eq_ignore_ascii_case(s)))
    }
}
