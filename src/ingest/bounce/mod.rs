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

use crate::mail::Reason;
use detect::looks_like_bounce;
use feedback::feedback_report;
use message::Doc;
use reason::finish;
use recipients::{dsn_recipients, enrich_from_text, fallback_recipients, text_recipients};
use vendor::{Vendor, detect_vendor, sns_notification, vendor_adjust, vendor_recipients};

mod codes;
mod detect;
mod fact;
mod feedback;
mod fields;
mod lda;
mod message;
mod microsoft;
mod patterns;
mod reason;
mod recipients;
mod rhost;
mod vendor;

use mail_parser::{Message, PartType};

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
    /// sisimai's reason: `userunknown`, `mailboxfull`, `feedback`, ...
    pub reason: Reason,
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

#[cfg(test)]
mod tests;
