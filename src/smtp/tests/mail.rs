//! MAIL FROM: the null sender, declared sizes, SMTPUTF8, nesting and a full store.

use super::Client;

#[tokio::test]
async fn the_null_sender_and_parameters_are_accepted() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    assert_eq!(client.command("MAIL FROM:<>").await.code, 250, "bounces come from <>");
    assert_eq!(client.command("RSET").await.code, 250);
    let reply = client.command("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME").await;
    assert!(reply.is(250, "2.1.0"), "{reply:?}");
    client.finish().await;
}

#[tokio::test]
async fn a_declared_size_over_the_limit_is_refused_at_once() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    let reply = client.command("MAIL FROM:<a@b.example> SIZE=999999").await;
    assert!(reply.is(552, "5.3.4"), "{reply:?}");
    client.finish().await;
}

#[tokio::test]
async fn a_second_mail_and_an_undeclared_utf8_sender_are_refused() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    let reply = client.command("MAIL FROM:<jöra@b.example>").await;
    assert!(reply.is(553, "5.6.7"), "{reply:?}");
    assert_eq!(client.command("MAIL FROM:<jöra@b.example> SMTPUTF8").await.code, 250);
    let nested = client.command("MAIL FROM:<a@b.example>").await;
    assert!(nested.is(503, "5.5.1"), "{nested:?}");
    client.finish().await;
}

#[tokio::test]
async fn a_full_store_defers_the_sender() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    // The test store says it is full for exactly this declared size.
    let reply = client.command("MAIL FROM:<a@b.example> SIZE=4242").await;
    assert!(reply.is(452, "4.3.1"), "{reply:?}");
    client.finish().await;
}

#[tokio::test]
async fn binarymime_is_refused_since_it_is_not_advertised() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    let reply = client.command("MAIL FROM:<a@b.example> BODY=BINARYMIME").await;
    assert!(reply.is(555, "5.5.4"), "{reply:?}");
    client.finish().await;
}
