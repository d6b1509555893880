//! Large receiving services (sisimai's "rhost" tables): reasons from their documented error texts,
//! chosen by the recipient domain or the hosts involved.

use regex::Regex;

use super::fact::Fact;
use super::message::Doc;
use super::microsoft::microsoft_reason;
use crate::ingest::text::{contains_any, truncate};
use std::sync::LazyLock;

/// Reasons decided from the documented error texts of large receiving services
/// (sisimai's "rhost" tables), chosen by the recipient domain or the hosts involved.
pub(super) fn rhost_find(fo: &Fact, recipient: &str, rhost: &str, doc: &Doc) -> String {
    if fo.diag.is_empty() {
        return String::new();
    }
    let Some(class) = rhost_class(recipient, rhost, &fo.diag, doc) else {
        return String::new();
    };
    let d = fo.diag.as_str();
    let pick = |table: &[(&'static str, &[&str])]| -> String {
        table
            .iter()
            .find(|(_, ps)| contains_any(d, ps))
            .map(|(r, _)| (*r).to_string())
            .unwrap_or_default()
    };
    match class {
        "aol" => pick(&[
            ("hostunknown", &["host or domain name not found"]),
            ("notaccept", &["type=mx: malformed or unexpected name server reply"]),
        ]),
        "cox" => {
            const CODES: &[(&str, &str)] = &[
                ("cxbl", "blocked"),
                ("cxdns", "requireptr"),
                ("cxsndr", "authfailure"),
                ("cxsmtp", "rejected"),
                ("cxcnct", "toomanyconn"),
                ("cxmxrt", "toomanyconn"),
                ("cdrbl", "blocked"),
                ("cxthrt", "securityerror"),
                ("cxmj", "securityerror"),
            ];
            if let Some(p) = d.find("aup#") {
                let code = d[p + 4..]
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("");
                if let Some((_, r)) = CODES.iter().find(|(c, _)| *c == code) {
                    return (*r).into();
                }
                if code.starts_with("ipbl") {
                    return "blocked".into();
                }
                if code.starts_with("urlbl") {
                    return "spamdetected".into();
                }
            }
            pick(&[
                (
                    "blocked",
                    &["cox too many bad commands from", "too many invalid recipients"],
                ),
                (
                    "requireptr",
                    &["dns check failure - try again later", "rejected - no rdns"],
                ),
                (
                    "policyviolation",
                    &["esmtp no data before greeting", "attachment extension is forbidden"],
                ),
                ("rejected", &["sender rejected"]),
                ("systemerror", &["esmtp server temporarily not available"]),
                (
                    "toomanyconn",
                    &[
                        "too many sessions from",
                        "requested action aborted: try again later",
                        "message threshold exceeded",
                    ],
                ),
                ("userunknown", &["recipient rejected"]),
            ])
        }
        "facebook" => {
            const CODES: &[(&str, &str)] = &[
                ("pol-p7", "authfailure"),
                ("pol-p1", "blocked"),
                ("pol-p2", "blocked"),
                ("pol-p3", "blocked"),
                ("pol-p4", "blocked"),
                ("pol-t1", "blocked"),
                ("pol-t2", "blocked"),
                ("pol-t3", "blocked"),
                ("msg-p2", "contenterror"),
                ("rcp-p2", "filtered"),
                ("rcp-p3", "filtered"),
                ("msg-p1", "mesgtoobig"),
                ("int-p2", "mesgtoobig"),
                ("msg-p3", "notcompliantrfc"),
                ("dns-p1", "rejected"),
                ("dns-p2", "rejected"),
                ("dns-t1", "rejected"),
                ("dns-p3", "requireptr"),
                ("dns-t2", "requireptr"),
                ("pol-p6", "spamdetected"),
                ("rcp-t4", "suspend"),
                ("rcp-t1", "systemerror"),
                ("con-t1", "toomanyconn"),
                ("con-t2", "toomanyconn"),
                ("con-t3", "toomanyconn"),
                ("con-t4", "toomanyconn"),
                ("msg-t1", "toomanyconn"),
                ("rcp-p1", "userunknown"),
                ("int-p1", "userunknown"),
                ("int-p3", "userunknown"),
                ("int-p4", "userunknown"),
                ("pol-p5", "virusdetected"),
            ];
            CODES
                .iter()
                .find(|(c, _)| d.contains(c))
                .map(|(_, r)| (*r).to_string())
                .unwrap_or_default()
        }
        "franceptt" => {
            const CODES: &[(&str, &str)] = &[
                ("101", "blocked"),
                ("102", "blocked"),
                ("103", "blocked"),
                ("104", "toomanyconn"),
                ("305", "securityerror"),
                ("401", "authfailure"),
                ("402", "securityerror"),
                ("403", "rejected"),
                ("405", "rejected"),
                ("415", "rejected"),
                ("416", "userunknown"),
                ("417", "mailboxfull"),
                ("420", "suspend"),
                ("421", "rejected"),
                ("426", "suspend"),
                ("505", "systemerror"),
                ("506", "spamdetected"),
                ("510", "blocked"),
                ("514", "mesgtoobig"),
                ("517", "authfailure"),
                ("630", "policyviolation"),
                ("999", "blocked"),
            ];
            let issued = d.replace('_', "-");
            for label in ["lpn", "lpnaaa", "ofr", "ouk"] {
                let Some(at) = issued.rfind(label) else {
                    continue;
                };
                let token = issued[at..].split(' ').next().unwrap_or("");
                let token = token.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                if let Some((_, r)) = CODES.iter().find(|(c, _)| token.ends_with(c)) {
                    return (*r).into();
                }
                break;
            }
            pick(&[("authfailure", &["spf/dns de votre nom de domaine"])])
        }
        "godaddy" => {
            const CODES: &[(&str, &str)] = &[
                ("ib401", "securityerror"),
                ("ib501", "notcompliantrfc"),
                ("ib502", "notcompliantrfc"),
                ("ib506", "rejected"),
                ("ib508", "authfailure"),
                ("ib108", "requireptr"),
                ("ib212", "spamdetected"),
                ("ib705", "virusdetected"),
                ("ib605", "toomanyconn"),
                ("ib007", "toomanyconn"),
                ("ib101", "speeding"),
                ("ib110", "blocked"),
                ("ib111", "blocked"),
                ("ib112", "blocked"),
                ("ib113", "blocked"),
                ("ib504", "speeding"),
                ("ib510", "speeding"),
                ("ib607", "speeding"),
                ("ib103", "badreputation"),
                ("ib104", "blocked"),
                ("ib105", "blocked"),
                ("ib106", "blocked"),
            ];
            if let Some(p) = d.find(" ib") {
                let code = d[p + 1..]
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap_or("");
                if let Some((_, r)) = CODES.iter().find(|(c, _)| *c == code) {
                    return (*r).into();
                }
            }
            pick(&[
                ("blocked", &["rbl reject", "www.spamhaus.org/query/bl?ip="]),
                ("expired", &["has been in the queue too long", "delivery timeout"]),
                ("mailboxfull", &["account storage limit"]),
                ("spamdetected", &["message rejected for spam or virus content"]),
                ("suspend", &["account disabled"]),
                ("systemerror", &["message is looping"]),
                ("userunknown", &["recipient not found", "account does not exist"]),
            ])
        }
        "gsuite" => {
            let s0 = fo.status.chars().next();
            let r0 = fo.reply.chars().next();
            const TABLE: &[(&str, &[&str])] = &[
                (
                    "hostunknown",
                    &[" responded with code nxdomain", "domain name not found"],
                ),
                (
                    "networkerror",
                    &[
                        " had no relevant answers.",
                        "responded with code nxdomain",
                        "domain name not found",
                    ],
                ),
                ("notaccept", &["null mx"]),
                (
                    "userunknown",
                    &["because the address couldn't be found. check for typos or unnecessary spaces and try again."],
                ),
            ];
            for (reason, ps) in TABLE {
                if !contains_any(d, ps) {
                    continue;
                }
                if *reason == "networkerror" && (s0 == Some('5') || r0 == Some('5')) {
                    continue;
                }
                if *reason == "hostunknown" && (s0 != Some('5') || r0 != Some('5')) {
                    continue;
                }
                return (*reason).into();
            }
            String::new()
        }
        "kddi" => pick(&[
            ("filtered", &["550 : user unknown"]),
            ("userunknown", &[">: user unknown"]),
        ]),
        "messagelabs" => pick(&[
            ("authfailure", &["domain authentication fail"]),
            ("badreputation", &["connection rejected by policy"]),
            (
                "blocked",
                &[
                    "mail rejected because your ip is in the pbl",
                    "your ip address has been ",
                    "your ip address (ip-addr) has been blocked",
                    "your email address (addr) has been blocked",
                ],
            ),
            ("contenterror", &["stray linefeeds in message"]),
            ("failedstarttls", &["tls/sslv3 connection required"]),
            ("norelaying", &[" as a relay, "]),
            (
                "notcompliantrfc",
                &[
                    "550 requested action aborted [4]",
                    "has detected that this message is not rfc 5322",
                ],
            ),
            (
                "rejected",
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
                "securityerror",
                &["please turn on smtp authentication in your mail client"],
            ),
            ("spamdetected", &["message filtered", "filtered by outbound scanning"]),
            (
                "toomanyconn",
                &["too many recipients received this hour", "too many messages"],
            ),
            (
                "userunknown",
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
                "hostunknown",
                &["the mail could not be delivered to the recipient because the domain is not reachable"],
            ),
            ("userunknown", &["requested action not taken: mailbox unavailable"]),
        ]),
        "spectrum" => {
            let Some(p) = d.find("aup#") else {
                return String::new();
            };
            let digits: String = d[p + 4..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let Ok(n) = digits.parse::<u32>() else {
                return String::new();
            };
            const RANGES: &[(u32, u32, &str)] = &[
                (1000, 1000, "blocked"),
                (1010, 1010, "rejected"),
                (1020, 1080, "rejected"),
                (1090, 1090, "systemerror"),
                (1100, 1150, "requireptr"),
                (1160, 1190, "policyviolation"),
                (1200, 1210, "blocked"),
                (1220, 1250, "blocked"),
                (1260, 1260, "networkerror"),
                (1300, 1340, "toomanyconn"),
                (1350, 1490, "speeding"),
                (1500, 1500, "rejected"),
                (1520, 1520, "rejected"),
                (1530, 1530, "mesgtoobig"),
                (1540, 1540, "speeding"),
                (1550, 1550, "speeding"),
                (1560, 1560, "policyviolation"),
                (1580, 1580, "speeding"),
            ];
            RANGES
                .iter()
                .find(|(lo, hi, _)| (*lo..=*hi).contains(&n))
                .map(|(_, _, r)| (*r).to_string())
                .unwrap_or_default()
        }
        "yahooinc" => pick(&[
            (
                "authfailure",
                &["yahoo requires all senders to authenticate with either spf or dkim"],
            ),
            (
                "blocked",
                &[
                    " because the ip is in spamhaus's list;",
                    "not accepted from ip addresses on spamhaus xbl",
                ],
            ),
            ("norelaying", &["relaying denied for "]),
            ("notcompliantrfc", &["headers are not rfc compliant"]),
            ("policyviolation", &["not accepted for policy reasons"]),
            (
                "rejected",
                &[
                    "temporarily deferred due to unexpected volume or user complaints",
                    "due to unresolvable rfc.5321 domain",
                    " will be permanently deferred",
                ],
            ),
            ("speeding", &["user is receiving mail too quickly"]),
            ("suspend", &[" is no longer valid.", "this mailbox is disabled"]),
            ("syntaxerror", &["syntax error in parameters or arguments"]),
            ("toomanyconn", &["max message per connection reached"]),
            ("userunknown", &["dd this user doesn't have a ", "mailbox not found"]),
        ]),
        _ => String::new(),
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
