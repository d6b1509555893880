//! Exim's bounce wording: its "SMTP error from remote" lines and its own messages.

use crate::ingest::bounce::codes::{command_find, reply_find, status_find, status_prefer};
use crate::ingest::bounce::reason::{pseudo_status, sweep};
use crate::ingest::bounce::recipients::Raw;
use crate::ingest::text::contains_any;
use crate::mail::Reason;

pub(in crate::ingest::bounce) fn exim_adjust(r: &mut Raw) {
    let d = sweep(&r.diagnosis);
    if contains_any(&d, &["SMTP error from remote ", "LMTP error after "]) {
        r.command = command_find(&d);
    } else {
        r.command.clear();
    }
    r.command_set = true;
    const MESSAGES: &[(Reason, &[&str])] = &[
        (Reason::UserUnknown, &["user not found"]),
        (
            Reason::HostUnknown,
            &[
                "all host address lookups failed permanently",
                "all relevant MX records point to non-existent hosts",
                "Unrouteable address",
            ],
        ),
        (Reason::MailboxFull, &["mailbox is full", "error: quota exceed"]),
        (
            Reason::NotAccept,
            &[
                "an MX or SRV record indicated no SMTP service",
                "no host found for existing SMTP connection",
            ],
        ),
        (
            Reason::SyntaxError,
            &[
                "angle-brackets nested too deep",
                "expected word or \"<\"",
                "domain missing in source-routed address",
                "malformed address:",
            ],
        ),
        (
            Reason::SystemError,
            &[
                "delivery to file forbidden",
                "delivery to pipe forbidden",
                "local delivery failed",
                "LMTP error after ",
            ],
        ),
        (Reason::ContentError, &["Too many \"Received\" headers"]),
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
        "EHLO" | "HELO" => r.reason = Some(Reason::Blocked),
        "MAIL" => r.reason = Some(Reason::OnHold),
        _ => {
            if let Some((reason, _)) = MESSAGES.iter().find(|(_, ps)| contains_any(&d, ps)) {
                r.reason = (*reason).into();
            } else if contains_any(&d, DELAYED) {
                r.reason = Some(Reason::Expired);
            } else if d.contains("pipe to |") {
                r.reason = Some(Reason::MailerError);
            }
        }
    }
    let cr = reply_find(&d, &r.status);
    let cs = status_find(&d, &cr);
    let temporary = cr.starts_with('4') || r.reason == Some(Reason::Expired) || r.reason == Some(Reason::MailboxFull);
    let cv = r
        .reason
        .map(|reason| pseudo_status(reason, temporary))
        .unwrap_or_default();
    if r.reply_code.is_empty() {
        r.reply_code = cr.clone();
    }
    if r.status.is_empty() {
        r.status = status_prefer(&cs, &cv, &cr);
    }
}
