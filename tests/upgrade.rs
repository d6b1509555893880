//! A database an older build wrote (schema 10: raw bytes kept plain, bodies in `text` and `html`,
//! no search index) is taken up by this one: `serve` reads its rows as they are, and `inboxd
//! migrate` converts them a batch at a time (raw bytes compressed, bodies packed, messages
//! indexed), every message's bytes and text the same afterwards.

mod common;

use common::*;

/// Messages the older build wrote.
const OLD_MESSAGES: i64 = 450;

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
        txn.commit().unwrap();
    }
    let server = b.set("database.path", path.to_str().unwrap()).start();
    // Read as they are before any conversion.
    let before: Vec<serde_json::Value> = (1..=2)
        .map(|id| server.json(&["messages", "show", &id.to_string()]))
        .collect();
    assert_eq!(before[0]["text"], "The quokka left early.");
    assert_eq!(before[1]["html"], "<p>Früher war alles besser, sagte Großmutter.</p>");
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
            "{OLD_MESSAGES} raw messages compressed, {OLD_MESSAGES} bodies packed, {OLD_MESSAGES} messages indexed"
        )),
        "{said}"
    );
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
    // A second run finds nothing left to do.
    let again = server.cli(&["migrate"]);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("compressed"));
}
