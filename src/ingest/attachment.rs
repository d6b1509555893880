//! An attachment's bytes, found again in the stored raw message by what its listing says.
//!
//! The listing was made when the message arrived: by mail-parser for most messages, by the MIME
//! scan of [`super::large`] for large ones, whose orders can differ on odd structures. So the
//! part is found by its name and type, not by position alone: the n-th listed attachment with a
//! given (filename, content type) is the n-th such part mail-parser finds.

use super::parse::{listed, parse_mime};
use crate::mail::Attachment;
use mail_parser::PartType;

/// The decoded bytes of `list[index]` in `raw`, or None when the message has no such part.
pub fn bytes(raw: &[u8], list: &[Attachment], index: usize) -> Option<Vec<u8>> {
    let wanted = list.get(index)?;
    let same = |a: &Attachment| a.filename == wanted.filename && a.content_type == wanted.content_type;
    let occurrence = list[..index].iter().filter(|a| same(a)).count();
    let mut message = parse_mime(raw)?;
    let at = message
        .attachments
        .iter()
        .map(|&part| part as usize)
        .filter(|&part| message.parts.get(part).is_some_and(|p| same(&listed(p))))
        .nth(occurrence)?;
    // The part is taken out of the parsed message: its decoded bytes are returned as they are,
    // not copied (a large attachment would be held twice beside the raw message).
    let part = message.parts.swap_remove(at);
    Some(match part.body {
        PartType::Text(text) | PartType::Html(text) => text.into_owned().into_bytes(),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.into_owned(),
        PartType::Message(inner) => inner.raw_message().to_vec(),
        PartType::Multipart(_) => Vec::new(),
    })
}
