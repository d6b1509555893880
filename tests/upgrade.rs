//! A database an older build wrote (schema 10: raw bytes kept plain, bodies in `text` and `html`,
//! no search index, envelopes and events' data as JSON text) is taken up by this one: `serve`
//! reads its rows as they are, and `inboxd migrate` converts them a batch at a time (raw bytes
//! compressed, bodies packed, messages indexed, envelopes and events' data packed), every
//! message's bytes, text and envelope and every event the same afterwards.

mod common;

use common::*;

/// Messages the older build wrote.
const OLD_MESSAGES: i64 = 450;
/// The first one's envelope, and its event's data, as it wrote them.
const OLD_ENVELOPE: &str = r#"{"queue_id":"Q1","mail_from":"ann@customer.example","rcpt_to":["acme-old0000001@inbox.localhost"],"client_ip":"192.0.2.7","helo":"mail.customer.example","protocol":"ESMTPS","tls":"TLSv1.3 TLS_AES_256_GCM_SHA384","body":null,"smtputf8":false,"env_id":null,"received_at":"2026-11-01T00:00:59Z","size":99}"#;
const OLD_EVENT: &str = r#"{"contact_id":1,"conversation_id":1,"kind":"message","message_id":1,"subject":"Old times"}"#;

#[test]
fn an_older_database_is_read_as_it_is_and_converted_by_migrate() {
    let b = builder();
    let path = b.dir().join("inboxd.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        inboxd::store::schema::migrate_to(&mut conn, 10).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, local_part, domain, created_at) VALUES (1, 'Acme', 'acme-old0000001', 'inbox.localhost', '2026-11-01T00:00:00Z');
             INSERT INTO contacts (id, account_id, email, email_key, source, created_at) VALUES (1, 1, 'ann@customer.example', 'ann@customer.example', 'email', '2026-11-01T00:00:00Z');
             INSERT INTO conversations (id, account_id, contact_id, subject, subject_key, message_count, created_at, last_message_at)
                 VALUES (1, 1, 1, 'Old times', 'old times', 2, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z');",
        )
        .unwrap();
        // More rows than one batch of `migrate` converts (200), so that its steps must each go on
        // from where the last stopped.
        let txn = conn.transaction().unwrap();
        for id in 1..=OLD_MESSAGES {
            let words = match id {
                1 => "The quokka left early.".to_string(),
                2 => "Früher war alles besser, sagte Großmutter.".to_string(),
                n => format!("Old message number {n}."),
            };
            let raw = format!(
                "Received: by old\r\nFrom: Ann <ann@customer.example>\r\nSubject: Old times\r\n\r\n{words}\r\n"
            );
            txn.execute(
                "INSERT INTO raw_messages (id, data) VALUES (?1, ?2)",
                rusqlite::params![id, raw.as_bytes()],
            )
            .unwrap();
            txn.execute(
                "INSERT INTO messages (id, account_id, queue_id, raw_id, conversation_id, contact_id, dedupe_key, kind,
                     from_email, from_name, subject, text, html, size, envelope_json, received_at)
                 VALUES (?1, 1, 'Q' || ?1, ?1, 1, 1, 'mid:old-' || ?1, 'message', 'ann@customer.example', 'Ann',
                     'Old times', ?2, '<p>' || ?2 || '</p>', ?3, '{}', ?4)",
                rusqlite::params![
                    id,
                    words,
                    raw.len() as i64,
                    format!("2026-11-01T{:02}:{:02}:00Z", id / 60, id % 60)
                ],
            )
            .unwrap();
        }
        txn.execute("UPDATE conversations SET message_count = ?1", [OLD_MESSAGES])
            .unwrap();
        txn.execute("UPDATE messages SET envelope_json = ?1 WHERE id = 1", [OLD_ENVELOPE])
            .unwrap();
        // Its log: the first message's event, and one an erasure redacted.
        txn.execute_batch(&format!(
            "INSERT INTO events (id, type, account_id, created_at, data) VALUES
                 (1, 'message.received', 1, '2026-11-01T00:00:00Z', '{OLD_EVENT}'),
                 (2, 'message.received', 1, '2026-11-01T00:00:01Z', '{{\"redacted\":true}}');"
        ))
        .unwrap();
        txn.commit().unwrap();
    }
    let server = b.set("database.path", path.to_str().unwrap()).start();
    // Read as they are before any conversion.
    let before: Vec<serde_json::Value> = (1..=2)
        .map(|id| server.json(&["messages", "show", &id.to_string()]))
        .collect();
    assert_eq!(before[0]["text"], "The quokka left early.");
    assert_eq!(before[1]["html"], "<p>Früher war alles besser, sagte Großmutter.</p>");
    assert_eq!(before[0]["envelope"]["helo"], "mail.customer.example");
    assert_eq!(before[0]["envelope"]["client_ip"], "192.0.2.7");
    let events_before = server.events(0);
    assert_eq!(
        events_before[0]["data"],
        serde_json::from_str::<serde_json::Value>(OLD_EVENT).unwrap()
    );
    assert_eq!(events_before[1]["data"], serde_json::json!({"redacted": true}));
    let raw_before: Vec<Vec<u8>> = (1..=2)
        .map(|id| server.cli(&["messages", "raw", &id.to_string()]).stdout)
        .collect();
    assert!(String::from_utf8_lossy(&raw_before[0]).contains("quokka"));
    // Converted while the server runs.
    let out = server.cli(&["migrate"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "{OLD_MESSAGES} raw messages compressed, {OLD_MESSAGES} bodies packed, {OLD_MESSAGES} messages indexed, \
             {OLD_MESSAGES} envelopes packed, 1 events packed"
        )),
        "{said}"
    );
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE envelope IS NULL OR envelope_json <> ''"),
        0
    );
    assert_eq!(
        server.count("SELECT count(*) FROM events WHERE packed IS NULL"),
        1,
        "the redacted one"
    );
    assert_eq!(server.events(0), events_before);
    assert_eq!(server.count("SELECT count(*) FROM raw_messages WHERE codec = 0"), 0);
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE text IS NOT NULL OR body IS NULL"),
        0
    );
    for id in 1..=2 {
        assert_eq!(server.json(&["messages", "show", &id.to_string()]), before[id - 1]);
        assert_eq!(
            server.cli(&["messages", "raw", &id.to_string()]).stdout,
            raw_before[id - 1]
        );
    }
    let found = server.json(&["conversations", "list", "--account", "1", "--query", "grossmutter"]);
    assert_eq!(found[0]["match"]["message_id"], 2);
    // The first message and the last were indexed, and every one between (one conversation: its
    // best match is the newest message holding the words).
    let found = server.json(&["conversations", "list", "--account", "1", "--query", "quokka"]);
    assert_eq!(found[0]["match"]["message_id"], 1);
    let last = format!("\"number {OLD_MESSAGES}\"");
    let found = server.json(&["conversations", "list", "--account", "1", "--query", &last]);
    assert_eq!(found[0]["match"]["message_id"], OLD_MESSAGES);
    assert_eq!(
        server.count("SELECT count(*) FROM message_search WHERE message_search MATCH 'body : message'"),
        OLD_MESSAGES - 2
    );
    // A message of this build: its envelope and its event written packed, read back whole.
    let sent = server.send(
        "bob@customer.example",
        &["acme-old0000001@inbox.localhost"],
        "From: bob@customer.example\r\nSubject: New times\r\n\r\nHello.\r\n",
    );
    sent.expect(250, "2.0.0");
    let id = server.message_by_queue_id(&sent.queue_id())[0];
    let shown = server.json(&["messages", "show", &id.to_string()]);
    assert_eq!(shown["envelope"]["mail_from"], "bob@customer.example");
    assert_eq!(
        shown["envelope"]["rcpt_to"],
        serde_json::json!(["acme-old0000001@inbox.localhost"])
    );
    assert_eq!(shown["envelope"]["queue_id"], sent.queue_id());
    assert_eq!(
        server.count(&format!(
            "SELECT count(*) FROM messages WHERE id = {id} AND envelope IS NOT NULL AND envelope_json = ''"
        )),
        1
    );
    let received = server
        .events(0)
        .into_iter()
        .find(|e| e["data"]["message_id"] == id)
        .expect("its event");
    assert_eq!(received["type"], "message.received");
    assert_eq!(received["data"]["from_email"], "bob@customer.example");
    assert_eq!(received["data"]["subject"], "New times");
    assert_eq!(
        server.count(&format!(
            "SELECT count(*) FROM events WHERE id = {} AND packed IS NOT NULL AND data = ''",
            received["id"]
        )),
        1
    );
    // A damaged packed value reads as null; the rest of the log and of the message stand.
    let count = server.events(0).len();
    server.execute("UPDATE events SET packed = x'01deadbeef' WHERE id = 1; UPDATE messages SET envelope = x'01deadbeef' WHERE id = 2");
    let events = server.events(0);
    assert_eq!((events.len(), &events[0]["data"]), (count, &serde_json::Value::Null));
    assert_eq!(events[1]["data"], serde_json::json!({"redacted": true}));
    assert_eq!(events[count - 1]["data"]["subject"], "New times", "the later ones read");
    let shown = server.json(&["messages", "show", "2"]);
    assert_eq!(
        (&shown["envelope"], &shown["html"]),
        (&serde_json::Value::Null, &before[1]["html"])
    );
    // A second run finds nothing left to do.
    let again = server.cli(&["migrate"]);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("compressed"));
}

/// On PostgreSQL a rolling upgrade runs hosts of an older build beside the new ones, and those
/// would read a packed event or envelope as empty: a database that already has events keeps
/// writing them as text until `inboxd migrate --all-hosts-upgraded`, which packs from then on
/// and packs what was written before; every event and envelope reads the same throughout.
#[test]
fn on_postgresql_json_is_packed_once_every_host_runs_this_build() {
    let server = builder_on(Backend::Postgres).start();
    let acme = server.create_account("Acme");
    // As on a database that had events when it was migrated (a new one packs at once).
    assert_eq!(
        server.count("SELECT count(*) FROM settings WHERE name = 'json_packed'"),
        1,
        "a new database packs"
    );
    server.execute("DELETE FROM settings WHERE name = 'json_packed'");
    let mail = |subject: &str| format!("From: ann@customer.example\r\nSubject: {subject}\r\n\r\nHello.\r\n");
    server
        .send("ann@customer.example", &[&acme.address], &mail("Before"))
        .expect(250, "2.0.0");
    assert_eq!(server.count("SELECT count(*) FROM events WHERE packed IS NOT NULL"), 0);
    assert_eq!(
        server.count("SELECT count(*) FROM events WHERE data LIKE '%\"subject\":\"Before\"%'"),
        2,
        "as an older host reads it"
    );
    assert_eq!(
        server.count(
            "SELECT count(*) FROM messages WHERE envelope IS NULL AND envelope_json LIKE '%ann@customer.example%'"
        ),
        1
    );
    let events_before = server.events(0);
    let envelope_before = server.envelopes("true");
    assert_eq!(envelope_before[0]["mail_from"], "ann@customer.example");

    // Without the flag, migrate leaves them and says what to run.
    let out = server.cli(&["migrate"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--all-hosts-upgraded"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.count("SELECT count(*) FROM events WHERE packed IS NOT NULL"), 0);

    let out = server.cli(&["migrate", "--all-hosts-upgraded"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 envelopes packed, 3 events packed"), "{said}");
    assert_eq!(
        server.count("SELECT count(*) FROM events WHERE packed IS NULL OR data <> ''"),
        0
    );
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE envelope IS NULL OR envelope_json <> ''"),
        0
    );
    assert_eq!(server.events(0), events_before);
    assert_eq!(server.envelopes("true"), envelope_before);

    // The running server packs its next message's, in the next transaction.
    server
        .send(
            "bob@customer.example",
            &[&acme.address],
            &mail("After").replace("ann@", "bob@"),
        )
        .expect(250, "2.0.0");
    assert_eq!(
        server.count("SELECT count(*) FROM events WHERE packed IS NULL OR data <> ''"),
        0
    );
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE envelope IS NULL OR envelope_json <> ''"),
        0
    );
    let after: Vec<serde_json::Value> = server.events(0).into_iter().skip(events_before.len()).collect();
    assert!(
        after
            .iter()
            .any(|e| e["type"] == "message.received" && e["data"]["subject"] == "After"),
        "{after:?}"
    );
    assert_eq!(server.envelopes("true")[1]["mail_from"], "bob@customer.example");
}
