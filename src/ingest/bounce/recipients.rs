//! The failed recipients: RFC 3464 delivery-status fields first, then the human-readable texts of MTAs that send none.

use crate::mail::Reason;
use regex::Regex;

use super::MAX_RECIPIENTS;
use super::codes::{command_find, reply_find, status_find};
use super::fields::{FieldLine, continue_field, field_line, parse_header_block};
use super::message::{Doc, find_emails, first_email, is_daemon_local};
use crate::ingest::text::email;
use crate::mail::email_key;
use std::sync::LazyLock;

#[derive(Debug, Clone, Default)]
pub(super) struct Raw {
    pub(super) recipient: String,
    pub(super) status: String,
    pub(super) diagnosis: String,
    /// Diagnostic-Code type ("SMTP", "X-UNIX", ...).
    pub(super) spec: String,
    pub(super) action: String,
    pub(super) command: String,
    pub(super) reply_code: String,
    /// Reason decided by the format itself (e.g. from a vendor error table).
    pub(super) reason: Option<Reason>,
    pub(super) rhost: String,
    /// The command was settled by the format (even when empty).
    pub(super) command_set: bool,
}

pub(super) fn dsn_recipients(doc: &Doc) -> Vec<Raw> {
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
pub(super) fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        match field_line(line) {
            FieldLine::Blank if !block.is_empty() => blocks.push(std::mem::take(&mut block)),
            FieldLine::Blank | FieldLine::Other(_) => {}
            FieldLine::Continuation(more) => continue_field(&mut block, more),
            FieldLine::Field(name, value) => block.push((name, value.to_string())),
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

pub(super) fn raw_from_fields(fields: &[(String, String)]) -> Option<Raw> {
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

pub(super) fn dedupe(raws: Vec<Raw>) -> Vec<Raw> {
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

pub(super) fn dsn_address(value: &str) -> String {
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
pub(super) fn plain_status(v: &str) -> String {
    static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*([245]\.\d{1,3}\.\d{1,3})").unwrap());
    RE.captures(v)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .unwrap_or_default()
}

/// Fill what a DSN lacks (diagnostic text, command) from the human-readable text.
pub(super) fn enrich_from_text(raws: &mut [Raw], text_raws: &[Raw]) {
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
            if r.reason.is_none() {
                r.reason = t.reason;
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

pub(super) fn text_recipients(doc: &Doc) -> Vec<Raw> {
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
        if is_sender_context(&lower) || is_message_id_line(&lower) {
            continue;
        }
        for (span, found) in email::find_spans(line) {
            let a = email_key(&found);
            let ctx = recipient_context(line, span.start, span.end);
            // Listed first on a bare line, named as failed on a later one: the later line counts too.
            if let Some(known) = cands.iter_mut().find(|(c, _, _)| *c == a) {
                known.2 |= ctx;
                continue;
            }
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

pub(super) fn block_after(lines: &[&str], start: usize, end: usize) -> String {
    let mut out = String::new();
    let end = end.min(lines.len()).min(start + 60);
    for line in lines.iter().take(end).skip(start) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Message-ID, References and In-Reply-To values look like addresses and never are recipients.
fn is_message_id_line(lower: &str) -> bool {
    let field = lower.trim_start_matches(['>', ' ', '\t']);
    ["message-id:", "references:", "in-reply-to:", "x-message-id:"]
        .iter()
        .any(|f| field.starts_with(f))
}

pub(super) fn is_sender_context(lower: &str) -> bool {
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
pub(super) fn recipient_context(line: &str, start: usize, end: usize) -> bool {
    let before = line[..start]
        .trim_end_matches(['<', '"', '\'', '(', '['])
        .to_ascii_lowercase();
    let before_t = before.trim();
    let after = line[end..].trim_start_matches(['>', '"', '\'', ')', ']']);
    // Alone on its line, also inside a quoted (forwarded) notice.
    if before_t.trim_start_matches(['>', ' ', '\t']).is_empty() {
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

pub(super) fn fallback_recipients(doc: &Doc) -> Vec<Raw> {
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
