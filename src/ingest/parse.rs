//! Bytes → the fields the inbox needs, with mail-parser. Owned, size-capped, Unicode throughout.
//!
//! Bodies are capped at [`MAX_BODY_CHARS`] for the stored text and HTML (the raw message always
//! keeps everything), so one huge text part cannot double a session's memory.

use super::charset;
use super::text::{html, truncate};
use crate::mail::{Attachment, Mailbox, ParsedMessage, mailbox};
use mail_parser::Encoding;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use std::borrow::Cow;

/// Text and HTML kept per message; beyond it the body is cut and the message flagged `truncated`.
pub const MAX_BODY_CHARS: usize = 1024 * 1024;

/// Headers kept verbatim because the classification rules read them.
const KEPT_HEADERS: &[&str] = &[
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
    "List-Id",
    "List-Unsubscribe",
    "Feedback-Type",
    "X-Failed-Recipients",
    "X-Forwarded-For",
    "X-Forwarded-To",
];

/// Parses a whole message. Never fails: a message mail-parser cannot read comes back `parsed: false`.
pub fn parse(raw: &[u8]) -> ParsedMessage {
    match parse_mime(raw) {
        Some(message) if !message.headers().is_empty() => from_message(&message),
        _ => ParsedMessage::default(),
    }
}

/// mail-parser on untrusted bytes, never panicking: a panic inside the parser counts as "no
/// message" (stored raw, flagged `unparsed`). mail-parser 0.11 has `debug_assert!(false, ...)` on
/// malformed MIME that its release build recovers from; in a debug build (the integration tests,
/// `cargo run`) one such message would otherwise kill the session before its reply, and the
/// sender's retries would meet the same panic (found by fuzzing: fuzz/artifacts/ingest/).
pub fn parse_mime(raw: &[u8]) -> Option<mail_parser::Message<'_>> {
    if cfg!(fuzzing) {
        // Under cargo-fuzz a parser panic stays a crash, so that the fuzzer reports it.
        return MessageParser::default().parse(raw);
    }
    std::panic::catch_unwind(|| MessageParser::default().parse(raw)).unwrap_or_else(|_| {
        tracing::warn!(bytes = raw.len(), "mail-parser panicked; message kept unparsed");
        None
    })
}

/// The same fields from an already parsed message (also used for attached `message/rfc822`).
pub fn from_message(message: &mail_parser::Message<'_>) -> ParsedMessage {
    let mut out = ParsedMessage {
        parsed: true,
        // RFC 5322 §3.6 allows one Message-ID; of several, the first is the one MUAs and archives
        // take (mail-parser's accessor gives the last), and the message is flagged.
        message_id: first_message_id(message).map(clean_id).filter(|id| !id.is_empty()),
        multiple_message_ids: message.header_values("Message-ID").count() > 1,
        from: message.from().and_then(first_mailbox),
        sender: message.sender().and_then(first_mailbox),
        reply_to: message.reply_to().map(all_mailboxes).unwrap_or_default(),
        to: message.to().map(all_mailboxes).unwrap_or_default(),
        cc: message.cc().map(all_mailboxes).unwrap_or_default(),
        subject: message.subject().map(|s| s.trim().to_string()),
        date: message.date().filter(|d| d.is_valid()).map(|d| d.to_rfc3339()),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        ..ParsedMessage::default()
    };
    for name in KEPT_HEADERS {
        if let Some(value) = message.header_raw(*name) {
            out.headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
        }
    }
    collect_bodies(message, &mut out);
    out
}

fn first_message_id<'a>(message: &'a mail_parser::Message<'_>) -> Option<&'a str> {
    message
        .header_values("Message-ID")
        .find_map(|v| v.as_text())
        .or_else(|| message.message_id())
}

fn collect_bodies(message: &mail_parser::Message<'_>, out: &mut ParsedMessage) {
    let mut text = String::new();
    for part in message.text_bodies() {
        match &part.body {
            PartType::Text(t) => push_capped(&mut text, &readable(message, part, t), &mut out.truncated),
            PartType::Html(h) => {
                out.text_from_html = true;
                let h = readable(message, part, h);
                let converted = html::to_text(cap(&h, &mut out.truncated));
                push_capped(&mut text, &converted, &mut out.truncated);
            }
            _ => {}
        }
    }
    out.text = (!text.trim().is_empty()).then_some(text);
    let mut html = String::new();
    for part in message.html_bodies() {
        if let PartType::Html(h) = &part.body {
            push_capped(&mut html, &readable(message, part, h), &mut out.truncated);
        }
    }
    out.html = (!html.trim().is_empty()).then_some(html);
    out.attachments = message.attachments().map(listed).collect();
}

/// How an attachment part is listed (its name, type, decoded size, Content-ID, inline or not).
pub fn listed(part: &mail_parser::MessagePart<'_>) -> Attachment {
    let ctype = part.content_type();
    let content_type = match ctype {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        },
        None => "application/octet-stream".to_string(),
    }
    .to_ascii_lowercase();
    let disposition_inline = part.content_disposition().is_some_and(|d| d.is_inline());
    let no_disposition = part.content_disposition().is_none();
    Attachment {
        filename: part.attachment_name().map(str::to_string),
        content_type,
        size: part.body.len(),
        content_id: part.content_id().map(clean_id),
        inline: disposition_inline
            || (no_disposition && part.content_id().is_some())
            || matches!(part.body, PartType::InlineBinary(_)),
    }
}

/// A text part as mail-parser decoded it, unless its charset label was missing, unknown or provably
/// wrong: then decoded again from its bytes by the guess (see `charset`).
fn readable<'a>(
    message: &mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
    decoded: &'a str,
) -> Cow<'a, str> {
    let label = part.content_type().and_then(|ct| ct.attribute("charset"));
    let known =
        label.is_some_and(|l| encoding_rs::Encoding::for_label(l.trim().trim_matches('"').as_bytes()).is_some());
    // The cheap signs first: most parts are labelled and decode cleanly.
    let suspicious = !known || decoded.contains('\u{FFFD}') || decoded.contains(['Ã', 'Â']);
    if !suspicious {
        return Cow::Borrowed(decoded);
    }
    let start = part.offset_body as usize;
    let end = (part.offset_end as usize).min(message.raw_message().len());
    let Some(encoded) = message.raw_message().get(start..end) else {
        return Cow::Borrowed(decoded);
    };
    let bytes = match part.encoding {
        Encoding::Base64 => base64_decode(encoded),
        Encoding::QuotedPrintable => quoted_printable_decode(encoded),
        Encoding::None => Some(encoded.to_vec()),
    };
    match bytes.and_then(|b| charset::redecode_body(&b, label)) {
        Some(fixed) => Cow::Owned(fixed),
        None => Cow::Borrowed(decoded),
    }
}

fn cap<'a>(s: &'a str, truncated: &mut bool) -> &'a str {
    if s.len() <= MAX_BODY_CHARS {
        return s;
    }
    *truncated = true;
    truncate(s, MAX_BODY_CHARS)
}

fn push_capped(out: &mut String, piece: &str, truncated: &mut bool) {
    let room = MAX_BODY_CHARS.saturating_sub(out.len());
    if room == 0 {
        *truncated |= !piece.is_empty();
        return;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let kept = truncate(piece, room);
    *truncated |= kept.len() < piece.len();
    out.push_str(kept);
}

fn first_mailbox(address: &Address<'_>) -> Option<Mailbox> {
    address
        .iter()
        .find_map(|a| mailbox(a.address.as_deref()?, a.name.as_deref()))
}

fn all_mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    address
        .iter()
        .filter_map(|a| mailbox(a.address.as_deref()?, a.name.as_deref()))
        .take(200)
        .collect()
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<String> = match value {
        HeaderValue::Text(t) => t.split_whitespace().map(clean_id).collect(),
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    };
    // A References header can be long; the newest ones (at the end) matter most for threading.
    let skip = ids.len().saturating_sub(50);
    ids.into_iter()
        .skip(skip)
        .filter(|id| !id.is_empty() && id.len() <= 998)
        .collect()
}

#[cfg(test)]
mod tests {

    use super::{parse, parse_mime};
    #[test]
    fn parses_the_fields_the_inbox_shows() {
        let raw = b"From: =?UTF-8?B?SsO8cmdlbg==?= <Juergen@Xn--Mnchen-3ya.DE>\r\n\
Reply-To: help@example.com\r\nTo: a@inbox.localhost, \"B\" <b@inbox.localhost>\r\n\
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nMessage-ID: <abc@x>\r\nIn-Reply-To: <p1@x>\r\n\
References: <p0@x> <p1@x>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\nAuto-Submitted: no\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n";
        let p = parse(raw);
        assert!(p.parsed);
        let from = p.from.clone().unwrap();
        assert_eq!(from.email, "Juergen@münchen.de");
        assert_eq!(from.name.as_deref(), Some("Jürgen"));
        assert_eq!(p.subject.as_deref(), Some("Grüße"));
        assert_eq!(p.message_id.as_deref(), Some("abc@x"));
        assert_eq!(p.in_reply_to, vec!["p1@x"]);
        assert_eq!(p.references, vec!["p0@x", "p1@x"]);
        assert_eq!(p.to.len(), 2);
        assert_eq!(p.date.as_deref(), Some("2026-11-24T10:00:00+01:00"));
        assert_eq!(p.header("auto-submitted"), Some("no"));
        assert_eq!(p.text.as_deref().map(str::trim), Some("Hallo"));
    }

    #[test]
    fn a_parser_panic_is_an_unparsed_message() {
        // Found by fuzz/ (artifacts/ingest/mailparser-nested-rfc822-debug-assert.eml): trips
        // mail-parser 0.11.9's `debug_assert!(false, "Invalid part ID...")` in debug builds.
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n\
                    Content-Type: message/rfc822\n\n\n--b--\n";
        let _ = parse(raw);
        let _ = parse_mime(raw);
    }

    #[test]
    fn garbage_is_unparsed_not_an_error() {
        assert!(!parse(b"").parsed);
        let p = parse(b"\x00\xff\xfe not a message");
        assert!(p.from.is_none());
    }

    #[test]
    fn html_only_gets_text() {
        let raw = b"From: a@b.example\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>there</b></p>\r\n";
        let p = parse(raw);
        assert!(p.text_from_html);
        assert!(p.text.unwrap().contains("Hello there"));
        assert!(p.html.unwrap().contains("<b>"));
    }
}
