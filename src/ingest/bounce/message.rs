//! What of a report we read: its texts, headers and attached original, and the addresses in them.

use mail_parser::MimeHeaders;

use mail_parser::{Address, HeaderValue, MessagePart, PartType};

use super::MAX_SCAN;
use super::fields::{parse_fields, parse_header_block};
use crate::ingest::text::{email, html, truncate};
use crate::mail::email_key;
use mail_parser::Message;

pub(super) struct Doc {
    pub(super) from: String,
    pub(super) from_addr: String,
    pub(super) to_addrs: Vec<String>,
    pub(super) subject: String,
    pub(super) content_type: String,
    /// Raw top-level headers, for the rare fields mail-parser does not model.
    pub(super) headers: Vec<(String, String)>,
    /// Human-readable notification, without any copy of the original message.
    pub(super) text: String,
    /// Inline copy of the original message found in the text (headers first).
    pub(super) inline_original: String,
    pub(super) dsn: Vec<String>,
    pub(super) feedback: Vec<String>,
    /// Headers of the original message (message/rfc822 or text/rfc822-headers).
    pub(super) original_headers: Option<String>,
    pub(super) original_id: Option<String>,
    pub(super) original_addrs: Vec<String>,
    /// Reporting-MTA of the DSN, for telling which service produced it.
    pub(super) reporting_mta: Option<String>,
}

impl Doc {
    pub(super) fn collect(msg: &Message<'_>) -> Doc {
        let mut headers = Vec::new();
        for (name, value) in msg.headers_raw() {
            headers.push((name.to_ascii_lowercase(), unfold(value)));
        }
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let from = msg.from().map(address_text).unwrap_or_else(|| header("from"));
        let from_addr = msg
            .from()
            .and_then(first_address)
            .unwrap_or_else(|| first_email(&header("from")).unwrap_or_default());
        let to_addrs = msg.to().map(all_addresses).unwrap_or_default();
        let subject = msg.subject().map(str::to_string).unwrap_or_else(|| header("subject"));
        let content_type = header("content-type").to_ascii_lowercase();
        let mut doc = Doc {
            from,
            from_addr,
            to_addrs,
            subject,
            content_type,
            headers,
            text: String::new(),
            inline_original: String::new(),
            dsn: Vec::new(),
            feedback: Vec::new(),
            original_headers: None,
            original_id: None,
            original_addrs: Vec::new(),
            reporting_mta: None,
        };
        let mut html = String::new();
        let mut budget = MAX_SCAN;
        doc.walk(msg, 0, &mut html, &mut budget, 0);
        if doc.text.trim().is_empty() && !html.is_empty() {
            doc.text = html::to_text(&html);
        }
        doc.reporting_mta = doc.dsn.iter().find_map(|d| {
            parse_fields(d)
                .into_iter()
                .find(|(k, _)| k == "reporting-mta")
                .map(|(_, v)| v.rsplit(';').next().unwrap_or("").trim().to_ascii_lowercase())
        });
        let (notice, original) = split_original(&doc.text);
        doc.inline_original = original;
        doc.text = notice;
        doc
    }

    pub(super) fn walk(&mut self, msg: &Message<'_>, id: usize, html: &mut String, budget: &mut usize, depth: usize) {
        let Some(part) = msg.parts.get(id) else {
            return;
        };
        if depth > 16 || *budget == 0 {
            return;
        }
        let (ctype, subtype) = part_type(part);
        match &part.body {
            PartType::Multipart(children) => {
                if children.is_empty() {
                    // A multipart whose boundary could not be found: read it as text.
                    let raw = msg.raw_message();
                    let start = (part.raw_body_offset() as usize).min(raw.len());
                    let end = (part.raw_end_offset() as usize).clamp(start, raw.len());
                    let n = (end - start).min(*budget);
                    *budget -= n;
                    let text = String::from_utf8_lossy(&raw[start..start + n]).into_owned();
                    if self.original_headers.is_none() {
                        self.text.push_str(&text);
                        self.text.push('\n');
                    }
                }
                for child in children.iter() {
                    self.walk(msg, *child as usize, html, budget, depth + 1);
                }
            }
            PartType::Message(inner) => {
                if self.original_headers.is_none() {
                    self.original_id = inner.message_id().map(str::to_string);
                    self.original_addrs = message_addresses(inner);
                    let raw = inner.raw_message();
                    let end = header_end(raw).min(MAX_SCAN);
                    let text = String::from_utf8_lossy(&raw[..end]).into_owned();
                    self.original_headers = Some(text);
                }
            }
            PartType::Text(text) => {
                let text = take(text, budget);
                if subtype.starts_with("rfc822-header") {
                    if self.original_headers.is_none() {
                        self.original_headers = Some(text);
                    }
                } else if ctype == "message" && subtype.contains("delivery-status") {
                    self.dsn.push(text);
                } else if ctype == "message" && subtype == "feedback-report" {
                    self.feedback.push(text);
                } else if self.original_headers.is_none() {
                    self.text.push_str(&text);
                    self.text.push('\n');
                }
            }
            PartType::Html(text) => {
                if self.original_headers.is_none() {
                    html.push_str(&take(text, budget));
                }
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                let n = bytes.len().min(*budget);
                *budget -= n;
                let text = String::from_utf8_lossy(&bytes[..n]).into_owned();
                if subtype.contains("delivery-status") {
                    self.dsn.push(text);
                } else if subtype == "feedback-report" {
                    self.feedback.push(text);
                } else if subtype.starts_with("rfc822-header") || subtype == "rfc822" {
                    if self.original_headers.is_none() {
                        self.original_headers = Some(text);
                    }
                } else if (ctype == "text" || ctype == "multipart") && self.original_headers.is_none() {
                    // A multipart whose boundary is missing arrives as one opaque body.
                    self.text.push_str(&text);
                    self.text.push('\n');
                }
            }
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Headers of the original message wherever they came from.
    pub(super) fn original_header_text(&self) -> &str {
        match &self.original_headers {
            Some(h) => h,
            None => &self.inline_original,
        }
    }

    pub(super) fn original_info(&self) -> (Option<String>, Vec<String>) {
        if self.original_id.is_some() || !self.original_addrs.is_empty() {
            return (self.original_id.clone(), self.original_addrs.clone());
        }
        let fields = parse_header_block(self.original_header_text());
        let mut id = None;
        let mut addrs: Vec<String> = Vec::new();
        for (name, value) in &fields {
            match name.as_str() {
                "message-id" if id.is_none() => {
                    let v = value.trim().trim_start_matches('<');
                    let v = v.split('>').next().unwrap_or("").trim();
                    if !v.is_empty() {
                        id = Some(v.to_string());
                    }
                }
                "from" | "to" | "reply-to" | "return-path" => {
                    for a in find_emails(value) {
                        if !addrs.contains(&a) {
                            addrs.push(a);
                        }
                    }
                }
                _ => {}
            }
        }
        (id, addrs)
    }
}

pub(super) fn part_type(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase(),
        ),
        None => ("text".to_string(), "plain".to_string()),
    }
}

pub(super) fn take(text: &str, budget: &mut usize) -> String {
    let kept = truncate(text, *budget);
    *budget -= kept.len();
    kept.to_string()
}

pub(super) fn header_end(raw: &[u8]) -> usize {
    let mut i = 0;
    while i + 1 < raw.len() {
        if raw[i] == b'\n' && (raw[i + 1] == b'\n' || (raw[i + 1] == b'\r' && raw.get(i + 2) == Some(&b'\n'))) {
            return i + 1;
        }
        i += 1;
    }
    raw.len()
}

pub(super) fn address_text(addr: &Address<'_>) -> String {
    let mut out = String::new();
    for a in addr.iter() {
        if let Some(n) = &a.name {
            out.push_str(n);
            out.push(' ');
        }
        if let Some(e) = &a.address {
            out.push('<');
            out.push_str(e);
            out.push('>');
        }
    }
    out
}

pub(super) fn first_address(addr: &Address<'_>) -> Option<String> {
    addr.iter().find_map(|a| a.address.as_ref().map(|e| e.to_lowercase()))
}

pub(super) fn all_addresses(addr: &Address<'_>) -> Vec<String> {
    addr.iter()
        .filter_map(|a| a.address.as_ref().map(|e| e.to_lowercase()))
        .collect()
}

pub(super) fn message_addresses(m: &Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let lists = [m.from(), m.to(), m.reply_to()];
    for a in lists.into_iter().flatten().flat_map(all_addresses) {
        if a.contains('@') && !out.contains(&a) {
            out.push(a);
        }
    }
    if let HeaderValue::Address(a) = m.return_path() {
        for e in all_addresses(a) {
            if e.contains('@') && !out.contains(&e) {
                out.push(e);
            }
        }
    } else if let Some(t) = m.return_path().as_text() {
        for e in find_emails(t) {
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

pub(super) fn unfold(v: &str) -> String {
    v.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Markers after which MTAs paste the returned message into the notification.
pub(super) const ORIGINAL_MARKERS: &[&str] = &[
    "--- below this line is a copy of the message",
    "------ this is a copy of the message, including all the headers",
    "------ this is a copy of the message's headers",
    "------ this is a copy of the body of the message",
    "----- original message -----",
    "------ this is a copy of your message",
    "----- original message follows -----",
    "-----original message-----",
    "------ original message ------",
    "------- original message -------",
    "--- the header of the original message is following",
    "message headers follow",
    "----- the following is the original header",
    "----- unsent message follows -----",
    "----- message header follows -----",
    "------- returned message --------",
    "------ returned message ------",
    "--- returned message ---",
    "original message headers:",
    "------ original message header ------",
    "----- original message header -----",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
    "--- original message follows.",
    "original message follows.",
    "the original message was:",
    "-------- original message --------",
    "--- original message header ---",
    "------ the original message follows ------",
    "header of the original message",
    "your original message headers",
    "---- original message ----",
    "------------------ original message follows",
    "original message follows:",
    "---------- original message ----------",
    "---- the original message was ----",
];

pub(super) fn split_original(text: &str) -> (String, String) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim().to_ascii_lowercase();
        if !l.is_empty() && ORIGINAL_MARKERS.iter().any(|m| l.starts_with(m)) {
            let rest = &text[offset + line.len()..];
            return (
                text[..offset].to_string(),
                rest.trim_start_matches(['\r', '\n']).to_string(),
            );
        }
        offset += line.len();
    }
    (text.to_string(), String::new())
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// An address found in a report's text (`text::email`'s rule), as a key: bounce recipients are
/// matched and reported lower-cased, as sisimai does.
pub(super) fn clean_email(raw: &str) -> Option<String> {
    email::clean(raw).map(|a| email_key(&a))
}

/// Every address in `text`, as keys.
pub(super) fn find_emails(text: &str) -> Vec<String> {
    email::find_all(text).iter().map(|a| email_key(a)).collect()
}

/// The first address in `text`, as a key.
pub(super) fn first_email(text: &str) -> Option<String> {
    email::find_first(text).map(|a| email_key(&a))
}

pub(super) fn is_daemon_local(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    matches!(
        local,
        "mailer-daemon"
            | "postmaster"
            | "mail-daemon"
            | "mailerdaemon"
            | "mdaemon"
            | "post_master"
            | "postmaster-daemon"
            | "mailer_daemon"
    )
}
