//! The message over TCP: BDAT, dot-stuffing, smuggling forms, over-long lines and messages, one
//! commit for several accounts, a failed commit, and the SQLite file's settings.

use super::*;

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
    // Chunks that together pass the size limit: 552 once the last is read, the session goes on.
    // (A chunk that alone passes it is refused before it is read: see `corners`.)
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.write(b"BDAT 3000\r\n");
    c.write(&vec![b'x'; 3000]);
    c.reply().expect(250, "2.0.0");
    c.write(b"BDAT 3000 LAST\r\n");
    c.write(&vec![b'x'; 3000]);
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
