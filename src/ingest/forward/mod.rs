//! Finds the original message inside a manual forward.
//!
//! Agents forward customers' mail from their own mailbox to the account's
//! inbound address. The contact of such a message is the ORIGINAL sender, so
//! this module owns recognising a forward and pulling the original headers
//! (from, subject, date, to, cc), the original body and the forwarder's note
//! out of it. It knows nothing of contacts or storage.
//!
//! Rules:
//! - Sources are tried in this order: an attached `message/rfc822` part
//!   ("forward as attachment"), then a forward block in the text body, then
//!   in the HTML body (converted to text here).
//! - A forward is recognised by its block (separator line + header block),
//!   with or without a forward prefix on the subject. Separators that say
//!   "forwarded" (Gmail, Apple Mail, Thunderbird, Yahoo, in many languages)
//!   are trusted on their own. Outlook's separators (`-----Original
//!   Message-----`, a `____` rule, the `divRplyFwdMsg`/border-top header div)
//!   are also used for replies, so in `parse` they are not taken when the
//!   subject carries only a reply prefix ("RE:", "AW:", ...). A bare
//!   `From:/Sent:/To:/Subject:` block with no separator at all (Outlook's
//!   text part) is only taken when the subject has a forward prefix.
//! - "On ... wrote:" attributions are replies, unless the subject carries a
//!   forward prefix and the original follows indented: Outlook 2019 forwards
//!   that way (`attribution`).
//! - The first (outermost) block wins: a forward of a forward names the
//!   person who sent it to the agent.
//! - No original sender address means no result (`None`): the caller flags
//!   the message `forward_unparsed` rather than inventing a contact.
//! - Never panics; scans at most `MAX_SCAN` bytes of text (and of HTML), and
//!   looks at most `MAX_HEADER_LINES` lines past a separator, so work stays
//!   linear in the input.

use block::{clean_email, clean_name, push_unique, scan, tidy};
use labels::{HTML_MAILTO_RE, HTML_OUTLOOK_SEP_RE, HTML_TAG_RE};

mod attribution;
mod block;
mod labels;

use std::collections::HashMap;
use std::sync::LazyLock;

use super::text::{html, subject, truncate};
use mail_parser::{Message, MimeHeaders, PartType};
use regex::Captures;

pub use crate::mail::Forwarded;

/// Forward blocks sit near the top of a message; anything past this is body
/// we do not need to look at.
const MAX_SCAN: usize = 1 << 20;
/// A header block is a handful of lines; wrapped To/Cc lists may add some.
const MAX_HEADER_LINES: usize = 40;
/// Stand-in for an HTML block boundary until the text is laid out; a private
const OUTLOOK_RULE: &str = "________________________________";

/// How much a separator alone tells us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Says "forwarded" in so many words.
    Explicit,
    /// Outlook-style: the same separator is used for replies.
    Ambiguous,
    /// No separator at all, just a header block.
    Bare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Date,
    Subject,
    To,
    Cc,
    /// Known header we keep the block going for but don't report.
    Other,
}

/// `Some(rest)` when the subject's leading prefix chain (see `text::subject`) holds a forward
/// prefix (Fwd:, FW:, TR:, WG:, RV:, Doorst:, VS:, 转发:, …), the rest having the whole chain removed.
pub fn strip_forward_prefix(subject: &str) -> Option<&str> {
    let (rest, seen) = subject::strip(subject);
    seen.forwarded.then_some(rest)
}

/// Find the forwarded original in a message: an attached message/rfc822
/// part first, then a forward block in the text body, then in the HTML body.
pub fn parse(msg: &Message<'_>) -> Option<Forwarded> {
    if let Some(found) = from_attached(msg) {
        return Some(found);
    }
    let subject = msg.subject().unwrap_or("");
    let (_, seen) = subject::strip(subject);
    let forward_prefix = seen.forwarded;
    let reply_only = !seen.forwarded && seen.replied;
    // A reply quoting Outlook headers looks exactly like an Outlook forward;
    // only the subject tells them apart.
    let accept = |(found, kind): (Forwarded, Kind)| (!reply_only || kind == Kind::Explicit).then_some(found);

    if let Some(text) = first_text(msg) {
        let text = normalize(text);
        if let Some(found) = scan(&text, forward_prefix).and_then(accept) {
            return Some(found);
        }
        // Outlook 2019's layout: an attribution line and the original indented. Only a forward
        // prefix makes that a forward; without one it is a reply.
        if forward_prefix && let Some(mut found) = attribution::scan(&text) {
            found.subject = strip_forward_prefix(subject).map(str::to_string);
            return Some(found);
        }
    }
    for part in msg.html_bodies() {
        if let PartType::Html(html) = &part.body {
            return scan(&html_to_plain(html), forward_prefix).and_then(accept);
        }
    }
    None
}

/// The forward block parser for a plain-text body.
// Public for tests and tools; the server goes through `parse`, so in a
// binary crate nothing else may call it.
pub fn from_text(text: &str) -> Option<Forwarded> {
    scan(&normalize(text), false).map(|(found, _)| found)
}

/// The forward block parser for an HTML body.
pub fn from_html(html: &str) -> Option<Forwarded> {
    scan(&html_to_plain(html), false).map(|(found, _)| found)
}

fn first_text<'a>(msg: &'a Message<'_>) -> Option<&'a str> {
    msg.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(text.as_ref()),
        _ => None,
    })
}

/// The message's readable text: its text part, else its HTML laid out.
fn readable_text(msg: &Message<'_>) -> String {
    if let Some(text) = first_text(msg) {
        return normalize(text);
    }
    msg.html_bodies()
        .find_map(|part| match &part.body {
            PartType::Html(html) => Some(html_to_plain(html)),
            _ => None,
        })
        .unwrap_or_default()
}

/// Outlook's "forward as attachment": the attached message's own headers
/// are the truth; the outer text is the forwarder's note.
fn from_attached(msg: &Message<'_>) -> Option<Forwarded> {
    // A bounce (multipart/report) carries the bounced message the same way;
    // its sender is us, not a customer.
    let is_report = msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if is_report {
        return None;
    }
    for part in msg.attachments() {
        let reparsed;
        let inner = match &part.body {
            PartType::Message(inner) => inner,
            PartType::Binary(raw) | PartType::InlineBinary(raw)
                if part.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("message")
                        && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("rfc822"))
                }) =>
            {
                let Some(parsed) = crate::ingest::parse::parse_mime(raw.as_ref()) else {
                    continue;
                };
                reparsed = parsed;
                &reparsed
            }
            _ => continue,
        };
        if let Some(found) = forwarded_from_message(inner, msg) {
            return Some(found);
        }
    }
    None
}

fn forwarded_from_message(inner: &Message<'_>, outer: &Message<'_>) -> Option<Forwarded> {
    let sender = inner.from()?.iter().find_map(|addr| {
        let email = addr.address().and_then(clean_email)?;
        let name = addr
            .name()
            .and_then(clean_name)
            .filter(|n| !n.eq_ignore_ascii_case(&email));
        Some((email, name))
    })?;
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        let mut out = Vec::new();
        for addr in list.into_iter().flat_map(|l| l.iter()) {
            if let Some(email) = addr.address().and_then(clean_email) {
                push_unique(&mut out, email);
            }
        }
        out
    };
    let note = readable_text(outer);
    Some(Forwarded {
        from_email: sender.0,
        from_name: sender.1,
        subject: inner.subject().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        date: inner
            .header_raw("Date")
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
        to: addresses(inner.to()),
        cc: addresses(inner.cc()),
        body: tidy(&readable_text(inner)),
        note: tidy(&note),
    })
}

/// Bounds the input, unifies line breaks and drops the invisible characters
/// clients sprinkle around (BOM, zero-width spaces), and turns no-break
/// spaces (French "De\u{a0}:") into plain ones.
fn normalize(text: &str) -> String {
    let text = truncate(text, MAX_SCAN);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{a0}' | '\u{202f}' | '\u{2007}' => out.push(' '),
            '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Lays HTML out as text so the same block parser applies: block elements
/// become line breaks, mailto links keep their address, and Outlook's
/// separator-less header divs get a rule line in front.
fn html_to_plain(html: &str) -> String {
    let html = truncate(html, MAX_SCAN);
    let html = HTML_MAILTO_RE.replace_all(html, |caps: &Captures<'_>| {
        let inner = caps.get(2).map_or("", |m| m.as_str());
        let addr = caps.get(1).map_or("", |m| m.as_str());
        let visible = HTML_TAG_RE.replace_all(inner, "");
        if visible.contains('@') || !addr.contains('@') {
            inner.to_string()
        } else {
            format!("{inner} &lt;{addr}&gt;")
        }
    });
    let rule = format!("<div>{OUTLOOK_RULE}</div>");
    let html = HTML_OUTLOOK_SEP_RE.replace_all(&html, |caps: &Captures<'_>| {
        format!("{rule}{}", caps.get(0).map_or("", |m| m.as_str()))
    });
    normalize(&html::to_text(&html))
}

#[cfg(test)]
mod tests;
