//! Deciding each recipient's status, reply code, reason and hardness from its diagnostic text.

use super::codes::{command_find, reply_find, status_find, status_prefer};
use super::fact::Fact;
use super::lda::lda_find;
use super::message::Doc;
use super::patterns::included_in;
use super::recipients::Raw;
use super::rhost::rhost_find;
use super::{FailedRecipient, MAX_DIAG};
use crate::ingest::text::truncate;

pub(super) fn finish(mut r: Raw, doc: &Doc) -> FailedRecipient {
    let mut diag = sweep(truncate(&r.diagnosis, 4 * MAX_DIAG));
    diag.truncate(truncate(&diag, MAX_DIAG).len());
    let mut status = r.status.clone();
    let mut reply = r.reply_code.clone();
    if !diag.is_empty() {
        let cs = status_find(&diag, "");
        let cr = reply_find(&diag, &cs);
        status = status_prefer(&status, &cs, &cr);
        if cr.len() == 3 {
            if reply.is_empty() {
                reply = cr.clone();
            }
            if diag.contains(&format!("{cr}-")) {
                for q in ["-", " "] {
                    diag = diag.replace(&format!("{cr}{q}{cs}"), "");
                    diag = diag.replace(&format!("{cr}{q}"), "");
                }
                if diag.contains(&cr) {
                    diag = format!("{cr} {cs} {diag}");
                }
                diag = sweep(&diag);
            }
        }
    }
    if r.spec.is_empty() {
        r.spec = if r.reason == "mailererror" {
            "X-UNIX".into()
        } else {
            "SMTP".into()
        };
    }
    if r.command.is_empty() && !r.command_set {
        r.command = command_find(&diag);
    }
    let fact = Fact {
        status: status.clone(),
        diag: diag.to_lowercase(),
        spec: r.spec.to_ascii_uppercase(),
        action: r.action.clone(),
        command: r.command.clone(),
        reply: reply.clone(),
        reason: r.reason.clone(),
    };
    let mut reason = r.reason.clone();
    if reason.is_empty() || should_be_retried(&reason) {
        let mut found = lda_find(&fact);
        if !is_explicit(&found) {
            found = rhost_find(&fact, &r.recipient, &r.rhost, doc);
        }
        if !is_explicit(&found) {
            found = reason_find(&fact, &reason);
        }
        reason = if is_explicit(&found) {
            found
        } else if !diag.is_empty() {
            "onhold".into()
        } else if reason.is_empty() {
            "undefined".into()
        } else {
            reason
        };
    }
    let hard = if reason == "delivered" || reason == "feedback" || reason == "vacation" {
        false
    } else {
        let cv = format!("{status} {diag}");
        is_hard_bounce(&reason, if cv.len() < 4 { "" } else { &cv })
    };
    if status.is_empty() {
        let ce = format!("{reply} {diag}");
        let ce = if ce.len() < 4 { String::new() } else { ce };
        let temporary = !is_permanent(&ce) && is_temporary(&ce);
        status = pseudo_status(&reason, temporary);
    }
    // The reply code must agree with the class of the status.
    let class = status.get(..1).unwrap_or("");
    if !class.is_empty() && !reply.is_empty() && !reply.starts_with(class) {
        let again = reply_find(&diag, class);
        reply = if again.starts_with(class) { again } else { String::new() };
    }
    FailedRecipient {
        recipient: r.recipient.to_lowercase(),
        status,
        reply_code: reply,
        reason,
        hard,
    }
}

pub(super) fn sweep(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

pub(super) fn is_explicit(reason: &str) -> bool {
    !(reason.is_empty() || reason == "undefined" || reason == "onhold")
}

pub(super) fn should_be_retried(reason: &str) -> bool {
    matches!(
        reason,
        "" | "undefined"
            | "onhold"
            | "systemerror"
            | "securityerror"
            | "expired"
            | "networkerror"
            | "hostunknown"
            | "userunknown"
    )
}

pub(super) fn reason_find(fo: &Fact, preset: &str) -> String {
    if !preset.is_empty() && !should_be_retried(preset) {
        return preset.to_string();
    }
    if fo.status.starts_with("2.") {
        return "delivered".into();
    }
    let mut found = String::new();
    if fo.spec == "SMTP" || fo.spec.is_empty() {
        for name in CLASS_ORDER_0 {
            if probe(name, fo) {
                found = (*name).to_string();
                break;
            }
        }
    }
    if found.is_empty() || found == "undefined" {
        found = another_one(fo, preset);
        if found == "undefined" {
            found.clear();
        }
        if found.is_empty() && fo.action == "delayed" {
            found = "expired".into();
        }
        if !found.is_empty() {
            return found;
        }
        if included_in("vacation", &fo.diag) {
            return "vacation".into();
        }
        if !fo.diag.is_empty() {
            return "onhold".into();
        }
        return "undefined".into();
    }
    found
}

pub(super) fn another_one(fo: &Fact, preset: &str) -> String {
    if is_explicit(preset) {
        return preset.to_string();
    }
    let named = status_name(&fo.status).to_string();
    if should_be_retried(&named) || fo.spec != "SMTP" {
        for name in CLASS_ORDER_1 {
            if included_in(name, &fo.diag) {
                return (*name).to_string();
            }
        }
        if !named.is_empty() {
            return named;
        }
        if let Some(sub) = fo.status.get(..3) {
            if sub == "5.6" || sub == "4.6" {
                return "contenterror".into();
            }
            if sub == "5.7" || sub == "4.7" {
                return "securityerror".into();
            }
        }
        if fo.spec.starts_with("X-UNIX") {
            return "mailererror".into();
        }
        if probe("syntaxerror", fo) {
            return "syntaxerror".into();
        }
        if fo.action == "delayed" || fo.action == "expired" {
            return "expired".into();
        }
        if fo.command == "EHLO" || fo.command == "HELO" {
            return "blocked".into();
        }
    }
    named
}

pub(super) const CLASS_ORDER_0: &[&str] = &[
    "mailboxfull",
    "mesgtoobig",
    "exceedlimit",
    "suspend",
    "hasmoved",
    "norelaying",
    "authfailure",
    "userunknown",
    "filtered",
    "requireptr",
    "notcompliantrfc",
    "badreputation",
    "contenterror",
    "rejected",
    "hostunknown",
    "spamdetected",
    "speeding",
    "toomanyconn",
    "blocked",
];

pub(super) const CLASS_ORDER_1: &[&str] = &[
    "mailboxfull",
    "authfailure",
    "badreputation",
    "speeding",
    "spamdetected",
    "virusdetected",
    "policyviolation",
    "norelaying",
    "systemerror",
    "networkerror",
    "suspend",
    "contenterror",
    "systemfull",
    "notaccept",
    "expired",
    "failedstarttls",
    "securityerror",
    "suppressed",
    "mailererror",
];

pub(super) const EXCEPT_DATA: &[&str] = &["CONN", "EHLO", "HELO", "MAIL", "RCPT"];

pub(super) fn probe(name: &str, fo: &Fact) -> bool {
    let named = status_name(&fo.status);
    let d = fo.diag.as_str();
    // A reason the format already named sticks unless an earlier class matches.
    if fo.reason == name && !(name == "spamdetected" && fo.status.is_empty()) {
        return true;
    }
    match name {
        "mailboxfull" => named == "mailboxfull" || included_in(name, d),
        "mesgtoobig" => {
            if named == "mesgtoobig" {
                return true;
            }
            if named == "exceedlimit" || fo.status == "5.2.3" {
                return false;
            }
            included_in(name, d)
        }
        "exceedlimit" => named == "exceedlimit" || included_in(name, d),
        "suspend" => fo.reply == "525" || included_in(name, d),
        "hasmoved" => included_in(name, d),
        "norelaying" => {
            if ["CONN", "EHLO", "HELO"].contains(&fo.command.as_str()) {
                return false;
            }
            included_in(name, d)
        }
        "authfailure" => named == "authfailure" || included_in(name, d),
        "userunknown" => {
            if named == "suspend" {
                return false;
            }
            if named == "userunknown" {
                let others = [
                    "norelaying",
                    "blocked",
                    "mailboxfull",
                    "hasmoved",
                    "rejected",
                    "notaccept",
                ];
                return !others.iter().any(|o| included_in(o, d));
            }
            fo.command == "RCPT" && included_in("userunknown", d)
        }
        "filtered" => {
            if named == "suspend" {
                return false;
            }
            if named == "filtered" {
                return included_in("userunknown", d) || included_in("filtered", d);
            }
            if EXCEPT_DATA.contains(&fo.command.as_str()) {
                return false;
            }
            included_in("filtered", d) || included_in("userunknown", d)
        }
        "requireptr" => named == "requireptr" || included_in(name, d),
        "notcompliantrfc" => included_in(name, d),
        "badreputation" => included_in(name, d),
        "contenterror" => {
            if probe("spamdetected", fo) {
                return false;
            }
            named == "contenterror" || included_in(name, d)
        }
        "rejected" => {
            if named == "rejected" {
                return true;
            }
            let temp = if named.is_empty() { "undefined" } else { named };
            let applies = fo.command == "MAIL"
                || (fo.command == "DATA" && temp != "userunknown")
                || !is_explicit(temp)
                || temp == "securityerror"
                || temp == "systemerror";
            applies && included_in(name, d)
        }
        "hostunknown" => {
            if named == "hostunknown" {
                return !included_in("networkerror", d);
            }
            included_in(name, d)
        }
        "spamdetected" => {
            if fo.status.is_empty() {
                return false;
            }
            if named == "spamdetected" {
                return true;
            }
            if EXCEPT_DATA.contains(&fo.command.as_str()) {
                return false;
            }
            included_in(name, d)
        }
        "speeding" => included_in(name, d),
        "toomanyconn" => named == "toomanyconn" || included_in(name, d),
        "blocked" => named == "blocked" || included_in(name, d),
        "syntaxerror" => match fo.reply.parse::<u32>() {
            Ok(r) => (401..408).contains(&r) || (501..508).contains(&r),
            Err(_) => false,
        },
        _ => false,
    }
}

pub(super) fn is_hard_bounce(reason: &str, code: &str) -> bool {
    match reason {
        "" | "undefined" | "onhold" | "delivered" | "feedback" | "vacation" => false,
        "hasmoved" | "userunknown" | "hostunknown" => true,
        "notaccept" => {
            if code.is_empty() {
                return true;
            }
            let mut cv = status_find(code, "");
            if cv.is_empty() {
                cv = reply_find(code, "");
            }
            cv.starts_with('5') || !is_temporary(code)
        }
        _ => false,
    }
}

pub(super) fn is_permanent(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut code = status_find(s, "");
    if code.is_empty() {
        code = reply_find(s, "");
    }
    code.starts_with('5') || s.to_lowercase().contains(" permanent ")
}

pub(super) fn is_temporary(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let mut code = status_find(s, "");
    if code.is_empty() {
        code = reply_find(s, "");
    }
    let l = s.to_lowercase();
    code.starts_with('4') || l.contains(" temporar") || l.contains(" persistent")
}

pub(super) fn pseudo_status(reason: &str, temporary: bool) -> String {
    let detail = match reason {
        "authfailure" => "926",
        "badreputation" => "975",
        "blocked" => "971",
        "contenterror" => "960",
        "exceedlimit" => "923",
        "expired" => "947",
        "failedstarttls" => "976",
        "filtered" if temporary => "924",
        "filtered" => "910",
        "hasmoved" if !temporary => "916",
        "hostunknown" if !temporary => "912",
        "mailboxfull" => "922",
        "mailererror" => "939",
        "mesgtoobig" => "934",
        "networkerror" => "944",
        "norelaying" => "909",
        "notaccept" => "932",
        "notcompliantrfc" => "974",
        "onhold" => "901",
        "policyviolation" => "972",
        "rejected" => "918",
        "requireptr" => "973",
        "securityerror" => "970",
        "spamdetected" => "980",
        "speeding" => "946",
        "suppressed" => "903",
        "suspend" => "921",
        "systemerror" => "930",
        "systemfull" => "931",
        "syntaxerror" => "902",
        "toomanyconn" => "945",
        "userunknown" if !temporary => "911",
        "undefined" => "900",
        "virusdetected" => "981",
        _ => return String::new(),
    };
    format!("{}.0.{}", if temporary { '4' } else { '5' }, detail)
}

pub(super) fn status_name(code: &str) -> &'static str {
    match code {
        "2.1.5" => "delivered",
        "4.1.6" => "hasmoved",
        "4.1.7" | "4.1.8" => "rejected",
        "4.1.9" => "systemerror",
        "4.2.1" => "blocked",
        "4.2.2" => "mailboxfull",
        "4.2.3" => "exceedlimit",
        "4.2.4" => "filtered",
        "4.3.1" => "systemfull",
        "4.3.2" => "notaccept",
        "4.3.3" | "4.3.5" => "systemerror",
        "4.4.1" => "expired",
        "4.4.2" => "networkerror",
        "4.4.3" => "systemerror",
        "4.4.4" => "networkerror",
        "4.4.5" => "systemfull",
        "4.4.6" => "networkerror",
        "4.4.7" => "expired",
        "4.4.8" => "networkerror",
        "4.5.3" | "4.5.5" => "systemerror",
        "4.6.0" | "4.6.2" | "4.6.5" => "contenterror",
        "4.7.1" | "4.7.2" => "blocked",
        "4.7.5" | "4.7.6" | "4.7.7" | "4.7.12" | "4.7.15" => "securityerror",
        "4.7.16" => "mesgtoobig",
        "4.7.24" | "4.7.26" => "authfailure",
        "4.7.25" => "requireptr",
        "5.1.0" | "5.1.1" | "5.1.3" => "userunknown",
        "5.1.2" => "hostunknown",
        "5.1.4" => "filtered",
        "5.1.6" => "hasmoved",
        "5.1.7" | "5.1.8" => "rejected",
        "5.1.9" => "systemerror",
        "5.1.10" => "notaccept",
        "5.2.0" | "5.2.1" | "5.2.4" => "filtered",
        "5.2.2" => "mailboxfull",
        "5.2.3" => "exceedlimit",
        "5.3.0" | "5.3.3" | "5.3.5" => "systemerror",
        "5.3.1" => "systemfull",
        "5.3.2" => "notaccept",
        "5.3.4" => "mesgtoobig",
        "5.4.0" => "networkerror",
        "5.4.3" => "systemerror",
        "5.4.4" => "hostunknown",
        "5.5.2" | "5.5.6" => "syntaxerror",
        "5.5.3" => "toomanyconn",
        "5.5.4" | "5.5.5" => "systemerror",
        "5.6.0" | "5.6.1" | "5.6.2" | "5.6.3" | "5.6.5" | "5.6.6" | "5.6.7" | "5.6.8" | "5.6.9" => "contenterror",
        "5.7.0" | "5.7.1" | "5.7.2" | "5.7.3" | "5.7.4" | "5.7.5" | "5.7.6" | "5.7.7" | "5.7.8" | "5.7.9"
        | "5.7.10" | "5.7.11" | "5.7.14" | "5.7.15" | "5.7.19" => "securityerror",
        "5.7.13" => "suspend",
        "5.7.16" => "mesgtoobig",
        "5.7.17" | "5.7.18" => "hasmoved",
        "5.7.20" | "5.7.21" | "5.7.22" | "5.7.23" | "5.7.24" | "5.7.26" | "5.7.29" => "authfailure",
        "5.7.25" => "requireptr",
        "5.7.27" => "notaccept",
        "5.7.28" => "spamdetected",
        "5.7.30" => "failedstarttls",
        _ => "",
    }
}
