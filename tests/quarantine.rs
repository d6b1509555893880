//! People's decisions on spam through a real `inboxd` and a real rspamd (its controller learning
//! into a Redis of the test's own): a release files a quarantined message once, with its contact
//! and `contact.created` then; mark-spam teaches rspamd and undoes the contact only that message
//! made (`contact.deleted`); mark-ham teaches rspamd and releases; old quarantined mail is purged;
//! the HTTP door makes the same decisions.

mod common;

use common::rspamd::{GTUBE_ADD_HEADER, Rspamd};
use common::*;
use serde_json::Value;
use std::time::Duration;

fn mail(from: &str, subject: &str, message_id: &str, body: &str) -> String {
    message(
        &[
            ("From", from),
            ("To", "inbox@inbox.localhost"),
            ("Subject", subject),
            ("Message-ID", message_id),
        ],
        body,
    )
}

/// The command's stderr, after checking it succeeded.
fn ok(server: &Server, args: &[&str]) -> String {
    let out = server.cli(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Words enough for rspamd's Bayes classifier to learn from (it needs a few tokens).
fn prose(seed: &str) -> String {
    (0..30)
        .map(|i| format!("{seed} paragraph {i} talks about invoices shipping schedules and quarterly pricing"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

on_both_backends! {
    fn a_release_files_the_message_once_and_makes_its_contact_then(backend: Backend) {
        let rspamd = Rspamd::start();
        let server = builder_on(backend).set("spam.rspamd_url", rspamd.url()).start();
        let acme = server.create_account("Acme");
        let reply = server.send(
            "ann@customer.example",
            &[&acme.address],
            &mail("Ann <ann@customer.example>", "Our order", "<order-1@customer.example>", GTUBE_ADD_HEADER),
        );
        assert_eq!(reply.code, 250);
        let id = server.json(&["quarantine", "list", "--account", &acme.id.to_string()])[0]["id"].as_i64().unwrap();
        assert_eq!(server.contacts(acme.id).len(), 0);
        assert_eq!(server.event_types(), ["message.quarantined"]);

        let said = ok(&server, &["quarantine", "release", &id.to_string()]);
        assert!(said.contains("released: filed as message"), "{said}");
        let contacts = server.contacts(acme.id);
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0]["email"], "ann@customer.example");
        assert_eq!(contacts[0]["opt_in"], false);
        assert_eq!(contacts[0]["lists"], serde_json::json!([]));
        let types = server.event_types();
        assert_eq!(types, ["message.quarantined", "contact.created", "conversation.created", "message.received"]);
        let events = server.events(0);
        assert_eq!(events[1]["data"]["automation"], false);
        let new_id = events[3]["data"]["message_id"].as_i64().unwrap();
        assert_eq!(events[3]["data"]["released_from"], id);
        let filed = server.json(&["messages", "show", &new_id.to_string()]);
        assert_eq!(filed["kind"], "message");
        assert_eq!(filed["spam"]["action"], "add header", "the verdict stays on record");
        assert!(filed["conversation_id"].is_i64());
        assert_eq!(server.count("SELECT count(*) FROM messages"), 1, "the quarantined row gave way");
        assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 1, "its bytes were kept, not copied");
        assert_eq!(server.json(&["quarantine", "list", "--account", &acme.id.to_string()]), serde_json::json!([]));

        // Twice: exit 0, and nothing more happens.
        let said = ok(&server, &["quarantine", "release", &id.to_string()]);
        assert!(said.contains("already released") && said.contains(&new_id.to_string()), "{said}");
        assert_eq!(server.event_types().len(), 4);
        assert_eq!(server.contacts(acme.id).len(), 1);
        // A filed message is not released; an unknown one is an error.
        let out = server.cli(&["quarantine", "release", &new_id.to_string()]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("not in the quarantine"), "{out:?}");
        assert!(!server.cli(&["quarantine", "release", "424242"]).status.success());

        // Threading as usual: Ann's next message joins the released one's conversation.
        let reply = message(
            &[
                ("From", "ann@customer.example"),
                ("To", "inbox@inbox.localhost"),
                ("Subject", "Re: Our order"),
                ("In-Reply-To", "<order-1@customer.example>"),
            ],
            "Any news?",
        );
        assert_eq!(server.send("ann@customer.example", &[&acme.address], &reply).code, 250);
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 1);
        assert_eq!(conversations[0]["message_count"], 2);
    }

    fn mark_spam_and_mark_ham_teach_rspamd_and_move_the_message(backend: Backend) {
        let rspamd = Rspamd::start_learning();
        let builder = builder_on(backend)
            .set("spam.rspamd_url", rspamd.url())
            .set("spam.controller_url", rspamd.controller_url());
        let password = builder.dir().join("controller.password");
        std::fs::write(&password, format!("{}\n", rspamd.password)).unwrap();
        let server = builder.set("spam.controller_password_file", password.display().to_string()).start();
        let said = ok(&server, &["check-config"]);
        assert!(said.contains(&format!("mark-spam/mark-ham teach its controller at {}", rspamd.controller_url())), "{said}");
        assert!(said.contains("quarantine kept 30 days"), "{said}");
        let acme = server.create_account("Acme");
        let send = |from: &str, n: u32| {
            let m = mail(from, &format!("Offer {n}"), &format!("<offer-{n}@x.example>"), &prose(&format!("offer{n}")));
            assert_eq!(server.send(from, &[&acme.address], &m).code, 250);
        };
        send("bob@seller.example", 1);
        send("carol@client.example", 2);
        send("carol@client.example", 3);
        let message_of = |n: u32| server.count(&format!("SELECT id FROM messages WHERE message_id = 'offer-{n}@x.example'"));
        let (bob, carol) = (message_of(1), message_of(2));
        assert_eq!(rspamd.learned(), 0);

        // Bob's only message: learned, quarantined, and the contact it made is gone.
        let said = ok(&server, &["messages", "mark-spam", &bob.to_string()]);
        assert!(said.contains("rspamd learned"), "{said}");
        assert!(said.contains("which only it had made, deleted"), "{said}");
        assert_eq!(rspamd.learned(), 1);
        let shown = server.json(&["messages", "show", &bob.to_string()]);
        assert_eq!((shown["kind"].as_str(), &shown["contact_id"], &shown["conversation_id"]), (Some("spam"), &Value::Null, &Value::Null));
        let emails: Vec<Value> = server.contacts(acme.id).iter().map(|c| c["email"].clone()).collect();
        assert_eq!(emails, ["carol@client.example"]);
        assert_eq!(server.conversations(acme.id).len(), 2, "Bob's conversation went with him");
        let events = server.events(0);
        let deleted: Vec<&Value> = events.iter().filter(|e| e["type"] == "contact.deleted").collect();
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0]["data"]["email"], "bob@seller.example");
        assert!(events.iter().any(|e| e["type"] == "message.quarantined" && e["data"]["message_id"] == bob));

        // One of Carol's two: she stays, with the other message.
        let said = ok(&server, &["messages", "mark-spam", &carol.to_string()]);
        assert!(!said.contains("deleted"), "{said}");
        assert_eq!(server.contacts(acme.id).len(), 1);
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 1, "the conversation it alone was in went with it");
        assert_eq!(conversations[0]["message_count"], 1);
        assert_eq!(server.events(0).iter().filter(|e| e["type"] == "conversation.deleted").count(), 2);
        assert_eq!(rspamd.learned(), 2);
        let said = ok(&server, &["messages", "mark-spam", &carol.to_string()]);
        assert!(said.contains("already learned") && said.contains("already in the quarantine"), "{said}");

        // mark-ham: rspamd relearns it, and the quarantined message is released with its contact.
        let said = ok(&server, &["messages", "mark-ham", &bob.to_string()]);
        assert!(said.contains("rspamd learned") && said.contains("released: filed as message"), "{said}");
        assert_eq!(rspamd.learned(), 3);
        assert_eq!(server.contacts(acme.id).len(), 2);
        let created: Vec<Value> = server.events(0).into_iter().filter(|e| e["type"] == "contact.created").collect();
        assert_eq!(created.last().unwrap()["data"]["email"], "bob@seller.example");

        // rspamd's controller away: the command fails and nothing moves.
        drop(rspamd);
        let out = server.cli(&["messages", "mark-spam", &message_of(3).to_string()]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"), "{out:?}");
        assert_eq!(server.count("SELECT count(*) FROM messages WHERE kind = 'spam'"), 1, "Carol's second only");
    }
}

#[test]
fn quarantined_mail_past_its_days_is_purged() {
    let rspamd = Rspamd::start();
    let mut server = builder()
        .set("spam.rspamd_url", rspamd.url())
        .set("spam.quarantine_days", 7)
        .start();
    let acme = server.create_account("Acme");
    for n in 0..3 {
        let m = mail(
            "x@spam.example",
            "Win",
            &format!("<w{n}@spam.example>"),
            GTUBE_ADD_HEADER,
        );
        assert_eq!(server.send("x@spam.example", &[&acme.address], &m).code, 250);
    }
    let m = mail("ann@customer.example", "Hi", "<hi@customer.example>", "Hello");
    assert_eq!(server.send("ann@customer.example", &[&acme.address], &m).code, 250);
    // Two of them 8 days old, and the filed message too: only quarantined mail is purged.
    server.execute("UPDATE messages SET received_at = '2026-01-01T00:00:00Z' WHERE message_id IN ('w0@spam.example', 'w1@spam.example', 'hi@customer.example')");
    server.restart();
    assert!(
        eventually(Duration::from_secs(10), || server
            .count("SELECT count(*) FROM messages WHERE kind = 'spam'")
            == 1),
        "the old quarantined mail is purged at start"
    );
    assert_eq!(server.count("SELECT count(*) FROM messages"), 2);
    assert_eq!(server.count("SELECT count(*) FROM raw_messages"), 2, "with its bytes");
    assert!(
        eventually(Duration::from_secs(10), || server
            .logs()
            .iter()
            .any(|l| l.contains("purged"))),
        "the purge is logged once its last batch is done"
    );
}

/// One request with an API key: the status and the JSON body.
fn call(http: std::net::SocketAddr, method: &str, path: &str, key: &str) -> (u16, Value) {
    let answer = http::request(http, method, path, &[("Authorization", &format!("Bearer {key}"))], "");
    (answer.code, answer.json())
}

#[test]
fn the_http_door_releases_deletes_and_marks() {
    let rspamd = Rspamd::start();
    let server = builder()
        .set("spam.rspamd_url", rspamd.url())
        .set("http.listen", "127.0.0.1:0")
        .start();
    let http = server.http_addr.unwrap();
    let (acme, other) = (server.create_account("Acme"), server.create_account("Other"));
    let (acme_key, other_key) = (
        server.api_key("test", Some(acme.id)).1,
        server.api_key("test", Some(other.id)).1,
    );
    for n in 0..2 {
        let m = mail(
            "Ann <ann@customer.example>",
            "Order",
            &format!("<o{n}@customer.example>"),
            GTUBE_ADD_HEADER,
        );
        assert_eq!(server.send("ann@customer.example", &[&acme.address], &m).code, 250);
    }
    let ids: Vec<i64> = server
        .json(&["quarantine", "list", "--account", &acme.id.to_string()])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    // Another account's key sees nothing of it.
    assert_eq!(
        call(http, "POST", &format!("/v1/messages/{}/release", ids[0]), &other_key).0,
        404
    );
    assert_eq!(
        call(http, "DELETE", &format!("/v1/messages/{}", ids[0]), &other_key).0,
        404
    );

    let (code, done) = call(http, "POST", &format!("/v1/messages/{}/release", ids[0]), &acme_key);
    assert_eq!((code, done["result"].as_str()), (200, Some("released")), "{done}");
    let filed = done["message_id"].as_i64().unwrap();
    let (code, again) = call(http, "POST", &format!("/v1/messages/{}/release", ids[0]), &acme_key);
    assert_eq!(
        (code, again["result"].as_str(), again["message_id"].as_i64()),
        (200, Some("already_released"), Some(filed)),
        "{again}"
    );
    assert_eq!(server.contacts(acme.id).len(), 1);

    // Only quarantined mail is deleted.
    let (code, body) = call(http, "DELETE", &format!("/v1/messages/{filed}"), &acme_key);
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (409, Some("not_quarantined")),
        "{body}"
    );
    assert_eq!(
        call(http, "DELETE", &format!("/v1/messages/{}", ids[1]), &acme_key).0,
        204
    );
    assert_eq!(server.count("SELECT count(*) FROM messages"), 1);

    // Marking without a controller: moved, and the answer says rspamd was not taught.
    let (code, marked) = call(http, "POST", &format!("/v1/messages/{filed}/mark-spam"), &acme_key);
    assert_eq!(
        (code, marked["result"].as_str()),
        (200, Some("moved_to_quarantine")),
        "{marked}"
    );
    assert_eq!(marked["learned"], Value::Null);
    assert!(marked["contact_deleted"].is_i64(), "{marked}");
    assert_eq!(server.contacts(acme.id).len(), 0);
    let (code, marked) = call(http, "POST", &format!("/v1/messages/{filed}/mark-ham"), &acme_key);
    assert_eq!((code, marked["result"].as_str()), (200, Some("released")), "{marked}");
    assert_eq!(server.contacts(acme.id).len(), 1);
}
