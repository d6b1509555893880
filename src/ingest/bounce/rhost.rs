//! Large receiving services (sisimai's "rhost" tables): reasons from their documented error texts,
//! chosen by the recipient domain or the hosts involved.

use crate::mail::Reason;
use regex::Regex;

use super::fact::Fact;
use super::message::Doc;
use super::microsoft::microsoft_reason;
use crate::ingest::text::{contains_any, truncate};
use std::sync::LazyLock;

/// Reasons decided from the documented error texts of large receiving services
/// (sisimai's "rhost" tables), chosen by the recipient domain or the hosts involved.
pub(super) fn rhost_find(fo: &Fact, recipient: &str, rhost: &str, doc: &Doc) -> Option<Reason> {
    if fo.diag.is_empty() {
        return None;
    }
    let class = rhost_class(recipient, rhost, &fo.diag, doc)?;
    let d = fo.diag.as_str();
    let pick = |table: &[(Reason, &[&str])]| -> Option<Reason> {
        table.iter().find(|(_, ps)| contains_any(d, ps)).map(|(r, _)| *r)
    };
    match class {
        "aol" => pick(&[
            (Reason::HostUnknown, &["host or domain name not found"]),
            (
                Reason::NotAccept,
                &["type=mx: malformed or unexpected name server reply"],
            ),
        ]),
        "cox" => {
            const CODES: &[(&str, Reason)] = &[
                ("cxbl", Reason::Blocked),
                ("cxdns", Reason::RequirePtr),
                ("cxsndr", Reason::AuthFailure),
                ("cxsmtp", Reason::Rejected),
                ("cxcnct", Reason::TooManyConn),
                ("cxmxrt", Reason::TooManyConn),
                ("cdrbl", Reason::Blocked),
                ("cxthrt", Reason::SecurityError),
                ("cxmj", Reason::SecurityError),
            ];
            if let Some(p) = d.find("aup#") {
                let code = d[p + 4..]
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("");
                if let Some((_, r)) = CODES.iter().find(|(c, _)| *c == code) {
                    return Some(*r);
                }
                if code.starts_with("ipbl") {
                    return Some(Reason::Blocked);
                }
                if code.starts_with("urlbl") {
                    return Some(Reason::SpamDetected);
                }
            }
            pick(&[
                (
                    Reason::Blocked,
                    &["cox too many bad commands from", "too many invalid recipients"],
                ),
                (
                    Reason::RequirePtr,
                    &["dns check failure - try again later", "rejected - no rdns"],
                ),
                (
                    Reason::PolicyViolation,
                    &["esmtp no data before greeting", "attachment extension is forbidden"],
                ),
                (Reason::Rejected, &["sender rejected"]),
                (Reason::SystemError, &["esmtp server temporarily not available"]),
                (
                    Reason::TooManyConn,
                    &[
                        "too many sessions from",
                        "requested action aborted: try again later",
                        "message threshold exceeded",
                    ],
                ),
                (Reason::UserUnknown, &["recipient rejected"]),
            ])
        }
        "facebook" => {
            const CODES: &[(&str, Reason)] = &[
                ("pol-p7", Reason::AuthFailure),
                ("pol-p1", Reason::Blocked),
                ("pol-p2", Reason::Blocked),
                ("pol-p3", Reason::Blocked),
                ("pol-p4", Reason::Blocked),
                ("pol-t1", Reason::Blocked),
                ("pol-t2", Reason::Blocked),
                ("pol-t3", Reason::Blocked),
                ("msg-p2", Reason::ContentError),
                ("rcp-p2", Reason::Filtered),
                ("rcp-p3", Reason::Filtered),
                ("msg-p1", Reason::MesgTooBig),
                ("int-p2", Reason::MesgTooBig),
                ("msg-p3", Reason::NotCompliantRfc),
                ("dns-p1", Reason::Rejected),
                ("dns-p2", Reason::Rejected),
                ("dns-t1", Reason::Rejected),
                ("dns-p3", Reason::RequirePtr),
                ("dns-t2", Reason::RequirePtr),
                ("pol-p6", Reason::SpamDetected),
                ("rcp-t4", Reason::Suspend),
                ("rcp-t1", Reason::SystemError),
                ("con-t1", Reason::TooManyConn),
                ("con-t2", Reason::TooManyConn),
                ("con-t3", Reason::TooManyConn),
                ("con-t4", Reason::TooManyConn),
                ("msg-t1", Reason::TooManyConn),
                ("rcp-p1", Reason::UserUnknown),
                ("int-p1", Reason::UserUnknown),
                ("int-p3", Reason::UserUnknown),
                ("int-p4", Reason::UserUnknown),
                ("pol-p5", Reason::VirusDetected),
            ];
            CODES.iter().find(|(c, _)| d.contains(c)).map(|(_, r)| *r)
        }
        "franceptt" => {
            const CODES: &[(&str, Reason)] = &[
                ("101", Reason::Blocked),
                ("102", Reason::Blocked),
                ("103", Reason::Blocked),
                ("104", Reason::TooManyConn),
                ("305", Reason::SecurityError),
                ("401", Reason::AuthFailure),
                ("402", Reason::SecurityError),
                ("403", Reason::Rejected),
                ("405", Reason::Rejected),
                ("415", Reason::Rejected),
                ("416", Reason::UserUnknown),
                ("417", Reason::MailboxFull),
                ("420", Reason::Suspend),
                ("421", Reason::Rejected),
                ("426", Reason::Suspend),
                ("505", Reason::SystemError),
                ("506", Reason::SpamDetected),
                ("510", Reason::Blocked),
                ("514", Reason::MesgTooBig),
                ("517", Reason::AuthFailure),
                ("630", Reason::PolicyViolation),
                ("999", Reason::Blocked),
            ];
            let issued = d.replace('_', "-");
            for label in ["lpn", "lpnaaa", "ofr", "ouk"] {
                let Some(at) = issued.rfind(label) else {
                    continue;
                };
                let token = issued[at..].split(' ').next().unwrap_or("");
                let token = token.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                if let Some((_, r)) = CODES.iter().find(|(c, _)| token.ends_with(c)) {
                    return Some(*r);
                }
                break;
            }
            pick(&[(Reason::AuthFailure, &["spf/dns de votre nom de domaine"])])
        }
        "godaddy" => {
            const CODES: &[(&str, Reason)] = &[
                ("ib401", Reason::SecurityError),
                ("ib501", Reason::NotCompliantRfc),
                ("ib502", Reason::NotCompliantRfc),
                ("ib506", Reason::Rejected),
                ("ib508", Reason::AuthFailure),
                ("ib108", Reason::RequirePtr),
                ("ib212", Reason::SpamDetected),
                ("ib705", Reason::VirusDetected),
                ("ib605", Reason::TooManyConn),
                ("ib007", Reason::TooManyConn),
                ("ib101", Reason::Speeding),
                ("ib110", Reason::Blocked),
                ("ib111", Reason::Blocked),
                ("ib112", Reason::Blocked),
                ("ib113", Reason::Blocked),
                ("ib504", Reason::Speeding),
                ("ib510", Reason::Speeding),
                ("ib607", Reason::Speeding),
                ("ib103", Reason::BadReputation),
                ("ib104", Reason::Blocked),
                ("ib105", Reason::Blocked),
                ("ib106", Reason::Blocked),
            ];
            if let Some(p) = d.find(" ib") {
                let code = d[p + 1..]
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap_or("");
                if let Some((_, r)) = CODES.iter().find(|(c, _)| *c == code) {
                    return Some(*r);
                }
            }
            pick(&[
                (Reason::Blocked, &["rbl reject", "www.spamhaus.org/query/bl?ip="]),
                (Reason::Expired, &["has been in the queue too long", "delivery timeout"]),
                (Reason::MailboxFull, &["account storage limit"]),
                (Reason::SpamDetected, &["message rejected for spam or virus content"]),
                (Reason::Suspend, &["account disabled"]),
                (Reason::SystemError, &["message is looping"]),
                (Reason::UserUnknown, &["recipient not found", "account does not exist"]),
            ])
        }
        "gsuite" => {
            let s0 = fo.status.chars().next();
            let r0 = fo.reply.chars().next();
            const TABLE: &[(Reason, &[&str])] = &[
                (
                    Reason::HostUnknown,
                    &[" responded with code nxdomain", "domain name not found"],
                ),
                (
                    Reason::NetworkError,
                    &[
                        " had no relevant answers.",
                        "responded with code nxdomain",
                        "domain name not found",
                    ],
                ),
                (Reason::NotAccept, &["null mx"]),
                (
                    Reason::UserUnknown,
                    &["because the address couldn't be found. check for typos or unnecessary spaces and try again."],
                ),
            ];
            for (reason, ps) in TABLE {
                if !contains_any(d, ps) {
                    continue;
                }
                if *reason == Reason::NetworkError && (s0 == Some('5') || r0 == Some('5')) {
                    continue;
                }
                if *reason == Reason::HostUnknown && (s0 != Some('5') || r0 != Some('5')) {
                    continue;
                }
                return Some(*reason);
            }
            None
        }
        "kddi" => pick(&[
            (Reason::Filtered, &["550 : user unknown"]),
            (Reason::UserUnknown, &[">: user unknown"]),
        ]),
        "messagelabs" => pick(&[
            (Reason::AuthFailure, &["domain authentication fail"]),
            (Reason::BadReputation, &["connection rejected by policy"]),
            (
                Reason::Blocked,
                &[
                    "mail rejected because your ip is in the pbl",
                    "your ip address has been ",
                    "your ip address (ip-addr) has been blocked",
                    "your email address (addr) has been blocked",
                ],
            ),
            (Reason::ContentError, &["stray linefeeds in message"]),
            (Reason::FailedStartTls, &["tls/sslv3 connection required"]),
            (Reason::NoRelaying, &[" as a relay, "]),
            (
                Reason::NotCompliantRfc,
                &[
                    "550 requested action aborted [4]",
                    "has detected that this message is not rfc 5322",
                ],
            ),
            (
                Reason::Rejected,
                &[
                    "sender envelope domain not allowed for sender ip address",
                    "your domain has been blocked",
                    "your email address has been blocked",
                    "your envelope sender is in my badmailfrom list",
                    "your email address has been blacklisted",
                    "your domain has been blacklisted",
                ],
            ),
            (
                Reason::SecurityError,
                &["please turn on smtp authentication in your mail client"],
            ),
            (
                Reason::SpamDetected,
                &["message filtered", "filtered by outbound scanning"],
            ),
            (
                Reason::TooManyConn,
                &["too many recipients received this hour", "too many messages"],
            ),
            (
                Reason::UserUnknown,
                &[
                    "no such user",
                    "invalid recipient",
                    "mailbox is not allowed",
                    "recipient mailbox is not allowed",
                ],
            ),
        ]),
        "microsoft" => microsoft_reason(fo),
        "outlook" => pick(&[
            (
                Reason::HostUnknown,
                &["the mail could not be delivered to the recipient because the domain is not reachable"],
            ),
            (
                Reason::UserUnknown,
                &["requested action not taken: mailbox unavailable"],
            ),
        ]),
        "spectrum" => {
            let p = d.find("aup#")?;
            let digits: String = d[p + 4..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let Ok(n) = digits.parse::<u32>() else {
                return None;
            };
            const RANGES: &[(u32, u32, Reason)] = &[
                (1000, 1000, Reason::Blocked),
                (1010, 1010, Reason::Rejected),
                (1020, 1080, Reason::Rejected),
                (1090, 1090, Reason::SystemError),
                (1100, 1150, Reason::RequirePtr),
                (1160, 1190, Reason::PolicyViolation),
                (1200, 1210, Reason::Blocked),
                (1220, 1250, Reason::Blocked),
                (1260, 1260, Reason::NetworkError),
                (1300, 1340, Reason::TooManyConn),
                (1350, 1490, Reason::Speeding),
                (1500, 1500, Reason::Rejected),
                (1520, 1520, Reason::Rejected),
                (1530, 1530, Reason::MesgTooBig),
                (1540, 1540, Reason::Speeding),
                (1550, 1550, Reason::Speeding),
                (1560, 1560, Reason::PolicyViolation),
                (1580, 1580, Reason::Speeding),
            ];
            RANGES
                .iter()
                .find(|(lo, hi, _)| (*lo..=*hi).contains(&n))
                .map(|(_, _, r)| *r)
        }
        "yahooinc" => pick(&[
            (
                Reason::AuthFailure,
                &["yahoo requires all senders to authenticate with either spf or dkim"],
            ),
            (
                Reason::Blocked,
                &[
                    " because the ip is in spamhaus's list;",
                    "not accepted from ip addresses on spamhaus xbl",
                ],
            ),
            (Reason::NoRelaying, &["relaying denied for "]),
            (Reason::NotCompliantRfc, &["headers are not rfc compliant"]),
            (Reason::PolicyViolation, &["not accepted for policy reasons"]),
            (
                Reason::Rejected,
                &[
                    "temporarily deferred due to unexpected volume or user complaints",
                    "due to unresolvable rfc.5321 domain",
                    " will be permanently deferred",
                ],
            ),
            (Reason::Speeding, &["user is receiving mail too quickly"]),
            (Reason::Suspend, &[" is no longer valid.", "this mailbox is disabled"]),
            (Reason::SyntaxError, &["syntax error in parameters or arguments"]),
            (Reason::TooManyConn, &["max message per connection reached"]),
            (
                Reason::UserUnknown,
                &["dd this user doesn't have a ", "mailbox not found"],
            ),
        ]),
        _ => None,
    }
}

pub(super) const RHOST_CLASSES: &[(&str, &[&str])] = &[
    ("aol", &[".mail.aol.com", ".mx.aol.com"]),
    ("apple", &[".mail.icloud.com", ".apple.com", ".me.com"]),
    ("cloudflare", &[".mx.cloudflare.net"]),
    ("cox", &["cox.net"]),
    ("facebook", &[".facebook.com"]),
    ("franceptt", &[".laposte.net", ".orange.fr", ".wanadoo.fr"]),
    ("godaddy", &["smtp.secureserver.net", "mailstore1.secureserver.net"]),
    ("google", &["aspmx.l.google.com", "gmail-smtp-in.l.google.com"]),
    ("gsuite", &["googlemail.com"]),
    ("iua", &[".email.ua"]),
    ("kddi", &[".ezweb.ne.jp", "msmx.au.com"]),
    ("messagelabs", &[".messagelabs.com"]),
    (
        "microsoft",
        &[
            ".prod.outlook.com",
            ".protection.outlook.com",
            ".onmicrosoft.com",
            ".exchangelabs.com",
        ],
    ),
    ("mimecast", &[".mimecast.com"]),
    ("nttdocomo", &["mfsmax.docomo.ne.jp"]),
    ("outlook", &[".hotmail.com"]),
    ("spectrum", &["charter.net"]),
    ("tencent", &[".qq.com"]),
    ("yahooinc", &[".yahoodns.net"]),
];

pub(super) fn rhost_class(recipient: &str, rhost: &str, diag: &str, doc: &Doc) -> Option<&'static str> {
    let domain = recipient.rsplit('@').next().unwrap_or("");
    if !domain.is_empty() {
        for (class, pats) in RHOST_CLASSES {
            if pats.iter().any(|p| p.ends_with(domain)) {
                return Some(class);
            }
        }
    }
    let matches = |host: &str| -> Option<&'static str> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        RHOST_CLASSES
            .iter()
            .find(|(_, pats)| pats.iter().any(|p| host.ends_with(p)))
            .map(|(c, _)| *c)
    };
    let mut hosts: Vec<String> = Vec::new();
    if !rhost.is_empty() {
        hosts.push(rhost.to_string());
    }
    hosts.extend(hostnames(diag));
    if let Some(c) = hosts.iter().find_map(|h| matches(h)) {
        return Some(c);
    }
    let mut local: Vec<String> = Vec::new();
    if let Some(m) = &doc.reporting_mta {
        local.push(m.clone());
    }
    for (k, v) in &doc.headers {
        if k == "received" {
            local.extend(hostnames(&v.to_ascii_lowercase()));
        }
    }
    local.iter().find_map(|h| matches(h))
}

pub(super) fn hostnames(text: &str) -> Vec<String> {
    static HOST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}").unwrap()
    });
    let text = truncate(text, 16 * 1024);
    HOST.find_iter(text)
        .filter(|m| m.start() == 0 || text.as_bytes()[m.start() - 1] != b'@')
        .map(|m| m.as_str().to_string())
        .collect()
}
