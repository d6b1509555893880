//! Whether a message's From is genuine, from the authentication verdicts (`crate::auth`).
//!
//! The rule:
//! - **verified**: DMARC passes, or SPF/DKIM pass aligned with the From domain, or the message was
//!   auto-forwarded by a trusted forwarder whose ARC seal recorded DMARC pass for it.
//! - **suspicious**: the From fails authentication: DMARC fails, or (without a DMARC policy) nothing
//!   aligned passes and SPF fails or softfails or a DKIM signature is broken. Such a message never
//!   passes as the contact: it is flagged `suspicious`, linked with `verified: false`, never joins an
//!   existing conversation, and a contact it creates is not marked verified.
//! - **unverified**: neither proven nor failed (no records, DNS temperror): stored and threaded as
//!   usual, but `verified: false`. A DNS failure is never a reason to refuse or lose a message.
//! - **skipped**: a trusted relay (or checks turned off): taken as verified.
//!
//! A member's manual forward is judged by the member's own authentication, since the From is theirs.

use crate::mail::AuthResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    Unverified,
    Suspicious,
    Skipped,
}

impl Verdict {
    pub fn is_verified(self) -> bool {
        matches!(self, Verdict::Verified | Verdict::Skipped)
    }
}

pub fn judge(auth: Option<&AuthResult>, trusted_sealers: &[String]) -> Verdict {
    let Some(auth) = auth else {
        return Verdict::Skipped;
    };
    if auth.dmarc == "pass" || auth.from_domain_aligned || auth.arc_vouches(trusted_sealers) {
        return Verdict::Verified;
    }
    let broken = matches!(auth.spf.as_str(), "fail" | "softfail") || auth.dkim == "fail";
    if auth.dmarc == "fail" || (matches!(auth.dmarc.as_str(), "none" | "permerror") && broken) {
        return Verdict::Suspicious;
    }
    Verdict::Unverified
}

#[cfg(test)]
mod tests {

    use super::{Verdict, judge};
    use crate::mail::AuthResult;
    fn result(spf: &str, dkim: &str, dmarc: &str, aligned: bool) -> AuthResult {
        AuthResult {
            spf: spf.into(),
            spf_domain: String::new(),
            spf_helo: "none".into(),
            dkim: dkim.into(),
            dkim_signatures: vec![],
            dkim_domains: vec![],
            dmarc: dmarc.into(),
            dmarc_policy: Some("reject".into()),
            arc: "none".into(),
            arc_sealers: vec![],
            arc_dmarc: None,
            from_domain: Some("x.example".into()),
            from_domain_aligned: aligned,
            timed_out: false,
            smtp_mailfrom: String::new(),
            smtp_helo: String::new(),
        }
    }

    #[test]
    fn verdicts() {
        let sealers = vec!["google.com".to_string()];
        assert_eq!(judge(None, &sealers), Verdict::Skipped);
        assert_eq!(
            judge(Some(&result("pass", "none", "pass", true)), &sealers),
            Verdict::Verified
        );
        assert_eq!(
            judge(Some(&result("fail", "none", "fail", false)), &sealers),
            Verdict::Suspicious
        );
        assert_eq!(
            judge(Some(&result("softfail", "none", "none", false)), &sealers),
            Verdict::Suspicious
        );
        assert_eq!(
            judge(Some(&result("none", "none", "none", false)), &sealers),
            Verdict::Unverified
        );
        assert_eq!(
            judge(Some(&result("temperror", "temperror", "temperror", false)), &sealers),
            Verdict::Unverified
        );
        let mut forwarded = result("fail", "fail", "fail", false);
        forwarded.arc = "pass".into();
        forwarded.arc_dmarc = Some("pass".into());
        forwarded.arc_sealers = vec!["google.com".into()];
        assert_eq!(judge(Some(&forwarded), &sealers), Verdict::Verified);
        forwarded.arc_sealers.push("evil.example".into());
        assert_eq!(judge(Some(&forwarded), &sealers), Verdict::Suspicious);
    }
}
