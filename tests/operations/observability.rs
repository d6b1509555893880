//! `/metrics` and `/healthz` over HTTP (and HTTPS), and the bounds of the HTTP door.

use super::*;
use crate::tls::{starttls, tls_connect};

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
    let (code, body) = http_get(http, "/nope");
    assert_eq!(code, 404);
    let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
    assert_eq!(error["error"]["code"], "not_found", "{body}");
    // The database locked by someone else: not healthy.
    let db = server.db();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (code, body) = http_get(http, "/healthz");
    assert_eq!(code, 503, "{body}");
    db.execute_batch("ROLLBACK").unwrap();
    assert!(eventually(Duration::from_secs(15), || http_get(http, "/healthz").0 == 200));
}

#[test]
fn the_http_door_caps_bodies_drops_slow_clients_and_speaks_tls() {
    let server = builder()
        .set("http.listen", "127.0.0.1:0")
        .tls()
        .set("http.tls", true)
        .start();
    let http = server.http_addr.expect("http listener");
    let request = |bytes: &[u8]| -> String {
        let mut tls = tls_connect(TcpStream::connect(http).unwrap());
        tls.write_all(bytes).unwrap();
        let mut out = String::new();
        let _ = tls.read_to_string(&mut out);
        out
    };
    let ok = request(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.1 200"), "over TLS: {ok}");
    // A body over the cap is refused before it is read.
    let big = format!(
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        1024 * 1024
    );
    let refused = request(big.as_bytes());
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    // Plain HTTP on the TLS port gets nowhere.
    let mut plain = TcpStream::connect(http).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 64];
    assert!(!matches!(plain.read(&mut buf), Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 200")));
    // A client that never finishes its headers is dropped (slow loris).
    let mut slow = tls_connect(TcpStream::connect(http).unwrap());
    slow.sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "dropped at the header timeout"
    );
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
}
