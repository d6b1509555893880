//! Provider notices with formats of their own: Amazon SES notifications relayed by SNS as JSON,
//! fml mailing-list errors, and KDDI (au) error mail.

use crate::mail::Reason;
use regex::Regex;

use crate::ingest::bounce::codes::status_find;
use crate::ingest::bounce::message::{Doc, find_emails, first_email};
use crate::ingest::bounce::reason::finish;
use crate::ingest::bounce::recipients::{Raw, plain_status};
use crate::ingest::bounce::{FailedRecipient, Report, ReportKind};
use std::sync::LazyLock;

/// Amazon SES notifications relayed by SNS as JSON in a plain-text mail.
pub(in crate::ingest::bounce) fn sns_notification(doc: &Doc) -> Option<Report> {
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
                        reason: Reason::Feedback,
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
pub(in crate::ingest::bounce) fn is_fml_error(doc: &Doc) -> bool {
    doc.header("x-mlserver").is_some()
        && doc.from.contains("-admin@")
        && doc.header("message-id").is_some_and(|m| m.contains(".FML"))
}

/// au by KDDI notices ("Your mail sent on: ... Could not be delivered to: <...>").
pub(in crate::ingest::bounce) fn is_kddi_error<'a>(doc: &Doc, lower_text: impl FnOnce() -> &'a str) -> bool {
    let from = doc.from.to_ascii_lowercase();
    let reply_to = doc.header("reply-to").unwrap_or("").to_ascii_lowercase();
    (from.contains(".dion.ne.jp") || reply_to.contains("no-reply@app.auone-net.jp"))
        && lower_text().contains("could not be delivered to:")
}
