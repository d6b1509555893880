//! Offline tests of the whole module: every record comes from [`TestRecords`], every signature is
//! made here with the test keys in `tests/fixtures/dkim/`, and the one test that needs a resolver
//! talks to a UDP socket on 127.0.0.1 that never answers.

use super::resolver::Cache;
use super::*;
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, ResolverCache};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const RSA_PEM: &str = include_str!("../../tests/fixtures/dkim/rsa2048.pem");
const RSA_PUB: &str = include_str!("../../tests/fixtures/dkim/rsa2048.pub.b64");
const ED25519_PKCS8: &[u8] = include_bytes!("../../tests/fixtures/dkim/ed25519.pk8.der");
const ED25519_PUB: &str = include_str!("../../tests/fixtures/dkim/ed25519.pub.b64");

const US: &str = "mx.inboxd.test";
const T: Duration = Duration::from_secs(5);
/// Inside every test domain's SPF range.
const GOOD_IP: &str = "192.0.2.7";
/// Outside every SPF range.
const BAD_IP: &str = "198.51.100.9";

fn records() -> TestRecords {
    let dkim_rsa = format!("v=DKIM1; k=rsa; p={}", RSA_PUB.trim());
    let dkim_ed = format!("v=DKIM1; k=ed25519; p={}", ED25519_PUB.trim());
    TestRecords::new()
        .txt("sender.example", "v=spf1 ip4:192.0.2.0/24 -all")
        .txt("_dmarc.sender.example", "v=DMARC1; p=reject")
        .txt("s1._domainkey.sender.example", &dkim_rsa)
        .txt("soft.example", "v=spf1 ip4:192.0.2.0/24 ~all")
        .txt("neutral.example", "v=spf1 ?all")
        .txt("broken.example", "v=spf1 ip4:not-an-ip -all")
        .txt("mx.example", "v=spf1 mx include:_spf.provider.example -all")
        .mx("mx.example", 10, "in1.mx.example")
        .a("in1.mx.example", Ipv4Addr::new(203, 0, 113, 1))
        .txt("_spf.provider.example", "v=spf1 ip4:203.0.113.50 -all")
        .txt("mail.helo.example", "v=spf1 a -all")
        .a("mail.helo.example", Ipv4Addr::new(192, 0, 2, 25))
        .txt("p-none.example", "v=spf1 ip4:192.0.2.0/24 -all")
        .txt("_dmarc.p-none.example", "v=DMARC1; p=none")
        .txt("p-quarantine.example", "v=spf1 ip4:192.0.2.0/24 -all")
        .txt("_dmarc.p-quarantine.example", "v=DMARC1; p=quarantine")
        .txt("_dmarc.org.example", "v=DMARC1; p=reject; sp=quarantine")
        .a("mail.org.example", Ipv4Addr::new(192, 0, 2, 99))
        .txt("arc._domainkey.forwarder.example", &dkim_ed)
}

fn verifier() -> Verifier {
    Verifier::with_records(records(), T).unwrap()
}

fn message(from: &str, body: &str) -> String {
    format!(
        "From: Alice <{from}>\r\nTo: support@acme.inboxd.test\r\nSubject: Order 1234\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <m1@sender.example>\r\n\r\n{body}"
    )
}

/// `raw` with a DKIM-Signature from `domain`/`selector` made with the RSA test key.
fn dkim_sign(raw: &str, domain: &str, selector: &str) -> String {
    let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::from_pem_slice(RSA_PEM.as_bytes()).unwrap()).unwrap();
    let signature = DkimSigner::from_key(key)
        .domain(domain)
        .selector(selector)
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(raw.as_bytes())
        .unwrap();
    format!("{}{raw}", signature.to_header())
}

fn input<'a>(raw: &'a [u8], ip: &str, mail_from: &'a str) -> AuthInput<'a> {
    AuthInput {
        raw,
        client_ip: ip.parse().unwrap(),
        helo: "mail.sender.example",
        mail_from,
        our_hostname: US,
    }
}

async fn check(raw: &str, ip: &str, mail_from: &str) -> AuthResult {
    verifier().verify(input(raw.as_bytes(), ip, mail_from)).await
}

#[tokio::test]
async fn spf_results_follow_the_published_record() {
    let raw = message("alice@sender.example", "Hi\r\n");
    for (mail_from, ip, want) in [
        ("alice@sender.example", GOOD_IP, "pass"),
        ("alice@sender.example", BAD_IP, "fail"),
        ("bob@soft.example", BAD_IP, "softfail"),
        ("bob@soft.example", GOOD_IP, "pass"),
        ("bob@neutral.example", BAD_IP, "neutral"),
        ("bob@nospf.example", GOOD_IP, "none"),
        ("bob@broken.example", GOOD_IP, "permerror"),
        ("bob@mx.example", "203.0.113.1", "pass"),
        ("bob@mx.example", "203.0.113.50", "pass"),
        ("bob@mx.example", "203.0.113.51", "fail"),
        ("<alice@sender.example>", GOOD_IP, "pass"),
    ] {
        let r = check(&raw, ip, mail_from).await;
        assert_eq!(r.spf, want, "{mail_from} from {ip}");
    }
    let r = check(&raw, GOOD_IP, "bob@soft.example").await;
    assert_eq!(r.spf_domain, "soft.example");
    assert_eq!(r.spf_helo, "none", "mail.sender.example publishes nothing");
}

#[tokio::test]
async fn null_sender_uses_the_helo_identity() {
    let raw = message("mailer-daemon@helo.example", "bounce\r\n");
    let v = verifier();
    let mut i = input(raw.as_bytes(), "192.0.2.25", "");
    i.helo = "mail.helo.example";
    let r = v.verify(i).await;
    assert_eq!(
        (r.spf.as_str(), r.spf_helo.as_str(), r.spf_domain.as_str()),
        ("pass", "pass", "mail.helo.example")
    );
    i.client_ip = BAD_IP.parse().unwrap();
    let r = v.verify(i).await;
    assert_eq!((r.spf.as_str(), r.spf_helo.as_str()), ("fail", "fail"));
    let header = r.authentication_results_header(US);
    assert!(header.contains("spf=fail smtp.helo=mail.helo.example;"), "{header}");
}

#[tokio::test]
async fn dkim_pass_and_body_change_fail() {
    let signed = dkim_sign(
        &message("alice@sender.example", "Hello there\r\n"),
        "sender.example",
        "s1",
    );
    // SPF fails (wrong IP): DMARC passes on the aligned signature alone.
    let r = check(&signed, BAD_IP, "alice@sender.example").await;
    assert_eq!(r.dkim, "pass");
    assert_eq!(r.dkim_domains, ["sender.example"]);
    assert_eq!(r.dkim_signatures[0].selector, "s1");
    assert_eq!(r.spf, "fail");
    assert_eq!(r.dmarc, "pass");
    assert!(r.from_domain_aligned);

    let altered = signed.replace("Hello there", "Hello thief");
    let r = check(&altered, BAD_IP, "alice@sender.example").await;
    assert_eq!(r.dkim, "fail");
    assert!(r.dkim_domains.is_empty());
    assert_eq!(r.dmarc, "fail");
    assert_eq!(r.dmarc_policy.as_deref(), Some("reject"));
    assert!(!r.from_domain_aligned);

    // A selector with no key published is a permanent error.
    let unknown = dkim_sign(&message("alice@sender.example", "Hi\r\n"), "sender.example", "gone");
    assert_eq!(check(&unknown, GOOD_IP, "alice@sender.example").await.dkim, "permerror");
    // No signature at all.
    let plain = message("alice@sender.example", "Hi\r\n");
    let r = check(&plain, GOOD_IP, "alice@sender.example").await;
    assert_eq!((r.dkim.as_str(), r.dkim_signatures.len()), ("none", 0));
}

#[tokio::test]
async fn dmarc_pass_and_each_policy_on_failure() {
    // Aligned SPF pass.
    let r = check(
        &message("alice@sender.example", "Hi\r\n"),
        GOOD_IP,
        "alice@sender.example",
    )
    .await;
    assert_eq!((r.dmarc.as_str(), r.dmarc_policy.as_deref()), ("pass", Some("reject")));
    assert_eq!(r.from_domain.as_deref(), Some("sender.example"));
    assert!(r.from_domain_aligned);

    // SPF passes, but for another domain than From: not aligned.
    let r = check(
        &message("ceo@p-quarantine.example", "Hi\r\n"),
        GOOD_IP,
        "alice@sender.example",
    )
    .await;
    assert_eq!(r.spf, "pass");
    assert_eq!(
        (r.dmarc.as_str(), r.dmarc_policy.as_deref()),
        ("fail", Some("quarantine"))
    );
    assert!(!r.from_domain_aligned);

    for (from, policy) in [
        ("x@p-none.example", "none"),
        ("x@p-quarantine.example", "quarantine"),
        ("x@sender.example", "reject"),
        // A subdomain gets the organizational domain's sp=.
        ("x@mail.org.example", "quarantine"),
    ] {
        let domain = from.split('@').nth(1).unwrap();
        let r = check(&message(from, "Hi\r\n"), BAD_IP, from).await;
        assert_eq!(r.dmarc, "fail", "{from}");
        assert_eq!(r.dmarc_policy.as_deref(), Some(policy), "{from}");
        assert_eq!(r.from_domain.as_deref(), Some(domain));
    }

    // No DMARC record: none, and alignment is judged on the domains themselves.
    let r = check(&message("bob@soft.example", "Hi\r\n"), GOOD_IP, "bob@soft.example").await;
    assert_eq!((r.dmarc.as_str(), r.dmarc_policy.as_deref()), ("none", None));
    assert!(r.from_domain_aligned);
}

/// A message from sender.example (DKIM-signed), received by forwarder.example, given a footer (which
/// breaks DKIM) and ARC-sealed with forwarder.example's Ed25519 key: what Gmail's auto-forward does.
async fn sealed_forward() -> String {
    let original = dkim_sign(
        &message("alice@sender.example", "Hello there\r\n"),
        "sender.example",
        "s1",
    );

    // The forwarder receives the original from the sender's own server and records its verdict.
    let forwarder = verifier();
    let (auth, caches) = forwarder.parts();
    let received = AuthenticatedMessage::parse(original.as_bytes()).unwrap();
    let ip: IpAddr = GOOD_IP.parse().unwrap();
    let dkim = auth.verify_dkim(caches.params(&received)).await;
    let spf_params = SpfParameters::verify_mail_from(
        ip,
        "mail.sender.example",
        "mx.forwarder.example",
        "alice@sender.example",
    );
    let spf = auth.verify_spf(caches.params(spf_params)).await;
    let dmarc = auth
        .verify_dmarc(caches.params(DmarcParameters::new(&received, &dkim, "sender.example", &spf)))
        .await;
    let results = AuthenticationResults::new("mx.forwarder.example")
        .with_dkim_results(&dkim, "alice@sender.example")
        .with_spf_mailfrom_result(&spf, ip, "alice@sender.example", "mail.sender.example")
        .with_dmarc_result(&dmarc);

    // Then it adds a footer (breaking DKIM) and seals what it sends on.
    let forwarded = original.replace("Hello there\r\n", "Hello there\r\n-- \r\nSent via the forwarder\r\n");
    let to_seal = AuthenticatedMessage::parse(forwarded.as_bytes()).unwrap();
    let chain = auth.verify_arc(caches.params(&to_seal)).await;
    let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(ED25519_PKCS8).unwrap();
    let set = ArcSealer::from_key(key)
        .domain("forwarder.example")
        .selector("arc")
        .headers(["From", "To", "Subject", "Date", "Message-ID", "DKIM-Signature"])
        .seal(&to_seal, &results, &chain)
        .unwrap();
    let sealed = format!("{}{forwarded}", set.to_header());

    sealed
}

#[tokio::test]
async fn arc_sealed_forward_keeps_the_original_verdict() {
    let original = dkim_sign(
        &message("alice@sender.example", "Hello there\r\n"),
        "sender.example",
        "s1",
    );
    let sealed = sealed_forward().await;
    // We receive it from the forwarder, with an SRS-style envelope sender.
    let r = check(&sealed, "203.0.113.200", "srs0=x@forwarder.example").await;
    assert_eq!(r.dkim, "fail");
    assert_eq!((r.dmarc.as_str(), r.dmarc_policy.as_deref()), ("fail", Some("reject")));
    assert_eq!(r.arc, "pass");
    assert_eq!(r.arc_sealers, ["forwarder.example"]);
    assert_eq!(r.arc_dmarc.as_deref(), Some("pass"));

    // Altered after sealing: the chain no longer holds, and its verdict is not exposed.
    let tampered = sealed.replace("Sent via the forwarder", "Sent via somebody else");
    let r = check(&tampered, "203.0.113.200", "srs0=x@forwarder.example").await;
    assert_eq!(r.arc, "fail");
    assert_eq!(r.arc_dmarc, None);
    assert_eq!(r.arc_sealers, ["forwarder.example"]);

    // No chain at all.
    assert_eq!(check(&original, GOOD_IP, "alice@sender.example").await.arc, "none");
}

/// The sealed forward the server's integration tests send (`tests/fixtures/auth/arc-forward.eml`):
/// still valid against the test records. `INBOXD_WRITE_FIXTURES=1 cargo test arc_forward_fixture`
/// writes it anew.
#[tokio::test]
async fn arc_forward_fixture_verifies() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/arc-forward.eml");
    if std::env::var_os("INBOXD_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, sealed_forward().await).unwrap();
    }
    let sealed = std::fs::read_to_string(path).unwrap();
    let r = check(&sealed, "203.0.113.200", "srs0=x@forwarder.example").await;
    assert_eq!(
        (r.arc.as_str(), r.arc_dmarc.as_deref(), r.dmarc.as_str()),
        ("pass", Some("pass"), "fail")
    );
}

#[tokio::test]
async fn dns_that_never_answers_gives_temperror_within_the_bound() {
    // A "resolver" on loopback that reads nothing and answers nothing.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let bound = Duration::from_millis(200);
    let v = Verifier::with_nameservers(&[silent.local_addr().unwrap()], bound).unwrap();
    let signed = dkim_sign(&message("alice@sender.example", "Hi\r\n"), "sender.example", "s1");
    let started = Instant::now();
    let r = v
        .verify(input(signed.as_bytes(), GOOD_IP, "alice@sender.example"))
        .await;
    let took = started.elapsed();
    assert!(took < bound + Duration::from_millis(800), "took {took:?}");
    assert_eq!(r.spf, "temperror");
    assert_eq!(r.spf_helo, "temperror");
    assert_eq!(r.dkim, "temperror");
    assert_eq!(r.dmarc, "temperror");
    assert_eq!(r.arc, "none", "no ARC headers, nothing to look up");
    assert!(r.timed_out);
    assert_eq!(r.from_domain.as_deref(), Some("sender.example"));
    drop(silent);
}

#[test]
fn header_lists_every_result_and_quotes_hostile_values() {
    let mut r = AuthResult {
        spf: "pass".into(),
        spf_domain: "sender.example".into(),
        spf_helo: "none".into(),
        dkim: "pass".into(),
        dkim_signatures: vec![
            DkimSignature {
                domain: "sender.example".into(),
                selector: "s1".into(),
                result: "pass".into(),
            },
            DkimSignature {
                domain: "esp.example".into(),
                selector: "k2".into(),
                result: "fail".into(),
            },
        ],
        dkim_domains: vec!["sender.example".into()],
        dmarc: "pass".into(),
        dmarc_policy: Some("reject".into()),
        arc: "none".into(),
        arc_sealers: vec![],
        arc_dmarc: None,
        from_domain: Some("sender.example".into()),
        from_domain_aligned: true,
        timed_out: false,
        smtp_mailfrom: "alice@sender.example".into(),
        smtp_helo: "mail.sender.example".into(),
    };
    assert_eq!(
        r.authentication_results_header(US),
        "Authentication-Results: mx.inboxd.test;\r\n\
         \tspf=pass smtp.mailfrom=alice@sender.example;\r\n\
         \tdkim=pass header.d=sender.example header.s=s1;\r\n\
         \tdkim=fail header.d=esp.example header.s=k2;\r\n\
         \tdmarc=pass (p=reject) header.from=sender.example;\r\n\
         \tarc=none\r\n"
    );

    r.smtp_mailfrom = "x@y\r\nAuthentication-Results: mx.inboxd.test; dkim=pass".into();
    r.from_domain = Some("a;b (c) \"d\"".into());
    let h = r.authentication_results_header(US);
    assert_eq!(h.matches("\r\n").count(), 6, "no line break but the folding ones: {h}");
    assert!(
        h.contains("smtp.mailfrom=\"x@yAuthentication-Results: mx.inboxd.test; dkim=pass\";"),
        "{h}"
    );
    assert!(h.contains("header.from=\"a;b (c) \\\"d\\\"\";"), "{h}");

    r.dkim_signatures.clear();
    r.dkim = "none".into();
    r.dmarc_policy = None;
    r.from_domain = None;
    let h = r.authentication_results_header(US);
    assert!(h.contains("\tdkim=none;\r\n\tdmarc=pass;\r\n"), "{h}");
}

#[test]
fn strip_forged_results_removes_only_ours() {
    let raw = "Received: from a by b; Mon, 2 Mar 2026 10:00:00 +0000\r\n\
               Authentication-Results: mx.inboxd.test; dkim=pass\r\n\theader.d=bank.example;\r\n dmarc=pass\r\n\
               Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=a@b.example\r\n\
               authentication-results :\r\n (forged) MX.INBOXD.TEST. 1; spf=pass\r\n\
               Authentication-Results: mx.inboxd.test.evil.example; dkim=pass\r\n\
               Authentication-Results: \"mx.inboxd.test\"; arc=pass\r\n\
               Authentication-Results: Inbox.Test; dmarc=pass\r\n\
               Authentication-Results: relay.inbox.test; dmarc=pass\r\n\
               Authentication-Results: notinbox.test; dmarc=pass\r\n\
               X-Authentication-Results: mx.inboxd.test; dkim=pass\r\n\
               Subject: hi\r\n\
               \r\n\
               Authentication-Results: mx.inboxd.test; dkim=pass\r\n";
    let out = strip_forged_results(raw.as_bytes(), &ours());
    assert!(matches!(out, Cow::Owned(_)));
    let out = String::from_utf8(out.into_owned()).unwrap();
    assert_eq!(
        out,
        "Received: from a by b; Mon, 2 Mar 2026 10:00:00 +0000\r\n\
         Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=a@b.example\r\n\
         Authentication-Results: mx.inboxd.test.evil.example; dkim=pass\r\n\
         Authentication-Results: notinbox.test; dmarc=pass\r\n\
         X-Authentication-Results: mx.inboxd.test; dkim=pass\r\n\
         Subject: hi\r\n\
         \r\n\
         Authentication-Results: mx.inboxd.test; dkim=pass\r\n"
    );

    // Nothing to remove: the very same bytes come back, uncopied.
    let clean = b"Subject: hi\nAuthentication-Results: other.example; none\n\nbody\n";
    match strip_forged_results(clean, &ours()) {
        Cow::Borrowed(b) => assert!(std::ptr::eq(b, clean.as_slice())),
        Cow::Owned(_) => panic!("copied a message with nothing to remove"),
    }

    // Bare LF line endings, and a last field with no body after it.
    let lf = b"Authentication-Results: mx.inboxd.test; spf=pass\nSubject: x\nAuthentication-Results: mx.inboxd.test;\n\tnone";
    assert_eq!(&*strip_forged_results(lf, &ours()), b"Subject: x\n");
    assert_eq!(&*strip_forged_results(b"", &ours()), b"");
}

/// Our host name and the domain we receive for.
fn ours() -> OurDomains {
    OurDomains::new(["mx.inboxd.test", "inbox.test"])
}

#[test]
fn reads_one_method_out_of_a_results_value() {
    use super::header::method_result;
    let aar = "i=1; mx.forwarder.example;\r\n\tdkim=pass (good; really) header.d=sender.example;\r\n\
               \tspf=fail smtp.mailfrom=\"a;b\"@x.example;\r\n\tdmarc=pass header.from=Sender.Example policy.dmarc=reject";
    let (result, props) = method_result(aar, "dmarc").unwrap();
    assert_eq!(result, "pass");
    assert_eq!(props[0], ("header.from".to_string(), "Sender.Example".to_string()));
    assert_eq!(method_result(aar, "spf").unwrap().0, "fail");
    assert_eq!(method_result(aar, "arc"), None);
    assert_eq!(method_result("mx.example; none", "dmarc"), None);
    for junk in [
        "",
        ";;;",
        "=",
        "dmarc",
        "dmarc=",
        "dmarc=(",
        "dmarc=pass \"",
        "dmarc=pass =x \\",
        "(((",
        "\"\\",
    ] {
        let _ = method_result(junk, "dmarc");
    }
}

#[tokio::test]
async fn garbage_and_hostile_input_never_panics() {
    let v = verifier();
    let many_sigs = {
        let one = "DKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=s1; h=From; bh=AAAA; b=AAAA\r\n";
        let malformed = "DKIM-Signature: v=1; a=nope\r\n";
        format!(
            "{}{}From: a@sender.example\r\n\r\nbody\r\n",
            one.repeat(50),
            malformed.repeat(50)
        )
    };
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\r\n\r\n".to_vec(),
        b"no colon at all".to_vec(),
        b"From: <>\r\n\r\n".to_vec(),
        b"From: a@\r\nDKIM-Signature: garbage\r\nARC-Seal: i=1; cv=none\r\n\r\nx".to_vec(),
        b"ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=x; s=y; b=AAAA\r\nFrom: a@x.example\r\n\r\n".to_vec(),
        (0..=255u8).cycle().take(10_000).collect(),
        many_sigs.into_bytes(),
    ];
    for raw in &inputs {
        for (helo, mail_from) in [
            ("", ""),
            ("[192.0.2.1]", "<>"),
            ("a..b", "@"),
            ("x", "no-at-sign"),
            ("é.example", "ü@é.example"),
        ] {
            let mut i = input(raw, GOOD_IP, mail_from);
            i.helo = helo;
            let r = v.verify(i).await;
            assert!(
                r.dkim_signatures.len() <= 16,
                "signatures are capped: {}",
                r.dkim_signatures.len()
            );
            let _ = r.authentication_results_header(US);
        }
    }
}

#[tokio::test]
async fn large_message_verifies() {
    let body =
        "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n".repeat(25 * 1024 * 1024 / 78);
    let signed = dkim_sign(&message("alice@sender.example", &body), "sender.example", "s1");
    assert!(signed.len() > 25_000_000);
    let r = check(&signed, GOOD_IP, "alice@sender.example").await;
    assert_eq!((r.dkim.as_str(), r.dmarc.as_str()), ("pass", "pass"));
}

#[test]
fn cache_keeps_answers_until_their_ttl() {
    let v = verifier();
    let (_, caches) = v.parts();
    let cache: &Cache<Box<str>, mail_auth::Txt> = &caches.txt;
    let now = std::time::Instant::now();
    assert!(
        matches!(cache.get("sender.example."), Some(mail_auth::Txt::Spf(_))),
        "fixed records answer"
    );
    assert!(
        matches!(cache.get("unknown.example."), Some(mail_auth::Txt::Error(_))),
        "offline: NXDOMAIN"
    );

    let online = super::resolver::Caches::online();
    let ttl = &online.txt;
    let value = || mail_auth::Txt::Error(mail_auth::Error::ParseError);
    ttl.insert("a.example.".into(), value(), now + Duration::from_secs(60));
    ttl.insert("gone.example.".into(), value(), now);
    ttl.insert("soon.example.".into(), value(), now + Duration::from_millis(30));
    assert!(ttl.get("a.example.").is_some());
    assert!(ttl.get("gone.example.").is_none(), "an expired answer is never stored");
    assert!(ttl.get("missing.example.").is_none(), "online: a miss goes to DNS");
    std::thread::sleep(Duration::from_millis(40));
    assert!(ttl.get("soon.example.").is_none(), "dropped at its TTL");
    assert_eq!(ttl.len(), 1);
    for n in 0..10_000 {
        ttl.insert(format!("n{n}.example.").into(), value(), now + Duration::from_secs(60));
    }
    assert!(ttl.len() <= 8_192, "bounded");
}

#[test]
fn verify_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let v = verifier();
    let raw = message("alice@sender.example", "Hi\r\n");
    let future = v.verify(input(raw.as_bytes(), GOOD_IP, ""));
    assert_send(&future);
}
