//! From accepted mail to contacts and conversations, through the real server and its store: every
//! test runs on SQLite and on PostgreSQL, one body for both.

mod common;

use common::*;
use serde_json::Value;

fn mail(from: &str, subject: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut headers = vec![("From", from), ("To", "inbox@inbox.localhost"), ("Subject", subject)];
    headers.extend_from_slice(extra);
    message(&headers, body)
}

on_both_backends! {
    fn an_unknown_sender_becomes_one_contact_that_is_not_opt_in(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        server
            .send(
                "bounce-123@mailer.customer.example",
                &[&acme.address],
                &mail(
                    "Jane Doe <jane@customer.example>",
                    "Question",
                    &[("Message-ID", "<q1@customer.example>")],
                    "Hi",
                ),
            )
            .expect(250, "2.0.0");
        let contacts = server.contacts(acme.id);
        assert_eq!(
            contacts.len(),
            1,
            "the envelope sender never becomes a contact: {contacts:?}"
        );
        let c = &contacts[0];
        assert_eq!(c["email"], "jane@customer.example");
        assert_eq!(c["name"], "Jane Doe");
        assert_eq!(c["source"], "email");
        assert_eq!(c["opt_in"], false);
        assert_eq!(c["lists"], Value::Array(vec![]));
        assert_eq!(c["account_id"], acme.id);
        assert!(c["created_at"].as_str().unwrap().ends_with('Z'));

        let events = server.events(0);
        let created: Vec<&Value> = events.iter().filter(|e| e["type"] == "contact.created").collect();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["data"]["automation"], false);
        assert_eq!(created[0]["data"]["opt_in"], false);
        assert_eq!(created[0]["data"]["email"], "jane@customer.example");
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["contact.created", "conversation.created", "message.received"]);
        // The cursor returns only newer events.
        let last = events.last().unwrap()["id"].as_i64().unwrap();
        assert!(server.events(last).is_empty());
        let page = server.json(&["events", "--since", &events[0]["id"].to_string()]);
        assert_eq!(page["events"].as_array().unwrap().len(), 2);
        assert_eq!(page["next_cursor"], last);
    }
}

on_both_backends! {
    fn a_known_sender_in_another_case_is_the_same_contact_and_keeps_its_consent(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        server.send(
            "x@y.example",
            &[&acme.address],
            &mail("jane@customer.example", "One", &[], "1"),
        );
        // Consent granted elsewhere (by the platform) must survive inbound mail.
        server.execute("UPDATE contacts SET opt_in = TRUE, lists = '[\"vip\"]'");
        server.send(
            "x@y.example",
            &[&acme.address],
            &mail("JANE@Customer.EXAMPLE", "Two", &[], "2"),
        );
        let contacts = server.contacts(acme.id);
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0]["opt_in"], true);
        assert_eq!(contacts[0]["lists"][0], "vip");
        let shown = server.json(&[
            "contacts",
            "show",
            "--account",
            &acme.id.to_string(),
            "Jane@CUSTOMER.example",
        ]);
        assert_eq!(shown["id"], contacts[0]["id"]);
        assert_eq!(shown["conversations"].as_array().unwrap().len(), 2);
        let created = server
            .events(0)
            .iter()
            .filter(|e| e["type"] == "contact.created")
            .count();
        assert_eq!(created, 1);
    }
}

on_both_backends! {
    fn a_reply_joins_its_thread_by_in_reply_to_and_references(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let a = &acme.address;
        server.send(
            "j@c.example",
            &[a],
            &mail(
                "jane@c.example",
                "Order 42",
                &[("Message-ID", "<m1@c.example>")],
                "first",
            ),
        );
        server.send(
            "j@c.example",
            &[a],
            &mail(
                "jane@c.example",
                "a different subject",
                &[("Message-ID", "<m2@c.example>"), ("In-Reply-To", "<m1@c.example>")],
                "second",
            ),
        );
        server.send(
            "j@c.example",
            &[a],
            &mail(
                "jane@c.example",
                "yet another",
                &[
                    ("Message-ID", "<m3@c.example>"),
                    ("References", "<m1@c.example> <m2@c.example>"),
                ],
                "third",
            ),
        );
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 1, "{conversations:?}");
        let conv = server.conversation(conversations[0]["id"].as_i64().unwrap());
        assert_eq!(conv["message_count"], 3);
        assert_eq!(conv["subject"], "Order 42");
        assert_eq!(conv["channel"], "email");
        assert_eq!(conv["status"], "open");
        let messages = conv["messages"].as_array().unwrap();
        let ids: Vec<&str> = messages.iter().map(|m| m["message_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["m1@c.example", "m2@c.example", "m3@c.example"], "oldest first");
        assert!(messages[0]["text"].as_str().unwrap().contains("first"));
        for field in [
            "from_email",
            "from_name",
            "to",
            "cc",
            "subject",
            "date",
            "received_at",
            "html",
            "attachments",
            "size",
        ] {
            assert!(messages[0].get(field).is_some(), "message JSON lacks {field}");
        }
    }
}

on_both_backends! {
    fn the_subject_rule_joins_within_the_window_and_not_outside_it(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let a = &acme.address;
        server.send("j@c.example", &[a], &mail("jane@c.example", "Invoice March", &[], "1"));
        server.send(
            "j@c.example",
            &[a],
            &mail("jane@c.example", "RE: AW: [Billing] Invoice March", &[], "2"),
        );
        assert_eq!(server.conversations(acme.id).len(), 1);
        // Age the conversation beyond 30 days: the same subject now starts a new conversation.
        server.execute("UPDATE conversations SET last_message_at = '2000-01-01T00:00:00Z'");
        server.send(
            "j@c.example",
            &[a],
            &mail("jane@c.example", "Re: Invoice March", &[], "3"),
        );
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 2);
        assert_eq!(conversations[0]["message_count"], 1, "newest activity first");
        assert_eq!(conversations[1]["message_count"], 2);

        // 0 turns the subject rule off.
        let server = builder_on(backend).set("threading.subject_window_days", 0).start();
        let acme = server.create_account("Acme");
        server.send(
            "j@c.example",
            &[&acme.address],
            &mail("jane@c.example", "Invoice", &[], "1"),
        );
        server.send(
            "j@c.example",
            &[&acme.address],
            &mail("jane@c.example", "Re: Invoice", &[], "2"),
        );
        assert_eq!(server.conversations(acme.id).len(), 2);
    }
}

on_both_backends! {
    fn two_contacts_replying_to_one_campaign_stay_in_their_own_conversations(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let a = &acme.address;
        // Jane's message is stored; Bob replies to it (In-Reply-To) with the same subject.
        server.send(
            "x@y.example",
            &[a],
            &mail(
                "jane@c.example",
                "Re: Spring sale",
                &[("In-Reply-To", "<campaign-7@platform.example>")],
                "yes",
            ),
        );
        server.send(
            "x@y.example",
            &[a],
            &mail(
                "bob@d.example",
                "Re: Spring sale",
                &[("In-Reply-To", "<campaign-7@platform.example>")],
                "no",
            ),
        );
        server.send(
            "x@y.example",
            &[a],
            &mail(
                "bob@d.example",
                "Re: Spring sale",
                &[
                    ("In-Reply-To", "<campaign-7@platform.example>"),
                    ("References", "<campaign-7@platform.example>"),
                ],
                "again",
            ),
        );
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 2, "{conversations:?}");
        let by_contact = |email: &str| {
            conversations.iter().find(|c| c["contact_email"] == email).unwrap()["message_count"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(by_contact("jane@c.example"), 1);
        assert_eq!(by_contact("bob@d.example"), 2);

        // A thread header naming the other person's message never merges them either.
        server.send(
            "x@y.example",
            &[a],
            &mail(
                "carol@e.example",
                "Hello",
                &[("Message-ID", "<carol-1@e.example>")],
                "hi",
            ),
        );
        server.send(
            "x@y.example",
            &[a],
            &mail(
                "dave@f.example",
                "Re: Hello",
                &[("In-Reply-To", "<carol-1@e.example>")],
                "hi back",
            ),
        );
        let list = server.json(&[
            "conversations",
            "list",
            "--account",
            &acme.id.to_string(),
            "--contact",
            "dave@f.example",
        ]);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["message_count"], 1);
    }
}

on_both_backends! {
    fn the_same_message_twice_is_stored_once_and_acknowledged_twice(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let (local, domain) = acme.address.split_once('@').unwrap();
        let m = mail(
            "jane@c.example",
            "Retry",
            &[("Message-ID", "<retry-1@c.example>")],
            "once",
        );
        server.send("j@c.example", &[&acme.address], &m).expect(250, "2.0.0");
        server.send("j@c.example", &[&acme.address], &m).expect(250, "2.0.0");
        // A copy through another address of the same account.
        server
            .send("j@c.example", &[&format!("{local}+other@{domain}")], &m)
            .expect(250, "2.0.0");
        assert_eq!(server.count("SELECT count(*) FROM messages"), 1);
        // Without a Message-ID the content decides.
        let n = mail("jane@c.example", "No id", &[], "same content");
        server.send("j@c.example", &[&acme.address], &n).expect(250, "2.0.0");
        server.send("j@c.example", &[&acme.address], &n).expect(250, "2.0.0");
        assert_eq!(server.count("SELECT count(*) FROM messages"), 2);
        let received = server
            .events(0)
            .iter()
            .filter(|e| e["type"] == "message.received")
            .count();
        assert_eq!(received, 2);
    }
}

on_both_backends! {
    fn accounts_never_see_each_others_contacts_or_threads(backend: Backend) {
        let server = start_on(backend);
        let a = server.create_account("Alpha");
        let b = server.create_account("Beta");
        server.send(
            "j@c.example",
            &[&a.address],
            &mail("jane@c.example", "Hi A", &[("Message-ID", "<x1@c.example>")], "a"),
        );
        server.send(
            "j@c.example",
            &[&b.address],
            &mail(
                "jane@c.example",
                "Re: Hi A",
                &[("Message-ID", "<x2@c.example>"), ("In-Reply-To", "<x1@c.example>")],
                "b",
            ),
        );
        let (ca, cb) = (server.contacts(a.id), server.contacts(b.id));
        assert_eq!((ca.len(), cb.len()), (1, 1));
        assert_ne!(ca[0]["id"], cb[0]["id"]);
        assert_eq!(server.conversations(a.id)[0]["message_count"], 1);
        assert_eq!(server.conversations(b.id)[0]["message_count"], 1);
        assert!(server.conversations(a.id).iter().all(|c| c["account_id"] == a.id));
        let out = server.cli(&["contacts", "show", "--account", &a.id.to_string(), "nobody@x.example"]);
        assert!(!out.status.success());
    }
}

on_both_backends! {
    fn encoded_words_utf8_and_idn_senders_come_out_as_unicode(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let a = &acme.address;
        server.send(
            "x@y.example",
            &[a],
            &mail(
                "=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@xn--mnchen-3ya.de>",
                "=?ISO-8859-1?Q?Gr=FC=DFe?=",
                &[],
                "Hallo",
            ),
        );
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<пример@пример.рф> SMTPUTF8").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{a}>")).expect(250, "2.1.5");
        c.cmd("DATA").expect(354, "2.0.0");
        c.write("From: Иван <иван@пример.рф>\r\nSubject: Привет\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nтекст\r\n.\r\n".as_bytes());
        c.reply().expect(250, "2.0.0");
        let contacts = server.contacts(acme.id);
        let emails: Vec<&str> = contacts.iter().map(|c| c["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["juergen@münchen.de", "иван@пример.рф"]);
        assert_eq!(contacts[0]["name"], "Jürgen Müller");
        assert_eq!(contacts[1]["name"], "Иван");
        let subjects: Vec<String> = server
            .conversations(acme.id)
            .iter()
            .map(|c| c["subject"].as_str().unwrap().to_string())
            .collect();
        assert!(
            subjects.contains(&"Grüße".to_string()) && subjects.contains(&"Привет".to_string()),
            "{subjects:?}"
        );
        // The same person writing from the punycode spelling is the same contact.
        server.send(
            "x@y.example",
            &[a],
            &mail("juergen@XN--MNCHEN-3YA.DE", "again", &[], "x"),
        );
        assert_eq!(server.contacts(acme.id).len(), 2);
    }
}

on_both_backends! {
    fn html_bodies_and_attachments_are_read_back(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let body = "--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain part\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Html <b>part</b></p>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJeLjz9MK\r\n--b1\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1--\r\n";
        server.send(
            "x@y.example",
            &[&acme.address],
            &mail(
                "jane@c.example",
                "With files",
                &[
                    ("MIME-Version", "1.0"),
                    ("Content-Type", "multipart/mixed; boundary=b1"),
                ],
                body,
            ),
        );
        let conv = server.conversation(server.conversations(acme.id)[0]["id"].as_i64().unwrap());
        let m = &conv["messages"][0];
        assert!(m["text"].as_str().unwrap().contains("Plain part"));
        assert!(m["html"].as_str().unwrap().contains("<b>part</b>"));
        let attachments = m["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 2, "{attachments:?}");
        assert_eq!(attachments[0]["filename"], "invoice.pdf");
        assert_eq!(attachments[0]["content_type"], "application/pdf");
        assert_eq!(attachments[0]["size"], 15);
        assert_eq!(attachments[0]["inline"], false);
        assert_eq!(attachments[1]["inline"], true);
        assert_eq!(attachments[1]["content_id"], "logo@x");
    }
}

on_both_backends! {
    fn an_unparseable_message_is_stored_raw_and_flagged(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<x@y.example>").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
        c.cmd("DATA").expect(354, "2.0.0");
        c.write(b"\x00\x01\x02 binary garbage without headers\r\n.\r\n");
        let r = c.reply();
        r.expect(250, "2.0.0");
        let id = server.message_by_queue_id(&r.queue_id())[0];
        let m = server.json(&["messages", "show", &id.to_string()]);
        assert!(m["flags"].as_array().unwrap().iter().any(|f| f == "unparsed"), "{m}");
        let raw = server.cli(&["messages", "raw", &id.to_string()]).stdout;
        assert!(raw.ends_with(b"\x00\x01\x02 binary garbage without headers\r\n"));
        assert!(server.contacts(acme.id).is_empty());
    }
}

/// Sends every file of a corpus folder; each must be accepted and read back byte for byte.
fn ingest_corpus(server: &Server, account: &Account, dir: &str) -> usize {
    let mut files: Vec<_> = std::fs::read_dir(corpus(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt" || e == "eml"))
        .collect();
    files.sort();
    let mut c = server.connect();
    c.ehlo();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let reply = c.transaction("corpus@test.example", &[&account.address], &bytes);
        assert_eq!(reply.code, 250, "{}: {reply:?}", path.display());
        let ids = server.message_by_queue_id(&reply.queue_id());
        let id = match ids.first() {
            Some(id) => *id,
            // A duplicate (same Message-ID as an earlier file) is acknowledged but not stored again.
            None => continue,
        };
        let raw = server.cli(&["messages", "raw", &id.to_string()]).stdout;
        let body_start = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        assert!(raw.starts_with(b"Received: "));
        let expected = to_crlf(&bytes);
        assert!(raw.ends_with(&expected), "{}: raw bytes differ", path.display());
        assert!(body_start > 0);
        let shown = server.json(&["messages", "show", &id.to_string()]);
        assert_eq!(shown["id"], id);
        if let Some(conversation) = shown["conversation_id"].as_i64() {
            server.conversation(conversation);
        }
    }
    files.len()
}

on_both_backends! {
    fn every_cpython_and_mime_edge_case_message_is_stored_and_readable(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Corpus");
        let mut total = 0;
        for dir in [
            "cpython-email",
            "mime-edge-cases/rfc",
            "mime-edge-cases/malformed",
            "mime-edge-cases/thirdparty",
        ] {
            let n = ingest_corpus(&server, &acme, dir);
            assert!(n > 0, "{dir} is empty");
            total += n;
        }
        println!("corpus: {total} messages accepted and read back");
        assert!(total >= 100);
        assert!(server.count("SELECT count(*) FROM messages") > 80);
    }
}

on_both_backends! {
    fn a_large_message_is_stored_whole_and_its_attachments_listed(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        // Bytes that barely compress, as a scan's do: the stored copy is several MiB, which the
        // store reads back a piece at a time.
        let mut state = 11u64;
        let attachment: Vec<u8> = (0..6 * 1024 * 1024)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        let body = format!(
            "--b1\r\nContent-Type: text/plain\r\n\r\nSee the attached scan.\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"photo.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            base64(&attachment),
            base64(b"small jpeg")
        );
        let msg = mail(
            "jane@c.example",
            "Scan",
            &[
                ("MIME-Version", "1.0"),
                ("Content-Type", "multipart/mixed; boundary=b1"),
            ],
            &body,
        );
        let r = server.send("x@y.example", &[&acme.address], &msg);
        r.expect(250, "2.0.0");
        let id = server.message_by_queue_id(&r.queue_id())[0];
        let m = server.json(&["messages", "show", &id.to_string()]);
        assert!(m["text"].as_str().unwrap().contains("See the attached scan."));
        let attachments = m["attachments"].as_array().unwrap();
        let names: Vec<&str> = attachments.iter().map(|a| a["filename"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["scan.pdf", "photo.jpg"],
            "the part beyond the parsed window is listed too"
        );
        assert_eq!(attachments[0]["size"], attachment.len());
        let raw = server.cli(&["messages", "raw", &id.to_string()]).stdout;
        assert!(raw.ends_with(&to_crlf(msg.as_bytes())), "stored whole");
        let kept = server.count("SELECT CAST(max(length(data)) AS BIGINT) FROM raw_messages");
        assert!(kept > 4 * 1024 * 1024, "the stored copy is read in pieces ({kept} bytes)");
    }
}

/// The SHA-256 the store keeps beside stored copy `raw_id`, in hex.
fn stored_hash(server: &Server, raw_id: i64) -> String {
    let sql = if server.database_url.is_some() {
        format!("SELECT encode(hash, 'hex') FROM raw_messages WHERE id = {raw_id}")
    } else {
        format!("SELECT lower(hex(hash)) FROM raw_messages WHERE id = {raw_id}")
    };
    server.texts(&sql).pop().expect("the stored copy is there")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

on_both_backends! {
    fn a_delivery_to_two_accounts_is_kept_once_compressed_and_outlives_either_message(backend: Backend) {
        use sha2::Digest;
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let body = "We would like a quote for 40 chairs delivered to our Lyon office.\r\n".repeat(40);
        let msg = mail("jane@customer.example", "Quote", &[], &body);
        let r = server.send("jane@customer.example", &[&acme.address, &globex.address], &msg);
        r.expect(250, "2.0.0");
        let ids = server.message_by_queue_id(&r.queue_id());
        assert_eq!(ids.len(), 2, "one message row per account");
        // One copy, compressed, its hash and size those of the bytes as received.
        let raw_ids = server.texts(&format!(
            "SELECT CAST(raw_id AS TEXT) FROM messages WHERE id IN ({}, {})",
            ids[0], ids[1]
        ));
        assert_eq!(raw_ids[0], raw_ids[1], "both rows share the stored copy");
        let raw_id: i64 = raw_ids[0].parse().unwrap();
        assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 1);
        let read: Vec<Vec<u8>> = ids
            .iter()
            .map(|id| server.cli(&["messages", "raw", &id.to_string()]).stdout)
            .collect();
        assert_eq!(read[0], read[1]);
        assert!(read[0].starts_with(b"Received: ") && read[0].ends_with(&to_crlf(msg.as_bytes())));
        assert_eq!(stored_hash(&server, raw_id), hex(&sha2::Sha256::digest(&read[0])));
        assert_eq!(
            server.count(&format!("SELECT size FROM raw_messages WHERE id = {raw_id}")),
            read[0].len() as i64
        );
        let kept = server.count(&format!("SELECT CAST(length(data) AS BIGINT) FROM raw_messages WHERE id = {raw_id}"));
        assert!(kept * 4 < read[0].len() as i64, "kept {kept} bytes of {}", read[0].len());
        // Acme's message goes (marked spam, then deleted from the quarantine): Globex's stays whole.
        for (n, id) in ids.iter().enumerate() {
            let id = id.to_string();
            for command in [&["messages", "mark-spam", &id][..], &["quarantine", "delete", &id][..]] {
                let out = server.cli(command);
                assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
            if n == 0 {
                assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 1);
                assert_eq!(server.cli(&["messages", "raw", &ids[1].to_string()]).stdout, read[1]);
            }
        }
        // The last message that used it takes it along.
        assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 0);
        assert_eq!(server.count("SELECT count(*) FROM messages"), 0);
    }
}
