//! DATA and BDAT: the message's end, our trace header, the size limit, and that 250 comes only
//! after the store committed.

use super::{ACME, Answer, Client};

#[tokio::test]
async fn data_is_stored_with_our_received_header_and_answered_after_the_commit() {
    let (mut client, store) = Client::start().await;
    client.envelope("jane@customer.example", &[ACME]).await;
    let reply = client.data(&super::message("first")).await;
    assert!(
        reply.is(250, "2.0.0") && reply.text().contains("queued as"),
        "{reply:?}"
    );
    {
        let deliveries = store.committed();
        assert_eq!(deliveries.len(), 1);
        let raw = String::from_utf8_lossy(&deliveries[0].raw);
        assert!(raw.starts_with("Received: from client.example ([192.0.2.10])"), "{raw}");
        assert!(
            raw.ends_with("Hello there.\r\n"),
            "the final dot line is not content: {raw:?}"
        );
        assert_eq!(deliveries[0].envelope.mail_from, "jane@customer.example");
        assert_eq!(deliveries[0].dedupe_key, "mid:first@customer.example");
    }
    client.finish().await;
}

#[tokio::test]
async fn a_dot_line_is_unstuffed_and_smuggled_ends_stay_content() {
    let (mut client, store) = Client::start().await;
    client.envelope("jane@customer.example", &[ACME]).await;
    let body = format!(
        "{}..leading dot\r\nsmuggled\n.\nMAIL FROM:<evil@x>\r\n",
        super::message("dots")
    );
    assert_eq!(client.data(&body).await.code, 250);
    let raw = String::from_utf8_lossy(&store.committed()[0].raw).into_owned();
    assert!(raw.contains("\r\n.leading dot\r\n"), "{raw:?}");
    assert!(
        raw.contains("smuggled\r\n.\r\nMAIL FROM:<evil@x>"),
        "one DATA is one message: {raw:?}"
    );
    client.finish().await;
}

#[tokio::test]
async fn a_storage_failure_is_a_temporary_refusal_and_nothing_is_kept() {
    let (mut client, store) = Client::start().await;
    store.answer(Answer::Fail);
    client.envelope("jane@customer.example", &[ACME]).await;
    let failed = client.data(&super::message("fails")).await;
    assert!(failed.is(451, "4.3.0"), "{failed:?}");
    store.answer(Answer::Full);
    client.envelope("jane@customer.example", &[ACME]).await;
    let full = client.data(&super::message("full")).await;
    assert!(full.is(452, "4.3.1"), "{full:?}");
    assert!(store.committed().is_empty());
    store.answer(Answer::Commit);
    client.envelope("jane@customer.example", &[ACME]).await;
    assert_eq!(
        client.data(&super::message("retry")).await.code,
        250,
        "the retry finds a clean slate"
    );
    client.finish().await;
}

#[tokio::test]
async fn a_message_over_the_limit_is_read_to_its_end_and_refused() {
    let (mut client, store) = Client::start().await;
    client.envelope("jane@customer.example", &[ACME]).await;
    let big = format!("{}{}\r\n", super::message("big"), "x".repeat(70 * 1024));
    let reply = client.data(&big).await;
    assert!(reply.is(552, "5.3.4"), "{reply:?}");
    assert!(store.committed().is_empty());
    assert_eq!(client.command("NOOP").await.code, 250, "the session stays in step");
    client.finish().await;
}

#[tokio::test]
async fn bdat_chunks_make_one_message() {
    let (mut client, store) = Client::start().await;
    client.envelope("jane@customer.example", &[ACME]).await;
    let message = super::message("chunks");
    let (first, second) = message.split_at(20);
    client.send(format!("BDAT {}\r\n{first}", first.len()).as_bytes()).await;
    let part = client.reply().await;
    assert!(part.is(250, "2.0.0") && part.text().contains("20 octets"), "{part:?}");
    client
        .send(format!("BDAT {} LAST\r\n{second}", second.len()).as_bytes())
        .await;
    let done = client.reply().await;
    assert!(done.text().contains("queued as"), "{done:?}");
    let raw = String::from_utf8_lossy(&store.committed()[0].raw).into_owned();
    assert!(raw.ends_with(&message), "{raw:?}");
    client.finish().await;
}

#[tokio::test]
async fn data_needs_recipients() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    assert!(client.command("DATA").await.is(503, "5.5.1"));
    client.command("MAIL FROM:<a@b.example>").await;
    assert!(client.command("DATA").await.is(503, "5.5.1"));
    client.finish().await;
}

#[tokio::test]
async fn data_after_bdat_is_out_of_sequence_and_a_chunk_over_the_limit_ends_the_session() {
    let (mut client, store) = Client::start().await;
    client.envelope("jane@customer.example", &[ACME]).await;
    client.send(b"BDAT 5\r\nFrom:").await;
    assert!(client.reply().await.is(250, "2.0.0"));
    let data = client.command("DATA").await;
    assert!(data.is(503, "5.5.1"), "{data:?}");
    let rest = " jane@customer.example\r\n\r\nkept\r\n";
    client
        .send(format!("BDAT {} LAST\r\n{rest}", rest.len()).as_bytes())
        .await;
    assert_eq!(client.reply().await.code, 250);
    let raw = String::from_utf8_lossy(&store.committed()[0].raw).into_owned();
    assert!(raw.ends_with("From: jane@customer.example\r\n\r\nkept\r\n"), "{raw:?}");
    client.envelope("jane@customer.example", &[ACME]).await;
    let huge = client.command("BDAT 99999999999 LAST").await;
    assert!(huge.is(552, "5.3.4"), "{huge:?}");
    assert!(!client.finish().await, "the session ended");
}
