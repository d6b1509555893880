//! Who really sent it: SPF, DKIM, DMARC and ARC through the real server, against a DNS server on
//! loopback that holds the test records (no network).

mod common;

use common::*;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use serde_json::Value;
use std::time::{Duration, Instant};

const ED25519_PKCS8: &[u8] = include_bytes!("fixtures/dkim/ed25519.pk8.der");
const ED25519_PUB: &str = include_str!("fixtures/dkim/ed25519.pub.b64");
const RSA_PUB: &str = include_str!("fixtures/dkim/rsa2048.pub.b64");

fn mail(from: &str, subject: &str, body: &str) -> String {
    message(
        &[
            ("From", from),
            ("To", "x@inbox.localhost"),
            ("Subject", subject),
            ("Date", "Tue, 24 Nov 2026 10:00:00 +0000"),
        ],
        body,
    )
}

fn dkim_sign(raw: &str, domain: &str) -> String {
    let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(ED25519_PKCS8).unwrap();
    let signature = DkimSigner::from_key(key)
        .domain(domain)
        .selector("s1")
        .headers(["From", "To", "Subject", "Date"])
        .sign(raw.as_bytes())
        .unwrap();
    format!("{}{raw}", signature.to_header())
}

fn publish_dkim(domain: &str) {
    zone().1.txt(
        &format!("s1._domainkey.{domain}"),
        &format!("v=DKIM1; k=ed25519; p={}", ED25519_PUB.trim()),
    );
}

/// Sends and returns the stored message's JSON.
fn deliver(server: &Server, mail_from: &str, to: &str, raw: &str) -> Value {
    let mut c = server.connect();
    c.ehlo();
    server
        .deliver_and_show(&mut c, mail_from, &[to], raw.as_bytes())
        .expect("stored")
}

fn raw_of(server: &Server, m: &Value) -> String {
    String::from_utf8(server.cli(&["messages", "raw", &m["id"].to_string()]).stdout).unwrap()
}

#[test]
fn spf_pass_fail_softfail_and_none() {
    let z = &zone().1;
    z.txt("spf-pass.authtest", "v=spf1 ip4:127.0.0.1 -all");
    z.txt("spf-fail.authtest", "v=spf1 ip4:192.0.2.1 -all");
    z.txt("spf-soft.authtest", "v=spf1 ip4:192.0.2.1 ~all");
    let server = start();
    let acme = server.create_account("Acme");
    for (domain, spf) in [
        ("spf-pass.authtest", "pass"),
        ("spf-fail.authtest", "fail"),
        ("spf-soft.authtest", "softfail"),
        ("spf-none.authtest", "none"),
    ] {
        let from = format!("jane@{domain}");
        let m = deliver(&server, &from, &acme.address, &mail(&from, &format!("spf {spf}"), "hi"));
        assert_eq!(m["auth"]["spf"], spf, "{domain}: {}", m["auth"]);
        let raw = raw_of(&server, &m);
        let header = raw
            .lines()
            .skip_while(|l| !l.starts_with("Authentication-Results:"))
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(header.starts_with("Authentication-Results: mx.test.example;"), "{raw}");
        assert!(header.contains(&format!("spf={spf}")), "{header}");
        // Without DMARC: aligned SPF pass verifies; a failing SPF makes the From suspicious.
        let suspicious = m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious");
        assert_eq!(m["verified"], spf == "pass", "{domain}");
        assert_eq!(suspicious, spf == "fail" || spf == "softfail", "{domain}");
        assert_eq!(m["auth"]["from_domain_aligned"], spf == "pass");
    }
}

#[test]
fn dkim_valid_and_broken_signatures() {
    publish_dkim("dkim.authtest");
    zone().1.txt("_dmarc.dkim.authtest", "v=DMARC1; p=quarantine");
    let server = start();
    let acme = server.create_account("Acme");
    let signed = dkim_sign(
        &mail("Ann <ann@dkim.authtest>", "signed", "Hello there\r\n"),
        "dkim.authtest",
    );
    let m = deliver(&server, "bounces@esp.authtest", &acme.address, &signed);
    assert_eq!(m["auth"]["dkim"], "pass", "{}", m["auth"]);
    assert_eq!(m["auth"]["dmarc"], "pass", "aligned DKIM satisfies DMARC");
    assert_eq!(m["verified"], true);
    assert_eq!(server.contacts(acme.id)[0]["verified"], true);
    // The body changed after signing.
    let broken = dkim_sign(
        &mail("Ann <ann@dkim.authtest>", "broken", "Hello there\r\n"),
        "dkim.authtest",
    )
    .replace("Hello there", "Hello there, send money");
    let m = deliver(&server, "bounces@esp.authtest", &acme.address, &broken);
    assert_eq!(m["auth"]["dkim"], "fail");
    assert_eq!(
        (m["auth"]["dmarc"].as_str(), m["auth"]["dmarc_policy"].as_str()),
        (Some("fail"), Some("quarantine"))
    );
    assert!(m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"));
    assert_eq!(m["verified"], false);
}

#[test]
fn dmarc_policies_none_quarantine_reject_and_overrides() {
    let z = &zone().1;
    for (domain, policy) in [
        ("p-none.authtest", "none"),
        ("p-quar.authtest", "quarantine"),
        ("p-reject.authtest", "reject"),
    ] {
        z.txt(&format!("_dmarc.{domain}"), &format!("v=DMARC1; p={policy}"));
        z.txt(domain, "v=spf1 ip4:127.0.0.1 -all");
    }
    z.txt("spoofer.authtest", "v=spf1 ip4:127.0.0.1 -all");
    let server = start();
    let acme = server.create_account("Acme");
    // Genuine: SPF passes for the From domain itself.
    let m = deliver(
        &server,
        "ceo@p-reject.authtest",
        &acme.address,
        &mail("ceo@p-reject.authtest", "genuine", "x"),
    );
    assert_eq!(
        (m["auth"]["dmarc"].as_str(), m["verified"].as_bool()),
        (Some("pass"), Some(true))
    );
    // Forged From: the envelope is the spoofer's own (SPF passes for it, but not aligned).
    for (domain, policy) in [("p-none.authtest", "none"), ("p-quar.authtest", "quarantine")] {
        let m = deliver(
            &server,
            "x@spoofer.authtest",
            &acme.address,
            &mail(&format!("ceo@{domain}"), "forged", "x"),
        );
        assert_eq!(
            (m["auth"]["dmarc"].as_str(), m["auth"]["dmarc_policy"].as_str()),
            (Some("fail"), Some(policy))
        );
        assert!(
            m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"),
            "{domain}"
        );
    }
    // p=reject: refused at the end of DATA, nothing stored.
    let before = server.count("SELECT count(*) FROM messages");
    let mut c = server.connect();
    c.ehlo();
    let forged = mail("ceo@p-reject.authtest", "forged reject", "pay this invoice");
    c.transaction("x@spoofer.authtest", &[&acme.address], forged.as_bytes())
        .expect(550, "5.7.1");
    assert_eq!(server.count("SELECT count(*) FROM messages"), before);
    // The account can choose to accept and flag instead.
    server.cli(&["accounts", "set-dmarc", &acme.id.to_string(), "accept"]);
    assert_eq!(
        server.json(&["accounts", "show", &acme.id.to_string()])["dmarc_reject"],
        "accept"
    );
    let m = deliver(&server, "x@spoofer.authtest", &acme.address, &forged);
    assert!(m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"));
    server.cli(&["accounts", "set-dmarc", &acme.id.to_string(), "default"]);
    // And so can the server.
    let server = builder().set("auth.dmarc_reject", "accept").start();
    let acme = server.create_account("Acme");
    let m = deliver(&server, "x@spoofer.authtest", &acme.address, &forged);
    assert_eq!(m["verified"], false);
}

#[test]
fn a_forged_from_never_passes_as_the_existing_contact() {
    let z = &zone().1;
    z.txt("bigcustomer.authtest", "v=spf1 ip4:127.0.0.1 -all");
    z.txt("_dmarc.bigcustomer.authtest", "v=DMARC1; p=none");
    z.txt("attacker.authtest", "v=spf1 ip4:127.0.0.1 -all");
    let server = start();
    let acme = server.create_account("Acme");
    let genuine = deliver(
        &server,
        "ceo@bigcustomer.authtest",
        &acme.address,
        &message(
            &[
                ("From", "CEO <ceo@bigcustomer.authtest>"),
                ("Subject", "Contract"),
                ("Message-ID", "<c1@bigcustomer.authtest>"),
            ],
            "Let's sign.",
        ),
    );
    assert_eq!(genuine["verified"], true);
    let forged = deliver(
        &server,
        "x@attacker.authtest",
        &acme.address,
        &message(
            &[
                ("From", "CEO <ceo@bigcustomer.authtest>"),
                ("Subject", "Re: Contract"),
                ("In-Reply-To", "<c1@bigcustomer.authtest>"),
            ],
            "Change of bank details.",
        ),
    );
    assert_eq!(
        forged["contact_id"], genuine["contact_id"],
        "linked to the contact it claims"
    );
    assert_eq!(forged["verified"], false);
    assert!(forged["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"));
    assert_ne!(
        forged["conversation_id"], genuine["conversation_id"],
        "but not in the genuine conversation"
    );
    assert_eq!(
        server.contacts(acme.id)[0]["verified"],
        true,
        "the genuine contact stays verified"
    );
    // A forged From nobody wrote from before: a contact, but not marked genuine.
    let m = deliver(
        &server,
        "x@attacker.authtest",
        &acme.address,
        &mail("cfo@bigcustomer.authtest", "hello", "x"),
    );
    assert!(m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"));
    let cfo = server
        .contacts(acme.id)
        .into_iter()
        .find(|c| c["email"] == "cfo@bigcustomer.authtest")
        .unwrap();
    assert_eq!(cfo["verified"], false);
    assert_eq!(cfo["opt_in"], false);
}

#[test]
fn a_member_forward_is_judged_by_the_members_own_authentication() {
    let z = &zone().1;
    z.txt("agency.authtest", "v=spf1 ip4:127.0.0.1 -all");
    z.txt("_dmarc.agency.authtest", "v=DMARC1; p=none");
    z.txt("spoof.authtest", "v=spf1 ip4:127.0.0.1 -all");
    let server = start();
    let acme = server.create_account("Acme");
    server.cli(&["members", "add", &acme.id.to_string(), "agent@agency.authtest"]);
    let forward = "From: Agent <agent@agency.authtest>\r\nSubject: Fwd: Quote\r\n\r\nPlease handle.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Priya <priya@customer.authtest>\r\nDate: Tue, 24 Nov 2026\r\nSubject: Quote\r\nTo: <agent@agency.authtest>\r\n\r\nHow much for 40 chairs?\r\n";
    let m = deliver(&server, "agent@agency.authtest", &acme.address, forward);
    assert_eq!(
        (m["kind"].as_str(), m["verified"].as_bool()),
        (Some("forward"), Some(true))
    );
    let m = deliver(
        &server,
        "x@spoof.authtest",
        &acme.address,
        &forward.replace("Quote", "Quote again"),
    );
    assert_eq!(m["kind"], "forward");
    assert_eq!(m["verified"], false, "the agent's From was forged");
    assert!(m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"));
}

#[test]
fn a_forged_authentication_results_header_is_removed() {
    zone().1.txt("ar.authtest", "v=spf1 ip4:127.0.0.1 -all");
    let server = start();
    let acme = server.create_account("Acme");
    let raw = "Authentication-Results: mx.test.example; dkim=pass header.d=bank.example;\r\n\tdmarc=pass\r\nAuthentication-Results: other.example; spf=pass\r\nFrom: a@ar.authtest\r\nSubject: trust me\r\n\r\nx\r\n";
    let m = deliver(&server, "a@ar.authtest", &acme.address, raw);
    let stored = raw_of(&server, &m);
    assert_eq!(
        stored.matches("Authentication-Results: mx.test.example;").count(),
        1,
        "only ours: {stored}"
    );
    assert!(!stored.contains("bank.example"), "the forgery is gone: {stored}");
    assert!(
        stored.contains("Authentication-Results: other.example; spf=pass"),
        "others' stay"
    );
    let ours = stored.find("Authentication-Results: mx.test.example;").unwrap();
    assert!(ours < stored.find("From: a@ar.authtest").unwrap());
}

#[test]
fn an_arc_sealed_forward_keeps_its_verdict_from_a_trusted_forwarder() {
    let z = &zone().1;
    z.txt("_dmarc.sender.example", "v=DMARC1; p=reject");
    z.txt(
        "s1._domainkey.sender.example",
        &format!("v=DKIM1; k=rsa; p={}", RSA_PUB.trim()),
    );
    z.txt(
        "arc._domainkey.forwarder.example",
        &format!("v=DKIM1; k=ed25519; p={}", ED25519_PUB.trim()),
    );
    z.txt("forwarder.example", "v=spf1 ip4:127.0.0.1 -all");
    let sealed = std::fs::read_to_string(fixture("auth/arc-forward.eml")).unwrap();
    // Trusted forwarder: DKIM broke in forwarding, DMARC fails, but ARC carries the original pass.
    let server = builder()
        .set(
            "auth.trusted_arc_sealers",
            toml::Value::Array(vec!["forwarder.example".into()]),
        )
        .start();
    let acme = server.create_account("Acme");
    let m = deliver(&server, "srs0=x@forwarder.example", &acme.address, &sealed);
    assert_eq!(
        (m["auth"]["arc"].as_str(), m["auth"]["dmarc"].as_str()),
        (Some("pass"), Some("fail"))
    );
    assert_eq!(m["verified"], true);
    assert!(!m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"));
    // Untrusted forwarder: the domain's p=reject applies.
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    c.transaction("srs0=x@forwarder.example", &[&acme.address], sealed.as_bytes())
        .expect(550, "5.7.1");
}

#[test]
fn a_dns_timeout_is_a_temperror_and_the_message_is_still_stored() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = builder()
        .set(
            "auth.nameservers",
            toml::Value::Array(vec![silent.local_addr().unwrap().to_string().into()]),
        )
        .set("auth.dns_timeout_secs", 1)
        .start();
    let acme = server.create_account("Acme");
    let started = Instant::now();
    let m = deliver(
        &server,
        "jane@slow.authtest",
        &acme.address,
        &mail("jane@slow.authtest", "slow dns", "x"),
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(m["auth"]["spf"], "temperror");
    assert_eq!(m["auth"]["dmarc"], "temperror");
    assert_eq!(m["verified"], false);
    assert!(
        !m["flags"].as_array().unwrap().iter().any(|f| f == "suspicious"),
        "a DNS failure is not an accusation"
    );
    assert_eq!(server.contacts(acme.id).len(), 1);
    drop(silent);
}

#[test]
fn trusted_relays_skip_the_checks() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = builder()
        .set(
            "server.trusted_networks",
            toml::Value::Array(vec!["127.0.0.0/8".into()]),
        )
        .set(
            "auth.nameservers",
            toml::Value::Array(vec![silent.local_addr().unwrap().to_string().into()]),
        )
        .start();
    let acme = server.create_account("Acme");
    let started = Instant::now();
    let m = deliver(
        &server,
        "app@platform.authtest",
        &acme.address,
        &mail("jane@customer.authtest", "from the platform", "x"),
    );
    assert!(started.elapsed() < Duration::from_secs(2), "no DNS was asked");
    assert_eq!(m["auth"], Value::Null);
    assert_eq!(m["verified"], true);
    assert!(!raw_of(&server, &m).contains("Authentication-Results: mx.test.example"));
}
