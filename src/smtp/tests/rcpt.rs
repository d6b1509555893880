//! RCPT TO: every recipient decided at once, so nothing is accepted and bounced later.

use super::{ACME, Client, DISABLED};

#[tokio::test]
async fn our_accounts_are_accepted_and_everything_else_is_refused_with_its_reason() {
    let (mut client, store) = Client::start().await;
    client.command("EHLO client.example").await;
    client.command("MAIL FROM:<a@b.example>").await;
    for (rcpt, code, enhanced) in [
        (ACME.to_string(), 250, "2.1.5"),
        ("ACME-K7M2Q9X4+Sales@Inbox.Localhost".to_string(), 250, "2.1.5"),
        ("nobody@inbox.localhost".to_string(), 550, "5.1.1"),
        (DISABLED.to_string(), 550, "5.2.1"),
        ("someone@elsewhere.example".to_string(), 550, "5.7.1"),
        ("r-forgedtoken@inbox.localhost".to_string(), 550, "5.1.1"),
        ("postmaster".to_string(), 250, "2.1.5"),
    ] {
        let reply = client.command(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(reply.is(code, enhanced), "{rcpt}: {reply:?}");
    }
    let done = client.data(&super::message("routing")).await;
    assert_eq!(done.code, 250, "{done:?}");
    {
        let deliveries = store.committed();
        let accounts: Vec<i64> = deliveries[0].plans.iter().map(|p| p.account_id).collect();
        assert_eq!(accounts, vec![1, 9], "acme and the postmaster account");
        assert_eq!(deliveries[0].plans[0].tags, vec!["sales".to_string()]);
    }
    client.finish().await;
}

#[tokio::test]
async fn the_recipient_limit_defers_the_rest_and_a_lookup_failure_is_temporary() {
    let (mut client, store) = Client::start().await;
    client.command("EHLO client.example").await;
    client.command("MAIL FROM:<a@b.example>").await;
    for _ in 0..3 {
        assert_eq!(client.command(&format!("RCPT TO:<{ACME}>")).await.code, 250);
    }
    let fourth = client.command(&format!("RCPT TO:<{ACME}>")).await;
    assert!(fourth.is(452, "4.5.3"), "{fourth:?}");
    store.fail_lookups();
    client.command("RSET").await;
    client.command("MAIL FROM:<a@b.example>").await;
    let reply = client.command(&format!("RCPT TO:<{ACME}>")).await;
    assert!(reply.is(451, "4.3.0"), "{reply:?}");
    client.finish().await;
}

#[tokio::test]
async fn rcpt_needs_mail_first_and_the_empty_path_is_refused() {
    let (mut client, _store) = Client::start().await;
    client.command("EHLO client.example").await;
    let early = client.command(&format!("RCPT TO:<{ACME}>")).await;
    assert!(early.is(503, "5.5.1"), "{early:?}");
    client.command("MAIL FROM:<a@b.example>").await;
    let empty = client.command("RCPT TO:<>").await;
    assert!(empty.is(501, "5.1.3"), "{empty:?}");
    client.finish().await;
}
