//! Spam scored by a real rspamd (started by each test on free loopback ports, its GTUBE test
//! patterns driving the actions) through a real `inboxd serve`: rspamd's `reject` is a 550 and
//! nothing stored; `add header` and `rewrite subject` are quarantined (kind `spam`, no contact, no
//! conversation, `message.quarantined` and never `contact.created`); ordinary mail is filed with
//! its score; rspamd away is `on_failure`'s answer, and nothing acknowledged is lost.

mod common;

use common::rspamd::{GTUBE_ADD_HEADER, GTUBE_REJECT, GTUBE_REWRITE_SUBJECT, Rspamd};
use common::*;
use serde_json::Value;

fn spam_server(backend: Backend, rspamd: &Rspamd) -> Builder {
    builder_on(backend).set("spam.rspamd_url", rspamd.url())
}

fn mail(from: &str, subject: &str, body: &str) -> String {
    message(
        &[("From", from), ("To", "inbox@inbox.localhost"), ("Subject", subject)],
        body,
    )
}

fn event_types(server: &Server) -> Vec<String> {
    server
        .events(0)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

on_both_backends! {
    fn what_rspamd_rejects_is_refused_and_nothing_is_stored(backend: Backend) {
        let rspamd = Rspamd::start();
        let server = spam_server(backend, &rspamd).start();
        let acme = server.create_account("Acme");
        let reply = server.send("spammer@spam.example", &[&acme.address], &mail("spammer@spam.example", "Cheap", GTUBE_REJECT));
        assert_eq!(reply.code, 550, "{reply:?}");
        assert!(reply.text().contains("5.7.1") && reply.text().contains("spam"), "{reply:?}");
        assert_eq!(server.count("SELECT count(*) FROM messages"), 0);
        assert_eq!(server.count("SELECT count(*) FROM contacts"), 0);
        assert!(event_types(&server).is_empty());
    }

    fn what_rspamd_would_mark_is_quarantined_and_makes_no_contact(backend: Backend) {
        let rspamd = Rspamd::start();
        let server = spam_server(backend, &rspamd).start();
        let acme = server.create_account("Acme");
        for (from, body) in [("a@spam.example", GTUBE_ADD_HEADER), ("b@spam.example", GTUBE_REWRITE_SUBJECT)] {
            let reply = server.send(from, &[&acme.address], &mail(from, "You won", body));
            assert_eq!(reply.code, 250, "{reply:?}");
        }
        assert_eq!(server.count("SELECT count(*) FROM messages WHERE kind = 'spam'"), 2);
        assert_eq!(server.count("SELECT count(*) FROM contacts"), 0, "no spammer becomes a contact");
        assert_eq!(server.count("SELECT count(*) FROM conversations"), 0);
        assert_eq!(server.count("SELECT count(*) FROM messages WHERE contact_id IS NOT NULL OR conversation_id IS NOT NULL"), 0);
        assert_eq!(event_types(&server), ["message.quarantined", "message.quarantined"]);
        for e in server.events(0) {
            assert_eq!(e["data"]["automation"], false, "{e}");
        }
        let listed = server.json(&["quarantine", "list", "--account", &acme.id.to_string()]);
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), 2);
        let id = listed[0]["id"].as_i64().unwrap();
        let shown = server.json(&["messages", "show", &id.to_string()]);
        let spam = &shown["spam"];
        assert!(["add header", "rewrite subject"].contains(&spam["action"].as_str().unwrap()), "{shown}");
        assert!(spam["symbols"].as_array().unwrap().iter().any(|s| s == "GTUBE"), "{spam}");
        assert!(spam["required"].as_f64().unwrap() > 0.0 && spam["score"].is_number(), "{spam}");
        assert_eq!(server.json(&["quarantine", "show", &id.to_string()])["id"], id);
        // A person's mail beside it is filed as always, with its score.
        let reply = server.send("ann@customer.example", &[&acme.address], &mail("Ann <ann@customer.example>", "Pricing", "What does it cost?"));
        assert_eq!(reply.code, 250);
        let contacts = server.contacts(acme.id);
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0]["email"], "ann@customer.example");
        let conversations = server.conversations(acme.id);
        let filed = server.conversation(conversations[0]["id"].as_i64().unwrap());
        assert_eq!(filed["messages"][0]["spam"]["action"], "no action");
        assert_eq!(filed["messages"][0]["kind"], "message");
        // Deleted from the quarantine: gone, nothing else touched.
        assert!(server.cli(&["quarantine", "delete", &id.to_string()]).status.success());
        assert_eq!(server.count("SELECT count(*) FROM messages WHERE kind = 'spam'"), 1);
        assert_eq!(server.count("SELECT count(*) FROM messages"), 2);
    }
}

#[test]
fn with_rspamd_away_mail_is_filed_unscored_by_default_and_deferred_with_tempfail() {
    let mut rspamd = Rspamd::start();
    let accepting = spam_server(Backend::Sqlite, &rspamd)
        .set("spam.timeout_secs", 2)
        .set("http.listen", "127.0.0.1:0")
        .start();
    let deferring = spam_server(Backend::Sqlite, &rspamd)
        .set("spam.timeout_secs", 2)
        .set("spam.on_failure", "tempfail")
        .start();
    let (a, d) = (accepting.create_account("Acme"), deferring.create_account("Acme"));
    rspamd.stop();
    let reply = accepting.send(
        "ann@customer.example",
        &[&a.address],
        &mail("ann@customer.example", "Hello", "Hi"),
    );
    assert_eq!(reply.code, 250, "{reply:?}");
    let flags: Value = serde_json::from_str(&accepting.texts("SELECT flags FROM messages")[0]).unwrap();
    assert!(flags.as_array().unwrap().iter().any(|f| f == "unscored"), "{flags}");
    assert_eq!(
        accepting.count("SELECT count(*) FROM messages WHERE spam_json IS NULL"),
        1
    );
    let reply = deferring.send(
        "ann@customer.example",
        &[&d.address],
        &mail("ann@customer.example", "Hello", "Hi"),
    );
    assert_eq!(reply.code, 451, "{reply:?}");
    assert!(reply.text().contains("4.7.1"), "{reply:?}");
    assert_eq!(
        deferring.count("SELECT count(*) FROM messages"),
        0,
        "nothing stored for a 451"
    );
    // The metric counts what was filed unscored.
    let metrics = http_get(accepting.http_addr.unwrap(), "/metrics");
    assert!(metrics.contains("inboxd_spam_unscored_total 1"), "{metrics}");
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
