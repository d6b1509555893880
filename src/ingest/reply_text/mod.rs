//! Reply-text extraction: what the customer actually wrote in an inbound reply, with the quoted history
//! that mail clients append removed. Owns that decision for plain-text and HTML bodies; never panics.
//!
//! Plain-text rules:
//! - Lines are classed as empty, `>`-quoted, "Forwarded message" marker, *splitter* (an "On ... wrote:"
//!   attribution in many languages, possibly wrapped over lines or sharing a line with the reply; an
//!   Outlook "From:/Sent:/To:" header block; a "-----Original Message-----" separator) or text.
//! - A forward (first marker is "Forwarded message") is returned whole: the forward is the content.
//! - An attribution may wrap over up to three lines, with or without a lead word ("po 2. 12. 2024
//!   v 14:05 odesílatel" / "Jane <jane@x.cz>" / "napsal:"): its lines are read as one when it
//!   stands after a blank line, ends with a colon above a quote, and carries a date, a time or an
//!   address.
//! - A splitter followed by unquoted text starts unmarked history: it and everything after it go.
//! - `>` regions go, text after them stays (bottom-posting); text *between* two `>` regions is an inline
//!   answer that needs its context, so the message is kept whole.
//! - `>` lines only count with a splitter or a block of two or more, so one stray `>>> link` line stays.
//! - When in doubt keep text: if nothing would remain, the whole text is returned.
//! - Work is bounded: quotes are looked for in the first 64 KiB of text (a longer text with none there is
//!   kept whole, up to 1 MiB); HTML is read up to 2 MiB.
//!
//! HTML: cut at the first quote container (`<blockquote>`, which is what Apple Mail, Yandex and mail.ru
//! use; Gmail/Yahoo/Proton quote divs; Thunderbird's cite prefix; Outlook's reply-header divs and
//! separator rules; Hotmail/Zimbra dividers), render block tags as line breaks, convert to text, then
//! apply the plain-text rules to drop the attribution line left above the container.

mod html;
mod patterns;
mod plain;
mod tail;

pub use tail::split_signature;

use super::text::html::to_text;
use super::text::truncate;
use html::quote_container_start;
use plain::{classify, strip_history};

/// The new text of a plain-text reply: quoted history, "On ... wrote:" headers (many languages),
/// Outlook "From:/Sent:" blocks, "-----Original Message-----" separators and `>` quotes removed. Trimmed.
pub fn from_text(text: &str) -> String {
    // Quoted history begins near the top of a reply: looking at the first SCAN_WINDOW bytes bounds
    // the work on long bodies. A long text with nothing to strip in that window is kept whole.
    if text.len() > SCAN_WINDOW {
        let window = head(text, SCAN_WINDOW);
        let reply = extract(window);
        if reply.len() < window.trim().len() {
            return reply;
        }
        return head(text, MAX_TEXT_BYTES).trim().to_string();
    }
    extract(text)
}

fn extract(text: &str) -> String {
    let delimiter = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let physical: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let lines = classify(&physical);
    match strip_history(&lines) {
        Some(kept) => {
            let joined = kept.iter().map(|&i| lines[i].text).collect::<Vec<_>>().join(delimiter);
            let reply = tail::trim_quote_remnants(joined.trim());
            if reply.is_empty() {
                text.trim().to_string()
            } else {
                reply.to_string()
            }
        }
        None => text.trim().to_string(),
    }
}

/// The visible new text of an HTML reply, as plain text: blockquote, gmail_quote, divRplyFwdMsg,
/// Outlook/Yandex/mail.ru/Thunderbird quote containers and everything after them removed, then converted to text.
pub fn from_html(html: &str) -> String {
    let html = head(html, MAX_HTML_BYTES);
    let cut = quote_container_start(html).unwrap_or(html.len());
    let reply = from_text(&to_text(&html[..cut]));
    if reply.is_empty() {
        // The container held everything (e.g. a reply that only quotes); keep what is there.
        from_text(&to_text(html))
    } else {
        reply
    }
}

const MAX_TEXT_BYTES: usize = 1 << 20;
/// How far into a text quotes are looked for (see `from_text`).
const SCAN_WINDOW: usize = 64 * 1024;
const MAX_HTML_BYTES: usize = 2 << 20;
/// Attributions wrap over at most this many lines (Polymail puts the address on its own lines).
const WINDOW_LINES: usize = 6;
/// Attribution and header lines are short; longer candidates are text, which also bounds regex work.
const WINDOW_BYTES: usize = 1024;

/// The longest prefix of `s` within `max` bytes, ending at a line break when there is one.
fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let cut = truncate(s, max);
    match cut.rfind('\n') {
        Some(nl) if nl > 0 => &cut[..nl],
        _ => cut,
    }
}

#[cfg(test)]
mod tests;
