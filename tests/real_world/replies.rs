//! Answers: campaign and automation replies through signed reply addresses, registered outbound
//! mail, RFC 3834 auto-replies, and the reply text of talon's corpus.

use super::*;

on_both_backends! {
    fn reply_addresses_route_campaign_replies_and_refuse_forgeries(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let address = reply_address(&server, acme.id, "jane@c.example", &["--campaign", "42"]);
        let local = address.split('@').next().unwrap();
        assert!(local.starts_with("r-") && local.len() <= 64, "{address}");

        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<x@y.example>").expect(250, "2.1.0");
        // Tampered (one character changed), forged (random), truncated: all refused at RCPT.
        let mut tampered: Vec<char> = address.chars().collect();
        tampered[5] = if tampered[5] == 'a' { 'b' } else { 'a' };
        let tampered: String = tampered.into_iter().collect();
        c.cmd(&format!("RCPT TO:<{tampered}>")).expect(550, "5.1.1");
        c.cmd("RCPT TO:<r-abcdefghijklmnopqrstuvwxyz234567abcdefgh@inbox.localhost>")
            .expect(550, "5.1.1");
        c.cmd(&format!("RCPT TO:<{}@inbox.localhost>", &local[..local.len() - 2]))
            .expect(550, "5.1.1");
        c.cmd(&format!("RCPT TO:<{}>", address.to_uppercase()))
            .expect(250, "2.1.5");
        c.cmd("RSET").expect(250, "2.0.0");

        // Jane answers: her conversation, tagged with the campaign.
        let m = server
            .deliver_and_show(
                &mut c,
                "jane@c.example",
                &[&address],
                mail("jane@c.example", "Re: Spring sale", &[], "Interested!").as_bytes(),
            )
            .unwrap();
        assert_eq!(m["campaign_id"], "42");
        let conv = server.conversation(m["conversation_id"].as_i64().unwrap());
        assert_eq!(conv["contact_email"], "jane@c.example");
        assert_eq!(conv["campaign_id"], "42");
        // Later, another subject, same reply address: same conversation.
        let m2 = server
            .deliver_and_show(
                &mut c,
                "jane@c.example",
                &[&address],
                mail("jane@c.example", "one more thing", &[], "x").as_bytes(),
            )
            .unwrap();
        assert_eq!(m2["conversation_id"], m["conversation_id"]);
        // A colleague answers the same email: their own conversation, still linked to the campaign.
        let m3 = server
            .deliver_and_show(
                &mut c,
                "bob@c.example",
                &[&address],
                mail("bob@c.example", "Re: Spring sale", &[], "Me too").as_bytes(),
            )
            .unwrap();
        assert_ne!(m3["conversation_id"], m["conversation_id"]);
        assert_eq!(m3["campaign_id"], "42");
        let conv3 = server.conversation(m3["conversation_id"].as_i64().unwrap());
        assert_eq!(conv3["contact_email"], "bob@c.example");
        assert_eq!(conv3["campaign_id"], "42");

        // Automations too, minted by the library function (what code linking inboxd calls).
        let router = inboxd::routing::Router::new(vec![DOMAIN.into()], b"test-secret-key-0123456789".to_vec());
        let automation = router.mint_reply_address(
            DOMAIN,
            acme.id,
            "jane@c.example",
            inboxd::routing::TokenOrigin::Automation("welcome".into()),
        );
        let m4 = server
            .deliver_and_show(
                &mut c,
                "jane@c.example",
                &[&automation],
                mail("jane@c.example", "Re: Welcome!", &[], "thanks").as_bytes(),
            )
            .unwrap();
        assert_eq!(m4["automation_id"], "welcome");
        assert_eq!(m4["campaign_id"], Value::Null);

        // A disabled account's reply addresses stop working too.
        server.cli(&["accounts", "disable", &acme.id.to_string()]);
        server.settle();
        c.cmd("MAIL FROM:<x@y.example>").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{address}>")).expect(550, "5.2.1");
    }
}

on_both_backends! {
    fn registered_outbound_messages_thread_replies_without_the_reply_address(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let id = acme.id.to_string();
        let out = server.cli(&[
            "register-sent",
            &id,
            "--message-id",
            "<out-1@platform.example>",
            "--contact",
            "carol@e.example",
            "--campaign",
            "77",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut c = server.connect();
        c.ehlo();
        let m = server
            .deliver_and_show(
                &mut c,
                "carol@e.example",
                &[&acme.address],
                mail(
                    "carol@e.example",
                    "Re: Autumn offers",
                    &[("In-Reply-To", "<out-1@platform.example>")],
                    "yes",
                )
                .as_bytes(),
            )
            .unwrap();
        assert_eq!(m["campaign_id"], "77");
        let conv = server.conversation(m["conversation_id"].as_i64().unwrap());
        assert_eq!(conv["contact_email"], "carol@e.example");
        assert_eq!(conv["campaign_id"], "77");
        // Someone else replying to the same outbound message: their own conversation, linked.
        let m2 = server
            .deliver_and_show(
                &mut c,
                "dave@e.example",
                &[&acme.address],
                mail(
                    "dave@e.example",
                    "Re: Autumn offers",
                    &[("In-Reply-To", "<out-1@platform.example>")],
                    "no",
                )
                .as_bytes(),
            )
            .unwrap();
        assert_ne!(m2["conversation_id"], m["conversation_id"]);
        assert_eq!(m2["campaign_id"], "77");
        // Carol again, answering with a new subject: still her campaign conversation.
        let m3 = server
            .deliver_and_show(
                &mut c,
                "carol@e.example",
                &[&acme.address],
                mail(
                    "carol@e.example",
                    "different",
                    &[("References", "<out-1@platform.example>")],
                    "more",
                )
                .as_bytes(),
            )
            .unwrap();
        assert_eq!(m3["conversation_id"], m["conversation_id"]);
    }
}

on_both_backends! {
    fn auto_replies_create_no_contact_and_join_the_conversation_they_answer(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let mut c = server.connect();
        c.ehlo();
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            ("Away", vec![("Auto-Submitted", "auto-replied")], "a1@x.example"),
            ("Away", vec![("X-Autoreply", "yes")], "a2@x.example"),
            ("Away", vec![("X-Autorespond", "yes")], "a3@x.example"),
            ("Away", vec![("Precedence", "auto_reply")], "a5@x.example"),
            ("Away", vec![("X-Auto-Response-Suppress", "All")], "a6@x.example"),
            ("Out of Office: your message", vec![], "a7@x.example"),
            ("Automatic reply: your message", vec![], "a8@x.example"),
            ("Réponse automatique : votre message", vec![], "a9@x.example"),
            ("Abwesenheitsnotiz: Ihre Nachricht", vec![], "a10@x.example"),
        ];
        for (subject, headers, from) in &cases {
            let m = server
                .deliver_and_show(
                    &mut c,
                    from,
                    &[&acme.address],
                    mail(from, subject, headers, "I am away").as_bytes(),
                )
                .unwrap();
            assert_eq!(m["kind"], "auto_reply", "{subject} {headers:?}");
            assert_eq!(m["contact_id"], Value::Null);
        }
        // The null sender alone marks an automatic message.
        let m = server
            .deliver_and_show(
                &mut c,
                "",
                &[&acme.address],
                mail("robot@x.example", "Hello", &[], "auto").as_bytes(),
            )
            .unwrap();
        assert_eq!(m["kind"], "auto_reply");
        assert!(
            server.contacts(acme.id).is_empty(),
            "no auto-replying sender became a contact"
        );
        // `Auto-Submitted: no` is a human.
        let m = server
            .deliver_and_show(
                &mut c,
                "human@x.example",
                &[&acme.address],
                mail("human@x.example", "Hi", &[("Auto-Submitted", "no")], "me").as_bytes(),
            )
            .unwrap();
        assert_eq!(m["kind"], "message");
        assert_eq!(server.contacts(acme.id).len(), 1);
        // A known contact's out-of-office lands in the conversation it answers.
        let first = server
            .deliver_and_show(
                &mut c,
                "jane@c.example",
                &[&acme.address],
                mail(
                    "jane@c.example",
                    "Order 7",
                    &[("Message-ID", "<o7@c.example>")],
                    "where?",
                )
                .as_bytes(),
            )
            .unwrap();
        let ooo = server
            .deliver_and_show(
                &mut c,
                "jane@c.example",
                &[&acme.address],
                mail(
                    "jane@c.example",
                    "Automatic reply: Order 7",
                    &[("Auto-Submitted", "auto-replied"), ("In-Reply-To", "<o7@c.example>")],
                    "away",
                )
                .as_bytes(),
            )
            .unwrap();
        assert_eq!(ooo["kind"], "auto_reply");
        assert_eq!(ooo["conversation_id"], first["conversation_id"]);
        assert_eq!(ooo["contact_id"], first["contact_id"]);
    }
}

fn normalize(s: &str) -> String {
    s.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[test]
fn talon_reply_text_matches_for_standard_html_and_quotation_cases() {
    let server = start();
    let acme = server.create_account("Talon");
    let mut c = server.connect();
    c.ehlo();
    // Standard replies from real clients.
    let dir = corpus("talon/fixtures/standard_replies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    for path in &files {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let want = std::fs::read_to_string(dir.join(format!("{stem}_reply_text"))).unwrap_or_else(|_| "Hello".into());
        let m = server
            .deliver_and_show(&mut c, "x@y.example", &[&acme.address], &std::fs::read(path).unwrap())
            .unwrap();
        // talon keeps the signature in the reply; we store it apart (`signature`), so the two together
        // are talon's answer.
        assert_eq!(normalize(&with_signature(&m)), normalize(&want), "{stem}");
        if stem == "iphone" {
            assert_eq!(m["reply_text"], "Hello");
            assert_eq!(m["signature"], "Sent from my iPhone");
        }
    }
    println!("talon standard replies: {}/{}", files.len(), files.len());
    // HTML replies (compared without whitespace, as talon does).
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus("talon/expected_fixtures.json")).unwrap()).unwrap();
    let mut html_ok = 0;
    let html = expected["html_replies"].as_object().unwrap();
    for (i, (file, want)) in html.iter().enumerate() {
        let name = file.rsplit('/').next().unwrap();
        let body = std::fs::read(corpus(&format!("talon/fixtures/html_replies/{name}"))).unwrap();
        let msg = format!(
            "From: alex@x.example\r\nSubject: html {i}\r\nMessage-ID: <html-{i}@x.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(&body)
        );
        let m = server
            .deliver_and_show(&mut c, "x@y.example", &[&acme.address], msg.as_bytes())
            .unwrap();
        let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(strip(&with_signature(&m)), strip(want.as_str().unwrap()), "{name}");
        html_ok += 1;
    }
    println!("talon html replies: {html_ok}/{}", html.len());
    // Plain-text quotation cases in many languages and client styles.
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus("talon/text_quotations_cases.json")).unwrap()).unwrap();
    let mut ok = 0;
    let mut failed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let input = case["input"].as_str().unwrap();
        let msg = format!(
            "From: alex@x.example\r\nSubject: case {i}\r\nMessage-ID: <case-{i}@x.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(input.as_bytes())
        );
        let m = server
            .deliver_and_read(&mut c, "x@y.example", &[&acme.address], msg.as_bytes())
            .unwrap();
        if normalize(&with_signature(&m)) == normalize(case["expected"].as_str().unwrap()) {
            ok += 1;
        } else {
            failed.push(case["test"].as_str().unwrap().to_string());
        }
        // The full text stays stored too.
        assert_eq!(normalize(m["text"].as_str().unwrap()), normalize(input), "case {i}");
    }
    let rate = ok as f64 / cases.len() as f64 * 100.0;
    println!(
        "talon text quotations: {ok}/{} ({rate:.1}%); failed: {failed:?}",
        cases.len()
    );
    // Every case passes through the server too (a NULL reply_text reads back as the whole text).
    assert!(failed.is_empty(), "{rate:.1}%: {failed:?}");
}

/// The new text as talon counts it: ours with the signature we store apart after it.
fn with_signature(m: &Value) -> String {
    let text = m["reply_text"].as_str().unwrap_or("");
    match m["signature"].as_str() {
        Some(signature) => format!("{text}\n\n{signature}"),
        None => text.to_string(),
    }
}

/// Replies as people write them: (what arrived, the new text, the signature stored apart).
pub(crate) const REPLY_LAYOUTS: &[(&str, &str, Option<&str>)] = &[
    (
        "Thanks, that works.\n\n30.09.2017, 18.30, \"Jane Doe\" <jane@customer.example>:\n> old text\n> more\n",
        "Thanks, that works.",
        None,
    ),
    (
        "Sounds good.\n\n11:00 AM, November 17, 2021, \"Jane Doe\" <jane@customer.example>:\n> old text\n",
        "Sounds good.",
        None,
    ),
    (
        "Yes.\n\nOn Wed, 14 Nov 2018 08:14:43 -0200 Jane Doe <jane@customer.example>\nwrote:\n> old\n",
        "Yes.",
        None,
    ),
    (
        "Kiitos!\n\npe 20. lokakuuta 2017 klo 17.50 Jane Doe <jane@customer.example> kirjoitti:\n> vanha\n",
        "Kiitos!",
        None,
    ),
    (
        "Dank je.\n\nOp 12 december 2016 19:05 schreef Jane Doe <jane@customer.example>:\n> oud\n",
        "Dank je.",
        None,
    ),
    (
        "Grazie.\n\nIl giovedì 8 dicembre 2016, Jane Doe <jane@customer.example> ha scritto:\n> vecchio\n",
        "Grazie.",
        None,
    ),
    (
        "Tak.\n\n-------- Oprindelig besked --------\nFra: Jane <jane@customer.example>\nDato: 12-12-2016\nEmne: Hej\n\ngammel tekst\n",
        "Tak.",
        None,
    ),
    (
        "Merci.\n\n==== Message du : 12/12/2016 13:20 ====\nDe : Jane <jane@customer.example>\nObjet : Bonjour\n\nancien texte\n",
        "Merci.",
        None,
    ),
    (
        "Done.\n\n-----------------------------------------\n*From:* Jane Doe <jane@customer.example>\n*Sent:* Monday\n*To:* agent@acme.example\n*Subject:* Hi\n\nold text\n",
        "Done.",
        None,
    ),
    (
        "Ok.\n\n-- \nJohn Smith\nAcme Inc.\n",
        "Ok.",
        Some("-- \nJohn Smith\nAcme Inc."),
    ),
    (
        "On my way.\n\nSent from my iPhone\n",
        "On my way.",
        Some("Sent from my iPhone"),
    ),
    (
        "Sent.\n\nSent from my BlackBerry\n",
        "Sent.",
        Some("Sent from my BlackBerry"),
    ),
    (
        "D'accord.\n\nEnvoyé de mon iPhone\n",
        "D'accord.",
        Some("Envoyé de mon iPhone"),
    ),
    (
        "Ja.\n\nVon meinem iPhone gesendet\n",
        "Ja.",
        Some("Von meinem iPhone gesendet"),
    ),
    ("Sure.\n\nGet Outlook for iOS\n", "Sure.", Some("Get Outlook for iOS")),
    (
        "Passt.\n\nGesendet von Outlook für Android\n",
        "Passt.",
        Some("Gesendet von Outlook für Android"),
    ),
    (
        "I agree with this.\n\n_______________________________________________\nUsers mailing list\nusers@lists.example.org\nhttps://lists.example.org/mailman/listinfo/users\n",
        "I agree with this.",
        None,
    ),
    (
        "On Mon, Jan 1, 2024 at 10:00 AM Jane <jane@customer.example> wrote:\n> Can you ship today?\n\nYes, it ships today.\n",
        "Yes, it ships today.",
        None,
    ),
];

#[test]
fn replies_keep_only_the_new_text_and_store_the_signature_apart() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    for (i, (body, new_text, signature)) in REPLY_LAYOUTS.iter().enumerate() {
        let message = mail(
            "jane@customer.example",
            "Re: Order",
            &[("Message-ID", &format!("<layout-{i}@customer.example>"))],
            &body.replace('\n', "\r\n"),
        );
        let m = server
            .deliver_and_show(&mut c, "jane@customer.example", &[&acme.address], message.as_bytes())
            .unwrap();
        assert_eq!(m["reply_text"], *new_text, "case {i}: {body:?}");
        assert_eq!(m["signature"].as_str(), *signature, "case {i}: {body:?}");
        assert_eq!(
            normalize(m["text"].as_str().unwrap()),
            normalize(body),
            "the whole text stays stored"
        );
    }
}

/// A reply's text as compared: line ends trimmed, runs of blank lines as one.
pub(crate) fn comparable(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out: Vec<&str> = Vec::new();
    for line in s.lines().map(str::trim_end) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    out.join("\n").trim().to_string()
}

/// Sends every generated case (`languages.rs`) and gives those that came out wrong, each with what
/// came out.
pub(crate) fn wrong_language_cases(server: &Server, account: &str) -> (usize, Vec<(String, String)>) {
    let mut c = server.connect();
    c.ehlo();
    let cases = super::languages::cases();
    let mut wrong = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let message = format!(
            "From: Tom <tom@acme.example>\r\nTo: x@inbox.localhost\r\nSubject: Re: Meeting\r\nMessage-ID: <lang-{i}@acme.example>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(case.body.replace('\n', "\r\n").as_bytes())
        );
        let m = server
            .deliver_and_show(&mut c, "tom@acme.example", &[account], message.as_bytes())
            .unwrap();
        let got = comparable(m["reply_text"].as_str().unwrap_or(""));
        let signature = m["signature"].as_str().map(comparable);
        // The full text stays stored beside them (the web inbox folds the quote and the signature).
        let whole = comparable(m["text"].as_str().unwrap_or("")) == comparable(&case.body);
        if got != comparable(&case.reply_text) || signature != case.signature.as_deref().map(comparable) || !whole {
            wrong.push((
                format!("#{i} {} [{}] {:?}", case.class, case.language, case.body),
                format!("reply_text {got:?}, signature {signature:?}"),
            ));
        }
    }
    (cases.len(), wrong)
}

#[test]
fn replies_in_many_languages_keep_only_the_new_text() {
    let server = start();
    let acme = server.create_account("Acme");
    let (all, wrong) = wrong_language_cases(&server, &acme.address);
    assert!(all >= 500, "the generated set is all there: {all}");
    assert!(
        wrong.is_empty(),
        "{} of {all} wrong:\n{}",
        wrong.len(),
        wrong
            .iter()
            .map(|(case, got)| format!("{case}\n    -> {got}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
