//! What a message's thread is looked up by: the Message-IDs it answers and its normalized subject.
//!
//! The rules (applied by the store, inside the commit, in this order):
//! 1. In-Reply-To, then References newest first: a message already stored in the account, or an
//!    outbound message the platform registered, joins that conversation, but only if it belongs to
//!    the same contact (replies from two people to one campaign stay two conversations).
//! 2. The same contact's conversation with the same normalized subject, active within the window.
//! 3. Otherwise a new conversation.

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

/// Reply and forward prefixes in the languages our customers' clients use.
const PREFIXES: &[&str] = &[
    "re",
    "aw",
    "sv",
    "vs",
    "antw",
    "antwort",
    "rif",
    "r",
    "res",
    "odp",
    "ynt",
    "atb",
    "vá",
    "ref",
    "réf",
    "fwd",
    "fw",
    "tr",
    "wg",
    "rv",
    "enc",
    "doorst",
    "i",
    "vb",
    "fs",
    "fwd",
    "pd",
    "přeposlat",
    "továbbítás",
    "πρθ",
    "σχετ",
    "回复",
    "回覆",
    "答复",
    "转发",
    "轉寄",
    "返信",
    "転送",
    "رد",
    "تحويل",
    "הועבר",
    "השב",
];

/// Prefixes of automatic answers, so an out-of-office joins the conversation it answers.
const AUTO_REPLY_PREFIXES: &[&str] = &[
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "out of office reply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "respuesta automática",
    "risposta automatica",
    "automatisch antwoord",
    "resposta automática",
    "autosvar",
    "automatisk svar",
    "automaattinen vastaus",
];

/// `Re: [Support] AW: Fwd:  Order  #42` → `order #42`: what stays the same across a thread.
pub fn subject_key(subject: &str) -> String {
    strip_prefixes(subject).to_lowercase()
}

/// The subject without reply/forward prefixes and list tags, whitespace collapsed, case kept.
pub fn strip_prefixes(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let before = rest.len();
        rest = strip_tag(rest).trim_start();
        rest = strip_one_prefix(rest).trim_start();
        rest = strip_auto_reply_prefix(rest).trim_start();
        if rest.len() == before {
            break;
        }
    }
    rest.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `[list-name]` or `(fwd)` at the start.
fn strip_tag(s: &str) -> &str {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(end) = inner.find(']')
        && end <= 64
    {
        return &inner[end + 1..];
    }
    if let Some(inner) = s.strip_prefix('(')
        && let Some(end) = inner.find(')')
        && PREFIXES.iter().any(|p| inner[..end].trim().eq_ignore_ascii_case(p))
    {
        return &inner[end + 1..];
    }
    s
}

/// `Automatic reply: …`, `Out of Office: …`, `Réponse automatique : …`.
fn strip_auto_reply_prefix(s: &str) -> &str {
    for prefix in AUTO_REPLY_PREFIXES {
        let Some(head) = s.get(..prefix.len()) else {
            continue;
        };
        if head.to_lowercase() == *prefix {
            let rest = s[prefix.len()..].trim_start_matches(' ');
            if let Some(after) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')) {
                return after;
            }
        }
    }
    s
}

/// One `Re:`, `RE :`, `Re[2]:`, `Re(3):`, `回复：` at the start.
fn strip_one_prefix(s: &str) -> &str {
    let word_end = s
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let word = &s[..word_end];
    if word.is_empty() || !PREFIXES.iter().any(|p| word.to_lowercase() == *p) {
        return s;
    }
    let mut rest = &s[word_end..];
    // A counter: "Re[2]:" or "Re(2):" or "Re^2:".
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = rest.strip_prefix(open)
            && let Some(end) = inner.find(close)
            && end <= 4
            && inner[..end].chars().all(|c| c.is_ascii_digit())
        {
            rest = &inner[end + close.len_utf8()..];
        }
    }
    if let Some(r) = rest.strip_prefix('^') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let rest = rest.trim_start_matches(' ');
    match rest.strip_prefix(':').or_else(|| rest.strip_prefix('：')) {
        Some(after) => after,
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
