//! MTA and provider formats that need more than the generic reading (Amazon SES, Exim, Exchange, qmail, ...).

use super::*;

/// Amazon SES notifications relayed by SNS as JSON in a plain-text mail.
pub(super) fn sns_notification(doc: &Doc) -> Option<Report> {
    static KIND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""notificationType"\s*:\s*"(\w+)""#).unwrap());
    static OBJ: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{[^{}]*\}").unwrap());
    if !doc.text.contains("\"notificationType\"") {
        return None;
    }
    // SNS wraps long lines with "!\n " which splits JSON tokens.
    let json = doc.text.replace("!\n ", "").replace("!\r\n ", "");
    let kind = KIND.captures(&json)?.get(1)?.as_str().to_string();
    let field = |obj: &str, name: &str| -> String {
        let re = format!(r#""{name}"\s*:\s*"((?:[^"\\]|\\.)*)""#);
        Regex::new(&re)
            .ok()
            .and_then(|r| r.captures(obj).and_then(|c| c.get(1)).map(|m| m.as_str().to_string()))
            .unwrap_or_default()
    };
    let array = |name: &str| -> String {
        let key = format!("\"{name}\"");
        let Some(p) = json.find(&key) else {
            return String::new();
        };
        let rest = &json[p + key.len()..];
        let Some(open) = rest.find('[') else {
            return String::new();
        };
        let close = rest[open..].find(']').map(|c| open + c).unwrap_or(rest.len());
        rest[open..close].to_string()
    };
    let original_message_id = Some(field(&json, "messageId")).filter(|s| !s.is_empty());
    let mut original_addresses: Vec<String> = Vec::new();
    for a in find_emails(&array("destination"))
        .into_iter()
        .chain(find_emails(&field(&json, "source")))
    {
        if !original_addresses.contains(&a) {
            original_addresses.push(a);
        }
    }
    match kind.as_str() {
        "Complaint" => {
            let list = array("complainedRecipients");
            let feedback_type = Some(field(&json, "complaintFeedbackType"))
                .filter(|s| !s.is_empty())
                .or_else(|| Some("abuse".to_string()));
            Some(Report {
                kind: ReportKind::Feedback,
                recipients: find_emails(&list)
                    .into_iter()
                    .map(|recipient| FailedRecipient {
                        recipient,
                        status: String::new(),
                        reply_code: String::new(),
                        reason: "feedback".into(),
                        hard: false,
                    })
                    .collect(),
                feedback_type,
                original_message_id,
                original_addresses,
            })
        }
        "Bounce" | "Delivery" => {
            let mut raws = Vec::new();
            if kind == "Bounce" {
                for obj in OBJ.find_iter(&array("bouncedRecipients")) {
                    let o = obj.as_str();
                    let Some(recipient) = first_email(&field(o, "emailAddress")) else {
                        continue;
                    };
                    let diag = field(o, "diagnosticCode");
                    let (spec, diag) = match diag.split_once(';') {
                        Some((s, d)) if !s.contains(' ') => (s.trim().to_ascii_uppercase(), d.trim().to_string()),
                        _ => (String::new(), diag),
                    };
                    let status = field(o, "status");
                    let status = match status_find(&status, "") {
                        found if !found.is_empty() => found,
                        _ => plain_status(&status),
                    };
                    raws.push(Raw {
                        recipient,
                        status,
                        diagnosis: diag,
                        spec,
                        action: field(o, "action"),
                        ..Raw::default()
                    });
                }
            } else {
                let response = field(&json, "smtpResponse");
                for recipient in find_emails(&array("recipients")) {
                    raws.push(Raw {
                        recipient,
                        diagnosis: response.clone(),
                        action: "delivered".into(),
                        ..Raw::default()
                    });
                }
            }
            Some(Report {
                kind: ReportKind::Bounce,
                recipients: raws.into_iter().map(|r| finish(r, doc)).collect(),
                feedback_type: None,
                original_message_id,
                original_addresses,
            })
        }
        _ => None,
    }
}

/// fml mailing-list manager error notices.
pub(super) fn is_fml_error(doc: &Doc) -> bool {
    doc.header("x-mlserver").is_some()
        && doc.from.contains("-admin@")
        && doc.header("message-id").is_some_and(|m| m.contains(".FML"))
}

/// au by KDDI notices ("Your mail sent on: ... Could not be delivered to: <...>").
pub(super) fn is_kddi_error<'a>(doc: &Doc, lower_text: impl FnOnce() -> &'a str) -> bool {
    let from = doc.from.to_ascii_lowercase();
    let reply_to = doc.header("reply-to").unwrap_or("").to_ascii_lowercase();
    (from.contains(".dion.ne.jp") || reply_to.contains("no-reply@app.auone-net.jp"))
        && lower_text().contains("could not be delivered to:")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Vendor {
    Generic,
    Fml,
    Kddi,
    GoogleGroups,
    Gmail,
    Exim,
    Exchange2003,
    DragonFly,
    OpenSmtpd,
    IMailServer,
    ApacheJames,
    Ezweb,
}

pub(super) fn received_contains(doc: &Doc, needle: &str) -> bool {
    doc.headers.iter().any(|(k, v)| k == "received" && v.contains(needle))
}

pub(super) fn detect_vendor(doc: &Doc) -> Vendor {
    let from = doc.from.as_str();
    let subject = doc.subject.as_str();
    let text = doc.text.to_ascii_lowercase();
    if is_fml_error(doc) {
        return Vendor::Fml;
    }
    if is_kddi_error(doc, || text.as_str()) {
        return Vendor::Kddi;
    }
    let google_dsn = from.to_ascii_lowercase().contains("<mailer-daemon@googlemail.com>")
        && subject.contains("Delivery Status Notification");
    if google_dsn
        && doc.text.contains("Google Groups")
        && doc.header("x-failed-recipients").is_some()
        && doc.header("x-google-smtp-source").is_some()
    {
        return Vendor::GoogleGroups;
    }
    if google_dsn && doc.dsn.is_empty() {
        return Vendor::Gmail;
    }
    if subject.contains("Mail delivery failed") && received_contains(doc, " (DragonFly Mail Agent") {
        return Vendor::DragonFly;
    }
    if (subject.contains("Delivery status notification")
        || from.contains("Mailer Daemon <")
        || received_contains(doc, " (OpenSMTPD) with "))
        && !opensmtpd_lines(&doc.text).is_empty()
    {
        return Vendor::OpenSmtpd;
    }
    let mut ezweb = 0;
    if from.contains("Postmaster@ezweb.ne.jp") || from.contains("Postmaster@au.com") {
        ezweb += 1;
    }
    if subject == "Mail System Error - Returned Mail" {
        ezweb += 1;
    }
    if received_contains(doc, "ezweb.ne.jp (EZweb Mail) with") || received_contains(doc, ".au.com (") {
        ezweb += 1;
    }
    if doc
        .header("message-id")
        .is_some_and(|m| m.contains(".ezweb.ne.jp>") || m.contains(".au.com>"))
    {
        ezweb += 1;
    }
    if ezweb >= 2 {
        return Vendor::Ezweb;
    }
    if doc.text.contains("Error message below:") && doc.text.contains("Message details:") {
        return Vendor::ApacheJames;
    }
    if subject.starts_with("Undeliverable Mail") || doc.header("x-mailer").is_some_and(|m| m.starts_with("<SMTP32 v")) {
        return Vendor::IMailServer;
    }
    let exchange = doc.header("x-ms-embedded-report").is_some()
        || doc.header("x-mailer").is_some_and(|m| {
            m.starts_with("Internet Mail Service (")
                || m.starts_with("Microsoft Exchange Server Internet Mail Connector")
        })
        || doc
            .header("x-mimeole")
            .is_some_and(|m| m.starts_with("Produced By Microsoft Exchange"))
        || received_contains(doc, " with Internet Mail Service (");
    if exchange && doc.text.contains("did not reach the following recipient") {
        return Vendor::Exchange2003;
    }
    let mut exim = 0;
    if from.contains("Mail Delivery System") {
        exim += 1;
    }
    const EXIM_TITLES: &[&str] = &[
        "Delivery Status Notification",
        "Mail delivery failed",
        "Mail failure",
        "Message frozen",
        "Warning: message ",
        "error(s) in forwarding or filtering",
    ];
    if EXIM_TITLES.iter().any(|t| subject.contains(t)) {
        exim += 1;
    }
    if let Some(id) = doc.header("message-id") {
        let id = id.trim().as_bytes();
        if id.first() == Some(&b'<') && id.get(8) == Some(&b'-') && id.get(18) == Some(&b'@') {
            exim += 1;
        }
    }
    let third_party = doc.header("x-mx-bounce").is_some()
        || doc.header("x-mxl-hash").is_some()
        || doc.header("x-mxl-notehash").is_some()
        || doc.header("message-id").is_some_and(|m| m.contains("<mxl~"));
    if (exim >= 2 || third_party) && doc.dsn.is_empty() {
        return Vendor::Exim;
    }
    Vendor::Generic
}

pub(super) fn vendor_recipients(doc: &Doc, vendor: Vendor) -> Option<Vec<Raw>> {
    match vendor {
        Vendor::Fml => {
            // fml names the list (not a person) in angle brackets.
            let line = doc.text.lines().find(|l| l.contains('<') && l.contains('>'))?;
            let recipient = first_email(line)?;
            Some(vec![Raw {
                recipient,
                diagnosis: doc.text.clone(),
                ..Raw::default()
            }])
        }
        Vendor::OpenSmtpd => {
            let out: Vec<Raw> = opensmtpd_lines(&doc.text)
                .into_iter()
                .map(|(recipient, diagnosis)| Raw {
                    recipient,
                    diagnosis,
                    command_set: true,
                    ..Raw::default()
                })
                .collect();
            (!out.is_empty()).then_some(out)
        }
        Vendor::GoogleGroups => {
            let paragraphs: Vec<&str> = doc.text.splitn(5, "\n\n").collect();
            let keep = paragraphs.len().saturating_sub(1).max(1);
            let diagnosis = paragraphs[..keep.min(paragraphs.len())].join(" ");
            let bullets = doc.text.matches("\n *").count() == 4 || doc.text.matches("\n*").count() == 4;
            let reason = if bullets { "rejected" } else { "onhold" };
            let list = doc.header("x-failed-recipients").unwrap_or("");
            let out: Vec<Raw> = find_emails(list)
                .into_iter()
                .map(|recipient| Raw {
                    recipient,
                    diagnosis: diagnosis.clone(),
                    reason: reason.into(),
                    ..Raw::default()
                })
                .collect();
            (!out.is_empty()).then_some(out)
        }
        _ => None,
    }
}

/// OpenSMTPD lists each failure as "address: error" on one line.
pub(super) fn opensmtpd_lines(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let Some((addr, rest)) = line.split_once(": ") else {
            continue;
        };
        if addr.contains(' ') || !addr.contains('@') {
            continue;
        }
        if let Some(a) = clean_email(addr) {
            out.push((a, rest.trim().to_string()));
        }
    }
    out
}

pub(super) fn contains_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

/// Per-vendor wording that settles the reason (and for some, the status), as
/// sisimai's per-MTA tables do.
pub(super) fn vendor_adjust(doc: &Doc, vendor: Vendor, r: &mut Raw, single: bool) {
    if !r.reason.is_empty() {
        return;
    }
    let diag = r.diagnosis.clone();
    let table: &[(&str, &[&str])] = match vendor {
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
                "rejected"
            } else if diag.contains("Security alert:") {
                "securityerror"
            } else if contains_any(
                &diag,
                &[
                    "Duplicated Message-ID",
                    " has detected a loop condition so that",
                    "Loop Back Warning:",
                ],
            ) {
                "systemerror"
            } else if contains_any(
                subject,
                &[
                    " are not member",
                    "NOT MEMBER article from ",
                    "reject mail ",
                    "Spam mail from a spammer is rejected",
                ],
            ) {
                "rejected"
            } else if contains_any(
                subject,
                &[
                    "fml system error message",
                    "Loop Alert: ",
                    "Loop Back Warning: ",
                    "WARNING: UNIX FROM Loop",
                ],
            ) {
                "systemerror"
            } else if subject.contains("Security Alert") {
                "securityerror"
            } else {
                ""
            }
            .into();
            return;
        }
        Vendor::Kddi => {
            if doc.header("x-spasign").is_some_and(|v| v.trim() == "NG") {
                r.reason = "filtered".into();
                return;
            }
            &[
                ("mailboxfull", &["As their mailbox is full"]),
                ("norelaying", &["Due to the following SMTP relay error"]),
                ("hostunknown", &["As the remote domain doesnt exist"]),
            ]
        }
        Vendor::Gmail => {
            if single && let Some(p) = doc.text.find("Delivery to the following recipient") {
                r.diagnosis = doc.text[p..].to_string();
            }
            let d = sweep(&r.diagnosis);
            const STATES: &[(&str, &str, &str)] = &[
                ("6", "MAIL", "failedstarttls"),
                ("8", "AUTH", "systemerror"),
                ("9", "AUTH", "failedstarttls"),
                ("12", "AUTH", "norelaying"),
                ("13", "EHLO", "blocked"),
                ("14", "RCPT", "userunknown"),
                ("15", "DATA", "filtered"),
                ("17", "DATA", "filtered"),
                ("18", "DATA", "filtered"),
            ];
            if let Some(p) = d.find(" (state ") {
                let rest = &d[p + 8..];
                let code = rest.split(')').next().unwrap_or("");
                if let Some((_, c, reason)) = STATES.iter().find(|(k, _, _)| *k == code) {
                    r.command = (*c).into();
                    r.command_set = true;
                    r.reason = (*reason).into();
                }
            }
            if r.reason.is_empty() {
                if contains_any(
                    &d,
                    &[
                        "DNS Error: Could not contact DNS servers",
                        "Delivery to the following recipient has been delayed",
                        "The recipient server did not accept our requests to connect",
                    ],
                ) {
                    r.reason = "expired".into();
                } else if contains_any(
                    &d,
                    &[
                        "DNS Error: Domain name not found",
                        "DNS Error: DNS server returned answer with no data",
                    ],
                ) {
                    r.reason = "hostunknown".into();
                }
            }
            if !r.reason.is_empty() {
                let st = status_find(&d, &r.reply_code);
                if !st.is_empty() {
                    if !st.contains(".0") {
                        r.reason = status_name(&st).into();
                    }
                    r.status = st;
                }
            }
            return;
        }
        Vendor::Exchange2003 => {
            let d = sweep(&diag);
            const CODES: &[(&str, &str)] = &[
                ("000C05A6", "userunknown"),
                ("000C0595", "filtered"),
                ("00010256", "systemerror"),
                ("000D06B5", "systemerror"),
                ("00120270", "networkerror"),
                ("00050311", "contenterror"),
                ("000502CC", "contenterror"),
                ("000B0981", "securityerror"),
                ("000B099C", "onhold"),
                ("000B09AA", "onhold"),
                ("000B09B6", "onhold"),
            ];
            // "MSEXCH:IMS:... 0 (000C05A6) Unknown Recipient"
            let Some(tail) = d.find("MSEXCH:").map(|p| &d[p..]) else {
                return;
            };
            if let (Some(a), Some(b)) = (tail.find('('), tail.find(')'))
                && a < b
                && let Some((_, reason)) = CODES.iter().find(|(c, _)| *c == &tail[a + 1..b])
            {
                r.reason = (*reason).into();
                r.status = pseudo_status(reason, false);
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
                ("expired", &["Could not deliver for the last "]),
                ("hostunknown", &["DNS lookup failure: host "]),
            ]
        }
        Vendor::OpenSmtpd => &[
            ("expired", &["Envelope expired"]),
            ("securityerror", &["Could not retrieve credentials"]),
            ("hostunknown", &["Invalid domain name", "Domain does not exist"]),
            (
                "networkerror",
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
                "notaccept",
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
                ("hostunknown", &["Unknown host"]),
                ("userunknown", &["Unknown user", "Invalid final delivery userid"]),
                ("mailboxfull", &["User mailbox exceeds allowed size"]),
                ("virusdetected", &["Requested action not taken: virus detected"]),
                ("spamdetected", &["Blacklisted URL in message"]),
                ("expired", &["Delivery failed "]),
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
                r.reason = "filtered".into();
                return;
            }
            const TABLE: &[(&str, &[&str])] = &[
                ("expired", &["Your message was not delivered within "]),
                ("mailboxfull", &["The user(s) account is temporarily over quota"]),
                (
                    "onhold",
                    &["Each of the following recipients was rejected by a remote mail server"],
                ),
                (
                    "suspend",
                    &[
                        "The user(s) account is disabled.",
                        "The user(s) account is temporarily limited.",
                    ],
                ),
            ];
            let d = sweep(&r.diagnosis);
            if let Some((reason, _)) = TABLE.iter().find(|(_, ps)| contains_any(&d, ps)) {
                r.reason = (*reason).into();
            } else if !r.recipient.ends_with("@ezweb.ne.jp") && !r.recipient.ends_with("@au.com") && d.starts_with('<')
            {
                r.reason = "userunknown".into();
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
        r.reason = (*reason).into();
    }
}

/// Vendor wording recognised without a dedicated reader, each gated on a header or
/// banner that identifies the vendor.
pub(super) fn generic_phrases(doc: &Doc, r: &mut Raw) {
    let d = sweep(&r.diagnosis);
    let text = &doc.text[..floor_char(&doc.text, 64 * 1024)];
    let whole = sweep(text);
    let from = doc.from.as_str();
    let subject = doc.subject.as_str();
    let rules: &[(bool, &str, &[&str])] = &[
        (doc.header("x-zohomail").is_some(), "expired", &["Host not reachable"]),
        (
            doc.header("x-gmx-antispam").is_some(),
            "expired",
            &["delivery retry timeout exceeded"],
        ),
        (
            from.starts_with("\"InterScan") || doc.content_type.contains("interscan") || whole.contains(" InterScan "),
            "userunknown",
            &["Unable to deliver"],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            "userunknown",
            &[
                "not listed in Domino Directory",
                "not listed in public Name & Address Book",
                "no se encuentra en el Directorio de Domino",
                "Domino ディレクトリには見つかりません",
            ],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            "filtered",
            &["Cannot route mail to user"],
        ),
        (
            subject.starts_with("DELIVERY FAILURE:") || subject.contains("DELIVERY_FAILURE"),
            "systemerror",
            &["Several matches found in Domino Directory"],
        ),
        (
            whole.contains("------- Failure Reasons"),
            "userunknown",
            &[
                "User not listed in public Name & Address Book",
                "not listed in public Name & Address Book",
            ],
        ),
        (
            whole.contains("------- Failure Reasons"),
            "networkerror",
            &["Message has exceeded maximum hop count"],
        ),
        (
            from.contains("vzwpix.com") || from.contains("@vtext.com"),
            "userunknown",
            &[
                "No valid recipients for this MM",
                "Requested action not taken: no such user here",
            ],
        ),
    ];
    for (gate, reason, phrases) in rules {
        // Domino and Notes put the reason in the notice, not next to the address.
        if *gate && (contains_any(&d, phrases) || contains_any(&whole, phrases)) {
            r.reason = (*reason).into();
            return;
        }
    }
}

pub(super) fn exim_adjust(r: &mut Raw) {
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
    let text = &text[..floor_char(text, 16 * 1024)];
    HOST.find_iter(text)
        .filter(|m| m.start() == 0 || text.as_bytes()[m.start() - 1] != b'@')
        .map(|m| m.as_str().to_string())
        .collect()
}

pub(super) fn microsoft_reason(fo: &Fact) -> String {
    let status = fo.status.as_str();
    let Some(third) = status.split('.').nth(2).and_then(|t| t.parse::<u32>().ok()) else {
        return String::new();
    };
    // (status or prefix, range low, range high, message, reason); a range applies to the
    // third number of prefix-matched codes.
    #[rustfmt::skip]
    const TABLE: &[(&str, u32, u32, &str, &str)] = &[
        ("4.7.26", 0, 0, "must pass either spf or dkim validation, this message is not signed", "authfailure"),
        ("5.7.23", 0, 0, "the message was rejected because of sender policy framework violation", "authfailure"),
        ("5.7.509", 0, 0, "does not pass dmarc verification", "authfailure"),
        ("5.7.515", 0, 0, "doesn't meet the required authentication level", "authfailure"),
        ("4.7.650", 0, 0, "has been temporarily rate limited due to ip reputation", "badreputation"),
        ("4.4.2", 0, 0, "connection dropped", "blocked"),
        ("4.7.", 850, 899, "access denied, please try again later", "blocked"),
        ("5.7.25", 0, 0, "must have a reverse dns record", "blocked"),
        ("5.7.506", 0, 0, "access denied, bad helo", "blocked"),
        ("5.7.507", 0, 0, "access denied, rejected by recipient", "blocked"),
        ("5.7.510", 0, 0, "does not accept email over ipv6", "blocked"),
        ("5.7.511", 0, 0, "access denied, banned sender", "blocked"),
        ("5.7.513", 0, 0, "using customer block list", "blocked"),
        ("5.7.", 606, 649, "access denied, banned sending ip ", "blocked"),
        ("4.7.", 500, 699, "access denied, please try again later", "blocked"),
        ("5.5.4", 0, 0, "invalid domain name", "blocked"),
        ("5.7.1", 0, 0, "part of their network is on our block list (s3150)", "blocked"),
        ("5.3.0", 0, 0, "too many related errors", "contenterror"),
        ("5.6.11", 0, 0, "invalid characters", "contenterror"),
        ("5.4.11", 0, 0, "agent generated message depth exceeded", "contenterror"),
        ("5.5.6", 0, 0, "invalid message content", "contenterror"),
        ("5.2.3", 0, 0, "resolver.rst.recipsizelimit; message too large for this recipient", "mesgtoobig"),
        ("5.3.4", 0, 0, "message size exceeds fixed maximum message size", "mesgtoobig"),
        ("5.3.4", 0, 0, "message too big for system", "mesgtoobig"),
        ("4.4.1", 0, 0, "connection timed out", "expired"),
        ("4.4.7", 0, 0, "message delayed", "expired"),
        ("4.4.7", 0, 0, "queue expired; message expired", "expired"),
        ("4.4.7", 0, 0, "message expired", "expired"),
        ("5.4.300", 0, 0, "message expired", "expired"),
        ("5.4.316", 0, 0, "message expired", "expired"),
        ("4.4.8", 0, 0, " failed mta-sts validation", "failedstarttls"),
        ("5.4.8", 0, 0, " failed mta-sts validation", "failedstarttls"),
        ("4.4.317", 0, 0, "starttls is required to send mail", "failedstarttls"),
        ("5.4.317", 0, 0, "starttls is required to send mail", "failedstarttls"),
        ("4.7.5", 0, 0, "remote certificate failed mta-sts validation", "failedstarttls"),
        ("5.7.5", 0, 0, "remote certificate failed mta-sts validation", "failedstarttls"),
        ("4.7.321", 0, 0, "starttls-not-supported:", "failedstarttls"),
        ("5.7.321", 0, 0, "starttls-not-supported:", "failedstarttls"),
        ("5.7.322", 0, 0, "certificate-expired:", "failedstarttls"),
        ("5.2.2", 0, 0, "mailbox full", "mailboxfull"),
        ("5.4.4", 0, 0, "smtpsend.dns.nonexistentdomain; nonexistent domain", "networkerror"),
        ("5.4.6", 0, 0, "hop count exceeded - possible mail loop", "networkerror"),
        ("4.4.312", 0, 0, "dns query failed", "networkerror"),
        ("5.4.312", 0, 0, "dns query failed", "networkerror"),
        ("4.4.316", 0, 0, "connection refused", "networkerror"),
        ("5.4.316", 0, 0, "connection refused", "networkerror"),
        ("5.4.4", 0, 0, "invalid arguments", "networkerror"),
        ("5.4.6", 0, 0, "routing loop detected", "networkerror"),
        ("5.4.14", 0, 0, "routing loop detected", "networkerror"),
        ("5.7.1", 0, 0, "unable to relay", "norelaying"),
        ("5.7.1", 0, 0, "client was not authenticated", "norelaying"),
        ("5.4.1", 0, 0, "relay access denied", "norelaying"),
        ("5.7.64", 0, 0, "tenantattribution; relay access denied", "norelaying"),
        ("5.4.310", 0, 0, "does not exist", "norelaying"),
        ("4.3.2", 0, 0, "system not accepting network messages", "notaccept"),
        ("4.4.4", 0, 0, "hosted tenant which has no mail-enabled subscriptions", "notaccept"),
        ("5.3.2", 0, 0, "storedrv.deliver: missing or bad storedriver mdb properties", "notaccept"),
        ("5.0.350", 0, 0, "x-dg-ref header is too long", "policyviolation"),
        ("5.0.350", 0, 0, "requested action not taken: policy violation detected (as345)", "policyviolation"),
        ("5.7.", 900, 999, "delivery not authorized, message refused", "policyviolation"),
        ("5.1.7", 0, 0, "invalid address", "rejected"),
        ("5.1.7", 0, 0, "unknown sender address", "rejected"),
        ("5.1.0", 0, 0, "sender denied", "rejected"),
        ("5.1.8", 0, 0, "access denied, bad outbound sender", "rejected"),
        ("5.7.1", 0, 0, "delivery not authorized", "rejected"),
        ("5.7.12", 0, 0, "sender was not authenticated by organization", "rejected"),
        ("5.7.124", 0, 0, "sender not in allowed-senders list", "rejected"),
        ("5.7.133", 0, 0, "sender not authenticated for group", "rejected"),
        ("5.7.134", 0, 0, "sender was not authenticated for mailbox", "rejected"),
        ("5.7.13", 0, 0, "sender was not authenticated for public folder", "rejected"),
        ("5.7.135", 0, 0, "sender was not authenticated for public folder", "rejected"),
        ("5.7.136", 0, 0, "sender was not authenticated", "rejected"),
        ("5.7.", 501, 503, "access denied, spam abuse detected", "rejected"),
        ("5.7.512", 0, 0, "access denied, message must be rfc 5322 section 3.6.2 compliant", "rejected"),
        ("5.7.750", 0, 0, "service unavailable. client blocked from sending from unregistered domains", "rejected"),
        ("5.7.", 501, 503, "access denied, banned sender", "rejected"),
        ("5.7.3", 0, 0, "cannot achieve exchange server authentication", "securityerror"),
        ("5.7.3", 0, 0, "not authorized", "securityerror"),
        ("5.7.57", 0, 0, "client was not authenticated to send anonymous mail during mail from", "securityerror"),
        ("5.2.1", 0, 0, "content filter agent quarantined this message", "spamdetected"),
        ("5.5.3", 0, 0, "too many recipients", "speeding"),
        ("4.3.2", 0, 0, "storedrv.deliver; recipient thread limit exceeded", "speeding"),
        ("4.5.3", 0, 0, "too many recipients", "speeding"),
        ("4.7.652", 0, 0, "has exceeded the maximum number of connections", "speeding"),
        ("5.1.90", 0, 0, "reached your daily limit for message recipients", "speeding"),
        ("5.2.2", 0, 0, "submission quota exceeded", "speeding"),
        ("5.2.121", 0, 0, "recipient's per hour message receive limit", "speeding"),
        ("5.2.122", 0, 0, "recipient's per hour message receive limit", "speeding"),
        ("5.2.122", 0, 0, "the recipient has exceeded their limit for", "speeding"),
        ("5.7.508", 0, 0, "has exceeded permitted limits within", "speeding"),
        ("5.7.", 700, 749, "tenant has exceeded threshold", "speeding"),
        ("5.7.", 700, 749, "traffic not accepted from this ip", "speeding"),
        ("5.7.504", 0, 0, "recipient address rejected: access denied", "suspend"),
        ("5.7.505", 0, 0, "access denied, banned recipient", "suspend"),
        ("5.2.1", 0, 0, "mailbox cannot be accessed", "suspend"),
        ("5.3.3", 0, 0, "unrecognized command", "syntaxerror"),
        ("5.5.2", 0, 0, "send hello first", "syntaxerror"),
        ("4.3.2", 0, 0, "service not available", "systemerror"),
        ("4.3.2", 0, 0, "service not active", "systemerror"),
        ("5.3.5", 0, 0, "system incorrectly configured", "systemerror"),
        ("5.3.190", 0, 0, "when journaling archive is disabled", "systemerror"),
        ("5.0.0", 0, 0, "helo / ehlo requires domain address", "systemerror"),
        ("5.1.4", 0, 0, "destination mailbox address ambiguous", "systemerror"),
        ("5.2.4", 0, 0, "mailing list expansion problem", "systemerror"),
        ("5.2.14", 0, 0, "misconfigured forwarding address", "systemerror"),
        ("4.4.", 22, 28, "message failed to be replicated:", "systemerror"),
        ("4.4.3", 0, 0, "temporary server error. please try again later attr18", "systemerror"),
        ("4.7.0", 0, 0, "temporary server error. please try again later. prx4 nexthop:", "systemerror"),
        ("4.4.318", 0, 0, "(suspiciousremoteservererror)", "systemerror"),
        ("5.4.318", 0, 0, "(suspiciousremoteservererror)", "systemerror"),
        ("4.7.500", 0, 0, "server busy. please try again later from ", "systemerror"),
        ("4.7.700", 0, 0, "pfa agent busy, please try again.", "systemerror"),
        ("4.3.1", 0, 0, "insufficient system resources", "systemfull"),
        ("5.1.1", 0, 0, "resolver.adr.exrecipnotfound; not found", "userunknown"),
        ("5.1.1", 0, 0, "user unknown", "userunknown"),
        ("5.1.3", 0, 0, "storedrv.submit; invalid recipient address", "userunknown"),
        ("5.1.", 4, 5, "recipient address reserved by rfc 2606", "userunknown"),
        ("5.1.6", 0, 0, "recipient addresses in single label domains not accepted", "userunknown"),
        ("5.1.1", 0, 0, "bad destination mailbox address", "userunknown"),
        ("5.1.10", 0, 0, "recipient not found", "userunknown"),
        ("5.4.1", 0, 0, "recipient address rejected: access denied", "userunknown"),
        ("5.5.0", 0, 0, "requested action not taken: mailbox unavailable", "userunknown"),
        ("5.1.2", 0, 0, "invalid x.400 address", "userunknown"),
        ("5.1.351", 0, 0, "remote server returned unknown recipient or mailbox unavailable", "userunknown"),
    ];
    for (code, lo, hi, message, reason) in TABLE {
        let code_ok = if lo == hi {
            status == *code
        } else {
            status.starts_with(code) && (*lo..=*hi).contains(&third)
        };
        if code_ok && fo.diag.contains(message) {
            return (*reason).to_string();
        }
    }
    const CODES: &[(&str, &str, &str)] = &[
        ("rp-001", "421", "badreputation"),
        ("rp-002", "421", "badreputation"),
        ("rp-003", "421", "badreputation"),
        ("sc-001", "550", "badreputation"),
        ("sc-002", "550", "policyviolation"),
        ("sc-003", "550", "blocked"),
        ("sc-004", "550", "blocked"),
        ("dy-001", "550", "blocked"),
        ("dy-002", "550", "virusdetected"),
        ("ou-001", "550", "blocked"),
        ("ou-002", "550", "badreputation"),
    ];
    CODES
        .iter()
        .find(|(c, reply, _)| fo.diag.contains(c) && fo.reply == *reply)
        .map(|(_, _, r)| (*r).to_string())
        .unwrap_or_default()
}
