//! Who is a recipient for: turns an RCPT address into a route, without I/O.
//!
//! Two kinds of local part live on our domains:
//! - an account's unique address, `slug-random` (optionally `+tag`), looked up by the caller;
//! - a signed reply address, `r-<token>`, minted for a contact when the platform sends a campaign or
//!   automation email; its HMAC is checked here, so a forged or altered one never reaches storage.
//!
//! Addresses compare case-insensitively. Any other domain is not ours: we are never a relay.
//!
//! Role addresses: `postmaster` (RFC 5321 §4.5.1: every SMTP server MUST accept it, also without a
//! domain) and `abuse` (RFC 2142) at any of our domains go to the postmaster account, the one
//! account whose address is `postmaster@<first domain>` (the store creates it when the first such
//! mail arrives); `abuse` keeps its name as the message's tag.

pub mod token;

use crate::mail::POSTMASTER;
pub use crate::mail::TokenOrigin;
pub use token::ReplyToken;

/// RFC 2142's address for abuse reports, delivered to the postmaster account.
const ABUSE: &str = "abuse";

/// A recipient we may accept, before the account table is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An account's unique address: `local` is the lower-case local part without the tag.
    Account {
        local: String,
        domain: String,
        tag: Option<String>,
    },
    /// A verified reply address.
    Reply { token: ReplyToken, tag: Option<String> },
    /// `postmaster` (bare or at any of our domains) or `abuse`: the postmaster account, whose
    /// address is `postmaster@<domain>` on the first configured domain; the store creates it when
    /// the first such mail arrives.
    Postmaster { domain: String, tag: Option<String> },
}

/// Why a recipient is refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not one of our domains: 550 5.7.1 relay denied.
    NotOurDomain,
    /// A reply address whose signature does not verify: 550 5.1.1.
    BadReplyToken,
    /// No usable address (empty, no domain): 501 5.1.3.
    BadSyntax,
}

/// The routing rules, fixed at start from the configuration.
#[derive(Clone)]
pub struct Router {
    domains: Vec<String>,
    key: Vec<u8>,
}

impl Router {
    pub fn new(domains: Vec<String>, key: Vec<u8>) -> Router {
        let domains = domains.into_iter().map(|d| d.to_ascii_lowercase()).collect();
        Router { domains, key }
    }

    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn is_our_domain(&self, domain: &str) -> bool {
        let domain = domain.trim_end_matches('.');
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Classifies one RCPT address.
    pub fn route(&self, address: &str) -> Result<Route, Refusal> {
        if address.eq_ignore_ascii_case(POSTMASTER) {
            return Ok(self.postmaster(None));
        }
        let (local, domain) = address.rsplit_once('@').ok_or(Refusal::BadSyntax)?;
        if local.is_empty() || domain.is_empty() {
            return Err(Refusal::BadSyntax);
        }
        if !self.is_our_domain(domain) {
            return Err(Refusal::NotOurDomain);
        }
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let local = local.to_lowercase();
        let (base, tag) = match local.split_once('+') {
            Some((base, tag)) => (base.to_string(), (!tag.is_empty()).then(|| tag.to_string())),
            None => (local, None),
        };
        if base == POSTMASTER {
            return Ok(self.postmaster(tag));
        }
        if base == ABUSE {
            return Ok(self.postmaster(Some(ABUSE.to_string())));
        }
        if let Some(encoded) = base.strip_prefix(token::LOCAL_PREFIX) {
            return match ReplyToken::verify(encoded, &self.key) {
                Some(token) => Ok(Route::Reply { token, tag }),
                None => Err(Refusal::BadReplyToken),
            };
        }
        Ok(Route::Account {
            local: base,
            domain,
            tag,
        })
    }

    /// The postmaster account's route: its address is `postmaster@<first domain>`.
    fn postmaster(&self, tag: Option<String>) -> Route {
        Route::Postmaster {
            domain: self.domains[0].clone(),
            tag,
        }
    }

    /// The signed reply address of a token, on `domain` (see [`ReplyToken`]).
    pub fn reply_address(&self, domain: &str, token: &ReplyToken) -> String {
        format!("{}{}@{}", token::LOCAL_PREFIX, token.sign(&self.key), domain)
    }

    /// Mints the reply address the platform puts in Reply-To when it writes to `contact_email` of
    /// `account_id` for a campaign or automation. The same function backs `inboxd reply-address`.
    pub fn mint_reply_address(
        &self,
        domain: &str,
        account_id: i64,
        contact_email: &str,
        origin: TokenOrigin,
    ) -> String {
        let token = ReplyToken::new(&self.key, account_id, contact_email, origin);
        self.reply_address(domain, &token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new(
            vec!["In.Example.com".into(), "inbox.localhost".into()],
            b"0123456789abcdef0123".to_vec(),
        )
    }

    #[test]
    fn account_addresses_are_case_insensitive_and_keep_tags() {
        let r = router();
        assert_eq!(
            r.route("Acme-K7M2Q9X4+Sales@IN.example.COM").unwrap(),
            Route::Account {
                local: "acme-k7m2q9x4".into(),
                domain: "in.example.com".into(),
                tag: Some("sales".into())
            }
        );
        assert_eq!(r.route("x@elsewhere.org"), Err(Refusal::NotOurDomain));
        assert_eq!(r.route("no-domain"), Err(Refusal::BadSyntax));
        assert_eq!(r.route("@inbox.localhost"), Err(Refusal::BadSyntax));
    }

    #[test]
    fn role_addresses_go_to_the_postmaster_account() {
        let r = router();
        let postmaster = |tag: Option<&str>| Route::Postmaster {
            domain: "in.example.com".into(),
            tag: tag.map(String::from),
        };
        assert_eq!(r.route("Postmaster").unwrap(), postmaster(None));
        assert_eq!(r.route("POSTMASTER@inbox.localhost").unwrap(), postmaster(None));
        assert_eq!(r.route("abuse@In.Example.com").unwrap(), postmaster(Some("abuse")));
        assert_eq!(r.route("postmaster@elsewhere.org"), Err(Refusal::NotOurDomain));
        assert_eq!(r.route("webmaster"), Err(Refusal::BadSyntax));
    }

    #[test]
    fn reply_tokens_verify_and_resist_tampering() {
        let r = router();
        let token = ReplyToken::new(
            r.key(),
            42,
            "Jane@Customer.example",
            TokenOrigin::Campaign("spring-sale".into()),
        );
        let addr = r.reply_address("inbox.localhost", &token);
        assert!(addr.len() < 64 + 17, "{addr}");
        let local = addr.split('@').next().unwrap();
        assert!(local.len() <= 64, "local part must respect RFC 5321: {local}");
        match r.route(&addr.to_uppercase()).unwrap() {
            Route::Reply { token: t, tag } => {
                assert_eq!(t, token);
                assert_eq!(tag, None);
                assert!(t.is_for_contact("jane@customer.example", r.key()));
                assert!(!t.is_for_contact("john@customer.example", r.key()));
            }
            other => panic!("{other:?}"),
        }
        // Flip each character of the token: every variant must be refused.
        let (prefix, rest) = local.split_at(2);
        for i in 0..rest.len() {
            let mut chars: Vec<char> = rest.chars().collect();
            chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
            let forged: String = chars.into_iter().collect();
            assert_eq!(
                r.route(&format!("{prefix}{forged}@inbox.localhost")),
                Err(Refusal::BadReplyToken)
            );
        }
        let other_key = Router::new(vec!["inbox.localhost".into()], b"another-key-entirely".to_vec());
        assert_eq!(other_key.route(&addr), Err(Refusal::BadReplyToken));
    }
}
