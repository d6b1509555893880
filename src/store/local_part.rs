//! The shape of an account's unique inbound address: a slug of its name, then randomness.

/// Random characters after the slug: 10 of 36 symbols is 51 bits, beyond guessing or enumeration.
const RANDOM_LEN: usize = 10;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Keeps the whole local part well under RFC 5321's 64 octets.
const MAX_SLUG: usize = 24;

/// `acme-k7m2q9x4ab` for "ACME Inc.": a readable prefix and an unguessable suffix.
pub fn new_account_local_part(name: &str) -> String {
    format!("{}-{}", slug(name), random_suffix())
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            out.push(ch);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= MAX_SLUG {
            break;
        }
    }
    let out = out.trim_matches('-').to_string();
    // `r-` is the reply-token prefix: an account slug must never look like one.
    if out.is_empty() || out == "r" {
        "inbox".to_string()
    } else {
        out
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; RANDOM_LEN];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    // 256 is not a multiple of 36; the bias (under 1%) does not matter for unguessability.
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_safe() {
        assert_eq!(slug("ACME Inc."), "acme-inc");
        assert_eq!(slug("  Café  Crème!! "), "caf-cr-me");
        assert_eq!(slug("日本"), "inbox");
        assert_eq!(slug("R"), "inbox");
        let local = new_account_local_part("Acme");
        assert!(local.starts_with("acme-") && local.len() == 5 + RANDOM_LEN, "{local}");
        assert_ne!(new_account_local_part("Acme"), new_account_local_part("Acme"));
    }
}
