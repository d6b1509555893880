//! Messages: one row per message per account. The shape doors show (typed: the pipeline's own
//! flags, addresses, attachments and verdicts, written out by serde), its reads (one, an account's
//! list, a conversation's pages), the row the commit writes, and deleting one.
//!
//! A row keeps what reads need beside the raw bytes: the envelope and header facts, the new text
//! and signature ingest cut out, the body (plain text and HTML) compressed in `body`. The bytes as
//! received are [`super::raw`]'s, shared by the rows of one delivery and by identical bytes.

use super::codec;
use super::error::StoreError;
use super::json_codec;
use super::page::{Page, Paged};
use super::raw;
use super::settings::JSON_PACKED_SQL;
use super::sql::{Conn, Dialect, Param};
use super::value::{Row, args};
use crate::mail::{
    Attachment, AuthResult, BounceInfo, Delivery, Envelope, Flag, Forwarded, Kind, Mailbox, Plan, SpamVerdict,
};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub queue_id: String,
    pub message_id: Option<String>,
    /// `message`, `forward`, `auto_reply`, `bounce`, `feedback`, `system`, `bulk` or `spam`.
    #[schema(value_type = String)]
    pub kind: Kind,
    /// `suspicious`, `unparsed`, `truncated`, `no_sender`, `forward_unparsed`, `member`,
    /// `multiple_message_ids`, `unscored`.
    #[schema(value_type = Vec<String>)]
    pub flags: Vec<Flag>,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub received_at: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    /// What the sender wrote this time: quotes, attributions, the signature and list footers
    /// removed.
    pub reply_text: Option<String>,
    /// What was cut from the end of the new text as a signature (`-- ` and below, "Sent from my
    /// iPhone"), when there was one.
    pub signature: Option<String>,
    pub attachments: Vec<Attachment>,
    pub size: i64,
    pub tags: Vec<String>,
    pub campaign_id: Option<String>,
    pub automation_id: Option<String>,
    pub forwarded_by: Option<String>,
    /// A forward's original: sender, subject, date, To/Cc, its body and the agent's note.
    pub original: Option<Forwarded>,
    /// What a bounce or a feedback report says.
    pub bounce: Option<BounceInfo>,
    /// SPF, DKIM, DMARC and ARC verdicts (null for trusted relays or when checks are off).
    pub auth: Option<AuthResult>,
    /// The From is authenticated (or came through a trusted relay).
    pub verified: bool,
    /// rspamd's verdict `{score, required, action, symbols}` (null when it did not score it).
    pub spam: Option<SpamVerdict>,
    /// The SMTP facts: queue id, reverse path, recipients, client, TLS, when.
    pub envelope: Option<Envelope>,
}

/// The columns a [`Message`] is read from. `text` and `html` are the rows of schema 10 and
/// before, whose body is not packed yet (`inboxd migrate` packs them).
pub(super) const COLUMNS: &str = "m.id, m.account_id, m.conversation_id, m.contact_id, m.queue_id, m.message_id,
    m.kind, m.flags, m.from_email, m.from_name, m.reply_to, m.to_json, m.cc_json, m.subject, m.date, m.received_at,
    m.in_reply_to, m.references_json, m.body, m.text, m.html, m.reply_text, m.attachments_json, m.size, m.tags_json,
    m.campaign_id, m.automation_id, m.forwarded_by, m.original_json, m.bounce_json, m.envelope, m.envelope_json,
    m.auth_json, m.verified, m.signature, m.spam_json";

/// A JSON column as its type; null when absent or unreadable (a row written by an older build
/// keeps what it can).
fn json<T: serde::de::DeserializeOwned>(r: &Row, name: &str) -> Result<Option<T>, StoreError> {
    Ok(r.named::<Option<String>>(name)?
        .and_then(|text| serde_json::from_str(&text).ok()))
}

pub(super) fn message_row(r: &Row) -> Result<Message, StoreError> {
    let body = match r.named::<Option<Vec<u8>>>("body")? {
        Some(packed) => codec::unpack_body(&packed).map_err(StoreError::Failed)?,
        None => codec::Body {
            text: r.named("text")?,
            html: r.named("html")?,
        },
    };
    let kind: String = r.named("kind")?;
    Ok(Message {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        conversation_id: r.named("conversation_id")?,
        contact_id: r.named("contact_id")?,
        queue_id: r.named("queue_id")?,
        message_id: r.named("message_id")?,
        kind: Kind::from_name(&kind).unwrap_or(Kind::Message),
        flags: json(r, "flags")?.unwrap_or_default(),
        from_email: r.named("from_email")?,
        from_name: r.named("from_name")?,
        reply_to: r.named("reply_to")?,
        to: json(r, "to_json")?.unwrap_or_default(),
        cc: json(r, "cc_json")?.unwrap_or_default(),
        subject: r.named("subject")?,
        date: r.named("date")?,
        received_at: r.named("received_at")?,
        in_reply_to: r.named("in_reply_to")?,
        references: json(r, "references_json")?.unwrap_or_default(),
        // NULL when the new text is the whole text (see `insert`): then it is the text, trimmed.
        reply_text: match r.named::<Option<String>>("reply_text")? {
            Some(reply) => Some(reply),
            None => body.text.as_ref().map(|t| t.trim().to_string()),
        },
        text: body.text,
        html: body.html,
        signature: r.named("signature")?,
        attachments: json(r, "attachments_json")?.unwrap_or_default(),
        size: r.named("size")?,
        tags: json(r, "tags_json")?.unwrap_or_default(),
        campaign_id: r.named("campaign_id")?,
        automation_id: r.named("automation_id")?,
        forwarded_by: r.named("forwarded_by")?,
        original: json(r, "original_json")?,
        bounce: json(r, "bounce_json")?,
        auth: json(r, "auth_json")?,
        verified: r.named("verified")?,
        spam: json(r, "spam_json")?,
        envelope: envelope_json(r)?.and_then(|text| serde_json::from_str(&text).ok()),
    })
}

/// A row's envelope as JSON: packed since schema 17 (`envelope`, [`json_codec`]), text before
/// (`envelope_json`). A damaged one is none, as unreadable text is: the row keeps what it can.
pub(super) fn envelope_json(r: &Row) -> Result<Option<String>, StoreError> {
    match r.named::<Option<Vec<u8>>>("envelope")? {
        Some(packed) => Ok(json_codec::unpack(&packed)
            .inspect_err(|e| tracing::warn!(error = %e, "message envelope unreadable"))
            .ok()),
        None => Ok(r.named("envelope_json")?),
    }
}

pub async fn get(conn: Conn<'_>, id: i64) -> Result<Option<Message>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM messages m WHERE m.id = ?1"), args![id])
        .await?
        .as_ref()
        .map(message_row)
        .transpose()
}

/// The statement [`get_many`] runs: `?1` the ids ([`Dialect::ids`]).
pub(super) fn get_many_sql(dialect: Dialect) -> String {
    format!("SELECT {COLUMNS} FROM messages m WHERE {}", dialect.in_ids("m.id", 1))
}

/// Messages by id (a page's), in one statement; those not found are left out.
pub async fn get_many(conn: Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, Message>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let dialect = conn.dialect();
    conn.query(&get_many_sql(dialect), args![dialect.ids(ids)])
        .await?
        .iter()
        .map(|r| message_row(r).map(|m| (m.id, m)))
        .collect()
}

/// The account a message belongs to (for a door's scope check before anything else is read).
pub async fn account_of(conn: Conn<'_>, id: i64) -> Result<Option<i64>, StoreError> {
    conn.value("SELECT account_id FROM messages WHERE id = ?1", args![id])
        .await
}

/// The key a message is known by for duplicates (`mid:<Message-ID>` or `sha256:<hex>`).
pub async fn dedupe_key(conn: Conn<'_>, id: i64) -> Result<Option<String>, StoreError> {
    conn.value("SELECT dedupe_key FROM messages WHERE id = ?1", args![id])
        .await
}

/// An account's messages list's statement: `?1` the account, then with `kind` `?2` the kind,
/// then the id before which it starts and the limit.
pub(super) fn list_sql(kind: bool) -> String {
    if kind {
        format!(
            "SELECT {COLUMNS} FROM messages m INDEXED BY messages_by_kind
             WHERE m.account_id = ?1 AND m.kind = ?2 AND m.id < ?3
             ORDER BY m.account_id DESC, m.kind DESC, m.id DESC LIMIT ?4"
        )
    } else {
        format!(
            "SELECT {COLUMNS} FROM messages m INDEXED BY messages_by_account
             WHERE m.account_id = ?1 AND m.id < ?2 ORDER BY m.account_id DESC, m.id DESC LIMIT ?3"
        )
    }
}

/// A conversation's page of messages: `?1` the conversation, `?2` the id it starts after (before,
/// newest first), `?3` the limit.
pub(super) fn of_conversation_sql(oldest_first: bool) -> String {
    if oldest_first {
        format!(
            "SELECT {COLUMNS} FROM messages m INDEXED BY messages_by_conversation
             WHERE m.conversation_id = ?1 AND m.id > ?2 ORDER BY m.conversation_id, m.id LIMIT ?3"
        )
    } else {
        format!(
            "SELECT {COLUMNS} FROM messages m INDEXED BY messages_by_conversation
             WHERE m.conversation_id = ?1 AND m.id < ?2 ORDER BY m.conversation_id DESC, m.id DESC LIMIT ?3"
        )
    }
}

/// An account's messages, newest first, a page at a time; only those of `kind` when given (the
/// quarantine is kind `spam`).
pub async fn list(
    conn: Conn<'_>,
    account_id: i64,
    kind: Option<Kind>,
    page: &Page<i64>,
) -> Result<Paged<Message, i64>, StoreError> {
    let before = page.after.unwrap_or(i64::MAX);
    let rows = match kind {
        Some(kind) => {
            conn.query(&list_sql(true), args![account_id, kind.as_str(), before, page.fetch()])
                .await?
        }
        None => {
            conn.query(&list_sql(false), args![account_id, before, page.fetch()])
                .await?
        }
    };
    let messages = rows.iter().map(message_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(messages, |m| m.id))
}

/// A conversation's messages, newest first, a page at a time (each page is its LIMIT of rows
/// from the conversation's index, however long the conversation).
pub async fn of_conversation(
    conn: Conn<'_>,
    conversation_id: i64,
    page: &Page<i64>,
) -> Result<Paged<Message, i64>, StoreError> {
    let rows = conn
        .query(
            &of_conversation_sql(false),
            args![conversation_id, page.after.unwrap_or(i64::MAX), page.fetch()],
        )
        .await?;
    let messages = rows.iter().map(message_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(messages, |m| m.id))
}

/// A conversation's messages, oldest first, a page at a time (the CLI prints a whole
/// conversation so, as it reads it).
pub async fn of_conversation_oldest_first(
    conn: Conn<'_>,
    conversation_id: i64,
    page: &Page<i64>,
) -> Result<Paged<Message, i64>, StoreError> {
    let rows = conn
        .query(
            &of_conversation_sql(true),
            args![conversation_id, page.after.unwrap_or(0), page.fetch()],
        )
        .await?;
    let messages = rows.iter().map(message_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(messages, |m| m.id))
}

/// The stored bytes of a message: our Received header, then the message as received.
pub async fn raw(conn: Conn<'_>, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    match conn
        .value::<i64>("SELECT raw_id FROM messages WHERE id = ?1", args![id])
        .await?
    {
        Some(raw_id) => raw::read(conn, raw_id).await,
        None => Ok(None),
    }
}

/// Deletes a message, its notices and its search entry, and its raw bytes unless another row
/// still uses them. False when there was none.
pub async fn delete(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    let Some(raw_id) = conn
        .value::<i64>("SELECT raw_id FROM messages WHERE id = ?1", args![id])
        .await?
    else {
        return Ok(false);
    };
    conn.execute("DELETE FROM notices WHERE message_id = ?1", args![id])
        .await?;
    super::search::remove(conn, id).await?;
    conn.execute("DELETE FROM messages WHERE id = ?1", args![id]).await?;
    raw::release(conn, raw_id).await?;
    Ok(true)
}

/// The message row as the commit writes it on `dialect`. The envelope is `?29` packed and `?35`
/// as text: the one [`JSON_PACKED_SQL`] picks is written, the other column left empty.
fn insert_sql(dialect: Dialect) -> &'static str {
    static SQL: [std::sync::OnceLock<String>; 2] = [const { std::sync::OnceLock::new() }; 2];
    let (slot, bytes) = match dialect {
        Dialect::Sqlite => (0, "BLOB"),
        Dialect::Postgres => (1, "BYTEA"),
    };
    SQL[slot].get_or_init(|| {
        format!(
            "INSERT INTO messages (account_id, queue_id, raw_id, conversation_id, contact_id,
             dedupe_key, message_id, kind, flags, from_email, from_name, reply_to, to_json, cc_json, subject, date,
             in_reply_to, references_json, body, reply_text, attachments_json, size, tags_json,
             campaign_id, automation_id, forwarded_by, original_json, bounce_json, envelope, received_at,
             auth_json, verified, signature, spam_json, envelope_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
             ?22, ?23, ?24, ?25, ?26, ?27, ?28, CASE WHEN {JSON_PACKED_SQL} THEN CAST(?29 AS {bytes}) END, ?30, ?31,
             ?32, ?33, ?34, CASE WHEN {JSON_PACKED_SQL} THEN '' ELSE ?35 END)
             RETURNING id, raw_id, conversation_id"
        )
    })
}
/// The parameters of [`insert_sql`].
const ROW_PARAMS: usize = 35;

/// [`insert_sql`] on PostgreSQL, writing in the same statement a new conversation (`?36` its
/// subject, `?37` its subject key, `?38` its kinds; `?4` is then NULL and the row takes the
/// conversation's new id) and/or its raw bytes (`?3` is then the compressed bytes, the three
/// parameters after the conversation's their hash, size and codec).
fn insert_with(raw: bool, conversation: bool) -> &'static str {
    static SQL: [std::sync::OnceLock<String>; 4] = [const { std::sync::OnceLock::new() }; 4];
    SQL[usize::from(raw) * 2 + usize::from(conversation)].get_or_init(|| {
        let mut ctes = Vec::new();
        let mut insert = insert_sql(Dialect::Postgres).to_string();
        let mut next = ROW_PARAMS + 1;
        if conversation {
            ctes.push(format!(
                "conv AS (INSERT INTO conversations (account_id, contact_id, subject, subject_key, channel, status,
                 message_count, campaign_id, automation_id, created_at, last_message_at, kinds)
                 VALUES (?1, ?5, ?{}, ?{}, 'email', 'open', 1, ?24, ?25, ?30, ?30, ?{}) RETURNING id)",
                next,
                next + 1,
                next + 2
            ));
            next += 3;
            insert = insert.replacen("?4,", "coalesce(CAST(?4 AS BIGINT), (SELECT id FROM conv)),", 1);
        }
        if raw {
            ctes.push(format!(
                "raw AS (INSERT INTO raw_messages (data, hash, size, codec) VALUES (?3, ?{}, ?{}, ?{}) RETURNING id)",
                next,
                next + 1,
                next + 2
            ));
            insert = insert.replacen("?3,", "(SELECT id FROM raw),", 1);
        }
        if ctes.is_empty() {
            insert
        } else {
            format!("WITH {} {insert}", ctes.join(", "))
        }
    })
}

/// The raw bytes of a message row: already stored, or to be written with it (PostgreSQL).
#[derive(Clone, Copy)]
pub(super) enum RawRef<'a> {
    Stored(i64),
    Insert(&'a crate::mail::Packed),
}

/// Where the message goes, and which campaign or automation it answers.
pub(super) struct Placement {
    pub(super) conversation: Option<i64>,
    /// The conversation's contact, when the message joined one by its thread headers (its own
    /// contact, a participant's, or none).
    pub(super) owner: Option<i64>,
    /// The conversation was opened for this message (and already counts it).
    pub(super) opened: bool,
    pub(super) campaign_id: Option<String>,
    pub(super) automation_id: Option<String>,
}

/// What one account's message row is made of.
pub(super) struct NewRow<'a> {
    pub(super) delivery: &'a Delivery,
    pub(super) stored: &'a crate::mail::Stored,
    pub(super) plan: &'a Plan,
    pub(super) contact: Option<i64>,
    pub(super) place: &'a Placement,
    pub(super) now: &'a str,
}

/// Writes the message row (and on PostgreSQL its raw bytes and new conversation with it); its id,
/// its raw bytes' id and its conversation's.
pub(super) async fn insert(
    conn: Conn<'_>,
    row: &NewRow<'_>,
    raw: RawRef<'_>,
) -> Result<(i64, i64, Option<i64>), StoreError> {
    let NewRow {
        delivery: d,
        stored,
        plan,
        contact,
        place,
        now,
    } = *row;
    let m = &d.message;
    let (raw_param, packed) = match raw {
        RawRef::Stored(id) => (Param::Int(id), None),
        RawRef::Insert(packed) => (Param::Blob(&packed.data), Some(packed)),
    };
    let opening = place.opened && place.conversation.is_none();
    let sql = if packed.is_some() || opening {
        insert_with(packed.is_some(), opening)
    } else {
        insert_sql(conn.dialect())
    };
    let text = m.text.as_deref().map(str::trim);
    let columns = [
        to_json(&plan.flags),
        to_json(&m.to),
        to_json(&m.cc),
        to_json(&m.references),
        to_json(&m.attachments),
        to_json(&plan.tags),
    ];
    let (original, bounce, auth, spam) = (
        plan.original.as_ref().map(to_json),
        plan.bounce.as_ref().map(to_json),
        d.auth.as_ref().map(to_json),
        d.spam.as_ref().map(to_json),
    );
    let kind = plan.kind.as_str();
    let from_email = m.from.as_ref().map(|f| &f.email);
    let from_name = m.from.as_ref().and_then(|f| f.name.as_ref());
    let reply_to = m.reply_to.first().map(|r| &r.email);
    let in_reply_to = m.in_reply_to.first();
    // NULL when it is the whole text (nothing was quoted): half the bytes for most short mail.
    let reply_text = plan.reply_text.as_deref().filter(|r| Some(*r) != text);
    let size = d.envelope.size as i64;
    let mut params: Vec<Param<'_>> = args![
        plan.account_id,
        d.envelope.queue_id,
        raw_param,
        place.conversation,
        contact,
        d.dedupe_key,
        m.message_id,
        kind,
        columns[0],
        from_email,
        from_name,
        reply_to,
        columns[1],
        columns[2],
        m.subject,
        m.date,
        in_reply_to,
        columns[3],
        stored.body,
        reply_text,
        columns[4],
        size,
        columns[5],
        place.campaign_id,
        place.automation_id,
        plan.forwarded_by,
        original,
        bounce,
        stored.envelope,
        now,
        auth,
        plan.verified,
        plan.signature,
        spam,
        stored.envelope_json,
    ]
    .to_vec();
    debug_assert_eq!(params.len(), ROW_PARAMS);
    let subject = super::conversations::subject_of(plan);
    // In the order `insert_with` numbers them: the new conversation's, then the raw bytes'.
    if opening {
        params.push(Param::Text(subject));
        params.push(Param::Text(&plan.subject_key));
        params.push(Param::Int(super::conversations::kinds_of(plan)));
    }
    if let Some(packed) = packed {
        params.push(Param::Blob(&packed.hash));
        params.push(Param::Int(packed.size as i64));
        params.push(Param::Int(packed.codec));
    }
    let row = conn
        .query_opt(sql, &params)
        .await?
        .ok_or_else(|| StoreError::Failed("the message row was not written".into()))?;
    Ok((row.named("id")?, row.named("raw_id")?, row.named("conversation_id")?))
}

/// A structured field as its JSON column.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
