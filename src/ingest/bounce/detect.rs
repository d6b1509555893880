//! Whether a message is a delivery report at all: report types, subjects, senders and phrases.

use super::message::{Doc, is_daemon_local};
use super::vendor::{is_fml_error, is_kddi_error};
use crate::ingest::text::truncate;

pub(super) const BOUNCE_SUBJECTS: &[&str] = &[
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

pub(super) const BOUNCE_PHRASES: &[&str] = &[
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

pub(super) fn looks_like_bounce(doc: &Doc, envelope_null_sender: bool) -> bool {
    if !doc.dsn.is_empty() || (doc.content_type.contains("report-type") && doc.content_type.contains("delivery-status"))
    {
        return true;
    }
    if doc.header("x-failed-recipients").is_some() {
        return true;
    }
    let from = doc.from.to_lowercase();
    let subject = doc.subject.to_lowercase();
    // Lower-casing the text and scanning it for every phrase costs more than all the rest for a
    // person's mail: both are done only when the sender or the subject makes a bounce possible.
    let lowered = std::cell::OnceCell::new();
    let text = || lowered.get_or_init(|| lower_prefix(&doc.text, 64 * 1024)).as_str();
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
    if is_fml_error(doc) || is_kddi_error(doc, text) {
        return true;
    }
    let phrase = || BOUNCE_PHRASES.iter().any(|p| text().contains(p));
    if daemon_sender && phrase() {
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
    if bounce_subject && phrase() {
        return true;
    }
    // An unmistakable MTA phrase is enough on its own when the envelope or the
    // sender says the mail was generated by a machine.
    (envelope_null_sender || daemon_sender) && strong_phrase(text())
}

pub(super) fn strong_phrase(text: &str) -> bool {
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

pub(super) fn lower_prefix(s: &str, n: usize) -> String {
    truncate(s, n).to_lowercase()
}
