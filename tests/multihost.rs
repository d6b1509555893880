//! Several MX hosts, one PostgreSQL store: two real `inboxd serve` processes on two ports sharing a
//! real PostgreSQL database, and the races that break naive implementations, each repeated; a host
//! SIGKILLed under load while the other serves; a follower of the event cursor while both hosts
//! write. The database itself failing is `database_faults.rs`.
//!
//! `INBOXD_FAULT_KILLS` and `INBOXD_FAULT_CLIENTS` scale the fault runs up (RELIABILITY.md).

mod common;

use common::load::*;
use common::*;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Two hosts on one fresh database (the same domains and reply-token secret, as in production).
fn two_hosts_on(url: &str) -> (Server, Server) {
    // Started at the same moment: only one of them may migrate the empty database.
    std::thread::scope(|s| {
        let a = s.spawn(|| builder().set("database.url", url).start());
        let b = s.spawn(|| builder().set("database.url", url).start());
        (a.join().unwrap(), b.join().unwrap())
    })
}

fn two_hosts() -> (Server, Server) {
    two_hosts_on(&pg::database())
}

fn mail(from: &str, subject: &str, message_id: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut headers = vec![
        ("From", from),
        ("To", "inbox@inbox.localhost"),
        ("Subject", subject),
        ("Message-ID", message_id),
    ];
    headers.extend_from_slice(extra);
    message(&headers, body)
}

/// Sends every `(host, message)` at once (a barrier lines the threads up); the replies' codes.
fn at_once(jobs: Vec<(std::net::SocketAddr, String, String)>) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|(addr, rcpt, msg)| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                c.ehlo();
                c.cmd("MAIL FROM:<sender@mailer.example>").expect(250, "2.1.0");
                c.cmd(&format!("RCPT TO:<{rcpt}>")).expect(250, "2.1.5");
                assert_eq!(c.cmd("DATA").code, 354);
                barrier.wait();
                c.write(dot_stuff(msg.as_bytes()).as_slice());
                c.write(b".\r\n");
                let code = c.reply().code;
                c.quit();
                code
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn two_hosts_starting_at_once_on_an_empty_database_migrate_it_once() {
    let (a, b) = two_hosts();
    assert_eq!(a.count("SELECT count(*) FROM schema_version"), 1);
    assert_eq!(
        b.count("SELECT max(version) FROM schema_version"),
        inboxd::store::schema::LATEST as i64
    );
    let shown = a.cli(&["check-config", "--connect"]);
    let said = String::from_utf8_lossy(&shown.stderr);
    assert!(shown.status.success(), "{said}");
    assert!(
        said.contains("database: PostgreSQL 15.")
            && said.contains(&format!(
                ", schema {0} (this build knows {0})",
                inboxd::store::schema::LATEST
            )),
        "{said}"
    );
}

#[test]
fn the_same_sender_through_two_hosts_at_once_is_one_contact_in_one_conversation() {
    let (a, b) = two_hosts();
    let acme = a.create_account("Acme");
    let senders = 50;
    let jobs = (0..senders)
        .flat_map(|i| {
            let from = format!("new{i}@customer.example");
            [(a.addr, "a"), (b.addr, "b")].map(|(addr, host)| {
                let msg = mail(
                    &from,
                    &format!("Question {i}"),
                    &format!("<q{i}-{host}@customer.example>"),
                    &[],
                    &format!("asked through host {host}"),
                );
                (addr, acme.address.clone(), msg)
            })
        })
        .collect();
    let codes = at_once(jobs);
    assert!(codes.iter().all(|c| *c == 250), "{codes:?}");
    let contacts = a.contacts(acme.id);
    assert_eq!(contacts.len(), senders, "one contact per sender");
    assert_eq!(
        a.count("SELECT count(*) FROM events WHERE type = 'contact.created'"),
        senders as i64
    );
    let conversations = b.conversations(acme.id);
    assert_eq!(conversations.len(), senders, "one conversation per sender");
    assert!(
        conversations.iter().all(|c| c["message_count"] == 2),
        "{conversations:?}"
    );
    assert_eq!(a.count("SELECT count(*) FROM messages"), 2 * senders as i64);
}

#[test]
fn a_message_retried_on_the_other_host_at_once_is_stored_once_and_acknowledged_twice() {
    let (a, b) = two_hosts();
    let acme = a.create_account("Acme");
    let messages = 50;
    let jobs = (0..messages)
        .flat_map(|i| {
            let msg = mail(
                "jane@customer.example",
                &format!("Order {i}"),
                &format!("<order{i}@customer.example>"),
                &[],
                "the same bytes to both MX hosts",
            );
            [a.addr, b.addr].map(|addr| (addr, acme.address.clone(), msg.clone()))
        })
        .collect();
    let codes = at_once(jobs);
    assert_eq!(codes.len(), 2 * messages);
    assert!(codes.iter().all(|c| *c == 250), "both hosts answer 250: {codes:?}");
    assert_eq!(a.count("SELECT count(*) FROM messages"), messages as i64);
    assert_eq!(
        a.count("SELECT count(*) FROM events WHERE type = 'message.received'"),
        messages as i64
    );
    assert_eq!(a.contacts(acme.id).len(), 1);
}

#[test]
fn two_replies_to_one_message_through_two_hosts_join_its_conversation() {
    let (a, b) = two_hosts();
    let acme = a.create_account("Acme");
    for round in 0..10 {
        let customer = format!("c{round}@customer.example");
        let first = format!("<start{round}@customer.example>");
        let reply = a.send(
            "c@customer.example",
            &[&acme.address],
            &mail(&customer, "Start", &first, &[], "hello"),
        );
        assert_eq!(reply.code, 250);
        // Two replies to it, each with its own subject (only the thread headers can join them).
        let jobs = [(a.addr, "a"), (b.addr, "b")]
            .map(|(addr, host)| {
                let msg = mail(
                    &customer,
                    &format!("Something else via {host}"),
                    &format!("<reply{round}-{host}@customer.example>"),
                    &[("In-Reply-To", &first), ("References", &first)],
                    "more",
                );
                (addr, acme.address.clone(), msg)
            })
            .to_vec();
        assert!(at_once(jobs).iter().all(|c| *c == 250));
    }
    let conversations = a.conversations(acme.id);
    assert_eq!(conversations.len(), 10, "{conversations:?}");
    assert!(conversations.iter().all(|c| c["message_count"] == 3));
}

#[test]
fn a_merge_racing_replies_on_the_other_host_loses_nothing() {
    let (a, b) = two_hosts();
    let acme = a.create_account("Acme");
    // How many messages each merge moved: those of the replies that came before it.
    let mut moved = Vec::new();
    for round in 0..3 {
        let (alice, bob) = (
            format!("alice{round}@customer.example"),
            format!("bob{round}@customer.example"),
        );
        let first = format!("<first{round}@customer.example>");
        assert_eq!(
            a.send(&alice, &[&acme.address], &mail(&alice, "Order", &first, &[], "hello"))
                .code,
            250
        );
        let other = format!("<other{round}@customer.example>");
        assert_eq!(
            a.send(&bob, &[&acme.address], &mail(&bob, "Order too", &other, &[], "hi"))
                .code,
            250
        );
        let id_of = |who: &str| -> i64 {
            a.conversations(acme.id)
                .iter()
                .find(|c| c["contact_email"] == who)
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        };
        let (from, into) = (id_of(&alice), id_of(&bob));
        // Alice's replies stream in through host b (a sender retries a 4xx, as MTAs do) while
        // host a's CLI merges her conversation into Bob's.
        let (addr, rcpt) = (b.addr, acme.address.clone());
        let sender = std::thread::spawn(move || {
            let mut accepted = 0;
            for n in 0..30 {
                let msg = mail(
                    &alice,
                    "Re: Order",
                    &format!("<reply{round}-{n}@customer.example>"),
                    &[("In-Reply-To", &first)],
                    "more",
                );
                for _attempt in 0..20 {
                    let mut c = Client::connect(addr);
                    c.ehlo();
                    let code = c.transaction(&alice, &[&rcpt], msg.as_bytes()).code;
                    c.quit();
                    if code == 250 {
                        accepted += 1;
                        break;
                    }
                    assert!((400..500).contains(&code), "only a transient refusal: {code}");
                }
            }
            accepted
        });
        std::thread::sleep(Duration::from_millis(150 * (round + 1)));
        let merged = a.json(&["conversations", "merge", &from.to_string(), "--into", &into.to_string()]);
        assert_eq!(merged["into"], into);
        moved.push(merged["moved"].as_i64().unwrap());
        assert_eq!(sender.join().unwrap(), 30, "every reply acknowledged");
        let in_target = a.count(&format!("SELECT count(*) FROM messages WHERE conversation_id = {into}"));
        assert_eq!(in_target, 32, "every message of both, in the target");
        assert_eq!(
            a.count(&format!("SELECT message_count FROM conversations WHERE id = {into}")),
            32
        );
        assert_eq!(
            a.count(&format!("SELECT count(*) FROM conversations WHERE id = {from}")),
            0
        );
    }
    assert!(
        moved.iter().any(|m| *m > 1 && *m < 31),
        "at least one merge ran while replies were arriving: {moved:?}"
    );
}

#[test]
fn an_account_changed_through_one_host_routes_so_on_the_other_at_once() {
    let (a, b) = two_hosts();
    let acme = a.create_account("Acme");
    let rcpt = |server: &Server, address: &str| {
        let mut c = server.connect();
        c.ehlo();
        c.cmd("MAIL FROM:<x@y.example>");
        let r = c.cmd(&format!("RCPT TO:<{address}>"));
        c.quit();
        (r.code, r.status().to_string())
    };
    // Each host may answer from what it read within the last second; never older than 2 s.
    let within_2s = |server: &Server, address: &str, want: (u16, &str)| {
        let changed = Instant::now();
        let got = wait_for(Duration::from_secs(5), || {
            let got = rcpt(server, address);
            (got.0 == want.0 && got.1 == want.1).then_some(got)
        });
        assert!(
            changed.elapsed() < Duration::from_secs(2),
            "{address}: {got:?} only after {:?}",
            changed.elapsed()
        );
    };
    assert_eq!(rcpt(&b, &acme.address).0, 250);
    a.cli(&["accounts", "disable", &acme.id.to_string()]);
    within_2s(&b, &acme.address, (550, "5.2.1"));
    b.cli(&["accounts", "enable", &acme.id.to_string()]);
    within_2s(&a, &acme.address, (250, "2.1.5"));
    within_2s(&b, &acme.address, (250, "2.1.5"));
    let rotated = b.json(&["accounts", "rotate-address", &acme.id.to_string()]);
    let new = rotated["address"].as_str().unwrap();
    within_2s(&a, new, (250, "2.1.5"));
    within_2s(&a, &acme.address, (550, "5.1.1"));
}

/// Follows `events --since` through one host's CLI until `stop`, then to the end; every id seen.
fn follow_events(server: &Server, stop: &AtomicBool) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor = 0i64;
    let mut quiet_rounds = 0;
    loop {
        let page = server.json(&["events", "--since", &cursor.to_string(), "--limit", "500"]);
        let events = page["events"].as_array().unwrap();
        seen.extend(events.iter().map(|e| e["id"].as_i64().unwrap()));
        cursor = page["next_cursor"].as_i64().unwrap();
        if events.is_empty() {
            if stop.load(Ordering::Relaxed) {
                quiet_rounds += 1;
                if quiet_rounds > 3 {
                    return seen;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_follower_of_the_event_cursor_sees_every_event_once_while_two_hosts_write() {
    let (a, b) = two_hosts();
    let acme = a.create_account("Acme");
    let stop = Arc::new(AtomicBool::new(false));
    let (threads, ledger) = start_load(vec![a.addr, b.addr], &acme.address, 8, &stop);
    let writers_done = Arc::new(AtomicBool::new(false));
    let seen = std::thread::scope(|s| {
        let follower = s.spawn(|| follow_events(&a, &writers_done));
        std::thread::sleep(Duration::from_secs(4));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        writers_done.store(true, Ordering::Relaxed);
        follower.join().unwrap()
    });
    let all: Vec<i64> = b
        .texts("SELECT CAST(id AS TEXT) FROM events ORDER BY events.id")
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no event seen twice");
    assert_eq!(seen, all, "the follower saw every committed event, in order");
    assert!(acked(&ledger) > 100, "too light a load: {}", acked(&ledger));
    check_ledger(&a, &ledger);
    assert_consistent(&a);
}

#[test]
fn sigkill_of_one_host_under_load_loses_nothing_while_the_other_serves() {
    let kills = env_or("INBOXD_FAULT_KILLS", 10);
    let clients = env_or("INBOXD_FAULT_CLIENTS", 8);
    let url = pg::database();
    let port = free_port();
    let mut a = builder()
        .set("database.url", url.as_str())
        .set(
            "server.listen",
            toml::Value::Array(vec![format!("127.0.0.1:{port}").into()]),
        )
        .start();
    let b = builder().set("database.url", url.as_str()).start();
    let acme = a.create_account("Acme");
    let stop = Arc::new(AtomicBool::new(false));
    let (threads, ledger) = start_load(vec![a.addr, b.addr], &acme.address, clients, &stop);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ u64::from(port));
    let started = Instant::now();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(200 + rng.next() % 400));
        a.signal("KILL");
        let _ = a.wait_exit(Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(rng.next() % 200));
        a.restart();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (acked, unacked_stored, unacked_absent) = check_ledger(&b, &ledger);
    assert_consistent(&b);
    println!(
        "two hosts, {kills} SIGKILLs of one in {:.1}s under {clients} clients: {acked} acknowledged (all stored once), {unacked_stored} unacknowledged but stored once, {unacked_absent} unacknowledged and absent; lost: 0",
        started.elapsed().as_secs_f64()
    );
    assert!(acked > 100, "the load was too light to mean anything: {acked}");
}

#[test]
fn the_database_is_reached_over_tls_with_the_password_from_its_file() {
    let pg = pg::Postgres::secured();
    let url = pg.database();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("db-password");
    std::fs::write(&password, format!("{}\n", pg::PASSWORD)).unwrap();
    let ca = fixture("tls/ca.pem");
    let check = |builder: Builder| {
        let config = builder.write_config();
        let out = std::process::Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "check-config", "--connect"])
            .envs(std::iter::once((
                "INBOXD_DATABASE_URL",
                format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display()),
            )))
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    // Without TLS the server lets nobody in over TCP; without the password neither.
    let (ok, said) = check(
        builder()
            .set("database.url", url.as_str())
            .set("database.password_file", password.to_str().unwrap()),
    );
    assert!(!ok && said.contains("cannot connect"), "{said}");
    let (ok, said) = check(builder().set("database.url", format!("{url}?sslmode=require")));
    assert!(!ok && said.contains("cannot connect"), "{said}");
    // TLS verified against the test CA, the URL from the environment, the password from its file.
    let (ok, said) = check(
        builder()
            .set("database.url_env", "INBOXD_DATABASE_URL")
            .set("database.password_file", password.to_str().unwrap()),
    );
    assert!(ok && said.contains("database: PostgreSQL 15."), "{said}");
    assert!(!said.contains(pg::PASSWORD), "the password is never printed: {said}");
    let server = builder()
        .set("database.url_env", "INBOXD_DATABASE_URL")
        .set("database.password_file", password.to_str().unwrap())
        .env(
            "INBOXD_DATABASE_URL",
            &format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display()),
        )
        .start();
    let acme = server.create_account("Acme");
    let reply = server.send(
        "jane@customer.example",
        &[&acme.address],
        &mail(
            "jane@customer.example",
            "Over TLS",
            "<tls1@customer.example>",
            &[],
            "hello",
        ),
    );
    assert_eq!(reply.code, 250, "{reply:?}");
    assert_eq!(server.contacts(acme.id).len(), 1);
}

#[test]
fn a_host_refuses_to_start_on_a_schema_newer_than_it_knows() {
    let url = pg::database();
    let server = builder().set("database.url", url.as_str()).start();
    server
        .pg()
        .batch_execute("UPDATE schema_version SET version = 99")
        .unwrap();
    let out = server.cli(&["migrate"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "schema version 99 is newer than this inboxd knows ({}): upgrade inboxd",
            inboxd::store::schema::LATEST
        )),
        "{said}"
    );
    let second = std::process::Command::new(BIN)
        .args(["--config", server.config_path.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("newer than this inboxd knows"));
    server
        .pg()
        .batch_execute(&format!(
            "UPDATE schema_version SET version = {}",
            inboxd::store::schema::LATEST
        ))
        .unwrap();
    let out = server.cli(&["migrate"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("schema {} is current", inboxd::store::schema::LATEST))
    );
}

#[test]
fn two_hosts_send_each_webhook_once_and_in_order_per_contact() {
    let receiver = common::receiver::Receiver::accepting();
    let url = pg::database();
    let host = |name: &str| {
        builder()
            .set("database.url", url.as_str())
            .set("server.hostname", name)
            .set("webhooks.allow_private", true)
            .start()
    };
    let (a, b) = (host("mx1.test.example"), host("mx2.test.example"));
    let acme = a.create_account("Acme");
    let endpoint = a.json(&["webhooks", "add", &receiver.url("/hooks")]);
    receiver.set_secret(endpoint["secret"].as_str().unwrap());
    let jobs = (0..50)
        .map(|n| {
            let from = format!("sender{n}@customer.example");
            let host = if n % 2 == 0 { a.addr } else { b.addr };
            (
                host,
                acme.address.clone(),
                mail(&from, "Hello", &format!("<h{n}@customer.example>"), &[], "Hi"),
            )
        })
        .collect();
    assert!(at_once(jobs).iter().all(|&code| code == 250));
    let events = a.events(0);
    assert_eq!(events.len(), 150);
    let got = receiver.wait_for_ids(150, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    let got_all = receiver.received();
    assert_eq!(
        got_all.len(),
        150,
        "each delivery sent once, by one host: {} requests",
        got_all.len()
    );
    assert!(got.iter().all(|r| r.verified));
    // Per contact: created, then its conversation, then its message.
    let mut by_contact: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for r in &got_all {
        let contact = r.body["data"]["contact_id"]
            .as_i64()
            .or_else(|| r.body["data"]["contact"]["id"].as_i64())
            .unwrap();
        by_contact
            .entry(contact)
            .or_default()
            .push(r.body["event_id"].as_i64().unwrap());
    }
    assert_eq!(by_contact.len(), 50);
    for (contact, ids) in by_contact {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "contact {contact}: {ids:?}");
    }
}
