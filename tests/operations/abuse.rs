//! Abuse controls: connection and message rates, the stress timeout, the server-wide message
//! budget, the storage cap.

use super::*;

#[test]
fn connection_and_message_rates_refuse_then_recover() {
    let server = builder()
        .set("limits.connection_rate", 3)
        .set("limits.message_rate", 2)
        .set("limits.rate_window_secs", 2)
        .start();
    let acme = server.create_account("Acme");
    let greetings: Vec<u16> = (0..4).map(|_| server.connect().greeting.code).collect();
    assert_eq!(greetings, [220, 220, 220, 421]);
    let refused = server.connect();
    assert_eq!(refused.greeting.status(), "4.7.0");
    // Tokens come back: 3 per 2 seconds.
    std::thread::sleep(Duration::from_millis(1500));
    let mut c = server.connect();
    assert_eq!(c.greeting.code, 220, "recovered");
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd("RSET").expect(250, "2.0.0");
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd("RSET").expect(250, "2.0.0");
    c.cmd("MAIL FROM:<a@b.example>").expect(451, "4.7.1");
    std::thread::sleep(Duration::from_millis(1200));
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");

    // Trusted relays are exempt.
    let server = builder()
        .set("limits.connection_rate", 1)
        .set("limits.message_rate", 1)
        .set(
            "server.trusted_networks",
            toml::Value::Array(vec!["127.0.0.0/8".into()]),
        )
        .start();
    for _ in 0..5 {
        let mut c = server.connect();
        assert_eq!(c.greeting.code, 220);
        c.ehlo();
        c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    }
}

#[test]
fn under_stress_idle_clients_get_the_shorter_timeout() {
    let server = builder()
        .set("limits.max_connections", 5)
        .set("limits.max_connections_per_ip", 10)
        .set("limits.stress_threshold_percent", 60)
        .set("limits.stress_idle_timeout_secs", 1)
        .start();
    // 2 of 5 slots: no stress, the 300 s timeout holds.
    let mut calm: Vec<Client> = (0..2).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(calm[0].cmd("NOOP").code, 250);
    // 4 of 5 (80% > 60%): the next idle wait is cut to 1 s.
    let mut crowd: Vec<Client> = (0..2).map(|_| server.connect()).collect();
    let started = Instant::now();
    crowd[1].cmd("NOOP").expect(250, "2.0.0");
    crowd[1].reply().expect(421, "4.4.2");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(calm.pop());
}

#[test]
fn message_bytes_in_flight_are_bounded_server_wide() {
    const GAUGE: &str = "inboxd_message_bytes_in_flight";
    let server = builder()
        .set("http.listen", "127.0.0.1:0")
        .set("limits.max_inflight_bytes", 300_000)
        .start();
    let http = server.http_addr.expect("http listener");
    let acme = server.create_account("Acme");
    let lines = |n: usize| ("x".repeat(98) + "\r\n").repeat(n);
    let open = |subject: &str| {
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<a@sender.example>").expect(250, "2.1.0");
        c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
        c.cmd("DATA").expect(354, "2.0.0");
        c.write(format!("From: a@sender.example\r\nSubject: {subject}\r\n\r\n").as_bytes());
        c
    };
    // A holds 200 kB of a message it has not finished.
    let mut a = open("a");
    a.write(lines(2_000).as_bytes());
    wait_for_metric(http, GAUGE, |v| v >= 200_000.0);
    // B's 150 kB would pass 300 kB: read to its end, then 452 4.3.1; the session goes on.
    let mut b = open("b");
    b.write(lines(1_500).as_bytes());
    b.write(b".\r\n");
    b.reply().expect(452, "4.3.1");
    assert!(
        wait_for_metric(http, GAUGE, |v| v < 210_000.0) >= 200_000.0,
        "B's bytes were given back"
    );
    // D takes the total to 280 kB, past 90 %: a new MAIL is refused at once.
    let mut d = open("d");
    d.write(lines(800).as_bytes());
    wait_for_metric(http, GAUGE, |v| v >= 270_000.0);
    b.cmd("MAIL FROM:<a@sender.example>").expect(452, "4.3.1");
    // A and D finish: stored, and the budget is free again.
    a.write(b".\r\n");
    a.reply().expect(250, "2.0.0");
    d.write(b".\r\n");
    d.reply().expect(250, "2.0.0");
    wait_for_metric(http, GAUGE, |v| v == 0.0);
    // B's retry goes through.
    b.cmd("MAIL FROM:<a@sender.example>").expect(250, "2.1.0");
    b.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    b.cmd("DATA").expect(354, "2.0.0");
    b.write(format!("From: a@sender.example\r\nSubject: b\r\n\r\n{}.\r\n", lines(1_500)).as_bytes());
    b.reply().expect(250, "2.0.0");
    assert_eq!(
        server.texts("SELECT subject FROM messages ORDER BY id"),
        ["a", "d", "b"]
    );
    let body = http_get(http, "/metrics").1;
    assert_eq!(metric(&body, "inboxd_message_replies_total{code=\"452\"}"), 2.0);
}

#[test]
fn the_storage_cap_gives_452_and_keeps_the_database_readable() {
    let server = builder().set("database.max_size", 4 * 1024 * 1024).start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    let mut accepted = 0;
    let mut refusal = None;
    for i in 0..40 {
        c.cmd("MAIL FROM:<a@b.example>");
        // Either MAIL or the end of DATA says 452 once the cap is reached. Random hex: mail is
        // kept compressed, and a repeated letter would never fill anything.
        let mut rng = common::load::XorShift(0x9E37_79B9_7F4A_7C15 ^ i as u64);
        let body: String = (0..3200)
            .map(|_| {
                format!(
                    "{:016x}{:016x}{:016x}{:016x}\r\n",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                )
            })
            .collect();
        let msg = message(
            &[("From", "jane@c.example"), ("Subject", &format!("filler {i}"))],
            &body,
        );
        let rcpt = c.cmd(&format!("RCPT TO:<{}>", acme.address));
        if rcpt.code != 250 {
            refusal = Some(rcpt);
            break;
        }
        c.cmd("DATA").expect(354, "2.0.0");
        c.write(&dot_stuff(msg.as_bytes()));
        c.write(b".\r\n");
        let r = c.reply();
        if r.code == 250 {
            accepted += 1;
        } else {
            refusal = Some(r);
            break;
        }
    }
    let refusal = refusal.expect("the cap was reached");
    assert!(matches!(refusal.code, 452 | 503), "{refusal:?}");
    c.cmd("RSET");
    c.cmd("MAIL FROM:<a@b.example>").expect(452, "4.3.1");
    c.cmd("MAIL FROM:<a@b.example>").expect(452, "4.3.1");
    assert!(accepted >= 3, "{accepted}");
    // A full database shows in the log at warn, with the cap and the size: once a minute, not
    // once per refused sender. (The log is read by another thread: give it a moment.)
    let warnings = || -> Vec<serde_json::Value> {
        server
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("database.max_size reached"))
            })
            .collect()
    };
    eventually(Duration::from_secs(5), || !warnings().is_empty());
    let warnings = warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert_eq!(warnings[0]["max_size"], 4 * 1024 * 1024);
    assert!(
        warnings[0]["size"].as_u64().unwrap() > 3 * 1024 * 1024,
        "{}",
        warnings[0]
    );
    // Still running, nothing stored was touched, the file is sound and readable.
    assert_eq!(server.count("SELECT count(*) FROM messages"), accepted);
    let check: String = server
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let in_conversations: i64 = server
        .conversations(acme.id)
        .iter()
        .map(|c| c["message_count"].as_i64().unwrap())
        .sum();
    assert_eq!(in_conversations, accepted);
    assert_eq!(server.connect().greeting.code, 220);
}
