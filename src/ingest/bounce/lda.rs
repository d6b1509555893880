//! Local delivery agents (procmail, maildrop, mail.local, ...): their error texts and reasons.

use super::fact::Fact;
use crate::mail::Reason;

/// Local delivery agents (procmail, maildrop, mail.local, ...) and their errors.
pub(super) fn lda_find(fo: &Fact) -> Option<Reason> {
    if fo.diag.is_empty() || !(fo.command.is_empty() || fo.command == "DATA") {
        return None;
    }
    const AGENTS: &[(&str, &[&str])] = &[
        ("dovecot", &["your message to <", "> was automatically rejected:"]),
        ("mail.local", &["mail.local: "]),
        ("procmail", &["procmail: ", "/procmail "]),
        ("maildrop", &["maildrop: "]),
        ("vpopmail", &["vdelivermail: "]),
        ("vmailmgr", &["vdeliver: "]),
    ];
    const MESSAGES: &[(&str, Reason, &[&str])] = &[
        (
            "dovecot",
            Reason::MailboxFull,
            &["not enough disk space", "quota exceeded"],
        ),
        ("dovecot", Reason::UserUnknown, &["mailbox doesn't exist: "]),
        (
            "mail.local",
            Reason::MailboxFull,
            &["disc quota exceeded", "mailbox full or quota exceeded"],
        ),
        ("mail.local", Reason::SystemError, &["temporary file write error"]),
        (
            "mail.local",
            Reason::UserUnknown,
            &[
                ": invalid mailbox path",
                ": unknown user:",
                ": user missing home directory",
                ": user unknown",
            ],
        ),
        (
            "procmail",
            Reason::MailboxFull,
            &["quota exceeded while writing", "user over quota"],
        ),
        ("procmail", Reason::SystemError, &["service unavailable"]),
        ("procmail", Reason::SystemFull, &["no space left to finish writing"]),
        ("maildrop", Reason::MailboxFull, &["maildir over quota."]),
        (
            "maildrop",
            Reason::UserUnknown,
            &["cannot find system user", "invalid user specified."],
        ),
        (
            "vpopmail",
            Reason::Filtered,
            &["user does not exist, but will deliver to "],
        ),
        (
            "vpopmail",
            Reason::MailboxFull,
            &["domain is over quota", "user is over quota"],
        ),
        ("vpopmail", Reason::Suspend, &["account is locked email bounced"]),
        (
            "vpopmail",
            Reason::UserUnknown,
            &["sorry, no mailbox here by that name."],
        ),
        (
            "vmailmgr",
            Reason::MailboxFull,
            &["delivery failed due to system quota violation"],
        ),
        (
            "vmailmgr",
            Reason::UserUnknown,
            &[
                "invalid or unknown base user or domain",
                "invalid or unknown virtual user",
                "user name does not refer to a virtual user",
            ],
        ),
    ];
    let (agent, _) = AGENTS
        .iter()
        .find(|(_, keys)| keys.iter().any(|k| fo.diag.contains(k)))?;
    for (a, reason, phrases) in MESSAGES {
        if a == agent && phrases.iter().any(|p| fo.diag.contains(p)) {
            return Some(*reason);
        }
    }
    Some(Reason::MailerError)
}
