//! The `ingest` fuzz target's body, driven by libFuzzer (`fuzz_targets/ingest.rs`) and by the CI
//! smoke (`tests/fuzz_smoke.rs`). It runs the ingest pipeline on arbitrary message bytes:
//! `ingest::prepare` (parse, classify bounce / auto-reply / forward / notice, plan per account)
//! and the text helpers the plan uses.
//!
//! The input is the message as received (what DATA would hand over after unstuffing). Two accounts
//! receive it: account 1 through a tagged address, with a fixed agent; account 2 through a signed
//! reply address, with the message's own From as its agent, so the "an agent forwarded this" path
//! runs for every message that has a From. The envelope sender is `<>` (bounce rules) when the
//! input length is odd, so the fuzzer can reach both by adding a byte.
//!
//! Findings besides panics: a single allocation over 64 MiB, or a peak over a linear bound in the
//! input size (quadratic blow-ups), reported by libFuzzer as a crash; hangs by `-timeout`.

use crate::alloc_guard;
use inboxd::ingest::{self, forward, reply_text, thread};
use inboxd::mail::{AcceptedRecipient, AccountData, Envelope, TokenOrigin};
use std::collections::BTreeMap;

const TRACE: &[u8] = b"Received: from client.example ([192.0.2.7])\r\n\tby mx.fuzz.example (inboxd) with ESMTP\r\n\tid 0196A1B2C3D40001; Thu, 1 Jan 2026 00:00:00 +0000\r\n";

/// Peak heap for one input: a constant plus a multiple of its size (mail-parser decodes parts,
/// the plan keeps text and HTML and their quote-stripped forms).
fn peak_bound(len: usize) -> usize {
    32 * 1024 * 1024 + 64 * len
}

/// Runs one input; panics (a finding) on a crash or a peak heap over the bound.
pub fn run(data: &[u8]) {
    let peak = alloc_guard::Peak::start();
    let null_sender = data.len() % 2 == 1;
    let mut raw = Vec::with_capacity(TRACE.len() + data.len());
    raw.extend_from_slice(TRACE);
    raw.extend_from_slice(data);

    let envelope = Envelope {
        queue_id: "0196A1B2C3D40001".into(),
        mail_from: if null_sender {
            String::new()
        } else {
            "sender@client.example".into()
        },
        rcpt_to: vec![
            "acme-k7m2q9x4+sales@inbox.localhost".into(),
            "r-token@inbox.localhost".into(),
        ],
        client_ip: "192.0.2.7".parse().unwrap(),
        helo: "client.example".into(),
        protocol: "ESMTP".into(),
        tls: None,
        body: Some("8BITMIME".into()),
        smtputf8: false,
        env_id: None,
        received_at: "2026-01-01T00:00:00Z".into(),
        size: data.len(),
    };
    let recipients = vec![
        AcceptedRecipient {
            address: "acme-k7m2q9x4+sales@inbox.localhost".into(),
            account_id: 1,
            tag: Some("sales".into()),
            dmarc_reject: None,
            bulk_contacts: false,
            reply_to: None,
        },
        AcceptedRecipient {
            address: "r-token@inbox.localhost".into(),
            account_id: 2,
            tag: None,
            dmarc_reject: None,
            bulk_contacts: false,
            reply_to: Some(TokenOrigin::Campaign("cmp-1".into())),
        },
    ];
    // Account 2's agent is whoever the message is from: the forward rules then apply.
    let from = inboxd::ingest::parse::parse(data).from.map(|m| m.key());
    let mut accounts = BTreeMap::new();
    accounts.insert(
        1,
        AccountData {
            members: vec!["agent@example.com".into(), "boss@acme.example".into()],
            senders: Default::default(),
        },
    );
    accounts.insert(
        2,
        AccountData {
            members: from.into_iter().collect(),
            senders: Default::default(),
        },
    );

    let delivery = ingest::prepare(envelope, raw, TRACE.len(), &recipients, &accounts, None, &[]);
    assert_eq!(delivery.plans.len(), 2);
    assert_eq!(&delivery.raw[TRACE.len()..], data);
    assert!(!delivery.dedupe_key.is_empty());
    drop(delivery);

    // The text helpers, on the input as text (they also run on bodies inside `prepare`).
    let text = String::from_utf8_lossy(data);
    let _ = reply_text::from_text(&text);
    let _ = reply_text::from_html(&text);
    let _ = forward::from_text(&text);
    let _ = forward::from_html(&text);
    let first_line = text.lines().next().unwrap_or("");
    let _ = thread::subject_key(first_line);
    let _ = forward::strip_forward_prefix(first_line);
    drop(text);

    let used = peak.bytes();
    assert!(
        used <= peak_bound(data.len()),
        "peak heap {used} bytes for a {}-byte input",
        data.len()
    );
}
