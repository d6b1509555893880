//! A database an older build wrote (schema 10: raw bytes kept plain, bodies in `text` and `html`,
//! no search index) is taken up by this one: `serve` reads its rows as they are, and `inboxd
//! migrate` converts them a batch at a time (raw bytes compressed, bodies packed, messages
//! indexed), every message's bytes and text the same afterwards.

mod common;

use common::*;

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
        for (id, words) in [
            (1, "The quokka left early."),
            (2, "Früher war alles besser, sagte Großmutter."),
        ] {
            let raw = format!(
                "Received: by old\r\nFrom: Ann <ann@customer.example>\r\nSubject: Old times\r\n\r\n{words}\r\n"
            );
            conn.execute(
                "INSERT INTO raw_messages (id, data) VALUES (?1, ?2)",
                rusqlite::params![id, raw.as_bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO messages (id, account_id, queue_id, raw_id, conversation_id, contact_id, dedupe_key, kind,
                     from_email, from_name, subject, text, html, size, envelope_json, received_at)
                 VALUES (?1, 1, 'Q' || ?1, ?1, 1, 1, 'mid:old-' || ?1, 'message', 'ann@customer.example', 'Ann',
                     'Old times', ?2, '<p>' || ?2 || '</p>', ?3, '{}', '2026-11-0' || ?1 || 'T00:00:00Z')",
                rusqlite::params![id, words, raw.len() as i64],
            )
            .unwrap();
        }
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
        said.contains("2 raw messages compressed, 2 bodies packed, 2 messages indexed"),
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
    // A second run finds nothing left to do.
    let again = server.cli(&["migrate"]);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("compressed"));
}
