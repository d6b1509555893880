//! Large messages: reading them without holding a second, decoded copy.
//!
//! mail-parser decodes every part as it parses, so a 25 MiB message would cost its raw bytes plus
//! a decoded copy of nearly the same size. Above [`PARSE_WINDOW`] the fields, the text and the
//! classification are read from the message's head, its first [`HEAD_WINDOW`] bytes (where headers,
//! the text and the quoted history are: the stored text is capped at about that size anyway), and
//! the attachment list comes from a scan of the whole message's MIME structure that reads each
//! part's headers only and estimates decoded sizes from encoded lengths. The raw message is always
//! stored whole.

use crate::mail::Attachment;
use mail_parser::{MessageParser, MimeHeaders};
use memchr::memmem;

/// Messages up to this size are parsed whole.
pub const PARSE_WINDOW: usize = 4 * 1024 * 1024;
/// How much of a larger message is parsed. Decoding what lies beyond it (mostly attachments, listed
/// by the scan instead) cost a 5 MiB message 20 ms of CPU; text past it would be cut from the
/// stored text anyway ([`super::parse::MAX_BODY_CHARS`]).
pub const HEAD_WINDOW: usize = 1024 * 1024 + 64 * 1024;
/// Nesting beyond this is not followed (mail-parser's own limit is similar).
const MAX_DEPTH: usize = 8;
/// A hostile message could declare thousands of tiny parts: stop listing after this many.
const MAX_PARTS: usize = 1000;

/// The part of `content` to parse: all of it, or its head cut at a line end.
pub fn window(content: &[u8]) -> &[u8] {
    if content.len() <= PARSE_WINDOW {
        return content;
    }
    let head = &content[..HEAD_WINDOW];
    match memchr::memrchr(b'\n', head) {
        Some(end) => &head[..=end],
        None => head,
    }
}

/// The attachments of a whole message, from its MIME headers alone.
pub fn attachments(content: &[u8]) -> Vec<Attachment> {
    let mut out = Vec::new();
    scan(content, 0, &mut out);
    out
}

fn scan(part: &[u8], depth: usize, out: &mut Vec<Attachment>) {
    if depth > MAX_DEPTH || out.len() >= MAX_PARTS {
        return;
    }
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse_headers(part))
        .ok()
        .flatten();
    let Some(headers) = parsed else {
        return;
    };
    let root = headers.root_part();
    let body = &part[body_start(part)..];
    let ctype = root.content_type();
    let main = ctype
        .map(|c| c.ctype().to_ascii_lowercase())
        .unwrap_or_else(|| "text".into());
    let sub = ctype
        .and_then(|c| c.subtype())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "plain".into());
    if main == "multipart" {
        if let Some(boundary) = ctype.and_then(|c| c.attribute("boundary")) {
            for child in split(body, boundary.as_bytes()) {
                scan(child, depth + 1, out);
            }
        }
        return;
    }
    let disposition = root.content_disposition();
    let is_attachment = disposition.is_some_and(|d| d.is_attachment())
        || root.attachment_name().is_some()
        || (depth > 0 && main != "text");
    if depth == 0 || !is_attachment {
        return;
    }
    let encoding = root.content_transfer_encoding().unwrap_or("").to_ascii_lowercase();
    let size = match encoding.as_str() {
        "base64" => base64_decoded_len(body),
        "quoted-printable" => quoted_printable_decoded_len(body),
        _ => body.len(),
    };
    out.push(Attachment {
        filename: root.attachment_name().map(str::to_string),
        content_type: format!("{main}/{sub}"),
        size,
        content_id: root.content_id().map(|id| id.trim_matches(['<', '>']).to_string()),
        inline: disposition.is_some_and(|d| d.is_inline()),
    });
}

/// The exact size base64 text decodes to: three bytes per four symbols of the alphabet; padding
/// (`=`), line breaks and anything else outside the alphabet carry nothing.
fn base64_decoded_len(body: &[u8]) -> usize {
    let symbols = body
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .count();
    symbols * 3 / 4
}

/// The size quoted-printable text decodes to: `=XX` is one byte, a soft line break (`=` at the
/// end of a line) none, everything else itself.
fn quoted_printable_decoded_len(body: &[u8]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            let rest = &body[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if rest.len() >= 2 && rest[0].is_ascii_hexdigit() && rest[1].is_ascii_hexdigit() {
                len += 1;
                i += 3;
                continue;
            }
        }
        len += 1;
        i += 1;
    }
    len
}

/// Where a part's body begins: after the blank line that ends its headers.
fn body_start(part: &[u8]) -> usize {
    if part.starts_with(b"\r\n") {
        return 2;
    }
    if part.starts_with(b"\n") {
        return 1;
    }
    let crlf = memmem::find(part, b"\r\n\r\n").map(|p| p + 4);
    let lf = memmem::find(part, b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(part.len()),
    }
}

/// The parts between `--boundary` lines, up to `--boundary--`.
fn split<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let finder = memmem::Finder::new(&delimiter);
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(pos) = finder.find(&body[at..]) {
        let abs = at + pos;
        // A delimiter starts a line.
        if abs == 0 || body[abs - 1] == b'\n' {
            starts.push(abs);
            if starts.len() > MAX_PARTS {
                break;
            }
        }
        at = abs + delimiter.len();
    }
    let mut parts = Vec::new();
    for pair in starts.windows(2) {
        let (from, to) = (pair[0] + delimiter.len(), pair[1]);
        let mut part = &body[from..to];
        if part.starts_with(b"--") {
            break; // the closing delimiter
        }
        // Skip the rest of the delimiter line.
        if let Some(nl) = memchr::memchr(b'\n', part) {
            part = &part[nl + 1..];
        }
        parts.push(part);
    }
    parts
}

#[cfg(test)]
mod tests {

    use super::{HEAD_WINDOW, PARSE_WINDOW, attachments, window};
    #[test]
    fn lists_attachments_from_headers_and_estimates_sizes() {
        let pdf = "JVBERi0xLjQK".repeat(1000);
        let raw = format!(
            "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n\
Content-Type: text/plain\r\n\r\nHello\r\n--b1\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n\
Content-Disposition: attachment; filename=\"x.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
--b1\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline\r\n\r\nPNGDATA\r\n--b1--\r\n"
        );
        let found = attachments(raw.as_bytes());
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].filename.as_deref(), Some("x.pdf"));
        assert_eq!(found[0].content_type, "application/pdf");
        assert_eq!(found[0].size, pdf.len() * 3 / 4);
        assert!(found[1].inline);
        assert_eq!(found[1].content_id.as_deref(), Some("logo@x"));
        // The same listing as mail-parser's for this message.
        let full = crate::ingest::parse::parse(raw.as_bytes()).attachments;
        assert_eq!(
            full.iter().map(|a| &a.filename).collect::<Vec<_>>(),
            found.iter().map(|a| &a.filename).collect::<Vec<_>>()
        );
        assert_eq!(full[0].size, found[0].size);
    }

    #[test]
    fn decoded_sizes_are_exact_whatever_the_padding() {
        use super::{base64_decoded_len, quoted_printable_decoded_len};
        // 10,485,760 bytes encode to 13,981,016 symbols, the last two of them padding.
        for len in [0usize, 1, 2, 3, 4, 10, 1000, 10_485_760 % 3 + 30] {
            let encoded = mail_b64(len);
            assert_eq!(base64_decoded_len(encoded.as_bytes()), len, "{len} bytes");
        }
        assert_eq!(quoted_printable_decoded_len(b"caf=C3=A9 =\r\nsoft"), 10);
    }

    /// `len` zero bytes in base64, wrapped at 76 columns with CRLF as MIME writes it.
    fn mail_b64(len: usize) -> String {
        let groups = len / 3;
        let mut out = "AAAA".repeat(groups);
        match len % 3 {
            1 => out.push_str("AA=="),
            2 => out.push_str("AAA="),
            _ => {}
        }
        out.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    #[test]
    fn the_window_ends_at_a_line() {
        let big = ("x".repeat(99) + "\n").repeat(PARSE_WINDOW / 50);
        let w = window(big.as_bytes());
        assert!(w.len() <= HEAD_WINDOW && w.len() > HEAD_WINDOW - 100 && w.ends_with(b"\n"));
        // One endless line: cut at the window.
        let line = "x".repeat(PARSE_WINDOW + 1);
        assert_eq!(window(line.as_bytes()).len(), HEAD_WINDOW);
        let small = "y".repeat(PARSE_WINDOW - 1);
        assert_eq!(
            window(small.as_bytes()).len(),
            small.len(),
            "parsed whole up to PARSE_WINDOW"
        );
        assert!(attachments(b"").is_empty());
        assert!(attachments(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n").is_empty());
    }
}
