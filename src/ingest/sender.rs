//! Who the contact of a message is: the person an agent would answer.
//!
//! The rule:
//! 1. The From address (the Sender header only when From is missing or unusable).
//! 2. Except when From is a "no-reply"-style sender (web-form notifications, the platform's own
//!    notifiers) and the message names a different Reply-To: then the first Reply-To.
//! 3. The SMTP envelope sender never becomes a contact: it is often SRS-rewritten by forwarders,
//!    VERP-encoded by list servers, or empty.

use crate::mail::{Mailbox, ParsedMessage};

/// Local parts that say "nobody reads replies here".
const NO_REPLY_NAMES: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "notifications",
    "notification",
    "notify",
    "forms",
    "webform",
    "web-form",
    "wordpress",
    "www-data",
    "mailer",
];

/// The contact's mailbox by the rule above, or None when the message names nobody.
pub fn contact_mailbox(message: &ParsedMessage) -> Option<Mailbox> {
    let from = message.from.as_ref().or(message.sender.as_ref())?;
    if is_no_reply(&from.email)
        && let Some(reply_to) = message.reply_to.first()
        && reply_to.key() != from.key()
    {
        return Some(reply_to.clone());
    }
    Some(from.clone())
}

/// True for `noreply@…`, `no-reply+forms@…`, `donotreply-team@…`.
pub fn is_no_reply(email: &str) -> bool {
    let local = email.rsplit_once('@').map_or(email, |(l, _)| l).to_ascii_lowercase();
    let base = local.split('+').next().unwrap_or("");
    NO_REPLY_NAMES.contains(&base)
        || ["noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"]
            .iter()
            .any(|p| base.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::{contact_mailbox, is_no_reply};
    use crate::mail::{ParsedMessage, mailbox};

    fn message(from: &str, reply_to: Option<&str>) -> ParsedMessage {
        ParsedMessage {
            parsed: true,
            from: mailbox(from, Some("Site")),
            reply_to: reply_to.and_then(|r| mailbox(r, Some("Visitor"))).into_iter().collect(),
            ..ParsedMessage::default()
        }
    }

    #[test]
    fn from_is_the_contact() {
        let m = message("jane@customer.example", Some("other@customer.example"));
        assert_eq!(contact_mailbox(&m).unwrap().email, "jane@customer.example");
    }

    #[test]
    fn no_reply_senders_yield_their_reply_to() {
        let m = message("no-reply@forms.platform.example", Some("visitor@gmail.example"));
        let c = contact_mailbox(&m).unwrap();
        assert_eq!(c.email, "visitor@gmail.example");
        assert_eq!(c.name.as_deref(), Some("Visitor"));
        let m = message("noreply@forms.platform.example", None);
        assert_eq!(contact_mailbox(&m).unwrap().email, "noreply@forms.platform.example");
        assert!(is_no_reply("DoNotReply-Billing@x.example"));
        assert!(!is_no_reply("noreen@x.example"));
    }
}
