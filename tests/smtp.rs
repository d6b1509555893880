//! The SMTP front door, tested against the real server over TCP and its real SQLite file.

mod common;

use common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn simple(from: &str, subject: &str) -> String {
    message(
        &[("From", from), ("To", "someone@inbox.localhost"), ("Subject", subject)],
        "Hello.\r\n",
    )
}

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

#[test]
fn a_real_client_delivers_and_the_message_is_committed_with_its_envelope() {
    use lettre::{Message, SmtpTransport, Transport};
    let server = start();
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
    let env: String = server
        .db()
        .query_row("SELECT envelope_json FROM messages", [], |r| r.get(0))
        .unwrap();
    assert!(env.contains("\"mail_from\":\"\""), "{env}");
}

#[test]
fn recipients_are_judged_at_rcpt_time() {
    let server = builder()
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

#[test]
fn postmaster_and_abuse_reach_the_postmaster_account() {
    let mut server = start();
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
            .db()
            .prepare("SELECT account_id, tags_json FROM messages ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
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

#[test]
fn a_rotated_address_stops_routing() {
    let server = start();
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
    let env: serde_json::Value = serde_json::from_str(
        &server
            .db()
            .query_row::<String, _, _>("SELECT envelope_json FROM messages", [], |r| r.get(0))
            .unwrap(),
    )
    .unwrap();
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

#[test]
fn bdat_chunks_are_assembled_and_checked() {
    let server = builder().set("limits.max_message_size", 4096).start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    // BDAT without a transaction: the chunk is read and dropped, then 503.
    c.write(b"BDAT 5\r\nhello");
    c.reply().expect(503, "5.5.1");
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    let part1 = b"From: a@b.example\r\nSubject: chunked\r\n\r\n";
    let part2 = b".leading dot stays in BDAT\r\nend\r\n";
    c.write(format!("BDAT {}\r\n", part1.len()).as_bytes());
    c.write(part1);
    let r = c.reply();
    r.expect(250, "2.0.0");
    c.write(format!("BDAT {} LAST\r\n", part2.len()).as_bytes());
    c.write(part2);
    let r = c.reply();
    r.expect(250, "2.0.0");
    let id = server.message_by_queue_id(&r.queue_id())[0];
    let raw = server.cli(&["messages", "raw", &id.to_string()]).stdout;
    let body = &raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()..];
    assert!(body.ends_with(b".leading dot stays in BDAT\r\nend\r\n"));
    assert!(String::from_utf8_lossy(&raw).contains("Subject: chunked"));
    // Over the size limit: 552 once the chunk is read, the session goes on.
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.write(b"BDAT 5000 LAST\r\n");
    c.write(&vec![b'x'; 5000]);
    c.reply().expect(552, "5.3.4");
    c.cmd("NOOP").expect(250, "2.0.0");
    // An empty last chunk ends a message at once.
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.write(b"BDAT 26\r\nSubject: empty last\r\n\r\nx\r\n");
    c.reply().expect(250, "2.0.0");
    c.cmd("BDAT 0 LAST").expect(250, "2.0.0");
    assert_eq!(server.count("SELECT count(*) FROM messages"), 2);
}

#[test]
fn dot_stuffed_lines_are_unstuffed() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.cmd("DATA").expect(354, "2.0.0");
    c.write(b"Subject: dots\r\n\r\n..one dot\r\n...two dots\r\n.\r\n");
    let r = c.reply();
    r.expect(250, "2.0.0");
    let id = server.message_by_queue_id(&r.queue_id())[0];
    let raw = String::from_utf8(server.cli(&["messages", "raw", &id.to_string()]).stdout).unwrap();
    assert!(raw.ends_with("\r\n\r\n.one dot\r\n..two dots\r\n"), "{raw:?}");
}

#[test]
fn smuggling_forms_never_end_or_split_a_message() {
    let server = start();
    let acme = server.create_account("Acme");
    let forms: [&[u8]; 5] = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r\r\n", b"\r.\r\n"];
    for (i, form) in forms.iter().enumerate() {
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
        c.cmd("DATA").expect(354, "2.0.0");
        let mut data = format!("Subject: smuggle {i}\r\n\r\nbefore").into_bytes();
        data.extend_from_slice(form);
        data.extend_from_slice(
            format!(
                "MAIL FROM:<evil@x.example>\r\nRCPT TO:<{}>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n",
                acme.address
            )
            .as_bytes(),
        );
        c.write(&data);
        // No reply may come yet: the message has not ended.
        c.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut probe = [0u8; 64];
        match c.stream.read(&mut probe) {
            Ok(n) => panic!(
                "form {i}: server answered early: {:?}",
                String::from_utf8_lossy(&probe[..n])
            ),
            Err(e) => assert!(matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )),
        }
        c.stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        c.write(b".\r\n");
        let r = c.reply();
        r.expect(250, "2.0.0");
        assert_eq!(c.cmd("NOOP").code, 250, "form {i}: exactly one reply for one DATA");
        let ids = server.message_by_queue_id(&r.queue_id());
        let raw = String::from_utf8_lossy(&server.cli(&["messages", "raw", &ids[0].to_string()]).stdout).to_string();
        assert!(
            raw.contains("MAIL FROM:<evil@x.example>"),
            "form {i}: smuggled text stays content"
        );
    }
    assert_eq!(server.count("SELECT count(*) FROM messages"), forms.len() as i64);
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE subject = 'smuggled'"),
        0
    );
    // Bare LF is stored as CRLF (Postfix "normalize"); bare CR is kept.
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.cmd("DATA").expect(354, "2.0.0");
    c.write(b"Subject: bare\r\n\r\nline one\nline\rtwo\r\n.\r\n");
    let r = c.reply();
    let id = server.message_by_queue_id(&r.queue_id())[0];
    let raw = server.cli(&["messages", "raw", &id.to_string()]).stdout;
    assert!(
        raw.ends_with(b"\r\n\r\nline one\r\nline\rtwo\r\n"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn an_over_long_command_line_gets_500_without_buffering_it() {
    let server = start();
    let mut c = server.connect();
    c.ehlo();
    let long = format!("MAIL FROM:<{}@b.example>\r\n", "a".repeat(5000));
    c.write(long.as_bytes());
    c.reply().expect(500, "5.5.2");
    c.cmd("NOOP").expect(250, "2.0.0");

    // 64 MiB without a newline: refused, and the server does not hold it in memory.
    let before = server.rss_kib();
    let mut c = server.connect();
    c.ehlo();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..64 {
        c.write(&chunk);
    }
    c.write(b"\r\n");
    c.reply().expect(500, "5.5.2");
    c.cmd("NOOP").expect(250, "2.0.0");
    let after = server.rss_kib();
    assert!(after < before + 16 * 1024, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn an_oversized_message_is_read_to_its_end_then_refused_with_bounded_memory() {
    let server = builder().set("limits.max_message_size", 1 << 20).start();
    let acme = server.create_account("Acme");
    let before = server.rss_kib();
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.cmd("DATA").expect(354, "2.0.0");
    c.write(b"Subject: big\r\n\r\n");
    let line = [b"x".repeat(998), b"\r\n".to_vec()].concat();
    for _ in 0..(40 * 1024) {
        c.write(&line); // 40 MiB in all
    }
    c.write(b".\r\n");
    c.reply().expect(552, "5.3.4");
    let after = server.rss_kib();
    assert!(after < before + 16 * 1024, "RSS grew from {before} KiB to {after} KiB");
    c.cmd("NOOP").expect(250, "2.0.0");
    assert_eq!(server.count("SELECT count(*) FROM messages"), 0);
}

#[test]
fn connection_limits_answer_421_at_once() {
    let server = builder().set("limits.max_connections_per_ip", 20).start();
    let acme = server.create_account("Acme");
    let mut open: Vec<Client> = (0..20).map(|_| server.connect()).collect();
    for c in &open {
        assert_eq!(c.greeting.code, 220);
    }
    let started = Instant::now();
    let mut refused = server.connect();
    assert_eq!(refused.greeting.code, 421);
    assert_eq!(refused.greeting.status(), "4.7.0");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(refused.is_closed());
    // The twenty are still served.
    let c = &mut open[7];
    c.ehlo();
    c.transaction(
        "a@b.example",
        &[&acme.address],
        simple("a@b.example", "still served").as_bytes(),
    )
    .expect(250, "2.0.0");
    drop(open);
    assert!(eventually(Duration::from_secs(5), || server.connect().greeting.code == 220));

    let server = builder()
        .set("limits.max_connections", 3)
        .set("limits.max_connections_per_ip", 100)
        .start();
    let _held: Vec<Client> = (0..3).map(|_| server.connect()).collect();
    let c = server.connect();
    assert_eq!((c.greeting.code, c.greeting.status()), (421, "4.7.0"));
}

#[test]
fn too_many_errors_end_the_session() {
    let server = builder().set("limits.max_errors", 3).start();
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd("RCPT TO:<x1@inbox.localhost>").expect(550, "5.1.1");
    c.cmd("BOGUS").expect(500, "5.5.1");
    c.write(b"RCPT TO:<x3@inbox.localhost>\r\n");
    c.reply().expect(550, "5.1.1");
    c.reply().expect(421, "4.7.0");
    assert!(c.is_closed());
}

#[test]
fn idle_sessions_time_out() {
    let server = builder().set("limits.idle_timeout_secs", 1).start();
    let mut c = server.connect();
    c.ehlo();
    let started = Instant::now();
    c.reply().expect(421, "4.4.2");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(c.is_closed());
    let server = builder().set("limits.session_timeout_secs", 2).start();
    let mut c = server.connect();
    let started = Instant::now();
    for _ in 0..10 {
        let r = c.cmd("NOOP");
        if r.code == 421 {
            assert_eq!(r.status(), "4.4.2");
            assert!(started.elapsed() >= Duration::from_secs(2));
            return;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    panic!("the session limit was not enforced");
}

#[test]
fn one_message_to_two_accounts_is_stored_for_each_in_one_commit() {
    let server = start();
    let a = server.create_account("Alpha");
    let b = server.create_account("Beta");
    let r = server.send(
        "jane@customer.example",
        &[&a.address, &b.address],
        &simple("Jane <jane@customer.example>", "To both"),
    );
    r.expect(250, "2.0.0");
    let ids = server.message_by_queue_id(&r.queue_id());
    assert_eq!(ids.len(), 2);
    assert_eq!(
        server.count("SELECT count(*) FROM raw_messages"),
        1,
        "raw bytes stored once"
    );
    assert_eq!(server.contacts(a.id).len(), 1);
    assert_eq!(server.contacts(b.id).len(), 1);
    assert_ne!(server.contacts(a.id)[0]["id"], server.contacts(b.id)[0]["id"]);
}

#[test]
fn a_failed_commit_answers_451_and_stores_nothing() {
    let server = start();
    let acme = server.create_account("Acme");
    server
        .db()
        .execute_batch("CREATE TRIGGER fail BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'injected'); END;")
        .unwrap();
    let r = server.send(
        "jane@customer.example",
        &[&acme.address],
        &simple("jane@customer.example", "x"),
    );
    r.expect(451, "4.3.0");
    for table in ["messages", "raw_messages", "contacts", "conversations", "events"] {
        assert_eq!(
            server.count(&format!("SELECT count(*) FROM {table}")),
            0,
            "{table} half-stored"
        );
    }
    server.db().execute_batch("DROP TRIGGER fail").unwrap();
    server
        .send(
            "jane@customer.example",
            &[&acme.address],
            &simple("jane@customer.example", "x"),
        )
        .expect(250, "2.0.0");
    assert_eq!(server.count("SELECT count(*) FROM messages"), 1);
}

#[test]
fn sqlite_is_in_wal_mode_with_full_sync_and_migrated() {
    let server = start();
    let mode: String = server.db().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = server.db().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert!(version >= 2);
}

#[test]
fn sigterm_lets_a_transaction_in_flight_finish() {
    let mut server = start();
    let acme = server.create_account("Acme");
    let mut busy = server.connect();
    busy.ehlo();
    busy.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    busy.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    busy.cmd("DATA").expect(354, "2.0.0");
    busy.write(b"From: a@b.example\r\nSubject: in flight\r\n\r\nhalf of it");
    let mut idle = server.connect();
    idle.ehlo();
    server.signal("TERM");
    idle.reply().expect(421, "4.3.2");
    assert!(idle.is_closed());
    // New connections are no longer accepted.
    assert!(eventually(Duration::from_secs(5), || {
        std::net::TcpStream::connect(server.addr).is_err()
    }));
    busy.write(b" and the rest\r\n.\r\n");
    busy.reply().expect(250, "2.0.0");
    busy.reply().expect(421, "4.3.2");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE subject = 'in flight'"),
        1
    );
    let logs = server.logs().join("\n");
    assert!(logs.contains("stopped"), "{logs}");
}

#[test]
fn logs_carry_queue_id_account_sender_size_and_result() {
    let server = builder().set("limits.max_message_size", 2000).start();
    let acme = server.create_account("Acme");
    let r = server.send(
        "jane@customer.example",
        &[&acme.address],
        &simple("jane@customer.example", "log me"),
    );
    let queue_id = r.queue_id();
    assert!(eventually(Duration::from_secs(5), || server
        .logs()
        .iter()
        .any(|l| l.contains("connection closed"))));
    let line = server
        .logs()
        .into_iter()
        .find(|l| l.contains(&queue_id) && l.contains("message accepted"))
        .expect("a message log line");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["queue_id"], queue_id.as_str());
    assert_eq!(v["from"], "jane@customer.example");
    assert_eq!(v["result"], "250");
    assert!(v["size"].as_u64().unwrap() > 0);
    assert!(v["accounts"].as_str().unwrap().contains(&acme.id.to_string()));
    assert!(v["elapsed_ms"].is_u64());

    // A refused message has its line too, under the queue id it was given at DATA.
    let big = message(
        &[("From", "joe@customer.example"), ("Subject", "too big")],
        &("x".repeat(98) + "\r\n").repeat(30),
    );
    server
        .send("joe@customer.example", &[&acme.address], &big)
        .expect(552, "5.3.4");
    let refused = || {
        server
            .logs()
            .into_iter()
            .find(|l| l.contains("message refused") && l.contains("joe@customer.example"))
    };
    assert!(eventually(Duration::from_secs(5), || refused().is_some()));
    let v: serde_json::Value = serde_json::from_str(&refused().unwrap()).unwrap();
    assert_eq!(v["result"], 552);
    assert_eq!(v["queue_id"].as_str().unwrap().len(), queue_id.len(), "{v}");
    assert!(v["size"].as_u64().unwrap() > 3000);
}

mod starttls {
    use super::*;
    use std::sync::Arc;
    use tokio_rustls::rustls;

    fn client_config() -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(fixture("tls/ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    #[test]
    fn starttls_upgrades_discards_plaintext_injection_and_resets_state() {
        let server = builder().tls().start();
        let acme = server.create_account("Acme");
        let mut c = server.connect();
        let ehlo = c.ehlo();
        assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"));
        c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
        c.cmd("STARTTLS").expect(503, "5.5.1");
        c.cmd("RSET").expect(250, "2.0.0");
        // CVE-2011-0411: a command pipelined after STARTTLS in clear must never run inside TLS.
        c.write(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n");
        c.reply().expect(220, "2.0.0");
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(client_config(), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, c.stream.try_clone().unwrap());
        let read_reply = |tls: &mut rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>| {
            let mut buf = Vec::new();
            let mut byte = [0u8; 1];
            loop {
                tls.read_exact(&mut byte).unwrap();
                buf.push(byte[0]);
                if buf.ends_with(b"\r\n") {
                    let line = String::from_utf8_lossy(&buf).to_string();
                    let last_line = line.lines().last().unwrap().to_string();
                    if last_line.as_bytes().get(3) == Some(&b' ') {
                        return line;
                    }
                }
            }
        };
        tls.write_all(b"EHLO secure.example\r\n").unwrap();
        let ehlo = read_reply(&mut tls);
        assert!(
            ehlo.starts_with("250-mx.test.example"),
            "the first reply inside TLS is EHLO's: {ehlo}"
        );
        assert!(!ehlo.contains("STARTTLS"));
        // The EHLO state was reset: MAIL works (no transaction carried over from before).
        tls.write_all(b"MAIL FROM:<a@b.example>\r\n").unwrap();
        assert!(read_reply(&mut tls).starts_with("250 2.1.0"));
        tls.write_all(format!("RCPT TO:<{}>\r\nDATA\r\n", acme.address).as_bytes())
            .unwrap();
        assert!(read_reply(&mut tls).starts_with("250 2.1.5"));
        assert!(read_reply(&mut tls).starts_with("354"));
        tls.write_all(b"From: a@b.example\r\nSubject: secret\r\n\r\nover TLS\r\n.\r\n")
            .unwrap();
        let done = read_reply(&mut tls);
        assert!(done.starts_with("250 2.0.0 Ok: queued as"), "{done}");
        let env: String = server
            .db()
            .query_row("SELECT envelope_json FROM messages", [], |r| r.get(0))
            .unwrap();
        assert!(env.contains("TLSv1.3"), "{env}");
        let raw: Vec<u8> = server
            .db()
            .query_row("SELECT data FROM raw_messages", [], |r| r.get(0))
            .unwrap();
        let raw = String::from_utf8_lossy(&raw);
        assert!(raw.contains("with ESMTPS (using TLSv1.3"), "{raw}");
        assert_eq!(
            server.count("SELECT count(*) FROM messages WHERE envelope_json LIKE '%injected%'"),
            0
        );
    }

    #[test]
    fn lettre_delivers_over_required_starttls() {
        use lettre::transport::smtp::client::{Tls, TlsParameters};
        use lettre::{Message, SmtpTransport, Transport};
        let server = builder().tls().start();
        let acme = server.create_account("Acme");
        let tls = TlsParameters::builder("localhost".into())
            .dangerous_accept_invalid_certs(true)
            .build_rustls()
            .unwrap();
        let mailer = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.addr.port())
            .tls(Tls::Required(tls))
            .build();
        let email = Message::builder()
            .from("jane@customer.example".parse().unwrap())
            .to(acme.address.parse().unwrap())
            .subject("over starttls")
            .body("x".to_string())
            .unwrap();
        assert!(mailer.send(&email).unwrap().is_positive());
        let env: String = server
            .db()
            .query_row("SELECT envelope_json FROM messages", [], |r| r.get(0))
            .unwrap();
        assert!(env.contains("\"tls\":\"TLSv1."), "{env}");
    }
}
