//! Answers: campaign and automation replies through signed reply addresses, registered outbound
//! mail, RFC 3834 auto-replies, and the reply text of talon's corpus.

use super::*;

#[test]
fn reply_addresses_route_campaign_replies_and_refuse_forgeries() {
    let server = start();
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
    c.cmd("MAIL FROM:<x@y.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{address}>")).expect(550, "5.2.1");
}

#[test]
fn registered_outbound_messages_thread_replies_without_the_reply_address() {
    let server = start();
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

#[test]
fn auto_replies_create_no_contact_and_join_the_conversation_they_answer() {
    let server = start();
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
        assert_eq!(normalize(m["reply_text"].as_str().unwrap()), normalize(&want), "{stem}");
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
        assert_eq!(
            strip(m["reply_text"].as_str().unwrap()),
            strip(want.as_str().unwrap()),
            "{name}"
        );
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
        if normalize(m["reply_text"].as_str().unwrap_or("")) == normalize(case["expected"].as_str().unwrap()) {
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
    // Through the server (the stored reply_text of a text/plain message) these six cases still keep
    // too much; any other failure is a regression, and a fixed one must leave this list.
    let known = [
        "test_appointment_2",
        "test_dont_parse_quotations_for_forwarded_messages",
        "test_feedback_below_left_unparsed",
        "test_line_starts_with_on",
        "test_preprocess_postprocess_2_links",
        "test_quotation_marker_false_positive",
    ];
    assert_eq!(failed, known, "{rate:.1}%");
}
