//! What an endpoint is sent for an event: `{"type", "timestamp", "event_id", "account_id", "data"}`.
//! For `message.received` the data carries what an inbox needs without a second call (the message
//! with its sender, recipients, texts, `+tag`, attachments' metadata and links, the contact, the
//! conversation, the authentication verdicts); other events carry the event's own data. Built
//! once, when the event is fanned out, and stored with the delivery, so every attempt sends the
//! same body.

use crate::store::events::Event;
use crate::store::sql::Conn;
use crate::store::{StoreError, contacts, conversations, messages};
use serde_json::{Value, json};

/// HTML longer than this is left out of the payload (`html_truncated: true`); fetch the message
/// or its raw bytes for it.
pub const MAX_HTML: usize = 256 * 1024;
/// Plain text longer than this is cut (at a character boundary) and flagged `text_truncated`.
pub const MAX_TEXT: usize = 1024 * 1024;

/// The ordering key of an event: deliveries with the same key reach one endpoint in event order.
/// A contact's events (its creation, then its messages) share one; conversations belong to one
/// contact, so a conversation's events are in order too.
pub fn ordering_key(event: &Event) -> String {
    let id = |name: &str| event.data.get(name).and_then(Value::as_i64);
    match (id("contact_id"), id("conversation_id")) {
        (Some(contact), _) => format!("contact:{contact}"),
        (None, Some(conversation)) => format!("conversation:{conversation}"),
        (None, None) => format!("account:{}", event.account_id),
    }
}

pub async fn build(conn: Conn<'_>, event: &Event) -> Result<Value, StoreError> {
    let data = match event.kind.as_str() {
        "message.received" => message_received(conn, event).await?,
        _ => event.data.clone(),
    };
    Ok(json!({
        "type": event.kind,
        "timestamp": event.created_at,
        "event_id": event.id,
        "account_id": event.account_id,
        "data": data,
    }))
}

async fn message_received(conn: Conn<'_>, event: &Event) -> Result<Value, StoreError> {
    let Some(id) = event.data.get("message_id").and_then(Value::as_i64) else {
        return Ok(event.data.clone());
    };
    let Some(m) = messages::get(conn, id).await? else {
        return Ok(event.data.clone());
    };
    let contact = match m.contact_id {
        Some(contact_id) => contacts::get(conn, contact_id).await?,
        None => None,
    };
    let conversation = match m.conversation_id {
        Some(conversation_id) => conversations::get(conn, conversation_id).await?,
        None => None,
    };
    let links = |path: &str| format!("/v1/messages/{}{path}", m.id);
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let mut a = json!(a);
            if let Some(fields) = a.as_object_mut() {
                fields.insert("index".into(), json!(index));
                fields.insert("url".into(), json!(links(&format!("/attachments/{index}"))));
            }
            a
        })
        .collect();
    let html_truncated = m.html.as_ref().is_some_and(|h| h.len() > MAX_HTML);
    let (text, text_truncated) = match &m.text {
        Some(t) if t.len() > MAX_TEXT => (Some(cut(t, MAX_TEXT).to_string()), true),
        other => (other.clone(), false),
    };
    let created = event
        .data
        .get("contact_created")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(json!({
        "message": {
            "id": m.id,
            "message_id": m.message_id,
            "from": {"name": m.from_name, "address": m.from_email},
            "reply_to": m.reply_to,
            "to": m.to,
            "cc": m.cc,
            "subject": m.subject,
            "date": m.date,
            "received_at": m.received_at,
            "text": text,
            "text_truncated": text_truncated,
            "reply_text": m.reply_text,
            "html": if html_truncated { None } else { m.html.clone() },
            "html_truncated": html_truncated,
            "mailbox_hash": m.tags.first(),
            "attachments": attachments,
            "kind": m.kind,
            "flags": m.flags,
            "auth": m.auth,
            "verified": m.verified,
            "campaign_id": m.campaign_id,
            "automation_id": m.automation_id,
            "forwarded_by": m.forwarded_by,
            "links": {"message": links(""), "raw": links("/raw")},
        },
        "contact": contact.map(|c| json!({
            "id": c.id,
            "email": c.email,
            "name": c.name,
            "opt_in": c.opt_in,
            "created": created,
            "automation": false,
            "verified": c.verified,
        })),
        "conversation": conversation.map(|c| json!({
            "id": c.id,
            "subject": c.subject,
            "status": c.status,
            "message_count": c.message_count,
            "link": format!("/v1/conversations/{}", c.id),
        })),
    }))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
