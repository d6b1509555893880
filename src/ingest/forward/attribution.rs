//! Forwards laid out as an attribution line instead of a header block: Outlook 2019 (desktop)
//! writes `On 28/10/2021 12:46, "Name" <name@example.com> wrote:` and then the original indented
//! by four spaces, in each of its languages with its own words and date format
//! (`Am 28.10.2021 um 12:46 schrieb "Name" <…>:`, `Le 28/10/2021 12:46, « Name » <…> a écrit :`).
//!
//! Only asked when the subject carries a forward prefix (an attribution line above a quote is
//! otherwise a reply), and recognised by shape, not by the words of one language: within the first
//! lines, a line (or two, when the client wrapped it) that holds one address and ends in a colon,
//! followed by the original indented or `>`-quoted. The original sender is that address, with the
//! quoted display name before it.

use super::block::{clean_name, tidy, unquote};
use crate::ingest::text::email;
use crate::mail::Forwarded;
use regex::Regex;
use std::sync::LazyLock;

/// The attribution sits near the top: below an agent's short note at most.
const MAX_LEAD_LINES: usize = 30;
/// An attribution line is short; a longer line with an address is prose.
const MAX_ATTRIBUTION_LEN: usize = 300;

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{1,4}[./-]\s?\d{1,2}[./-]\s?\d{1,4}\.?(?:,?\s*(?:um|klo|à|at|в|kl\.?|o)?\s*\d{1,2}[:.]\d{2})?")
        .expect("valid regex")
});

/// The original of an attribution-style forward in `text` (line endings normalized).
pub(super) fn scan(text: &str) -> Option<Forwarded> {
    let lines: Vec<&str> = text.lines().collect();
    let mut seen = 0;
    for i in 0..lines.len() {
        if lines[i].trim().is_empty() {
            continue;
        }
        seen += 1;
        if seen > MAX_LEAD_LINES {
            return None;
        }
        // The line as written, or wrapped onto the next one (`…Name <addr>` / `wrote:`).
        for span in [1, 2] {
            let Some(end) = (i + span).checked_sub(1).filter(|&e| e < lines.len()) else {
                continue;
            };
            let joined = lines[i..=end].iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
            if let Some(found) = read(&joined, &lines[..i], &lines[end + 1..]) {
                return Some(found);
            }
        }
    }
    None
}

/// `attribution` with the note above it and the lines after it, if they make a forward.
fn read(attribution: &str, above: &[&str], after: &[&str]) -> Option<Forwarded> {
    let line = attribution.trim();
    if line.len() > MAX_ATTRIBUTION_LEN || !line.ends_with([':', '：']) || line.starts_with('>') {
        return None;
    }
    let mut spans = email::find_spans(line);
    let (span, address) = spans.next()?;
    if spans.next().is_some() {
        return None;
    }
    let body = original(after)?;
    let from_email = email::clean(&address)?;
    if !from_email.rsplit_once('@').is_some_and(|(_, d)| d.contains('.')) {
        return None;
    }
    Some(Forwarded {
        from_email,
        from_name: display_name(&line[..span.start]),
        subject: None,
        date: DATE.find(line).map(|m| m.as_str().trim().to_string()),
        to: Vec::new(),
        cc: Vec::new(),
        body,
        note: tidy(&above.join("\n")),
    })
}

/// The original below the attribution: its indented (or `>`-quoted) lines, the indentation or
/// quote markers removed. None when the next text is not indented: then it was no forward.
fn original(after: &[&str]) -> Option<String> {
    let first = after.iter().find(|l| !l.trim().is_empty())?;
    let indented = |l: &str| l.starts_with("  ") || l.starts_with('\t');
    let quoted = |l: &str| unquote(l).0 > 0;
    if !indented(first) && !quoted(first) {
        return None;
    }
    let mut out = Vec::new();
    for line in after {
        if line.trim().is_empty() {
            out.push("");
        } else if quoted(line) {
            let (_, rest) = unquote(line);
            out.push(rest.strip_prefix(' ').unwrap_or(rest));
        } else if indented(line) {
            out.push(
                line.strip_prefix("    ")
                    .or_else(|| line.strip_prefix('\t'))
                    .unwrap_or(line.trim_start()),
            );
        } else {
            // Text back at the margin ends the original (a signature of the agent, say).
            break;
        }
    }
    let body = tidy(&out.join("\n"));
    (!body.is_empty()).then_some(body)
}

/// Verbs some languages put between the date and the name (`schreef Name <…>:`).
const VERBS_BEFORE_NAME: &[&str] = &["schreef", "schrieb", "skrev", "wrote", "écrit", "escribió", "escreveu"];

/// The display name just before the address: a quoted one (`"Name"`, `« Name »`, `“Name”`), or
/// the words right before it that hold no digit (`On Wed, 14 Nov 2018 08:14 -0200 Jane Doe <…>`).
fn display_name(before: &str) -> Option<String> {
    let before = before.trim_end().trim_end_matches(['<', '(', '[']).trim_end();
    for (open, close) in [('"', '"'), ('«', '»'), ('“', '”'), ('„', '“'), ('\'', '\'')] {
        if let Some(inner) = before.strip_suffix(close)
            && let Some(start) = inner.rfind(open)
        {
            return clean_name(&inner[start + open.len_utf8()..]);
        }
    }
    // Words after the last comma only: the date and the lead words sit before it.
    let tail = before.rsplit(',').next().unwrap_or(before);
    let mut words: Vec<&str> = tail
        .rsplit(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .take_while(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .take(4)
        .collect();
    words.reverse();
    while words
        .first()
        .is_some_and(|w| VERBS_BEFORE_NAME.contains(&w.to_lowercase().as_str()))
    {
        words.remove(0);
    }
    clean_name(&words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::scan;

    /// Outlook 2019's attribution line in some of its languages (the server test has all 17): the
    /// date before the name, after it, and the name in guillemets.
    const OUTLOOK_ATTRIBUTIONS: &[(&str, &str)] = &[
        (
            "en",
            "On 28/10/2021 12:46, \"Jana Nováková\" <jana@customer.example> wrote:",
        ),
        (
            "de",
            "Am 28.10.2021 um 12:46 schrieb \"Jana Nováková\" <jana@customer.example>:",
        ),
        (
            "fi",
            "\"Jana Nováková\" <jana@customer.example> kirjoitti 28.10.2021 kello 12.46:",
        ),
        (
            "fr",
            "Le 28/10/2021 à 12:46, « Jana Nováková » <jana@customer.example> a écrit :",
        ),
        (
            "tr",
            "28.10.2021 12:46 tarihinde \"Jana Nováková\" <jana@customer.example> şunu yazdı:",
        ),
    ];

    fn outlook_forward(attribution: &str) -> String {
        format!(
            "FYI, see below.\n\n{attribution}\n\n    Hello,\n    my order 4711 has not arrived yet.\n\n    Regards,\n    Jana\n"
        )
    }

    #[test]
    fn outlook_attribution_forwards_in_every_language() {
        for (language, attribution) in OUTLOOK_ATTRIBUTIONS {
            let found = scan(&outlook_forward(attribution)).unwrap_or_else(|| panic!("{language}: no forward found"));
            assert_eq!(found.from_email, "jana@customer.example", "{language}");
            assert_eq!(found.from_name.as_deref(), Some("Jana Nováková"), "{language}");
            assert!(
                found.body.starts_with("Hello,\nmy order 4711"),
                "{language}: {:?}",
                found.body
            );
            assert_eq!(found.note, "FYI, see below.", "{language}");
        }
    }

    #[test]
    fn a_wrapped_attribution_and_quote_markers_are_read_too() {
        let text = "On Wed, 14 Nov 2018 08:14:43 -0200 Jane Doe <jane@customer.example>\nwrote:\n\n> The original.\n> Second line.\n";
        let found = scan(text).expect("a forward");
        assert_eq!(found.from_email, "jane@customer.example");
        assert_eq!(found.from_name.as_deref(), Some("Jane Doe"));
        assert_eq!(found.body, "The original.\nSecond line.");
    }

    #[test]
    fn no_indented_original_no_forward() {
        assert!(scan("On Monday, Jane <jane@customer.example> wrote:\nThanks!\n").is_none());
        assert!(scan("Jane <jane@customer.example> and Bob <bob@customer.example> wrote:\n\n    x\n").is_none());
    }
}
