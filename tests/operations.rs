//! Running inboxd as a postmaster would: configuration, TLS reloads, implicit TLS, PROXY protocol,
//! rate limits, the storage cap, metrics and health, socket activation, the systemd unit.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;

// ---------------------------------------------------------------- configuration

fn check_config(path: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "check-config"])
        .output()
        .unwrap()
}

#[test]
fn configuration_errors_name_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    for (text, key, line) in [
        (
            "[server]\nhostname = \"mx\"\nlisten_on = [\"127.0.0.1:25\"]\n",
            "listen_on",
            3,
        ),
        ("[limits]\n\nmax_recipients = \"many\"\n", "max_recipients", 3),
        (
            "[server]\nhostname = \"mx\"\n[limits]\nmax_recipients = 0\n",
            "limits.max_recipients",
            4,
        ),
        ("[database]\nmax_size = 10\n", "database.max_size", 2),
        (
            "[server]\nproxy_trusted_networks = [\"10.0.0.0/99\"]\n",
            "proxy_trusted_networks",
            2,
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let out = check_config(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
        assert!(err.contains(&format!("line {line}")), "{text}: {err}");
        // The server refuses to start on it too.
        let out = Command::new(BIN)
            .args(["--config", path.to_str().unwrap(), "serve"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
    }
}

#[test]
fn check_config_prints_the_effective_configuration() {
    let out = check_config(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/inboxd.toml"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(printed["server"]["hostname"].as_str(), Some("inboxd.localhost"));
    assert_eq!(printed["limits"]["max_recipients"].as_integer(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr).contains("development key"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[server]\nhostname = \"mx.example.com\"\n[reply_tokens]\nsecret = \"a-very-secret-key-123\"\n",
    )
    .unwrap();
    let out = check_config(&path);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("hostname = \"mx.example.com\""));
    assert!(
        printed.contains("max_message_size = 26214400"),
        "defaults are shown too: {printed}"
    );
    assert!(!printed.contains("a-very-secret-key-123"), "secrets are masked");
}

#[test]
fn the_example_configuration_documents_every_setting_with_its_default() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/inboxd.toml")).unwrap();
    let example = inboxd::config::Config::parse(&text).unwrap();
    assert_eq!(
        example,
        inboxd::config::Config::default(),
        "the example's values are the defaults"
    );
    // Every key of every section is mentioned (set, or commented out for optional ones).
    let defaults: toml::Table = toml::from_str(&toml::to_string(&inboxd::config::Config::default()).unwrap()).unwrap();
    let optional = [
        "certificate",
        "private_key",
        "secret",
        "secret_file",
        "secret_env",
        "listen",
    ];
    for (section, keys) in &defaults {
        assert!(text.contains(&format!("[{section}]")), "[{section}] missing");
        for key in keys.as_table().unwrap().keys() {
            assert!(text.contains(&format!("{key} = ")), "{section}.{key} is not documented");
        }
    }
    for key in optional {
        assert!(
            text.contains(&format!("# {key} = ")) || text.contains(&format!("{key} = ")),
            "{key}"
        );
    }
}

#[test]
fn the_reply_secret_can_come_from_a_file_or_the_environment() {
    let secret_dir = tempfile::tempdir().unwrap();
    let file = secret_dir.path().join("secret");
    std::fs::write(&file, "file-secret-0123456789abcdef\n").unwrap();
    let server = builder()
        .set("reply_tokens.secret_file", file.to_str().unwrap())
        .set(
            "reply_tokens.secret",
            toml::Value::String("unused-inline-0123456789".into()),
        )
        .start();
    let acme = server.create_account("Acme");
    let address = server.json(&["reply-address", &acme.id.to_string(), "--contact", "a@b.example"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let router = inboxd::routing::Router::new(vec![DOMAIN.into()], b"file-secret-0123456789abcdef".to_vec());
    assert!(router.route(&address).is_ok(), "signed with the file's key");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{address}>")).expect(250, "2.1.5");

    let server = builder()
        .set("reply_tokens.secret_env", "INBOXD_TEST_SECRET")
        .env("INBOXD_TEST_SECRET", "env-secret-0123456789abcdef")
        .start();
    let acme = server.create_account("Acme");
    let address = server.json(&["reply-address", &acme.id.to_string(), "--contact", "a@b.example"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let router = inboxd::routing::Router::new(vec![DOMAIN.into()], b"env-secret-0123456789abcdef".to_vec());
    assert!(router.route(&address).is_ok(), "signed with the environment's key");
    // A missing variable is a configuration error naming the key.
    let b = builder().set("reply_tokens.secret_env", "INBOXD_TEST_SECRET_MISSING");
    let out = check_config(&b.write_config());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reply_tokens.secret_env"));
}

// ---------------------------------------------------------------- TLS

fn tls_client(server_name: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("tls/ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let _ = server_name;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls_connect(stream: TcpStream) -> Tls {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls_client("localhost"), name).unwrap();
    rustls::StreamOwned::new(conn, stream)
}

fn tls_line(tls: &mut Tls) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        tls.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// The common name of the certificate the server presented.
fn peer_cn(tls: &Tls) -> String {
    let cert = &tls.conn.peer_certificates().unwrap()[0];
    let der = cert.as_ref();
    // Good enough for our two test certificates: find the CN text in the DER.
    for cn in ["inboxd-test-a", "inboxd-test-b"] {
        if der.windows(cn.len()).any(|w| w == cn.as_bytes()) {
            return cn.to_string();
        }
    }
    "unknown".into()
}

fn starttls(addr: SocketAddr) -> Tls {
    let mut c = Client::connect(addr);
    c.ehlo();
    c.cmd("STARTTLS").expect(220, "2.0.0");
    let mut tls = tls_connect(c.stream.try_clone().unwrap());
    tls.write_all(b"NOOP\r\n").unwrap();
    assert!(tls_line(&mut tls).starts_with("250"));
    tls
}

#[test]
fn sighup_reloads_a_renewed_certificate_without_dropping_connections() {
    let b = builder();
    let cert = b.dir().join("cert.pem");
    let key = b.dir().join("key.pem");
    std::fs::copy(fixture("tls/cert-a.pem"), &cert).unwrap();
    std::fs::copy(fixture("tls/key-a.pem"), &key).unwrap();
    let server = b
        .set("tls.certificate", cert.to_str().unwrap())
        .set("tls.private_key", key.to_str().unwrap())
        .start();
    let mut before = starttls(server.addr);
    assert_eq!(peer_cn(&before), "inboxd-test-a");
    // Renewal: the files change, then `systemctl reload` sends SIGHUP.
    std::fs::copy(fixture("tls/cert-b.pem"), &cert).unwrap();
    std::fs::copy(fixture("tls/key-b.pem"), &key).unwrap();
    server.signal("HUP");
    assert!(eventually(Duration::from_secs(5), || server
        .logs()
        .iter()
        .any(|l| l.contains("reloaded: TLS certificate"))));
    let after = starttls(server.addr);
    assert_eq!(
        peer_cn(&after),
        "inboxd-test-b",
        "a new client sees the new certificate"
    );
    before.write_all(b"NOOP\r\n").unwrap();
    assert!(
        tls_line(&mut before).starts_with("250"),
        "the old connection was not dropped"
    );
    // A broken renewal keeps the working certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal("HUP");
    assert!(eventually(Duration::from_secs(5), || server
        .logs()
        .iter()
        .any(|l| l.contains("reload failed"))));
    assert_eq!(peer_cn(&starttls(server.addr)), "inboxd-test-b");
}

#[test]
fn implicit_tls_listener_speaks_tls_from_the_first_byte() {
    let server = builder()
        .tls()
        .set("server.listen_tls", toml::Value::Array(vec!["127.0.0.1:0".into()]))
        .start();
    let acme = server.create_account("Acme");
    let stream = TcpStream::connect(server.tls_addr.expect("a TLS listener")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = tls_connect(stream);
    assert!(tls_line(&mut tls).starts_with("220 mx.test.example ESMTP"));
    tls.write_all(b"EHLO secure.example\r\n").unwrap();
    let mut ehlo = String::new();
    loop {
        let line = tls_line(&mut tls);
        ehlo.push_str(&line);
        if line.as_bytes()[3] == b' ' {
            break;
        }
    }
    assert!(!ehlo.contains("STARTTLS"), "already encrypted: {ehlo}");
    tls.write_all(format!("MAIL FROM:<a@b.example>\r\nRCPT TO:<{}>\r\nDATA\r\n", acme.address).as_bytes())
        .unwrap();
    assert!(tls_line(&mut tls).starts_with("250"));
    assert!(tls_line(&mut tls).starts_with("250"));
    assert!(tls_line(&mut tls).starts_with("354"));
    tls.write_all(b"Subject: over 465\r\n\r\nhi\r\n.\r\n").unwrap();
    assert!(tls_line(&mut tls).starts_with("250 2.0.0"));
    let env: String = server
        .db()
        .query_row("SELECT envelope_json FROM messages", [], |r| r.get(0))
        .unwrap();
    assert!(env.contains("\"tls\":\"TLSv1.3"), "{env}");
    assert!(env.contains("TLS13_"), "the cipher is recorded: {env}");
}

// ---------------------------------------------------------------- PROXY protocol

fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(to).await.unwrap();
        let std = stream.into_std().unwrap();
        std.set_nonblocking(false).unwrap();
        std.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        std
    })
}

fn read_reply_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            break;
        }
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).to_string()
}

fn proxy_v2(src: [u8; 4], port: u16) -> Vec<u8> {
    let mut v = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v.extend_from_slice(&[0x21, 0x11, 0, 12]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&[10, 0, 0, 1]);
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&25u16.to_be_bytes());
    v
}

fn deliver_raw(stream: &mut TcpStream, rcpt: &str, subject: &str) -> String {
    stream
        .write_all(format!("EHLO lb.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n").as_bytes())
        .unwrap();
    let mut replies = Vec::new();
    while replies.len() < 4 {
        let line = read_reply_line(stream);
        if line.as_bytes().get(3) == Some(&b' ') {
            replies.push(line);
        }
    }
    assert!(replies[3].starts_with("354"), "{replies:?}");
    stream
        .write_all(format!("Subject: {subject}\r\n\r\nx\r\n.\r\n").as_bytes())
        .unwrap();
    read_reply_line(stream)
}

#[test]
fn proxy_protocol_is_believed_only_from_trusted_proxies() {
    let server = builder()
        .set("server.proxy_protocol", true)
        .set(
            "server.proxy_trusted_networks",
            toml::Value::Array(vec!["127.0.0.1/32".into()]),
        )
        .set("limits.max_connections_per_ip", 1)
        .start();
    let acme = server.create_account("Acme");
    let client_ip = |subject: &str| -> String {
        let env: String = server
            .db()
            .query_row(
                "SELECT envelope_json FROM messages WHERE subject = ?1",
                [subject],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&env).unwrap()["client_ip"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // v1 from the trusted load balancer: the real client is 203.0.113.9.
    let mut s = connect_from("127.0.0.1", server.addr);
    s.write_all(b"PROXY TCP4 203.0.113.9 10.0.0.1 40001 25\r\n").unwrap();
    assert!(read_reply_line(&mut s).starts_with("220 "));
    assert!(deliver_raw(&mut s, &acme.address, "via v1").starts_with("250 2.0.0"));
    assert_eq!(client_ip("via v1"), "203.0.113.9");
    let raw: Vec<u8> = server
        .db()
        .query_row("SELECT data FROM raw_messages", [], |r| r.get(0))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&raw).contains("([203.0.113.9])"),
        "the Received header names the real client"
    );

    // v2, another real client; limits count real addresses (one connection each here).
    let mut s2 = connect_from("127.0.0.1", server.addr);
    s2.write_all(&proxy_v2([198, 51, 100, 7], 40002)).unwrap();
    assert!(read_reply_line(&mut s2).starts_with("220 "));
    assert!(deliver_raw(&mut s2, &acme.address, "via v2").starts_with("250 2.0.0"));
    assert_eq!(client_ip("via v2"), "198.51.100.7");
    let mut s3 = connect_from("127.0.0.1", server.addr);
    s3.write_all(&proxy_v2([198, 51, 100, 7], 40003)).unwrap();
    let refused = read_reply_line(&mut s3);
    assert!(
        refused.starts_with("421 4.7.0"),
        "the second connection of 198.51.100.7: {refused}"
    );
    drop((s, s2, s3));

    // From an untrusted address the header is not believed: it is just an unknown command.
    let mut u = connect_from("127.0.0.2", server.addr);
    assert!(
        read_reply_line(&mut u).starts_with("220 "),
        "a direct client gets the greeting at once"
    );
    u.write_all(b"PROXY TCP4 192.0.2.1 10.0.0.1 40004 25\r\n").unwrap();
    assert!(read_reply_line(&mut u).starts_with("500 5.5.1"));
    assert!(deliver_raw(&mut u, &acme.address, "untrusted").starts_with("250 2.0.0"));
    assert_eq!(client_ip("untrusted"), "127.0.0.2");
    let mut u2 = connect_from("127.0.0.2", server.addr);
    u2.write_all(&proxy_v2([192, 0, 2, 1], 40005)).unwrap();
    let greeting = read_reply_line(&mut u2);
    assert!(
        greeting.starts_with("220 ") || greeting.starts_with("421 "),
        "{greeting}"
    );
    assert_eq!(
        server.count("SELECT count(*) FROM messages WHERE envelope_json LIKE '%192.0.2.1%'"),
        0
    );
}

// ---------------------------------------------------------------- abuse controls

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

/// Polls `/metrics` until `name` satisfies `ok` (the server works through what a client wrote).
fn wait_for_metric(http: SocketAddr, name: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = metric(&http_get(http, "/metrics").1, name);
        if ok(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{name} stayed at {value}");
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let body = "x".repeat(200 * 1024);
    let mut accepted = 0;
    let mut refusal = None;
    for i in 0..40 {
        c.cmd("MAIL FROM:<a@b.example>");
        // Either MAIL or the end of DATA says 452 once the cap is reached.
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
    assert!(accepted >= 3, "{accepted}");
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

// ---------------------------------------------------------------- observability

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[test]
fn metrics_and_healthz_are_served_over_http() {
    let server = builder().set("http.listen", "127.0.0.1:0").tls().start();
    let http = server.http_addr.expect("http listener");
    assert_eq!(http_get(http, "/healthz"), (200, "ok\n".to_string()));
    let acme = server.create_account("Acme");
    server
        .send("a@b.example", &[&acme.address], &message(&[("Subject", "m")], "x"))
        .expect(250, "2.0.0");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>");
    c.cmd("RCPT TO:<nobody@inbox.localhost>").expect(550, "5.1.1");
    let _tls = starttls(server.addr);
    let (code, body) = http_get(http, "/metrics");
    assert_eq!(code, 200);
    assert!(metric(&body, "inboxd_connections_total") >= 3.0);
    assert!(metric(&body, "inboxd_connections_open") >= 1.0);
    assert_eq!(metric(&body, "inboxd_messages_accepted_total"), 1.0);
    assert_eq!(metric(&body, "inboxd_message_replies_total{code=\"250\"}"), 1.0);
    assert_eq!(metric(&body, "inboxd_recipient_replies_total{code=\"550\"}"), 1.0);
    assert!(metric(&body, "inboxd_received_bytes_total") > 0.0);
    assert!(metric(&body, "inboxd_commit_latency_seconds_count") >= 1.0);
    assert!(metric(&body, "inboxd_commit_batch_size_count") >= 1.0);
    assert!(
        metric(&body, "inboxd_sessions{state=\"envelope\"}") >= 1.0,
        "the session in MAIL/RCPT"
    );
    assert_eq!(metric(&body, "inboxd_tls_handshakes_total"), 1.0);
    assert_eq!(http_get(http, "/nope").0, 404);
    // The database locked by someone else: not healthy.
    let db = server.db();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (code, body) = http_get(http, "/healthz");
    assert_eq!(code, 503, "{body}");
    db.execute_batch("ROLLBACK").unwrap();
    assert!(eventually(Duration::from_secs(15), || http_get(http, "/healthz").0 == 200));
}

// ---------------------------------------------------------------- systemd

#[test]
fn socket_activation_serves_on_the_passed_socket() {
    if Command::new("systemd-socket-activate").arg("--help").output().is_err() {
        panic!("systemd-socket-activate is needed (Debian package systemd); .ci/run installs it");
    }
    let b = builder();
    let config = b.write_config();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("systemd-socket-activate")
        .args(["-l", &format!("127.0.0.1:{port}"), "--fdname=smtp", BIN])
        .args(["--config", config.to_str().unwrap(), "--log-format", "json", "serve"])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // systemd-socket-activate starts inboxd on the first connection, passing the listening socket.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    let first = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(10) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("{e}"),
        }
    };
    let mut server = Server::from_parts(b, child);
    assert_eq!(
        server.addr, addr,
        "inboxd serves the passed socket, it did not bind its own"
    );
    let mut first = std::io::BufReader::new(first);
    let mut greeting = String::new();
    std::io::BufRead::read_line(&mut first, &mut greeting).unwrap();
    assert!(greeting.starts_with("220 mx.test.example ESMTP"), "{greeting}");
    let mut c = server.connect();
    assert_eq!(c.greeting.code, 220);
    c.ehlo();
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
}

#[test]
fn the_systemd_unit_verifies_and_is_rated_ok() {
    let dir = tempfile::tempdir().unwrap();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for unit in ["inboxd.service", "inboxd.socket"] {
        let text = std::fs::read_to_string(units.join(unit))
            .unwrap()
            .replace("/usr/local/bin/inboxd", BIN);
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    let service = dir.path().join("inboxd.service");
    let socket = dir.path().join("inboxd.socket");
    let Ok(out) = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&service)
        .arg(&socket)
        .output()
    else {
        eprintln!("systemd-analyze is not available here: unit not verified");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    // Offline, systemd may not know the dedicated user; anything else is a real finding.
    let findings: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("User=") && !l.contains("Group="))
        .collect();
    assert!(
        out.status.success() && findings.is_empty(),
        "systemd-analyze verify: {err}"
    );
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&service)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let exposure: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for inboxd.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    println!("systemd-analyze security: exposure {exposure}");
    assert!(exposure <= 2.5, "{text}");
    let unit = std::fs::read_to_string(&service).unwrap();
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "StateDirectory=inboxd",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "Restart=on-failure",
        "ExecReload=",
    ] {
        assert!(unit.contains(needle), "{needle}");
    }
}
