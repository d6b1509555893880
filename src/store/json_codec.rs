//! How the store keeps the small JSON values it writes with every message: an event's data and
//! the message's envelope, zstd-compressed against a dictionary of their own shapes.
//!
//! Each is a few hundred bytes, mostly key names and the same few values. zstd alone barely
//! shrinks them (a frame starts knowing nothing); against a dictionary that already holds the keys
//! a `message.received` event's 350 bytes take about 100, and an envelope's 260 about 110 (BENCHMARKS.md,
//! "Storage"). The first byte names how the rest is kept, so that a better dictionary can come
//! beside this one: what was written with a dictionary is read with it for good.

/// The JSON's own bytes follow.
const PLAIN: u8 = 0;
/// A zstd frame made against [`DICTIONARY`] follows.
const DICTIONARY_1: u8 = 1;

/// zstd's level. These values are small and every level finds the same matches in the dictionary;
/// a negative level leaves the literals (what it does not match: ids, addresses, a subject)
/// without Huffman coding, which barely shrinks so few bytes, and packs a value in about half the
/// time: 1.4 µs against 2.5 µs at level 1 or 3, for about 5 bytes more (a `message.received` and
/// a `conversation.created` in turn). Events are packed on the commit's thread.
const LEVEL: i32 = -1;

/// A value that says it is larger than this is damaged (an event or an envelope is at most a
/// message's subject and addresses).
const MAX_SIZE: u64 = 64 << 20;

/// Version 1's dictionary, of zstd's "raw content" kind: the values as inboxd writes them (keys in
/// the order serde writes them: an event's sorted, an envelope's as its struct declares them),
/// the most common last, where zstd reaches them with the shortest offsets. Never change it: the
/// rows written with it are read with it. A better one is a new first byte.
const DICTIONARY: &str = concat!(
    r#"{"contact_id":1,"email":"","status":"5.1.1"}"#,
    r#"{"automation":false,"contact_id":1,"email":"@gmail.com","lists":[],"name":null,"opt_in":false,"source":"email","verified":true}"#,
    r#"{"queue_id":"","mail_from":"","rcpt_to":["@"],"client_ip":"","helo":"mail.","protocol":"ESMTPS","tls":"TLSv1.3 TLS_AES_256_GCM_SHA384","body":"8BITMIME","smtputf8":false,"env_id":null,"received_at":"2026-12-01T00:00:00Z","size":1}"#,
    r#"{"queue_id":"","mail_from":"","rcpt_to":["@"],"client_ip":"127.0.0.1","helo":"","protocol":"SMTP","tls":null,"body":null,"smtputf8":false,"env_id":null,"received_at":"2026-12-01T00:00:00Z","size":1}"#,
    r#"{"automation_id":null,"campaign_id":null,"channel":"email","contact_id":1,"conversation_id":1,"subject":""}"#,
    r#"{"automation":false,"automation_id":null,"campaign_id":null,"contact_created":true,"contact_id":1,"conversation_contact_id":1,"conversation_id":1,"from_email":"","kind":"message","message_id":1,"participant":{"contact_id":1,"email":"","name":null,"role":"contact"},"queue_id":"","released_from":null,"subject":"Re: "}"#,
);

/// `json` as the store keeps it.
pub fn pack(json: &str) -> Vec<u8> {
    thread_local! {
        // The dictionary is digested once per thread, not per value.
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let frame = COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = zstd::bulk::Compressor::with_dictionary(LEVEL, DICTIONARY.as_bytes()).ok();
        }
        cell.as_mut().and_then(|c| c.compress(json.as_bytes()).ok())
    });
    let (first, rest) = match &frame {
        // Only memory running out leaves no frame; a frame larger than the JSON is not kept.
        Some(frame) if frame.len() < json.len() => (DICTIONARY_1, frame.as_slice()),
        _ => (PLAIN, json.as_bytes()),
    };
    let mut packed = Vec::with_capacity(1 + rest.len());
    packed.push(first);
    packed.extend_from_slice(rest);
    packed
}

/// The JSON that `packed` keeps.
pub fn unpack(packed: &[u8]) -> Result<String, String> {
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let bytes = match packed.split_first() {
        Some((&PLAIN, json)) => json.to_vec(),
        Some((&DICTIONARY_1, frame)) => {
            let size = match zstd::zstd_safe::get_frame_content_size(frame) {
                Ok(Some(size)) if size <= MAX_SIZE => size as usize,
                _ => return Err("a stored JSON value is damaged: its frame has no size".into()),
            };
            DECOMPRESSOR.with(|cell| {
                let mut cell = cell.borrow_mut();
                if cell.is_none() {
                    *cell = Some(
                        zstd::bulk::Decompressor::with_dictionary(DICTIONARY.as_bytes())
                            .map_err(|e| format!("zstd: {e}"))?,
                    );
                }
                let decompressor = cell.as_mut().expect("made above");
                decompressor
                    .decompress(frame, size)
                    .map_err(|e| format!("a stored JSON value is damaged: {e}"))
            })?
        }
        Some((other, _)) => return Err(format!("a stored JSON value in an unknown form {other}")),
        None => return Err("a stored JSON value is empty".into()),
    };
    String::from_utf8(bytes).map_err(|e| format!("a stored JSON value is not UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_packed_is_read_back_as_it_was_and_small_values_shrink() {
        let event = r#"{"automation":false,"automation_id":null,"campaign_id":"c-2026-spring","contact_created":false,"contact_id":48213,"conversation_contact_id":48213,"conversation_id":901233,"from_email":"marie.dupont@exemple.fr","kind":"reply","message_id":3311907,"participant":{"contact_id":48213,"email":"marie.dupont@exemple.fr","name":"Marie Dupont","role":"contact"},"queue_id":"1A2B3C4D5E6F7081","released_from":null,"subject":"Re: Votre commande n° 4471 — livraison"}"#;
        let envelope = r#"{"queue_id":"1A2B3C4D5E6F7081","mail_from":"bounce+x@mailer.example.net","rcpt_to":["acme-7q2k@in.example"],"client_ip":"2001:db8::25","helo":"mx2.mailer.example.net","protocol":"ESMTPS","tls":"TLSv1.3 TLS_AES_128_GCM_SHA256","body":"8BITMIME","smtputf8":false,"env_id":null,"received_at":"2027-03-14T09:26:53Z","size":48211}"#;
        for (json, at_most) in [(event, 0.5), (envelope, 0.6)] {
            let packed = pack(json);
            assert_eq!(packed[0], DICTIONARY_1, "{json}");
            assert!(
                (packed.len() as f64) < at_most * json.len() as f64,
                "{} of {} bytes: {json}",
                packed.len(),
                json.len()
            );
            assert_eq!(unpack(&packed).unwrap(), json);
        }
        // A value the dictionary does not help is kept as it is, and read back the same.
        let odd = "\"\u{1F600}\"";
        let packed = pack(odd);
        assert_eq!(packed[0], PLAIN);
        assert_eq!(unpack(&packed).unwrap(), odd);
        // A long one too (a subject of 100 KB).
        let long = serde_json::json!({ "subject": "Ω".repeat(50_000) }).to_string();
        assert_eq!(unpack(&pack(&long)).unwrap(), long);
    }

    #[test]
    fn damaged_or_unknown_bytes_are_an_error_not_a_panic() {
        let packed = pack(r#"{"contact_id":1,"email":"a@b.example","status":"5.1.1"}"#);
        for bad in [
            &[][..],
            &[7, 1, 2][..],
            &[DICTIONARY_1][..],
            &packed[..packed.len() - 3],
            &[PLAIN, 0xFF][..],
        ] {
            assert!(unpack(bad).is_err(), "{bad:?}");
        }
    }
}
