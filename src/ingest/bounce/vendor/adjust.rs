//! Per-vendor wording that settles a recipient's reason (and for some, its status).

use crate::ingest::bounce::codes::{command_find, status_find};
use crate::ingest::bounce::message::Doc;
use crate::ingest::bounce::reason::{pseudo_status, status_name, sweep};
use crate::ingest::bounce::recipients::Raw;
use crate::ingest::bounce::vendor::Vendor;
use crate::ingest::bounce::vendor::exim::exim_adjust;
use crate::ingest::text::{contains_any, truncate};
use crate::mail::Reason;

/// Per-vendor wording that settles the reason (and for some, the status), as
/// sisimai's per-MTA tables do.
pub(in crate::ingest::bounce) fn vendor_adjust(doc: &Doc, vendor: Vendor, r: &mut Raw, single: bool) {
    if r.reason.is_some() {
        return;
    }
    let diag = r.diagnosis.clone();
    let table: &[(Reason, &[&str])] = match vendor {
        Vendor::Fml => {
            let subject = doc.subject.as_str();
            r.reason = if contains_any(
                &diag,
                &[
                    " header may cause mail loop",
                    "NOT MEMBER article from ",
                    "reject mail from ",
                    "reject spammers:",
                    "You are not a member of this mailing list",
                ],
            ) {
                Some(Reason::Rejected)
            } else if diag.contains("Security alert:") {
                Some(Reason::SecurityError)
            } else if contains_any(
                &diag,
                &[
                    "Duplicated Message-ID",
                    " has detected a loop condition so that",
                    "Loop Back Warning:",
                ],
            ) {
                Some(Reason::SystemError)
            } else if contains_any(
                subject,
                &[
                    " are not member",
                    "NOT MEMBER article from ",
                    "reject mail ",
                    "Spam mail from a spammer is rejected",
                ],
            ) {
                Some(Reason::Rejected)
            } else if contains_any(
                subject,
                &[
                    "fml system error message",
                    "Loop Alert: ",
                    "Loop Back Warning: ",
                    "WARNING: UNIX FROM Loop",
                ],
            ) {
                Some(Reason::SystemError)
            } else if subject.contains("Security Alert") {
                Some(Reason::SecurityError)
            } else {
                None
            };
            return;
        }
        Vendor::Kddi => {
            if doc.header("x-spasign").is_some_and(|v| v.trim() == "NG") {
                r.reason = Some(Reason::Filtered);
                return;
            }
            &[
                (Reason::MailboxFull, &["As their mailbox is full"]),
                (Reason::NoRelaying, &["Due to the following SMTP relay error"]),
                (Reason::HostUnknown, &["As the remote domain doesnt exist"]),
            ]
        }
        Vendor::Gmail => {
            if single && let Some(p) = doc.text.find("Delivery to the following recipient") {
                r.diagnosis = doc.text[p..].to_string();
            }
            let d = sweep(&r.diagnosis);
            const STATES: &[(&str, &str, Reason)] = &[
                ("6", "MAIL", Reason::FailedStartTls),
                ("8", "AUTH", Reason::SystemError),
                ("9", "AUTH", Reason::FailedStartTls),
                ("12", "AUTH", Reason::NoRelaying),
                ("13", "EHLO", Reason::Blocked),
                ("14", "RCPT", Reason::UserUnknown),
                ("15", "DATA", Reason::Filtered),
                ("17", "DATA", Reason::Filtered),
                ("18", "DATA", Reason::Filtered),
            ];
            if let Some(p) = d.find(" (state ") {
                let rest = &d[p + 8..];
                let code = rest.split(')').next().unwrap_or("");
                if let Some((_, c, reason)) = STATES.iter().find(|(k, _, _)| *k == code) {
                    r.command = (*c).into();
                    r.command_set = true;
                    r.reason = Some(*reason);
                }
            }
            if r.reason.is_none() {
                if contains_any(
                    &d,
                    &[
                        "DNS Error: Could not contact DNS servers",
                        "Delivery to the following recipient has been delayed",
                        "The recipient server did not accept our requests to connect",
                    ],
                ) {
                    r.reason = Some(Reason::Expired);
                } else if contains_any(
                    &d,
                    &[
                        "DNS Error: Domain name not found",
                        "DNS Error: DNS server returned answer with no data",
                    ],
                ) {
                    r.reason = Some(Reason::HostUnknown);
                }
            }
            if r.reason.is_some() {
                let st = status_find(&d, &r.reply_code);
                if !st.is_empty() {
                    if !st.contains(".0") {
                        r.reason = status_name(&st);
                    }
                    r.status = st;
                }
            }
            return;
        }
        Vendor::Exchange2003 => {
            let d = sweep(&diag);
            const CODES: &[(&str, Reason)] = &[
                ("000C05A6", Reason::UserUnknown),
                ("000C0595", Reason::Filtered),
                ("00010256", Reason::SystemError),
                ("000D06B5", Reason::SystemError),
                ("00120270", Reason::NetworkError),
                ("00050311", Reason::ContentError),
                ("000502CC", Reason::ContentError),
                ("000B0981", Reason::SecurityError),
                ("000B099C", Reason::OnHold),
                ("000B09AA", Reason::OnHold),
                ("000B09B6", Reason::OnHold),
            ];
            // "MSEXCH:IMS:... 0 (000C05A6) Unknown Recipient"
            let Some(tail) = d.find("MSEXCH:").map(|p| &d[p..]) else {
                return;
            };
            if let (Some(a), Some(b)) = (tail.find('('), tail.find(')'))
                && a < b
                && let Some((_, reason)) = CODES.iter().find(|(c, _)| *c == &tail[a + 1..b])
            {
                r.reason = Some(*reason);
                r.status = pseudo_status(*reason, false);
                r.diagnosis = tail[b + 1..].trim().to_string();
            }
            return;
        }
        Vendor::DragonFly => {
            if let Some(line) = diag.lines().find(|l| l.contains(" did not like our ")) {
                r.command = command_find(line);
                r.command_set = true;
            }
            &[
                (Reason::Expired, &["Could not deliver for the last "]),
                (Reason::HostUnknown, &["DNS lookup failure: host "]),
            ]
        }
        Vendor::OpenSmtpd => &[
            (Reason::Expired, &["Envelope expired"]),
            (Reason::SecurityError, &["Could not retrieve credentials"]),
            (Reason::HostUnknown, &["Invalid domain name", "Domain does not exist"]),
            (
                Reason::NetworkError,
                &[
                    "Address family mismatch on destination MXs",
                    "All routes to destination blocked",
                    "bad DNS lookup error code",
                    "Could not retrieve source address",
                    "Loop detected",
                    "Network error on destination MXs",
                    "No valid route to remote MX",
                    "No valid route to destination",
                    "Temporary failure in MX lookup",
                ],
            ),
            (
                Reason::NotAccept,
                &[
                    "Destination seem to reject all mails",
                    "No MX found for domain",
                    "No MX found for destination",
                ],
            ),
        ],
        Vendor::IMailServer => {
            if let Some(p) = doc.text.find("Body of message generated response:") {
                r.diagnosis = format!("{} {}", &doc.text[p..], r.diagnosis);
            }
            &[
                (Reason::HostUnknown, &["Unknown host"]),
                (Reason::UserUnknown, &["Unknown user", "Invalid final delivery userid"]),
                (Reason::MailboxFull, &["User mailbox exceeds allowed size"]),
                (Reason::VirusDetected, &["Requested action not taken: virus detected"]),
                (Reason::SpamDetected, &["Blacklisted URL in message"]),
                (Reason::Expired, &["Delivery failed "]),
            ]
        }
        Vendor::Exim => {
            exim_adjust(r);
            return;
        }
        Vendor::ApacheJames => {
            let t = &doc.text;
            if let Some(p) = t.find("Error message below:") {
                let end = t[p..].find("Message details:").map(|e| p + e).unwrap_or(t.len());
                r.diagnosis = t[p..end].to_string();
            }
            r.command.clear();
            r.command_set = true;
            // Verizon's gateways reuse the James notice.
            generic_phrases(doc, r);
            return;
        }
        Vendor::Ezweb => {
            const STARTS: &[&str] = &["The user(s) ", "Your message ", "Each of the following", "<"];
            if single {
                let mut offset = 0;
                for line in doc.text.split_inclusive('\n') {
                    if STARTS.iter().any(|p| line.starts_with(p)) {
                        let rest = &doc.text[offset..];
                        let end = rest.find("\n-----------------------------------").unwrap_or(rest.len());
                        r.diagnosis = rest[..end].to_string();
                        break;
                    }
                    offset += line.len();
                }
            }
            if doc.header("x-spasign").is_some_and(|v| v.trim() == "NG") {
                r.reason = Some(Reason::Filtered);
                return;
            }
            const TABLE: &[(Reason, &[&str])] = &[
                (Reason::Expired, &["Your message was not delivered within "]),
                (Reason::MailboxFull, &["The user(s) account is temporarily over quota"]),
                (
                    Reason::OnHold,
                    &["Each of the following recipients was rejected by a remote mail server"],
                ),
                (
                    Reason::Suspend,
                    &[
                        "The user(s) account is disabled.",
                        "The user(s) account is temporarily limited.",
                    ],
                ),
            ];
            let d = sweep(&r.diagnosis);
            if let Some((reason, _)) = TABLE.iter().find(|(_, ps)| contains_any(&d, ps)) {
                r.reason = Some(*reason);
            } else if !r.recipient.ends_with("@ezweb.ne.jp") && !r.recipient.ends_with("@au.com") && d.starts_with('<')
            {
                r.reason = Some(Reason::UserUnknown);
            }
            return;
        }
        Vendor::GoogleGroups => return,
        Vendor::Generic => {
            generic_phrases(doc, r);
            return;
        }
    };
    let d = sweep(&r.diagnosis);
    if let Some((reason, _)) = table.iter().find(|(_, ps)| contains_any(&d, ps)) {
        r.reason = Some(*reason);
    }
}

/// Vendor wording recognised without a dedicated reader, each gated on a header or
/// banner that identifies the vendor.
pub(in crate::ingest::bounce) fn generic_phrases(doc: &Doc, r: &mut Raw) {
    let d = sweep(&r.diagnosis);
    let text = truncate(&doc.text, 64 * 1024);
    let whole = sweep(text);
    let from = doc.from.as_str();
    let subject = doc.subject.as_str();
    let rules: &[(bool, Reason, &[&str])] = &[
        (
            doc.header("x-zohomail").is_some(),
            Reason::Expired,
            &["Host not reachable"],
        ),
        (
            doc.header("x-gmx-antispam").is_some(),
            Reason::Expired,
            &["delivery retry timeout exceeded"],
        ),
        (
            from.starts_with("\"InterScan") || doc.content_type.contains("interscan") || whole.contains(" InterScan "),
            Reason::UserUnknown,
            &["Unable to deliver"],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            Reason::UserUnknown,
            &[
                "not listed in Domino Directory",
                "not listed in public Name & Address Book",
                "no se encuentra en el Directorio de Domino",
                "Domino ディレクトリには見つかりません",
            ],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            Reason::Filtered,
            &["Cannot route mail to user"],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            Reason::SystemError,
            &["Several matches found in Domino Directory"],
        ),
        (
            whole.contains("------- Failure Reasons"),
            Reason::UserUnknown,
            &[
                "User not listed in public Name & Address Book",
                "not listed in public Name & Address Book",
            ],
        ),
        (
            whole.contains("------- Failure Reasons"),
            Reason::NetworkError,
            &["Message has exceeded maximum hop count"],
        ),
        (
            from.contains("vzwpix.com") || from.contains("@vtext.com"),
            Reason::UserUnknown,
            &[
                "No valid recipients for this MM",
                "Requested action not taken: no such user here",
            ],
        ),
    ];
    for (gate, reason, phrases) in rules {
        // Domino and Notes put the reason in the notice, not next to the address.
        if *gate && (contains_any(&d, phrases) || contains_any(&whole, phrases)) {
            r.reason = Some(*reason);
            return;
        }
    }
}
