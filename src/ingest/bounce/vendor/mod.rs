//! MTA and provider formats that need more than the generic reading: which vendor wrote a report
//! (`detect_vendor`), the recipients its own layout names (`vendor_recipients`), its wording that
//! settles a reason (`adjust`, with Exim's in `exim`), and the notices with formats of their own
//! (`notices`: Amazon SES, fml, KDDI).

use crate::ingest::bounce::message::{Doc, clean_email, find_emails, first_email};
use crate::ingest::bounce::recipients::Raw;
use crate::mail::Reason;

mod adjust;
mod exim;
mod notices;

pub(super) use adjust::vendor_adjust;
pub(super) use notices::{is_fml_error, is_kddi_error, sns_notification};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Vendor {
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

pub(super) fn received_contains(doc: &Doc, needle: &str) -> bool {
    doc.headers.iter().any(|(k, v)| k == "received" && v.contains(needle))
}

pub(super) fn detect_vendor(doc: &Doc) -> Vendor {
    let from = doc.from.as_str();
    let subject = doc.subject.as_str();
    let text = doc.text.to_ascii_lowercase();
    if is_fml_error(doc) {
        return Vendor::Fml;
    }
    if is_kddi_error(doc, || text.as_str()) {
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

pub(super) fn vendor_recipients(doc: &Doc, vendor: Vendor) -> Option<Vec<Raw>> {
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
            let reason = if bullets { Reason::Rejected } else { Reason::OnHold };
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
pub(super) fn opensmtpd_lines(text: &str) -> Vec<(String, String)> {
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
