//! What trails the new text of a reply without being new text: the remnants of a quote header
//! (an attribution line without a verb, a separator line whose block was cut), the signature (after
//! the `-- ` delimiter of RFC 3676 §4.3, or a mail app's footer such as "Sent from my iPhone"), and
//! a mailing list's footer.

use crate::ingest::text::email;
use regex::Regex;
use std::sync::LazyLock;

/// The words of a mail app's footer ("Sent from my iPhone", "Gesendet von Outlook für Android",
/// "iPhoneから送信", "Get Outlook for iOS") in the languages the apps ship, as patterns of a whole
/// line: a "sent" word then a "from"/"with" word, or a "from my …" then a "sent" word, or a
/// language's own order. What follows the words (the device, the app) is free: a new phone does not
/// need a new rule. Case-insensitive; checked on short lines only (see `footer_line`).
static APP_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    let sent = [
        "sent",
        "envoyé",
        "enviado",
        "enviada",
        "enviat",
        "inviato",
        "inviata",
        "verstuurd",
        "verzonden",
        "skickat",
        "sendt",
        "gesendet",
        "wysłane",
        "wysłano",
        "odesláno",
        "odoslané",
        "отправлено",
        "надіслано",
        "изпратено",
        "poslano",
        "εστάλη",
        "trimis",
        "išsiųsta",
        "nosūtīts",
        "saadetud",
        "gửi",
        "dikirim",
        "elküldve",
        "sendur",
    ];
    let from = [
        "from",
        "with",
        "via",
        "de",
        "depuis",
        "desde",
        "do",
        "da",
        "dal",
        "dallo",
        "des",
        "del",
        "vanaf",
        "van",
        "met",
        "från",
        "med",
        "fra",
        "von",
        "mit",
        "z",
        "ze",
        "с",
        "со",
        "з",
        "из",
        "от",
        "s",
        "iz",
        "από",
        "pe",
        "iš",
        "no",
        "minu",
        "từ",
        "dari",
        "az",
        "à partir de",
        "à partir d'",
        "úr",
    ];
    let patterns = [
        // A "sent" word and a "from" word, then the app or device: most languages.
        format!(r"^(?:{})\s+(?:{})\s+\S.*$", alternation(&sent), alternation(&from)),
        // A "from my" first, the "sent" word last: German, Hungarian, Turkish, the CJK languages.
        r"^(?:von meinem|vom|von)\s.+\s(?:gesendet|versendet)$".to_string(),
        r"^\S.*(?:'(?:[uüiı]m)?(?:dan|den|tan|ten))\s+gönderildi$".to_string(),
        r"^\S.*(?:ról|ről)\s+küldve$".to_string(),
        r"^\S.*(?:から送信|에서\s?보냄|发送|傳送|送信)$".to_string(),
        r"^(?:发自|來自|从我的|從我的).+$".to_string(),
        // Finnish: "Lähetetty iPhonesta" (the elative, no separate "from").
        r"^lähetetty\s+\S.*(?:sta|stä|lta|ltä)$".to_string(),
        // "Get Outlook for iOS" and its translations.
        r"^(?:get|obtenir|obtener|obter|scarica|hent|skaffa|pobierz|baixe|descargar|download|holen sie sich)\s+(?:the\s+)?outlook\s+\S+\s+\S+.*$".to_string(),
        r"^outlook\s+(?:für|voor|pour|for|per|para|för|til|dla|pro)\s+(?:ios|android)\s+\S+$".to_string(),
    ];
    Regex::new(&format!("(?i){}", patterns.map(|p| format!("(?:{p})")).join("|"))).expect("valid regex")
});

fn alternation(words: &[&str]) -> String {
    words.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|")
}

/// At most this many characters and words make a footer line: the apps' are short, and a sentence
/// that merely starts with "Sent from my" runs longer.
const FOOTER_CHARS: usize = 60;
const FOOTER_WORDS: usize = 8;

/// Whether `line` is a mail app's footer.
fn footer_line(line: &str) -> bool {
    let line = line.trim().trim_end_matches('.');
    !line.is_empty()
        && line.chars().count() <= FOOTER_CHARS
        && line.split_whitespace().count() <= FOOTER_WORDS
        && APP_FOOTER.is_match(line)
}

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
        // An app's footer ends the text: only a few short lines (a name, a number) may follow it,
        // so only the last lines are looked at.
        let from = lines.len().saturating_sub(8);
        let at = from + lines[from..].iter().rposition(|l| footer_line(l))?;
        let after: Vec<&&str> = lines[at + 1..].iter().filter(|l| !l.trim().is_empty()).collect();
        (after.len() <= 3 && after.iter().all(|l| l.trim().chars().count() <= 40)).then_some(at)
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
        let rule = t.len() >= 2 && t.chars().all(|c| c == '_');
        if rule {
            // Below the rule: a line naming the "mailing list", and the list's page or address.
            let next: Vec<String> = lines[i + 1..].iter().take(4).map(|l| l.trim().to_lowercase()).collect();
            if next.iter().take(3).any(|l| l.contains("mailing list"))
                && next
                    .iter()
                    .any(|l| l.contains("http://") || l.contains("https://") || email::contains(l))
            {
                return reply[..offset].trim_end();
            }
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
