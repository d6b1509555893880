//! Greeting, EHLO, MAIL and RCPT over TCP: what is advertised, who is accepted, which parameters
//! are recorded, and pipelined answers in order.

use super::*;

#[test]
fn greeting_and_ehlo_advertise_what_we_support() {
    let server = start();
    let mut c = server.connect();
    assert_eq!(c.greeting.code, 220);
    assert_eq!(c.greeting.lines[0], "mx.test.example ESMTP");
    let ehlo = c.ehlo();
    let text = ehlo.text();
    for ext in [
        "PIPELINING",
        "SIZE 26214400",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
    ] {
        assert!(ehlo.lines.iter().any(|l| l == ext), "{ext} missing in {text}");
    }
    assert!(!text.contains("STARTTLS"), "no certificate, no STARTTLS: {text}");
    assert_eq!(c.cmd("HELO old.client").code, 250);
    c.cmd("NOOP").expect(250, "2.0.0");
    c.cmd("VRFY someone").expect(252, "2.5.0");
    let help = c.cmd("HELP");
    assert_eq!(help.code, 214);
    c.cmd("RSET").expect(250, "2.0.0");
    c.cmd("EXPN list").expect(502, "5.5.1");
    c.cmd("QUIT").expect(221, "2.0.0");
    assert!(c.is_closed());
}

on_both_backends! {
    fn a_real_client_delivers_and_the_message_is_committed_with_its_envelope(backend: Backend) {
        use lettre::{Message, SmtpTransport, Transport};
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let email = Message::builder()
            .from("Jane Doe <jane@customer.example>".parse().unwrap())
            .to(acme.address.parse().unwrap())
            .subject("Where is my order?")
            .body("Hello, it has not arrived.".to_string())
            .unwrap();
        let mailer = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.addr.port())
            .build();
        let response = mailer.send(&email).expect("lettre delivers");
        assert_eq!(response.code().to_string(), "250");
        let text = response.message().collect::<Vec<_>>().join(" ");
        assert!(text.starts_with("2.0.0 Ok: queued as "), "{text}");
        let queue_id = text.rsplit(' ').next().unwrap();

        let ids = server.message_by_queue_id(queue_id);
        assert_eq!(ids.len(), 1);
        let raw = server.cli(&["messages", "raw", &ids[0].to_string()]).stdout;
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.starts_with("Received: from "), "{raw}");
        let header = &raw[..raw.find("\r\n\r\n").unwrap()];
        assert!(header.contains("([127.0.0.1])"), "{header}");
        assert!(header.contains(&format!("id {queue_id}")), "{header}");
        assert!(header.contains("by mx.test.example (inboxd) with ESMTP"), "{header}");
        assert!(raw.contains("Subject: Where is my order?"));

        let m = server.json(&["messages", "show", &ids[0].to_string()]);
        let env = &m["envelope"];
        assert_eq!(env["mail_from"], "jane@customer.example");
        assert_eq!(env["rcpt_to"][0], acme.address.as_str());
        assert_eq!(env["client_ip"], "127.0.0.1");
        assert!(!env["helo"].as_str().unwrap().is_empty());
        assert_eq!(env["tls"], serde_json::Value::Null);
        assert!(env["size"].as_u64().unwrap() > 50);
        assert!(env["received_at"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn the_null_sender_is_accepted() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    let reply = c.transaction(
        "",
        &[&acme.address],
        simple("MAILER-DAEMON@mx.example", "Undelivered").as_bytes(),
    );
    reply.expect(250, "2.0.0");
    let env = server.envelopes("true")[0].to_string();
    assert!(env.contains("\"mail_from\":\"\""), "{env}");
}

on_both_backends! {
    fn recipients_are_judged_at_rcpt_time(backend: Backend) {
        let server = builder_on(backend)
            .set("limits.max_recipients", 3)
            .set("limits.max_errors", 50)
            .start();
        let acme = server.create_account("Acme");
        let off = server.create_account("Closed shop");
        server.cli(&["accounts", "disable", &off.id.to_string()]);
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<a@sender.example>").expect(250, "2.1.0");
        c.cmd("RCPT TO:<nobody@inbox.localhost>").expect(550, "5.1.1");
        c.cmd("RCPT TO:<victim@gmail.example>").expect(550, "5.7.1");
        c.cmd(&format!("RCPT TO:<{}>", off.address)).expect(550, "5.2.1");
        c.cmd("RCPT TO:<r-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@inbox.localhost>")
            .expect(550, "5.1.1");
        // Case-insensitive, with a +tag, on either configured domain spelling.
        let upper = acme.address.to_uppercase();
        c.cmd(&format!("RCPT TO:<{upper}>")).expect(250, "2.1.5");
        let (local, domain) = acme.address.split_once('@').unwrap();
        c.cmd(&format!("RCPT TO:<{local}+Sales@{domain}>")).expect(250, "2.1.5");
        // An address is the whole address: the second configured domain is ours (5.1.1, not a relay
        // refusal) but does not route acme's local part; look-alike domains are not ours at all.
        c.cmd(&format!("RCPT TO:<{local}@SECOND.localhost>"))
            .expect(550, "5.1.1");
        c.cmd(&format!("RCPT TO:<{local}@{domain}.evil.example>"))
            .expect(550, "5.7.1");
        c.cmd(&format!("RCPT TO:<{local}@sub.{domain}>")).expect(550, "5.7.1");
        let second = server.json(&["accounts", "create", "Second brand", "--domain", "second.localhost"]);
        let second = second["address"].as_str().unwrap().to_string();
        assert!(second.ends_with("@second.localhost"), "{second}");
        c.cmd(&format!("RCPT TO:<{second}>")).expect(250, "2.1.5");
        c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(452, "4.5.3");
        c.cmd("DATA").expect(354, "2.0.0");
        c.write(b"From: a@sender.example\r\nSubject: tags\r\n\r\nx\r\n.\r\n");
        c.reply().expect(250, "2.0.0");
        let tags = server.texts("SELECT tags_json FROM messages ORDER BY account_id");
        assert_eq!(
            tags,
            ["[\"sales\"]", "[]"],
            "acme's three RCPTs are one message; the second brand has its own"
        );
    }
}

on_both_backends! {
    fn postmaster_and_abuse_reach_the_postmaster_account(backend: Backend) {
        let mut server = start_on(backend);
        let postmasters = |server: &Server| -> Vec<serde_json::Value> {
            let accounts = server.json(&["accounts", "list"]);
            accounts
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["address"] == "postmaster@inbox.localhost")
                .cloned()
                .collect()
        };
        assert!(postmasters(&server).is_empty(), "made when first needed, not before");
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<ops@sender.example>").expect(250, "2.1.0");
        // RFC 5321 §4.5.1: the bare form, without a domain, must be accepted too.
        c.cmd("RCPT TO:<Postmaster>").expect(250, "2.1.5");
        c.cmd("RCPT TO:<POSTMASTER@second.localhost>").expect(250, "2.1.5");
        c.cmd("RCPT TO:<postmaster@elsewhere.example>").expect(550, "5.7.1");
        c.cmd("RCPT TO:<>").expect(501, "5.1.3");
        c.cmd("DATA").expect(354, "2.0.0");
        c.write(b"From: ops@sender.example\r\nSubject: your MX\r\n\r\nhello postmaster\r\n.\r\n");
        c.reply().expect(250, "2.0.0");
        c.cmd("MAIL FROM:<reporter@sender.example>").expect(250, "2.1.0");
        c.cmd("RCPT TO:<abuse@inbox.localhost>").expect(250, "2.1.5");
        c.cmd("DATA").expect(354, "2.0.0");
        c.write(b"From: reporter@sender.example\r\nSubject: spam from you\r\n\r\nreport\r\n.\r\n");
        c.reply().expect(250, "2.0.0");
        let found = postmasters(&server);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["name"], "Postmaster");
        let id = found[0]["id"].as_i64().unwrap();
        let stored = |server: &Server| -> Vec<(i64, String)> {
            server
                .texts("SELECT CAST(account_id AS TEXT) || ' ' || tags_json FROM messages ORDER BY messages.id")
                .iter()
                .map(|row| {
                    let (account, tags) = row.split_once(' ').unwrap();
                    (account.parse().unwrap(), tags.to_string())
                })
                .collect()
        };
        assert_eq!(
            stored(&server),
            [(id, "[]".to_string()), (id, "[\"abuse\"]".to_string())]
        );
        // After a restart the same account takes postmaster's mail.
        drop(c);
        server.restart();
        server
            .send(
                "ops@sender.example",
                &["postmaster@inbox.localhost"],
                &simple("ops@sender.example", "again"),
            )
            .expect(250, "2.0.0");
        assert_eq!(postmasters(&server).len(), 1);
        assert_eq!(stored(&server).last().unwrap().0, id);
    }
}

on_both_backends! {
    fn a_rotated_address_stops_routing(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let rotated = server.json(&["accounts", "rotate-address", &acme.id.to_string()]);
        let new_address = rotated["address"].as_str().unwrap();
        assert_ne!(new_address, acme.address);
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<a@sender.example>").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(550, "5.1.1");
        c.cmd(&format!("RCPT TO:<{new_address}>")).expect(250, "2.1.5");
    }
}

#[test]
fn declared_size_over_the_limit_is_refused_at_mail() {
    let server = builder().set("limits.max_message_size", 100_000).start();
    let mut c = server.connect();
    let ehlo = c.ehlo();
    assert!(ehlo.lines.iter().any(|l| l == "SIZE 100000"));
    c.cmd("MAIL FROM:<a@b.example> SIZE=100001").expect(552, "5.3.4");
    c.cmd("MAIL FROM:<a@b.example> SIZE=99999 BODY=8BITMIME")
        .expect(250, "2.1.0");
    c.cmd("RSET").expect(250, "2.0.0");
    c.cmd("MAIL FROM:<a@b.example> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159")
        .expect(250, "2.1.0");
    c.cmd("RSET").expect(250, "2.0.0");
    c.cmd("MAIL FROM:<a@b.example> FROBNICATE=YES").expect(555, "5.5.4");
}

#[test]
fn dsn_and_utf8_parameters_are_parsed_and_recorded() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<jöran@exämple.se> BODY=8BITMIME SMTPUTF8 ENVID=env-42 RET=FULL")
        .expect(250, "2.1.0");
    c.cmd(&format!(
        "RCPT TO:<{}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{}",
        acme.address, acme.address
    ))
    .expect(250, "2.1.5");
    c.cmd("DATA").expect(354, "2.0.0");
    c.write("From: Jöran <jöran@exämple.se>\r\nSubject: hej\r\n\r\nhej\r\n.\r\n".as_bytes());
    c.reply().expect(250, "2.0.0");
    let env = server.envelopes("true")[0].clone();
    assert_eq!(env["body"], "8BITMIME");
    assert_eq!(env["smtputf8"], true);
    assert_eq!(env["env_id"], "env-42");
    assert_eq!(env["protocol"], "UTF8SMTP");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<jöran@exämple.se>").expect(553, "5.6.7");
}

#[test]
fn commands_out_of_order_and_unknown_commands() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.cmd("MAIL FROM:<a@b.example>").expect(503, "5.5.1");
    c.ehlo();
    c.cmd("RCPT TO:<x@inbox.localhost>").expect(503, "5.5.1");
    c.cmd("DATA").expect(503, "5.5.1");
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd("MAIL FROM:<a@b.example>").expect(503, "5.5.1");
    c.cmd("DATA").expect(503, "5.5.1");
    c.cmd("FOO bar").expect(500, "5.5.1");
    c.cmd("MAIL FROM:bad").expect(501, "5.5.4");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.cmd("STARTTLS").expect(502, "5.5.1");
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    let batch = format!(
        "EHLO pipe.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nobody@inbox.localhost>\r\nRCPT TO:<{}>\r\nNOOP\r\nDATA\r\n",
        acme.address
    );
    c.write(batch.as_bytes());
    assert_eq!(c.reply().code, 250); // EHLO
    c.reply().expect(250, "2.1.0");
    c.reply().expect(550, "5.1.1");
    c.reply().expect(250, "2.1.5");
    c.reply().expect(250, "2.0.0");
    c.reply().expect(354, "2.0.0");
    // The end of data, a new transaction and QUIT, all in one packet.
    let rest = format!(
        "Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<{}>\r\nDATA\r\n",
        acme.address
    );
    c.write(rest.as_bytes());
    c.reply().expect(250, "2.0.0");
    c.reply().expect(250, "2.1.0");
    c.reply().expect(250, "2.1.5");
    c.reply().expect(354, "2.0.0");
    c.write(b"Subject: two\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    c.reply().expect(250, "2.0.0");
    c.reply().expect(221, "2.0.0");
    assert_eq!(server.count("SELECT count(*) FROM messages"), 2);
}
