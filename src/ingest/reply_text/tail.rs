//! What trails the new text of a reply without being new text: the remnants of a quote header
//! (an attribution line without a verb, a separator line whose block was cut), the signature (after
//! the `-- ` delimiter of RFC 3676 §4.3, or a mail app's footer such as "Sent from my iPhone"), and
//! a mailing list's footer.

use crate::ingest::text::email;
use regex::Regex;
use std::sync::LazyLock;

/// The footers mail apps append, as whole lines (compared case-insensitively, trimmed).
const APP_FOOTERS: &[&str] = &[
    "sent from my iphone",
    "sent from my ipad",
    "sent from my android",
    "sent from my blackberry",
    "sent from my blackberry® wireless device",
    "sent from my samsung galaxy smartphone.",
    "sent from my galaxy",
    "sent from my huawei phone",
    "sent from mobile",
    "sent from my mobile",
    "sent from my phone",
    "sent from yahoo mail for iphone",
    "sent from yahoo mail on android",
    "sent from outlook",
    "sent from mail for windows",
    "sent from mail for windows 10",
    "get outlook for ios",
    "get outlook for android",
    "envoyé de mon iphone",
    "envoyé de mon ipad",
    "envoyé depuis mon iphone",
    "envoyé de mon appareil android",
    "obtenir outlook pour ios",
    "obtenir outlook pour android",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "von meinem android-gerät gesendet",
    "gesendet von meinem iphone",
    "gesendet von outlook für android",
    "gesendet von outlook für ios",
    "outlook für ios beziehen",
    "outlook für android herunterladen",
    "enviado desde mi iphone",
    "enviado desde mi ipad",
    "enviado desde mi teléfono",
    "enviado do meu iphone",
    "enviado do meu ipad",
    "inviato da iphone",
    "inviato dal mio iphone",
    "verzonden vanaf mijn iphone",
    "verstuurd vanaf mijn iphone",
    "skickat från min iphone",
    "sendt fra min iphone",
    "lähetetty iphonesta",
    "wysłane z iphone'a",
    "odesláno z iphonu",
    "отправлено с iphone",
    "iphoneから送信",
];

/// Separator lines left behind when the block they introduced was cut: dashes, underscores or
/// equals signs alone, or around a few words (`-------- Oprindelig besked --------`,
/// `==== Message du : 12/12/2016 13:20 ====`).
static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:[-_=*]{3,}|[-=]{2,}.{1,80}?[-=]{2,})\s*$").expect("valid regex"));
/// A date or a time, as attribution lines write them.
static DATE_OR_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,2}[:.]\d{2}|\d{4}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}").expect("valid regex"));

/// The reply without the quote-header remnants at its end: lines that are a separator alone, or an
/// attribution (an address or a date, ending in a colon) that introduced the cut history.
pub(super) fn trim_quote_remnants(reply: &str) -> &str {
    let mut rest = reply.trim_end();
    loop {
        let (head, last) = match rest.rfind('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => return rest,
        };
        let line = last.trim();
        let attribution =
            line.len() <= 300 && line.ends_with([':', '：']) && (email::contains(line) || DATE_OR_TIME.is_match(line));
        if attribution || SEPARATOR.is_match(line) {
            rest = head.trim_end();
        } else {
            return rest;
        }
    }
}

/// The new text and the signature after it, if there is one: from a `-- ` delimiter line, or from
/// an app footer line that only short lines follow. A mailing list's footer is cut and dropped.
pub fn split_signature(reply: &str) -> (String, Option<String>) {
    let reply = cut_list_footer(reply);
    let lines: Vec<&str> = reply.lines().collect();
    let start = lines.iter().position(|l| *l == "-- " || *l == "--").or_else(|| {
        lines.iter().rposition(|l| {
            let l = l.trim().trim_end_matches('.').to_lowercase();
            APP_FOOTERS.iter().any(|f| l == f.trim_end_matches('.'))
        })
    });
    match start {
        // A reply that is all signature keeps its text: nothing would remain otherwise.
        Some(0) | None => (reply.trim().to_string(), None),
        Some(at) => {
            let text = lines[..at].join("\n").trim().to_string();
            let signature = lines[at..].join("\n").trim().to_string();
            if text.is_empty() {
                (reply.trim().to_string(), None)
            } else {
                (text, (!signature.is_empty()).then_some(signature))
            }
        }
    }
}

/// Mailman's and its kin's footer: a rule of underscores, then `<list> mailing list` and the
/// list's address and page.
fn cut_list_footer(reply: &str) -> &str {
    let lines: Vec<&str> = reply.split('\n').collect();
    let mut offset = 0;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let rule = t.len() >= 10 && t.chars().all(|c| c == '_');
        if rule
            && lines[i + 1..]
                .iter()
                .take(3)
                .any(|l| l.trim().to_lowercase().ends_with("mailing list"))
        {
            return reply[..offset].trim_end();
        }
        offset += line.len() + 1;
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remnants_signatures_and_footers() {
        assert_eq!(
            trim_quote_remnants("Tak.\n\n-------- Oprindelig besked --------"),
            "Tak."
        );
        assert_eq!(
            trim_quote_remnants("Merci.\n\n==== Message du : 12/12/2016 13:20 ===="),
            "Merci."
        );
        assert_eq!(
            trim_quote_remnants("Ok.\n\n30.09.2017, 18.30, \"Jane\" <jane@x.example>:"),
            "Ok."
        );
        assert_eq!(
            trim_quote_remnants("Steps:\n1. open"),
            "Steps:\n1. open",
            "a colon in text stays"
        );
        assert_eq!(
            trim_quote_remnants("Here is the list:"),
            "Here is the list:",
            "one line stays"
        );
        assert_eq!(
            split_signature("Ok.\n\n-- \nJohn Smith\nAcme Inc."),
            ("Ok.".to_string(), Some("-- \nJohn Smith\nAcme Inc.".to_string()))
        );
        assert_eq!(
            split_signature("On my way.\n\nSent from my iPhone"),
            ("On my way.".to_string(), Some("Sent from my iPhone".to_string()))
        );
        assert_eq!(
            split_signature("Sent from my iPhone"),
            ("Sent from my iPhone".to_string(), None)
        );
        assert_eq!(
            split_signature("I agree.\n\n____________________\nUsers mailing list\nusers@lists.example.org\n"),
            ("I agree.".to_string(), None)
        );
    }
}
