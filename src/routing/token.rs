//! Signed reply addresses: `r-<token>@<our domain>`, minted when the platform sends to a contact.
//!
//! The token carries the account, what was sent (campaign or automation id) and a keyed digest of
//! the contact's address, then an HMAC-SHA256 tag over all of it. The contact travels as a 48-bit
//! keyed digest rather than the address itself so that the local part stays within RFC 5321's 64
//! octets (longer ones are refused by some senders' MTAs); the platform knows who it sent to, and
//! the reply's own From names the person who answered. Without the key a token can't be forged,
//! altered or enumerated: 64 bits of tag must match.

use crate::mail::TokenOrigin;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub(crate) const LOCAL_PREFIX: &str = "r-";
const VERSION: u8 = 1;
const TAG_LEN: usize = 8;
const CONTACT_DIGEST_LEN: usize = 6;
const MAX_ORIGIN_ID: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyToken {
    pub account_id: i64,
    pub origin: TokenOrigin,
    contact_digest: [u8; CONTACT_DIGEST_LEN],
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        m.update(part);
    }
    m.finalize().into_bytes().into()
}

fn contact_digest(key: &[u8], email: &str) -> [u8; CONTACT_DIGEST_LEN] {
    let full = mac(key, &[b"contact:", email.trim().to_lowercase().as_bytes()]);
    let mut out = [0u8; CONTACT_DIGEST_LEN];
    out.copy_from_slice(&full[..CONTACT_DIGEST_LEN]);
    out
}

impl ReplyToken {
    /// A token for `contact_email` of `account_id`, with the contact digest keyed by `key`.
    pub fn new(key: &[u8], account_id: i64, contact_email: &str, origin: TokenOrigin) -> ReplyToken {
        ReplyToken {
            account_id,
            origin,
            contact_digest: contact_digest(key, contact_email),
        }
    }

    /// True when the token was minted for this address.
    pub fn is_for_contact(&self, email: &str, key: &[u8]) -> bool {
        self.contact_digest == contact_digest(key, email)
    }

    /// The token text (base32, lower case) that follows `r-`.
    pub fn sign(&self, key: &[u8]) -> String {
        let mut payload = vec![VERSION];
        push_varint(&mut payload, self.account_id as u64);
        let (kind, id) = match &self.origin {
            TokenOrigin::None => (0u8, ""),
            TokenOrigin::Campaign(id) => (1, id.as_str()),
            TokenOrigin::Automation(id) => (2, id.as_str()),
        };
        let id = truncate_id(id);
        // Numeric ids (the common case) travel as a varint; others as bytes.
        match id.parse::<u64>() {
            Ok(n) if !id.starts_with('0') || id == "0" => {
                payload.push(kind | 0x10);
                push_varint(&mut payload, n);
            }
            _ => {
                payload.push(kind);
                payload.push(id.len() as u8);
                payload.extend_from_slice(id.as_bytes());
            }
        }
        payload.extend_from_slice(&self.contact_digest);
        let tag = mac(key, &[b"reply-token:", &payload]);
        payload.extend_from_slice(&tag[..TAG_LEN]);
        base32_encode(&payload)
    }

    /// Decodes and checks a token; `None` for anything not signed by `key`.
    pub fn verify(encoded: &str, key: &[u8]) -> Option<ReplyToken> {
        let bytes = base32_decode(encoded)?;
        if bytes.len() < 1 + 1 + 1 + CONTACT_DIGEST_LEN + TAG_LEN {
            return None;
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let expected = mac(key, &[b"reply-token:", payload]);
        // Constant-time comparison: no timing oracle for forging a tag byte by byte.
        if tag
            .iter()
            .zip(&expected[..TAG_LEN])
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
        {
            return None;
        }
        let mut rest = payload;
        if take(&mut rest, 1)?[0] != VERSION {
            return None;
        }
        let account_id = i64::try_from(read_varint(&mut rest)?).ok()?;
        let kind = take(&mut rest, 1)?[0];
        let id = if kind & 0x10 != 0 {
            read_varint(&mut rest)?.to_string()
        } else {
            let len = take(&mut rest, 1)?[0] as usize;
            String::from_utf8(take(&mut rest, len)?.to_vec()).ok()?
        };
        let origin = match kind & 0x0f {
            0 => TokenOrigin::None,
            1 => TokenOrigin::Campaign(id),
            2 => TokenOrigin::Automation(id),
            _ => return None,
        };
        let digest: [u8; CONTACT_DIGEST_LEN] = take(&mut rest, CONTACT_DIGEST_LEN)?.try_into().ok()?;
        if !rest.is_empty() {
            return None;
        }
        Some(ReplyToken {
            account_id,
            origin,
            contact_digest: digest,
        })
    }
}

fn truncate_id(id: &str) -> &str {
    &id[..id.floor_char_boundary(MAX_ORIGIN_ID)]
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_varint(rest: &mut &[u8]) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = take(rest, 1)?[0];
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() > 128 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for ch in text.bytes() {
        let value = B32.iter().position(|&c| c == ch.to_ascii_lowercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    // Leftover bits must be zero padding, or two spellings would decode to one token.
    if buffer & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_each_origin() {
        let key = b"a-test-key-of-some-length";
        for origin in [
            TokenOrigin::None,
            TokenOrigin::Campaign("12345".into()),
            TokenOrigin::Campaign("0042".into()),
            TokenOrigin::Automation("welcome-series".into()),
        ] {
            let t = ReplyToken::new(key, 7, "a@b.example", origin);
            let text = t.sign(key);
            assert!(text.len() + LOCAL_PREFIX.len() <= 64, "{text}");
            assert_eq!(ReplyToken::verify(&text, key), Some(t));
        }
    }

    #[test]
    fn garbage_never_verifies() {
        let key = b"a-test-key-of-some-length";
        for text in ["", "a", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "!!", &"a".repeat(500)] {
            assert_eq!(ReplyToken::verify(text, key), None);
        }
    }
}
