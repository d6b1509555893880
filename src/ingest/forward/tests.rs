//! The hand-written fixtures of tests/fixtures/forwards and focused cases.

use super::block::parse_mailbox;
use super::{MAX_SCAN, first_text, from_html, from_text, html_to_plain, normalize, parse, scan, strip_forward_prefix};
use crate::mail::Forwarded;
use mail_parser::{MessageParser, PartType};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forwards")
}

fn opt_str(value: &serde_json::Value, key: &str) -> Option<String> {
    value.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

#[test]
fn fixtures_match_expected() {
    let dir = fixtures_dir();
    let raw = std::fs::read_to_string(dir.join("expected.json")).expect("read expected.json");
    let expected: serde_json::Value = serde_json::from_str(&raw).expect("expected.json");
    let expected = expected.as_object().expect("expected.json is an object");

    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("read fixtures dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    on_disk.sort();
    for name in &on_disk {
        assert!(expected.contains_key(name), "{name} has no entry in expected.json");
    }

    let mut failures = Vec::new();
    for (name, want) in expected {
        let bytes = std::fs::read(dir.join(name)).expect("read fixture");
        assert!(
            bytes.windows(2).any(|w| w == b"\r\n") && !bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
            "{name}: not CRLF"
        );
        let Some(msg) = MessageParser::default().parse(&bytes) else {
            failures.push(format!("{name}: mail-parser could not parse it"));
            continue;
        };
        let got = parse(&msg);
        match (want.is_null(), got) {
            (true, None) => {}
            (true, Some(got)) => failures.push(format!("{name}: expected None, got {got:?}")),
            (false, None) => failures.push(format!("{name}: expected a forward, got None")),
            (false, Some(got)) => {
                let mut diffs = Vec::new();
                if opt_str(want, "from_email").as_deref() != Some(got.from_email.as_str()) {
                    diffs.push(format!("from_email {:?}", got.from_email));
                }
                if opt_str(want, "from_name") != got.from_name {
                    diffs.push(format!("from_name {:?}", got.from_name));
                }
                if opt_str(want, "subject") != got.subject {
                    diffs.push(format!("subject {:?}", got.subject));
                }
                if opt_str(want, "note").unwrap_or_default() != got.note {
                    diffs.push(format!("note {:?}", got.note));
                }
                if got.body.is_empty() {
                    diffs.push("empty body".to_string());
                }
                if got.date.is_none() {
                    diffs.push("no date".to_string());
                }
                if !diffs.is_empty() {
                    failures.push(format!("{name}: {}", diffs.join("; ")));
                }
            }
        }
    }
    let total = expected.len();
    println!("forward fixtures: {}/{total}", total - failures.len());
    assert!(failures.is_empty(), "fixture mismatches:\n{}", failures.join("\n"));
    assert!(total >= 30, "expected at least 30 fixtures, found {total}");
}

/// Where a fixture has both a text and an HTML part, both must give the
/// same answer: the HTML path is the fallback for the text path.
#[test]
fn fixture_text_and_html_parts_agree() {
    let dir = fixtures_dir();
    let mut compared = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read fixtures dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path).expect("read fixture");
        let msg = MessageParser::default().parse(&bytes).expect("parse fixture");
        let forward_subject = msg.subject().is_some_and(|s| strip_forward_prefix(s).is_some());
        let (Some(text), Some(html)) = (
            first_text(&msg),
            msg.html_bodies().find_map(|p| match &p.body {
                PartType::Html(h) => Some(h.as_ref()),
                _ => None,
            }),
        ) else {
            continue;
        };
        let from_text = scan(&normalize(text), forward_subject).map(|(f, _)| f);
        let from_html = scan(&html_to_plain(html), forward_subject).map(|(f, _)| f);
        let key = |f: &Forwarded| {
            (
                f.from_email.clone(),
                f.from_name.clone(),
                f.subject.clone(),
                f.date.clone(),
                f.to.clone(),
                f.cc.clone(),
                f.note.clone(),
            )
        };
        assert_eq!(
            from_text.as_ref().map(key),
            from_html.as_ref().map(key),
            "{}",
            path.display()
        );
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} fixtures have both parts");
}

#[test]
fn strips_forward_prefixes() {
    let cases = [
        ("Fwd: Quote", Some("Quote")),
        ("FWD: Quote", Some("Quote")),
        ("Fw: Quote", Some("Quote")),
        ("FW: RE: Quote", Some("Quote")),
        ("RE: FW: Quote", Some("Quote")),
        ("TR: Litige", Some("Litige")),
        ("WG: AW: Angebot", Some("Angebot")),
        ("RV: Presupuesto", Some("Presupuesto")),
        ("Doorst: Offerte", Some("Offerte")),
        ("Vs: Tilbud", Some("Tilbud")),
        ("VS: Tilbud", Some("Tilbud")),
        ("VB: Felanmälan", Some("Felanmälan")),
        ("Enc: Orçamento", Some("Orçamento")),
        ("ENC: Orçamento", Some("Orçamento")),
        ("I: Ordine", Some("Ordine")),
        ("PD: Zamówienie", Some("Zamówienie")),
        ("Fwd[2]: Quote", Some("Quote")),
        ("Fwd : Quote", Some("Quote")),
        ("转发：报价", Some("报价")),
        ("[EXT] FW: Quote", Some("Quote")),
        ("[Fwd: Quote]", Some("Quote")),
        ("Fwd: ", Some("")),
        ("Re: Quote", None),
        ("AW: Angebot", None),
        ("Quote", None),
        ("Information: Fwd: not a prefix chain", None),
        ("", None),
    ];
    for (subject, want) in cases {
        assert_eq!(strip_forward_prefix(subject), want, "{subject:?}");
    }
}

#[test]
fn gmail_text_block() {
    let text = "Can you handle this?\n\n---------- Forwarded message ---------\nFrom: Priya Raman <priya.raman@Brightwave.IO>\nDate: Tue, Mar 4, 2025 at 10:12 AM\nSubject: Quote request\nTo: <agent@agency.example>\nCc: Dev <dev@brightwave.io>, \"Lee, Ann\" <ann@brightwave.io>\n\n\nHello,\n\nWe need chairs.\n";
    let got = from_text(text).expect("forward");
    assert_eq!(got.from_email, "priya.raman@brightwave.io");
    assert_eq!(got.from_name.as_deref(), Some("Priya Raman"));
    assert_eq!(got.subject.as_deref(), Some("Quote request"));
    assert_eq!(got.date.as_deref(), Some("Tue, Mar 4, 2025 at 10:12 AM"));
    assert_eq!(got.to, vec!["agent@agency.example"]);
    assert_eq!(got.cc, vec!["dev@brightwave.io", "ann@brightwave.io"]);
    assert_eq!(got.body, "Hello,\n\nWe need chairs.");
    assert_eq!(got.note, "Can you handle this?");
}

#[test]
fn localized_text_blocks() {
    let cases = [
        // Gmail, French with a no-break space before the colon.
        (
            "---------- Message transféré ---------\nDe\u{a0}: Hélène <helene@example.fr>\nDate\u{a0}: mar. 4 mars 2025\nSubject: Devis\nTo: <a@b.example>\n\nBonjour",
            "helene@example.fr",
            Some("Hélène"),
            Some("Devis"),
        ),
        // Outlook desktop, German, old "[mailto:]" form.
        (
            "-----Ursprüngliche Nachricht-----\nVon: Jürgen Weiß [mailto:j.weiss@weiss-bau.de] \nGesendet: Dienstag, 4. März 2025 10:12\nAn: Agent\nBetreff: Rechnung\n\nGuten Tag",
            "j.weiss@weiss-bau.de",
            Some("Jürgen Weiß"),
            Some("Rechnung"),
        ),
        // Outlook.com, French.
        (
            "Pour info\n\n________________________________\nDe : Zoé <zoe@port.example>\nEnvoyé : mardi 4 mars 2025 16:12\nÀ : agent@agency.example <agent@agency.example>\nObjet : Salle\n\nBonjour",
            "zoe@port.example",
            Some("Zoé"),
            Some("Salle"),
        ),
        // Apple Mail, Dutch, quoted.
        (
            "Begin doorgestuurd bericht:\n\n> Van: Sanne de Vries <sanne@devries.example>\n> Onderwerp: Zolder\n> Datum: 4 maart 2025 om 10:12:05 CET\n> Aan: Agent <agent@agency.example>\n> \n> Hallo,\n> wij willen verbouwen.\n",
            "sanne@devries.example",
            Some("Sanne de Vries"),
            Some("Zolder"),
        ),
        // Thunderbird, Italian, tab after the label.
        (
            "-------- Messaggio Inoltrato --------\nOggetto: \tPreventivo\nData: \tTue, 4 Mar 2025 10:12:05 +0100\nMittente: \tMatteo Colombo <matteo@colombo.example>\nA: \tagent@agency.example\n\n\n\nBuongiorno",
            "matteo@colombo.example",
            Some("Matteo Colombo"),
            Some("Preventivo"),
        ),
        // Thunderbird, Finnish double label.
        (
            "-------- Välitetty viesti / Fwd.Msg --------\nAihe: \tTarjous\nPäiväys: \tTue, 4 Mar 2025 10:12:05 +0200\nLähettäjä: \tMatti Virtanen <matti@virtanen.example>\nVastaanottaja: \tagent@agency.example\n\nHei",
            "matti@virtanen.example",
            Some("Matti Virtanen"),
            Some("Tarjous"),
        ),
        // Yahoo, header block run together on one line.
        (
            "   ----- Forwarded Message ----- From: John Doe <john.doe@acme.example>To: \"bessie@acme.example\" <bessie@acme.example>Cc: Walter <walter@acme.example>; Nicholas <nicholas@globex.example>Sent: Tuesday, November 2, 2021, 09:26:50 AM GMT+1Subject: Integer consequat non purus\n Aenean quis diam urna.",
            "john.doe@acme.example",
            Some("John Doe"),
            Some("Integer consequat non purus"),
        ),
        // Yahoo, Spanish, run together, time zone letters before the label.
        (
            "----- Mensaje reenviado ----- De: Carmen Ruiz <carmen@ruiz.example>Para: Agent <agent@agency.example>Enviado: martes, 4 de marzo de 2025, 16:12:33 CETAsunto: Baño\n Hola",
            "carmen@ruiz.example",
            Some("Carmen Ruiz"),
            Some("Baño"),
        ),
        // Outlook plain text of an HTML link.
        (
            "-----Original Message-----\nFrom: Walter Sheltan <walter.sheltan@acme.example<mailto:walter.sheltan@acme.example>>\nSent: Tuesday, March 4, 2025 10:12 AM\nSubject: Hello\n\nBody",
            "walter.sheltan@acme.example",
            Some("Walter Sheltan"),
            Some("Hello"),
        ),
        // Swedish Outlook desktop separator.
        (
            "-----Ursprungligt meddelande-----\nFrån: \"Sjöberg, Karin\" <karin@sjoberg.example>\nSkickat: den 4 mars 2025 10:12\nTill: Agent\nÄmne: Tårtor\n\nHej",
            "karin@sjoberg.example",
            Some("Sjöberg, Karin"),
            Some("Tårtor"),
        ),
        // Turkish Thunderbird, dotted capital I.
        (
            "-------- İletilen İleti --------\nKonu: \tTeklif\nTarih: \tTue, 4 Mar 2025\nKimden: \tAyşe Yılmaz <ayse@yilmaz.example>\nKime: \tagent@agency.example\n\nMerhaba",
            "ayse@yilmaz.example",
            Some("Ayşe Yılmaz"),
            Some("Teklif"),
        ),
        // French Outlook with a typographic apostrophe.
        (
            "-----Message d’origine-----\nDe : Ève <eve@marchand.example>\nEnvoyé : mardi 4 mars 2025 10:12\nObjet : Litige\n\nBonjour",
            "eve@marchand.example",
            Some("Ève"),
            Some("Litige"),
        ),
        // Norwegian Outlook desktop separator, bare address.
        (
            "-----Opprinnelig melding-----\nFra: hakon@lovas.example\nSendt: 4. mars 2025 10:12\nTil: agent@agency.example\nEmne: Regnskap\n\nHei",
            "hakon@lovas.example",
            None,
            Some("Regnskap"),
        ),
    ];
    for (text, email, name, subject) in cases {
        let got = from_text(text).unwrap_or_else(|| panic!("no forward in {text:?}"));
        assert_eq!(got.from_email, email, "{text:?}");
        assert_eq!(got.from_name.as_deref(), name, "{text:?}");
        assert_eq!(got.subject.as_deref(), subject, "{text:?}");
        assert!(!got.body.is_empty(), "{text:?}");
    }
}

#[test]
fn yahoo_run_on_keeps_cc_and_body() {
    let text = "Note\n\n   ----- Forwarded Message ----- From: John Doe <john.doe@acme.example>To: \"bessie@acme.example\" <bessie@acme.example>Cc: Walter <walter@acme.example>; Nicholas <nicholas@globex.example>Sent: Tuesday, November 2, 2021, 09:26:50 AM GMT+1Subject: Integer consequat\n Aenean quis diam urna.\n\nPraesent ac ligula orci.";
    let got = from_text(text).expect("forward");
    assert_eq!(got.to, vec!["bessie@acme.example"]);
    assert_eq!(got.cc, vec!["walter@acme.example", "nicholas@globex.example"]);
    assert_eq!(
        got.date.as_deref(),
        Some("Tuesday, November 2, 2021, 09:26:50 AM GMT+1")
    );
    assert_eq!(got.body, "Aenean quis diam urna.\n\nPraesent ac ligula orci.");
    assert_eq!(got.note, "Note");
}

#[test]
fn html_blocks() {
    let gmail = r#"<div dir="ltr">See below<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">Ana Martínez</strong> <span dir="auto">&lt;<a href="mailto:ana@clinica.example">ana@clinica.example</a>&gt;</span><br>Date: Tue, Mar 4, 2025 at 10:12 AM<br>Subject: Cita &amp; revisión<br>To: &lt;<a href="mailto:agent@agency.example">agent@agency.example</a>&gt;<br></div><br><br><div dir="ltr">Hola,<div><br></div><div>Quería pedir cita.</div></div></div></div>"#;
    let got = from_html(gmail).expect("gmail html");
    assert_eq!(got.from_email, "ana@clinica.example");
    assert_eq!(got.from_name.as_deref(), Some("Ana Martínez"));
    assert_eq!(got.subject.as_deref(), Some("Cita & revisión"));
    assert_eq!(got.to, vec!["agent@agency.example"]);
    assert_eq!(got.body, "Hola,\n\nQuería pedir cita.");
    assert_eq!(got.note, "See below");

    // Outlook desktop: no separator text, name only, address in the link.
    let outlook = r#"<html><head><style>p.MsoNormal {margin:0cm;}</style></head><body><div class=WordSection1><p class=MsoNormal>Ciao Marco<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal><b>Da:</b> <a href="mailto:francesca.rossi@vinicola.example">Francesca Rossi</a> <br><b>Inviato:</b> martedì 4 marzo 2025 10:12<br><b>A:</b> Agent Smith &lt;agent@agency.example&gt;<br><b>Oggetto:</b> Ordine vino<o:p></o:p></p></div></div><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Buongiorno,<o:p></o:p></p></div></body></html>"#;
    let got = from_html(outlook).expect("outlook html");
    assert_eq!(got.from_email, "francesca.rossi@vinicola.example");
    assert_eq!(got.from_name.as_deref(), Some("Francesca Rossi"));
    assert_eq!(got.subject.as_deref(), Some("Ordine vino"));
    assert_eq!(got.body, "Buongiorno,");
    assert_eq!(got.note, "Ciao Marco");

    // French Outlook.com with &nbsp; before the colons.
    let owa = r##"<div>Pour info</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>De&nbsp;:</b> Zoé Lefèvre &lt;zoe@port.example&gt;<br><b>Envoyé&nbsp;:</b> mardi 4 mars 2025 16:12<br><b>À&nbsp;:</b> agent@agency.example &lt;agent@agency.example&gt;<br><b>Objet&nbsp;:</b> Salle</font><div>&nbsp;</div></div><div dir="ltr"><div>Bonjour,</div></div>"##;
    let got = from_html(owa).expect("outlook.com html");
    assert_eq!(got.from_email, "zoe@port.example");
    assert_eq!(got.from_name.as_deref(), Some("Zoé Lefèvre"));
    assert_eq!(got.note, "Pour info");
    assert_eq!(got.body, "Bonjour,");

    // Thunderbird header table.
    let tb = r#"<p>FYI</p><div class="moz-forward-container"><br><br>-------- Weitergeleitete Nachricht --------<table class="moz-email-headers-table" cellspacing="0" cellpadding="0" border="0"><tbody><tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Betreff:</th><td>Angebot</td></tr><tr><th>Datum:</th><td>Tue, 4 Mar 2025 10:12:05 +0100</td></tr><tr><th>Von:</th><td>Björn Schäfer <a class="moz-txt-link-rfc2396E" href="mailto:b@schaefer.example">&lt;b@schaefer.example&gt;</a></td></tr><tr><th>An:</th><td><a href="mailto:agent@agency.example">agent@agency.example</a></td></tr></tbody></table><br><br><p>Hallo,</p></div>"#;
    let got = from_html(tb).expect("thunderbird html");
    assert_eq!(got.from_email, "b@schaefer.example");
    assert_eq!(got.from_name.as_deref(), Some("Björn Schäfer"));
    assert_eq!(got.subject.as_deref(), Some("Angebot"));
    assert_eq!(got.to, vec!["agent@agency.example"]);
    assert_eq!(got.note, "FYI");
}

#[test]
fn replies_are_not_forwards() {
    let reply = "Thursday works.\n\nOn Tue, Mar 4, 2025 at 10:12 AM Priya Raman <priya@brightwave.example> wrote:\n\n> Hi,\n> From: the warehouse\n> Subject: pallets\n> Date: today\n> Could you confirm?\n";
    assert_eq!(from_text(reply), None);
    let html = r#"<div dir="ltr">Thursday works.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, Mar 4, 2025 at 10:12 AM Priya Raman &lt;<a href="mailto:priya@brightwave.example">priya@brightwave.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Hi,<br>Could you confirm?</blockquote></div>"#;
    assert_eq!(from_html(html), None);

    let raw = "From: Agent <agent@agency.example>\r\nTo: acme@inbox.localhost\r\nSubject: RE: Schedule\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOk.\r\n\r\n________________________________\r\nFrom: Jonathan <j@northwind.example>\r\nSent: Tuesday\r\nTo: Agent\r\nSubject: Schedule\r\n\r\nHi\r\n";
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
    assert_eq!(parse(&msg), None, "Outlook reply block under a RE: subject");
    // The same block under a forward subject is a forward.
    let fwd = raw.replace("RE: Schedule", "FW: Schedule");
    let msg = MessageParser::default().parse(fwd.as_bytes()).expect("parse");
    assert_eq!(parse(&msg).map(|f| f.from_email), Some("j@northwind.example".into()));
}

#[test]
fn bare_outlook_block_needs_forward_subject() {
    let body = "Please see below.\r\n\r\nFrom: Doe, Jonathan <jonathan.doe@northwind.example> \r\nSent: Tuesday, March 4, 2025 10:12 AM\r\nTo: Agent Smith <agent@agency.example>\r\nSubject: Delivery\r\n\r\nHi,\r\n";
    assert_eq!(from_text(body), None);
    for (subject, found) in [("FW: Delivery", true), ("Delivery", false)] {
        let raw = format!(
            "From: Agent <agent@agency.example>\r\nSubject: {subject}\r\nContent-Type: text/plain\r\n\r\n{body}"
        );
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
        let got = parse(&msg);
        assert_eq!(got.is_some(), found, "{subject}");
        if let Some(got) = got {
            assert_eq!(got.from_name.as_deref(), Some("Doe, Jonathan"));
            assert_eq!(got.note, "Please see below.");
            assert_eq!(got.body, "Hi,");
        }
    }
}

#[test]
fn earliest_block_wins_in_outlook_chains() {
    // New Outlook's text part: no separator before the first block, and
    // an older explicit block further down the thread.
    let body = "Please take over.\n\nFrom: Ravi Menon <ravi@menon.example>\nDate: Thursday, 6 March 2025 at 16:17\nTo: <agent@agency.example>\nSubject: Renewal\nCan you renew our plan?\n\n---------- Forwarded message ---------\nFrom: Older <older@thread.example>\nDate: Mon\nSubject: Older\n\nOld text\n";
    let got = scan(&normalize(body), true).map(|(f, _)| f).expect("forward");
    assert_eq!(got.from_email, "ravi@menon.example");
    assert_eq!(got.subject.as_deref(), Some("Renewal"));
    assert!(got.body.starts_with("Can you renew our plan?"));
    assert_eq!(got.note, "Please take over.");
    // Without a forward subject only the explicit block counts.
    assert_eq!(
        from_text(body).map(|f| f.from_email),
        Some("older@thread.example".into())
    );
}

#[test]
fn bounces_are_not_attachment_forwards() {
    let raw = "From: MAILER-DAEMON@mx.example\r\nTo: acme@inbox.localhost\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: Agent <agent@agency.example>\r\nTo: nobody@nowhere.example\r\nSubject: Hello\r\n\r\nHi\r\n--b1--\r\n";
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
    assert_eq!(parse(&msg), None);
    // The same attachment in a plain multipart/mixed is a forward.
    let mixed = raw.replace("multipart/report; report-type=delivery-status", "multipart/mixed");
    let msg = MessageParser::default().parse(mixed.as_bytes()).expect("parse");
    let got = parse(&msg).expect("attachment forward");
    assert_eq!(got.from_email, "agent@agency.example");
    assert_eq!(got.subject.as_deref(), Some("Hello"));
    assert_eq!(got.body, "Hi");
    assert_eq!(got.note, "Delivery failed.");
}

#[test]
fn no_address_is_none() {
    let text = "-----Original Message-----\nFrom: Facilities Team\nSent: Tuesday, March 4, 2025 11:40 AM\nTo: All Staff\nSubject: Parking\n\nHi all";
    assert_eq!(from_text(text), None);
    assert_eq!(from_text("---------- Forwarded message ---------\n\nhello"), None);
}

#[test]
fn outermost_block_wins() {
    let text = "---------- Forwarded message ---------\nFrom: Second <second@b.example>\nDate: Tue\nSubject: Fwd: Hi\nTo: <agent@agency.example>\n\n\n---------- Forwarded message ---------\nFrom: First <first@a.example>\nDate: Mon\nSubject: Hi\nTo: <second@b.example>\n\nHello\n";
    let got = from_text(text).expect("forward");
    assert_eq!(got.from_email, "second@b.example");
    assert!(got.body.contains("first@a.example"));
}

#[test]
fn mailbox_forms() {
    let cases = [
        ("Jane Doe <jane@X.example>", "jane@x.example", Some("Jane Doe")),
        (
            "\"Doe, Jane\" <Jane.Doe@x.example>",
            "Jane.Doe@x.example",
            Some("Doe, Jane"),
        ),
        ("'Jane Doe' <jane@x.example>", "jane@x.example", Some("Jane Doe")),
        ("Jane Doe [mailto:jane@x.example]", "jane@x.example", Some("Jane Doe")),
        ("jane@x.example <mailto:jane@x.example>", "jane@x.example", None),
        ("<jane@x.example>", "jane@x.example", None),
        ("jane@x.example (Jane Doe)", "jane@x.example", Some("Jane Doe")),
        ("o'brien@x.example", "o'brien@x.example", None),
        (
            "Zoë «Z» Ümlaut <zoe@x.example>",
            "zoe@x.example",
            Some("Zoë «Z» Ümlaut"),
        ),
    ];
    for (value, email, name) in cases {
        let (got_email, got_name) = parse_mailbox(value).expect(value);
        assert_eq!(got_email, email, "{value}");
        assert_eq!(got_name.as_deref(), name, "{value}");
    }
    assert_eq!(parse_mailbox("Facilities Team"), None);
}

/// Deterministic pseudo-random bytes; no extra crates needed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn garbage_does_not_panic() {
    let pieces = [
        "---------- Forwarded message ---------\n",
        "-----Original Message-----",
        "________________________________\n",
        "Begin forwarded message:\n",
        "From: ",
        "From:",
        "De :",
        "<a href=\"mailto:x@y.z\">",
        "</a>",
        "<div id=\"divRplyFwdMsg\">",
        "<hr>",
        "&lt;",
        "&#xFFFFFFFF;",
        "@",
        ">",
        "\u{E000}",
        "é",
        "日本",
        "\r",
        "\n",
        "--",
        "Subject:",
        " ",
    ];
    for seed in 1..300u64 {
        let bytes = noise(seed, 600);
        let text = String::from_utf8_lossy(&bytes);
        let _ = from_text(&text);
        let _ = from_html(&text);
        let mut mixed = String::new();
        for (i, b) in bytes.iter().enumerate().take(200) {
            mixed.push_str(pieces[(*b as usize + i) % pieces.len()]);
        }
        let _ = from_text(&mixed);
        let _ = from_html(&mixed);
        let _ = strip_forward_prefix(&mixed);
        if let Some(msg) = MessageParser::default().parse(&bytes) {
            let _ = parse(&msg);
        }
    }
    for s in [
        "",
        "\n",
        ">",
        "-",
        "--",
        "----",
        "-- x --",
        ":",
        "From:",
        "From: <@>",
        "a@b",
        "[Fwd:",
        "Fwd:",
    ] {
        let _ = from_text(s);
        let _ = from_html(s);
        let _ = strip_forward_prefix(s);
    }
}

#[test]
fn huge_input_is_bounded() {
    // Multi-byte characters straddling the scan limit must not panic.
    let mut text = "é".repeat(MAX_SCAN / 2 + 1);
    text.push_str("\n---------- Forwarded message ---------\nFrom: Late <late@x.example>\n");
    assert_eq!(from_text(&text), None, "block past the scan limit is ignored");

    let block = "---------- Forwarded message ---------\nFrom: Nobody\nDate: x\n\n";
    let many = block.repeat(4 * MAX_SCAN / block.len());
    let start = std::time::Instant::now();
    assert_eq!(from_text(&many), None);
    let quotes = ">".repeat(3 * MAX_SCAN);
    assert_eq!(from_text(&quotes), None);
    let html = "<div><a href=\"mailto:a@b.example\">".repeat(MAX_SCAN / 8);
    assert_eq!(from_html(&html), None);
    let rules = "__________\n".repeat(MAX_SCAN / 11);
    assert_eq!(from_text(&rules), None);
    let seps = "-----Original Message-----\nFrom: a@b.example\n".repeat(MAX_SCAN / 44);
    assert_eq!(from_text(&seps), None);
    let glued = "From: a <a@b.example>To: b@c.example Sent: x Subject: y\n".repeat(MAX_SCAN / 56);
    let raw = format!("Subject: FW: x\r\nContent-Type: text/plain\r\n\r\n{glued}");
    if let Some(msg) = MessageParser::default().parse(raw.as_bytes()) {
        let _ = parse(&msg);
    }
    let subject = "Re: ".repeat(100_000);
    assert_eq!(strip_forward_prefix(&subject), None);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());

    let mut real = String::from("---------- Forwarded message ---------\nFrom: A <a@x.example>\nSubject: s\n\n");
    real.push_str(&"body line\n".repeat(300_000));
    let got = from_text(&real).expect("forward");
    assert!(got.body.len() <= MAX_SCAN);
}

#[test]
fn full_width_colon_header_blocks_name_the_sender() {
    let japanese = "山田様からのメールを転送します。\n\n---------- Forwarded message ---------\n送信元：山田 太郎 <taro@customer.example>\n日付：2021年10月28日(木) 12:46\n件名：見積もりのお願い\n宛先：agent@acme.example\n\nお世話になっております。見積もりをお願いします。\n";
    let found = from_text(japanese).expect("a Japanese block");
    assert_eq!(found.from_email, "taro@customer.example");
    assert_eq!(found.from_name.as_deref(), Some("山田 太郎"));
    assert_eq!(found.subject.as_deref(), Some("見積もりのお願い"));
    assert!(found.body.starts_with("お世話になっております。"), "{:?}", found.body);
    let chinese = "请看下面的邮件。\n\n-------- 转发的邮件 --------\n发件人：王小明 <wang@customer.example>\n时间：2021年10月28日 12:46\n主题：报价\n收件人：agent@acme.example\n\n您好，请报价。\n";
    let found = from_text(chinese).expect("a Chinese block");
    assert_eq!(found.from_email, "wang@customer.example");
    assert_eq!(found.subject.as_deref(), Some("报价"));
    // HubSpot writes the English labels with full-width colons.
    let hubspot = "Forwarded below.\n\n---------- Forwarded message ----------\nFrom：Jane Doe <jane@customer.example>\nDate：Thu, Oct 28, 2021\nSubject：Pricing\nTo：agent@acme.example\n\nHow much is it?\n";
    let found = from_text(hubspot).expect("a HubSpot block");
    assert_eq!(found.from_email, "jane@customer.example");
    assert_eq!(found.subject.as_deref(), Some("Pricing"));
}
