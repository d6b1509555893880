//! Agents' forwards (every client and language in the fixtures), a member's own mail,
//! auto-forwarded mail and forwarding confirmations, through the real server.

use super::*;

#[test]
fn member_forwards_name_the_original_sender_for_every_client_and_language() {
    let server = start();
    let acme = server.create_account("Acme");
    let stranger_account = server.create_account("Nobody is a member here");
    assert!(
        server
            .cli(&["members", "add", &acme.id.to_string(), "Agent@Agency.example"])
            .status
            .success()
    );
    assert_eq!(
        server.json(&["members", "list", &acme.id.to_string()])[0],
        "Agent@agency.example"
    );
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("forwards/expected.json")).unwrap()).unwrap();
    let mut c = server.connect();
    c.ehlo();
    let (mut parsed, mut unparsed) = (0, 0);
    for (file, want) in &expected {
        let bytes = std::fs::read(fixture(&format!("forwards/{file}"))).unwrap();
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&acme.address], &bytes)
            .expect("stored");
        assert_eq!(m["forwarded_by"].as_str().unwrap().to_lowercase(), AGENT, "{file}");
        if want.is_null() {
            // No original sender: stored, no contact from the member.
            assert_eq!(m["contact_id"], Value::Null, "{file}");
            assert!(
                flags(&m).contains(&"forward_unparsed".to_string()) || flags(&m).contains(&"member".to_string()),
                "{file}: {:?}",
                flags(&m)
            );
            unparsed += 1;
        } else {
            assert_eq!(m["kind"], "forward", "{file}");
            let original = &m["original"];
            assert_eq!(original["from_email"], want["from_email"], "{file}");
            assert_eq!(original["from_name"], want["from_name"], "{file}");
            assert_eq!(original["subject"], want["subject"], "{file}");
            assert_eq!(original["note"], want["note"], "{file}");
            assert!(!original["body"].as_str().unwrap().is_empty(), "{file}");
            let conversation = server.conversation(m["conversation_id"].as_i64().expect("in a conversation"));
            assert_eq!(
                conversation["contact_email"], want["from_email"],
                "{file}: the contact is the original sender"
            );
            assert_eq!(
                conversation["subject"], want["subject"],
                "{file}: the conversation has the original subject"
            );
            parsed += 1;
        }
        // The same mail from someone who is not a member is that person's own message.
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&stranger_account.address], &bytes)
            .expect("stored");
        assert_eq!(m["kind"], "message", "{file}");
        assert_eq!(m["forwarded_by"], Value::Null);
        let conversation = server.conversation(m["conversation_id"].as_i64().unwrap());
        assert_eq!(conversation["contact_email"], "agent@agency.example", "{file}");
    }
    println!("forward fixtures: {parsed} forwards parsed, {unparsed} without an original sender");
    // 36 of the 39 fixtures are forwards with a findable original; the other 3 must stay unparsed.
    assert_eq!((parsed, unparsed), (36, 3), "forward fixtures");
    let contacts = server.contacts(acme.id);
    assert!(
        contacts.iter().all(|c| c["email"] != "agent@agency.example"),
        "the member never became a contact"
    );
}

on_both_backends! {
    fn a_member_writing_directly_is_stored_flagged_and_makes_no_contact(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        server.cli(&["members", "add", &acme.id.to_string(), AGENT]);
        let mut c = server.connect();
        c.ehlo();
        let m = server
            .deliver_and_show(
                &mut c,
                AGENT,
                &[&acme.address],
                mail(AGENT, "Note to self", &[], "buy milk").as_bytes(),
            )
            .unwrap();
        assert_eq!(m["kind"], "message");
        assert!(flags(&m).contains(&"member".to_string()));
        let m = server
            .deliver_and_show(
                &mut c,
                AGENT,
                &[&acme.address],
                mail(AGENT, "Fwd: lost", &[], "nothing here").as_bytes(),
            )
            .unwrap();
        assert_eq!(m["kind"], "forward");
        assert!(flags(&m).contains(&"forward_unparsed".to_string()));
        assert!(server.contacts(acme.id).is_empty());
        // Removing the member makes their mail ordinary again.
        assert!(
            server
                .cli(&["members", "remove", &acme.id.to_string(), AGENT])
                .status
                .success()
        );
        server.settle();
        let m = server
            .deliver_and_show(
                &mut c,
                AGENT,
                &[&acme.address],
                mail(AGENT, "Hello", &[], "as a customer").as_bytes(),
            )
            .unwrap();
        assert_eq!(m["kind"], "message");
        assert_eq!(server.contacts(acme.id).len(), 1);
    }
}

#[test]
fn auto_forwarded_mail_keeps_the_original_sender_not_the_srs_envelope() {
    let server = start();
    let acme = server.create_account("Acme");
    server.cli(&["members", "add", &acme.id.to_string(), AGENT]);
    let mut c = server.connect();
    c.ehlo();
    // Gmail's auto-forward keeps the original headers and rewrites the envelope sender (SRS).
    let m = server
        .deliver_and_show(
            &mut c,
            "SRS0=abcd=XY=customer.example=jane@agency.example",
            &[&acme.address],
            mail(
                "Jane <jane@customer.example>",
                "Question",
                &[("X-Forwarded-For", "agent@agency.example acme@inbox.localhost")],
                "hi",
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(m["kind"], "message");
    let contacts = server.contacts(acme.id);
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["email"], "jane@customer.example");
}

on_both_backends! {
    fn gmail_and_outlook_forwarding_confirmations_become_account_notices(backend: Backend) {
        let server = start_on(backend);
        let acme = server.create_account("Acme");
        let body = "agent.smith@gmail.com has requested to automatically forward mail to your email\r\naddress x@inbox.localhost.\r\nConfirmation code: 468201937\r\n\r\nTo allow agent.smith@gmail.com to automatically forward mail to your address,\r\nplease click the link below to confirm the request:\r\n\r\nhttps://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz\r\n";
        let m = mail(
            "Gmail Team <forwarding-noreply@google.com>",
            "(#468201937) Gmail Forwarding Confirmation - Receive Mail from agent.smith@gmail.com",
            &[],
            body,
        );
        server
            .send("bounce@google.com", &[&acme.address], &m)
            .expect(250, "2.0.0");
        let shown = server.json(&["accounts", "show", &acme.id.to_string()]);
        let notice = &shown["notices"][0];
        assert_eq!(notice["kind"], "forwarding_confirmation");
        assert_eq!(notice["code"], "468201937");
        assert_eq!(
            notice["link"],
            "https://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz"
        );
        assert_eq!(notice["requested_by"], "agent.smith@gmail.com");
        let text = String::from_utf8(server.cli(&["accounts", "show", &acme.id.to_string()]).stdout).unwrap();
        assert!(text.contains("468201937"), "{text}");
        assert!(server.contacts(acme.id).is_empty());
        assert!(server.conversations(acme.id).is_empty());
        let system = server.json(&[
            "messages",
            "list",
            "--account",
            &acme.id.to_string(),
            "--kind",
            "system",
        ]);
        assert_eq!(system.as_array().unwrap().len(), 1);

        // Microsoft mails a security code to the address an Outlook.com user adds.
        let body = "Microsoft account\r\nVerify your email address\r\n\r\nTo finish setting up forwarding for agent.smith@outlook.com, use this security code.\r\n\r\nSecurity code: 8042317\r\n\r\nOr confirm here: https://account.live.com/confirm?token=AbC123\r\n";
        let m = mail(
            "Microsoft account team <account-security-noreply@accountprotection.microsoft.com>",
            "Verify your email address",
            &[],
            body,
        );
        server
            .send("msonlineservicesteam@microsoftonline.com", &[&acme.address], &m)
            .expect(250, "2.0.0");
        let shown = server.json(&["accounts", "show", &acme.id.to_string()]);
        let outlook = shown["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["provider"] == "outlook")
            .unwrap_or_else(|| panic!("no outlook notice in {shown}"));
        assert_eq!(outlook["code"], "8042317");
        assert_eq!(outlook["link"], "https://account.live.com/confirm?token=AbC123");
        assert!(server.contacts(acme.id).is_empty());
        assert!(server.conversations(acme.id).is_empty());
    }
}

/// Outlook 2019 (desktop) forwards an agent's mail as an attribution line and the original indented
/// by four spaces, in each of its languages.
pub(crate) const OUTLOOK_2019_ATTRIBUTIONS: &[(&str, &str)] = &[
    (
        "cs",
        "Dne 28.10.2021 12:46, \"Jana Nováková\" <jana@customer.example> napsal(a):",
    ),
    (
        "da",
        "Den 28.10.2021 kl. 12.46 skrev \"Jana Nováková\" <jana@customer.example>:",
    ),
    (
        "nl",
        "Op 28-10-2021 12:46 schreef \"Jana Nováková\" <jana@customer.example>:",
    ),
    (
        "en",
        "On 28/10/2021 12:46, \"Jana Nováková\" <jana@customer.example> wrote:",
    ),
    (
        "fi",
        "\"Jana Nováková\" <jana@customer.example> kirjoitti 28.10.2021 kello 12.46:",
    ),
    (
        "fr",
        "Le 28/10/2021 à 12:46, « Jana Nováková » <jana@customer.example> a écrit :",
    ),
    (
        "de",
        "Am 28.10.2021 um 12:46 schrieb \"Jana Nováková\" <jana@customer.example>:",
    ),
    (
        "hu",
        "2021. 10. 28. 12:46 keltezéssel, \"Jana Nováková\" <jana@customer.example> írta:",
    ),
    (
        "it",
        "Il 28/10/2021 12:46, \"Jana Nováková\" <jana@customer.example> ha scritto:",
    ),
    (
        "no",
        "Den 28.10.2021 kl. 12:46 skrev \"Jana Nováková\" <jana@customer.example>:",
    ),
    (
        "pl",
        "W dniu 28.10.2021 o 12:46, \"Jana Nováková\" <jana@customer.example> pisze:",
    ),
    (
        "pt",
        "Em 28/10/2021 12:46, \"Jana Nováková\" <jana@customer.example> escreveu:",
    ),
    (
        "ru",
        "28.10.2021 12:46, \"Jana Nováková\" <jana@customer.example> пишет:",
    ),
    (
        "sk",
        "Dňa 28.10.2021 o 12:46 \"Jana Nováková\" <jana@customer.example> napísal(a):",
    ),
    (
        "es",
        "El 28/10/2021 a las 12:46, \"Jana Nováková\" <jana@customer.example> escribió:",
    ),
    (
        "sv",
        "Den 2021-10-28 kl. 12:46 skrev \"Jana Nováková\" <jana@customer.example>:",
    ),
    (
        "tr",
        "28.10.2021 12:46 tarihinde \"Jana Nováková\" <jana@customer.example> şunu yazdı:",
    ),
];

#[test]
fn outlook_2019_attribution_forwards_name_the_original_sender_in_every_language() {
    let server = start();
    let acme = server.create_account("Acme");
    assert!(
        server
            .cli(&["members", "add", &acme.id.to_string(), AGENT])
            .status
            .success()
    );
    let mut c = server.connect();
    c.ehlo();
    for (language, attribution) in OUTLOOK_2019_ATTRIBUTIONS {
        let body = format!(
            "FYI, see below.\r\n\r\n{attribution}\r\n\r\n    Hello,\r\n    my order 4711 has not arrived yet ({language}).\r\n\r\n    Regards,\r\n    Jana\r\n"
        );
        let message = mail(
            AGENT,
            "FW: Order 4711",
            &[("Message-ID", &format!("<fw-{language}@agency.example>"))],
            &body,
        );
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&acme.address], message.as_bytes())
            .expect("stored");
        assert_eq!(m["kind"], "forward", "{language}: {m}");
        assert_eq!(m["original"]["from_email"], "jana@customer.example", "{language}");
        assert_eq!(m["original"]["from_name"], "Jana Nováková", "{language}");
        assert_eq!(m["original"]["note"], "FYI, see below.", "{language}");
        assert!(
            m["reply_text"].as_str().unwrap().starts_with("Hello,\nmy order 4711"),
            "{language}: {}",
            m["reply_text"]
        );
        let conversation = server.conversation(m["conversation_id"].as_i64().expect("in a conversation"));
        assert_eq!(conversation["contact_email"], "jana@customer.example", "{language}");
        assert_eq!(conversation["subject"], "Order 4711", "{language}");
    }
    // One contact for the customer, and the agent is none.
    let contacts = server.contacts(acme.id);
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    // The same layout without a forward prefix is a reply from the agent, not a forward.
    let reply = mail(
        AGENT,
        "Re: Order 4711",
        &[],
        "Done.\r\n\r\nOn 28/10/2021 12:46, \"Jana\" <jana@customer.example> wrote:\r\n\r\n    Hello\r\n",
    );
    let m = server
        .deliver_and_show(&mut c, AGENT, &[&acme.address], reply.as_bytes())
        .unwrap();
    assert_ne!(m["kind"], "forward");
}
