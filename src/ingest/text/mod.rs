//! The text toolbox ingest's readers share, so that each rule exists once:
//!
//! - [`truncate`]: a prefix of at most so many bytes, cut at a character boundary;
//! - [`contains_any`]: does a text hold one of these phrases;
//! - `html`: HTML as the text a reader sees (the one converter);
//! - `email`: addresses found in free text (the one extraction rule);
//! - `subject`: reply, forward and automatic-answer prefixes of a subject (the one prefix reader).

pub mod email;
pub mod html;
pub mod subject;

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// True when `hay` contains one of `needles` (as written: callers fold case first when they need to).
pub fn contains_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

#[cfg(test)]
mod tests {

    use super::{contains_any, truncate};
    #[test]
    fn truncation_never_splits_a_character() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("héllo", 99), "héllo");
        assert_eq!(truncate("", 3), "");
        assert_eq!(truncate("日本", 4), "日");
    }

    #[test]
    fn phrases_are_found_as_written() {
        assert!(contains_any("mailbox full", &["quota", "full"]));
        assert!(!contains_any("Mailbox Full", &["full"]));
    }
}
