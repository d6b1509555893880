//! The limits a platform receiving forwarded mail needs: a stock Postfix burst on the defaults, a
//! connection's place given back at QUIT, exemptions by network and by confirmed host name (with
//! the checks still run), and IPv6 clients counted per /64.

use super::*;
use std::net::Ipv4Addr;

/// Postfix's `smtp-source` (Debian package `postfix`).
fn smtp_source() -> std::path::PathBuf {
    common::tools::require("smtp-source")
}

#[test]
fn a_stock_postfix_burst_is_accepted_whole_on_the_default_limits() {
    // The defaults, not the test harness's relaxed rates.
    let server = builder()
        .unset("limits.connection_rate")
        .unset("limits.message_rate")
        .start();
    let acme = server.create_account("Acme");
    // 20 parallel sessions, 2000 messages, one connection per message as Postfix does by default.
    let out = Command::new(smtp_source())
        .args([
            "-s",
            "20",
            "-m",
            "2000",
            "-f",
            "forwarder@gmail.example",
            "-t",
            &acme.address,
        ])
        .arg(server.addr.to_string())
        .output()
        .expect("smtp-source runs");
    assert!(
        out.status.success(),
        "smtp-source: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let refused: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("connection refused") || l.contains("\"result\":4") || l.contains("\"result\":5"))
        .collect();
    assert!(refused.is_empty(), "nothing refused: {refused:?}");
    assert!(
        eventually(Duration::from_secs(30), || server
            .count("SELECT count(*) FROM raw_messages")
            == 2000),
        "every message is stored: {}",
        server.count("SELECT count(*) FROM raw_messages")
    );
}

#[test]
fn the_connection_place_is_free_once_quit_is_answered() {
    let server = builder().set("limits.max_connections_per_ip", 2).start();
    // Two clients, each reconnecting the moment it reads 221: never more than 2 open at once.
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                for i in 0..100 {
                    let mut c = Client::connect(addr);
                    assert_eq!(c.greeting.code, 220, "round {i}: {:?}", c.greeting);
                    c.cmd("QUIT").expect(221, "2.0.0");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("every reconnect is greeted");
    }
}

#[test]
fn exempt_networks_lift_the_rates_and_the_per_ip_cap_but_not_the_checks() {
    let server = builder()
        .set("limits.connection_rate", 2)
        .set("limits.message_rate", 1)
        .set("limits.max_connections_per_ip", 1)
        .set(
            "limits.exempt_networks",
            toml::Value::Array(vec!["127.0.0.2/32".into()]),
        )
        .start();
    let acme = server.create_account("Acme");
    let exempt: Vec<TcpStream> = (0..4).map(|_| connect_from("127.0.0.2", server.addr)).collect();
    for mut s in exempt {
        assert!(
            read_reply_line(&mut s).starts_with("220 "),
            "an exempt network is not capped"
        );
        assert!(deliver_raw(&mut s, &acme.address, "exempt").starts_with("250 2.0.0"));
        assert!(deliver_raw(&mut s, &acme.address, "exempt again").starts_with("250 2.0.0"));
    }
    // Its mail is still checked: our Authentication-Results header is on it.
    let raw: Vec<u8> = server.first_raw();
    assert!(String::from_utf8_lossy(&raw).contains("Authentication-Results: mx.test.example;"));
    // Anyone else meets the limits.
    let mut first = connect_from("127.0.0.3", server.addr);
    assert!(read_reply_line(&mut first).starts_with("220 "));
    let mut second = connect_from("127.0.0.3", server.addr);
    assert!(read_reply_line(&mut second).starts_with("421 4.7.0"));
}

#[test]
fn forwarders_with_a_confirmed_host_name_are_spared() {
    let (_, zone) = zone();
    // Clients come through a trusted PROXY hop with TEST-NET addresses (the resolver answers the
    // loopback's reverse zone itself). 192.0.2.4 is mail-fwd.google.com and back; 192.0.2.5 claims
    // a google.com name that does not resolve back to it; 192.0.2.6 has no name at all.
    zone.ptr(Ipv4Addr::new(192, 0, 2, 4), "mail-fwd.google.com");
    zone.a("mail-fwd.google.com", Ipv4Addr::new(192, 0, 2, 4));
    zone.ptr(Ipv4Addr::new(192, 0, 2, 5), "mail-liar.google.com");
    zone.a("mail-liar.google.com", Ipv4Addr::new(192, 0, 2, 99));
    let server = builder()
        .set("server.proxy_protocol", true)
        .set(
            "server.proxy_trusted_networks",
            toml::Value::Array(vec!["127.0.0.1/32".into()]),
        )
        .set("limits.connection_rate", 1)
        .set("limits.max_connections_per_ip", 1)
        .start();
    let acme = server.create_account("Acme");
    let connect = |client: &str| -> (TcpStream, String) {
        let mut s = connect_from("127.0.0.1", server.addr);
        s.write_all(format!("PROXY TCP4 {client} 192.0.2.25 40000 25\r\n").as_bytes())
            .unwrap();
        let greeting = read_reply_line(&mut s);
        (s, greeting)
    };
    let mut open = Vec::new();
    for _ in 0..4 {
        let (s, greeting) = connect("192.0.2.4");
        assert!(
            greeting.starts_with("220 "),
            "a confirmed google.com host is spared: {greeting}"
        );
        open.push(s);
    }
    assert!(deliver_raw(&mut open[3], &acme.address, "forwarded").starts_with("250 2.0.0"));
    assert!(
        server
            .logs()
            .iter()
            .any(|l| l.contains("limit lifted") && l.contains("mail-fwd.google.com")),
        "the lifted limit is logged"
    );
    // Its mail is still checked.
    let raw: Vec<u8> = server.first_raw();
    assert!(String::from_utf8_lossy(&raw).contains("Authentication-Results: mx.test.example;"));
    for liar in ["192.0.2.5", "192.0.2.6"] {
        let (_first, greeting) = connect(liar);
        assert!(greeting.starts_with("220 "), "{greeting}");
        let (_, second) = connect(liar);
        assert!(second.starts_with("421 4.7.0"), "{liar} is not spared: {second}");
    }
}

#[test]
fn ipv6_clients_share_one_budget_per_64() {
    let server = builder()
        .set("server.proxy_protocol", true)
        .set(
            "server.proxy_trusted_networks",
            toml::Value::Array(vec!["127.0.0.1/32".into()]),
        )
        .set("limits.connection_rate", 2)
        .start();
    let greeting_for = |client: &str| -> String {
        let mut s = connect_from("127.0.0.1", server.addr);
        s.write_all(format!("PROXY TCP6 {client} 2001:db8::25 40000 25\r\n").as_bytes())
            .unwrap();
        read_reply_line(&mut s)
    };
    assert!(greeting_for("2001:db8:1:2::1").starts_with("220 "));
    assert!(greeting_for("2001:db8:1:2::2").starts_with("220 "));
    // A third address in the same /64 finds the budget spent.
    assert!(greeting_for("2001:db8:1:2:ffff::3").starts_with("421 4.7.0"));
    // Another /64 has its own.
    assert!(greeting_for("2001:db8:1:3::1").starts_with("220 "));
}
