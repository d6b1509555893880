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
use crate::mail::Reason;

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
        r.spec = if r.reason == Some(Reason::MailerError) {
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
        reason: r.reason,
    };
    let preset = r.reason;
    let reason = match preset {
        Some(preset) if !should_be_retried(Some(preset)) => preset,
        _ => {
            let found = lda_find(&fact)
                .filter(|r| r.is_explicit())
                .or_else(|| rhost_find(&fact, &r.recipient, &r.rhost, doc).filter(|r| r.is_explicit()))
                .unwrap_or_else(|| reason_find(&fact, preset));
            if found.is_explicit() {
                found
            } else if !diag.is_empty() {
                Reason::OnHold
            } else {
                preset.unwrap_or(Reason::Undefined)
            }
        }
    };
    let hard = if matches!(reason, Reason::Delivered | Reason::Feedback | Reason::Vacation) {
        false
    } else {
        let cv = format!("{status} {diag}");
        is_hard_bounce(reason, if cv.len() < 4 { "" } else { &cv })
    };
    if status.is_empty() {
        let ce = format!("{reply} {diag}");
        let ce = if ce.len() < 4 { String::new() } else { ce };
        let temporary = !is_permanent(&ce) && is_temporary(&ce);
        status = pseudo_status(reason, temporary);
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

/// True when a reason is set and says something.
fn is_explicit(reason: Option<Reason>) -> bool {
    reason.is_some_and(Reason::is_explicit)
}

/// A preset (or missing) reason the tables may still improve on.
pub(super) fn should_be_retried(reason: Option<Reason>) -> bool {
    matches!(
        reason,
        None | Some(
            Reason::Undefined
                | Reason::OnHold
                | Reason::SystemError
                | Reason::SecurityError
                | Reason::Expired
                | Reason::NetworkError
                | Reason::HostUnknown
                | Reason::UserUnknown
        )
    )
}

/// The reason the class tables find for a failure (sisimai's `Reason.find`); always one.
pub(super) fn reason_find(fo: &Fact, preset: Option<Reason>) -> Reason {
    if let Some(preset) = preset
        && !should_be_retried(Some(preset))
    {
        return preset;
    }
    if fo.status.starts_with("2.") {
        return Reason::Delivered;
    }
    if (fo.spec == "SMTP" || fo.spec.is_empty())
        && let Some(found) = CLASS_ORDER_0.iter().copied().find(|&name| probe(name, fo))
    {
        return found;
    }
    let mut found = another_one(fo, preset).filter(|&r| r != Reason::Undefined);
    if found.is_none() && fo.action == "delayed" {
        found = Some(Reason::Expired);
    }
    if let Some(found) = found {
        return found;
    }
    if included_in(Reason::Vacation, &fo.diag) {
        return Reason::Vacation;
    }
    if !fo.diag.is_empty() {
        return Reason::OnHold;
    }
    Reason::Undefined
}

/// The second pass (sisimai's `anotherone`): the status code's own reason, then the second class
/// order, then what the status class, the mailer or the command imply.
pub(super) fn another_one(fo: &Fact, preset: Option<Reason>) -> Option<Reason> {
    if is_explicit(preset) {
        return preset;
    }
    let named = status_name(&fo.status);
    if should_be_retried(named) || fo.spec != "SMTP" {
        if let Some(found) = CLASS_ORDER_1.iter().copied().find(|&name| included_in(name, &fo.diag)) {
            return Some(found);
        }
        if named.is_some() {
            return named;
        }
        if let Some(sub) = fo.status.get(..3) {
            if sub == "5.6" || sub == "4.6" {
                return Some(Reason::ContentError);
            }
            if sub == "5.7" || sub == "4.7" {
                return Some(Reason::SecurityError);
            }
        }
        if fo.spec.starts_with("X-UNIX") {
            return Some(Reason::MailerError);
        }
        if probe(Reason::SyntaxError, fo) {
            return Some(Reason::SyntaxError);
        }
        if fo.action == "delayed" || fo.action == "expired" {
            return Some(Reason::Expired);
        }
        if fo.command == "EHLO" || fo.command == "HELO" {
            return Some(Reason::Blocked);
        }
    }
    named
}

pub(super) const CLASS_ORDER_0: &[Reason] = &[
    Reason::MailboxFull,
    Reason::MesgTooBig,
    Reason::ExceedLimit,
    Reason::Suspend,
    Reason::HasMoved,
    Reason::NoRelaying,
    Reason::AuthFailure,
    Reason::UserUnknown,
    Reason::Filtered,
    Reason::RequirePtr,
    Reason::NotCompliantRfc,
    Reason::BadReputation,
    Reason::ContentError,
    Reason::Rejected,
    Reason::HostUnknown,
    Reason::SpamDetected,
    Reason::Speeding,
    Reason::TooManyConn,
    Reason::Blocked,
];

pub(super) const CLASS_ORDER_1: &[Reason] = &[
    Reason::MailboxFull,
    Reason::AuthFailure,
    Reason::BadReputation,
    Reason::Speeding,
    Reason::SpamDetected,
    Reason::VirusDetected,
    Reason::PolicyViolation,
    Reason::NoRelaying,
    Reason::SystemError,
    Reason::NetworkError,
    Reason::Suspend,
    Reason::ContentError,
    Reason::SystemFull,
    Reason::NotAccept,
    Reason::Expired,
    Reason::FailedStartTls,
    Reason::SecurityError,
    Reason::Suppressed,
    Reason::MailerError,
];

pub(super) const EXCEPT_DATA: &[&str] = &["CONN", "EHLO", "HELO", "MAIL", "RCPT"];

pub(super) fn probe(name: Reason, fo: &Fact) -> bool {
    let named = status_name(&fo.status);
    let d = fo.diag.as_str();
    // A reason the format already named sticks unless an earlier class matches.
    if fo.reason == Some(name) && !(name == Reason::SpamDetected && fo.status.is_empty()) {
        return true;
    }
    match name {
        Reason::MailboxFull => named == Some(Reason::MailboxFull) || included_in(name, d),
        Reason::MesgTooBig => {
            if named == Some(Reason::MesgTooBig) {
                return true;
            }
            if named == Some(Reason::ExceedLimit) || fo.status == "5.2.3" {
                return false;
            }
            included_in(name, d)
        }
        Reason::ExceedLimit => named == Some(Reason::ExceedLimit) || included_in(name, d),
        Reason::Suspend => fo.reply == "525" || included_in(name, d),
        Reason::HasMoved => included_in(name, d),
        Reason::NoRelaying => {
            if ["CONN", "EHLO", "HELO"].contains(&fo.command.as_str()) {
                return false;
            }
            included_in(name, d)
        }
        Reason::AuthFailure => named == Some(Reason::AuthFailure) || included_in(name, d),
        Reason::UserUnknown => {
            if named == Some(Reason::Suspend) {
                return false;
            }
            if named == Some(Reason::UserUnknown) {
                let others = [
                    Reason::NoRelaying,
                    Reason::Blocked,
                    Reason::MailboxFull,
                    Reason::HasMoved,
                    Reason::Rejected,
                    Reason::NotAccept,
                ];
                return !others.iter().any(|&o| included_in(o, d));
            }
            fo.command == "RCPT" && included_in(Reason::UserUnknown, d)
        }
        Reason::Filtered => {
            if named == Some(Reason::Suspend) {
                return false;
            }
            if named == Some(Reason::Filtered) {
                return included_in(Reason::UserUnknown, d) || included_in(Reason::Filtered, d);
            }
            if EXCEPT_DATA.contains(&fo.command.as_str()) {
                return false;
            }
            included_in(Reason::Filtered, d) || included_in(Reason::UserUnknown, d)
        }
        Reason::RequirePtr => named == Some(Reason::RequirePtr) || included_in(name, d),
        Reason::NotCompliantRfc => included_in(name, d),
        Reason::BadReputation => included_in(name, d),
        Reason::ContentError => {
            if probe(Reason::SpamDetected, fo) {
                return false;
            }
            named == Some(Reason::ContentError) || included_in(name, d)
        }
        Reason::Rejected => {
            if named == Some(Reason::Rejected) {
                return true;
            }
            let temp = named.unwrap_or(Reason::Undefined);
            let applies = fo.command == "MAIL"
                || (fo.command == "DATA" && temp != Reason::UserUnknown)
                || !temp.is_explicit()
                || temp == Reason::SecurityError
                || temp == Reason::SystemError;
            applies && included_in(name, d)
        }
        Reason::HostUnknown => {
            if named == Some(Reason::HostUnknown) {
                return !included_in(Reason::NetworkError, d);
            }
            included_in(name, d)
        }
        Reason::SpamDetected => {
            if fo.status.is_empty() {
                return false;
            }
            if named == Some(Reason::SpamDetected) {
                return true;
            }
            if EXCEPT_DATA.contains(&fo.command.as_str()) {
                return false;
            }
            included_in(name, d)
        }
        Reason::Speeding => included_in(name, d),
        Reason::TooManyConn => named == Some(Reason::TooManyConn) || included_in(name, d),
        Reason::Blocked => named == Some(Reason::Blocked) || included_in(name, d),
        Reason::SyntaxError => match fo.reply.parse::<u32>() {
            Ok(r) => (401..408).contains(&r) || (501..508).contains(&r),
            Err(_) => false,
        },
        _ => false,
    }
}

pub(super) fn is_hard_bounce(reason: Reason, code: &str) -> bool {
    match reason {
        Reason::Undefined | Reason::OnHold | Reason::Delivered | Reason::Feedback | Reason::Vacation => false,
        Reason::HasMoved | Reason::UserUnknown | Reason::HostUnknown => true,
        Reason::NotAccept => {
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

pub(super) fn pseudo_status(reason: Reason, temporary: bool) -> String {
    let detail = match reason {
        Reason::AuthFailure => "926",
        Reason::BadReputation => "975",
        Reason::Blocked => "971",
        Reason::ContentError => "960",
        Reason::ExceedLimit => "923",
        Reason::Expired => "947",
        Reason::FailedStartTls => "976",
        Reason::Filtered if temporary => "924",
        Reason::Filtered => "910",
        Reason::HasMoved if !temporary => "916",
        Reason::HostUnknown if !temporary => "912",
        Reason::MailboxFull => "922",
        Reason::MailerError => "939",
        Reason::MesgTooBig => "934",
        Reason::NetworkError => "944",
        Reason::NoRelaying => "909",
        Reason::NotAccept => "932",
        Reason::NotCompliantRfc => "974",
        Reason::OnHold => "901",
        Reason::PolicyViolation => "972",
        Reason::Rejected => "918",
        Reason::RequirePtr => "973",
        Reason::SecurityError => "970",
        Reason::SpamDetected => "980",
        Reason::Speeding => "946",
        Reason::Suppressed => "903",
        Reason::Suspend => "921",
        Reason::SystemError => "930",
        Reason::SystemFull => "931",
        Reason::SyntaxError => "902",
        Reason::TooManyConn => "945",
        Reason::UserUnknown if !temporary => "911",
        Reason::Undefined => "900",
        Reason::VirusDetected => "981",
        _ => return String::new(),
    };
    format!("{}.0.{}", if temporary { '4' } else { '5' }, detail)
}

/// The reason an enhanced status code names by itself, if it names one.
pub(super) fn status_name(code: &str) -> Option<Reason> {
    Some(match code {
        "2.1.5" => Reason::Delivered,
        "4.1.6" => Reason::HasMoved,
        "4.1.7" | "4.1.8" => Reason::Rejected,
        "4.1.9" => Reason::SystemError,
        "4.2.1" => Reason::Blocked,
        "4.2.2" => Reason::MailboxFull,
        "4.2.3" => Reason::ExceedLimit,
        "4.2.4" => Reason::Filtered,
        "4.3.1" => Reason::SystemFull,
        "4.3.2" => Reason::NotAccept,
        "4.3.3" | "4.3.5" => Reason::SystemError,
        "4.4.1" => Reason::Expired,
        "4.4.2" => Reason::NetworkError,
        "4.4.3" => Reason::SystemError,
        "4.4.4" => Reason::NetworkError,
        "4.4.5" => Reason::SystemFull,
        "4.4.6" => Reason::NetworkError,
        "4.4.7" => Reason::Expired,
        "4.4.8" => Reason::NetworkError,
        "4.5.3" | "4.5.5" => Reason::SystemError,
        "4.6.0" | "4.6.2" | "4.6.5" => Reason::ContentError,
        "4.7.1" | "4.7.2" => Reason::Blocked,
        "4.7.5" | "4.7.6" | "4.7.7" | "4.7.12" | "4.7.15" => Reason::SecurityError,
        "4.7.16" => Reason::MesgTooBig,
        "4.7.24" | "4.7.26" => Reason::AuthFailure,
        "4.7.25" => Reason::RequirePtr,
        "5.1.0" | "5.1.1" | "5.1.3" => Reason::UserUnknown,
        "5.1.2" => Reason::HostUnknown,
        "5.1.4" => Reason::Filtered,
        "5.1.6" => Reason::HasMoved,
        "5.1.7" | "5.1.8" => Reason::Rejected,
        "5.1.9" => Reason::SystemError,
        "5.1.10" => Reason::NotAccept,
        "5.2.0" | "5.2.1" | "5.2.4" => Reason::Filtered,
        "5.2.2" => Reason::MailboxFull,
        "5.2.3" => Reason::ExceedLimit,
        "5.3.0" | "5.3.3" | "5.3.5" => Reason::SystemError,
        "5.3.1" => Reason::SystemFull,
        "5.3.2" => Reason::NotAccept,
        "5.3.4" => Reason::MesgTooBig,
        "5.4.0" => Reason::NetworkError,
        "5.4.3" => Reason::SystemError,
        "5.4.4" => Reason::HostUnknown,
        "5.5.2" | "5.5.6" => Reason::SyntaxError,
        "5.5.3" => Reason::TooManyConn,
        "5.5.4" | "5.5.5" => Reason::SystemError,
        "5.6.0" | "5.6.1" | "5.6.2" | "5.6.3" | "5.6.5" | "5.6.6" | "5.6.7" | "5.6.8" | "5.6.9" => Reason::ContentError,
        "5.7.0" | "5.7.1" | "5.7.2" | "5.7.3" | "5.7.4" | "5.7.5" | "5.7.6" | "5.7.7" | "5.7.8" | "5.7.9"
        | "5.7.10" | "5.7.11" | "5.7.14" | "5.7.15" | "5.7.19" => Reason::SecurityError,
        "5.7.13" => Reason::Suspend,
        "5.7.16" => Reason::MesgTooBig,
        "5.7.17" | "5.7.18" => Reason::HasMoved,
        "5.7.20" | "5.7.21" | "5.7.22" | "5.7.23" | "5.7.24" | "5.7.26" | "5.7.29" => Reason::AuthFailure,
        "5.7.25" => Reason::RequirePtr,
        "5.7.27" => Reason::NotAccept,
        "5.7.28" => Reason::SpamDetected,
        "5.7.30" => Reason::FailedStartTls,
        _ => return None,
    })
}
