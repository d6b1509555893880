//! Whole sessions over TCP: connection limits, the error limit, idle timeouts, SIGTERM with a
//! transaction in flight, and the log lines.

use super::*;

#[test]
fn connection_limits_answer_421_at_once() {
    let server = builder().set("limits.max_connections_per_ip", 20).start();
    let acme = server.create_account("Acme");
    let mut open: Vec<Client> = (0..20).map(|_| server.connect()).collect();
    for c in &open {
        assert_eq!(c.greeting.code, 220);
    }
    let started = Instant::now();
    let mut refused = server.connect();
    assert_eq!(refused.greeting.code, 421);
    assert_eq!(refused.greeting.status(), "4.7.0");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(refused.is_closed());
    // The twenty are still served.
    let c = &mut open[7];
    c.ehlo();
    c.transaction(
        "a@b.example",
        &[&acme.address],
        simple("a@b.example", "still served").as_bytes(),
    )
    .expect(250, "2.0.0");
    drop(open);
    assert!(eventually(Duration::from_secs(5), || server.connect().greeting.code == 220));

    let server = builder()
        .set("limits.max_connections", 3)
        .set("limits.max_connections_per_ip", 100)
        .start();
    let _held: Vec<Client> = (0..3).map(|_| server.connect()).collect();
    let c = server.connect();
    assert_eq!((c.greeting.code, c.greeting.status()), (421, "4.7.0"));
}

#[test]
fn too_many_errors_end_the_session() {
    let server = builder().set("limits.max_errors", 3).start();
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd("RCPT TO:<x1@inbox.localhost>").expect(550, "5.1.1");
    c.cmd("BOGUS").expect(500, "5.5.1");
    c.write(b"RCPT TO:<x3@inbox.localhost>\r\n");
    c.reply().expect(550, "5.1.1");
    c.reply().expect(421, "4.7.0");
    assert!(c.is_closed());
}

#[test]
fn idle_sessions_time_out() {
    let server = builder().set("limits.idle_timeout_secs", 1).start();
    let mut c = server.connect();
    c.ehlo();
    let started = Instant::now();
    c.reply().expect(421, "4.4.2");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(c.is_closed());
    let server = builder().set("limits.session_timeout_secs", 2).start();
    let mut c = server.connect();
    let started = Instant::now();
    for _ in 0..10 {
        let r = c.cmd("NOOP");
        if r.code == 421 {
            assert_eq!(r.status(), "4.4.2");
            assert!(started.elapsed() >= Duration::from_secs(2));
            return;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    panic!("the session limit was not enforced");
}

#[test]
fn sigterm_lets_a_transaction_in_flight_finish() {
    let mut server = start();
    let acme = server.create_account("Acme");
    let mut busy = server.connect();
    busy.ehlo();
    busy.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    busy.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    busy.cmd("DATA").expect(354, "2.0.0");
    busy.write(b"From: a@b.example\r\nSubject: in flight\r\n\r\nhalf of it");
    let mut idle = server.connect();
    idle.ehlo();
    server.signal("TERM");
    idle.reply().expect(421, "4.3.2");
    assert!(idle.is_closed());
    // New connections are no longer accepted.
    assert!(eventually(Duration::from_secs(5), || {
        std::net::TcpStream::connect(server.addr).is_err()
    }));
    busy.write(b" and the rest\r\n.\r\n");
    busy.reply().expect(250, "2.0.0");
    busy.reply().expect(421, "4.3.2");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE subject = 'in flight'"),
        1
    );
    let logs = server.logs().join("\n");
    assert!(logs.contains("stopped"), "{logs}");
}

#[test]
fn logs_carry_queue_id_account_sender_size_and_result() {
    let server = builder().set("limits.max_message_size", 2000).start();
    let acme = server.create_account("Acme");
    let r = server.send(
        "jane@customer.example",
        &[&acme.address],
        &simple("jane@customer.example", "log me"),
    );
    let queue_id = r.queue_id();
    assert!(eventually(Duration::from_secs(5), || server
        .logs()
        .iter()
        .any(|l| l.contains("connection closed"))));
    let line = server
        .logs()
        .into_iter()
        .find(|l| l.contains(&queue_id) && l.contains("message accepted"))
        .expect("a message log line");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["queue_id"], queue_id.as_str());
    assert_eq!(v["from"], "jane@customer.example");
    assert_eq!(v["result"], "250");
    assert!(v["size"].as_u64().unwrap() > 0);
    assert!(v["accounts"].as_str().unwrap().contains(&acme.id.to_string()));
    assert!(v["elapsed_ms"].is_u64());

    // A refused message has its line too, under the queue id it was given at DATA.
    let big = message(
        &[("From", "joe@customer.example"), ("Subject", "too big")],
        &("x".repeat(98) + "\r\n").repeat(30),
    );
    server
        .send("joe@customer.example", &[&acme.address], &big)
        .expect(552, "5.3.4");
    let refused = || {
        server
            .logs()
            .into_iter()
            .find(|l| l.contains("message refused") && l.contains("joe@customer.example"))
    };
    assert!(eventually(Duration::from_secs(5), || refused().is_some()));
    let v: serde_json::Value = serde_json::from_str(&refused().unwrap()).unwrap();
    assert_eq!(v["result"], 552);
    assert_eq!(v["queue_id"].as_str().unwrap().len(), queue_id.len(), "{v}");
    assert!(v["size"].as_u64().unwrap() > 3000);
}
