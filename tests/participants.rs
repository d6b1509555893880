//! Who is in a conversation, and the agent's tools on threading: reply-all from the customer's
//! colleagues joins the conversation it answers, a newsletter's many recipients still get one
//! conversation each, merge and split over the CLI and the HTTP API, and a merge racing mail on
//! another host. The real server over TCP, on SQLite and on PostgreSQL.

mod common;

use common::*;
use serde_json::Value;
use std::net::SocketAddr;

fn mail(from: &str, subject: &str, message_id: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut headers = vec![("From", from), ("Subject", subject), ("Message-ID", message_id)];
    if !extra.iter().any(|(name, _)| *name == "To") {
        headers.push(("To", "inbox@inbox.localhost"));
    }
    headers.extend_from_slice(extra);
    message(&headers, body)
}

fn call(http: SocketAddr, method: &str, path: &str, key: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {key}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    let answer = http::request(http, method, path, &headers, body);
    (answer.code, answer.json())
}

/// `(email, role)` of a conversation's participants, in the order shown.
fn participants(conversation: &Value) -> Vec<(String, String)> {
    conversation["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| {
            (
                p["email"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// The senders of a conversation's messages, oldest first.
fn senders(conversation: &Value) -> Vec<String> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["from_email"].as_str().unwrap().to_string())
        .collect()
}

fn message_ids(conversation: &Value) -> Vec<i64> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// The account's conversation ids, one per contact email.
fn conversation_of(server: &Server, account: i64, contact: &str) -> Vec<i64> {
    server
        .conversations(account)
        .iter()
        .filter(|c| c["contact_email"] == contact)
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

on_both_backends! {
    fn a_colleague_answering_all_joins_the_conversation_with_its_participants(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let (alice, bob, carol, dave) = (
            "alice@customer.example",
            "bob@customer.example",
            "carol@customer.example",
            "dave@elsewhere.example",
        );
        server
            .send(alice, &[&acme.address], &mail(
                "Alice <alice@customer.example>", "Order 1234", "<a1@customer.example>",
                &[("To", "Acme <inbox@inbox.localhost>"), ("Cc", "Bob <bob@customer.example>, carol@customer.example")],
                "Where is my order?",
            ))
            .expect(250, "2.0.0");
        // Bob answers all: addressed by Alice's message, he joins her conversation.
        server
            .send(bob, &[&acme.address], &mail(
                "Bob <bob@customer.example>", "Re: Order 1234", "<b1@customer.example>",
                &[("To", "alice@customer.example, inbox@inbox.localhost"), ("In-Reply-To", "<a1@customer.example>"), ("References", "<a1@customer.example>")],
                "It was for our Lyon office.",
            ))
            .expect(250, "2.0.0");
        // Carol answers Bob's message, which did not copy her: she is in the conversation already.
        server
            .send(carol, &[&acme.address], &mail(
                "carol@customer.example", "Re: Order 1234", "<c1@customer.example>",
                &[("In-Reply-To", "<b1@customer.example>"), ("References", "<a1@customer.example> <b1@customer.example>")],
                "Thanks both.",
            ))
            .expect(250, "2.0.0");
        // Dave answers too, though nothing of the conversation named him: his own conversation.
        server
            .send(dave, &[&acme.address], &mail(
                "dave@elsewhere.example", "Re: Order 1234", "<d1@elsewhere.example>",
                &[("In-Reply-To", "<a1@customer.example>")],
                "I saw this thread somewhere.",
            ))
            .expect(250, "2.0.0");
        // Bob writes on the same subject without thread headers: subject-only threading never
        // joins two contacts.
        server
            .send(bob, &[&acme.address], &mail(
                "bob@customer.example", "Re: Order 1234", "<b2@customer.example>", &[], "Another thing.",
            ))
            .expect(250, "2.0.0");

        let list = server.conversations(acme.id);
        assert_eq!(list.len(), 3, "{list:#?}");
        let shared = conversation_of(&server, acme.id, alice);
        assert_eq!(shared.len(), 1, "the conversation stays Alice's");
        let detail = server.conversation(shared[0]);
        assert_eq!(senders(&detail), [alice, bob, carol]);
        assert_eq!(
            participants(&detail),
            pairs(&[(alice, "contact"), (bob, "contact"), (carol, "contact")]),
        );
        assert_eq!(conversation_of(&server, acme.id, dave).len(), 1);
        assert_eq!(conversation_of(&server, acme.id, bob).len(), 1, "Bob's subject-only message");
        // Four contacts, none opt-in; the message.received of Bob's names him and Alice's conversation.
        let contacts = server.contacts(acme.id);
        assert_eq!(contacts.len(), 4);
        assert!(contacts.iter().all(|c| c["opt_in"] == false));
        let alice_id = contacts.iter().find(|c| c["email"] == alice).unwrap()["id"].as_i64().unwrap();
        let events = server.events(0);
        let bobs = events
            .iter()
            .find(|e| e["type"] == "message.received" && e["data"]["from_email"] == bob)
            .unwrap();
        assert_eq!(bobs["data"]["participant"]["email"], bob);
        assert_eq!(bobs["data"]["participant"]["role"], "contact");
        assert_eq!(bobs["data"]["conversation_id"], shared[0]);
        assert_eq!(bobs["data"]["conversation_contact_id"], alice_id);
        assert_eq!(bobs["data"]["contact_created"], true);
        assert_eq!(
            events.iter().filter(|e| e["type"] == "contact.created" && e["data"]["automation"] == false).count(),
            4,
            "every new contact triggers no automation"
        );
    }

    fn a_copied_address_is_a_participant_until_it_writes(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        server
            .send("alice@customer.example", &[&acme.address], &mail(
                "alice@customer.example", "Quote", "<q1@customer.example>",
                &[("To", "inbox@inbox.localhost, Bob <bob@customer.example>"), ("Cc", "carol@customer.example, Alice <ALICE@customer.example>")],
                "A quote, please.",
            ))
            .expect(250, "2.0.0");
        let id = conversation_of(&server, acme.id, "alice@customer.example")[0];
        assert_eq!(
            participants(&server.conversation(id)),
            pairs(&[("alice@customer.example", "contact"), ("bob@customer.example", "to"), ("carol@customer.example", "cc")]),
            "the account's own address and the sender's are not copies"
        );
        let shown = server.conversation(id);
        let bob = shown["participants"].as_array().unwrap().iter().find(|p| p["role"] == "to").unwrap().clone();
        assert_eq!(bob["name"], "Bob");
        assert_eq!(bob["contact_id"], Value::Null, "copied only: no contact yet");
        assert_eq!(server.contacts(acme.id).len(), 1, "a copied address is not made a contact");
    }

    fn a_campaign_answered_by_fifty_contacts_gives_fifty_conversations(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let id = acme.id.to_string();
        for n in 0..50 {
            ok(&server.cli(&[
                "register-sent", &id, "--message-id", &format!("<spring-{n}@platform.example>"),
                "--contact", &format!("c{n}@customers.example"), "--campaign", "spring",
            ]));
        }
        // The newsletter itself also reached the inbox (a copy to the account): every reply names it too.
        server
            .send("news@acme.example", &[&acme.address], &mail(
                "news@acme.example", "Spring sale", "<spring@platform.example>", &[], "Our spring sale.",
            ))
            .expect(250, "2.0.0");
        for n in 0..50 {
            let from = format!("c{n}@customers.example");
            server
                .send(&from, &[&acme.address], &mail(
                    &from, "Re: Spring sale", &format!("<r{n}@customers.example>"),
                    &[
                        ("In-Reply-To", &format!("<spring-{n}@platform.example>")),
                        ("References", &format!("<spring@platform.example> <spring-{n}@platform.example>")),
                    ],
                    "Is the blue one on sale?",
                ))
                .expect(250, "2.0.0");
        }
        let list: Vec<Value> = server
            .conversations(acme.id)
            .into_iter()
            .filter(|c| c["contact_email"].as_str().unwrap().ends_with("@customers.example"))
            .collect();
        assert_eq!(list.len(), 50);
        assert!(list.iter().all(|c| c["campaign_id"] == "spring" && c["message_count"] == 1));
        for c in list.iter().take(3) {
            assert_eq!(participants(&server.conversation(c["id"].as_i64().unwrap())).len(), 1);
        }
    }

    fn a_reply_from_whom_the_platform_copied_joins_the_contacts_conversation(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", Some(acme.id));
        server
            .send("alice@customer.example", &[&acme.address], &mail(
                "alice@customer.example", "Contract", "<k1@customer.example>", &[], "Here is the contract.",
            ))
            .expect(250, "2.0.0");
        // The agent answers from the platform, copying Bob (CLI) and, in a second message, Erin (API).
        ok(&server.cli(&[
            "register-sent", &acme.id.to_string(), "--message-id", "<agent-1@platform.example>",
            "--contact", "alice@customer.example", "--cc", "Bob@Customer.example",
        ]));
        let (code, body) = call(http, "POST", &format!("/v1/accounts/{}/sent", acme.id), &key,
            r#"{"message_id": "<agent-2@platform.example>", "contact_email": "alice@customer.example", "cc": ["erin@customer.example"]}"#);
        assert_eq!(code, 201, "{body}");
        let (code, body) = call(http, "POST", &format!("/v1/accounts/{}/sent", acme.id), &key,
            r#"{"message_id": "<agent-3@platform.example>", "contact_email": "alice@customer.example", "cc": ["not an address"]}"#);
        assert_eq!(code, 422, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("not an address"), "{body}");
        for (from, answered, id) in [
            ("bob@customer.example", "<agent-1@platform.example>", "<kb@customer.example>"),
            ("erin@customer.example", "<agent-2@platform.example>", "<ke@customer.example>"),
            // Frank was copied by neither: his own conversation.
            ("frank@customer.example", "<agent-1@platform.example>", "<kf@customer.example>"),
        ] {
            server
                .send(from, &[&acme.address], &mail(from, "Re: Contract", id, &[("In-Reply-To", answered)], "Signed."))
                .expect(250, "2.0.0");
        }
        let alices = conversation_of(&server, acme.id, "alice@customer.example");
        assert_eq!(alices.len(), 1);
        let detail = server.conversation(alices[0]);
        assert_eq!(senders(&detail), ["alice@customer.example", "bob@customer.example", "erin@customer.example"]);
        assert_eq!(conversation_of(&server, acme.id, "frank@customer.example").len(), 1);
    }

    fn a_forward_from_a_member_keeps_the_original_sender_as_the_contact(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        ok(&server.cli(&["members", "add", &acme.id.to_string(), "agent@agency.example"]));
        let forward = "From: Agent <agent@agency.example>\r\nTo: inbox@inbox.localhost\r\nCc: boss@agency.example\r\nSubject: Fwd: Invoice\r\nMessage-ID: <fw1@agency.example>\r\n\r\nPlease handle.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Jane <jane@customer.example>\r\nDate: Tue, 24 Nov 2026\r\nSubject: Invoice\r\nTo: <agent@agency.example>\r\n\r\nPlease send the invoice again.\r\n";
        server.send("agent@agency.example", &[&acme.address], forward).expect(250, "2.0.0");
        let list = server.conversations(acme.id);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["contact_email"], "jane@customer.example");
        let detail = server.conversation(list[0]["id"].as_i64().unwrap());
        assert_eq!(
            participants(&detail),
            pairs(&[("jane@customer.example", "contact")]),
            "the agent's own addressees are not the customer's"
        );
        // Search finds it by its contact, who is not its sender, and by its sender.
        for q in ["jane@customer.example", "Jane", "agent@agency.example"] {
            let found = server.json(&["conversations", "list", "--account", &acme.id.to_string(), "--query", q]);
            assert_eq!(found.as_array().map(Vec::len), Some(1), "{q}: {found}");
        }
    }

    fn merge_moves_the_messages_and_later_replies_land_in_the_target(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let (_, key) = server.api_key("agent-app", Some(acme.id));
        let (_, platform) = server.api_key("platform", None);
        server
            .send("alice@customer.example", &[&acme.address], &mail("alice@customer.example", "Delivery", "<m1@customer.example>", &[], "When?"))
            .expect(250, "2.0.0");
        server
            .send("bob@customer.example", &[&acme.address], &mail("bob@customer.example", "Our delivery", "<m2@customer.example>", &[], "Same order as Alice."))
            .expect(250, "2.0.0");
        server
            .send("zed@customer.example", &[&globex.address], &mail("zed@customer.example", "Hello", "<m3@customer.example>", &[], "Hi."))
            .expect(250, "2.0.0");
        let alices = conversation_of(&server, acme.id, "alice@customer.example")[0];
        let bobs = conversation_of(&server, acme.id, "bob@customer.example")[0];
        let zeds = conversation_of(&server, globex.id, "zed@customer.example")[0];
        let merge = |from: i64, body: &str, key: &str| call(http, "POST", &format!("/v1/conversations/{from}/merge"), key, body);

        // Refusals move nothing.
        let (code, body) = merge(bobs, &format!(r#"{{"into": {bobs}}}"#), &key);
        assert_eq!(code, 400, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("itself"));
        let (code, body) = merge(bobs, &format!(r#"{{"into": {zeds}}}"#), &platform);
        assert_eq!(code, 404, "another account's conversation: {body}");
        let (code, _) = merge(zeds, &format!(r#"{{"into": {alices}}}"#), &key);
        assert_eq!(code, 404, "an account's key does not see another account's conversation");
        let (code, _) = merge(bobs, r#"{"into": "x"}"#, &key);
        assert!(code == 400 || code == 422, "{code}");
        assert_eq!(server.count("SELECT count(*) FROM conversations"), 3);

        let before = server.events(0).last().unwrap()["id"].as_i64().unwrap();
        let (code, body) = merge(bobs, &format!(r#"{{"into": {alices}}}"#), &key);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["from"], bobs);
        assert_eq!(body["into"], alices);
        assert_eq!(body["moved"], 1);
        let events = server.events(before);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["type"], "conversation.merged");
        assert_eq!(events[0]["data"]["from"], bobs);
        assert_eq!(events[0]["data"]["into"], alices);
        // The merged id answers with where it went (the API, the CLI); its messages are read there.
        let (code, body) = call(http, "GET", &format!("/v1/conversations/{bobs}"), &key, "");
        assert_eq!(code, 200);
        assert_eq!(body["merged_into"], alices, "{body}");
        let (code, body) = call(http, "GET", &format!("/v1/conversations/{bobs}/messages"), &key, "");
        assert_eq!(code, 200);
        assert_eq!(body["data"].as_array().map(Vec::len), Some(2), "{body}");
        assert_eq!(server.conversation(bobs)["merged_into"], alices);
        let (code, body) = merge(bobs, &format!(r#"{{"into": {alices}}}"#), &key);
        assert_eq!(code, 409, "merged already: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(&alices.to_string()));

        let (code, detail) = call(http, "GET", &format!("/v1/conversations/{alices}"), &key, "");
        assert_eq!(code, 200);
        assert_eq!(detail["message_count"], 2);
        assert_eq!(senders(&detail), ["alice@customer.example", "bob@customer.example"]);
        assert_eq!(
            participants(&detail),
            pairs(&[("alice@customer.example", "contact"), ("bob@customer.example", "contact")]),
        );
        // Bob answers his own first message: it lands where that message is now.
        server
            .send("bob@customer.example", &[&acme.address], &mail("bob@customer.example", "Re: Our delivery", "<m4@customer.example>", &[("In-Reply-To", "<m2@customer.example>")], "Any news?"))
            .expect(250, "2.0.0");
        assert_eq!(senders(&server.conversation(alices)), ["alice@customer.example", "bob@customer.example", "bob@customer.example"]);
        assert_eq!(server.conversations(acme.id).len(), 1);
        // Search finds Bob's first words in the target.
        let found = server.json(&["conversations", "list", "--account", &acme.id.to_string(), "--query", "Alice"]);
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert_eq!(found[0]["id"], alices);

        // A third conversation merged through the CLI into the merged id follows it to its target.
        server
            .send("carol@customer.example", &[&acme.address], &mail("carol@customer.example", "Also", "<m5@customer.example>", &[], "Me too."))
            .expect(250, "2.0.0");
        let carols = conversation_of(&server, acme.id, "carol@customer.example")[0];
        let merged = server.json(&["conversations", "merge", &carols.to_string(), "--into", &bobs.to_string()]);
        assert_eq!(merged["into"], alices);
        let refused = server.cli(&["conversations", "merge", &alices.to_string(), "--into", &alices.to_string()]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("itself"));
        assert_eq!(server.count(&format!("SELECT message_count FROM conversations WHERE id = {alices}")), 4);
        assert_eq!(server.count(&format!("SELECT count(*) FROM messages WHERE conversation_id = {alices}")), 4);
    }

    fn split_then_merge_back_restores_the_conversation(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("agent-app", Some(acme.id));
        let cc = [("Cc", "bob@customer.example")];
        let a1 = mail("alice@customer.example", "Renewal", "<s1@customer.example>", &cc, "Renew us, please. Wibbleplonk.");
        let b1 = mail("bob@customer.example", "Re: Renewal", "<s2@customer.example>", &[("In-Reply-To", "<s1@customer.example>")], "Also our second site.");
        let a2 = mail("alice@customer.example", "Re: Renewal", "<s3@customer.example>", &[("In-Reply-To", "<s2@customer.example>"), ("Cc", "bob@customer.example")], "Yes, both.");
        let b2 = mail("bob@customer.example", "Re: Renewal", "<s4@customer.example>", &[("In-Reply-To", "<s3@customer.example>")], "Thanks. Zorbleflux.");
        for (from, m) in [("alice@customer.example", &a1), ("bob@customer.example", &b1), ("alice@customer.example", &a2), ("bob@customer.example", &b2)] {
            server.send(from, &[&acme.address], m).expect(250, "2.0.0");
        }
        let original = conversation_of(&server, acme.id, "alice@customer.example")[0];
        let whole = server.conversation(original);
        let ids = message_ids(&whole);
        assert_eq!(ids.len(), 4);

        let split = |id: i64| call(http, "POST", &format!("/v1/messages/{id}/split"), &key, "");
        let (code, body) = split(ids[0]);
        assert_eq!(code, 400, "the first message is the conversation: {body}");
        let (code, _) = split(999_999);
        assert_eq!(code, 404);
        let (code, body) = split(ids[1]);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["from"], original);
        assert_eq!(body["moved"], 2);
        let new = body["into"].as_i64().unwrap();
        let left = server.conversation(original);
        let taken = server.conversation(new);
        assert_eq!(senders(&left), ["alice@customer.example", "alice@customer.example"]);
        assert_eq!(senders(&taken), ["bob@customer.example", "bob@customer.example"]);
        assert_eq!(taken["contact_email"], "bob@customer.example");
        assert_eq!(left["message_count"], 2);
        assert_eq!(taken["message_count"], 2);
        assert_eq!(participants(&taken), pairs(&[("bob@customer.example", "contact")]));
        assert_eq!(
            participants(&left),
            pairs(&[("alice@customer.example", "contact"), ("bob@customer.example", "cc")]),
            "Bob no longer wrote in it, but Alice's messages still copy him"
        );
        let event = server.events(0).into_iter().rev().find(|e| e["type"] == "conversation.split").unwrap();
        assert_eq!(event["data"]["from"], original);
        assert_eq!(event["data"]["into"], new);
        assert_eq!(event["data"]["message_id"], ids[1]);
        // Search follows the moved messages.
        let found = server.json(&["conversations", "list", "--account", &acme.id.to_string(), "--query", "zorbleflux"]);
        assert_eq!(found[0]["id"], new);

        // Merged back (the CLI), the conversation is as it was.
        ok(&server.cli(&["conversations", "merge", &new.to_string(), "--into", &original.to_string()]));
        let back = server.conversation(original);
        assert_eq!(message_ids(&back), ids);
        assert_eq!(back["message_count"], 4);
        assert_eq!(back["created_at"], whole["created_at"]);
        assert_eq!(back["last_message_at"], whole["last_message_at"]);
        assert_eq!(participants(&back), participants(&whole));
        let found = server.json(&["conversations", "list", "--account", &acme.id.to_string(), "--query", "zorbleflux"]);
        assert_eq!(found[0]["id"], original);
        // The CLI splits too, and says why it will not.
        let refused = server.cli(&["messages", "split", &ids[0].to_string()]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("first"));
        let split = server.json(&["messages", "split", &ids[3].to_string()]);
        assert_eq!(split["moved"], 1);
    }

    fn an_erased_participant_leaves_no_trace_in_other_conversations(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        server
            .send("alice@customer.example", &[&acme.address], &mail("alice@customer.example", "Plans", "<e1@customer.example>", &[("Cc", "bob@customer.example")], "Plans."))
            .expect(250, "2.0.0");
        server
            .send("bob@customer.example", &[&acme.address], &mail("bob@customer.example", "Re: Plans", "<e2@customer.example>", &[("In-Reply-To", "<e1@customer.example>")], "Noted."))
            .expect(250, "2.0.0");
        ok(&server.cli(&["contacts", "erase", "--account", &acme.id.to_string(), "bob@customer.example"]));
        assert_eq!(
            server.count("SELECT count(*) FROM conversation_participants WHERE email_key = 'bob@customer.example'"),
            0
        );
        let id = conversation_of(&server, acme.id, "alice@customer.example")[0];
        assert_eq!(participants(&server.conversation(id)), pairs(&[("alice@customer.example", "contact")]));
    }
}
