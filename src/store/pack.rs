//! A delivery made ready for the commit where it was received: its raw bytes, body and envelope
//! compressed, its search document built. The writer (one thread on SQLite) then only writes; the CPU this
//! takes is spent on the sessions' threads, several at once.

use super::{codec, json_codec, search};
use crate::mail::{Delivery, Stored};

/// What the store will write of `d` (its search words too when `index`).
pub fn stored(d: &Delivery, index: bool) -> Stored {
    let m = &d.message;
    let from = m.from.as_ref();
    let original = d.plans.iter().find_map(|p| p.original.as_ref());
    let search = index.then(|| {
        search::document(&[
            m.subject.as_deref().unwrap_or(""),
            from.and_then(|f| f.name.as_deref()).unwrap_or(""),
            from.map_or("", |f| f.email.as_str()),
            m.text.as_deref().unwrap_or(""),
            original.map_or("", |o| o.body.as_str()),
        ])
    });
    let envelope_json = serde_json::to_string(&d.envelope).unwrap_or_default();
    Stored {
        raw: codec::pack_raw(&d.raw),
        body: codec::pack_body(m.text.as_deref(), m.html.as_deref()),
        search,
        envelope: json_codec::pack(&envelope_json),
        envelope_json,
    }
}

/// Packs `d` for the commit and lets go of its raw bytes (the packed copy is what is written):
/// a pending delivery holds its compressed size, not its size.
pub fn pack(d: &mut Delivery, index: bool) {
    d.stored = Some(stored(d, index));
    d.raw = Vec::new();
}
