//! ARF feedback reports (RFC 5965) and the vendor variants of complaints.

use super::fields::{parse_fields, parse_header_block};
use super::message::{Doc, first_email};
use super::{FailedRecipient, Report, ReportKind};
use crate::mail::Reason;

pub(super) fn feedback_report(doc: &Doc) -> Option<Report> {
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
                reason: Reason::Feedback,
                hard: false,
            })
            .collect(),
        feedback_type,
        original_message_id,
        original_addresses,
    })
}
