//! Spam scored by a real rspamd (started by each test on free loopback ports, its GTUBE test
//! patterns driving the actions) through a real `inboxd serve`: rspamd's `reject` is a 550 and
//! nothing stored; `add header` and `rewrite subject` are quarantined (kind `spam`, no contact, no
//! conversation, `message.quarantined` and never `contact.created`); ordinary mail is filed with
//! its score; rspamd away is `on_failure`'s answer, and nothing acknowledged is lost. An
//! account's blocked senders are refused (at RCPT or at the end of DATA), its allowed ones are never
//! quarantined or refused as spam; the stored message carries our `X-Spam-Status`, and the spam
//! headers a sender wrote are gone.

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
        assert!(server.event_types().is_empty());
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
        assert_eq!(server.event_types(), ["message.quarantined", "message.quarantined"]);
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

/// The account's rule command, which must succeed.
fn rule(server: &Server, verb: &str, account: i64, sender: &str) -> String {
    let out = server.cli(&["accounts", verb, &account.to_string(), sender]);
    assert!(out.status.success(), "{verb} {sender}: {out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

on_both_backends! {
    fn an_accounts_blocked_senders_are_refused_and_its_allowed_ones_never_quarantined(backend: Backend) {
        let rspamd = Rspamd::start();
        let server = spam_server(backend, &rspamd).start();
        let (acme, other) = (server.create_account("Acme"), server.create_account("Other"));
        let id = acme.id.to_string();
        assert!(rule(&server, "block", acme.id, "Spam.Example").contains("blocks spam.example"));
        assert!(rule(&server, "allow", acme.id, "friend@partner.example").contains("allows friend@partner.example"));
        assert!(rule(&server, "allow", acme.id, "@trusted.example").contains("allows trusted.example"));
        let refused = server.cli(&["accounts", "block", &id, "not a sender"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("neither an address"), "{refused:?}");
        assert!(!server.cli(&["accounts", "allow", "999", "x.example"]).status.success());
        let shown = server.json(&["accounts", "show", &id]);
        let senders: Vec<(String, String)> = shown["senders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["rule"].as_str().unwrap().into(), r["sender"].as_str().unwrap().into()))
            .collect();
        assert_eq!(
            senders,
            [
                ("allow".into(), "friend@partner.example".into()),
                ("allow".into(), "trusted.example".into()),
                ("block".into(), "spam.example".into())
            ]
        );
        let text = String::from_utf8_lossy(&server.cli(&["accounts", "show", &id]).stdout).to_string();
        assert!(text.contains("block:    spam.example"), "{text}");
        server.settle();

        // The envelope sender is blocked: 550 5.7.1 at RCPT, for this account only.
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<bulk@mail.spam.example>").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(550, "5.7.1");
        c.cmd(&format!("RCPT TO:<{}>", other.address)).expect(250, "2.1.5");
        c.quit();
        // The From header is blocked (the envelope is not): 550 5.7.1 at the end of DATA.
        let reply = server.send("bounces@esp.example", &[&acme.address], &mail("Deals <deals@spam.example>", "Deals", "Buy"));
        assert_eq!((reply.code, reply.status()), (550, "5.7.1"), "{reply:?}");
        // For two accounts, only the blocking one goes without.
        let reply = server.send("bounces@esp.example", &[&acme.address, &other.address], &mail("deals@spam.example", "Deals", "Buy"));
        assert_eq!(reply.code, 250, "{reply:?}");
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE account_id = {}", acme.id)), 0);
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE account_id = {}", other.id)), 1);

        // Allowed senders: rspamd's reject and add-header do not apply to this account.
        let reply = server.send("friend@partner.example", &[&acme.address], &mail("Friend <friend@partner.example>", "Test", GTUBE_REJECT));
        assert_eq!(reply.code, 250, "{reply:?}");
        let reply = server.send("x@mail.trusted.example", &[&acme.address], &mail("x@mail.trusted.example", "Test", GTUBE_ADD_HEADER));
        assert_eq!(reply.code, 250, "{reply:?}");
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE account_id = {} AND kind = 'message'", acme.id)), 2);
        let emails: Vec<String> = server.contacts(acme.id).iter().map(|c| c["email"].as_str().unwrap().to_string()).collect();
        assert_eq!(emails.len(), 2, "{emails:?}");
        // One account allows, the other does not: rspamd's reject quarantines for the other (it
        // was acknowledged, so it is kept), and files for the one that allows.
        let reply = server.send("friend@partner.example", &[&acme.address, &other.address], &mail("friend@partner.example", "Again", GTUBE_REJECT));
        assert_eq!(reply.code, 250, "{reply:?}");
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE account_id = {} AND kind = 'spam'", other.id)), 1);
        assert_eq!(server.contacts(other.id).len(), 1, "the spammer of the first send only");
        // Without the rules, the same mail is refused and quarantined as for anyone.
        rule(&server, "unblock", acme.id, "spam.example");
        rule(&server, "disallow", acme.id, "friend@partner.example");
        assert!(rule(&server, "disallow", acme.id, "friend@partner.example").contains("had no allow rule"));
        server.settle();
        let reply = server.send("deals@spam.example", &[&acme.address], &mail("deals@spam.example", "Hi", "Hello there"));
        assert_eq!(reply.code, 250, "unblocked: {reply:?}");
        let reply = server.send("friend@partner.example", &[&acme.address], &mail("friend@partner.example", "Test", GTUBE_REJECT));
        assert_eq!(reply.code, 550, "disallowed: {reply:?}");
    }

    fn the_stored_message_carries_our_spam_headers_and_none_from_outside(backend: Backend) {
        let rspamd = Rspamd::start();
        let server = spam_server(backend, &rspamd).start();
        let acme = server.create_account("Acme");
        let forged = message(
            &[
                ("X-Spam-Status", "No, score=-100.0"),
                ("X-Spam-Flag", "NO"),
                ("X-Rspamd-Score", "-100"),
                ("From", "a@spam.example"),
                ("To", "inbox@inbox.localhost"),
                ("Subject", "You won"),
                ("x-spamd-result", "default: False [-100 / 15]"),
            ],
            GTUBE_ADD_HEADER,
        );
        assert_eq!(server.send("a@spam.example", &[&acme.address], &forged).code, 250);
        let spam_id = server.json(&["quarantine", "list", "--account", &acme.id.to_string()])[0]["id"].as_i64().unwrap();
        let raw = String::from_utf8(server.cli(&["messages", "raw", &spam_id.to_string()]).stdout).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(headers.contains("X-Spam-Status: Yes, score="), "{headers}");
        assert!(headers.contains("action=\"add header\""), "{headers}");
        assert!(headers.contains("GTUBE"), "the symbols: {headers}");
        assert!(headers.contains("X-Spam-Flag: YES"), "{headers}");
        for forged in ["score=-100", "X-Spam-Flag: NO", "X-Rspamd-Score", "x-spamd-result"] {
            assert!(!headers.contains(forged), "{forged} should be gone: {headers}");
        }
        let ours = headers.find("X-Spam-Status").unwrap();
        assert!(ours < headers.find("From:").unwrap(), "ours sits with our trace headers");
        // Ordinary mail says No.
        assert_eq!(server.send("ann@customer.example", &[&acme.address], &mail("ann@customer.example", "Hi", "Hello")).code, 250);
        let filed = server.contacts(acme.id)[0]["id"].as_i64().unwrap();
        let id = server.count(&format!("SELECT id FROM messages WHERE contact_id = {filed}"));
        let raw = String::from_utf8(server.cli(&["messages", "raw", &id.to_string()]).stdout).unwrap();
        assert!(raw.contains("X-Spam-Status: No, score="), "{raw}");
        assert!(!raw.contains("X-Spam-Flag"), "{raw}");
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
    let id = accepting.count("SELECT id FROM messages");
    let raw = String::from_utf8(accepting.cli(&["messages", "raw", &id.to_string()]).stdout).unwrap();
    assert!(raw.contains("X-Spam-Status: Unknown"), "{raw}");
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
    let metrics = http::request(accepting.http_addr.unwrap(), "GET", "/metrics", &[], "").body;
    assert!(metrics.contains("inboxd_spam_unscored_total 1"), "{metrics}");
}
