//! What a message's thread is looked up by: the Message-IDs it answers and its normalized subject.
//!
//! The rules (applied by the store, inside the commit, in this order):
//! 1. In-Reply-To, then References newest first: a message already stored in the account, or an
//!    outbound message the platform registered, joins that conversation, but only if it belongs to
//!    the same contact (replies from two people to one campaign stay two conversations).
//! 2. The same contact's conversation with the same normalized subject, active within the window.
//! 3. Otherwise a new conversation.

use super::text::subject;

/// Message-IDs to try, most specific first: In-Reply-To, then References from the newest.
pub fn lookup_ids(in_reply_to: &[String], references: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in in_reply_to.iter().chain(references.iter().rev()) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids.truncate(20);
    ids
}

/// `Re: [Support] AW: Fwd:  Order  #42` → `order #42`: what stays the same across a thread.
pub fn subject_key(subject: &str) -> String {
    strip_prefixes(subject).to_lowercase()
}

/// The subject without reply/forward/automatic-answer prefixes and list tags, whitespace
/// collapsed, case kept.
pub fn strip_prefixes(subject: &str) -> String {
    let (rest, _) = subject::strip(subject);
    rest.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {

    use super::{lookup_ids, subject_key};
    #[test]
    fn prefixes_and_tags_are_stripped_in_many_languages() {
        for (subject, expected) in [
            ("Re: Order #42", "order #42"),
            ("RE: re: Fwd: Order #42", "order #42"),
            ("AW: WG: Order #42", "order #42"),
            ("SV: Order #42", "order #42"),
            ("TR: Order #42", "order #42"),
            ("Antw: Order #42", "order #42"),
            ("回复：Order #42", "order #42"),
            ("回复: Order #42", "order #42"),
            ("[Support] Re: [ticket] Order  #42", "order #42"),
            ("Re[2]: Order #42", "order #42"),
            ("RE : Order #42", "order #42"),
            ("Order #42", "order #42"),
            ("Réunion: lundi", "réunion: lundi"),
            ("Results: Q3", "results: q3"),
            ("Automatic reply: Order #42", "order #42"),
            ("Réponse automatique : RE: Order #42", "order #42"),
            ("Out of Office: Order #42", "order #42"),
            ("", ""),
        ] {
            assert_eq!(subject_key(subject), expected, "{subject}");
        }
    }

    #[test]
    fn lookup_prefers_in_reply_to_then_newest_reference() {
        let ids = lookup_ids(&["c".into()], &["a".into(), "b".into(), "c".into()]);
        assert_eq!(ids, vec!["c", "b", "a"]);
    }
}
