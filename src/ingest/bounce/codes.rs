//! Finding status codes, reply codes and SMTP commands in free text.

use regex::Regex;

use crate::ingest::text::truncate;
use std::sync::LazyLock;

pub(super) static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b").unwrap());

/// Enhanced status code in free text; prefers specific codes over "X.0.0".
pub(super) fn status_find(text: &str, hint: &str) -> String {
    if text.len() < 7 {
        return String::new();
    }
    let text = truncate(text, 64 * 1024);
    let masked = IPV4.replace_all(text, "***.***.***.***");
    let s = format!(" {masked}   ");
    let b = s.as_bytes();
    let classes: Vec<u8> = match hint.as_bytes().first() {
        Some(c @ (b'2' | b'4' | b'5')) => vec![*c],
        _ => vec![b'5', b'4', b'2'],
    };
    let mut found: Vec<String> = Vec::new();
    let mut another = String::new();
    let n = b.len();
    let mut i = 1;
    while i + 1 < n {
        let c = b[i];
        if !(classes.contains(&c) && b[i + 1] == b'.') {
            i += 1;
            continue;
        }
        let prev = b[i - 1];
        let subject = if i + 2 < n { b[i + 2] } else { 0 };
        let dot = if i + 3 < n { b[i + 3] } else { 0 };
        if (46..58).contains(&prev) || prev == b'V' || prev == b'v' || !(b'0'..=b'7').contains(&subject) || dot != b'.'
        {
            i += 1;
            continue;
        }
        let d1 = if i + 4 < n { b[i + 4] } else { 0 };
        if !d1.is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut code = vec![c, b'.', subject, b'.', d1];
        let code_str = |v: &Vec<u8>| String::from_utf8_lossy(v).into_owned();
        let short = code_str(&code);
        if short[1..].starts_with(".0.0") || short == "4.4.7" {
            another = short;
            i += 5;
            continue;
        }
        let d2 = if i + 5 < n { b[i + 5] } else { 0 };
        if !d2.is_ascii_digit() {
            found.push(code_str(&code));
            i += 5;
            continue;
        }
        code.push(d2);
        let d3 = if i + 6 < n { b[i + 6] } else { 0 };
        if !d3.is_ascii_digit() {
            found.push(code_str(&code));
            i += 6;
            continue;
        }
        code.push(d3);
        let next = if i + 7 < n { b[i + 7] } else { 0 };
        if !next.is_ascii_digit() {
            found.push(code_str(&code));
        }
        i += 7;
    }
    if !another.is_empty() {
        found.push(another);
    }
    let mut cv = String::new();
    for (j, e) in found.into_iter().enumerate() {
        if j == 0 {
            cv = e;
        } else {
            cv = status_prefer(&cv, &e, "");
        }
    }
    cv
}

pub(super) fn status_prefer(status: &str, in_mesg: &str, reply: &str) -> String {
    if status.is_empty() {
        return in_mesg.to_string();
    }
    if in_mesg.is_empty() {
        return status.to_string();
    }
    if status.len() < 5 {
        return in_mesg.to_string();
    }
    if in_mesg.len() < 5 {
        return status.to_string();
    }
    let r = reply.as_bytes().first().copied().unwrap_or(b'0');
    let s0 = status.as_bytes()[0];
    let m0 = in_mesg.as_bytes()[0];
    if r != b'0' && s0 != m0 {
        if r == s0 {
            return status.to_string();
        }
        if r == m0 {
            return in_mesg.to_string();
        }
    }
    if status == in_mesg {
        return status.to_string();
    }
    let z1 = (status.find(".0"), in_mesg.find(".0"));
    let z2 = (status.find(".0.0"), in_mesg.find(".0.0"));
    if z2.0.is_some_and(|p| p > 0) {
        return if z2.1.is_none() {
            in_mesg.to_string()
        } else {
            status.to_string()
        };
    }
    if z1.0.is_some_and(|p| p > 0) && z1.1.is_none() {
        return in_mesg.to_string();
    }
    if z2.1.is_some_and(|p| p > 0) {
        return status.to_string();
    }
    if status == "4.4.7" || status == "4.7.0" || status.starts_with("5.3.") {
        return in_mesg.to_string();
    }
    let sub = &status[1..];
    if sub.starts_with(".5.1") || sub.starts_with(".5.2") || sub.starts_with(".5.4") || sub.starts_with(".5.5") {
        return in_mesg.to_string();
    }
    if status == "5.1.1" {
        if z1.1.is_some_and(|p| p > 0) || in_mesg.starts_with("5.5.") {
            return status.to_string();
        }
        return in_mesg.to_string();
    }
    if status == "5.1.3" && in_mesg.starts_with("5.7.") {
        return in_mesg.to_string();
    }
    status.to_string()
}

pub(super) const REPLY5: &[&str] = &[
    "550", "552", "553", "551", "521", "525", "523", "524", "530", "533", "534", "535", "538", "555", "556", "554",
    "500", "501", "502", "503", "504",
];
pub(super) const REPLY4: &[&str] = &[
    "421", "450", "451", "452", "422", "430", "432", "453", "454", "455", "458", "459",
];
pub(super) const REPLY2: &[&str] = &[
    "211", "214", "220", "221", "235", "250", "251", "252", "253", "334", "354",
];

/// SMTP reply code in free text.
pub(super) fn reply_find(text: &str, hint: &str) -> String {
    if text.len() < 3 || text.to_ascii_uppercase().contains("X-UNIX") {
        return String::new();
    }
    let text = truncate(text, 64 * 1024);
    let s = format!(" {text} ");
    let b = s.as_bytes();
    let lists: Vec<&[&str]> = match hint.as_bytes().first() {
        Some(b'2') => vec![REPLY2],
        Some(b'4') => vec![REPLY4],
        Some(b'5') => vec![REPLY5],
        _ => vec![REPLY5, REPLY4, REPLY2],
    };
    for list in lists {
        for code in list {
            let mut from = 1;
            while let Some(p) = s.get(from..).and_then(|t| t.find(code)) {
                let at = from + p;
                let before = b[at - 1];
                let after = b.get(at + 3).copied().unwrap_or(b' ');
                if !(46..58).contains(&before) && !(46..58).contains(&after) {
                    return (*code).to_string();
                }
                from = at + 3;
            }
        }
    }
    String::new()
}

/// Last SMTP command named in the text ("RCPT", "DATA", ...).
pub(super) fn command_find(text: &str) -> String {
    const DETECTABLE: &[&str] = &[
        "HELO",
        "EHLO",
        "STARTTLS",
        "AUTH PLAIN",
        "AUTH LOGIN",
        "AUTH CRAM-",
        "AUTH DIGEST-",
        "MAIL F",
        "RCPT",
        "RCPT T",
        "DATA",
        "QUIT",
        "XFORWARD",
    ];
    if text.len() < 4 {
        return String::new();
    }
    let text = truncate(text, 64 * 1024);
    let padded = format!(" {text} ");
    let pb = padded.as_bytes();
    let mut set: Vec<&str> = Vec::new();
    for e in DETECTABLE {
        let Some(p0) = text.find(e) else {
            continue;
        };
        if !e.contains(' ') {
            let ca = pb[p0];
            let cz = pb.get(p0 + e.len() + 1).copied().unwrap_or(b' ');
            if ca.is_ascii_alphanumeric() || cz.is_ascii_alphanumeric() || ca == b'@' || cz == b'@' || ca == b'`' {
                continue;
            }
        }
        let short = match &e[..4] {
            "STAR" => "STARTTLS",
            "XFOR" => "XFORWARD",
            s => s,
        };
        if set.iter().any(|s| s.starts_with(&short[..4])) {
            continue;
        }
        set.push(short);
    }
    set.last().map(|s| s.to_string()).unwrap_or_default()
}
