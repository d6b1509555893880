//! The data's life, over SMTP, the HTTP API and the CLI on both engines: a contact erased with
//! everything of it (lists, search, raw bytes, events redacted with no gap, the erasure log, no
//! trace in SQLite's files), all or nothing across a SIGKILL; a contact exported (every `.eml`
//! the bytes `messages raw` gives); retention deleting exactly the conversations past it; an
//! account deleted leaving no row of it in any table.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn call(http: SocketAddr, method: &str, path: &str, key: &str, body: &str) -> (u16, Value) {
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {key}"))];
    if !body.is_empty() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let answer = http::request(http, method, path, &headers, body);
    (answer.code, answer.json())
}

/// A GET whose body is bytes (the export's zip): status, Content-Type and body.
fn get_bytes(http: SocketAddr, path: &str, key: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).to_string();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-type: ")
                .or_else(|| l.strip_prefix("Content-Type: "))
        })
        .unwrap_or_default()
        .to_string();
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
        "{head}"
    );
    (code, content_type, all[split + 4..].to_vec())
}

fn mail(from: &str, subject: &str, body: &str) -> String {
    message(&[("From", from), ("Subject", subject)], body)
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Whether any of the database's files (the main file and its WAL) hold `needle`.
fn files_hold(server: &Server, needle: &str) -> bool {
    let wal = std::path::PathBuf::from(format!("{}-wal", server.db_path.display()));
    [server.db_path.clone(), wal]
        .iter()
        .any(|path| std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes())))
}

on_both_backends! {
    fn an_erased_contact_leaves_nothing_behind_and_the_log_keeps_its_ids(backend: Backend) {
        let server = builder_on(backend)
            .set("http.listen", "127.0.0.1:0")
            .set("webhooks.allow_private", true)
            .start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let (_, key) = server.api_key("dpo-tool", Some(acme.id));
        // An endpoint nothing answers: its deliveries stay pending (and hold the address).
        let (code, body) = call(http, "POST", "/v1/webhooks", &key, r#"{"url": "http://127.0.0.1:9/hook"}"#);
        assert_eq!(code, 201, "{body}");
        ok(&server.cli(&["members", "add", &acme.id.to_string(), "agent@agency.example"]));
        ok(&server.cli(&[
            "register-sent", &acme.id.to_string(), "--message-id", "<campaign-1@platform.example>",
            "--contact", "jane@customer.example",
        ]));
        // Jane: two direct messages, one forwarded by an agent, one delivery shared with Globex, and
        // one of them moved to the quarantine. Bob is the control.
        let jane = "jane@customer.example";
        server.send(jane, &[&acme.address], &mail(jane, "Zanzibarquux chairs", "Forty chairs, please, quibblefrotz.")).expect(250, "2.0.0");
        server.send(jane, &[&acme.address], &mail(jane, "Delivery date", "When can you deliver to Lyon?")).expect(250, "2.0.0");
        let forward = "From: Agent <agent@agency.example>\r\nSubject: Fwd: Invoice\r\n\r\nPlease handle.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Jane <jane@customer.example>\r\nDate: Tue, 24 Nov 2026\r\nSubject: Invoice\r\nTo: <agent@agency.example>\r\n\r\nPlease send the invoice again.\r\n";
        server.send("agent@agency.example", &[&acme.address], forward).expect(250, "2.0.0");
        let shared = server.send(jane, &[&acme.address, &globex.address], &mail(jane, "To both of you", "Hello both."));
        shared.expect(250, "2.0.0");
        let shared_ids = server.message_by_queue_id(&shared.queue_id());
        let spam = server.send(jane, &[&acme.address], &mail(jane, "Cheap watches", "Buy now."));
        let spam_id = server.message_by_queue_id(&spam.queue_id())[0];
        ok(&server.cli(&["messages", "mark-spam", &spam_id.to_string()]));
        server.send("bob@other.example", &[&acme.address], &mail("bob@other.example", "Zanzibarquux too", "Bob here.")).expect(250, "2.0.0");

        let contact = server.json(&["contacts", "show", "--account", &acme.id.to_string(), jane]);
        let jane_id = contact["id"].as_i64().unwrap();
        let jane_messages: Vec<i64> = server
            .texts(&format!("SELECT CAST(id AS TEXT) FROM messages WHERE contact_id = {jane_id} ORDER BY id"))
            .iter()
            .map(|id| id.parse().unwrap())
            .collect();
        assert_eq!(jane_messages.len(), 4, "two direct, the forward she wrote, the shared one");
        let globex_raw = ok(&server.cli(&["messages", "raw", &shared_ids[1].to_string()])).stdout.clone();
        assert!(
            eventually(Duration::from_secs(10), || server.count(
                "SELECT count(*) FROM webhook_deliveries WHERE payload LIKE '%jane@customer.example%'") > 0),
            "deliveries about her are pending before the erasure"
        );
        let events_before: Vec<i64> = server.events(0).iter().map(|e| e["id"].as_i64().unwrap()).collect();
        let about_jane = events_before.len();
        if backend == Backend::Sqlite {
            assert!(files_hold(&server, jane), "the address is in the files before: the check can fail");
            assert!(files_hold(&server, "Zanzibarquux chairs"), "so is the subject");
            // A word of her text only: the message's body is compressed, the search index holds
            // the word (its end, whatever prefix it shares with the word before it in the index).
            assert!(files_hold(&server, "lefrotz"), "the search index holds her words");
        }

        // Erase over HTTP with the account's key.
        let path = format!("/v1/accounts/{}/contacts/{}", acme.id, encode(jane));
        let (code, answer) = call(http, "DELETE", &path, &key, "");
        assert_eq!(code, 200, "{answer}");
        assert_eq!(
            answer["erased"],
            serde_json::json!({"contact_id": jane_id, "messages": 4, "conversations": 4, "quarantined": 1})
        );
        let (code, again) = call(http, "DELETE", &path, &key, "");
        assert_eq!((code, again["error"]["code"].as_str()), (404, Some("not_found")), "{again}");
        let out = server.cli(&["contacts", "erase", "--account", &acme.id.to_string(), jane]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no contact jane@customer.example"));

        // Nothing of her in any list, search, raw download or table; Bob's and Globex's intact.
        let (code, _) = call(http, "GET", &path, &key, "");
        assert_eq!(code, 404);
        let contacts: Vec<String> = server.contacts(acme.id).iter().map(|c| c["email"].as_str().unwrap().to_string()).collect();
        assert_eq!(contacts, ["bob@other.example"]);
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 1, "{conversations:?}");
        let (_, found) = call(http, "GET", &format!("/v1/accounts/{}/conversations?q=zanzibarquux", acme.id), &key, "");
        assert_eq!(found["data"].as_array().unwrap().len(), 1, "only Bob's matches: {found}");
        let (_, found) = call(http, "GET", &format!("/v1/accounts/{}/conversations?q=jane", acme.id), &key, "");
        assert_eq!(found["data"].as_array().unwrap().len(), 0, "{found}");
        for id in jane_messages.iter().chain([&spam_id]) {
            let (code, _) = call(http, "GET", &format!("/v1/messages/{id}/raw"), &key, "");
            assert_eq!(code, 404, "message {id}");
        }
        assert_eq!(ok(&server.cli(&["messages", "raw", &shared_ids[1].to_string()])).stdout, globex_raw);
        assert_eq!(server.contacts(globex.id).len(), 1, "Globex's Jane is Globex's: not erased");
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE account_id = {} AND lower(from_email) = '{jane}'", acme.id)), 0);
        assert_eq!(server.count(&format!("SELECT count(*) FROM conversations WHERE contact_id = {jane_id}")), 0);
        assert_eq!(server.count(&format!("SELECT count(*) FROM sent_messages WHERE account_id = {}", acme.id)), 0);
        assert_eq!(server.count(&format!("SELECT count(*) FROM events WHERE contact_id = {jane_id}")), 1, "only contact.erased");
        assert_eq!(
            server.count("SELECT count(*) FROM webhook_deliveries WHERE payload LIKE '%jane@%' OR payload LIKE '%Zanzibarquux chairs%'"),
            0,
            "no delivery about her is left"
        );
        assert!(server.count("SELECT count(*) FROM webhook_deliveries WHERE payload LIKE '%bob@other.example%'") > 0, "Bob's stay");

        // Globex's Jane is erased too (from the CLI): the shared bytes go with the last message.
        let out = ok(&server.cli(&["contacts", "erase", "--account", &globex.id.to_string(), jane])).stdout.clone();
        let globex_erased: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(globex_erased["erased"]["messages"], 1, "{globex_erased}");
        assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 1, "only Bob's bytes are left");

        // The log: every id still there, hers redacted, and contact.erased with counts, no address.
        let events = server.events(0);
        let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert_eq!(&ids[..about_jane], &events_before[..], "no gap for a follower");
        let redacted = events.iter().filter(|e| e["data"] == serde_json::json!({"redacted": true})).count();
        assert!(redacted >= 12, "{events:?}");
        for e in &events {
            let text = e.to_string();
            assert!(!text.contains("jane@") && !text.contains("Zanzibarquux chairs"), "an event still holds her: {text}");
        }
        let erased = events.iter().find(|e| e["type"] == "contact.erased").unwrap();
        assert_eq!(erased["data"]["contact_id"], jane_id);
        assert_eq!(erased["data"]["messages"], 4);
        assert_eq!(erased["account_id"], acme.id);

        // The erasure log: who asked, a hash that answers "was jane erased?", never the address.
        let log = server.json(&["erasures", "list", "--account", &acme.id.to_string()]);
        assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
        assert_eq!(log[0]["requested_by"], "api:dpo-tool");
        assert_eq!(log[0]["status"], "done");
        assert_eq!(log[0]["quarantined"], 1);
        let all = server.json(&["erasures", "list"]);
        assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
        assert_eq!(all[0]["requested_by"], "cli");
        assert!(!all.to_string().contains("jane"), "{all}");
        let asked = server.json(&["erasures", "list", "--email", "JANE@customer.example"]);
        assert_eq!(asked.as_array().unwrap().len(), 2, "the hash is of the address, in any case");
        let other = server.json(&["erasures", "list", "--email", "bob@other.example"]);
        assert_eq!(other.as_array().unwrap().len(), 0);

        // No trace on disk (SQLite): the address and her subject are gone from the file and the WAL.
        if backend == Backend::Sqlite {
            assert!(!files_hold(&server, jane), "the address is still in the database's files");
            assert!(!files_hold(&server, "Zanzibarquux chairs"), "her subject is still in the files");
            assert!(!files_hold(&server, "lefrotz"), "her words are still in the search index");
        }

        // She writes again: a new contact, not opt-in.
        server.send(jane, &[&acme.address], &mail(jane, "Hello again", "Me again.")).expect(250, "2.0.0");
        let again = server.json(&["contacts", "show", "--account", &acme.id.to_string(), jane]);
        assert_ne!(again["id"].as_i64().unwrap(), jane_id);
        assert_eq!(again["opt_in"], false);
        assert_eq!(again["lists"], serde_json::json!([]));
    }

    fn an_export_holds_the_contact_its_conversations_and_every_message_as_received(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", None);
        let jane = "jane@customer.example";
        for n in 0..5 {
            let subject = if n % 2 == 0 { "Chairs".to_string() } else { format!("Question {n}") };
            server.send(jane, &[&acme.address], &mail(jane, &subject, &format!("Message {n}: é ü 日本"))).expect(250, "2.0.0");
        }
        server.send("bob@other.example", &[&acme.address], &mail("bob@other.example", "Bob", "Not hers.")).expect(250, "2.0.0");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jane.zip");
        let out = ok(&server.cli(&[
            "contacts", "export", "--account", &acme.id.to_string(), jane, "--output", file.to_str().unwrap(),
        ]))
        .stdout
        .clone();
        let done: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(done["messages"], 5, "{done}");
        let (code, content_type, zipped) = get_bytes(
            http,
            &format!("/v1/accounts/{}/contacts/{}/export", acme.id, encode(jane)),
            &key,
        );
        assert_eq!((code, content_type.as_str()), (200, "application/zip"));
        for bytes in [std::fs::read(&file).unwrap(), zipped] {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            let mut json = String::new();
            zip.by_name("contact.json").unwrap().read_to_string(&mut json).unwrap();
            let json: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(json["contact"]["email"], jane);
            let conversations = json["conversations"].as_array().unwrap();
            let messages: Vec<i64> = conversations
                .iter()
                .flat_map(|c| c["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()))
                .collect();
            assert_eq!(messages.len(), 5, "{json}");
            assert!(conversations.iter().all(|c| c["subject"].is_string() && c["contact_id"] == json["contact"]["id"]));
            let names: BTreeSet<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
            let expected: BTreeSet<String> = std::iter::once("contact.json".to_string())
                .chain(messages.iter().map(|id| format!("messages/{id}.eml")))
                .collect();
            assert_eq!(names, expected);
            for id in messages {
                let mut eml = Vec::new();
                zip.by_name(&format!("messages/{id}.eml")).unwrap().read_to_end(&mut eml).unwrap();
                assert_eq!(eml, ok(&server.cli(&["messages", "raw", &id.to_string()])).stdout, "message {id}");
            }
        }
        let (code, body) = call(http, "GET", &format!("/v1/accounts/{}/contacts/nobody%40x.example/export", acme.id), &key, "");
        assert_eq!(code, 404, "{body}");
        let out = server.cli(&["contacts", "export", "--account", &acme.id.to_string(), "nobody@x.example", "--output", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
    }

    fn retention_deletes_exactly_the_conversations_past_it(backend: Backend) {
        let mut server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let keep = server.create_account("Keep");
        let (_, key) = server.api_key("platform", None);
        let (code, body) = call(http, "POST", &format!("/v1/accounts/{}/retention", acme.id), &key, r#"{"days": 30}"#);
        assert_eq!((code, body["retention_days"].as_i64()), (200, Some(30)), "{body}");
        let (code, body) = call(http, "POST", &format!("/v1/accounts/{}/retention", acme.id), &key, r#"{"days": -1}"#);
        assert_eq!(code, 422, "{body}");
        let show = String::from_utf8(ok(&server.cli(&["accounts", "show", &acme.id.to_string()])).stdout.clone()).unwrap();
        assert!(show.contains("retention: 30 days (the account's)"), "{show}");
        let show = String::from_utf8(ok(&server.cli(&["accounts", "show", &keep.id.to_string()])).stdout.clone()).unwrap();
        assert!(show.contains("retention: forever (the server's default)"), "{show}");
        for account in [&acme, &keep] {
            for n in 0..6 {
                let from = format!("p{n}@customer.example");
                server.send(&from, &[&account.address], &mail(&from, &format!("Old question {n}"), "Hello")).expect(250, "2.0.0");
            }
        }
        // Half of each account's conversations (and their messages) are made 40 days old.
        let old = "2020-01-01T00:00:00Z";
        for account in [acme.id, keep.id] {
            server.execute(&format!(
                "UPDATE messages SET received_at = '{old}' WHERE conversation_id IN
                   (SELECT id FROM conversations WHERE account_id = {account} AND subject LIKE 'Old question _' AND
                    CAST(substr(subject, 14, 1) AS INTEGER) < 3);
                 UPDATE conversations SET last_message_at = '{old}' WHERE account_id = {account} AND
                    CAST(substr(subject, 14, 1) AS INTEGER) < 3;"
            ));
        }
        let aged: Vec<String> = server.texts(&format!(
            "SELECT CAST(id AS TEXT) FROM conversations WHERE account_id = {} AND last_message_at = '{old}' ORDER BY id",
            acme.id
        ));
        assert_eq!(aged.len(), 3);
        let aged_messages = server.count(&format!(
            "SELECT count(*) FROM messages WHERE account_id = {} AND received_at = '{old}'",
            acme.id
        ));
        assert_eq!(aged_messages, 3);
        // The purge runs at start (and hourly): restart, and mail keeps arriving meanwhile.
        server.restart();
        let http = server.http_addr.unwrap();
        server.send("new@customer.example", &[&acme.address], &mail("new@customer.example", "New", "Hi")).expect(250, "2.0.0");
        assert!(
            eventually(Duration::from_secs(20), || server.count(&format!(
                "SELECT count(*) FROM conversations WHERE account_id = {}", acme.id)) == 4),
            "the three old conversations go: {:?}", server.conversations(acme.id)
        );
        let left: BTreeSet<String> = server.conversations(acme.id).iter().map(|c| c["subject"].as_str().unwrap().to_string()).collect();
        assert_eq!(left, ["New", "Old question 3", "Old question 4", "Old question 5"].map(String::from).into());
        assert_eq!(server.conversations(keep.id).len(), 6, "an account kept forever keeps its old mail");
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE received_at = '{old}' AND account_id = {}", acme.id)), 0);
        let deleted: Vec<Value> = server.events(0).into_iter().filter(|e| e["type"] == "conversation.deleted").collect();
        let deleted_ids: BTreeSet<String> = deleted.iter().map(|e| e["data"]["conversation_id"].to_string()).collect();
        assert_eq!(deleted_ids, aged.iter().cloned().collect());
        assert!(deleted.iter().all(|e| e["data"]["reason"] == "retention"));
        let events = server.events(0);
        assert!(
            events.iter().any(|e| e["type"] == "message.received" && e["data"]["conversation_id"].is_i64()),
            "the log names conversations: the check below can fail"
        );
        for conversation in &aged {
            let about = events
                .iter()
                .filter(|e| e["type"] != "conversation.deleted" && e["data"]["conversation_id"].as_i64() == conversation.parse().ok())
                .count();
            assert_eq!(about, 0, "the events of conversation {conversation} are redacted");
        }
        let (code, _) = call(http, "GET", "/v1/accounts", &key, "");
        assert_eq!(code, 200);
        let set = ok(&server.cli(&["accounts", "set-retention", &acme.id.to_string(), "default", "--json"])).stdout.clone();
        assert_eq!(serde_json::from_slice::<Value>(&set).unwrap()["retention_days"], Value::Null);
    }

    fn a_deleted_account_leaves_no_row_in_any_table(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").set("webhooks.allow_private", true).start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let other = server.create_account("Other");
        let (_, platform) = server.api_key("platform", None);
        let (_, own) = server.api_key("acme-app", Some(acme.id));
        let id = acme.id.to_string();
        ok(&server.cli(&["members", "add", &id, "agent@agency.example"]));
        ok(&server.cli(&["accounts", "block", &id, "spammer.example"]));
        ok(&server.cli(&["register-sent", &id, "--message-id", "<m1@platform.example>", "--contact", "jane@customer.example"]));
        ok(&server.cli(&["accounts", "rotate-address", &id]));
        let rotated = server.json(&["accounts", "show", &id])["address"].as_str().unwrap().to_string();
        let (code, body) = call(http, "POST", "/v1/webhooks", &own, r#"{"url": "http://127.0.0.1:9/hook"}"#);
        assert_eq!(code, 201, "{body}");
        let reply = server.json(&["reply-address", &id, "--contact", "jane@customer.example"]);
        let reply_address = reply["address"].as_str().unwrap().to_string();
        for n in 0..3 {
            let from = format!("p{n}@customer.example");
            server.send(&from, &[&rotated, &other.address], &mail(&from, "Hello", "Hi")).expect(250, "2.0.0");
        }
        let spam = server.send("x@customer.example", &[&rotated], &mail("x@customer.example", "Spam", "Buy"));
        ok(&server.cli(&["messages", "mark-spam", &server.message_by_queue_id(&spam.queue_id())[0].to_string()]));

        let (code, body) = call(http, "DELETE", &format!("/v1/accounts/{id}"), &own, "");
        assert_eq!(code, 403, "an account key may not: {body}");
        let (code, body) = call(http, "DELETE", &format!("/v1/accounts/{id}"), &platform, "");
        assert_eq!((code, body["error"]["code"].as_str()), (409, Some("account_enabled")), "{body}");
        let out = server.cli(&["accounts", "delete", &id]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--yes"));
        ok(&server.cli(&["accounts", "disable", &id]));
        let (code, body) = call(http, "DELETE", &format!("/v1/accounts/{id}"), &platform, "");
        assert_eq!((code, body["deleted"].as_i64()), (200, Some(acme.id)), "{body}");

        // Every table: no row of the account (the event log keeps its ids, redacted).
        let tables = match backend {
            Backend::Sqlite => server.texts("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'message_search%'"),
            Backend::Postgres => server.texts("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"),
        };
        assert!(tables.len() > 15, "{tables:?}");
        let contacts_left = server.count("SELECT count(*) FROM contacts");
        for table in &tables {
            let columns = match backend {
                Backend::Sqlite => server.texts(&format!("SELECT name FROM pragma_table_info('{table}')")),
                Backend::Postgres => server.texts(&format!("SELECT column_name::text FROM information_schema.columns WHERE table_name = '{table}' AND table_schema = current_schema()")),
            };
            if table == "events" {
                let kept = server.count(&format!("SELECT count(*) FROM events WHERE account_id = {id} AND data <> '{{\"redacted\":true}}'"));
                assert_eq!(kept, 1, "only account.deleted keeps its data");
                continue;
            }
            if columns.iter().any(|c| c == "account_id") {
                assert_eq!(server.count(&format!("SELECT count(*) FROM {table} WHERE account_id = {id}")), 0, "{table}");
            }
            if table == "accounts" {
                assert_eq!(server.count(&format!("SELECT count(*) FROM accounts WHERE id = {id}")), 0);
            }
        }
        assert_eq!(server.count("SELECT count(*) FROM web_sessions"), 0);
        assert_eq!(contacts_left, 3, "the other account's contacts stay");
        assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 3, "the shared deliveries stay for the other account");
        let last = server.events(0).into_iter().rfind(|e| e["account_id"] == acme.id).unwrap();
        assert_eq!(last["type"], "account.deleted");
        // Its addresses stay retired and route nowhere; its keys and reply addresses are dead.
        server.settle();
        assert_eq!(server.count("SELECT count(*) FROM deleted_addresses"), 2);
        for to in [&acme.address, &rotated, &reply_address] {
            let mut c = server.connect();
            c.ehlo();
            c.cmd("MAIL FROM:<p0@customer.example>").expect(250, "2.1.0");
            let r = c.cmd(&format!("RCPT TO:<{to}>"));
            assert!(r.code >= 500, "{to}: {r:?}");
        }
        let (code, _) = call(http, "GET", "/v1/accounts", &own, "");
        assert_eq!(code, 401, "its keys are gone");
        assert_eq!(server.conversations(other.id).len(), 3);
        let (code, _) = call(http, "DELETE", &format!("/v1/accounts/{id}"), &platform, "");
        assert_eq!(code, 404);
    }

    fn an_erasure_killed_half_way_is_finished_at_the_next_start(backend: Backend) {
        let mut server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("dpo", None);
        let jane = "jane@customer.example";
        const TOTAL: usize = 10_000;
        const THREADS: usize = 32;
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let server = &server;
                let address = acme.address.clone();
                s.spawn(move || {
                    let mut c = server.connect();
                    c.ehlo();
                    for n in (t..TOTAL).step_by(THREADS) {
                        let subject = if n % 10 == 0 { format!("Topic {n}") } else { format!("Re: Topic {}", n - n % 10) };
                        let reply = c.transaction(jane, &[&address], mail(jane, &subject, &format!("Note {n}")).as_bytes());
                        assert_eq!(reply.code, 250, "{reply:?}");
                    }
                });
            }
        });
        let contact = server.json(&["contacts", "show", "--account", &acme.id.to_string(), jane])["id"].as_i64().unwrap();
        let http = server.http_addr.unwrap();
        let path = format!("/v1/accounts/{}/contacts/{}", acme.id, encode(jane));
        let request = std::thread::spawn({
            let key = key.clone();
            move || http::request(http, "DELETE", &path, &[("Authorization", &format!("Bearer {key}"))], "").code
        });
        // Mail from her keeps coming while the erasure runs; kill the server half way.
        let mut during = 0;
        let killed_at = loop {
            let done = server.count("SELECT coalesce(max(messages), 0) FROM erasures");
            if done >= 2_000 {
                break done;
            }
            if server.count("SELECT count(*) FROM erasures") == 1 {
                let body = format!("During the erasure, {during}");
                server.send(jane, &[&acme.address], &mail(jane, "Still there?", &body)).expect(250, "2.0.0");
                during += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        server.kill();
        let _ = request.join();
        assert!(killed_at < TOTAL as i64, "killed before the end: {killed_at}");
        assert_eq!(server.count("SELECT count(*) FROM erasures WHERE status = 'running'"), 1);
        server.restart();
        assert!(
            eventually(Duration::from_secs(120), || server.count("SELECT count(*) FROM erasures WHERE status = 'done'") == 1),
            "the erasure is finished after the restart"
        );
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE contact_id = {contact}")), 0);
        assert_eq!(server.count(&format!("SELECT count(*) FROM contacts WHERE id = {contact}")), 0);
        assert_eq!(server.count("SELECT messages FROM erasures"), TOTAL as i64, "each message counted once across the kill");
        // Mail that came meanwhile filed a new contact, whole: never half of each.
        let left = server.count(&format!("SELECT count(*) FROM messages WHERE account_id = {}", acme.id));
        assert_eq!(left, during, "what came during the erasure is kept, as a new contact's");
        if left > 0 {
            let new = server.json(&["contacts", "show", "--account", &acme.id.to_string(), jane])["id"].as_i64().unwrap();
            assert_ne!(new, contact);
            assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE contact_id = {new}")), left);
        }
        assert_eq!(server.count(&format!("SELECT count(*) FROM events WHERE contact_id = {contact} AND type <> 'contact.erased'")), 0);
    }
}

/// A purge that deletes most of the search index rewrites it as it goes (a merge step otherwise
/// reads every deleted entry under the write lock): the words of the purged mail leave the files,
/// the mail that stays is still found.
#[test]
fn a_purge_of_most_of_the_index_rewrites_it_as_it_goes_and_leaves_no_word() {
    let mut server = builder_on(Backend::Sqlite).set("http.listen", "127.0.0.1:0").start();
    let acme = server.create_account("Acme");
    let (_, key) = server.api_key("platform", None);
    let mut c = server.connect();
    c.ehlo();
    for n in 0..130 {
        let from = format!("p{n}@customer.example");
        let (subject, body) = if n < 120 {
            ("Old", "A vexwhortle question.")
        } else {
            ("Recent", "A plumbrook question.")
        };
        c.transaction(
            &from,
            &[&acme.address],
            mail(&from, &format!("{subject} {n}"), body).as_bytes(),
        )
        .expect(250, "2.0.0");
    }
    c.quit();
    let old = "2020-01-01T00:00:00Z";
    server.execute(&format!(
        "UPDATE messages SET received_at = '{old}' WHERE subject LIKE 'Old %';
         UPDATE conversations SET last_message_at = '{old}' WHERE subject LIKE 'Old %';"
    ));
    server.settle();
    assert!(
        files_hold(&server, "xwhortle"),
        "the index holds the old mail's word before: the check can fail"
    );
    let (code, body) = call(
        server.http_addr.unwrap(),
        "POST",
        &format!("/v1/accounts/{}/retention", acme.id),
        &key,
        r#"{"days": 30}"#,
    );
    assert_eq!(code, 200, "{body}");

    server.restart();
    let scrubbed = |server: &Server| {
        server
            .logs()
            .iter()
            .any(|l| l.contains("deleted mail scrubbed from the files"))
    };
    assert!(
        eventually(Duration::from_secs(30), || scrubbed(&server)),
        "the purge ends with the scrub: {:?}",
        server.logs()
    );
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE subject LIKE 'Old %'"),
        0
    );
    let rewrites = server
        .logs()
        .iter()
        .filter(|l| l.contains("search index rewritten during a deletion"))
        .count();
    assert!(
        rewrites >= 2,
        "120 of 130 entries deleted: rewritten once half were gone, and again: {:?}",
        server.logs()
    );
    assert!(
        !files_hold(&server, "xwhortle"),
        "the purged mail's word is still in the files"
    );
    let http = server.http_addr.unwrap();
    let (code, found) = call(
        http,
        "GET",
        &format!("/v1/accounts/{}/conversations?q=plumbrook&limit=50", acme.id),
        &key,
        "",
    );
    assert_eq!(code, 200, "{found}");
    assert_eq!(found["data"].as_array().map(Vec::len), Some(10), "{found}");
    let (_, found) = call(
        http,
        "GET",
        &format!("/v1/accounts/{}/conversations?q=vexwhortle", acme.id),
        &key,
        "",
    );
    assert_eq!(found["data"].as_array().map(Vec::len), Some(0), "{found}");
}
