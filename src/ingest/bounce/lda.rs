//! Local delivery agents (procmail, maildrop, mail.local, ...): their error texts and reasons.

use super::fact::Fact;

/// Local delivery agents (procmail, maildrop, mail.local, ...) and their errors.
pub(super) fn lda_find(fo: &Fact) -> String {
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
