//! The session loop: pipelined replies in order, the commands that need no transaction, over-long
//! lines, the error limit, and QUIT.

use super::{ACME, Client};

#[tokio::test]
async fn pipelined_commands_get_their_replies_in_order() {
    let (mut client, store) = Client::start().await;
    client.command("EHLO client.example").await;
    client
        .send(
            format!(
                "MAIL FROM:<jane@customer.example>\r\nRCPT TO:<{ACME}>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n"
            )
            .as_bytes(),
        )
        .await;
    let codes = [
        client.reply().await.code,
        client.reply().await.code,
        client.reply().await.code,
        client.reply().await.code,
    ];
    assert_eq!(codes, [250, 250, 550, 354]);
    client
        .send(format!("{}\r\n.\r\n", super::message("pipelined")).as_bytes())
        .await;
    assert_eq!(client.reply().await.code, 250);
    assert_eq!(store.committed()[0].envelope.rcpt_to, vec![ACME.to_string()]);
    client.finish().await;
}

#[tokio::test]
async fn the_commands_without_a_transaction_answer_as_the_rfc_says() {
    let (mut client, _store) = Client::start().await;
    assert!(client.command("NOOP").await.is(250, "2.0.0"));
    assert!(client.command("RSET").await.is(250, "2.0.0"));
    // VRFY never confirms an address (no enumeration): 252 "cannot verify".
    assert!(client.command("VRFY someone").await.is(252, "2.5.0"));
    let help = client.command("HELP").await;
    assert_eq!(help.code, 214, "{help:?}");
    assert!(client.command("EXPN list").await.is(502, "5.5.1"));
    assert!(client.command("FROBNICATE").await.is(500, "5.5.1"));
    assert!(client.command("QUIT").await.is(221, "2.0.0"));
    assert!(!client.finish().await, "the session ended without STARTTLS");
}

#[tokio::test]
async fn an_over_long_line_is_refused_without_losing_step() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    let long = format!("NOOP {}", "x".repeat(10_000));
    let reply = client.command(&long).await;
    assert!(reply.is(500, "5.5.2"), "{reply:?}");
    assert_eq!(client.command("NOOP").await.code, 250);
    client.finish().await;
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    let (mut client, _store) = Client::start().await;
    let limit = super::config().limits.max_errors;
    client.send("BOGUS\r\n".repeat(limit as usize).as_bytes()).await;
    for _ in 0..limit {
        assert!(client.reply().await.is(500, "5.5.1"));
    }
    let closing = client.reply().await;
    assert!(closing.is(421, "4.7.0"), "{closing:?}");
    client.finish().await;
}
