//! Executes a delivery's plans inside the group commit's transaction: dedupe, contact,
//! conversation, message row, notices, bounce status. Everything one delivery writes happens here,
//! in one savepoint; its events are handed back to be written at the end of the batch.

use super::sql::{Conn, args};
use super::{Committed, StoreError};
use crate::mail::{ContactChoice, Delivery, Kind, Plan, email_key};
use serde_json::json;

// The lookups run for every message. Each must use its index (see the query-plan test below): a
// scan would make each message slower than the last as the database grows.
const DUPLICATE: &str = "SELECT id FROM messages WHERE account_id = ?1 AND dedupe_key = ?2";
const CONTACT_BY_EMAIL: &str = "SELECT id FROM contacts WHERE account_id = ?1 AND email_key = ?2";
const THREAD_BY_MESSAGE_ID: &str = "SELECT c.id, c.contact_id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.account_id = ?1 AND m.dedupe_key = 'mid:' || ?2 LIMIT 1";
const SENT_MESSAGE: &str =
    "SELECT contact_email, campaign_id, automation_id FROM sent_messages WHERE account_id = ?1 AND message_id = ?2";
const CONVERSATION_BY_ORIGIN: &str = "SELECT id FROM conversations INDEXED BY conversations_by_contact WHERE account_id = ?1 AND contact_id = ?2 AND ((campaign_id = ?3 AND ?3 IS NOT NULL) OR (automation_id = ?4 AND ?4 IS NOT NULL)) ORDER BY last_message_at DESC LIMIT 1";
const LATEST_CONVERSATION: &str = "SELECT id FROM conversations INDEXED BY conversations_by_contact WHERE account_id = ?1 AND contact_id = ?2 ORDER BY last_message_at DESC, id DESC LIMIT 1";
const CONVERSATION_BY_SUBJECT: &str = "SELECT id FROM conversations INDEXED BY conversations_by_contact WHERE account_id = ?1 AND contact_id = ?2 AND subject_key = ?3 AND last_message_at >= ?4 ORDER BY last_message_at DESC LIMIT 1";

/// An event a delivery produced, written with the batch's others just before COMMIT.
#[derive(Debug)]
pub(super) struct NewEvent {
    kind: &'static str,
    account_id: i64,
    data: serde_json::Value,
}

/// Writes one event; on PostgreSQL its id is drawn under the events lock (see docs/SCHEMA.md).
pub(super) async fn insert_event(conn: Conn<'_>, e: &NewEvent, now: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO events (type, account_id, created_at, data) VALUES (?1, ?2, ?3, ?4)",
        args![e.kind, e.account_id, now, e.data.to_string()],
    )
    .await?;
    Ok(())
}

pub(super) async fn apply(
    conn: Conn<'_>,
    d: &Delivery,
    now: &str,
    window_days: u32,
) -> Result<(Vec<Committed>, Vec<NewEvent>), StoreError> {
    let mut events = Vec::new();
    let mut raw_id: Option<i64> = None;
    let mut done = Vec::with_capacity(d.plans.len());
    for plan in &d.plans {
        if let Some(existing) = conn
            .value::<i64>(DUPLICATE, args![plan.account_id, d.dedupe_key])
            .await?
        {
            done.push(Committed {
                account_id: plan.account_id,
                message_id: existing,
                duplicate: true,
            });
            continue;
        }
        // The raw bytes are shared by the accounts of one delivery: written once, on first need.
        let raw = match raw_id {
            Some(id) => id,
            None => {
                let id = insert_raw(conn, &d.raw).await?;
                raw_id = Some(id);
                id
            }
        };
        let contact = resolve_contact(conn, plan, now, &mut events).await?;
        let place = place(conn, plan, contact, now, window_days, &mut events).await?;
        let message_id = insert_message(conn, d, plan, raw, contact, &place, now).await?;
        if let Some(conversation) = place.conversation {
            conn.execute(
                "UPDATE conversations SET message_count = message_count + 1,
                 last_message_at = CASE WHEN last_message_at > ?2 THEN last_message_at ELSE ?2 END WHERE id = ?1",
                args![conversation, now],
            )
            .await?;
        }
        if let Some(notice) = &plan.notice {
            conn.execute(
                "INSERT INTO notices (account_id, message_id, kind, provider, link, code, requested_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                args![
                    plan.account_id,
                    message_id,
                    notice.kind,
                    notice.provider,
                    notice.link,
                    notice.code,
                    notice.requested_by,
                    now
                ],
            )
            .await?;
        }
        mark_bouncing(conn, plan, &mut events).await?;
        events.push(NewEvent {
            kind: "message.received",
            account_id: plan.account_id,
            data: json!({
                "message_id": message_id,
                "conversation_id": place.conversation,
                "contact_id": contact,
                "kind": plan.kind.as_str(),
                "queue_id": d.envelope.queue_id,
                "subject": d.message.subject,
                "from_email": d.message.from.as_ref().map(|m| &m.email),
                "campaign_id": place.campaign_id,
                "automation_id": place.automation_id,
            }),
        });
        done.push(Committed {
            account_id: plan.account_id,
            message_id,
            duplicate: false,
        });
    }
    Ok((done, events))
}

/// Large messages are written into a zero-filled blob in place: binding them as a parameter
/// would make SQLite copy the whole message (twice, with the record it builds) before writing it.
const STREAM_RAW_FROM: usize = 256 * 1024;

async fn insert_raw(conn: Conn<'_>, raw: &[u8]) -> Result<i64, StoreError> {
    if let Some(sqlite) = conn.sqlite().filter(|_| raw.len() >= STREAM_RAW_FROM) {
        sqlite
            .prepare_cached("INSERT INTO raw_messages (data) VALUES (zeroblob(?1))")?
            .execute([raw.len() as i64])?;
        let id = sqlite.last_insert_rowid();
        let mut blob = sqlite.blob_open(rusqlite::MAIN_DB, "raw_messages", "data", id, false)?;
        for (i, chunk) in raw.chunks(1024 * 1024).enumerate() {
            blob.write_at(chunk, i * 1024 * 1024)?;
        }
        return Ok(id);
    }
    returning_id(
        conn,
        "INSERT INTO raw_messages (data) VALUES (?1) RETURNING id",
        args![raw],
    )
    .await
}

/// The id of the row an `INSERT … RETURNING id` wrote.
async fn returning_id(conn: Conn<'_>, sql: &str, params: &[super::sql::Param<'_>]) -> Result<i64, StoreError> {
    conn.value(sql, params)
        .await?
        .ok_or_else(|| StoreError::Failed("an insert returned no id".into()))
}

/// Finds the contact by address or creates it: not opt-in, on no list, and marked so that no
/// automation runs for it. An existing contact's consent is never touched.
async fn resolve_contact(
    conn: Conn<'_>,
    plan: &Plan,
    now: &str,
    events: &mut Vec<NewEvent>,
) -> Result<Option<i64>, StoreError> {
    let (mailbox, may_create) = match &plan.contact {
        ContactChoice::FindOrCreate(m) => (m, true),
        ContactChoice::FindExisting(m) => (m, false),
        ContactChoice::None => return Ok(None),
    };
    let key = mailbox.key();
    let existing: Option<i64> = conn.value(CONTACT_BY_EMAIL, args![plan.account_id, key]).await?;
    if let Some(id) = existing {
        // Only authenticated mail may fill in a name or vouch for an address created unverified.
        if plan.verified && may_create {
            conn.execute(
                "UPDATE contacts SET name = coalesce(name, ?2), verified = TRUE WHERE id = ?1",
                args![id, mailbox.name],
            )
            .await?;
        }
        return Ok(Some(id));
    }
    if !may_create {
        return Ok(None);
    }
    let id = returning_id(
        conn,
        "INSERT INTO contacts (account_id, email, email_key, name, source, opt_in, lists, verified, created_at)
         VALUES (?1, ?2, ?3, ?4, 'email', FALSE, '[]', ?5, ?6) RETURNING id",
        args![plan.account_id, mailbox.email, key, mailbox.name, plan.verified, now],
    )
    .await?;
    events.push(NewEvent {
        kind: "contact.created",
        account_id: plan.account_id,
        data: json!({
            "contact_id": id,
            "email": mailbox.email,
            "name": mailbox.name,
            "source": "email",
            "opt_in": false,
            "lists": [],
            "automation": false,
            "verified": plan.verified,
        }),
    });
    Ok(Some(id))
}

/// Where the message goes, and which campaign or automation it answers.
struct Placement {
    conversation: Option<i64>,
    campaign_id: Option<String>,
    automation_id: Option<String>,
}

/// The conversation by the rules in `ingest::thread`: thread headers (same contact only; an
/// outbound message registered by the platform counts too), then the contact's conversation of the
/// same campaign or automation (or, answering a registered outbound message, its latest one), then
/// the subject within the window, then a new one. Without a
/// contact only a thread header can place a message; automatic mail never opens a conversation.
async fn place(
    conn: Conn<'_>,
    plan: &Plan,
    contact: Option<i64>,
    now: &str,
    window_days: u32,
    events: &mut Vec<NewEvent>,
) -> Result<Placement, StoreError> {
    let mut place = Placement {
        conversation: None,
        campaign_id: plan.campaign_id.clone(),
        automation_id: plan.automation_id.clone(),
    };
    if plan.kind == Kind::System {
        return Ok(place);
    }
    // A suspicious message never passes as the contact: it gets a conversation of its own.
    let matching = !plan.suspicious();
    let contact_key = match &plan.contact {
        ContactChoice::FindOrCreate(m) | ContactChoice::FindExisting(m) => Some(m.key()),
        ContactChoice::None => None,
    };
    // The message answers something the platform sent to this very contact.
    let mut answers_sent = false;
    for id in plan.thread_ids.iter().filter(|_| matching) {
        let found: Option<(i64, i64)> = match conn.query_opt(THREAD_BY_MESSAGE_ID, args![plan.account_id, id]).await? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        };
        match (found, contact) {
            (Some((conversation, owner)), Some(c)) if owner == c => {
                place.conversation = Some(conversation);
                return Ok(place);
            }
            (Some((conversation, _)), None) => {
                place.conversation = Some(conversation);
                return Ok(place);
            }
            _ => {}
        }
        let sent: Option<(String, Option<String>, Option<String>)> =
            match conn.query_opt(SENT_MESSAGE, args![plan.account_id, id]).await? {
                Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
                None => None,
            };
        if let Some((sent_to, campaign, automation)) = sent {
            // A colleague answering keeps the link to the campaign, in their own conversation.
            place.campaign_id = place.campaign_id.or(campaign);
            place.automation_id = place.automation_id.or(automation);
            if contact_key.as_deref() == Some(email_key(&sent_to).as_str()) {
                answers_sent = true;
                break;
            }
        }
    }
    let Some(contact) = contact else {
        return Ok(place);
    };
    if matching && (place.campaign_id.is_some() || place.automation_id.is_some()) {
        let found: Option<i64> = conn
            .value(
                CONVERSATION_BY_ORIGIN,
                args![plan.account_id, contact, place.campaign_id, place.automation_id],
            )
            .await?;
        if found.is_some() {
            place.conversation = found;
            return Ok(place);
        }
    }
    if answers_sent {
        // No campaign to go by: the contact's most recent conversation is where the agent wrote.
        let found: Option<i64> = conn.value(LATEST_CONVERSATION, args![plan.account_id, contact]).await?;
        if found.is_some() {
            place.conversation = found;
            return Ok(place);
        }
    }
    if matching && window_days > 0 && !plan.subject_key.is_empty() {
        let cutoff = crate::time::rfc3339(crate::time::unix_now() - i64::from(window_days) * 86_400);
        let found: Option<i64> = conn
            .value(
                CONVERSATION_BY_SUBJECT,
                args![plan.account_id, contact, plan.subject_key, cutoff],
            )
            .await?;
        if found.is_some() {
            place.conversation = found;
            return Ok(place);
        }
    }
    // Automatic answers, reports and notices join the conversation they belong to, or none; a
    // person's message, a forward and a (contact's) bulk mail open one.
    if !matches!(plan.kind, Kind::Message | Kind::Forward | Kind::Bulk) {
        return Ok(place);
    }
    let subject = if plan.subject.is_empty() {
        "(no subject)"
    } else {
        plan.subject.as_str()
    };
    let id = returning_id(
        conn,
        "INSERT INTO conversations (account_id, contact_id, subject, subject_key, channel, status, message_count,
         campaign_id, automation_id, created_at, last_message_at)
         VALUES (?1, ?2, ?3, ?4, 'email', 'open', 0, ?5, ?6, ?7, ?7) RETURNING id",
        args![
            plan.account_id,
            contact,
            subject,
            plan.subject_key,
            place.campaign_id,
            place.automation_id,
            now
        ],
    )
    .await?;
    events.push(NewEvent {
        kind: "conversation.created",
        account_id: plan.account_id,
        data: json!({
            "conversation_id": id,
            "contact_id": contact,
            "subject": subject,
            "channel": "email",
            "campaign_id": place.campaign_id,
            "automation_id": place.automation_id,
        }),
    });
    place.conversation = Some(id);
    Ok(place)
}

/// A hard bounce means the address does not work: the contact is marked so no more mail goes to it.
async fn mark_bouncing(conn: Conn<'_>, plan: &Plan, events: &mut Vec<NewEvent>) -> Result<(), StoreError> {
    let Some(bounce) = plan.bounce.as_ref().filter(|_| plan.kind == Kind::Bounce) else {
        return Ok(());
    };
    for failed in bounce.recipients.iter().filter(|r| r.hard) {
        let contact: Option<i64> = conn
            .value(
                "UPDATE contacts SET email_status = 'bouncing' WHERE account_id = ?1 AND email_key = ?2
                 AND email_status != 'bouncing' RETURNING id",
                args![plan.account_id, email_key(&failed.recipient)],
            )
            .await?;
        if let Some(id) = contact {
            events.push(NewEvent {
                kind: "contact.bouncing",
                account_id: plan.account_id,
                data: json!({ "contact_id": id, "email": failed.recipient, "status": failed.status }),
            });
        }
    }
    Ok(())
}

async fn insert_message(
    conn: Conn<'_>,
    d: &Delivery,
    plan: &Plan,
    raw_id: i64,
    contact: Option<i64>,
    place: &Placement,
    now: &str,
) -> Result<i64, StoreError> {
    let m = &d.message;
    returning_id(
        conn,
        "INSERT INTO messages (account_id, queue_id, raw_id, conversation_id, contact_id, dedupe_key, message_id,
         kind, flags, from_email, from_name, reply_to, to_json, cc_json, subject, date, in_reply_to,
         references_json, text, html, reply_text, attachments_json, headers_json, size, tags_json,
         campaign_id, automation_id, forwarded_by, original_json, bounce_json, envelope_json, received_at,
         auth_json, verified, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
         ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35) RETURNING id",
        args![
            plan.account_id,
            d.envelope.queue_id,
            raw_id,
            place.conversation,
            contact,
            d.dedupe_key,
            m.message_id,
            plan.kind.as_str(),
            to_json(&plan.flags),
            m.from.as_ref().map(|f| &f.email),
            m.from.as_ref().and_then(|f| f.name.as_ref()),
            m.reply_to.first().map(|r| &r.email),
            to_json(&m.to),
            to_json(&m.cc),
            m.subject,
            m.date,
            m.in_reply_to.first(),
            to_json(&m.references),
            m.text,
            m.html,
            // NULL when it is the whole text (nothing was quoted): half the bytes for most short mail.
            plan.reply_text
                .as_deref()
                .filter(|r| Some(*r) != m.text.as_deref().map(str::trim)),
            to_json(&m.attachments),
            to_json(&m.headers),
            d.envelope.size as i64,
            to_json(&plan.tags),
            place.campaign_id,
            place.automation_id,
            plan.forwarded_by,
            plan.original.as_ref().map(to_json),
            plan.bounce.as_ref().map(to_json),
            to_json(&d.envelope),
            now,
            d.auth.as_ref().map(to_json),
            plan.verified,
            plan.signature,
        ],
    )
    .await
}

/// A structured field as its JSON column.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn every_lookup_uses_its_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        for (sql, index) in [
            (DUPLICATE, "sqlite_autoindex_messages_1"),
            (THREAD_BY_MESSAGE_ID, "sqlite_autoindex_messages_1"),
            (CONTACT_BY_EMAIL, "sqlite_autoindex_contacts_1"),
            (SENT_MESSAGE, "sqlite_autoindex_sent_messages_1"),
            (CONVERSATION_BY_ORIGIN, "conversations_by_contact"),
            (LATEST_CONVERSATION, "conversations_by_contact"),
            (CONVERSATION_BY_SUBJECT, "conversations_by_contact"),
        ] {
            // Parameters left unbound are NULL: enough for the planner.
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let mut rows = stmt.raw_query();
            let mut plan = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get::<_, String>(3).unwrap());
            }
            assert!(plan.iter().all(|step| !step.starts_with("SCAN")), "{sql}\n{plan:#?}");
            assert!(plan[0].contains(index), "{sql} should use {index}:\n{plan:#?}");
        }
    }
}
