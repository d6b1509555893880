//! `/metrics` and `/healthz` over HTTP.

use super::*;
use crate::tls::starttls;

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
