//! Text whose charset is missing, unknown or provably wrong, decoded the way browsers do: chardetng
//! guesses the encoding from the bytes, encoding_rs decodes them.
//!
//! The rules:
//! - A header block with raw 8-bit bytes that are not UTF-8 (GB2312, GBK, Shift_JIS, Big5, Latin-1
//!   written straight into Subject or From, with no RFC 2047 encoding) is transcoded to UTF-8 by
//!   the guess before mail-parser reads it. RFC 2047 encoded words are ASCII and pass unchanged.
//! - A body part is decoded again from its bytes when its label is missing or unknown to us
//!   (`iso-gb2312`) and the bytes are not plain ASCII or UTF-8, or when the label is provably wrong:
//!   `utf-8` or `us-ascii` that does not decode cleanly, or a single-byte label on bytes that are
//!   valid multi-byte UTF-8. A known label that decodes cleanly is kept as declared.
//! - Only the parse reads the transcoded text; the raw message is stored as it arrived.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::Encoding;

/// The message with its header block in UTF-8, when the block holds 8-bit bytes that are not.
pub fn headers_to_utf8(raw: &[u8]) -> Option<Vec<u8>> {
    let end = header_block_end(raw);
    let head = &raw[..end];
    if head.is_ascii() || std::str::from_utf8(head).is_ok() {
        return None;
    }
    let encoding = guess(head);
    let (text, _, _) = encoding.decode(head);
    let mut out = Vec::with_capacity(raw.len() + text.len() - head.len().min(text.len()));
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&raw[end..]);
    Some(out)
}

/// The text of a body part's bytes (transfer encoding already undone) when mail-parser's reading
/// of them under `declared` cannot be right; None keeps mail-parser's.
pub fn redecode_body(bytes: &[u8], declared: Option<&str>) -> Option<String> {
    if bytes.is_ascii() {
        return None;
    }
    let utf8 = std::str::from_utf8(bytes).ok();
    let label = declared.map(|l| l.trim().trim_matches('"').to_ascii_lowercase());
    let ascii_label = matches!(label.as_deref(), Some("us-ascii" | "ascii"));
    // UTF-8 when the bytes are UTF-8, else the guess.
    let by_bytes = || utf8.map_or_else(|| decode_guessed(bytes), str::to_string);
    match label.as_deref().and_then(|l| Encoding::for_label(l.as_bytes())) {
        Some(encoding) if encoding == encoding_rs::UTF_8 => utf8.is_none().then(|| decode_guessed(bytes)),
        // A single-byte label (US-ASCII reads as windows-1252) decodes any bytes, so it is kept unless
        // the bytes are multi-byte UTF-8, or it says ASCII over 8-bit bytes.
        Some(encoding) if encoding.is_single_byte() => match utf8 {
            Some(text) => Some(text.to_string()),
            None => ascii_label.then(|| decode_guessed(bytes)),
        },
        Some(encoding) => encoding.decode(bytes).2.then(by_bytes),
        None => Some(by_bytes()),
    }
}

fn decode_guessed(bytes: &[u8]) -> String {
    guess(bytes).decode(bytes).0.into_owned()
}

fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    detector.guess(None, Utf8Detection::Allow)
}

/// Where the header block ends: after its blank line, or at the end of a message without a body.
fn header_block_end(raw: &[u8]) -> usize {
    let mut i = 0;
    while i < raw.len() {
        match memchr::memchr(b'\n', &raw[i..]) {
            Some(nl) => {
                let next = i + nl + 1;
                let line = &raw[i..next];
                if line == b"\n" || line == b"\r\n" {
                    return next;
                }
                i = next;
            }
            None => return raw.len(),
        }
    }
    raw.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_8bit_headers_are_transcoded_by_the_guess() {
        let (gbk, _, _) = encoding_rs::GBK.encode("关于订单的问题，请尽快回复");
        let mut raw = b"From: a@b.example\r\nSubject: ".to_vec();
        raw.extend_from_slice(&gbk);
        raw.extend_from_slice(b"\r\n\r\nbody\xff\r\n");
        let fixed = headers_to_utf8(&raw).expect("transcoded");
        let text = String::from_utf8_lossy(&fixed);
        assert!(text.contains("Subject: 关于订单的问题，请尽快回复\r\n"), "{text}");
        assert!(fixed.ends_with(b"\r\n\r\nbody\xff\r\n"), "the body is left alone");
        assert_eq!(headers_to_utf8(b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nx"), None);
        assert_eq!(
            headers_to_utf8("Subject: café\r\n\r\nx".as_bytes()),
            None,
            "UTF-8 is fine"
        );
    }

    #[test]
    fn body_labels_are_kept_unless_missing_unknown_or_provably_wrong() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ご注文ありがとうございます。発送は明日になります。");
        let (gb, _, _) = encoding_rs::GBK.encode("您好，我想查询一下我的订单状态，谢谢。");
        assert_eq!(
            redecode_body(&sjis, None).as_deref(),
            Some("ご注文ありがとうございます。発送は明日になります。")
        );
        assert_eq!(
            redecode_body(&gb, Some("iso-gb2312")).as_deref(),
            Some("您好，我想查询一下我的订单状态，谢谢。"),
            "an unknown label"
        );
        assert_eq!(
            redecode_body(&gb, Some("utf-8")).as_deref(),
            Some("您好，我想查询一下我的订单状态，谢谢。")
        );
        assert_eq!(
            redecode_body("café".as_bytes(), Some("iso-8859-1")).as_deref(),
            Some("café")
        );
        assert_eq!(
            redecode_body(b"caf\xe9", Some("iso-8859-1")),
            None,
            "a label that decodes is kept"
        );
        assert_eq!(redecode_body("café".as_bytes(), Some("utf-8")), None);
        assert_eq!(redecode_body(b"plain", None), None);
    }
}
