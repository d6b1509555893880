//! What a message is: bytes + envelope → a [`Delivery`] with one
//! [`Plan`](crate::mail::Plan) per recipient account.
//!
//! Everything here is decided from the message and the account's data alone, without I/O, so the
//! same message always gives the same plan and a retried delivery is a no-op in the store
//! (invariant 3). The store then executes the plan inside its commit (find or create the contact,
//! pick the conversation). `rules` holds the decision rules; the other files each read one thing out
//! of a message: `parse` the fields, `sender` the contact, `thread` the thread keys, `forward` a
//! forwarded original, `bounce` a delivery report, `autoreply` an automatic answer, `notice` a
//! forwarding confirmation, `reply_text` the new text without quotes; `screening` applies the account's sender rules and
//! the spam filter's verdict to the plans.

pub mod attachment;
pub mod autoreply;
pub mod bounce;
pub mod bulk;
pub mod charset;
pub mod forward;
pub mod large;
pub mod notice;
pub mod parse;
pub mod reply_text;
mod rules;
pub mod screening;
pub mod sender;
pub mod text;
pub mod thread;
pub mod verdict;

use crate::mail::{AcceptedRecipient, AccountData, AuthResult, Delivery, Envelope, ParsedMessage};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Parses `raw` (whose first `trace_len` bytes are our own trace headers: Received and
/// Authentication-Results) and plans it for each account among `recipients`.
pub fn prepare(
    envelope: Envelope,
    raw: Vec<u8>,
    trace_len: usize,
    recipients: &[AcceptedRecipient],
    accounts: &BTreeMap<i64, AccountData>,
    auth: Option<AuthResult>,
    trusted_sealers: &[String],
) -> Delivery {
    let verdict = verdict::judge(auth.as_ref(), trusted_sealers);
    // Our own trace headers are not part of what the sender wrote: judge the message without them.
    let content = &raw[trace_len.min(raw.len())..];
    let mut by_account: BTreeMap<i64, Vec<&AcceptedRecipient>> = BTreeMap::new();
    for r in recipients {
        by_account.entry(r.account_id).or_default().push(r);
    }
    // Raw 8-bit header bytes in a legacy charset are read through their guessed encoding.
    let transcoded = charset::headers_to_utf8(content);
    let readable = transcoded.as_deref().unwrap_or(content);
    let (message, plans) = {
        let reader = rules::Reader::new(readable, envelope.mail_from.is_empty());
        let plans = by_account
            .into_iter()
            .map(|(account_id, rcpts)| {
                let data = accounts.get(&account_id).cloned().unwrap_or_default();
                reader.plan(account_id, &rcpts, &data, verdict)
            })
            .collect();
        (reader.into_message(), plans)
    };
    let dedupe_key = dedupe_key(&message, content);
    Delivery {
        envelope,
        raw,
        message: Arc::new(message),
        auth,
        spam: None,
        dedupe_key,
        plans,
        release: None,
        stored: None,
    }
}

fn dedupe_key(message: &ParsedMessage, content: &[u8]) -> String {
    match &message.message_id {
        Some(id) => format!("mid:{id}"),
        None => {
            let digest = Sha256::digest(content);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    }
}
