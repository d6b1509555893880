//! Signed webhooks, end to end: a real `inboxd serve`, real SMTP in, real HTTP out to a real
//! receiver on loopback that verifies every signature. Retries keep their id; a contact's events
//! stay in order; `410 Gone` disables an endpoint and a replay brings it back; a hanging endpoint
//! times out and ends `failed`; a SIGKILL mid-deliveries loses no event; internal addresses are
//! refused unless allowed; a receiver built on the `standardwebhooks` library (PyPI) verifies what
//! we send.

mod common;

use common::load::wait_for;
use common::receiver::{Received, Receiver, Reply, distinct_ids};
use common::*;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The test defaults, with loopback endpoints allowed (the receiver is on 127.0.0.1) and a short
/// retry schedule.
fn hooks_on(backend: Backend, schedule: &[i64]) -> Builder {
    builder_on(backend).set("webhooks.allow_private", true).set(
        "webhooks.retry_schedule_secs",
        toml::Value::Array(schedule.iter().map(|&s| s.into()).collect()),
    )
}

/// Adds an endpoint through the CLI; its id and signing secret.
fn add_endpoint(server: &Server, url: &str, extra: &[&str]) -> (i64, String) {
    let mut args = vec!["webhooks", "add", url];
    args.extend_from_slice(extra);
    let v = server.json(&args);
    (v["id"].as_i64().unwrap(), v["secret"].as_str().unwrap().to_string())
}

fn mail(from: &str, subject: &str, body: &str) -> String {
    message(
        &[("From", from), ("To", "inbox@inbox.localhost"), ("Subject", subject)],
        body,
    )
}

fn of_type<'a>(got: &'a [Received], kind: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.body["type"] == kind).collect()
}

fn deliveries(server: &Server, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["webhooks", "deliveries"];
    args.extend_from_slice(extra);
    server.json(&args).as_array().unwrap().clone()
}

const WITH_ATTACHMENT: &str = "From: Jane Customer <jane@customer.example>\r\n\
To: inbox@inbox.localhost\r\n\
Subject: Question about pricing\r\n\
Message-ID: <pricing-1@customer.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello, what does the team plan cost?\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"brief.pdf\"\r\n\
Content-Disposition: attachment; filename=\"brief.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n\
--b1--\r\n";

on_both_backends! {
    fn a_message_is_posted_signed_with_what_an_inbox_needs(backend: Backend) {
        let receiver = Receiver::accepting();
        let server = hooks_on(backend, &[1]).start();
        let acme = server.create_account("Acme");
        let (endpoint, secret) = add_endpoint(&server, &receiver.url("/hooks"), &[]);
        receiver.set_secret(&secret);
        let tagged = acme.address.replacen('@', "+sales@", 1);
        let reply = server.send("jane@customer.example", &[&tagged], WITH_ATTACHMENT);
        assert_eq!(reply.code, 250, "{reply:?}");

        let got = receiver.wait_until(Duration::from_secs(15), |g| !of_type(g, "message.received").is_empty());
        assert!(got.iter().all(|r| r.verified), "every request verifies with the endpoint's secret");
        assert!(got.iter().all(|r| r.id == format!("msg_{}", r.body["event_id"])));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!(got.iter().all(|r| (now - r.timestamp).abs() < 60));
        // The contact's events in the order they were committed.
        let kinds: Vec<&str> = got.iter().map(|r| r.body["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["contact.created", "conversation.created", "message.received"]);

        let event = &of_type(&got, "message.received")[0].body;
        assert_eq!(event["account_id"], acme.id);
        let data = &event["data"];
        let m = &data["message"];
        assert_eq!(m["from"]["address"], "jane@customer.example");
        assert_eq!(m["from"]["name"], "Jane Customer");
        assert_eq!(m["subject"], "Question about pricing");
        assert_eq!(m["message_id"], "pricing-1@customer.example");
        assert!(m["text"].as_str().unwrap().contains("what does the team plan cost?"), "{m}");
        assert!(m["reply_text"].as_str().unwrap().contains("what does the team plan cost?"), "{m}");
        assert_eq!(m["mailbox_hash"], "sales");
        assert_eq!(m["kind"], "message");
        let id = m["id"].as_i64().unwrap();
        assert_eq!(m["attachments"][0]["filename"], "brief.pdf");
        assert_eq!(m["attachments"][0]["content_type"], "application/pdf");
        assert_eq!(m["attachments"][0]["url"], format!("/v1/messages/{id}/attachments/0"));
        assert_eq!(m["links"]["raw"], format!("/v1/messages/{id}/raw"));
        let contact = &data["contact"];
        assert_eq!(contact["email"], "jane@customer.example");
        assert_eq!(contact["opt_in"], false);
        assert_eq!(contact["created"], true);
        assert_eq!(contact["automation"], false);
        let conversations = server.conversations(acme.id);
        assert_eq!(data["conversation"]["id"], conversations[0]["id"]);

        let list = wait_for(Duration::from_secs(10), || {
            let list = deliveries(&server, &["--endpoint", &endpoint.to_string()]);
            list.iter().all(|d| d["status"] == "delivered").then_some(list)
        });
        assert_eq!(list.len(), 3);
        assert!(list.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{list:?}");

        // A second message from her: the contact already existed.
        server.send("jane@customer.example", &[&acme.address], &mail("Jane <jane@customer.example>", "Another one", "Hi again"));
        let got = receiver.wait_until(Duration::from_secs(15), |g| of_type(g, "message.received").len() == 2);
        assert_eq!(of_type(&got, "message.received")[1].body["data"]["contact"]["created"], false);
    }

    fn failed_attempts_are_retried_with_the_same_id_and_a_contacts_events_stay_in_order(backend: Backend) {
        // Every message.received fails twice (500, then a refused-looking 503) before it is taken.
        let receiver = Receiver::start(|r| match (r.body["type"].as_str(), r.attempt) {
            (Some("message.received"), 1) => Reply::Status(500),
            (Some("message.received"), 2) => Reply::Status(503),
            _ => Reply::Status(200),
        });
        let server = hooks_on(backend, &[1, 1, 1]).start();
        let acme = server.create_account("Acme");
        let (_, secret) = add_endpoint(&server, &receiver.url("/"), &["--events", "message.received"]);
        receiver.set_secret(&secret);
        for subject in ["First question", "Second question"] {
            let reply = server.send("bob@customer.example", &[&acme.address], &mail("bob@customer.example", subject, "?"));
            assert_eq!(reply.code, 250);
        }
        let got = receiver.wait_until(Duration::from_secs(30), |g| g.iter().filter(|r| r.attempt == 3).count() == 2);
        assert!(got.iter().all(|r| r.body["type"] == "message.received"), "only the subscribed type");
        assert!(got.iter().all(|r| r.verified));
        assert_eq!(got.len(), 6, "three attempts each: {got:?}");
        assert_eq!(distinct_ids(&got), 2, "a retry carries the same webhook-id");
        // The second message of the contact is not sent before the first was taken.
        let first_id = &got[0].id;
        let first_done = got.iter().position(|r| &r.id == first_id && r.attempt == 3).unwrap();
        let second_start = got.iter().position(|r| &r.id != first_id).unwrap();
        assert!(second_start > first_done, "in order per contact: {got:?}");
        let list = wait_for(Duration::from_secs(10), || {
            let list = deliveries(&server, &[]);
            list.iter().all(|d| d["status"] == "delivered").then_some(list)
        });
        assert!(list.iter().all(|d| d["attempts"] == 3), "{list:?}");
    }

    fn an_endpoint_that_answers_410_is_disabled_until_replayed(backend: Backend) {
        let gone = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&gone);
        let receiver = Receiver::start(move |_| if flag.load(Ordering::SeqCst) { Reply::Status(410) } else { Reply::Status(204) });
        let server = hooks_on(backend, &[1]).start();
        let acme = server.create_account("Acme");
        let (endpoint, secret) = add_endpoint(&server, &receiver.url("/"), &[]);
        receiver.set_secret(&secret);
        server.send("carol@customer.example", &[&acme.address], &mail("carol@customer.example", "Hello", "Hi"));
        receiver.wait_until(Duration::from_secs(15), |g| !g.is_empty());
        // The answer is recorded a moment after the receiver has seen the request.
        let listed = wait_for(Duration::from_secs(10), || {
            let listed = server.json(&["webhooks", "list"]);
            (listed[0]["enabled"] == false).then_some(listed)
        });
        assert_eq!(listed[0]["disabled_reason"], "410 Gone");
        // Disabled: later events are not sent.
        server.send("dave@customer.example", &[&acme.address], &mail("dave@customer.example", "Hello", "Hi"));
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(receiver.received().len(), 1, "nothing more after the 410");
        let failed = deliveries(&server, &["--status", "failed"]);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["last_status"], 410);

        // The receiver is back; the operator replays from the start: every event arrives.
        gone.store(false, Ordering::SeqCst);
        let out = server.cli(&["webhooks", "replay", "--endpoint", &endpoint.to_string(), "--since", "0"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let events = server.events(0).len();
        assert_eq!(events, 6, "two senders: contact, conversation, message each");
        // The one 410 before, then each event once.
        let got = receiver.wait_until(Duration::from_secs(15), |g| g.len() > events && distinct_ids(g) == events);
        assert!(got.iter().all(|r| r.verified));
        let list = wait_for(Duration::from_secs(10), || {
            let list = deliveries(&server, &[]);
            list.iter().all(|d| d["status"] == "delivered").then_some(list)
        });
        assert_eq!(list.len(), events);
    }

    fn a_hanging_endpoint_times_out_and_its_deliveries_end_failed(backend: Backend) {
        let receiver = Receiver::start(|_| Reply::Hang(Duration::from_secs(3)));
        let server = hooks_on(backend, &[1]).set("webhooks.timeout_secs", 1).start();
        let acme = server.create_account("Acme");
        let (_, secret) = add_endpoint(&server, &receiver.url("/"), &["--events", "message.received"]);
        receiver.set_secret(&secret);
        let started = std::time::Instant::now();
        server.send("erin@customer.example", &[&acme.address], &mail("erin@customer.example", "Hello", "Hi"));
        // Mail is taken while the endpoint hangs.
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        let got = receiver.wait_until(Duration::from_secs(20), |g| g.len() == 2);
        assert_eq!(distinct_ids(&got), 1);
        let failed = wait_for(Duration::from_secs(10), || {
            let list = deliveries(&server, &["--status", "failed"]);
            (!list.is_empty()).then_some(list)
        });
        assert_eq!(failed[0]["attempts"], 2);
        assert!(failed[0]["last_error"].as_str().unwrap().contains("no answer"), "{failed:?}");
    }
}

#[test]
fn endpoints_on_internal_addresses_are_refused_unless_allowed() {
    let server = start();
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://[::1]/",
        "http://10.0.0.7/",
        "http://169.254.169.254/latest",
    ] {
        let out = server.cli(&["webhooks", "add", url]);
        assert!(!out.status.success(), "{url} was accepted");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("allow_private"), "{url}: {said}");
    }
    for (url, why) in [("ftp://example.com/", "only http and https"), ("hooks", "not a URL")] {
        let out = server.cli(&["webhooks", "add", url]);
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{url}");
    }
    let out = server.cli(&[
        "webhooks",
        "add",
        "https://hooks.example.com/x",
        "--events",
        "message.sent",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown event type `message.sent`"));
    assert_eq!(server.json(&["webhooks", "list"]), serde_json::json!([]));
}

#[test]
fn sigkill_in_the_middle_of_deliveries_loses_no_event_and_keeps_ids() {
    // A slow receiver: deliveries are in flight when the host dies.
    let receiver = Receiver::start(|_| {
        std::thread::sleep(Duration::from_millis(30));
        Reply::Status(204)
    });
    let mut server = hooks_on(Backend::Sqlite, &[1]).start();
    let acme = server.create_account("Acme");
    let (_, secret) = add_endpoint(&server, &receiver.url("/"), &[]);
    receiver.set_secret(&secret);
    let mut c = server.connect();
    c.ehlo();
    for n in 0..40 {
        let from = format!("sender{n}@customer.example");
        let reply = c.transaction(&from, &[&acme.address], mail(&from, "Hello", "Hi").as_bytes());
        assert_eq!(reply.code, 250);
    }
    c.quit();
    receiver.wait_until(Duration::from_secs(10), |g| g.len() >= 10);
    server.signal("KILL");
    let _ = server.wait_exit(Duration::from_secs(10));
    let before_restart = distinct_ids(&receiver.received());
    server.restart();
    let events: Vec<String> = server.events(0).iter().map(|e| format!("msg_{}", e["id"])).collect();
    assert_eq!(events.len(), 120);
    assert!(
        before_restart < events.len(),
        "the kill came in the middle: {before_restart}"
    );
    let got = receiver.wait_for_ids(events.len(), Duration::from_secs(30));
    assert!(got.iter().all(|r| r.verified));
    let ids: std::collections::BTreeSet<&String> = got.iter().map(|r| &r.id).collect();
    let expected: std::collections::BTreeSet<&String> = events.iter().collect();
    assert_eq!(ids, expected, "every event arrived, and nothing else");
    let repeats = got.len() - ids.len();
    println!(
        "SIGKILL mid-deliveries: {} events, {before_restart} arrived before the kill, {repeats} sent twice (same id)",
        events.len()
    );
}

#[test]
fn a_receiver_on_the_standardwebhooks_library_verifies_every_delivery() {
    use std::io::BufRead;
    let python = common::python::venv().join("bin/python");
    let server = hooks_on(Backend::Sqlite, &[1]).start();
    let acme = server.create_account("Acme");
    // The endpoint first (its secret is the receiver's argument), on a port the receiver then
    // listens on; events only come with the mail below.
    let placeholder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = placeholder.local_addr().unwrap().port();
    drop(placeholder);
    let (_, secret) = add_endpoint(&server, &format!("http://127.0.0.1:{port}/"), &[]);
    let mut child = std::process::Command::new(python)
        .arg(fixture("webhook_receiver.py"))
        .arg(&secret)
        .env("RECEIVER_PORT", port.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let listening: u16 = lines.next().unwrap().unwrap().trim().parse().unwrap();
    assert_eq!(listening, port);
    for n in 0..3 {
        let from = format!("py{n}@customer.example");
        assert_eq!(
            server.send(&from, &[&acme.address], &mail(&from, "Hello", "Hi")).code,
            250
        );
    }
    let mut seen = Vec::new();
    while seen.len() < 9 {
        let line = lines.next().expect("the receiver's report").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["verified"], true, "standardwebhooks refused a delivery: {line}");
        seen.push(v["type"].as_str().unwrap().to_string());
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.iter().filter(|t| *t == "message.received").count(), 3);
}
