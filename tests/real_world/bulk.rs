//! Newsletters and list mail are `bulk`, not automatic answers: a newsletter sender is no lead
//! unless the account says so; and a `Return-Path: <>` written by the sender's software is not the
//! envelope.

use super::*;

fn newsletter(from: &str, subject: &str) -> String {
    mail(
        from,
        subject,
        &[
            ("Precedence", "bulk"),
            ("List-Unsubscribe", "<https://shop.example/unsubscribe?u=1>"),
            ("List-Id", "Shop news <news.shop.example>"),
        ],
        "This week's offers.",
    )
}

#[test]
fn newsletters_are_bulk_and_make_no_contact_unless_the_account_asks() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    let m = server
        .deliver_and_show(
            &mut c,
            "bounces@shop.example",
            &[&acme.address],
            newsletter("news@shop.example", "Weekly offers").as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "bulk", "{m}");
    assert_eq!(m["contact_id"], Value::Null, "a newsletter sender is not a lead");
    assert!(server.contacts(acme.id).is_empty());
    assert!(
        !server.events(0).iter().any(|e| e["type"] == "contact.created"),
        "no contact.created for bulk mail"
    );

    // A sender who is a contact already: the newsletter joins that contact's conversation.
    server
        .deliver_and_show(
            &mut c,
            "jane@customer.example",
            &[&acme.address],
            mail("jane@customer.example", "Digest", &[], "a person writing").as_bytes(),
        )
        .unwrap();
    let digest = server
        .deliver_and_show(
            &mut c,
            "jane@customer.example",
            &[&acme.address],
            mail(
                "jane@customer.example",
                "Digest",
                &[("List-Id", "<digest.customer.example>")],
                "list mail",
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(digest["kind"], "bulk");
    assert!(digest["contact_id"].is_i64(), "{digest}");
    assert_eq!(server.contacts(acme.id).len(), 1);

    // The account's choice: bulk senders become contacts (not opt-in, no automation).
    let shown = server.json(&["accounts", "show", &acme.id.to_string()]);
    assert_eq!(shown["bulk"], "no-contact", "the default");
    let set = server.json(&["accounts", "set-bulk", &acme.id.to_string(), "contact"]);
    assert_eq!(set["bulk"], "contact");
    let m = server
        .deliver_and_show(
            &mut c,
            "bounces@other-shop.example",
            &[&acme.address],
            newsletter("news@other-shop.example", "Spring sale").as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "bulk");
    let contacts = server.contacts(acme.id);
    let contact = contacts
        .iter()
        .find(|c| c["email"] == "news@other-shop.example")
        .expect("the bulk sender became a contact");
    assert_eq!(contact["opt_in"], false);
    assert!(m["conversation_id"].is_i64(), "{m}");
    let out = server.cli(&["accounts", "set-bulk", &acme.id.to_string(), "sometimes"]);
    assert!(!out.status.success());
}

#[test]
fn a_return_path_written_by_the_sender_is_not_the_envelope() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    let m = server
        .deliver_and_show(
            &mut c,
            "jane@customer.example",
            &[&acme.address],
            mail(
                "jane@customer.example",
                "Question",
                &[("Return-Path", "<>")],
                "Where is my order?",
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "message", "{m}");
    assert_eq!(server.contacts(acme.id).len(), 1, "the customer became a contact");
}
