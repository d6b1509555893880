//! What we do with mail whose sender's domain fails DMARC and publishes `p=reject`: the one place
//! that decision is made.
//!
//! The rule: refuse at the end of DATA (550 5.7.1) when DMARC failed, the policy is `reject`, no
//! trusted forwarder's ARC seal vouches for the original, and every recipient account's answer is
//! `reject` (its own, set with `accounts set-dmarc`, or else the server's `auth.dmarc_reject`). One
//! DATA has one answer, so a message is refused only when every account it is for would refuse it;
//! otherwise it is stored, flagged `suspicious`.

use crate::mail::{AcceptedRecipient, AuthResult, DmarcAction};

/// DMARC failed and the sender's domain asks receivers to reject (and no trusted forwarder vouches).
pub fn domain_asks_reject(auth: &AuthResult, trusted_sealers: &[String]) -> bool {
    auth.dmarc == "fail" && auth.dmarc_policy.as_deref() == Some("reject") && !auth.arc_vouches(trusted_sealers)
}

/// True when the message must be refused for DMARC (see the module's rule).
pub fn refuses(
    auth: &AuthResult,
    trusted_sealers: &[String],
    server_default: DmarcAction,
    recipients: &[AcceptedRecipient],
) -> bool {
    domain_asks_reject(auth, trusted_sealers)
        && recipients
            .iter()
            .all(|r| r.dmarc_reject.unwrap_or(server_default) == DmarcAction::Reject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{AccountRoute, TokenOrigin};

    fn failing(sealers: &[&str]) -> AuthResult {
        AuthResult {
            spf: "fail".into(),
            spf_domain: String::new(),
            spf_helo: "none".into(),
            dkim: "fail".into(),
            dkim_signatures: vec![],
            dkim_domains: vec![],
            dmarc: "fail".into(),
            dmarc_policy: Some("reject".into()),
            arc: "pass".into(),
            arc_sealers: sealers.iter().map(|s| s.to_string()).collect(),
            arc_dmarc: Some("pass".into()),
            from_domain: Some("x.example".into()),
            from_domain_aligned: false,
            timed_out: false,
            smtp_mailfrom: String::new(),
            smtp_helo: String::new(),
        }
    }

    fn recipient(account: AccountRoute) -> AcceptedRecipient {
        AcceptedRecipient {
            address: format!("a{}@inbox.localhost", account.id),
            account_id: account.id,
            tag: None,
            reply_to: Some(TokenOrigin::None),
            dmarc_reject: account.dmarc_reject,
            bulk_contacts: false,
        }
    }

    #[test]
    fn a_trusted_forwarder_vouches_and_an_untrusted_one_does_not() {
        let trusted = vec!["google.com".to_string()];
        assert!(!domain_asks_reject(&failing(&["google.com"]), &trusted));
        assert!(domain_asks_reject(&failing(&["google.com", "evil.example"]), &trusted));
        assert!(domain_asks_reject(&failing(&[]), &trusted));
    }

    #[test]
    fn every_recipient_account_must_say_reject() {
        let auth = failing(&[]);
        let account = |id, dmarc_reject| AccountRoute {
            id,
            enabled: true,
            dmarc_reject,
            bulk_contacts: false,
        };
        let default_reject = [
            recipient(account(1, None)),
            recipient(account(2, Some(DmarcAction::Reject))),
        ];
        assert!(refuses(&auth, &[], DmarcAction::Reject, &default_reject));
        assert!(!refuses(&auth, &[], DmarcAction::Accept, &default_reject[..1]));
        let one_accepts = [
            recipient(account(1, None)),
            recipient(account(2, Some(DmarcAction::Accept))),
        ];
        assert!(!refuses(&auth, &[], DmarcAction::Reject, &one_accepts));
        let mut passing = auth.clone();
        passing.dmarc = "pass".into();
        assert!(!refuses(&passing, &[], DmarcAction::Reject, &default_reject));
    }
}
