//! Exim's bounce wording: its "SMTP error from remote" lines and its own messages.

use crate::ingest::bounce::codes::{command_find, reply_find, status_find, status_prefer};
use crate::ingest::bounce::reason::{pseudo_status, sweep};
use crate::ingest::bounce::recipients::Raw;
use crate::ingest::text::contains_any;

pub(in crate::ingest::bounce) fn exim_adjust(r: &mut Raw) {
    let d = sweep(&r.diagnosis);
    if contains_any(&d, &["SMTP error from remote ", "LMTP error after "]) {
        r.command = command_find(&d);
    } else {
        r.command.clear();
    }
    r.command_set = true;
    const MESSAGES: &[(&str, &[&str])] = &[
        ("userunknown", &["user not found"]),
        (
            "hostunknown",
            &[
                "all host address lookups failed permanently",
                "all relevant MX records point to non-existent hosts",
                "Unrouteable address",
            ],
        ),
        ("mailboxfull", &["mailbox is full", "error: quota exceed"]),
        (
            "notaccept",
            &[
                "an MX or SRV record indicated no SMTP service",
                "no host found for existing SMTP connection",
            ],
        ),
        (
            "syntaxerror",
            &[
                "angle-brackets nested too deep",
                "expected word or \"<\"",
                "domain missing in source-routed address",
                "malformed address:",
            ],
        ),
        (
            "systemerror",
            &[
                "delivery to file forbidden",
                "delivery to pipe forbidden",
                "local delivery failed",
                "LMTP error after ",
            ],
        ),
        ("contenterror", &["Too many \"Received\" headers"]),
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
        "EHLO" | "HELO" => r.reason = "blocked".into(),
        "MAIL" => r.reason = "onhold".into(),
        _ => {
            if let Some((reason, _)) = MESSAGES.iter().find(|(_, ps)| contains_any(&d, ps)) {
                r.reason = (*reason).into();
            } else if contains_any(&d, DELAYED) {
                r.reason = "expired".into();
            } else if d.contains("pipe to |") {
                r.reason = "mailererror".into();
            }
        }
    }
    let cr = reply_find(&d, &r.status);
    let cs = status_find(&d, &cr);
    let temporary = cr.starts_with('4') || r.reason == "expired" || r.reason == "mailboxfull";
    let cv = pseudo_status(&r.reason, temporary);
    if r.reply_code.is_empty() {
        r.reply_code = cr.clone();
    }
    if r.status.is_empty() {
        r.status = status_prefer(&cs, &cv, &cr);
    }
}
