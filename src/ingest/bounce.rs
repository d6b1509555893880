//! Bounce and feedback-report classification for inbound mail.
//!
//! Owns the decision "is this message a delivery status notification (DSN) or an
//! ARF feedback report?", and for those, which recipients failed, with what
//! enhanced status code, SMTP reply code and sisimai-style reason, and whether the
//! failure is hard (stop mailing that address).
//!
//! Rules:
//! - RFC 5965 feedback reports (and the Microsoft, Amazon SES and Apple variants)
//!   are `Feedback`; RFC 3464 `message/delivery-status` parts are read first for
//!   bounces, then the human-readable text, generically (failed-address lines,
//!   "550 5.1.1 ..." codes, reason phrases) plus small readers for the vendors
//!   whose notices need one (Exim, Gmail, Exchange 2003, OpenSMTPD, ...).
//! - A vacation auto-reply is never a bounce: a message is a bounce only when it
//!   carries a DSN part, a mailer-daemon sender or bounce subject backed by
//!   failure text, or an unmistakable MTA failure phrase.
//! - Reasons and pseudo status codes follow sisimai (BSD-2-Clause), so that the
//!   results can be compared with its test corpus; the code here is our own.
//! - Never panics on any input and scans at most `MAX_SCAN` bytes of text.

use std::sync::LazyLock;

use mail_parser::{Address, HeaderValue, Message, MessagePart, MimeHeaders, PartType};
use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKind {
    Bounce,
    Feedback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    /// Lower-cased address, e.g. "kijitora@example.jp": the address the sender
    /// wrote (a DSN's Original-Recipient when given, else its Final-Recipient).
    pub recipient: String,
    /// Enhanced status "5.1.1" (sisimai pseudo codes such as "5.0.911" when the
    /// report had none), or "" when none can be found (feedback reports).
    pub status: String,
    /// SMTP reply code "550", or "".
    pub reply_code: String,
    /// sisimai-style reason: "userunknown", "mailboxfull", "feedback", ...
    pub reason: String,
    /// Permanent failure that should stop mail to this address.
    pub hard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub recipients: Vec<FailedRecipient>,
    /// ARF: "abuse", "opt-out", ...
    pub feedback_type: Option<String>,
    /// Message-ID of the message that bounced, without <>.
    pub original_message_id: Option<String>,
    /// Lower-cased addresses from the original message's From/To/Reply-To/Return-Path.
    pub original_addresses: Vec<String>,
}

/// Upper bound on the text we look at; reports are small, attachments are not.
const MAX_SCAN: usize = 1 << 20;
/// Upper bound on the recipients taken from one report.
const MAX_RECIPIENTS: usize = 500;
/// Upper bound on the diagnostic text matched against the reason tables.
const MAX_DIAG: usize = 16 * 1024;

/// `envelope_null_sender`: the SMTP MAIL FROM was <>.
pub fn classify(msg: &Message<'_>, envelope_null_sender: bool) -> Option<Report> {
    classify_at(msg, envelope_null_sender, 0)
}

fn classify_at(msg: &Message<'_>, envelope_null_sender: bool, depth: usize) -> Option<Report> {
    let doc = Doc::collect(msg);
    if let Some(report) = sns_notification(&doc) {
        return Some(report);
    }
    if let Some(report) = feedback_report(&doc) {
        return Some(report);
    }
    if !looks_like_bounce(&doc, envelope_null_sender) {
        return None;
    }
    let vendor = detect_vendor(&doc);
    // OpenSMTPD's delivery-status part only repeats a generic status; its text is richer.
    let mut raws = if vendor == Vendor::OpenSmtpd {
        Vec::new()
    } else {
        dsn_recipients(&doc)
    };
    let text_raws = match vendor_recipients(&doc, vendor) {
        Some(v) => v,
        None => text_recipients(&doc),
    };
    if raws.is_empty() {
        raws = text_raws;
    } else {
        enrich_from_text(&mut raws, &text_raws);
    }
    if raws.is_empty() && depth < 2 {
        // A notice that wraps the real DSN (a bounce of a bounce, or a forwarded one).
        let nested = msg.parts.iter().find_map(|p| match &p.body {
            PartType::Message(inner) => classify_at(inner, true, depth + 1),
            _ => None,
        });
        if let Some(mut report) = nested.filter(|r| r.kind == ReportKind::Bounce && !r.recipients.is_empty()) {
            let (id, addrs) = doc.original_info();
            report.original_message_id = report.original_message_id.or(id);
            if report.original_addresses.is_empty() {
                report.original_addresses = addrs;
            }
            return Some(report);
        }
    }
    if raws.is_empty() {
        raws = fallback_recipients(&doc);
    }
    let single = raws.len() == 1;
    for r in raws.iter_mut() {
        vendor_adjust(&doc, vendor, r, single);
    }
    let recipients = raws.into_iter().map(|r| finish(r, &doc)).collect();
    let (original_message_id, original_addresses) = doc.original_info();
    Some(Report {
        kind: ReportKind::Bounce,
        recipients,
        feedback_type: None,
        original_message_id,
        original_addresses,
    })
}

// ---------------------------------------------------------------------------
// Collecting the parts of the message we care about
// ---------------------------------------------------------------------------

struct Doc {
    from: String,
    from_addr: String,
    to_addrs: Vec<String>,
    subject: String,
    content_type: String,
    /// Raw top-level headers, for the rare fields mail-parser does not model.
    headers: Vec<(String, String)>,
    /// Human-readable notification, without any copy of the original message.
    text: String,
    /// Inline copy of the original message found in the text (headers first).
    inline_original: String,
    dsn: Vec<String>,
    feedback: Vec<String>,
    /// Headers of the original message (message/rfc822 or text/rfc822-headers).
    original_headers: Option<String>,
    original_id: Option<String>,
    original_addrs: Vec<String>,
    /// Reporting-MTA of the DSN, for telling which service produced it.
    reporting_mta: Option<String>,
}

impl Doc {
    fn collect(msg: &Message<'_>) -> Doc {
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
            doc.text = html_to_text(&html);
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

    fn walk(&mut self, msg: &Message<'_>, id: usize, html: &mut String, budget: &mut usize, depth: usize) {
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

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Headers of the original message wherever they came from.
    fn original_header_text(&self) -> &str {
        match &self.original_headers {
            Some(h) => h,
            None => &self.inline_original,
        }
    }

    fn original_info(&self) -> (Option<String>, Vec<String>) {
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

fn part_type(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase(),
        ),
        None => ("text".to_string(), "plain".to_string()),
    }
}

fn take(text: &str, budget: &mut usize) -> String {
    let cut = floor_char(text, (*budget).min(text.len()));
    *budget -= cut;
    text[..cut].to_string()
}

fn floor_char(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn header_end(raw: &[u8]) -> usize {
    let mut i = 0;
    while i + 1 < raw.len() {
        if raw[i] == b'\n' && (raw[i + 1] == b'\n' || (raw[i + 1] == b'\r' && raw.get(i + 2) == Some(&b'\n'))) {
            return i + 1;
        }
        i += 1;
    }
    raw.len()
}

fn address_text(addr: &Address<'_>) -> String {
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

fn first_address(addr: &Address<'_>) -> Option<String> {
    addr.iter().find_map(|a| a.address.as_ref().map(|e| e.to_lowercase()))
}

fn all_addresses(addr: &Address<'_>) -> Vec<String> {
    addr.iter()
        .filter_map(|a| a.address.as_ref().map(|e| e.to_lowercase()))
        .collect()
}

fn message_addresses(m: &Message<'_>) -> Vec<String> {
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

fn unfold(v: &str) -> String {
    v.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses "Name: value" lines with folded continuations, stopping at the first
/// blank line after at least one field.
fn parse_header_block(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if out.is_empty() {
                continue;
            }
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                out.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    out
}

fn html_to_text(html: &str) -> String {
    static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").unwrap());
    static BR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)<\s*(br|/p|/div|/tr|/li|p|div|tr)\b[^>]*>").unwrap());
    let s = BR.replace_all(html, "\n");
    let s = TAG.replace_all(&s, "");
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Markers after which MTAs paste the returned message into the notification.
const ORIGINAL_MARKERS: &[&str] = &[
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

fn split_original(text: &str) -> (String, String) {
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

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")
        .unwrap()
});

fn clean_email(raw: &str) -> Option<String> {
    let a = raw.trim_matches(|c: char| "<>()[]\"',;:.`".contains(c)).to_lowercase();
    let (local, domain) = a.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return None;
    }
    Some(a)
}

fn find_emails(text: &str) -> Vec<String> {
    EMAIL.find_iter(text).filter_map(|m| clean_email(m.as_str())).collect()
}

fn first_email(text: &str) -> Option<String> {
    find_emails(text).into_iter().next()
}

fn is_daemon_local(addr: &str) -> bool {
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

// ---------------------------------------------------------------------------
// Feedback reports (RFC 5965 and vendor variants)
// ---------------------------------------------------------------------------

fn feedback_report(doc: &Doc) -> Option<Report> {
    let ct = &doc.content_type;
    let subject = doc.subject.to_lowercase();
    let from = doc.from.to_lowercase();
    let is_arf = (ct.contains("report-type") && ct.contains("feedback-report"))
        || !doc.feedback.is_empty()
        || (subject.contains("complaint about message from")
            && (from.contains("staff@hotmail.com") || from.contains("complaints@email-abuse.amazonses.com")))
        || doc
            .header("x-apple-unsubscribe")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !is_arf {
        return None;
    }
    let mut feedback_type = None;
    let mut recipients: Vec<String> = Vec::new();
    for part in &doc.feedback {
        for (name, value) in parse_fields(part) {
            match name.as_str() {
                "feedback-type" if feedback_type.is_none() => {
                    feedback_type = Some(value.trim().to_ascii_lowercase());
                }
                "original-rcpt-to" | "removal-recipient" => {
                    if let Some(a) = first_email(&value)
                        && !recipients.contains(&a)
                    {
                        recipients.push(a);
                    }
                }
                _ => {}
            }
        }
    }
    let apple = doc
        .header("x-apple-unsubscribe")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if recipients.is_empty() && apple && !doc.from_addr.is_empty() {
        recipients.push(doc.from_addr.clone());
        feedback_type.get_or_insert_with(|| "opt-out".to_string());
    }
    let (original_message_id, original_addresses) = doc.original_info();
    if recipients.is_empty() {
        let fields = parse_header_block(doc.original_header_text());
        let to = fields.iter().find(|(k, _)| k == "to").map(|(_, v)| v.as_str());
        if let Some(a) = to.and_then(first_email) {
            recipients.push(a);
        } else if let Some(a) = original_addresses.iter().find(|a| **a != doc.from_addr) {
            recipients.push(a.clone());
        }
    }
    if feedback_type.is_none() && !doc.feedback.is_empty() {
        feedback_type = Some("other".to_string());
    }
    if feedback_type.is_none() && subject.contains("complaint about message from") {
        feedback_type = Some("abuse".to_string());
    }
    Some(Report {
        kind: ReportKind::Feedback,
        recipients: recipients
            .into_iter()
            .map(|recipient| FailedRecipient {
                recipient,
                status: String::new(),
                reply_code: String::new(),
                reason: "feedback".to_string(),
                hard: false,
            })
            .collect(),
        feedback_type,
        original_message_id,
        original_addresses,
    })
}

/// "Name: value" fields with continuations; blank lines are ignored.
fn parse_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                out.push((name.to_ascii_lowercase(), value.trim().to_string()));
                continue;
            }
        }
        out.push((String::new(), line.trim().to_string()));
    }
    out
}

// ---------------------------------------------------------------------------
// Is it a bounce at all?
// ---------------------------------------------------------------------------

const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "delivery status notification",
    "returned mail",
    "return mail",
    "failure notice",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "failed delivery",
    "failure delivery",
    "delivery failed",
    "delivery has failed",
    "delivery notification",
    "nondeliverable",
    "non-deliverable",
    "non remis",
    "non-remis",
    "mail system error",
    "mail failure",
    "could not send message",
    "message delivery has failed",
    "there was an error sending your mail",
    "delivery problem",
    "permanent delivery failure",
    "delayed mail",
    "warning: message",
    "warning: could not send",
    "delivery delayed",
    "returned to sender",
    "mail could not be delivered",
    "unzustellbar",
    "nicht zustellbar",
    "notificación de estado de entrega",
    "non recapitabile",
    "rejected:",
    "delivery report",
    "errors from",
    "mail returned",
    "message not delivered",
];

const BOUNCE_PHRASES: &[&str] = &[
    "this is a permanent error",
    "i'm afraid i wasn't able to deliver",
    "could not be delivered to one or more recipients",
    "the following addresses had permanent fatal errors",
    "the following addresses had transient non-fatal errors",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "did not reach the following recipient",
    "your message did not reach some or all of the intended recipients",
    "unable to deliver your message",
    "below this line is a copy of the message",
    "this is a copy of the message, including all the headers",
    "the following address(es) failed",
    "message could not be delivered",
    "your message could not be delivered",
    "delivery has failed to these recipients",
    "there was an error delivering your mail",
    "delivery to these recipients or groups failed",
    "has not yet been delivered",
    "delivery to the following recipients was aborted",
    "a message that you sent could not be delivered",
    "the mail system",
    "your message was not delivered",
    "was not delivered to",
    "could not deliver",
    "mail delivery failed",
    "undeliverable",
    "failed to deliver",
    "delivery failed",
    "permanent error",
    "unable to deliver",
    "could not be delivered",
    "returned mail",
    "transcript of session follows",
    "sorry, we were unable to deliver",
    "the original message was received at",
    "message delivery failed",
    "this message was created automatically by mail delivery software",
    "was undeliverable",
    "bounced",
    "delivery status notification",
    "error delivering",
    "non-delivery",
    "not delivered",
    "failed recipient",
    "failed address",
    "recipient address rejected",
    "user unknown",
    "mailbox unavailable",
    "host unknown",
    "message was rejected",
    "the message was rejected",
    "delivery error",
    "mail transfer failed",
    "undelivered",
    "error transferring",
    "no such user",
    "delivery attempt",
];

fn looks_like_bounce(doc: &Doc, envelope_null_sender: bool) -> bool {
    if !doc.dsn.is_empty() || (doc.content_type.contains("report-type") && doc.content_type.contains("delivery-status"))
    {
        return true;
    }
    if doc.header("x-failed-recipients").is_some() {
        return true;
    }
    let from = doc.from.to_lowercase();
    let subject = doc.subject.to_lowercase();
    let text = lower_prefix(&doc.text, 64 * 1024);
    let daemon_sender = is_daemon_local(&doc.from_addr)
        || from.contains("mailer-daemon")
        || from.contains("mail delivery")
        || from.contains("mail deliver system")
        || from.contains("postmaster")
        || from.contains("ndr administrator")
        || from.contains("mail administrator")
        || from.contains("no-reply@sns.amazonaws.com")
        || (doc.from_addr.is_empty() && from.contains("<>"));
    let daemon_sender = daemon_sender || from.contains("mailer daemon");
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s));
    if daemon_sender && bounce_subject {
        return true;
    }
    if is_fml_error(doc) || is_kddi_error(doc, &text) {
        return true;
    }
    let phrase = BOUNCE_PHRASES.iter().any(|p| text.contains(p));
    if daemon_sender && phrase {
        return true;
    }
    // A person's autoresponder may quote failure words ("Automatic reply:
    // Undeliverable: ..."); without a daemon sender or DSN it stays an auto-reply.
    let vacation = doc
        .header("auto-submitted")
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("auto-replied"))
        || doc.header("x-autoreply").is_some()
        || doc.header("x-autorespond").is_some()
        || [
            "automatic reply",
            "auto reply",
            "auto-reply",
            "autoreply",
            "out of office",
        ]
        .iter()
        .any(|p| subject.starts_with(p));
    if vacation {
        return false;
    }
    if bounce_subject && phrase {
        return true;
    }
    // An unmistakable MTA phrase is enough on its own when the envelope or the
    // sender says the mail was generated by a machine.
    (envelope_null_sender || daemon_sender) && strong_phrase(&text)
}

fn strong_phrase(text: &str) -> bool {
    const STRONG: &[&str] = &[
        "this is a permanent error",
        "i'm afraid i wasn't able to deliver",
        "the following addresses had permanent fatal errors",
        "delivery to the following recipient failed permanently",
        "your message did not reach some or all of the intended recipients",
        "below this line is a copy of the message",
        "this is a copy of the message, including all the headers",
        "the following address(es) failed",
        "transcript of session follows",
    ];
    STRONG.iter().any(|p| text.contains(p))
}

fn lower_prefix(s: &str, n: usize) -> String {
    s[..floor_char(s, n)].to_lowercase()
}

// ---------------------------------------------------------------------------
// Raw per-recipient data, before the reason and pseudo status are decided
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct Raw {
    recipient: String,
    status: String,
    diagnosis: String,
    /// Diagnostic-Code type ("SMTP", "X-UNIX", ...).
    spec: String,
    action: String,
    command: String,
    reply_code: String,
    /// Reason decided by the format itself (e.g. from a vendor error table).
    reason: String,
    rhost: String,
    /// The command was settled by the format (even when empty).
    command_set: bool,
}

fn dsn_recipients(doc: &Doc) -> Vec<Raw> {
    let mut out: Vec<Raw> = Vec::new();
    let mut sources: Vec<&str> = doc.dsn.iter().map(String::as_str).collect();
    let inline_dsn;
    if sources.is_empty() {
        // Some MTAs paste the delivery-status fields into the text part.
        let lower = doc.text.to_ascii_lowercase();
        if lower.contains("final-recipient:") && lower.contains("status:") {
            inline_dsn = doc.text.clone();
            sources.push(&inline_dsn);
        }
    }
    for src in sources {
        for block in field_blocks(src) {
            // Without blank lines between recipients, each Final-Recipient opens a group
            // (taking along an Original-Recipient written just before it).
            let mut groups: Vec<Vec<(String, String)>> = Vec::new();
            let mut current: Vec<(String, String)> = Vec::new();
            let mut has_final = false;
            for field in block {
                if field.0 == "final-recipient" {
                    if has_final {
                        let carried = match current.last() {
                            Some((k, _)) if k == "original-recipient" => current.pop(),
                            _ => None,
                        };
                        groups.push(std::mem::take(&mut current));
                        current.extend(carried);
                    }
                    has_final = true;
                }
                current.push(field);
            }
            groups.push(current);
            out.extend(groups.iter().filter_map(|g| raw_from_fields(g)));
        }
    }
    out.retain(|r| r.recipient.contains('@'));
    out.truncate(MAX_RECIPIENTS);
    dedupe(out)
}

/// "Name: value" fields grouped into blank-line separated blocks.
fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = block.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                block.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

fn raw_from_fields(fields: &[(String, String)]) -> Option<Raw> {
    let mut raw = Raw::default();
    let mut final_rcpt = String::new();
    let mut original_rcpt = String::new();
    for (name, value) in fields {
        match name.as_str() {
            "final-recipient" if final_rcpt.is_empty() => final_rcpt = dsn_address(value),
            "original-recipient" if original_rcpt.is_empty() => original_rcpt = dsn_address(value),
            "action" => raw.action = value.trim().to_ascii_lowercase(),
            "status" => {
                raw.status = status_find(value, "");
                if raw.status.is_empty() {
                    raw.status = plain_status(value);
                }
            }
            "diagnostic-code" => {
                let (spec, text) = match value.split_once(';') {
                    Some((s, t)) if !s.trim().contains(' ') => (s.trim().to_ascii_uppercase(), t.trim().to_string()),
                    _ => (String::new(), value.trim().to_string()),
                };
                raw.spec = spec;
                raw.diagnosis = text;
            }
            "remote-mta" => {
                raw.rhost = value.rsplit(';').next().unwrap_or("").trim().to_ascii_lowercase();
            }
            _ => {}
        }
    }
    // Original-Recipient is the address the sender wrote (RFC 3464 2.3.1); the final
    // one may be an alias expansion the sender never saw, so it is only a fallback.
    raw.recipient = if original_rcpt.contains('@') {
        original_rcpt
    } else if final_rcpt.contains('@') {
        final_rcpt
    } else {
        return None;
    };
    Some(raw)
}

fn dedupe(raws: Vec<Raw>) -> Vec<Raw> {
    let mut out: Vec<Raw> = Vec::new();
    for r in raws {
        if let Some(prev) = out.iter_mut().find(|p| p.recipient == r.recipient) {
            if prev.diagnosis.is_empty() && !r.diagnosis.is_empty() {
                *prev = r;
            }
            continue;
        }
        out.push(r);
    }
    out
}

fn dsn_address(value: &str) -> String {
    let v = match value.split_once(';') {
        Some((_, a)) => a,
        None => value,
    };
    let v = v.trim();
    if let Some(a) = first_email(v) {
        return a;
    }
    v.trim_matches(['<', '>', ' ']).to_lowercase()
}

/// "5.1.1" at the start of a Status: field value even when status_find refuses it.
fn plain_status(v: &str) -> String {
    static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([245]\.\d{1,3}\.\d{1,3})").unwrap());
    RE.captures(v)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .unwrap_or_default()
}

/// Fill what a DSN lacks (diagnostic text, command) from the human-readable text.
fn enrich_from_text(raws: &mut [Raw], text_raws: &[Raw]) {
    for r in raws.iter_mut() {
        // With one failure on each side they describe the same delivery even when
        // the DSN names the final (aliased) address and the text the original one.
        let t = text_raws
            .iter()
            .find(|t| t.recipient == r.recipient)
            .or(if text_raws.len() == 1 { text_raws.first() } else { None });
        if let Some(t) = t {
            if r.diagnosis.trim().is_empty() {
                r.diagnosis = t.diagnosis.clone();
            }
            if r.command.is_empty() {
                r.command = t.command.clone();
            }
            if r.reason.is_empty() {
                r.reason = t.reason.clone();
            }
        }
        if r.command.is_empty() {
            r.command = command_find(&r.diagnosis);
        }
    }
}

// ---------------------------------------------------------------------------
// Human-readable bounce text
// ---------------------------------------------------------------------------

fn text_recipients(doc: &Doc) -> Vec<Raw> {
    let text = &doc.text;
    let lines: Vec<&str> = text.lines().collect();
    let mut excluded: Vec<String> = Vec::new();
    if !doc.from_addr.is_empty() {
        excluded.push(doc.from_addr.clone());
    }
    excluded.extend(doc.to_addrs.iter().cloned());
    for (k, v) in &doc.headers {
        if matches!(
            k.as_str(),
            "return-path" | "sender" | "reply-to" | "delivered-to" | "x-original-to"
        ) {
            excluded.extend(find_emails(v));
        }
    }
    let failed_header: Vec<String> = doc
        .headers
        .iter()
        .filter(|(k, _)| k == "x-failed-recipients")
        .flat_map(|(_, v)| find_emails(v))
        .collect();

    // Candidate addresses with the line they first appear on, and whether the line
    // presents them as a recipient.
    let mut cands: Vec<(String, usize, bool)> = Vec::new();
    'lines: for (i, line) in lines.iter().enumerate() {
        let lower = line.to_ascii_lowercase();
        if is_sender_context(&lower) {
            continue;
        }
        for m in EMAIL.find_iter(line) {
            let Some(a) = clean_email(m.as_str()) else {
                continue;
            };
            if cands.iter().any(|(c, _, _)| *c == a) {
                continue;
            }
            let ctx = recipient_context(line, m.start(), m.end());
            cands.push((a, i, ctx));
            if cands.len() >= MAX_RECIPIENTS {
                break 'lines;
            }
        }
    }
    let keep = |a: &str| !excluded.iter().any(|e| e == a) && !is_daemon_local(a);
    let mut chosen: Vec<(String, usize)> = Vec::new();
    if !failed_header.is_empty() {
        for f in &failed_header {
            let line = cands.iter().find(|(c, _, _)| c == f).map(|(_, l, _)| *l);
            if !chosen.iter().any(|(c, _)| c == f) {
                chosen.push((f.clone(), line.unwrap_or(usize::MAX)));
            }
        }
    } else {
        let strong: Vec<_> = cands.iter().filter(|(a, _, ctx)| *ctx && keep(a)).collect();
        let pool: Vec<_> = if strong.is_empty() {
            cands.iter().filter(|(a, _, _)| keep(a)).collect()
        } else {
            strong
        };
        for (a, l, _) in pool {
            chosen.push((a.clone(), *l));
        }
        if chosen.is_empty() {
            // The failed address may be the notice's own To (forwarded bounces).
            for (a, l, ctx) in &cands {
                if *ctx && !is_daemon_local(a) && Some(a) != Some(&doc.from_addr) {
                    chosen.push((a.clone(), *l));
                }
            }
        }
    }
    if chosen.iter().filter(|(_, l)| *l != usize::MAX).count() > 1 {
        chosen.sort_by_key(|(_, l)| *l);
    }
    let starts: Vec<usize> = chosen.iter().map(|(_, l)| *l).collect();
    let mut out = Vec::new();
    for (addr, line) in &chosen {
        let diag = if *line == usize::MAX || lines.is_empty() {
            text.clone()
        } else {
            // A recipient's error runs until the next recipient's line.
            let next = starts
                .iter()
                .copied()
                .filter(|s| *s > *line && *s != usize::MAX)
                .min()
                .unwrap_or(lines.len());
            block_after(&lines, *line, next)
        };
        let diag = if chosen.len() == 1 && status_find(&diag, "").is_empty() && reply_find(&diag, "").is_empty() {
            // The error may sit before the address line.
            text.clone()
        } else {
            diag
        };
        let command = command_find(&diag);
        out.push(Raw {
            recipient: addr.clone(),
            diagnosis: diag,
            command,
            ..Raw::default()
        });
    }
    out
}

fn block_after(lines: &[&str], start: usize, end: usize) -> String {
    let mut out = String::new();
    let end = end.min(lines.len()).min(start + 60);
    for line in lines.iter().take(end).skip(start) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_sender_context(lower: &str) -> bool {
    lower.contains("mail from:") && !lower.contains("rcpt to")
        || lower.trim_start().starts_with("from:")
        || lower.contains("envelope-from")
        || lower.contains("x-postfix-sender")
        || lower.trim_start().starts_with("sender:")
        || lower.trim_start().starts_with("return-path:")
        || lower.contains("please send mail to")
        || lower.contains("contact your")
}

/// Whether the address at `start..end` of `line` is presented as a recipient.
fn recipient_context(line: &str, start: usize, end: usize) -> bool {
    let before = line[..start]
        .trim_end_matches(['<', '"', '\'', '(', '['])
        .to_ascii_lowercase();
    let before_t = before.trim();
    let after = line[end..].trim_start_matches(['>', '"', '\'', ')', ']']);
    if before_t.is_empty() {
        return true;
    }
    const LEADS: &[&str] = &[
        "to",
        "to:",
        "rcpt to:",
        "recipient:",
        "recipients:",
        "address:",
        "for",
        "user",
        "delivery to",
        "delivering your mail to",
        "deliver to",
        "original-recipient: rfc822;",
        "final-recipient: rfc822;",
        "failed recipient:",
        "mailbox",
        "addressee:",
        "<<<",
        ">>>",
        "destinataire",
        "rcpt to",
        "unknown user",
        "recipient",
        "invalid recipient:",
        "could not be delivered to",
        "mail to",
    ];
    if LEADS.iter().any(|l| before_t.ends_with(l)) {
        return true;
    }
    let a = after.trim_start();
    a.starts_with(':')
        || a.starts_with("...")
        || a.starts_with("(expanded from")
        || a.starts_with(" on ")
        || a.starts_with("on ")
}

fn fallback_recipients(doc: &Doc) -> Vec<Raw> {
    // Last resort: the original message's To.
    let fields = parse_header_block(doc.original_header_text());
    let to = fields.iter().find(|(k, _)| k == "to").map(|(_, v)| v.clone());
    let Some(addr) = to.as_deref().and_then(first_email) else {
        return Vec::new();
    };
    vec![Raw {
        recipient: addr,
        diagnosis: doc.text.clone(),
        command: command_find(&doc.text),
        ..Raw::default()
    }]
}

// ---------------------------------------------------------------------------
// Vendor formats that need more than the generic reading
// ---------------------------------------------------------------------------

/// Amazon SES notifications relayed by SNS as JSON in a plain-text mail.
fn sns_notification(doc: &Doc) -> Option<Report> {
    static KIND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""notificationType"\s*:\s*"(\w+)""#).unwrap());
    static OBJ: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{[^{}]*\}").unwrap());
    if !doc.text.contains("\"notificationType\"") {
        return None;
    }
    // SNS wraps long lines with "!\n " which splits JSON tokens.
    let json = doc.text.replace("!\n ", "").replace("!\r\n ", "");
    let kind = KIND.captures(&json)?.get(1)?.as_str().to_string();
    let field = |obj: &str, name: &str| -> String {
        let re = format!(r#""{name}"\s*:\s*"((?:[^"\\]|\\.)*)""#);
        Regex::new(&re)
            .ok()
            .and_then(|r| r.captures(obj).and_then(|c| c.get(1)).map(|m| m.as_str().to_string()))
            .unwrap_or_default()
    };
    let array = |name: &str| -> String {
        let key = format!("\"{name}\"");
        let Some(p) = json.find(&key) else {
            return String::new();
        };
        let rest = &json[p + key.len()..];
        let Some(open) = rest.find('[') else {
            return String::new();
        };
        let close = rest[open..].find(']').map(|c| open + c).unwrap_or(rest.len());
        rest[open..close].to_string()
    };
    let original_message_id = Some(field(&json, "messageId")).filter(|s| !s.is_empty());
    let mut original_addresses: Vec<String> = Vec::new();
    for a in find_emails(&array("destination"))
        .into_iter()
        .chain(find_emails(&field(&json, "source")))
    {
        if !original_addresses.contains(&a) {
            original_addresses.push(a);
        }
    }
    match kind.as_str() {
        "Complaint" => {
            let list = array("complainedRecipients");
            let feedback_type = Some(field(&json, "complaintFeedbackType"))
                .filter(|s| !s.is_empty())
                .or_else(|| Some("abuse".to_string()));
            Some(Report {
                kind: ReportKind::Feedback,
                recipients: find_emails(&list)
                    .into_iter()
                    .map(|recipient| FailedRecipient {
                        recipient,
                        status: String::new(),
                        reply_code: String::new(),
                        reason: "feedback".into(),
                        hard: false,
                    })
                    .collect(),
                feedback_type,
                original_message_id,
                original_addresses,
            })
        }
        "Bounce" | "Delivery" => {
            let mut raws = Vec::new();
            if kind == "Bounce" {
                for obj in OBJ.find_iter(&array("bouncedRecipients")) {
                    let o = obj.as_str();
                    let Some(recipient) = first_email(&field(o, "emailAddress")) else {
                        continue;
                    };
                    let diag = field(o, "diagnosticCode");
                    let (spec, diag) = match diag.split_once(';') {
                        Some((s, d)) if !s.contains(' ') => (s.trim().to_ascii_uppercase(), d.trim().to_string()),
                        _ => (String::new(), diag),
                    };
                    let status = field(o, "status");
                    let status = match status_find(&status, "") {
                        found if !found.is_empty() => found,
                        _ => plain_status(&status),
                    };
                    raws.push(Raw {
                        recipient,
                        status,
                        diagnosis: diag,
                        spec,
                        action: field(o, "action"),
                        ..Raw::default()
                    });
                }
            } else {
                let response = field(&json, "smtpResponse");
                for recipient in find_emails(&array("recipients")) {
                    raws.push(Raw {
                        recipient,
                        diagnosis: response.clone(),
                        action: "delivered".into(),
                        ..Raw::default()
                    });
                }
            }
            Some(Report {
                kind: ReportKind::Bounce,
                recipients: raws.into_iter().map(|r| finish(r, doc)).collect(),
                feedback_type: None,
                original_message_id,
                original_addresses,
            })
        }
        _ => None,
    }
}

/// fml mailing-list manager error notices.
fn is_fml_error(doc: &Doc) -> bool {
    doc.header("x-mlserver").is_some()
        && doc.from.contains("-admin@")
        && doc.header("message-id").is_some_and(|m| m.contains(".FML"))
}

/// au by KDDI notices ("Your mail sent on: ... Could not be delivered to: <...>").
fn is_kddi_error(doc: &Doc, lower_text: &str) -> bool {
    let from = doc.from.to_ascii_lowercase();
    let reply_to = doc.header("reply-to").unwrap_or("").to_ascii_lowercase();
    (from.contains(".dion.ne.jp") || reply_to.contains("no-reply@app.auone-net.jp"))
        && lower_text.contains("could not be delivered to:")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Generic,
    Fml,
    Kddi,
    GoogleGroups,
    Gmail,
    Exim,
    Exchange2003,
    DragonFly,
    OpenSmtpd,
    IMailServer,
    ApacheJames,
    Ezweb,
}

fn received_contains(doc: &Doc, needle: &str) -> bool {
    doc.headers.iter().any(|(k, v)| k == "received" && v.contains(needle))
}

fn detect_vendor(doc: &Doc) -> Vendor {
    let from = doc.from.as_str();
    let subject = doc.subject.as_str();
    let text = doc.text.to_ascii_lowercase();
    if is_fml_error(doc) {
        return Vendor::Fml;
    }
    if is_kddi_error(doc, &text) {
        return Vendor::Kddi;
    }
    let google_dsn = from.to_ascii_lowercase().contains("<mailer-daemon@googlemail.com>")
        && subject.contains("Delivery Status Notification");
    if google_dsn
        && doc.text.contains("Google Groups")
        && doc.header("x-failed-recipients").is_some()
        && doc.header("x-google-smtp-source").is_some()
    {
        return Vendor::GoogleGroups;
    }
    if google_dsn && doc.dsn.is_empty() {
        return Vendor::Gmail;
    }
    if subject.contains("Mail delivery failed") && received_contains(doc, " (DragonFly Mail Agent") {
        return Vendor::DragonFly;
    }
    if (subject.contains("Delivery status notification")
        || from.contains("Mailer Daemon <")
        || received_contains(doc, " (OpenSMTPD) with "))
        && !opensmtpd_lines(&doc.text).is_empty()
    {
        return Vendor::OpenSmtpd;
    }
    let mut ezweb = 0;
    if from.contains("Postmaster@ezweb.ne.jp") || from.contains("Postmaster@au.com") {
        ezweb += 1;
    }
    if subject == "Mail System Error - Returned Mail" {
        ezweb += 1;
    }
    if received_contains(doc, "ezweb.ne.jp (EZweb Mail) with") || received_contains(doc, ".au.com (") {
        ezweb += 1;
    }
    if doc
        .header("message-id")
        .is_some_and(|m| m.contains(".ezweb.ne.jp>") || m.contains(".au.com>"))
    {
        ezweb += 1;
    }
    if ezweb >= 2 {
        return Vendor::Ezweb;
    }
    if doc.text.contains("Error message below:") && doc.text.contains("Message details:") {
        return Vendor::ApacheJames;
    }
    if subject.starts_with("Undeliverable Mail") || doc.header("x-mailer").is_some_and(|m| m.starts_with("<SMTP32 v")) {
        return Vendor::IMailServer;
    }
    let exchange = doc.header("x-ms-embedded-report").is_some()
        || doc.header("x-mailer").is_some_and(|m| {
            m.starts_with("Internet Mail Service (")
                || m.starts_with("Microsoft Exchange Server Internet Mail Connector")
        })
        || doc
            .header("x-mimeole")
            .is_some_and(|m| m.starts_with("Produced By Microsoft Exchange"))
        || received_contains(doc, " with Internet Mail Service (");
    if exchange && doc.text.contains("did not reach the following recipient") {
        return Vendor::Exchange2003;
    }
    let mut exim = 0;
    if from.contains("Mail Delivery System") {
        exim += 1;
    }
    const EXIM_TITLES: &[&str] = &[
        "Delivery Status Notification",
        "Mail delivery failed",
        "Mail failure",
        "Message frozen",
        "Warning: message ",
        "error(s) in forwarding or filtering",
    ];
    if EXIM_TITLES.iter().any(|t| subject.contains(t)) {
        exim += 1;
    }
    if let Some(id) = doc.header("message-id") {
        let id = id.trim().as_bytes();
        if id.first() == Some(&b'<') && id.get(8) == Some(&b'-') && id.get(18) == Some(&b'@') {
            exim += 1;
        }
    }
    let third_party = doc.header("x-mx-bounce").is_some()
        || doc.header("x-mxl-hash").is_some()
        || doc.header("x-mxl-notehash").is_some()
        || doc.header("message-id").is_some_and(|m| m.contains("<mxl~"));
    if (exim >= 2 || third_party) && doc.dsn.is_empty() {
        return Vendor::Exim;
    }
    Vendor::Generic
}

fn vendor_recipients(doc: &Doc, vendor: Vendor) -> Option<Vec<Raw>> {
    match vendor {
        Vendor::Fml => {
            // fml names the list (not a person) in angle brackets.
            let line = doc.text.lines().find(|l| l.contains('<') && l.contains('>'))?;
            let recipient = first_email(line)?;
            Some(vec![Raw {
                recipient,
                diagnosis: doc.text.clone(),
                ..Raw::default()
            }])
        }
        Vendor::OpenSmtpd => {
            let out: Vec<Raw> = opensmtpd_lines(&doc.text)
                .into_iter()
                .map(|(recipient, diagnosis)| Raw {
                    recipient,
                    diagnosis,
                    command_set: true,
                    ..Raw::default()
                })
                .collect();
            (!out.is_empty()).then_some(out)
        }
        Vendor::GoogleGroups => {
            let paragraphs: Vec<&str> = doc.text.splitn(5, "\n\n").collect();
            let keep = paragraphs.len().saturating_sub(1).max(1);
            let diagnosis = paragraphs[..keep.min(paragraphs.len())].join(" ");
            let bullets = doc.text.matches("\n *").count() == 4 || doc.text.matches("\n*").count() == 4;
            let reason = if bullets { "rejected" } else { "onhold" };
            let list = doc.header("x-failed-recipients").unwrap_or("");
            let out: Vec<Raw> = find_emails(list)
                .into_iter()
                .map(|recipient| Raw {
                    recipient,
                    diagnosis: diagnosis.clone(),
                    reason: reason.into(),
                    ..Raw::default()
                })
                .collect();
            (!out.is_empty()).then_some(out)
        }
        _ => None,
    }
}

/// OpenSMTPD lists each failure as "address: error" on one line.
fn opensmtpd_lines(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let Some((addr, rest)) = line.split_once(": ") else {
            continue;
        };
        if addr.contains(' ') || !addr.contains('@') {
            continue;
        }
        if let Some(a) = clean_email(addr) {
            out.push((a, rest.trim().to_string()));
        }
    }
    out
}

fn contains_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

/// Per-vendor wording that settles the reason (and for some, the status), as
/// sisimai's per-MTA tables do.
fn vendor_adjust(doc: &Doc, vendor: Vendor, r: &mut Raw, single: bool) {
    if !r.reason.is_empty() {
        return;
    }
    let diag = r.diagnosis.clone();
    let table: &[(&str, &[&str])] = match vendor {
        Vendor::Fml => {
            let subject = doc.subject.as_str();
            r.reason = if contains_any(
                &diag,
                &[
                    " header may cause mail loop",
                    "NOT MEMBER article from ",
                    "reject mail from ",
                    "reject spammers:",
                    "You are not a member of this mailing list",
                ],
            ) {
                "rejected"
            } else if diag.contains("Security alert:") {
                "securityerror"
            } else if contains_any(
                &diag,
                &[
                    "Duplicated Message-ID",
                    " has detected a loop condition so that",
                    "Loop Back Warning:",
                ],
            ) {
                "systemerror"
            } else if contains_any(
                subject,
                &[
                    " are not member",
                    "NOT MEMBER article from ",
                    "reject mail ",
                    "Spam mail from a spammer is rejected",
                ],
            ) {
                "rejected"
            } else if contains_any(
                subject,
                &[
                    "fml system error message",
                    "Loop Alert: ",
                    "Loop Back Warning: ",
                    "WARNING: UNIX FROM Loop",
                ],
            ) {
                "systemerror"
            } else if subject.contains("Security Alert") {
                "securityerror"
            } else {
                ""
            }
            .into();
            return;
        }
        Vendor::Kddi => {
            if doc.header("x-spasign").is_some_and(|v| v.trim() == "NG") {
                r.reason = "filtered".into();
                return;
            }
            &[
                ("mailboxfull", &["As their mailbox is full"]),
                ("norelaying", &["Due to the following SMTP relay error"]),
                ("hostunknown", &["As the remote domain doesnt exist"]),
            ]
        }
        Vendor::Gmail => {
            if single && let Some(p) = doc.text.find("Delivery to the following recipient") {
                r.diagnosis = doc.text[p..].to_string();
            }
            let d = sweep(&r.diagnosis);
            const STATES: &[(&str, &str, &str)] = &[
                ("6", "MAIL", "failedstarttls"),
                ("8", "AUTH", "systemerror"),
                ("9", "AUTH", "failedstarttls"),
                ("12", "AUTH", "norelaying"),
                ("13", "EHLO", "blocked"),
                ("14", "RCPT", "userunknown"),
                ("15", "DATA", "filtered"),
                ("17", "DATA", "filtered"),
                ("18", "DATA", "filtered"),
            ];
            if let Some(p) = d.find(" (state ") {
                let rest = &d[p + 8..];
                let code = rest.split(')').next().unwrap_or("");
                if let Some((_, c, reason)) = STATES.iter().find(|(k, _, _)| *k == code) {
                    r.command = (*c).into();
                    r.command_set = true;
                    r.reason = (*reason).into();
                }
            }
            if r.reason.is_empty() {
                if contains_any(
                    &d,
                    &[
                        "DNS Error: Could not contact DNS servers",
                        "Delivery to the following recipient has been delayed",
                        "The recipient server did not accept our requests to connect",
                    ],
                ) {
                    r.reason = "expired".into();
                } else if contains_any(
                    &d,
                    &[
                        "DNS Error: Domain name not found",
                        "DNS Error: DNS server returned answer with no data",
                    ],
                ) {
                    r.reason = "hostunknown".into();
                }
            }
            if !r.reason.is_empty() {
                let st = status_find(&d, &r.reply_code);
                if !st.is_empty() {
                    if !st.contains(".0") {
                        r.reason = status_name(&st).into();
                    }
                    r.status = st;
                }
            }
            return;
        }
        Vendor::Exchange2003 => {
            let d = sweep(&diag);
            const CODES: &[(&str, &str)] = &[
                ("000C05A6", "userunknown"),
                ("000C0595", "filtered"),
                ("00010256", "systemerror"),
                ("000D06B5", "systemerror"),
                ("00120270", "networkerror"),
                ("00050311", "contenterror"),
                ("000502CC", "contenterror"),
                ("000B0981", "securityerror"),
                ("000B099C", "onhold"),
                ("000B09AA", "onhold"),
                ("000B09B6", "onhold"),
            ];
            // "MSEXCH:IMS:... 0 (000C05A6) Unknown Recipient"
            let Some(tail) = d.find("MSEXCH:").map(|p| &d[p..]) else {
                return;
            };
            if let (Some(a), Some(b)) = (tail.find('('), tail.find(')'))
                && a < b
                && let Some((_, reason)) = CODES.iter().find(|(c, _)| *c == &tail[a + 1..b])
            {
                r.reason = (*reason).into();
                r.status = pseudo_status(reason, false);
                r.diagnosis = tail[b + 1..].trim().to_string();
            }
            return;
        }
        Vendor::DragonFly => {
            if let Some(line) = diag.lines().find(|l| l.contains(" did not like our ")) {
                r.command = command_find(line);
                r.command_set = true;
            }
            &[
                ("expired", &["Could not deliver for the last "]),
                ("hostunknown", &["DNS lookup failure: host "]),
            ]
        }
        Vendor::OpenSmtpd => &[
            ("expired", &["Envelope expired"]),
            ("securityerror", &["Could not retrieve credentials"]),
            ("hostunknown", &["Invalid domain name", "Domain does not exist"]),
            (
                "networkerror",
                &[
                    "Address family mismatch on destination MXs",
                    "All routes to destination blocked",
                    "bad DNS lookup error code",
                    "Could not retrieve source address",
                    "Loop detected",
                    "Network error on destination MXs",
                    "No valid route to remote MX",
                    "No valid route to destination",
                    "Temporary failure in MX lookup",
                ],
            ),
            (
                "notaccept",
                &[
                    "Destination seem to reject all mails",
                    "No MX found for domain",
                    "No MX found for destination",
                ],
            ),
        ],
        Vendor::IMailServer => {
            if let Some(p) = doc.text.find("Body of message generated response:") {
                r.diagnosis = format!("{} {}", &doc.text[p..], r.diagnosis);
            }
            &[
                ("hostunknown", &["Unknown host"]),
                ("userunknown", &["Unknown user", "Invalid final delivery userid"]),
                ("mailboxfull", &["User mailbox exceeds allowed size"]),
                ("virusdetected", &["Requested action not taken: virus detected"]),
                ("spamdetected", &["Blacklisted URL in message"]),
                ("expired", &["Delivery failed "]),
            ]
        }
        Vendor::Exim => {
            exim_adjust(r);
            return;
        }
        Vendor::ApacheJames => {
            let t = &doc.text;
            if let Some(p) = t.find("Error message below:") {
                let end = t[p..].find("Message details:").map(|e| p + e).unwrap_or(t.len());
                r.diagnosis = t[p..end].to_string();
            }
            r.command.clear();
            r.command_set = true;
            // Verizon's gateways reuse the James notice.
            generic_phrases(doc, r);
            return;
        }
        Vendor::Ezweb => {
            const STARTS: &[&str] = &["The user(s) ", "Your message ", "Each of the following", "<"];
            if single {
                let mut offset = 0;
                for line in doc.text.split_inclusive('\n') {
                    if STARTS.iter().any(|p| line.starts_with(p)) {
                        let rest = &doc.text[offset..];
                        let end = rest.find("\n-----------------------------------").unwrap_or(rest.len());
                        r.diagnosis = rest[..end].to_string();
                        break;
                    }
                    offset += line.len();
                }
            }
            if doc.header("x-spasign").is_some_and(|v| v.trim() == "NG") {
                r.reason = "filtered".into();
                return;
            }
            const TABLE: &[(&str, &[&str])] = &[
                ("expired", &["Your message was not delivered within "]),
                ("mailboxfull", &["The user(s) account is temporarily over quota"]),
                (
                    "onhold",
                    &["Each of the following recipients was rejected by a remote mail server"],
                ),
                (
                    "suspend",
                    &[
                        "The user(s) account is disabled.",
                        "The user(s) account is temporarily limited.",
                    ],
                ),
            ];
            let d = sweep(&r.diagnosis);
            if let Some((reason, _)) = TABLE.iter().find(|(_, ps)| contains_any(&d, ps)) {
                r.reason = (*reason).into();
            } else if !r.recipient.ends_with("@ezweb.ne.jp") && !r.recipient.ends_with("@au.com") && d.starts_with('<')
            {
                r.reason = "userunknown".into();
            }
            return;
        }
        Vendor::GoogleGroups => return,
        Vendor::Generic => {
            generic_phrases(doc, r);
            return;
        }
    };
    let d = sweep(&r.diagnosis);
    if let Some((reason, _)) = table.iter().find(|(_, ps)| contains_any(&d, ps)) {
        r.reason = (*reason).into();
    }
}

/// Vendor wording recognised without a dedicated reader, each gated on a header or
/// banner that identifies the vendor.
fn generic_phrases(doc: &Doc, r: &mut Raw) {
    let d = sweep(&r.diagnosis);
    let text = &doc.text[..floor_char(&doc.text, 64 * 1024)];
    let whole = sweep(text);
    let from = doc.from.as_str();
    let subject = doc.subject.as_str();
    let rules: &[(bool, &str, &[&str])] = &[
        (doc.header("x-zohomail").is_some(), "expired", &["Host not reachable"]),
        (
            doc.header("x-gmx-antispam").is_some(),
            "expired",
            &["delivery retry timeout exceeded"],
        ),
        (
            from.starts_with("\"InterScan") || doc.content_type.contains("interscan") || whole.contains(" InterScan "),
            "userunknown",
            &["Unable to deliver"],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            "userunknown",
            &[
                "not listed in Domino Directory",
                "not listed in public Name & Address Book",
                "no se encuentra en el Directorio de Domino",
                "Domino ディレクトリには見つかりません",
            ],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            "filtered",
            &["Cannot route mail to user"],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            "systemerror",
            &["Several matches found in Domino Directory"],
        ),
        (
            whole.contains("------- Failure Reasons"),
            "userunknown",
            &[
                "User not listed in public Name & Address Book",
                "not listed in public Name & Address Book",
            ],
        ),
        (
            whole.contains("------- Failure Reasons"),
            "networkerror",
            &["Message has exceeded maximum hop count"],
        ),
        (
            from.contains("vzwpix.com") || from.contains("@vtext.com"),
            "userunknown",
            &[
                "No valid recipients for this MM",
                "Requested action not taken: no such user here",
            ],
        ),
    ];
    for (gate, reason, phrases) in rules {
        // Domino and Notes put the reason in the notice, not next to the address.
        if *gate && (contains_any(&d, phrases) || contains_any(&whole, phrases)) {
            r.reason = (*reason).into();
            return;
        }
    }
}

fn exim_adjust(r: &mut Raw) {
    let d = sweep(&r.diagnosis);
    if contains_any(&d, &["SMTP error from remote ", "LMTP error after "]) {
        r.command = command_find(&d);
    } else {
        r.command.clear();
    }
    r.command_set = true;
    const MESSAGES: &[(&str, &[&str])] = &[
        ("userunknown", &["user not found"]),
        (
            "hostunknown",
            &[
                "all host address lookups failed permanently",
                "all relevant MX records point to non-existent hosts",
                "Unrouteable address",
            ],
        ),
        ("mailboxfull", &["mailbox is full", "error: quota exceed"]),
        (
            "notaccept",
            &[
                "an MX or SRV record indicated no SMTP service",
                "no host found for existing SMTP connection",
            ],
        ),
        (
            "syntaxerror",
            &[
                "angle-brackets nested too deep",
                "expected word or \"<\"",
                "domain missing in source-routed address",
                "malformed address:",
            ],
        ),
        (
            "systemerror",
            &[
                "delivery to file forbidden",
                "delivery to pipe forbidden",
                "local delivery failed",
                "LMTP error after ",
            ],
        ),
        ("contenterror", &["Too many \"Received\" headers"]),
    ];
    const DELAYED: &[&str] = &[
        "retry timeout exceeded",
        "No action is required on your part",
        "retry time not reached for any host after a long failure period",
        "all hosts have been failing for a long time and were last tried",
        "Delay reason: ",
        "has been frozen",
        "was frozen on arrival by ",
    ];
    match r.command.as_str() {
        "EHLO" | "HELO" => r.reason = "blocked".into(),
        "MAIL" => r.reason = "onhold".into(),
        _ => {
            if let Some((reason, _)) = MESSAGES.iter().find(|(_, ps)| contains_any(&d, ps)) {
                r.reason = (*reason).into();
            } else if contains_any(&d, DELAYED) {
                r.reason = "expired".into();
            } else if d.contains("pipe to |") {
                r.reason = "mailererror".into();
            }
        }
    }
    let cr = reply_find(&d, &r.status);
    let cs = status_find(&d, &cr);
    let temporary = cr.starts_with('4') || r.reason == "expired" || r.reason == "mailboxfull";
    let cv = pseudo_status(&r.reason, temporary);
    if r.reply_code.is_empty() {
        r.reply_code = cr.clone();
    }
    if r.status.is_empty() {
        r.status = status_prefer(&cs, &cv, &cr);
    }
}

/// Local delivery agents (procmail, maildrop, mail.local, ...) and their errors.
fn lda_find(fo: &Fact) -> String {
    if fo.diag.is_empty() || !(fo.command.is_empty() || fo.command == "DATA") {
        return String::new();
    }
    const AGENTS: &[(&str, &[&str])] = &[
        ("dovecot", &["your message to <", "> was automatically rejected:"]),
        ("mail.local", &["mail.local: "]),
        ("procmail", &["procmail: ", "/procmail "]),
        ("maildrop", &["maildrop: "]),
        ("vpopmail", &["vdelivermail: "]),
        ("vmailmgr", &["vdeliver: "]),
    ];
    const MESSAGES: &[(&str, &str, &[&str])] = &[
        ("dovecot", "mailboxfull", &["not enough disk space", "quota exceeded"]),
        ("dovecot", "userunknown", &["mailbox doesn't exist: "]),
        (
            "mail.local",
            "mailboxfull",
            &["disc quota exceeded", "mailbox full or quota exceeded"],
        ),
        ("mail.local", "systemerror", &["temporary file write error"]),
        (
            "mail.local",
            "userunknown",
            &[
                ": invalid mailbox path",
                ": unknown user:",
                ": user missing home directory",
                ": user unknown",
            ],
        ),
        (
            "procmail",
            "mailboxfull",
            &["quota exceeded while writing", "user over quota"],
        ),
        ("procmail", "systemerror", &["service unavailable"]),
        ("procmail", "systemfull", &["no space left to finish writing"]),
        ("maildrop", "mailboxfull", &["maildir over quota."]),
        (
            "maildrop",
            "userunknown",
            &["cannot find system user", "invalid user specified."],
        ),
        ("vpopmail", "filtered", &["user does not exist, but will deliver to "]),
        (
            "vpopmail",
            "mailboxfull",
            &["domain is over quota", "user is over quota"],
        ),
        ("vpopmail", "suspend", &["account is locked email bounced"]),
        ("vpopmail", "userunknown", &["sorry, no mailbox here by that name."]),
        (
            "vmailmgr",
            "mailboxfull",
            &["delivery failed due to system quota violation"],
        ),
        (
            "vmailmgr",
            "userunknown",
            &[
                "invalid or unknown base user or domain",
                "invalid or unknown virtual user",
                "user name does not refer to a virtual user",
            ],
        ),
    ];
    let Some((agent, _)) = AGENTS.iter().find(|(_, keys)| keys.iter().any(|k| fo.diag.contains(k))) else {
        return String::new();
    };
    for (a, reason, phrases) in MESSAGES {
        if a == agent && phrases.iter().any(|p| fo.diag.contains(p)) {
            return (*reason).to_string();
        }
    }
    "mailererror".into()
}

/// Reasons decided from the documented error texts of large receiving services
/// (sisimai's "rhost" tables), chosen by the recipient domain or the hosts involved.
fn rhost_find(fo: &Fact, recipient: &str, rhost: &str, doc: &Doc) -> String {
    if fo.diag.is_empty() {
        return String::new();
    }
    let Some(class) = rhost_class(recipient, rhost, &fo.diag, doc) else {
        return String::new();
    };
    let d = fo.diag.as_str();
    let pick = |table: &[(&'static str, &[&str])]| -> String {
        table
            .iter()
            .find(|(_, ps)| contains_any(d, ps))
            .map(|(r, _)| (*r).to_string())
            .unwrap_or_default()
    };
    match class {
        "aol" => pick(&[
            ("hostunknown", &["host or domain name not found"]),
            ("notaccept", &["type=mx: malformed or unexpected name server reply"]),
        ]),
        "cox" => {
            const CODES: &[(&str, &str)] = &[
                ("cxbl", "blocked"),
                ("cxdns", "requireptr"),
                ("cxsndr", "authfailure"),
                ("cxsmtp", "rejected"),
                ("cxcnct", "toomanyconn"),
                ("cxmxrt", "toomanyconn"),
                ("cdrbl", "blocked"),
                ("cxthrt", "securityerror"),
                ("cxmj", "securityerror"),
            ];
            if let Some(p) = d.find("aup#") {
                let code = d[p + 4..]
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("");
                if let Some((_, r)) = CODES.iter().find(|(c, _)| *c == code) {
                    return (*r).into();
                }
                if code.starts_with("ipbl") {
                    return "blocked".into();
                }
                if code.starts_with("urlbl") {
                    return "spamdetected".into();
                }
            }
            pick(&[
                (
                    "blocked",
                    &["cox too many bad commands from", "too many invalid recipients"],
                ),
                (
                    "requireptr",
                    &["dns check failure - try again later", "rejected - no rdns"],
                ),
                (
                    "policyviolation",
                    &["esmtp no data before greeting", "attachment extension is forbidden"],
                ),
                ("rejected", &["sender rejected"]),
                ("systemerror", &["esmtp server temporarily not available"]),
                (
                    "toomanyconn",
                    &[
                        "too many sessions from",
                        "requested action aborted: try again later",
                        "message threshold exceeded",
                    ],
                ),
                ("userunknown", &["recipient rejected"]),
            ])
        }
        "facebook" => {
            const CODES: &[(&str, &str)] = &[
                ("pol-p7", "authfailure"),
                ("pol-p1", "blocked"),
                ("pol-p2", "blocked"),
                ("pol-p3", "blocked"),
                ("pol-p4", "blocked"),
                ("pol-t1", "blocked"),
                ("pol-t2", "blocked"),
                ("pol-t3", "blocked"),
                ("msg-p2", "contenterror"),
                ("rcp-p2", "filtered"),
                ("rcp-p3", "filtered"),
                ("msg-p1", "mesgtoobig"),
                ("int-p2", "mesgtoobig"),
                ("msg-p3", "notcompliantrfc"),
                ("dns-p1", "rejected"),
                ("dns-p2", "rejected"),
                ("dns-t1", "rejected"),
                ("dns-p3", "requireptr"),
                ("dns-t2", "requireptr"),
                ("pol-p6", "spamdetected"),
                ("rcp-t4", "suspend"),
                ("rcp-t1", "systemerror"),
                ("con-t1", "toomanyconn"),
                ("con-t2", "toomanyconn"),
                ("con-t3", "toomanyconn"),
                ("con-t4", "toomanyconn"),
                ("msg-t1", "toomanyconn"),
                ("rcp-p1", "userunknown"),
                ("int-p1", "userunknown"),
                ("int-p3", "userunknown"),
                ("int-p4", "userunknown"),
                ("pol-p5", "virusdetected"),
            ];
            CODES
                .iter()
                .find(|(c, _)| d.contains(c))
                .map(|(_, r)| (*r).to_string())
                .unwrap_or_default()
        }
        "franceptt" => {
            const CODES: &[(&str, &str)] = &[
                ("101", "blocked"),
                ("102", "blocked"),
                ("103", "blocked"),
                ("104", "toomanyconn"),
                ("305", "securityerror"),
                ("401", "authfailure"),
                ("402", "securityerror"),
                ("403", "rejected"),
                ("405", "rejected"),
                ("415", "rejected"),
                ("416", "userunknown"),
                ("417", "mailboxfull"),
                ("420", "suspend"),
                ("421", "rejected"),
                ("426", "suspend"),
                ("505", "systemerror"),
                ("506", "spamdetected"),
                ("510", "blocked"),
                ("514", "mesgtoobig"),
                ("517", "authfailure"),
                ("630", "policyviolation"),
                ("999", "blocked"),
            ];
            let issued = d.replace('_', "-");
            for label in ["lpn", "lpnaaa", "ofr", "ouk"] {
                let Some(at) = issued.rfind(label) else {
                    continue;
                };
                let token = issued[at..].split(' ').next().unwrap_or("");
                let token = token.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                if let Some((_, r)) = CODES.iter().find(|(c, _)| token.ends_with(c)) {
                    return (*r).into();
                }
                break;
            }
            pick(&[("authfailure", &["spf/dns de votre nom de domaine"])])
        }
        "godaddy" => {
            const CODES: &[(&str, &str)] = &[
                ("ib401", "securityerror"),
                ("ib501", "notcompliantrfc"),
                ("ib502", "notcompliantrfc"),
                ("ib506", "rejected"),
                ("ib508", "authfailure"),
                ("ib108", "requireptr"),
                ("ib212", "spamdetected"),
                ("ib705", "virusdetected"),
                ("ib605", "toomanyconn"),
                ("ib007", "toomanyconn"),
                ("ib101", "speeding"),
                ("ib110", "blocked"),
                ("ib111", "blocked"),
                ("ib112", "blocked"),
                ("ib113", "blocked"),
                ("ib504", "speeding"),
                ("ib510", "speeding"),
                ("ib607", "speeding"),
                ("ib103", "badreputation"),
                ("ib104", "blocked"),
                ("ib105", "blocked"),
                ("ib106", "blocked"),
            ];
            if let Some(p) = d.find(" ib") {
                let code = d[p + 1..]
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap_or("");
                if let Some((_, r)) = CODES.iter().find(|(c, _)| *c == code) {
                    return (*r).into();
                }
            }
            pick(&[
                ("blocked", &["rbl reject", "www.spamhaus.org/query/bl?ip="]),
                ("expired", &["has been in the queue too long", "delivery timeout"]),
                ("mailboxfull", &["account storage limit"]),
                ("spamdetected", &["message rejected for spam or virus content"]),
                ("suspend", &["account disabled"]),
                ("systemerror", &["message is looping"]),
                ("userunknown", &["recipient not found", "account does not exist"]),
            ])
        }
        "gsuite" => {
            let s0 = fo.status.chars().next();
            let r0 = fo.reply.chars().next();
            const TABLE: &[(&str, &[&str])] = &[
                (
                    "hostunknown",
                    &[" responded with code nxdomain", "domain name not found"],
                ),
                (
                    "networkerror",
                    &[
                        " had no relevant answers.",
                        "responded with code nxdomain",
                        "domain name not found",
                    ],
                ),
                ("notaccept", &["null mx"]),
                (
                    "userunknown",
                    &["because the address couldn't be found. check for typos or unnecessary spaces and try again."],
                ),
            ];
            for (reason, ps) in TABLE {
                if !contains_any(d, ps) {
                    continue;
                }
                if *reason == "networkerror" && (s0 == Some('5') || r0 == Some('5')) {
                    continue;
                }
                if *reason == "hostunknown" && (s0 != Some('5') || r0 != Some('5')) {
                    continue;
                }
                return (*reason).into();
            }
            String::new()
        }
        "kddi" => pick(&[
            ("filtered", &["550 : user unknown"]),
            ("userunknown", &[">: user unknown"]),
        ]),
        "messagelabs" => pick(&[
            ("authfailure", &["domain authentication fail"]),
            ("badreputation", &["connection rejected by policy"]),
            (
                "blocked",
                &[
                    "mail rejected because your ip is in the pbl",
                    "your ip address has been ",
                    "your ip address (ip-addr) has been blocked",
                    "your email address (addr) has been blocked",
                ],
            ),
            ("contenterror", &["stray linefeeds in message"]),
            ("failedstarttls", &["tls/sslv3 connection required"]),
            ("norelaying", &[" as a relay, "]),
            (
                "notcompliantrfc",
                &[
                    "550 requested action aborted [4]",
                    "has detected that this message is not rfc 5322",
                ],
            ),
            (
                "rejected",
                &[
                    "sender envelope domain not allowed for sender ip address",
                    "your domain has been blocked",
                    "your email address has been blocked",
                    "your envelope sender is in my badmailfrom list",
                    "your email address has been blacklisted",
                    "your domain has been blacklisted",
                ],
            ),
            (
                "securityerror",
                &["please turn on smtp authentication in your mail client"],
            ),
            ("spamdetected", &["message filtered", "filtered by outbound scanning"]),
            (
                "toomanyconn",
                &["too many recipients received this hour", "too many messages"],
            ),
            (
                "userunknown",
                &[
                    "no such user",
                    "invalid recipient",
                    "mailbox is not allowed",
                    "recipient mailbox is not allowed",
                ],
            ),
        ]),
        "microsoft" => microsoft_reason(fo),
        "outlook" => pick(&[
            (
                "hostunknown",
                &["the mail could not be delivered to the recipient because the domain is not reachable"],
            ),
            ("userunknown", &["requested action not taken: mailbox unavailable"]),
        ]),
        "spectrum" => {
            let Some(p) = d.find("aup#") else {
                return String::new();
            };
            let digits: String = d[p + 4..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let Ok(n) = digits.parse::<u32>() else {
                return String::new();
            };
            const RANGES: &[(u32, u32, &str)] = &[
                (1000, 1000, "blocked"),
                (1010, 1010, "rejected"),
                (1020, 1080, "rejected"),
                (1090, 1090, "systemerror"),
                (1100, 1150, "requireptr"),
                (1160, 1190, "policyviolation"),
                (1200, 1210, "blocked"),
                (1220, 1250, "blocked"),
                (1260, 1260, "networkerror"),
                (1300, 1340, "toomanyconn"),
                (1350, 1490, "speeding"),
                (1500, 1500, "rejected"),
                (1520, 1520, "rejected"),
                (1530, 1530, "mesgtoobig"),
                (1540, 1540, "speeding"),
                (1550, 1550, "speeding"),
                (1560, 1560, "policyviolation"),
                (1580, 1580, "speeding"),
            ];
            RANGES
                .iter()
                .find(|(lo, hi, _)| (*lo..=*hi).contains(&n))
                .map(|(_, _, r)| (*r).to_string())
                .unwrap_or_default()
        }
        "yahooinc" => pick(&[
            (
                "authfailure",
                &["yahoo requires all senders to authenticate with either spf or dkim"],
            ),
            (
                "blocked",
                &[
                    " because the ip is in spamhaus's list;",
                    "not accepted from ip addresses on spamhaus xbl",
                ],
            ),
            ("norelaying", &["relaying denied for "]),
            ("notcompliantrfc", &["headers are not rfc compliant"]),
            ("policyviolation", &["not accepted for policy reasons"]),
            (
                "rejected",
                &[
                    "temporarily deferred due to unexpected volume or user complaints",
                    "due to unresolvable rfc.5321 domain",
                    " will be permanently deferred",
                ],
            ),
            ("speeding", &["user is receiving mail too quickly"]),
            ("suspend", &[" is no longer valid.", "this mailbox is disabled"]),
            ("syntaxerror", &["syntax error in parameters or arguments"]),
            ("toomanyconn", &["max message per connection reached"]),
            ("userunknown", &["dd this user doesn't have a ", "mailbox not found"]),
        ]),
        _ => String::new(),
    }
}

const RHOST_CLASSES: &[(&str, &[&str])] = &[
    ("aol", &[".mail.aol.com", ".mx.aol.com"]),
    ("apple", &[".mail.icloud.com", ".apple.com", ".me.com"]),
    ("cloudflare", &[".mx.cloudflare.net"]),
    ("cox", &["cox.net"]),
    ("facebook", &[".facebook.com"]),
    ("franceptt", &[".laposte.net", ".orange.fr", ".wanadoo.fr"]),
    ("godaddy", &["smtp.secureserver.net", "mailstore1.secureserver.net"]),
    ("google", &["aspmx.l.google.com", "gmail-smtp-in.l.google.com"]),
    ("gsuite", &["googlemail.com"]),
    ("iua", &[".email.ua"]),
    ("kddi", &[".ezweb.ne.jp", "msmx.au.com"]),
    ("messagelabs", &[".messagelabs.com"]),
    (
        "microsoft",
        &[
            ".prod.outlook.com",
            ".protection.outlook.com",
            ".onmicrosoft.com",
            ".exchangelabs.com",
        ],
    ),
    ("mimecast", &[".mimecast.com"]),
    ("nttdocomo", &["mfsmax.docomo.ne.jp"]),
    ("outlook", &[".hotmail.com"]),
    ("spectrum", &["charter.net"]),
    ("tencent", &[".qq.com"]),
    ("yahooinc", &[".yahoodns.net"]),
];

fn rhost_class(recipient: &str, rhost: &str, diag: &str, doc: &Doc) -> Option<&'static str> {
    let domain = recipient.rsplit('@').next().unwrap_or("");
    if !domain.is_empty() {
        for (class, pats) in RHOST_CLASSES {
            if pats.iter().any(|p| p.ends_with(domain)) {
                return Some(class);
            }
        }
    }
    let matches = |host: &str| -> Option<&'static str> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        RHOST_CLASSES
            .iter()
            .find(|(_, pats)| pats.iter().any(|p| host.ends_with(p)))
            .map(|(c, _)| *c)
    };
    let mut hosts: Vec<String> = Vec::new();
    if !rhost.is_empty() {
        hosts.push(rhost.to_string());
    }
    hosts.extend(hostnames(diag));
    if let Some(c) = hosts.iter().find_map(|h| matches(h)) {
        return Some(c);
    }
    let mut local: Vec<String> = Vec::new();
    if let Some(m) = &doc.reporting_mta {
        local.push(m.clone());
    }
    for (k, v) in &doc.headers {
        if k == "received" {
            local.extend(hostnames(&v.to_ascii_lowercase()));
        }
    }
    local.iter().find_map(|h| matches(h))
}

fn hostnames(text: &str) -> Vec<String> {
    static HOST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}").unwrap()
    });
    let text = &text[..floor_char(text, 16 * 1024)];
    HOST.find_iter(text)
        .filter(|m| m.start() == 0 || text.as_bytes()[m.start() - 1] != b'@')
        .map(|m| m.as_str().to_string())
        .collect()
}

fn microsoft_reason(fo: &Fact) -> String {
    let status = fo.status.as_str();
    let Some(third) = status.split('.').nth(2).and_then(|t| t.parse::<u32>().ok()) else {
        return String::new();
    };
    // (status or prefix, range low, range high, message, reason); a range applies to the
    // third number of prefix-matched codes.
    #[rustfmt::skip]
    const TABLE: &[(&str, u32, u32, &str, &str)] = &[
        ("4.7.26", 0, 0, "must pass either spf or dkim validation, this message is not signed", "authfailure"),
        ("5.7.23", 0, 0, "the message was rejected because of sender policy framework violation", "authfailure"),
        ("5.7.509", 0, 0, "does not pass dmarc verification", "authfailure"),
        ("5.7.515", 0, 0, "doesn't meet the required authentication level", "authfailure"),
        ("4.7.650", 0, 0, "has been temporarily rate limited due to ip reputation", "badreputation"),
        ("4.4.2", 0, 0, "connection dropped", "blocked"),
        ("4.7.", 850, 899, "access denied, please try again later", "blocked"),
        ("5.7.25", 0, 0, "must have a reverse dns record", "blocked"),
        ("5.7.506", 0, 0, "access denied, bad helo", "blocked"),
        ("5.7.507", 0, 0, "access denied, rejected by recipient", "blocked"),
        ("5.7.510", 0, 0, "does not accept email over ipv6", "blocked"),
        ("5.7.511", 0, 0, "access denied, banned sender", "blocked"),
        ("5.7.513", 0, 0, "using customer block list", "blocked"),
        ("5.7.", 606, 649, "access denied, banned sending ip ", "blocked"),
        ("4.7.", 500, 699, "access denied, please try again later", "blocked"),
        ("5.5.4", 0, 0, "invalid domain name", "blocked"),
        ("5.7.1", 0, 0, "part of their network is on our block list (s3150)", "blocked"),
        ("5.3.0", 0, 0, "too many related errors", "contenterror"),
        ("5.6.11", 0, 0, "invalid characters", "contenterror"),
        ("5.4.11", 0, 0, "agent generated message depth exceeded", "contenterror"),
        ("5.5.6", 0, 0, "invalid message content", "contenterror"),
        ("5.2.3", 0, 0, "resolver.rst.recipsizelimit; message too large for this recipient", "mesgtoobig"),
        ("5.3.4", 0, 0, "message size exceeds fixed maximum message size", "mesgtoobig"),
        ("5.3.4", 0, 0, "message too big for system", "mesgtoobig"),
        ("4.4.1", 0, 0, "connection timed out", "expired"),
        ("4.4.7", 0, 0, "message delayed", "expired"),
        ("4.4.7", 0, 0, "queue expired; message expired", "expired"),
        ("4.4.7", 0, 0, "message expired", "expired"),
        ("5.4.300", 0, 0, "message expired", "expired"),
        ("5.4.316", 0, 0, "message expired", "expired"),
        ("4.4.8", 0, 0, " failed mta-sts validation", "failedstarttls"),
        ("5.4.8", 0, 0, " failed mta-sts validation", "failedstarttls"),
        ("4.4.317", 0, 0, "starttls is required to send mail", "failedstarttls"),
        ("5.4.317", 0, 0, "starttls is required to send mail", "failedstarttls"),
        ("4.7.5", 0, 0, "remote certificate failed mta-sts validation", "failedstarttls"),
        ("5.7.5", 0, 0, "remote certificate failed mta-sts validation", "failedstarttls"),
        ("4.7.321", 0, 0, "starttls-not-supported:", "failedstarttls"),
        ("5.7.321", 0, 0, "starttls-not-supported:", "failedstarttls"),
        ("5.7.322", 0, 0, "certificate-expired:", "failedstarttls"),
        ("5.2.2", 0, 0, "mailbox full", "mailboxfull"),
        ("5.4.4", 0, 0, "smtpsend.dns.nonexistentdomain; nonexistent domain", "networkerror"),
        ("5.4.6", 0, 0, "hop count exceeded - possible mail loop", "networkerror"),
        ("4.4.312", 0, 0, "dns query failed", "networkerror"),
        ("5.4.312", 0, 0, "dns query failed", "networkerror"),
        ("4.4.316", 0, 0, "connection refused", "networkerror"),
        ("5.4.316", 0, 0, "connection refused", "networkerror"),
        ("5.4.4", 0, 0, "invalid arguments", "networkerror"),
        ("5.4.6", 0, 0, "routing loop detected", "networkerror"),
        ("5.4.14", 0, 0, "routing loop detected", "networkerror"),
        ("5.7.1", 0, 0, "unable to relay", "norelaying"),
        ("5.7.1", 0, 0, "client was not authenticated", "norelaying"),
        ("5.4.1", 0, 0, "relay access denied", "norelaying"),
        ("5.7.64", 0, 0, "tenantattribution; relay access denied", "norelaying"),
        ("5.4.310", 0, 0, "does not exist", "norelaying"),
        ("4.3.2", 0, 0, "system not accepting network messages", "notaccept"),
        ("4.4.4", 0, 0, "hosted tenant which has no mail-enabled subscriptions", "notaccept"),
        ("5.3.2", 0, 0, "storedrv.deliver: missing or bad storedriver mdb properties", "notaccept"),
        ("5.0.350", 0, 0, "x-dg-ref header is too long", "policyviolation"),
        ("5.0.350", 0, 0, "requested action not taken: policy violation detected (as345)", "policyviolation"),
        ("5.7.", 900, 999, "delivery not authorized, message refused", "policyviolation"),
        ("5.1.7", 0, 0, "invalid address", "rejected"),
        ("5.1.7", 0, 0, "unknown sender address", "rejected"),
        ("5.1.0", 0, 0, "sender denied", "rejected"),
        ("5.1.8", 0, 0, "access denied, bad outbound sender", "rejected"),
        ("5.7.1", 0, 0, "delivery not authorized", "rejected"),
        ("5.7.12", 0, 0, "sender was not authenticated by organization", "rejected"),
        ("5.7.124", 0, 0, "sender not in allowed-senders list", "rejected"),
        ("5.7.133", 0, 0, "sender not authenticated for group", "rejected"),
        ("5.7.134", 0, 0, "sender was not authenticated for mailbox", "rejected"),
        ("5.7.13", 0, 0, "sender was not authenticated for public folder", "rejected"),
        ("5.7.135", 0, 0, "sender was not authenticated for public folder", "rejected"),
        ("5.7.136", 0, 0, "sender was not authenticated", "rejected"),
        ("5.7.", 501, 503, "access denied, spam abuse detected", "rejected"),
        ("5.7.512", 0, 0, "access denied, message must be rfc 5322 section 3.6.2 compliant", "rejected"),
        ("5.7.750", 0, 0, "service unavailable. client blocked from sending from unregistered domains", "rejected"),
        ("5.7.", 501, 503, "access denied, banned sender", "rejected"),
        ("5.7.3", 0, 0, "cannot achieve exchange server authentication", "securityerror"),
        ("5.7.3", 0, 0, "not authorized", "securityerror"),
        ("5.7.57", 0, 0, "client was not authenticated to send anonymous mail during mail from", "securityerror"),
        ("5.2.1", 0, 0, "content filter agent quarantined this message", "spamdetected"),
        ("5.5.3", 0, 0, "too many recipients", "speeding"),
        ("4.3.2", 0, 0, "storedrv.deliver; recipient thread limit exceeded", "speeding"),
        ("4.5.3", 0, 0, "too many recipients", "speeding"),
        ("4.7.652", 0, 0, "has exceeded the maximum number of connections", "speeding"),
        ("5.1.90", 0, 0, "reached your daily limit for message recipients", "speeding"),
        ("5.2.2", 0, 0, "submission quota exceeded", "speeding"),
        ("5.2.121", 0, 0, "recipient's per hour message receive limit", "speeding"),
        ("5.2.122", 0, 0, "recipient's per hour message receive limit", "speeding"),
        ("5.2.122", 0, 0, "the recipient has exceeded their limit for", "speeding"),
        ("5.7.508", 0, 0, "has exceeded permitted limits within", "speeding"),
        ("5.7.", 700, 749, "tenant has exceeded threshold", "speeding"),
        ("5.7.", 700, 749, "traffic not accepted from this ip", "speeding"),
        ("5.7.504", 0, 0, "recipient address rejected: access denied", "suspend"),
        ("5.7.505", 0, 0, "access denied, banned recipient", "suspend"),
        ("5.2.1", 0, 0, "mailbox cannot be accessed", "suspend"),
        ("5.3.3", 0, 0, "unrecognized command", "syntaxerror"),
        ("5.5.2", 0, 0, "send hello first", "syntaxerror"),
        ("4.3.2", 0, 0, "service not available", "systemerror"),
        ("4.3.2", 0, 0, "service not active", "systemerror"),
        ("5.3.5", 0, 0, "system incorrectly configured", "systemerror"),
        ("5.3.190", 0, 0, "when journaling archive is disabled", "systemerror"),
        ("5.0.0", 0, 0, "helo / ehlo requires domain address", "systemerror"),
        ("5.1.4", 0, 0, "destination mailbox address ambiguous", "systemerror"),
        ("5.2.4", 0, 0, "mailing list expansion problem", "systemerror"),
        ("5.2.14", 0, 0, "misconfigured forwarding address", "systemerror"),
        ("4.4.", 22, 28, "message failed to be replicated:", "systemerror"),
        ("4.4.3", 0, 0, "temporary server error. please try again later attr18", "systemerror"),
        ("4.7.0", 0, 0, "temporary server error. please try again later. prx4 nexthop:", "systemerror"),
        ("4.4.318", 0, 0, "(suspiciousremoteservererror)", "systemerror"),
        ("5.4.318", 0, 0, "(suspiciousremoteservererror)", "systemerror"),
        ("4.7.500", 0, 0, "server busy. please try again later from ", "systemerror"),
        ("4.7.700", 0, 0, "pfa agent busy, please try again.", "systemerror"),
        ("4.3.1", 0, 0, "insufficient system resources", "systemfull"),
        ("5.1.1", 0, 0, "resolver.adr.exrecipnotfound; not found", "userunknown"),
        ("5.1.1", 0, 0, "user unknown", "userunknown"),
        ("5.1.3", 0, 0, "storedrv.submit; invalid recipient address", "userunknown"),
        ("5.1.", 4, 5, "recipient address reserved by rfc 2606", "userunknown"),
        ("5.1.6", 0, 0, "recipient addresses in single label domains not accepted", "userunknown"),
        ("5.1.1", 0, 0, "bad destination mailbox address", "userunknown"),
        ("5.1.10", 0, 0, "recipient not found", "userunknown"),
        ("5.4.1", 0, 0, "recipient address rejected: access denied", "userunknown"),
        ("5.5.0", 0, 0, "requested action not taken: mailbox unavailable", "userunknown"),
        ("5.1.2", 0, 0, "invalid x.400 address", "userunknown"),
        ("5.1.351", 0, 0, "remote server returned unknown recipient or mailbox unavailable", "userunknown"),
    ];
    for (code, lo, hi, message, reason) in TABLE {
        let code_ok = if lo == hi {
            status == *code
        } else {
            status.starts_with(code) && (*lo..=*hi).contains(&third)
        };
        if code_ok && fo.diag.contains(message) {
            return (*reason).to_string();
        }
    }
    const CODES: &[(&str, &str, &str)] = &[
        ("rp-001", "421", "badreputation"),
        ("rp-002", "421", "badreputation"),
        ("rp-003", "421", "badreputation"),
        ("sc-001", "550", "badreputation"),
        ("sc-002", "550", "policyviolation"),
        ("sc-003", "550", "blocked"),
        ("sc-004", "550", "blocked"),
        ("dy-001", "550", "blocked"),
        ("dy-002", "550", "virusdetected"),
        ("ou-001", "550", "blocked"),
        ("ou-002", "550", "badreputation"),
    ];
    CODES
        .iter()
        .find(|(c, reply, _)| fo.diag.contains(c) && fo.reply == *reply)
        .map(|(_, _, r)| (*r).to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Deciding status, reply code, reason, hardness
// ---------------------------------------------------------------------------

fn finish(mut r: Raw, doc: &Doc) -> FailedRecipient {
    let mut diag = sweep(&r.diagnosis[..floor_char(&r.diagnosis, 4 * MAX_DIAG)]);
    diag.truncate(floor_char(&diag, MAX_DIAG));
    let mut status = r.status.clone();
    let mut reply = r.reply_code.clone();
    if !diag.is_empty() {
        let cs = status_find(&diag, "");
        let cr = reply_find(&diag, &cs);
        status = status_prefer(&status, &cs, &cr);
        if cr.len() == 3 {
            if reply.is_empty() {
                reply = cr.clone();
            }
            if diag.contains(&format!("{cr}-")) {
                for q in ["-", " "] {
                    diag = diag.replace(&format!("{cr}{q}{cs}"), "");
                    diag = diag.replace(&format!("{cr}{q}"), "");
                }
                if diag.contains(&cr) {
                    diag = format!("{cr} {cs} {diag}");
                }
                diag = sweep(&diag);
            }
        }
    }
    if r.spec.is_empty() {
        r.spec = if r.reason == "mailererror" {
            "X-UNIX".into()
        } else {
            "SMTP".into()
        };
    }
    if r.command.is_empty() && !r.command_set {
        r.command = command_find(&diag);
    }
    let fact = Fact {
        status: status.clone(),
        diag: diag.to_lowercase(),
        spec: r.spec.to_ascii_uppercase(),
        action: r.action.clone(),
        command: r.command.clone(),
        reply: reply.clone(),
        reason: r.reason.clone(),
    };
    let mut reason = r.reason.clone();
    if reason.is_empty() || should_be_retried(&reason) {
        let mut found = lda_find(&fact);
        if !is_explicit(&found) {
            found = rhost_find(&fact, &r.recipient, &r.rhost, doc);
        }
        if !is_explicit(&found) {
            found = reason_find(&fact, &reason);
        }
        reason = if is_explicit(&found) {
            found
        } else if !diag.is_empty() {
            "onhold".into()
        } else if reason.is_empty() {
            "undefined".into()
        } else {
            reason
        };
    }
    let hard = if reason == "delivered" || reason == "feedback" || reason == "vacation" {
        false
    } else {
        let cv = format!("{status} {diag}");
        is_hard_bounce(&reason, if cv.len() < 4 { "" } else { &cv })
    };
    if status.is_empty() {
        let ce = format!("{reply} {diag}");
        let ce = if ce.len() < 4 { String::new() } else { ce };
        let temporary = !is_permanent(&ce) && is_temporary(&ce);
        status = pseudo_status(&reason, temporary);
    }
    // The reply code must agree with the class of the status.
    let class = status.get(..1).unwrap_or("");
    if !class.is_empty() && !reply.is_empty() && !reply.starts_with(class) {
        let again = reply_find(&diag, class);
        reply = if again.starts_with(class) { again } else { String::new() };
    }
    FailedRecipient {
        recipient: r.recipient.to_lowercase(),
        status,
        reply_code: reply,
        reason,
        hard,
    }
}

fn sweep(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

struct Fact {
    status: String,
    /// Lower-cased, whitespace-collapsed diagnostic text.
    diag: String,
    spec: String,
    action: String,
    command: String,
    reply: String,
    /// Reason preset by the format, if any.
    reason: String,
}

fn is_explicit(reason: &str) -> bool {
    !(reason.is_empty() || reason == "undefined" || reason == "onhold")
}

fn should_be_retried(reason: &str) -> bool {
    matches!(
        reason,
        "" | "undefined"
            | "onhold"
            | "systemerror"
            | "securityerror"
            | "expired"
            | "networkerror"
            | "hostunknown"
            | "userunknown"
    )
}

fn reason_find(fo: &Fact, preset: &str) -> String {
    if !preset.is_empty() && !should_be_retried(preset) {
        return preset.to_string();
    }
    if fo.status.starts_with("2.") {
        return "delivered".into();
    }
    let mut found = String::new();
    if fo.spec == "SMTP" || fo.spec.is_empty() {
        for name in CLASS_ORDER_0 {
            if probe(name, fo) {
                found = (*name).to_string();
                break;
            }
        }
    }
    if found.is_empty() || found == "undefined" {
        found = another_one(fo, preset);
        if found == "undefined" {
            found.clear();
        }
        if found.is_empty() && fo.action == "delayed" {
            found = "expired".into();
        }
        if !found.is_empty() {
            return found;
        }
        if included_in("vacation", &fo.diag) {
            return "vacation".into();
        }
        if !fo.diag.is_empty() {
            return "onhold".into();
        }
        return "undefined".into();
    }
    found
}

fn another_one(fo: &Fact, preset: &str) -> String {
    if is_explicit(preset) {
        return preset.to_string();
    }
    let named = status_name(&fo.status).to_string();
    if should_be_retried(&named) || fo.spec != "SMTP" {
        for name in CLASS_ORDER_1 {
            if included_in(name, &fo.diag) {
                return (*name).to_string();
            }
        }
        if !named.is_empty() {
            return named;
        }
        if let Some(sub) = fo.status.get(..3) {
            if sub == "5.6" || sub == "4.6" {
                return "contenterror".into();
            }
            if sub == "5.7" || sub == "4.7" {
                return "securityerror".into();
            }
        }
        if fo.spec.starts_with("X-UNIX") {
            return "mailererror".into();
        }
        if probe("syntaxerror", fo) {
            return "syntaxerror".into();
        }
        if fo.action == "delayed" || fo.action == "expired" {
            return "expired".into();
        }
        if fo.command == "EHLO" || fo.command == "HELO" {
            return "blocked".into();
        }
    }
    named
}

const CLASS_ORDER_0: &[&str] = &[
    "mailboxfull",
    "mesgtoobig",
    "exceedlimit",
    "suspend",
    "hasmoved",
    "norelaying",
    "authfailure",
    "userunknown",
    "filtered",
    "requireptr",
    "notcompliantrfc",
    "badreputation",
    "contenterror",
    "rejected",
    "hostunknown",
    "spamdetected",
    "speeding",
    "toomanyconn",
    "blocked",
];

const CLASS_ORDER_1: &[&str] = &[
    "mailboxfull",
    "authfailure",
    "badreputation",
    "speeding",
    "spamdetected",
    "virusdetected",
    "policyviolation",
    "norelaying",
    "systemerror",
    "networkerror",
    "suspend",
    "contenterror",
    "systemfull",
    "notaccept",
    "expired",
    "failedstarttls",
    "securityerror",
    "suppressed",
    "mailererror",
];

const EXCEPT_DATA: &[&str] = &["CONN", "EHLO", "HELO", "MAIL", "RCPT"];

fn probe(name: &str, fo: &Fact) -> bool {
    let named = status_name(&fo.status);
    let d = fo.diag.as_str();
    // A reason the format already named sticks unless an earlier class matches.
    if fo.reason == name && !(name == "spamdetected" && fo.status.is_empty()) {
        return true;
    }
    match name {
        "mailboxfull" => named == "mailboxfull" || included_in(name, d),
        "mesgtoobig" => {
            if named == "mesgtoobig" {
                return true;
            }
            if named == "exceedlimit" || fo.status == "5.2.3" {
                return false;
            }
            included_in(name, d)
        }
        "exceedlimit" => named == "exceedlimit" || included_in(name, d),
        "suspend" => fo.reply == "525" || included_in(name, d),
        "hasmoved" => included_in(name, d),
        "norelaying" => {
            if ["CONN", "EHLO", "HELO"].contains(&fo.command.as_str()) {
                return false;
            }
            included_in(name, d)
        }
        "authfailure" => named == "authfailure" || included_in(name, d),
        "userunknown" => {
            if named == "suspend" {
                return false;
            }
            if named == "userunknown" {
                let others = [
                    "norelaying",
                    "blocked",
                    "mailboxfull",
                    "hasmoved",
                    "rejected",
                    "notaccept",
                ];
                return !others.iter().any(|o| included_in(o, d));
            }
            fo.command == "RCPT" && included_in("userunknown", d)
        }
        "filtered" => {
            if named == "suspend" {
                return false;
            }
            if named == "filtered" {
                return included_in("userunknown", d) || included_in("filtered", d);
            }
            if EXCEPT_DATA.contains(&fo.command.as_str()) {
                return false;
            }
            included_in("filtered", d) || included_in("userunknown", d)
        }
        "requireptr" => named == "requireptr" || included_in(name, d),
        "notcompliantrfc" => included_in(name, d),
        "badreputation" => included_in(name, d),
        "contenterror" => {
            if probe("spamdetected", fo) {
                return false;
            }
            named == "contenterror" || included_in(name, d)
        }
        "rejected" => {
            if named == "rejected" {
                return true;
            }
            let temp = if named.is_empty() { "undefined" } else { named };
            let applies = fo.command == "MAIL"
                || (fo.command == "DATA" && temp != "userunknown")
                || !is_explicit(temp)
                || temp == "securityerror"
                || temp == "systemerror";
            applies && included_in(name, d)
        }
        "hostunknown" => {
            if named == "hostunknown" {
                return !included_in("networkerror", d);
            }
            included_in(name, d)
        }
        "spamdetected" => {
            if fo.status.is_empty() {
                return false;
            }
            if named == "spamdetected" {
                return true;
            }
            if EXCEPT_DATA.contains(&fo.command.as_str()) {
                return false;
            }
            included_in(name, d)
        }
        "speeding" => included_in(name, d),
        "toomanyconn" => named == "toomanyconn" || included_in(name, d),
        "blocked" => named == "blocked" || included_in(name, d),
        "syntaxerror" => match fo.reply.parse::<u32>() {
            Ok(r) => (401..408).contains(&r) || (501..508).contains(&r),
            Err(_) => false,
        },
        _ => false,
    }
}

struct Patterns {
    index: &'static [&'static str],
    pairs: &'static [&'static [&'static str]],
    isnot: &'static [&'static str],
}

fn aligned(text: &str, parts: &[&str]) -> bool {
    let mut pos = 0;
    for p in parts {
        match text.get(pos..).and_then(|t| t.find(p)) {
            Some(i) => pos += i + p.len(),
            None => return false,
        }
    }
    true
}

fn included_in(name: &str, text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    let Some(p) = patterns(name) else {
        return false;
    };
    if p.isnot.iter().any(|s| text.contains(s)) {
        return false;
    }
    p.index.iter().any(|s| text.contains(s)) || p.pairs.iter().any(|pair| aligned(text, pair))
}

fn patterns(name: &str) -> Option<&'static Patterns> {
    Some(match name {
        "userunknown" => &USERUNKNOWN,
        "mailboxfull" => &MAILBOXFULL,
        "filtered" => &FILTERED,
        "hostunknown" => &HOSTUNKNOWN,
        "rejected" => &REJECTED,
        "blocked" => &BLOCKED,
        "spamdetected" => &SPAMDETECTED,
        "suspend" => &SUSPEND,
        "hasmoved" => &HASMOVED,
        "norelaying" => &NORELAYING,
        "authfailure" => &AUTHFAILURE,
        "requireptr" => &REQUIREPTR,
        "notcompliantrfc" => &NOTCOMPLIANTRFC,
        "badreputation" => &BADREPUTATION,
        "contenterror" => &CONTENTERROR,
        "speeding" => &SPEEDING,
        "toomanyconn" => &TOOMANYCONN,
        "virusdetected" => &VIRUSDETECTED,
        "policyviolation" => &POLICYVIOLATION,
        "systemerror" => &SYSTEMERROR,
        "networkerror" => &NETWORKERROR,
        "systemfull" => &SYSTEMFULL,
        "notaccept" => &NOTACCEPT,
        "expired" => &EXPIRED,
        "securityerror" => &SECURITYERROR,
        "mailererror" => &MAILERERROR,
        "exceedlimit" => &EXCEEDLIMIT,
        "mesgtoobig" => &MESGTOOBIG,
        "failedstarttls" => &FAILEDSTARTTLS,
        "vacation" => &VACATION,
        _ => return None,
    })
}

static USERUNKNOWN: Patterns = Patterns {
    index: &[
        "#5.1.1 bad address",
        "550 address invalid",
        "5.1.0 address rejected.",
        "address does not exist",
        "address not present in directory",
        "address unknown",
        "can't accept user",
        "does not exist.",
        "destination addresses were unknown",
        "destination server rejected recipients",
        "email address does not exist",
        "email address could not be found",
        "invalid address",
        "invalid mailbox",
        "invalid mailbox path",
        "invalid recipient",
        "is not a known user",
        "is not a valid mailbox",
        "is not an active address at this host",
        "mailbox does not exist",
        "mailbox invalid",
        "mailbox is inactive",
        "mailbox is unavailable",
        "mailbox not present",
        "mailbox not found",
        "mailbox unavaiable",
        "nessun utente simile in questo indirizzo",
        "no account by that name here",
        "no existe dicha persona",
        "no existe ese usuario ",
        "no mail box available for this user",
        "no mailbox by that name is currently available",
        "no mailbox found",
        "no such address here",
        "no such mailbox",
        "no such person at this address",
        "no such recipient",
        "no such user",
        "no thank you rejected: account unavailable",
        "no valid recipients, bye",
        "not a valid recipient",
        "not a valid user here",
        "not a local address",
        "not email addresses",
        "recipient address rejected. (in reply to rcpt to command)",
        "recipient address rejected: access denied",
        "recipient address rejected: invalid user",
        "recipient address rejected: invalid-recipient",
        "recipient address rejected: unknown user",
        "recipient address rejected: userunknown",
        "recipient does not exist",
        "recipient is not accepted",
        "recipient is not local",
        "recipient not exist",
        "recipient not found",
        "recipient not ok",
        "recipient refuses to accept your mail",
        "recipient unknown",
        "requested action not taken: mailbox unavailable",
        "resolver.adr.recipient notfound",
        "sorry, user unknown",
        "sorry, badrcptto",
        "sorry, no mailbox here by that name",
        "sorry, your envelope recipient has been denied",
        "that domain or user isn't in my list of allowed rcpthosts",
        "the email account that you tried to reach does not exist",
        "the following recipients was undeliverable",
        "the user's email name is not found",
        "there is no one at this address",
        "this address no longer accepts mail",
        "this email address is wrong or no longer valid",
        "this recipient is in my badrecipientto list",
        "this recipient is not in my validrcptto list",
        "this spectator does not exist",
        "unknown mailbox",
        "unknown recipient",
        "unknown user",
        "user does not exist",
        "user missing home directory",
        "user not active",
        "user not exist",
        "user not found",
        "user not known",
        "user unknown",
        "utilisateur inconnu !",
        "vdeliver: invalid or unknown virtual user",
        "weil die adresse nicht gefunden wurde oder keine e-mails empfangen kann",
        "your envelope recipient is in my badrcptto list",
    ],
    pairs: &[
        &["<", "> not found"],
        &["<", ">... blocked by "],
        &["account ", " does not exist at the organization"],
        &["adresse d au moins un destinataire invalide. invalid recipient.", "416"],
        &["adresse d au moins un destinataire invalide. invalid recipient.", "418"],
        &["bad", "recipient"],
        &["mailbox ", "does not exist"],
        &["mailbox ", "unavailable or access denied"],
        &["no ", " in name directory"],
        &["non", "existent user"],
        &["rcpt <", " does not exist"],
        &["rcpt (", "t exist "],
        &["recipient ", " was not found in"],
        &["recipient address rejected: user ", "  does not exist"],
        &["recipient address rejected: user unknown in ", "  table"],
        &["said: 550", "5.1.1 ", " user unknown "],
        &["this user doesn't have a ", " account"],
        &["unknown e", "mail address"],
        &["unknown local", "part"],
        &["user ", " was not found"],
        &["user ", " does not exist"],
        &["user (", ") unknown"],
    ],
    isnot: &[],
};

static MAILBOXFULL: Patterns = Patterns {
    index: &[
        "452 insufficient disk space",
        "account disabled temporarly for exceeding receiving limits",
        "boite du destinataire pleine",
        "exceeded storage allocation",
        "full mailbox",
        "mailbox exceeds allowed size",
        "mailbox size limit exceeded",
        "mailbox would exceed maximum allowed storage",
        "mailfolder is full",
        "no space left on device",
        "not sufficient disk space",
        "quota violation for",
        "too much mail data",
        "user has exceeded quota, bouncing mail",
        "user has too many messages on the server",
        "user's space has been used up",
    ],
    pairs: &[
        &["account is ", " quota"],
        &["disk", "quota"],
        &["enough ", " space"],
        &["mailbox ", "exceeded", " limit"],
        &["mailbox ", "full"],
        &["mailbox ", "quota"],
        &["maildir ", "quota"],
        &["over ", "quota"],
        &["quota ", "exceeded"],
    ],
    isnot: &[],
};

static FILTERED: Patterns = Patterns {
    index: &[
        "account is protected by",
        "bounced address",
        "has restricted sms e-mail",
        "is not accepting any mail",
        "message filtered",
        "message rejected due to user rules",
        "not found recipient account",
        "recipient id refuse to receive mail",
        "recipient is only accepting mail from specific email addresses",
        "refused due to recipient preferences",
        "user not found",
        "user refuses to receive this mail",
        "user reject",
        "you have been blocked by the recipient",
    ],
    pairs: &[],
    isnot: &[],
};

static HOSTUNKNOWN: Patterns = Patterns {
    index: &[
        "domain does not exist",
        "domain is not reachable",
        "domain must exist",
        "host or domain name not found",
        "host unknown",
        "host unreachable",
        "mail domain mentioned in email address is unknown",
        "name or service not known",
        "no such domain",
        "recipient address rejected: unknown domain name",
        "recipient domain must exist",
        "the account or domain may not exist",
        "unknown host",
        "unroutable address",
        "unrouteable address",
    ],
    pairs: &[&["553 ", " does not exist"]],
    isnot: &[],
};

static REJECTED: Patterns = Patterns {
    index: &[
        "access denied (in reply to mail from command)",
        "access denied (sender blacklisted)",
        "address rejected",
        "administrative prohibition",
        "batv failed to verify",
        "batv validation failure",
        "backscatter protection detected an invalid or expired email address",
        "because the sender isn't on the recipient's list of senders to accept mail from",
        "bogus mail from",
        "can't determine purported responsible address",
        "connections not accepted from servers without a valid sender domain",
        "denied [bouncedeny]",
        "denied by secumail valid-address-filter",
        "delivery not authorized, message refused",
        "does not exist e2110",
        "domain of sender address ",
        "email address is on senderfilterconfig list",
        "emetteur invalide",
        "empty envelope senders not allowed",
        "envelope blocked - ",
        "error: no third-party dsns",
        "from: domain is invalid. please provide a valid from:",
        "fully qualified email address required",
        "invalid domain, see <url:",
        "invalid sender",
        "is not a registered gateway user",
        "mail from not owned by user",
        "message rejected: email address is not verified",
        "mx records for ",
        "null sender is not allowed",
        "recipient addresses rejected : access denied",
        "recipient not accepted. (batv: no tag",
        "returned mail not accepted here",
        "rfc 1035 violation: recursive cname records for",
        "rule imposed mailbox access for",
        "sending this from a different address or alias using the ",
        "sender address has been blacklisted",
        "sender email address rejected",
        "sender is in my black list",
        "sender is spammer",
        "sender not pre-approved",
        "sender rejected",
        "sender domain is empty",
        "sender verify failed",
        "sender was rejected",
        "spam reporting address",
        "syntax error: empty email address",
        "the message has been rejected by batv defense",
        "this server does not accept mail from",
        "transaction failed unsigned dsn for",
        "unroutable sender address",
        "you are not allowed to post to this mailing list",
        "you are sending to/from an address that has been blacklisted",
        "your access to submit messages to this e-mail system has been rejected",
        "your email address has been blacklisted",
    ],
    pairs: &[],
    isnot: &[
        "5.1.0 address rejected",
        "recipient address rejected",
        "sender ip address rejected",
    ],
};

static BLOCKED: Patterns = Patterns {
    index: &[
        " said: 550 blocked",
        "//www.spamcop.net/bl.",
        "bad sender ip address",
        "banned sending ip",
        "blacklisted by",
        "blocked using ",
        "blocked - see http",
        "dnsbl:attrbl",
        "client host rejected: abus detecte gu_eib_02",
        "client host rejected: abus detecte gu_eib_04",
        "client host rejected: may not be mail exchanger",
        "client host rejected: was not authenticated",
        "confirm this mail server",
        "connection dropped",
        "connection refused by",
        "connection reset by peer",
        "connection was dropped by remote host",
        "connections not accepted from ip addresses on spamhaus xbl",
        "currently sending spam see: ",
        "domain does not exist:",
        "dynamic/zombied/spam ips blocked",
        "error: no valid recipients from ",
        "esmtp not accepting connections",
        "extreme bad ip profile",
        "go away",
        "helo command rejected:",
        "host network not allowed",
        "hosts with dynamic ip",
        "invalid ip for sending mail of domain",
        "is in a black list",
        "is not allowed to send mail from",
        "mailfrom domain is listed in spamhaus",
        "no access from mail server",
        "no matches to nameserver query",
        "not currently accepting mail from your ip",
        "part of their network is on our block list",
        "please use the smtp server of your isp",
        "refused - see http",
        "rejected - multi-blacklist",
        "rejected because the sending mta or the sender has not passed validation",
        "rejecting open proxy",
        "sender ip address rejected",
        "server access forbidden by your ip ",
        "service not available, closing transmission channel",
        "smtp error from remote mail server after initial connection:",
        "sorry, that domain isn't in my list of allowed rcpthosts",
        "sorry, your remotehost looks suspiciously like spammer",
        "temporarily deferred due to unexpected volume or user complaints",
        "to submit messages to this e-mail system has been rejected",
        "too many spams from your ip",
        "too many unwanted messages have been sent from the following ip address above",
        "was blocked by ",
        "we do not accept mail from dynamic ips",
        "you are not allowed to connect",
        "you are sending spam",
        "your ip address is listed in the rbl",
        "your network is temporary blacklisted",
        "your server requires confirmation",
    ],
    pairs: &[
        &["(", "@", ":blocked)"],
        &["access from ip address ", " blocked"],
        &["client host ", " blocked using"],
        &[
            "connections will not be accepted from ",
            " because the ip is in spamhaus's list",
        ],
        &["dnsbl:rbl ", ">_is_blocked"],
        &["email blocked by ", ".barracudacentral.org"],
        &["email blocked by ", "spamhaus"],
        &["host ", " refused to talk to me: ", " blocked"],
        &["ip ", " is blocked by earthlink"],
        &["is in an ", "rbl on "],
        &["mail server at ", " is blocked"],
        &["mail from ", " refused:"],
        &["mail from ", " refused, see ", "orbs"],
        &["message from ", " rejected based on blacklist"],
        &["messages from ", " temporarily deferred due to user complaints"],
        &["server ip ", " listed as abusive"],
        &["sorry! your ip address", " is blocked by rbl"],
        &["the domain ", " is blacklisted"],
        &["the email ", " is blacklisted"],
        &["the ip", " is blacklisted"],
        &["veuillez essayer plus tard. service refused, please try later. ", "103"],
        &["veuillez essayer plus tard. service refused, please try later. ", "510"],
        &["your access ip", " has been rejected"],
        &["your sender's ip address is listed at ", ".abuseat.org"],
    ],
    isnot: &[],
};

static SPAMDETECTED: Patterns = Patterns {
    index: &[
        " - spam",
        "//www.spamhaus.org/help/help_spam_16.htm",
        "//dsbl.org/help/help_spam_16.htm",
        "//mail.163.com/help/help_spam_16.htm",
        "554 5.7.0 reject, id=",
        "appears to be unsolicited",
        "blacklisted url in message",
        "block for spam",
        "blocked by policy: no spam please",
        "blocked by spamassassin",
        "blocked for abuse. see http://att.net/blocks",
        "cannot be forwarded because it was detected as spam",
        "considered unsolicited bulk e-mail (spam) by our mail filters",
        "content filter rejection",
        "cyberoam anti spam engine has identified this email as a bulk email",
        "denied due to spam list",
        "high probability of spam",
        "is classified as spam and is rejected",
        "listed in work.drbl.imedia.ru",
        "the mail server detected your message as spam and has prevented delivery.",
        "mail appears to be unsolicited",
        "mail content denied",
        "may consider spam",
        "message considered as spam or virus",
        "message contains spam or virus",
        "message content rejected",
        "message detected as spam",
        "message filtered",
        "message filtered. please see the faqs section on spam",
        "message filtered. refer to the troubleshooting page at ",
        "message looks like spam",
        "message is being rejected as it seems to be a spam",
        "message refused by mailmarshal spamprofiler",
        "message refused by trustwave seg spamprofiler",
        "message rejected as spam",
        "message rejected because of unacceptable content",
        "message rejected due to suspected spam content",
        "message rejected for policy reasons",
        "message was rejected for possible spam/virus content",
        "our email server thinks this email is spam",
        "our system has detected that this message is ",
        "probable spam",
        "reject bulk.advertising",
        "rejected: spamassassin score ",
        "rejected - bulk email",
        "rejecting banned content",
        "rejecting mail content",
        "related to content with spam-like characteristics",
        "sender domain listed at ",
        "sending address not accepted due to spam filter",
        "spam blocked",
        "spam check",
        "spam content matched",
        "spam detected",
        "spam email",
        "spam email not accepted",
        "spam message rejected.",
        "spam not accepted",
        "spam refused",
        "spam rejection",
        "spam score ",
        "spambouncer identified spam",
        "spamming not allowed",
        "too many spam complaints",
        "too much spam.",
        "the email message was detected as spam",
        "the message has been rejected by spam filtering engine",
        "the message was rejected due to classification as bulk mail",
        "the content of this message looked like spam",
        "this message appears to be spam",
        "this message has been identified as spam",
        "this message has been scored as spam with a probability",
        "this message was classified as spam",
        "this message was rejected by recurrent pattern detection system",
        "transaction failed spam message not queued",
        "we dont accept spam",
        "your email appears similar to spam we have received before",
        "your email breaches local uribl policy",
        "your email had spam-like ",
        "your email is considered spam",
        "your email is probably spam",
        "your email was detected as spam",
        "your message as spam and has prevented delivery",
        "your message has been temporarily blocked by our filter",
        "your message has been rejected because it appears to be spam",
        "your message has triggered a spam block",
        "your message may contain the spam contents",
        "your message failed several antispam checks",
    ],
    pairs: &[
        &["greylisted", " please try again in"],
        &["mail score (", " over "],
        &["mail rejete. mail rejected. ", "506"],
        &["our filters rate at and above ", " percent probability of being spam"],
        &["rejected by ", " (spam)"],
        &["rejected due to spam ", "classification"],
        &["rejected due to spam ", "content"],
        &["rule imposed as ", " is blacklisted on"],
        &["spam ", " exceeded"],
        &["this message scored ", " spam points"],
    ],
    isnot: &[],
};

static SUSPEND: Patterns = Patterns {
    index: &[
        " is currently suspended",
        " temporary locked",
        "archived recipient",
        "boite du destinataire archivee",
        "email account that you tried to reach is disabled",
        "has been suspended",
        "inactive account",
        "invalid/inactive user",
        "is a deactivated mailbox",
        "is unavailable: user is terminated",
        "mailbox currently suspended",
        "mailbox disabled",
        "mailbox is frozen",
        "mailbox unavailable or access denied",
        "recipient rejected: temporarily inactive",
        "recipient suspend the service",
        "the email account that you tried to reach is inactive",
        "this account has been disabled or discontinued",
        "this account has been temporarily suspended",
        "this address no longer accepts mail",
        "this mailbox is disabled",
        "user or domain is disabled",
        "user suspended",
        "vdelivermail: account is locked email bounced",
    ],
    pairs: &[],
    isnot: &[],
};

static HASMOVED: Patterns = Patterns {
    index: &[" has been replaced by "],
    pairs: &[],
    isnot: &[],
};

static NORELAYING: Patterns = Patterns {
    index: &[
        "as a relay",
        "email address is not verified.",
        "insecure mail relay",
        "is not permitted to relay through this server without authentication",
        "mail server requires authentication when attempting to send to a non-local e-mail address",
        "no relaying",
        "not a gateway",
        "not allowed to relay through this machine",
        "not an open relay, so get lost",
        "not local host",
        "relay access denied",
        "relay denied",
        "relay not permitted",
        "relaying denied",
        "relaying mail to ",
        "specified domain is not allowed",
        "that domain isn't in my list of allowed rcpthost",
        "this system is not configured to relay mail",
        "unable to relay ",
        "we don't handle mail for",
    ],
    pairs: &[],
    isnot: &[],
};

static AUTHFAILURE: Patterns = Patterns {
    index: &[
        "//spf.pobox.com",
        "bad spf records for",
        "dmarc policy",
        "doesn't meet the required authentication level",
        "please inspect your spf settings",
        "sender policy framework (spf) fail",
        "sender policy framework violation",
        "spf (sender policy framework) domain authentication fail",
        "spf check: fail",
        "the 5322.from address doesn't meet the authentication requirements defined for the sender",
    ],
    pairs: &[
        &[" is not allowed to send mail.", "_401"],
        &["is not allowed to send from <", " per it's spf record"],
    ],
    isnot: &[],
};

static REQUIREPTR: Patterns = Patterns {
    index: &[
        "access denied. ip name lookup failed",
        "all mail servers must have a ptr record with a valid reverse dns entry",
        "bad dns ptr resource record",
        "cannot find your hostname",
        "cannot resolve your address.",
        "client host rejected: cannot find your hostname",
        "fix reverse dns for ",
        "ips with missing ptr records",
        "no ptr record found.",
        "please get a custom reverse dns name from your isp for your host",
        "ptr record setup",
        "reverse dns failed",
        "reverse dns required",
        "sender ip reverse lookup rejected",
        "the ip address sending this message does not have a ptr record setup",
        "the corresponding forward dns entry does not point to the sending ip",
        "this system will not accept messages from servers/devices with no reverse dns",
        "unresolvable relay host name",
        "we do not accept mail from hosts with dynamic ip or generic dns ptr-records",
    ],
    pairs: &[
        &["domain ", " mismatches client ip"],
        &["dns lookup failure: ", " try again later"],
        &["reverse dns lookup for host ", " failed permanently"],
        &[
            "server access ",
            " forbidden by invalid rdns record of your mail server",
        ],
        &["service permits ", " unverifyable sending ips"],
    ],
    isnot: &[],
};

static NOTCOMPLIANTRFC: Patterns = Patterns {
    index: &[
        "duplicate header",
        "this message is not rfc 5322 compliant",
        "https://support.google.com/mail/?p=rfcmessagenoncompliant",
    ],
    pairs: &[&[" multiple ", " header"]],
    isnot: &[],
};

static BADREPUTATION: Patterns = Patterns {
    index: &[
        "a poor email reputation score",
        "has been temporarily rate limited due to ip reputation",
        "ip/domain reputation problems",
        "likely suspicious due to the very low reputation",
        "none/bad reputation",
        "temporarily deferred due to unexpected volume or user complaints",
        "the sending mta's poor reputation",
    ],
    pairs: &[],
    isnot: &[],
};

static CONTENTERROR: Patterns = Patterns {
    index: &[
        "duplicate header",
        "header size exceeds maximum permitted",
        "improper use of 8-bit data in message header",
        "message header size, or recipient list, exceeds policy limit",
        "message mime complexity exceeds the policy maximum",
        "routing loop detected -- too many received: headers",
        "this message contain invalid mime headers",
        "this message contain improperly-formatted binary content",
        "this message contain text that uses unnecessary base64 encoding",
    ],
    pairs: &[],
    isnot: &[],
};

static SPEEDING: Patterns = Patterns {
    index: &[
        "mail sent from your ip address has been temporarily rate limited",
        "please try again slower",
        "receiving mail at a rate that prevents additional messages from being delivered",
    ],
    pairs: &[],
    isnot: &[],
};

static TOOMANYCONN: Patterns = Patterns {
    index: &[
        "all available ips are at maximum connection limit",
        "connection rate limit exceeded",
        "exceeds per-domain connection limit for",
        "has exceeded the max emails per hour ",
        "throttling failure: daily message quota exceeded",
        "throttling failure: maximum sending rate exceeded",
        "too many connections",
        "too many connections from your host.",
        "too many concurrent smtp connections",
        "too many errors from your ip",
        "too many recipients",
        "too many smtp sessions for this host",
        "trop de connexions, ",
        "we have already made numerous attempts to deliver this message",
    ],
    pairs: &[],
    isnot: &[],
};

static VIRUSDETECTED: Patterns = Patterns {
    index: &[
        "it has a potentially executable attachment",
        "the message was rejected because it contains prohibited virus or spam content",
        "this form of attachment has been used by recent viruses or other malware",
        "virus detected",
        "virus phishing/malicious_url detected",
        "your message was infected with a virus",
    ],
    pairs: &[],
    isnot: &[],
};

static POLICYVIOLATION: Patterns = Patterns {
    index: &[
        "an illegal attachment on your message",
        "because the recipient is not accepting mail with ",
        "by non-member to a members-only list",
        "closed mailing list",
        "denied by policy",
        "email not accepted for policy reasons",
        "email rejected due to security policies",
        "header are not accepted",
        "header error",
        "local policy violation",
        "message bounced due to organizational settings",
        "message given low priority",
        "message not accepted for policy reasons",
        "message rejected due to local policy",
        "messages with multiple addresses",
        "rejected for policy reasons",
        "protocol violation",
        "the email address used to send your message is not subscribed to this group",
        "the message was rejected by organization policy",
        "this message was blocked because its content presents a potential",
        "we do not accept messages containing images or other attachments",
        "you're using a mass mailer",
    ],
    pairs: &[&[
        "you have exceeded the",
        "allowable number of posts without solving a captcha",
    ]],
    isnot: &[],
};

static SYSTEMERROR: Patterns = Patterns {
    index: &[
        "aliasing/forwarding loop broken",
        "can't create user output file",
        "could not load drd for domain",
        "internal error reading data",
        "internal server error: operation now in progress",
        "interrupted system call",
        "it encountered an error while being processed",
        "it would create a mail loop",
        "local configuration error",
        "local error in processing",
        "loop was found in the mail exchanger",
        "loops back to myself",
        "mail system configuration error",
        "queue file write error",
        "recipient deferred because there is no mdb",
        "remote server is misconfigured",
        "server configuration error",
        "service currently unavailable",
        "system config error",
        "temporary local problem",
        "timeout waiting for input",
        "transaction failed ",
    ],
    pairs: &[&["unable to connect ", "daemon"]],
    isnot: &[],
};

static NETWORKERROR: Patterns = Patterns {
    index: &[
        "could not connect and send the mail to",
        "dns records for the destination computer could not be found",
        "hop count exceeded - possible mail loop",
        "host is unreachable",
        "host name lookup failure",
        "host not found, try again",
        "mail forwarding loop for ",
        "malformed name server reply",
        "malformed or unexpected name server reply",
        "maximum forwarding loop count exceeded",
        "message looping",
        "message probably in a routing loop",
        "no route to host",
        "too many hops",
        "unable to resolve route ",
        "unrouteable mail domain",
    ],
    pairs: &[],
    isnot: &[],
};

static SYSTEMFULL: Patterns = Patterns {
    index: &[
        "mail system full",
        "requested mail action aborted: exceeded storage allocation",
    ],
    pairs: &[],
    isnot: &[],
};

static NOTACCEPT: Patterns = Patterns {
    index: &[
        "does not accept mail (nullmx)",
        "host/domain does not accept mail",
        "host does not accept mail",
        "mail receiving disabled",
        "name server: .: host not found",
        "no mx record found for domain=",
        "no route for current request",
        "smtp protocol returned a permanent error",
    ],
    pairs: &[],
    isnot: &[],
};

static EXPIRED: Patterns = Patterns {
    index: &[
        "connection timed out",
        "could not find a gateway for",
        "delivery attempts will continue to be",
        "delivery expired",
        "delivery time expired",
        "failed to deliver to domain ",
        "giving up on",
        "have been failing for a long time",
        "has been delayed",
        "it has not been collected after",
        "message expired after sitting in queue for",
        "message expired, cannot connect to remote server",
        "message expired, connection refulsed",
        "message timed out",
        "retry time not reached for any host after a long failure period",
        "server did not respond",
        "this message has been in the queue too long",
        "unable to deliver message after multiple retries",
        "was not reachable within the allowed queue period",
        "your message could not be delivered for more than",
    ],
    pairs: &[&["could not be delivered for", " days"]],
    isnot: &[],
};

static SECURITYERROR: Patterns = Patterns {
    index: &[
        "account not subscribed to ses",
        "authentication credentials invalid",
        "authentication failure",
        "authentication required",
        "authentication turned on in your email client",
        "executable files are not allowed in compressed files",
        "insecure mail relay",
        "recipient address rejected: access denied",
        "sorry, you don't authenticate or the domain isn't in my list of allowed rcpthosts",
        "unauthenticated senders not allowed",
        "verification failure",
        "you are not authorized to send mail, authentication is required",
    ],
    pairs: &[
        &["authentication failed; server ", " said: "],
        &["authentification invalide", "305"],
        &["authentification requise", "402"],
        &["domain ", " is a dead domain"],
        &["user ", " is not authorized to perform ses:sendrawemail on resource"],
    ],
    isnot: &[],
};

static MAILERERROR: Patterns = Patterns {
    index: &[
        " || exit ",
        "procmail: ",
        "bin/procmail",
        "bin/maidrop",
        "command failed: ",
        "command died with status ",
        "command output:",
        "mailer error",
        "pipe to |/",
        "x-unix; ",
    ],
    pairs: &[],
    isnot: &[],
};

static EXCEEDLIMIT: Patterns = Patterns {
    index: &["message header size exceeds limit", "message too large"],
    pairs: &[],
    isnot: &[],
};

static MESGTOOBIG: Patterns = Patterns {
    index: &[
        "exceeded maximum inbound message size",
        "exceeded the maximum incoming message size",
        "line limit exceeded",
        "max message size exceeded",
        "message file too big",
        "message length exceeds administrative limit",
        "message size exceeds fixed limit",
        "message size exceeds fixed maximum message size",
        "message size exceeds maximum value",
        "message too big",
        "message too large for this ",
        "size limit",
        "taille limite du message atteinte",
    ],
    pairs: &[],
    isnot: &[],
};

static FAILEDSTARTTLS: Patterns = Patterns {
    index: &["starttls is required to send mail", "tls required but not supported"],
    pairs: &[],
    isnot: &[],
};

static VACATION: Patterns = Patterns {
    index: &[
        "i am away on vacation",
        "i am away until",
        "i am out of the office",
        "i will be traveling for work on",
    ],
    pairs: &[],
    isnot: &[],
};

fn is_hard_bounce(reason: &str, code: &str) -> bool {
    match reason {
        "" | "undefined" | "onhold" | "delivered" | "feedback" | "vacation" => false,
        "hasmoved" | "userunknown" | "hostunknown" => true,
        "notaccept" => {
            if code.is_empty() {
                return true;
            }
            let mut cv = status_find(code, "");
            if cv.is_empty() {
                cv = reply_find(code, "");
            }
            cv.starts_with('5') || !is_temporary(code)
        }
        _ => false,
    }
}

fn is_permanent(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut code = status_find(s, "");
    if code.is_empty() {
        code = reply_find(s, "");
    }
    code.starts_with('5') || s.to_lowercase().contains(" permanent ")
}

fn is_temporary(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut code = status_find(s, "");
    if code.is_empty() {
        code = reply_find(s, "");
    }
    let l = s.to_lowercase();
    code.starts_with('4') || l.contains(" temporar") || l.contains(" persistent")
}

fn pseudo_status(reason: &str, temporary: bool) -> String {
    let detail = match reason {
        "authfailure" => "926",
        "badreputation" => "975",
        "blocked" => "971",
        "contenterror" => "960",
        "exceedlimit" => "923",
        "expired" => "947",
        "failedstarttls" => "976",
        "filtered" if temporary => "924",
        "filtered" => "910",
        "hasmoved" if !temporary => "916",
        "hostunknown" if !temporary => "912",
        "mailboxfull" => "922",
        "mailererror" => "939",
        "mesgtoobig" => "934",
        "networkerror" => "944",
        "norelaying" => "909",
        "notaccept" => "932",
        "notcompliantrfc" => "974",
        "onhold" => "901",
        "policyviolation" => "972",
        "rejected" => "918",
        "requireptr" => "973",
        "securityerror" => "970",
        "spamdetected" => "980",
        "speeding" => "946",
        "suppressed" => "903",
        "suspend" => "921",
        "systemerror" => "930",
        "systemfull" => "931",
        "syntaxerror" => "902",
        "toomanyconn" => "945",
        "userunknown" if !temporary => "911",
        "undefined" => "900",
        "virusdetected" => "981",
        _ => return String::new(),
    };
    format!("{}.0.{}", if temporary { '4' } else { '5' }, detail)
}

fn status_name(code: &str) -> &'static str {
    match code {
        "2.1.5" => "delivered",
        "4.1.6" => "hasmoved",
        "4.1.7" | "4.1.8" => "rejected",
        "4.1.9" => "systemerror",
        "4.2.1" => "blocked",
        "4.2.2" => "mailboxfull",
        "4.2.3" => "exceedlimit",
        "4.2.4" => "filtered",
        "4.3.1" => "systemfull",
        "4.3.2" => "notaccept",
        "4.3.3" | "4.3.5" => "systemerror",
        "4.4.1" => "expired",
        "4.4.2" => "networkerror",
        "4.4.3" => "systemerror",
        "4.4.4" => "networkerror",
        "4.4.5" => "systemfull",
        "4.4.6" => "networkerror",
        "4.4.7" => "expired",
        "4.4.8" => "networkerror",
        "4.5.3" | "4.5.5" => "systemerror",
        "4.6.0" | "4.6.2" | "4.6.5" => "contenterror",
        "4.7.1" | "4.7.2" => "blocked",
        "4.7.5" | "4.7.6" | "4.7.7" | "4.7.12" | "4.7.15" => "securityerror",
        "4.7.16" => "mesgtoobig",
        "4.7.24" | "4.7.26" => "authfailure",
        "4.7.25" => "requireptr",
        "5.1.0" | "5.1.1" | "5.1.3" => "userunknown",
        "5.1.2" => "hostunknown",
        "5.1.4" => "filtered",
        "5.1.6" => "hasmoved",
        "5.1.7" | "5.1.8" => "rejected",
        "5.1.9" => "systemerror",
        "5.1.10" => "notaccept",
        "5.2.0" | "5.2.1" | "5.2.4" => "filtered",
        "5.2.2" => "mailboxfull",
        "5.2.3" => "exceedlimit",
        "5.3.0" | "5.3.3" | "5.3.5" => "systemerror",
        "5.3.1" => "systemfull",
        "5.3.2" => "notaccept",
        "5.3.4" => "mesgtoobig",
        "5.4.0" => "networkerror",
        "5.4.3" => "systemerror",
        "5.4.4" => "hostunknown",
        "5.5.2" | "5.5.6" => "syntaxerror",
        "5.5.3" => "toomanyconn",
        "5.5.4" | "5.5.5" => "systemerror",
        "5.6.0" | "5.6.1" | "5.6.2" | "5.6.3" | "5.6.5" | "5.6.6" | "5.6.7" | "5.6.8" | "5.6.9" => "contenterror",
        "5.7.0" | "5.7.1" | "5.7.2" | "5.7.3" | "5.7.4" | "5.7.5" | "5.7.6" | "5.7.7" | "5.7.8" | "5.7.9"
        | "5.7.10" | "5.7.11" | "5.7.14" | "5.7.15" | "5.7.19" => "securityerror",
        "5.7.13" => "suspend",
        "5.7.16" => "mesgtoobig",
        "5.7.17" | "5.7.18" => "hasmoved",
        "5.7.20" | "5.7.21" | "5.7.22" | "5.7.23" | "5.7.24" | "5.7.26" | "5.7.29" => "authfailure",
        "5.7.25" => "requireptr",
        "5.7.27" => "notaccept",
        "5.7.28" => "spamdetected",
        "5.7.30" => "failedstarttls",
        _ => "",
    }
}

// ---------------------------------------------------------------------------
// Finding codes in free text
// ---------------------------------------------------------------------------

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b").unwrap());

/// Enhanced status code in free text; prefers specific codes over "X.0.0".
fn status_find(text: &str, hint: &str) -> String {
    if text.len() < 7 {
        return String::new();
    }
    let text = &text[..floor_char(text, 64 * 1024)];
    let masked = IPV4.replace_all(text, "***.***.***.***");
    let s = format!(" {masked}   ");
    let b = s.as_bytes();
    let classes: Vec<u8> = match hint.as_bytes().first() {
        Some(c @ (b'2' | b'4' | b'5')) => vec![*c],
        _ => vec![b'5', b'4', b'2'],
    };
    let mut found: Vec<String> = Vec::new();
    let mut another = String::new();
    let n = b.len();
    let mut i = 1;
    while i + 1 < n {
        let c = b[i];
        if !(classes.contains(&c) && b[i + 1] == b'.') {
            i += 1;
            continue;
        }
        let prev = b[i - 1];
        let subject = if i + 2 < n { b[i + 2] } else { 0 };
        let dot = if i + 3 < n { b[i + 3] } else { 0 };
        if (46..58).contains(&prev) || prev == b'V' || prev == b'v' || !(b'0'..=b'7').contains(&subject) || dot != b'.'
        {
            i += 1;
            continue;
        }
        let d1 = if i + 4 < n { b[i + 4] } else { 0 };
        if !d1.is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut code = vec![c, b'.', subject, b'.', d1];
        let code_str = |v: &Vec<u8>| String::from_utf8_lossy(v).into_owned();
        let short = code_str(&code);
        if short[1..].starts_with(".0.0") || short == "4.4.7" {
            another = short;
            i += 5;
            continue;
        }
        let d2 = if i + 5 < n { b[i + 5] } else { 0 };
        if !d2.is_ascii_digit() {
            found.push(code_str(&code));
            i += 5;
            continue;
        }
        code.push(d2);
        let d3 = if i + 6 < n { b[i + 6] } else { 0 };
        if !d3.is_ascii_digit() {
            found.push(code_str(&code));
            i += 6;
            continue;
        }
        code.push(d3);
        let next = if i + 7 < n { b[i + 7] } else { 0 };
        if !next.is_ascii_digit() {
            found.push(code_str(&code));
        }
        i += 7;
    }
    if !another.is_empty() {
        found.push(another);
    }
    let mut cv = String::new();
    for (j, e) in found.into_iter().enumerate() {
        if j == 0 {
            cv = e;
        } else {
            cv = status_prefer(&cv, &e, "");
        }
    }
    cv
}

fn status_prefer(status: &str, in_mesg: &str, reply: &str) -> String {
    if status.is_empty() {
        return in_mesg.to_string();
    }
    if in_mesg.is_empty() {
        return status.to_string();
    }
    if status.len() < 5 {
        return in_mesg.to_string();
    }
    if in_mesg.len() < 5 {
        return status.to_string();
    }
    let r = reply.as_bytes().first().copied().unwrap_or(b'0');
    let s0 = status.as_bytes()[0];
    let m0 = in_mesg.as_bytes()[0];
    if r != b'0' && s0 != m0 {
        if r == s0 {
            return status.to_string();
        }
        if r == m0 {
            return in_mesg.to_string();
        }
    }
    if status == in_mesg {
        return status.to_string();
    }
    let z1 = (status.find(".0"), in_mesg.find(".0"));
    let z2 = (status.find(".0.0"), in_mesg.find(".0.0"));
    if z2.0.is_some_and(|p| p > 0) {
        return if z2.1.is_none() {
            in_mesg.to_string()
        } else {
            status.to_string()
        };
    }
    if z1.0.is_some_and(|p| p > 0) && z1.1.is_none() {
        return in_mesg.to_string();
    }
    if z2.1.is_some_and(|p| p > 0) {
        return status.to_string();
    }
    if status == "4.4.7" || status == "4.7.0" || status.starts_with("5.3.") {
        return in_mesg.to_string();
    }
    let sub = &status[1..];
    if sub.starts_with(".5.1") || sub.starts_with(".5.2") || sub.starts_with(".5.4") || sub.starts_with(".5.5") {
        return in_mesg.to_string();
    }
    if status == "5.1.1" {
        if z1.1.is_some_and(|p| p > 0) || in_mesg.starts_with("5.5.") {
            return status.to_string();
        }
        return in_mesg.to_string();
    }
    if status == "5.1.3" && in_mesg.starts_with("5.7.") {
        return in_mesg.to_string();
    }
    status.to_string()
}

const REPLY5: &[&str] = &[
    "550", "552", "553", "551", "521", "525", "523", "524", "530", "533", "534", "535", "538", "555", "556", "554",
    "500", "501", "502", "503", "504",
];
const REPLY4: &[&str] = &[
    "421", "450", "451", "452", "422", "430", "432", "453", "454", "455", "458", "459",
];
const REPLY2: &[&str] = &[
    "211", "214", "220", "221", "235", "250", "251", "252", "253", "334", "354",
];

/// SMTP reply code in free text.
fn reply_find(text: &str, hint: &str) -> String {
    if text.len() < 3 || text.to_ascii_uppercase().contains("X-UNIX") {
        return String::new();
    }
    let text = &text[..floor_char(text, 64 * 1024)];
    let s = format!(" {text} ");
    let b = s.as_bytes();
    let lists: Vec<&[&str]> = match hint.as_bytes().first() {
        Some(b'2') => vec![REPLY2],
        Some(b'4') => vec![REPLY4],
        Some(b'5') => vec![REPLY5],
        _ => vec![REPLY5, REPLY4, REPLY2],
    };
    for list in lists {
        for code in list {
            let mut from = 1;
            while let Some(p) = s.get(from..).and_then(|t| t.find(code)) {
                let at = from + p;
                let before = b[at - 1];
                let after = b.get(at + 3).copied().unwrap_or(b' ');
                if !(46..58).contains(&before) && !(46..58).contains(&after) {
                    return (*code).to_string();
                }
                from = at + 3;
            }
        }
    }
    String::new()
}

/// Last SMTP command named in the text ("RCPT", "DATA", ...).
fn command_find(text: &str) -> String {
    const DETECTABLE: &[&str] = &[
        "HELO",
        "EHLO",
        "STARTTLS",
        "AUTH PLAIN",
        "AUTH LOGIN",
        "AUTH CRAM-",
        "AUTH DIGEST-",
        "MAIL F",
        "RCPT",
        "RCPT T",
        "DATA",
        "QUIT",
        "XFORWARD",
    ];
    if text.len() < 4 {
        return String::new();
    }
    let text = &text[..floor_char(text, 64 * 1024)];
    let padded = format!(" {text} ");
    let pb = padded.as_bytes();
    let mut set: Vec<&str> = Vec::new();
    for e in DETECTABLE {
        let Some(p0) = text.find(e) else {
            continue;
        };
        if !e.contains(' ') {
            let ca = pb[p0];
            let cz = pb.get(p0 + e.len() + 1).copied().unwrap_or(b' ');
            if ca.is_ascii_alphanumeric() || cz.is_ascii_alphanumeric() || ca == b'@' || cz == b'@' || ca == b'`' {
                continue;
            }
        }
        let short = match &e[..4] {
            "STAR" => "STARTTLS",
            "XFOR" => "XFORWARD",
            s => s,
        };
        if set.iter().any(|s| s.starts_with(&short[..4])) {
            continue;
        }
        set.push(short);
    }
    set.last().map(|s| s.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;
    use std::path::Path;

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora/sisimai");

    /// Classifies every message of a file; a few corpus files are mboxes of two bounces.
    fn parse_file_with(path: &Path, null_sender: bool) -> Option<Report> {
        let bytes = std::fs::read(path).ok()?;
        let mut report: Option<Report> = None;
        for chunk in mbox_messages(&bytes) {
            let Some(msg) = MessageParser::default().parse(chunk) else {
                continue;
            };
            match (&mut report, classify(&msg, null_sender)) {
                (None, r) => report = r,
                (Some(acc), Some(r)) => acc.recipients.extend(r.recipients),
                (Some(_), None) => {}
            }
        }
        report
    }

    fn parse_file(path: &Path) -> Option<Report> {
        parse_file_with(path, true)
    }

    fn mbox_messages(bytes: &[u8]) -> Vec<&[u8]> {
        let mut starts = vec![0];
        let mut i = 0;
        while let Some(p) = bytes[i..].windows(7).position(|w| w == b"\n\nFrom ") {
            let at = i + p + 2;
            starts.push(at);
            i = at;
        }
        starts.push(bytes.len());
        starts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
    }

    #[test]
    fn status_find_prefers_specific_codes() {
        assert_eq!(status_find("550 5.1.1 <a@b.c>... User unknown", ""), "5.1.1");
        assert_eq!(status_find("host 192.0.2.1 said 5.0.0 then 5.2.2", ""), "5.2.2");
        assert_eq!(status_find("DragonFly v5.1.1", ""), "");
        assert_eq!(reply_find("host said: 550 5.1.1 unknown", ""), "550");
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs: [&[u8]; 4] = [
            b"From: MAILER-DAEMON\nSubject: failure notice\n\n<\xff\xfe@x>:\n5.",
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822;\nStatus: 5.\n--x--",
            b"Subject: Undeliverable\nFrom: postmaster@x\n\n\xe3\x81\x82 5.1.1",
            b"From: <>\n\n",
        ];
        for raw in inputs {
            if let Some(msg) = MessageParser::default().parse(raw) {
                let _ = classify(&msg, true);
                let _ = classify(&msg, false);
            }
        }
    }

    #[test]
    fn sisimai_corpus() {
        let dir = Path::new(CORPUS).join("maildir/bsd");
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(Path::new(CORPUS).join("expected.json")).expect("expected.json"),
        )
        .expect("json");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .expect("corpus dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort();
        let (mut classified, mut total) = (0, 0);
        let (mut matched, mut entries) = (0, 0);
        let mut misses: Vec<String> = Vec::new();
        let mut classified_non_null = 0;
        for name in &names {
            let report = parse_file(&dir.join(name));
            // The real MAIL FROM of a bounce is usually <> but not always.
            let non_null = parse_file_with(&dir.join(name), false);
            if name.starts_with("rfc3834-") {
                assert!(report.is_none(), "{name}: vacation reply classified as a bounce");
                assert!(non_null.is_none(), "{name}: vacation reply classified as a bounce");
                continue;
            }
            if non_null.is_some_and(|r| r.kind == report.as_ref().map_or(ReportKind::Bounce, |x| x.kind.clone())) {
                classified_non_null += 1;
            }
            total += 1;
            let exp = expected.get(format!("maildir/bsd/{name}"));
            let list = exp
                .and_then(|e| e["recipients"].as_array())
                .cloned()
                .unwrap_or_default();
            let Some(report) = report else {
                misses.push(format!("{name}: not classified"));
                entries += list.len();
                continue;
            };
            let feedback = name.starts_with("arf-") || list.iter().any(|e| e["reason"] == "feedback");
            let want_kind = if feedback {
                ReportKind::Feedback
            } else {
                ReportKind::Bounce
            };
            if report.kind == want_kind {
                classified += 1;
            } else {
                misses.push(format!("{name}: kind {:?}", report.kind));
            }
            for (i, e) in list.iter().enumerate() {
                entries += 1;
                let status = e["status"].as_str().unwrap_or("");
                let hard = e["hard_bounce"].as_bool().unwrap_or(false);
                match report.recipients.get(i) {
                    Some(got) if got.status == status && got.hard == hard => matched += 1,
                    Some(got) => misses.push(format!(
                        "{name}#{i}: want {status}/{hard}/{} got {}/{}/{} ({})",
                        e["reason"].as_str().unwrap_or(""),
                        got.status,
                        got.hard,
                        got.reason,
                        got.recipient
                    )),
                    None => misses.push(format!("{name}#{i}: missing recipient (want {status})")),
                }
            }
        }
        if let Ok(path) = std::env::var("BOUNCE_MISSES") {
            let _ = std::fs::write(path, misses.join("\n"));
        }
        let rate = 100.0 * matched as f64 / entries.max(1) as f64;
        eprintln!(
            "sisimai: classified {classified}/{total} (non-null MAIL FROM: {classified_non_null}/{total}), \
             status+hard match {matched}/{entries} ({rate:.1}%)"
        );
        assert_eq!(classified, total, "unclassified: {misses:?}");
        assert_eq!(classified_non_null, total);
        assert!(rate >= 95.0, "status+hard match {rate:.1}% < 95%");
    }

    #[test]
    fn bounded_on_huge_input() {
        let mut raw = String::from(
            "From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n\nThis is the mail system.\n\n",
        );
        for i in 0..200_000 {
            raw.push_str(&format!("<user{i}@example.net>: host mx said: 550 5.1.1 unknown\n"));
        }
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
        let started = std::time::Instant::now();
        let report = classify(&msg, true).expect("bounce");
        assert!(report.recipients.len() <= MAX_RECIPIENTS);
        assert_eq!(report.recipients[0].status, "5.1.1");
        assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
    }

    #[test]
    fn plain_postfix_bounce_and_vacation() {
        let bounce = "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n\
Subject: Undelivered Mail Returned to Sender\nTo: neko@example.jp\n\n\
This is the mail system at host mx.example.org.\n\n\
<kijitora@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1\n\
    <kijitora@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command)\n";
        let msg = MessageParser::default().parse(bounce.as_bytes()).expect("parse");
        for null in [true, false] {
            let r = classify(&msg, null).expect("bounce");
            assert_eq!(r.kind, ReportKind::Bounce);
            assert_eq!(r.recipients.len(), 1);
            let f = &r.recipients[0];
            assert_eq!(
                (
                    f.recipient.as_str(),
                    f.status.as_str(),
                    f.reply_code.as_str(),
                    f.reason.as_str(),
                    f.hard
                ),
                ("kijitora@example.net", "5.1.1", "550", "userunknown", true)
            );
        }
        let vacation = "From: kijitora@example.net\nTo: neko@example.jp\nSubject: Out of Office: lunch\n\
Auto-Submitted: auto-replied\n\nI am out of the office until Monday and could not deliver your lunch order.\n";
        let msg = MessageParser::default().parse(vacation.as_bytes()).expect("parse");
        assert!(classify(&msg, true).is_none());
        let quoting = "From: kijitora@example.net\nTo: neko@example.jp\n\
Subject: Automatic reply: Undeliverable: lunch\n\n\
I am away. Your returned mail could not be delivered to me until Monday.\n";
        let msg = MessageParser::default().parse(quoting.as_bytes()).expect("parse");
        assert!(classify(&msg, true).is_none());
    }

    #[test]
    fn ordinary_messages_are_not_bounces() {
        let dir = Path::new(CORPUS).join("maildir/not");
        for e in std::fs::read_dir(&dir).expect("not dir").filter_map(|e| e.ok()) {
            let r = parse_file(&e.path());
            assert!(r.is_none(), "{:?} classified as {:?}", e.path(), r);
        }
    }
}
