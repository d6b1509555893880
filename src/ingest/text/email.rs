//! Addresses in free text (bounce reports, forward header blocks, attribution lines): the one rule
//! every reader uses to find them.
//!
//! The rule: an address is an RFC 5322 dot-atom local part (letters of any script allowed, as
//! SMTPUTF8 mail writes them), `@`, and a domain of letter-digit-hyphen labels. Punctuation that
//! wraps it in prose (`<>()[]"',;:` and a sentence's full stop) is not part of it. The domain is
//! lower-cased and loses a trailing dot; the local part is kept as written, since only the
//! receiving host may fold its case. Readers that match addresses compare their
//! [`email_key`](crate::mail::email_key), which folds both.

use regex::Regex;
use std::sync::LazyLock;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\w!#$%&'*+/=?^`{|}~.-]+@[\w](?:[\w-]*[\w])?(?:\.[\w](?:[\w-]*[\w])?)*\.?").expect("valid regex")
});

/// Characters that wrap an address in prose.
const WRAPPING: &[char] = &['<', '>', '(', ')', '[', ']', '"', '\'', ',', ';', ':', '`', '.'];

/// One candidate as found (or as a header field holds it) → the address, by the rule above.
pub fn clean(raw: &str) -> Option<String> {
    let (local, domain) = parts(raw)?;
    Some(format!("{local}@{}", domain.to_lowercase()))
}

/// The local part and domain of a candidate, unwrapped, when it is an address.
fn parts(raw: &str) -> Option<(&str, &str)> {
    let raw = raw.trim().trim_matches(WRAPPING);
    let (local, domain) = raw.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    (!local.is_empty() && !domain.is_empty() && !local.contains('@')).then_some((local, domain))
}

/// Every address in `text`, in order (duplicates kept).
pub fn find_all(text: &str) -> Vec<String> {
    EMAIL.find_iter(text).filter_map(|m| clean(m.as_str())).collect()
}

/// The first address in `text`.
pub fn find_first(text: &str) -> Option<String> {
    EMAIL.find_iter(text).find_map(|m| clean(m.as_str()))
}

/// Where each address of `text` is: its byte range (without wrapping punctuation) and the address.
pub fn find_spans(text: &str) -> impl Iterator<Item = (std::ops::Range<usize>, String)> + '_ {
    EMAIL.find_iter(text).filter_map(|m| {
        let found = m.as_str();
        let lead = found.len() - found.trim_start_matches(WRAPPING).len();
        let trail = found.len() - found.trim_end_matches(WRAPPING).len();
        let address = clean(found)?;
        Some((m.start() + lead..m.end() - trail, address))
    })
}

/// True when `text` holds something shaped like an address (asked per line: it allocates nothing).
pub fn contains(text: &str) -> bool {
    EMAIL.find_iter(text).any(|m| parts(m.as_str()).is_some())
}

#[cfg(test)]
mod tests {

    use super::{clean, contains, find_all, find_first, find_spans};
    #[test]
    fn addresses_keep_their_local_part_and_fold_their_domain() {
        assert_eq!(clean("<Jane.Doe@Example.COM>").as_deref(), Some("Jane.Doe@example.com"));
        assert_eq!(clean("'bob@host.example.'").as_deref(), Some("bob@host.example"));
        assert_eq!(clean("@example.com"), None);
        assert_eq!(clean("bob@"), None);
        assert_eq!(
            find_all("Final-Recipient: rfc822; <User@Mail.Example.org>, also (x@y.jp)."),
            vec!["User@mail.example.org", "x@y.jp"]
        );
        assert_eq!(find_first("пишите: Иван@Пример.РФ").as_deref(), Some("Иван@пример.рф"));
        assert!(!contains("no address here @ all"));
        let spans: Vec<_> = find_spans("From: <a@b.c>").collect();
        assert_eq!(spans, vec![(7..12, "a@b.c".to_string())]);
    }
}
