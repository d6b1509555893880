//! Real-world mail through the real server: forwards, campaign replies, auto-replies, bounces and
//! quoted text, checked against hand-written fixtures and the shared corpora.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

const AGENT: &str = "agent@agency.example";

fn flags(m: &Value) -> Vec<String> {
    m["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn mail(from: &str, subject: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut headers = vec![("From", from), ("To", "x@inbox.localhost"), ("Subject", subject)];
    headers.extend_from_slice(extra);
    message(&headers, body)
}

// ---------------------------------------------------------------- forwards

#[test]
fn member_forwards_name_the_original_sender_for_every_client_and_language() {
    let server = start();
    let acme = server.create_account("Acme");
    let stranger_account = server.create_account("Nobody is a member here");
    assert!(
        server
            .cli(&["members", "add", &acme.id.to_string(), "Agent@Agency.example"])
            .status
            .success()
    );
    assert_eq!(
        server.json(&["members", "list", &acme.id.to_string()])[0],
        "Agent@agency.example"
    );
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("forwards/expected.json")).unwrap()).unwrap();
    let mut c = server.connect();
    c.ehlo();
    let (mut parsed, mut unparsed) = (0, 0);
    for (file, want) in &expected {
        let bytes = std::fs::read(fixture(&format!("forwards/{file}"))).unwrap();
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&acme.address], &bytes)
            .expect("stored");
        assert_eq!(m["forwarded_by"].as_str().unwrap().to_lowercase(), AGENT, "{file}");
        if want.is_null() {
            // No original sender: stored, no contact from the member.
            assert_eq!(m["contact_id"], Value::Null, "{file}");
            assert!(
                flags(&m).contains(&"forward_unparsed".to_string()) || flags(&m).contains(&"member".to_string()),
                "{file}: {:?}",
                flags(&m)
            );
            unparsed += 1;
        } else {
            assert_eq!(m["kind"], "forward", "{file}");
            let original = &m["original"];
            assert_eq!(original["from_email"], want["from_email"], "{file}");
            assert_eq!(original["from_name"], want["from_name"], "{file}");
            assert_eq!(original["subject"], want["subject"], "{file}");
            assert_eq!(original["note"], want["note"], "{file}");
            assert!(!original["body"].as_str().unwrap().is_empty(), "{file}");
            let conversation = server.conversation(m["conversation_id"].as_i64().expect("in a conversation"));
            assert_eq!(
                conversation["contact_email"], want["from_email"],
                "{file}: the contact is the original sender"
            );
            assert_eq!(
                conversation["subject"], want["subject"],
                "{file}: the conversation has the original subject"
            );
            parsed += 1;
        }
        // The same mail from someone who is not a member is that person's own message.
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&stranger_account.address], &bytes)
            .expect("stored");
        assert_eq!(m["kind"], "message", "{file}");
        assert_eq!(m["forwarded_by"], Value::Null);
        let conversation = server.conversation(m["conversation_id"].as_i64().unwrap());
        assert_eq!(conversation["contact_email"], "agent@agency.example", "{file}");
    }
    println!("forward fixtures: {parsed} forwards parsed, {unparsed} without an original sender");
    assert!(parsed >= 30);
    let contacts = server.contacts(acme.id);
    assert!(
        contacts.iter().all(|c| c["email"] != "agent@agency.example"),
        "the member never became a contact"
    );
}

#[test]
fn a_member_writing_directly_is_stored_flagged_and_makes_no_contact() {
    let server = start();
    let acme = server.create_account("Acme");
    server.cli(&["members", "add", &acme.id.to_string(), AGENT]);
    let mut c = server.connect();
    c.ehlo();
    let m = server
        .deliver_and_show(
            &mut c,
            AGENT,
            &[&acme.address],
            mail(AGENT, "Note to self", &[], "buy milk").as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "message");
    assert!(flags(&m).contains(&"member".to_string()));
    let m = server
        .deliver_and_show(
            &mut c,
            AGENT,
            &[&acme.address],
            mail(AGENT, "Fwd: lost", &[], "nothing here").as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "forward");
    assert!(flags(&m).contains(&"forward_unparsed".to_string()));
    assert!(server.contacts(acme.id).is_empty());
    // Removing the member makes their mail ordinary again.
    assert!(
        server
            .cli(&["members", "remove", &acme.id.to_string(), AGENT])
            .status
            .success()
    );
    let m = server
        .deliver_and_show(
            &mut c,
            AGENT,
            &[&acme.address],
            mail(AGENT, "Hello", &[], "as a customer").as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "message");
    assert_eq!(server.contacts(acme.id).len(), 1);
}

#[test]
fn auto_forwarded_mail_keeps_the_original_sender_not_the_srs_envelope() {
    let server = start();
    let acme = server.create_account("Acme");
    server.cli(&["members", "add", &acme.id.to_string(), AGENT]);
    let mut c = server.connect();
    c.ehlo();
    // Gmail's auto-forward keeps the original headers and rewrites the envelope sender (SRS).
    let m = server
        .deliver_and_show(
            &mut c,
            "SRS0=abcd=XY=customer.example=jane@agency.example",
            &[&acme.address],
            mail(
                "Jane <jane@customer.example>",
                "Question",
                &[("X-Forwarded-For", "agent@agency.example acme@inbox.localhost")],
                "hi",
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "message");
    let contacts = server.contacts(acme.id);
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["email"], "jane@customer.example");
}

#[test]
fn gmail_and_outlook_forwarding_confirmations_become_account_notices() {
    let server = start();
    let acme = server.create_account("Acme");
    let body = "agent.smith@gmail.com has requested to automatically forward mail to your email\r\naddress x@inbox.localhost.\r\nConfirmation code: 468201937\r\n\r\nTo allow agent.smith@gmail.com to automatically forward mail to your address,\r\nplease click the link below to confirm the request:\r\n\r\nhttps://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz\r\n";
    let m = mail(
        "Gmail Team <forwarding-noreply@google.com>",
        "(#468201937) Gmail Forwarding Confirmation - Receive Mail from agent.smith@gmail.com",
        &[],
        body,
    );
    server
        .send("bounce@google.com", &[&acme.address], &m)
        .expect(250, "2.0.0");
    let shown = server.json(&["accounts", "show", &acme.id.to_string()]);
    let notice = &shown["notices"][0];
    assert_eq!(notice["kind"], "forwarding_confirmation");
    assert_eq!(notice["code"], "468201937");
    assert_eq!(
        notice["link"],
        "https://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz"
    );
    assert_eq!(notice["requested_by"], "agent.smith@gmail.com");
    let text = String::from_utf8(server.cli(&["accounts", "show", &acme.id.to_string()]).stdout).unwrap();
    assert!(text.contains("468201937"), "{text}");
    assert!(server.contacts(acme.id).is_empty());
    assert!(server.conversations(acme.id).is_empty());
    let system = server.json(&[
        "messages",
        "list",
        "--account",
        &acme.id.to_string(),
        "--kind",
        "system",
    ]);
    assert_eq!(system.as_array().unwrap().len(), 1);

    // Microsoft mails a security code to the address an Outlook.com user adds.
    let body = "Microsoft account\r\nVerify your email address\r\n\r\nTo finish setting up forwarding for agent.smith@outlook.com, use this security code.\r\n\r\nSecurity code: 8042317\r\n\r\nOr confirm here: https://account.live.com/confirm?token=AbC123\r\n";
    let m = mail(
        "Microsoft account team <account-security-noreply@accountprotection.microsoft.com>",
        "Verify your email address",
        &[],
        body,
    );
    server
        .send("msonlineservicesteam@microsoftonline.com", &[&acme.address], &m)
        .expect(250, "2.0.0");
    let shown = server.json(&["accounts", "show", &acme.id.to_string()]);
    let outlook = shown["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["provider"] == "outlook")
        .unwrap_or_else(|| panic!("no outlook notice in {shown}"));
    assert_eq!(outlook["code"], "8042317");
    assert_eq!(outlook["link"], "https://account.live.com/confirm?token=AbC123");
    assert!(server.contacts(acme.id).is_empty());
    assert!(server.conversations(acme.id).is_empty());
}

// ---------------------------------------------------------------- campaign replies

fn reply_address(server: &Server, account: i64, contact: &str, origin: &[&str]) -> String {
    let mut args = vec!["reply-address", &account.to_string(), "--contact", contact]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(origin.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.json(&args)["address"].as_str().unwrap().to_string()
}

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

// ---------------------------------------------------------------- auto-replies

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
        ("Away", vec![("Precedence", "bulk")], "a4@x.example"),
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

// ---------------------------------------------------------------- bounces

fn dsn(recipient: &str, status: &str, original_id: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.c.example>\r\nTo: x@inbox.localhost\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.c.example\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\nDiagnostic-Code: smtp; 550 {status} mailbox unavailable\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: Acme <support@acme.example>\r\nTo: {recipient}\r\nSubject: Re: Order 7\r\nMessage-ID: <{original_id}>\r\n\r\n--B--\r\n"
    )
}

#[test]
fn bounces_attach_to_the_original_conversation_and_mark_hard_failures() {
    let server = start();
    let acme = server.create_account("Acme");
    let id = acme.id.to_string();
    let mut c = server.connect();
    c.ehlo();
    let first = server
        .deliver_and_show(
            &mut c,
            "jane@c.example",
            &[&acme.address],
            mail("jane@c.example", "Order 7", &[], "where?").as_bytes(),
        )
        .unwrap();
    server.cli(&[
        "register-sent",
        &id,
        "--message-id",
        "agent-reply-1@platform.example",
        "--contact",
        "jane@c.example",
    ]);
    // A soft bounce first: attached, contact still fine.
    let soft = server
        .deliver_and_show(
            &mut c,
            "",
            &[&acme.address],
            dsn("jane@c.example", "4.2.2", "agent-reply-1@platform.example").as_bytes(),
        )
        .unwrap();
    assert_eq!(soft["kind"], "bounce");
    assert_eq!(soft["bounce"]["hard"], false);
    assert_eq!(soft["conversation_id"], first["conversation_id"]);
    assert_eq!(server.contacts(acme.id)[0]["email_status"], "ok");
    let hard = server
        .deliver_and_show(
            &mut c,
            "",
            &[&acme.address],
            dsn("jane@c.example", "5.1.1", "agent-reply-1@platform.example").as_bytes(),
        )
        .unwrap();
    assert_eq!(hard["bounce"]["recipient"], "jane@c.example");
    assert_eq!(hard["bounce"]["status"], "5.1.1");
    assert_eq!(hard["bounce"]["hard"], true);
    assert_eq!(hard["conversation_id"], first["conversation_id"]);
    assert_eq!(server.contacts(acme.id)[0]["email_status"], "bouncing");
    assert!(server.events(0).iter().any(|e| e["type"] == "contact.bouncing"));
    // A bounce for someone we never heard from creates no contact.
    let stray = server
        .deliver_and_show(
            &mut c,
            "",
            &[&acme.address],
            dsn("ghost@nowhere.example", "5.1.1", "nope@x").as_bytes(),
        )
        .unwrap();
    assert_eq!(stray["contact_id"], Value::Null);
    assert_eq!(stray["conversation_id"], Value::Null);
    assert_eq!(server.contacts(acme.id).len(), 1);
    // A bounce sent to a contact's reply address joins that campaign conversation.
    let address = reply_address(&server, acme.id, "bob@d.example", &["--campaign", "9"]);
    let reply = server
        .deliver_and_show(
            &mut c,
            "bob@d.example",
            &[&address],
            mail("bob@d.example", "Re: Sale", &[], "ok").as_bytes(),
        )
        .unwrap();
    let bounce = server
        .deliver_and_show(
            &mut c,
            "",
            &[&address],
            dsn("bob@d.example", "5.2.2", "unknown-id@platform.example").as_bytes(),
        )
        .unwrap();
    assert_eq!(bounce["conversation_id"], reply["conversation_id"]);
    assert_eq!(bounce["campaign_id"], "9");
}

/// The sisimai corpus: every report is a bounce or feedback, none creates a contact, and the
/// failed recipient's status and hardness match sisimai's own expectations.
#[test]
fn sisimai_bounces_are_classified_and_create_no_contact() {
    let server = start();
    // Several corpus files are captures of the same message (same Message-ID); each account stores
    // a message once, so a duplicate goes to the next account of this pool.
    let mut accounts = vec![server.create_account("Bounces 1")];
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus("sisimai/expected.json")).unwrap()).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(corpus("sisimai/maildir/bsd"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut c = server.connect();
    c.ehlo();
    let (mut reports, mut auto_replies, mut entries, mut matched) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(path).unwrap();
        let vacation = name.starts_with("rfc3834-");
        let sender = if vacation { "vacation@x.example" } else { "" };
        let mut stored = None;
        for i in 0.. {
            if i == accounts.len() {
                accounts.push(server.create_account(&format!("Bounces {}", i + 1)));
            }
            stored = server.deliver_and_read(&mut c, sender, &[&accounts[i].address], &bytes);
            if stored.is_some() || i > 60 {
                break;
            }
        }
        let m = stored.unwrap_or_else(|| panic!("{name} was not stored"));
        if vacation {
            assert_eq!(m["kind"], "auto_reply", "{name}");
            auto_replies += 1;
            continue;
        }
        let kind = m["kind"].as_str().unwrap();
        assert!(kind == "bounce" || kind == "feedback", "{name}: {kind}");
        reports += 1;
        let Some(want) = expected.get(&format!("maildir/bsd/{name}")) else {
            continue;
        };
        let got = m["bounce"]["recipients"].as_array().cloned().unwrap_or_default();
        for (i, w) in want["recipients"].as_array().unwrap().iter().enumerate() {
            entries += 1;
            let g = got.get(i);
            let status_ok = g.is_some_and(|g| g["status"].as_str().unwrap_or("") == w["status"].as_str().unwrap_or(""));
            let hard_ok = g.is_some_and(|g| g["hard"] == w["hard_bounce"]);
            let recipient_ok = g.is_some_and(|g| g["recipient"].as_str().unwrap_or("").contains('@'));
            if status_ok && hard_ok && recipient_ok {
                matched += 1;
            } else {
                misses.push(format!("{name}#{i}"));
            }
        }
    }
    let rate = matched as f64 / entries as f64 * 100.0;
    println!(
        "sisimai: {reports} reports classified bounce/feedback, {auto_replies} rfc3834 auto-replies; recipient+status+hard match {matched}/{entries} ({rate:.1}%)"
    );
    println!("sisimai misses: {}", misses.join(" "));
    assert_eq!(
        reports + auto_replies,
        files.len(),
        "every file was stored and classified"
    );
    assert_eq!(auto_replies, 5);
    assert!(rate >= 95.0, "{rate}");
    assert_eq!(
        server.count("SELECT count(*) FROM contacts"),
        0,
        "bounces and reports never create contacts"
    );
    let acme = &accounts[0];

    for name in ["is-not-bounce-01.eml", "is-not-bounce-02.eml"] {
        let bytes = std::fs::read(corpus(&format!("sisimai/maildir/not/{name}"))).unwrap();
        let m = server
            .deliver_and_show(&mut c, "person@x.example", &[&acme.address], &bytes)
            .unwrap();
        assert_eq!(m["kind"], "message", "{name}");
    }
}

// ---------------------------------------------------------------- what the customer wrote

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
    assert!(rate >= 90.0);
}
