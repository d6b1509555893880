//! EHLO and HELO: what we offer, and that either one resets the transaction.

use super::{ACME, Client};

#[tokio::test]
async fn ehlo_lists_the_extensions_we_offer() {
    let (mut client, _store) = Client::start().await;
    let reply = client.command("EHLO client.example").await;
    assert_eq!(reply.code, 250);
    assert!(
        reply.lines[0].starts_with("inboxd.localhost Hello [192.0.2.10]"),
        "{reply:?}"
    );
    for extension in [
        "PIPELINING",
        "SIZE 65536",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
    ] {
        assert!(
            reply.lines.iter().any(|l| l == extension),
            "{extension} missing: {reply:?}"
        );
    }
    assert!(
        !reply.lines.iter().any(|l| l == "STARTTLS"),
        "no certificate, no STARTTLS"
    );
    client.finish().await;
}

#[tokio::test]
async fn helo_answers_one_line_and_a_new_greeting_resets_the_transaction() {
    let (mut client, _store) = Client::start().await;
    let helo = client.command("HELO client.example").await;
    assert_eq!((helo.code, helo.lines.len()), (250, 1));
    assert_eq!(client.command("MAIL FROM:<a@b.example>").await.code, 250);
    assert_eq!(client.command(&format!("RCPT TO:<{ACME}>")).await.code, 250);
    assert_eq!(client.command("EHLO again.example").await.code, 250);
    let data = client.command("DATA").await;
    assert!(data.is(503, "5.5.1"), "the transaction was reset: {data:?}");
    client.finish().await;
}

#[tokio::test]
async fn mail_before_a_greeting_is_out_of_sequence() {
    let (mut client, _store) = Client::start().await;
    let reply = client.command("MAIL FROM:<a@b.example>").await;
    assert!(reply.is(503, "5.5.1"), "{reply:?}");
    client.finish().await;
}
