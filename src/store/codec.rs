//! How message bytes are kept: zstd-compressed, with the SHA-256 of what they stand for (an
//! export's checksum, a check that what comes back is what came in). Packing runs where the message was received (the session's task, or the blocking
//! pool for large ones), not in the commit: the writer only writes what is packed.
//!
//! Two things are packed per message: the raw bytes as received (the one copy of the message) and
//! its body as read (the plain text and the HTML the reads and the search need; rebuilding them
//! from the raw bytes would parse every message of a page again).

use crate::mail::Packed;
use sha2::{Digest, Sha256};

/// zstd's level for mail. Measured on the shared corpora and on generated 2 KiB messages (see
/// BENCHMARKS.md, "Storage"): level 3 keeps 98 % of level 9's ratio at a quarter of its cost.
pub const LEVEL: i32 = 3;

/// `raw_messages.codec` and the body's framing: how the bytes were kept.
pub const PLAIN: i64 = 0;
pub const ZSTD: i64 = 1;

/// Packs a message's raw bytes: compressed, with the SHA-256 of the bytes themselves.
pub fn pack_raw(raw: &[u8]) -> Packed {
    let (data, compressed) = match compress(raw) {
        Some(data) => (data, true),
        None => (raw.to_vec(), false),
    };
    Packed {
        hash: Sha256::digest(raw).to_vec(),
        size: raw.len(),
        data,
        codec: if compressed { ZSTD } else { PLAIN },
    }
}

/// zstd's frame starts so; anything else was kept plain.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The bytes compressed with this thread's context; None only when memory ran out.
fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        // A context each thread keeps: making one for every message cost more than compressing it.
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        cell.as_mut().and_then(|c| c.compress(bytes).ok())
    })
}

/// The bytes a stored `data` column stands for, given its codec and (for zstd) its size.
pub fn unpack(codec: i64, size: Option<i64>, data: &[u8]) -> Result<Vec<u8>, String> {
    match codec {
        PLAIN => Ok(data.to_vec()),
        ZSTD => {
            // The exact size is known: one allocation, and the compressed bytes are dropped as soon
            // as this returns (a message costs its compressed size plus its size, never more).
            let damaged = |e: std::io::Error| format!("stored bytes are damaged: {e}");
            match size {
                Some(size) if size >= 0 => zstd::bulk::decompress(data, size as usize).map_err(damaged),
                _ => zstd::stream::decode_all(data).map_err(damaged),
            }
        }
        other => Err(format!("stored bytes in an unknown codec {other}")),
    }
}

/// The bytes a stored `data` column stands for, given a piece at a time (a large stored copy is
/// read in pieces): what it holds is the bytes so far, never the compressed whole.
pub struct Unpacker {
    /// The bytes made so far, then zeroes not yet written over (filled a window at a time, so
    /// that each byte is zeroed once however small the pieces are).
    out: Vec<u8>,
    made: usize,
    size: Option<usize>,
    zstd: Option<zstd::stream::raw::Decoder<'static>>,
}

impl Unpacker {
    pub fn new(codec: i64, size: Option<i64>) -> Result<Unpacker, String> {
        let size = size.and_then(|s| usize::try_from(s).ok());
        let zstd = match codec {
            PLAIN => None,
            ZSTD => Some(zstd::stream::raw::Decoder::new().map_err(|e| format!("zstd: {e}"))?),
            other => return Err(format!("stored bytes in an unknown codec {other}")),
        };
        Ok(Unpacker {
            out: Vec::with_capacity(size.unwrap_or(0)),
            made: 0,
            size,
            zstd,
        })
    }

    /// Takes the next piece of the column.
    pub fn push(&mut self, piece: &[u8]) -> Result<(), String> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let Some(decoder) = &mut self.zstd else {
            self.out.extend_from_slice(piece);
            self.made = self.out.len();
            return Ok(());
        };
        let damaged = |e: std::io::Error| format!("stored bytes are damaged: {e}");
        let mut input = InBuffer::around(piece);
        while input.pos < piece.len() {
            let consumed = input.pos;
            if self.made == self.out.len() {
                let spare = self.out.capacity() - self.out.len();
                if spare == 0 {
                    // The size kept is reached (or none was): what is left is the frame's end, or
                    // more bytes than were kept, taken through a small buffer so that the Vec
                    // grows only then.
                    let mut scratch = [0u8; 4096];
                    let mut output = OutBuffer::around(&mut scratch[..]);
                    decoder.run(&mut input, &mut output).map_err(damaged)?;
                    let made = output.pos();
                    self.out.extend_from_slice(&scratch[..made]);
                    self.made = self.out.len();
                    if made == 0 && input.pos == consumed {
                        return Err("stored bytes are damaged: the decoder stopped".into());
                    }
                    continue;
                }
                // A window at the end of what the Vec was made to hold.
                const WINDOW: usize = 128 * 1024;
                self.out.resize(self.out.len() + WINDOW.min(spare), 0);
            }
            let mut output = OutBuffer::around(&mut self.out[self.made..]);
            let run = decoder.run(&mut input, &mut output);
            let made = output.pos();
            self.made += made;
            run.map_err(damaged)?;
            if made == 0 && input.pos == consumed {
                return Err("stored bytes are damaged: the decoder stopped".into());
            }
        }
        Ok(())
    }

    /// The bytes, once every piece was pushed: an error if they are not the size kept beside them.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        self.out.truncate(self.made);
        match self.size {
            Some(size) if size != self.out.len() => Err(format!(
                "stored bytes are damaged: {} bytes where {size} were kept",
                self.out.len()
            )),
            _ => Ok(self.out),
        }
    }
}

/// A message's body as read: its plain text and its HTML (each capped at ingest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    pub text: Option<String>,
    pub html: Option<String>,
}

/// Framing inside the compressed body: a version, which parts are there, the text's length, the
/// text, the HTML.
const BODY_VERSION: u8 = 1;
const HAS_TEXT: u8 = 1;
const HAS_HTML: u8 = 2;

/// Packs a body; None when it has neither part (the column stays NULL).
pub fn pack_body(text: Option<&str>, html: Option<&str>) -> Option<Vec<u8>> {
    if text.is_none() && html.is_none() {
        return None;
    }
    let (t, h) = (text.unwrap_or(""), html.unwrap_or(""));
    let mut framed = Vec::with_capacity(6 + t.len() + h.len());
    framed.push(BODY_VERSION);
    framed.push(if text.is_some() { HAS_TEXT } else { 0 } | if html.is_some() { HAS_HTML } else { 0 });
    framed.extend_from_slice(&(t.len() as u32).to_le_bytes());
    framed.extend_from_slice(t.as_bytes());
    framed.extend_from_slice(h.as_bytes());
    // Kept framed but plain should compressing fail (the version byte tells them apart).
    Some(compress(&framed).unwrap_or(framed))
}

/// The body a `body` column holds.
pub fn unpack_body(data: &[u8]) -> Result<Body, String> {
    let framed = if data.starts_with(&ZSTD_MAGIC) {
        zstd::stream::decode_all(data).map_err(|e| format!("stored body is damaged: {e}"))?
    } else {
        data.to_vec()
    };
    let damaged = || "stored body is damaged".to_string();
    if framed.len() < 6 || framed[0] != BODY_VERSION {
        return Err(damaged());
    }
    let parts = framed[1];
    let text_len = u32::from_le_bytes(framed[2..6].try_into().map_err(|_| damaged())?) as usize;
    let text = framed.get(6..6 + text_len).ok_or_else(damaged)?;
    let html = &framed[6 + text_len..];
    let part = |present: bool, bytes: &[u8]| present.then(|| String::from_utf8_lossy(bytes).into_owned());
    Ok(Body {
        text: part(parts & HAS_TEXT != 0, text),
        html: part(parts & HAS_HTML != 0, html),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_come_back_byte_for_byte() {
        let raw: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let packed = pack_raw(&raw);
        assert!(packed.data.len() < raw.len() / 10, "{}", packed.data.len());
        assert_eq!(packed.hash, Sha256::digest(&raw).to_vec());
        assert_eq!(unpack(ZSTD, Some(raw.len() as i64), &packed.data).unwrap(), raw);
        assert_eq!(unpack(PLAIN, None, b"as is").unwrap(), b"as is");
        assert!(unpack(ZSTD, Some(10), b"not zstd").is_err());
    }

    #[test]
    fn raw_bytes_come_back_byte_for_byte_a_piece_at_a_time() {
        // Bytes that barely compress, as a large attachment's do.
        let mut state = 7u64;
        let raw: Vec<u8> = (0..300_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        let packed = pack_raw(&raw);
        for piece in [1, 4096, 1 << 20] {
            let mut unpacker = Unpacker::new(packed.codec, Some(packed.size as i64)).unwrap();
            for chunk in packed.data.chunks(piece) {
                unpacker.push(chunk).unwrap();
            }
            assert!(unpacker.finish().unwrap() == raw, "pieces of {piece}");
        }
        // A copy cut short, or not zstd at all, is damaged, never returned.
        let mut short = Unpacker::new(ZSTD, Some(raw.len() as i64)).unwrap();
        short.push(&packed.data[..packed.data.len() / 2]).unwrap();
        assert!(short.finish().is_err());
        let mut wrong = Unpacker::new(ZSTD, Some(10)).unwrap();
        assert!(wrong.push(b"not zstd").is_err());
        let mut plain = Unpacker::new(PLAIN, None).unwrap();
        plain.push(b"as ").unwrap();
        plain.push(b"is").unwrap();
        assert_eq!(plain.finish().unwrap(), b"as is");
    }

    #[test]
    fn bodies_keep_which_parts_they_had() {
        for (text, html) in [
            (Some("Hello, Ünïcode ✓"), Some("<p>Hello</p>")),
            (Some(""), None),
            (None, Some("<b>only html</b>")),
        ] {
            let packed = pack_body(text, html).unwrap();
            let body = unpack_body(&packed).unwrap();
            assert_eq!(body.text.as_deref(), text);
            assert_eq!(body.html.as_deref(), html);
        }
        assert_eq!(pack_body(None, None), None);
    }
}
