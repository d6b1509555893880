//! Subject prefixes: the one reader of the `Re:`, `Fwd:`, `AW:`, `回复：` chains, list and gateway
//! tags, and automatic-answer prefixes that clients put before a subject.
//!
//! Threading uses the subject without them (the same conversation whatever the client wrote), and
//! forward detection asks whether a forward prefix was among them.

/// Prefixes that mark a manual forward, in the languages our customers' clients use.
const FORWARD_PREFIXES: &[&str] = &[
    "fwd",
    "fw",
    "fs",
    "tr",
    "wg",
    "rv",
    "doorst",
    "vs",
    "vb",
    "enc",
    "i",
    "pd",
    "vl",
    "videresend",
    "ilt",
    "redir",
    "pre",
    "přeposlat",
    "továbbítás",
    "wtr",
    "πρθ",
    "пересл",
    "转发",
    "轉寄",
    "轉發",
    "転送",
    "تحويل",
    "הועבר",
];

/// Prefixes that mark a reply.
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "sv", "antw", "antwort", "rif", "r", "réf", "ref", "res", "odp", "vá", "ynt", "atb", "απ", "σχετ",
    "отв", "回复", "回覆", "答复", "返信", "رد", "השב",
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

/// A list or gateway tag (`[Support]`, `[EXT]`) is at most this long inside its brackets.
const MAX_TAG: usize = 64;
/// Real chains are short; each step consumes input, and this bounds the work on hostile subjects.
const MAX_STEPS: usize = 32;

/// What the stripped chain held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefixes {
    /// A forward prefix (`Fwd:`, `WG:`, `TR:`, the Mozilla form `[Fwd: …]`).
    pub forwarded: bool,
    /// A reply prefix (`Re:`, `AW:`, `SV:`).
    pub replied: bool,
}

/// The subject after its leading chain of prefixes, tags and automatic-answer prefixes, trimmed,
/// and what the chain held.
pub fn strip(subject: &str) -> (&str, Prefixes) {
    strip_with(subject, true)
}

/// The same without touching automatic-answer prefixes (for the reader that looks for them).
pub fn strip_replies_and_forwards(subject: &str) -> &str {
    strip_with(subject, false).0
}

fn strip_with(subject: &str, auto_replies: bool) -> (&str, Prefixes) {
    let mut seen = Prefixes::default();
    let mut rest = subject.trim();
    for _ in 0..MAX_STEPS {
        let before = rest.len();
        if let Some(inner) = bracketed_forward(rest) {
            seen.forwarded = true;
            rest = inner;
        }
        rest = strip_tag(rest).trim_start();
        match strip_one_prefix(rest) {
            Some((after, forward)) => {
                if forward {
                    seen.forwarded = true;
                } else {
                    seen.replied = true;
                }
                rest = after.trim_start();
            }
            None if auto_replies => rest = strip_auto_reply_prefix(rest).trim_start(),
            None => {}
        }
        if rest.len() == before {
            break;
        }
    }
    (rest.trim(), seen)
}

/// The Mozilla form `[Fwd: subject]`: the inner subject.
fn bracketed_forward(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (after, forward) = strip_one_prefix(inner.trim_start())?;
    forward.then_some(after.trim())
}

/// `[list-name]` or `(fwd)` at the start.
fn strip_tag(s: &str) -> &str {
    if let Some(inner) = s.strip_prefix('[')
        && let Some(end) = inner.find(']')
        && end <= MAX_TAG
        && strip_one_prefix(inner[..end].trim_start()).is_none()
    {
        return &inner[end + 1..];
    }
    if let Some(inner) = s.strip_prefix('(')
        && let Some(end) = inner.find(')')
        && prefix_kind(inner[..end].trim()).is_some()
    {
        return &inner[end + 1..];
    }
    s
}

/// Whether `word` is a forward prefix (`Some(true)`), a reply prefix (`Some(false)`) or neither.
fn prefix_kind(word: &str) -> Option<bool> {
    // `İ` lower-cases to `i` and a combining dot: Turkish `İLT` is `ilt`.
    let lower: String = word.to_lowercase().chars().filter(|&c| c != '\u{307}').collect();
    let lower = lower.trim_end_matches('.');
    if FORWARD_PREFIXES.contains(&lower) {
        Some(true)
    } else if REPLY_PREFIXES.contains(&lower) {
        Some(false)
    } else {
        None
    }
}

/// One `Re:`, `RE :`, `Re[2]:`, `Re(3):`, `Re^2:`, `回复：`, `Redir.:` at the start: what follows it,
/// and whether it was a forward prefix.
fn strip_one_prefix(s: &str) -> Option<(&str, bool)> {
    let word_end = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphabetic() || *c == '\u{307}'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let mut word_end = word_end;
    if s[word_end..].starts_with('.') {
        word_end += 1;
    }
    let forward = prefix_kind(&s[..word_end])?;
    let mut rest = &s[word_end..];
    // A counter: "Re[2]:" or "Re(2):" or "Re^2:".
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(inner) = rest.trim_start_matches(' ').strip_prefix(open)
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
    let after = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
    Some((after, forward))
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

#[cfg(test)]
mod tests {

    use super::strip;
    #[test]
    fn chains_tags_and_counters_in_many_languages() {
        for (subject, expected, forwarded, replied) in [
            ("Re: Order #42", "Order #42", false, true),
            ("RE: re: Fwd: Order #42", "Order #42", true, true),
            ("AW: WG: Order #42", "Order #42", true, true),
            ("TR: Order #42", "Order #42", true, false),
            ("回复：Order #42", "Order #42", false, true),
            ("[Support] Re: [ticket] Order  #42", "Order  #42", false, true),
            ("[EXT] FW: Order", "Order", true, false),
            ("Re[2]: Order", "Order", false, true),
            ("Re (2): Order", "Order", false, true),
            ("RE : Order", "Order", false, true),
            ("[Fwd: Order]", "Order", true, false),
            ("Redir.: Order", "Order", true, false),
            ("İLT: Order", "Order", true, false),
            ("Réponse automatique : RE: Order", "Order", false, true),
            ("Réunion: lundi", "Réunion: lundi", false, false),
            ("Results: Q3", "Results: Q3", false, false),
            ("Order", "Order", false, false),
            ("", "", false, false),
        ] {
            let (rest, seen) = strip(subject);
            assert_eq!(rest, expected, "{subject}");
            assert_eq!((seen.forwarded, seen.replied), (forwarded, replied), "{subject}");
        }
    }

    #[test]
    fn hostile_chains_are_bounded() {
        let long = "Re: ".repeat(10_000) + "x";
        let (rest, seen) = strip(&long);
        assert!(
            seen.replied && rest.starts_with("Re:"),
            "stops after a bounded number of steps"
        );
    }
}
