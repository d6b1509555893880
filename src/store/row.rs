//! The message row: the one statement that writes it (with, on PostgreSQL, its raw bytes and a new
//! conversation in the same statement), and the raw bytes on their own (SQLite, streamed in place
//! when large).

use super::StoreError;
use super::sql::{Conn, args};
use crate::mail::{Delivery, Plan};

/// Large messages are written into a zero-filled blob in place: binding them as a parameter
/// would make SQLite copy the whole message (twice, with the record it builds) before writing it.
const STREAM_RAW_FROM: usize = 256 * 1024;

pub(super) async fn insert_raw(conn: Conn<'_>, raw: &[u8]) -> Result<i64, StoreError> {
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
pub(super) async fn returning_id(
    conn: Conn<'_>,
    sql: &str,
    params: &[super::sql::Param<'_>],
) -> Result<i64, StoreError> {
    conn.value(sql, params)
        .await?
        .ok_or_else(|| StoreError::Failed("an insert returned no id".into()))
}

/// The raw bytes of a message row: already stored, or to be written with it (PostgreSQL).
#[derive(Clone, Copy)]
pub(super) enum Raw<'a> {
    Stored(i64),
    Insert(&'a [u8]),
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (account_id, queue_id, raw_id, conversation_id, contact_id,
     dedupe_key, message_id, kind, flags, from_email, from_name, reply_to, to_json, cc_json, subject, date,
     in_reply_to, references_json, text, html, reply_text, attachments_json, headers_json, size, tags_json,
     campaign_id, automation_id, forwarded_by, original_json, bounce_json, envelope_json, received_at,
     auth_json, verified, signature, spam_json)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
     ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36)
     RETURNING id, raw_id, conversation_id";

/// [`INSERT_MESSAGE`] on PostgreSQL, writing in the same statement its raw bytes (`?3` is then the
/// bytes, and the row takes their new id) and/or a new conversation (`?37` its subject, `?38` its
/// subject key; `?4` is then NULL and the row takes the conversation's new id).
fn insert_message_with(raw: bool, conversation: bool) -> &'static str {
    static SQL: [std::sync::OnceLock<String>; 4] = [const { std::sync::OnceLock::new() }; 4];
    SQL[usize::from(raw) * 2 + usize::from(conversation)].get_or_init(|| {
        let mut ctes = Vec::new();
        let mut insert = INSERT_MESSAGE.to_string();
        if raw {
            ctes.push("raw AS (INSERT INTO raw_messages (data) VALUES (?3) RETURNING id)");
            insert = insert.replacen("?3,", "(SELECT id FROM raw),", 1);
        }
        if conversation {
            ctes.push(
                "conv AS (INSERT INTO conversations (account_id, contact_id, subject, subject_key, channel, status,
                 message_count, campaign_id, automation_id, created_at, last_message_at)
                 VALUES (?1, ?5, ?37, ?38, 'email', 'open', 1, ?26, ?27, ?32, ?32) RETURNING id)",
            );
            insert = insert.replacen("?4,", "coalesce(CAST(?4 AS BIGINT), (SELECT id FROM conv)),", 1);
        }
        if ctes.is_empty() {
            insert
        } else {
            format!("WITH {} {insert}", ctes.join(", "))
        }
    })
}

/// Writes the message row (and on PostgreSQL its raw bytes and new conversation with it); its id, its
/// raw bytes' id and its conversation's.
pub(super) async fn insert_message(
    conn: Conn<'_>,
    d: &Delivery,
    plan: &Plan,
    raw: Raw<'_>,
    contact: Option<i64>,
    place: &Placement,
    now: &str,
) -> Result<(i64, i64, Option<i64>), StoreError> {
    let m = &d.message;
    let (inserting_raw, raw_param) = match raw {
        Raw::Stored(id) => (false, super::sql::Param::Int(id)),
        Raw::Insert(bytes) => (true, super::sql::Param::Blob(bytes)),
    };
    let opening = place.opened && place.conversation.is_none();
    let sql = if inserting_raw || opening {
        insert_message_with(inserting_raw, opening)
    } else {
        INSERT_MESSAGE
    };
    // Bound only when the statement opens the conversation (`?37`, `?38`).
    let (subject, subject_key) = if opening {
        (Some(conversation_subject(plan)), Some(plan.subject_key.as_str()))
    } else {
        (None, None)
    };
    // The first 36 are the row's; the last two open its conversation.
    let count = if opening { 38 } else { 36 };
    let row = conn
        .query_opt(
            sql,
            &args![
                plan.account_id,
                d.envelope.queue_id,
                raw_param,
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
                d.spam.as_ref().map(to_json),
                subject,
                subject_key,
            ][..count],
        )
        .await?
        .ok_or_else(|| StoreError::Failed("the message row was not written".into()))?;
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

/// A structured field as its JSON column.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// Where the message goes, and which campaign or automation it answers.
pub(super) struct Placement {
    pub(super) conversation: Option<i64>,
    /// The conversation was opened for this message (and already counts it).
    pub(super) opened: bool,
    pub(super) campaign_id: Option<String>,
    pub(super) automation_id: Option<String>,
}

/// A new conversation's subject.
pub(super) fn conversation_subject(plan: &Plan) -> &str {
    if plan.subject.is_empty() {
        "(no subject)"
    } else {
        plan.subject.as_str()
    }
}
