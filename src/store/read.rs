//! Reads for the CLI and the inbox application: the JSON shapes of accounts, contacts,
//! conversations, messages and events. Field names here are a contract; change them only by adding.

use super::StoreError;
use crate::mail::{email_key, normalize_email};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub enabled: bool,
    /// Overrides `auth.dmarc_reject` for this account (`reject`/`accept`), or null for the default.
    pub dmarc_reject: Option<String>,
    /// Whether bulk mail (newsletters, lists) creates contacts: `contact` or `no-contact` (default).
    pub bulk: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub source: String,
    pub opt_in: bool,
    pub lists: Vec<String>,
    pub email_status: String,
    /// False when the contact was created by mail whose sender could not be authenticated.
    pub verified: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: i64,
    pub account_id: i64,
    pub contact_id: i64,
    pub contact_email: String,
    pub subject: String,
    pub channel: String,
    pub status: String,
    pub message_count: i64,
    pub campaign_id: Option<String>,
    pub automation_id: Option<String>,
    pub created_at: String,
    pub last_message_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub queue_id: String,
    pub message_id: Option<String>,
    pub kind: String,
    pub flags: Value,
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub to: Value,
    pub cc: Value,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub received_at: String,
    pub in_reply_to: Option<String>,
    pub references: Value,
    pub text: Option<String>,
    pub html: Option<String>,
    pub reply_text: Option<String>,
    /// What was cut from the end of the new text as a signature (`-- ` and below, "Sent from my
    /// iPhone"), when there was one.
    pub signature: Option<String>,
    pub attachments: Value,
    pub size: i64,
    pub tags: Value,
    pub campaign_id: Option<String>,
    pub automation_id: Option<String>,
    pub forwarded_by: Option<String>,
    pub original: Value,
    pub bounce: Value,
    /// SPF, DKIM, DMARC and ARC verdicts (null for trusted relays or when checks are off).
    pub auth: Value,
    /// The From is authenticated (or came through a trusted relay).
    pub verified: bool,
    pub envelope: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub account_id: i64,
    pub created_at: String,
    pub data: Value,
}

fn json_col(row: &Row<'_>, idx: &str) -> rusqlite::Result<Value> {
    let text: Option<String> = row.get(idx)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
}

const ACCOUNT_COLS: &str =
    "id, name, local_part || '@' || domain AS address, enabled, dmarc_reject, bulk_contacts, created_at";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get("id")?,
        name: r.get("name")?,
        address: r.get("address")?,
        enabled: r.get("enabled")?,
        dmarc_reject: r.get("dmarc_reject")?,
        bulk: if r.get::<_, bool>("bulk_contacts")? {
            "contact"
        } else {
            "no-contact"
        }
        .to_string(),
        created_at: r.get("created_at")?,
    })
}

pub fn account(conn: &Connection, id: i64) -> Result<Option<Account>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1"),
            [id],
            account_row,
        )
        .optional()?)
}

/// An account with its members and system notices: the one shape of `accounts show --json` and
/// `GET /v1/accounts/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: Account,
    pub members: Vec<String>,
    pub notices: Vec<Notice>,
}

pub fn account_detail(conn: &Connection, id: i64) -> Result<Option<AccountDetail>, StoreError> {
    let Some(account) = account(conn, id)? else {
        return Ok(None);
    };
    Ok(Some(AccountDetail {
        account,
        members: members(conn, id)?,
        notices: notices(conn, id)?,
    }))
}

/// A contact with its conversations (the product's "Conversations tab"): the one shape of
/// `contacts show --json` and `GET /v1/accounts/{id}/contacts/{email}`.
#[derive(Debug, Clone, Serialize)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: Contact,
    pub conversations: Vec<Conversation>,
}

pub fn contact_detail(conn: &Connection, account_id: i64, email: &str) -> Result<Option<ContactDetail>, StoreError> {
    let Some(contact) = contact_by_email(conn, account_id, email)? else {
        return Ok(None);
    };
    let conversations = conversations(conn, account_id, Some(contact.id))?;
    Ok(Some(ContactDetail { contact, conversations }))
}

/// A conversation with its messages, oldest first: the one shape of `conversations show --json` and
/// `GET /v1/conversations/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

pub fn conversation_detail(conn: &Connection, id: i64) -> Result<Option<ConversationDetail>, StoreError> {
    let Some(conversation) = conversation(conn, id)? else {
        return Ok(None);
    };
    let messages = conversation_messages(conn, id)?;
    Ok(Some(ConversationDetail { conversation, messages }))
}

pub fn accounts(conn: &Connection) -> Result<Vec<Account>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id"))?;
    let rows = stmt.query_map([], account_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

const CONTACT_COLS: &str = "id, account_id, email, name, source, opt_in, lists, email_status, verified, created_at";

fn contact_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    let lists: String = r.get("lists")?;
    Ok(Contact {
        id: r.get("id")?,
        account_id: r.get("account_id")?,
        email: r.get("email")?,
        name: r.get("name")?,
        source: r.get("source")?,
        opt_in: r.get("opt_in")?,
        lists: serde_json::from_str(&lists).unwrap_or_default(),
        email_status: r.get("email_status")?,
        verified: r.get("verified")?,
        created_at: r.get("created_at")?,
    })
}

pub fn contacts(conn: &Connection, account_id: i64) -> Result<Vec<Contact>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE account_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([account_id], contact_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn contact_by_email(conn: &Connection, account_id: i64, email: &str) -> Result<Option<Contact>, StoreError> {
    let key = normalize_email(email)
        .map(|e| email_key(&e))
        .unwrap_or_else(|| email_key(email));
    Ok(conn
        .query_row(
            &format!("SELECT {CONTACT_COLS} FROM contacts WHERE account_id = ?1 AND email_key = ?2"),
            params![account_id, key],
            contact_row,
        )
        .optional()?)
}

const CONVERSATION_COLS: &str = "c.id, c.account_id, c.contact_id, k.email AS contact_email, c.subject, c.channel,
    c.status, c.message_count, c.campaign_id, c.automation_id, c.created_at, c.last_message_at";

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get("id")?,
        account_id: r.get("account_id")?,
        contact_id: r.get("contact_id")?,
        contact_email: r.get("contact_email")?,
        subject: r.get("subject")?,
        channel: r.get("channel")?,
        status: r.get("status")?,
        message_count: r.get("message_count")?,
        campaign_id: r.get("campaign_id")?,
        automation_id: r.get("automation_id")?,
        created_at: r.get("created_at")?,
        last_message_at: r.get("last_message_at")?,
    })
}

/// An account's conversations, newest activity first; only one contact's when `contact_id` is set.
pub fn conversations(
    conn: &Connection,
    account_id: i64,
    contact_id: Option<i64>,
) -> Result<Vec<Conversation>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN contacts k ON k.id = c.contact_id
         WHERE c.account_id = ?1 AND (?2 IS NULL OR c.contact_id = ?2)
         ORDER BY c.last_message_at DESC, c.id DESC"
    ))?;
    let rows = stmt
        .query_map(params![account_id, contact_id], conversation_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn conversation(conn: &Connection, id: i64) -> Result<Option<Conversation>, StoreError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {CONVERSATION_COLS} FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?1"
            ),
            [id],
            conversation_row,
        )
        .optional()?)
}

const MESSAGE_COLS: &str = "id, account_id, conversation_id, contact_id, queue_id, message_id, kind, flags,
    from_email, from_name, reply_to, to_json, cc_json, subject, date, received_at, in_reply_to, references_json,    text, html, coalesce(reply_text, trim(text, ' ' || char(9, 10, 13))) AS reply_text, attachments_json, size, tags_json, campaign_id, automation_id, forwarded_by,
    original_json, bounce_json, envelope_json, auth_json, verified, signature";

fn message_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get("id")?,
        account_id: r.get("account_id")?,
        conversation_id: r.get("conversation_id")?,
        contact_id: r.get("contact_id")?,
        queue_id: r.get("queue_id")?,
        message_id: r.get("message_id")?,
        kind: r.get("kind")?,
        flags: json_col(r, "flags")?,
        from_email: r.get("from_email")?,
        from_name: r.get("from_name")?,
        reply_to: r.get("reply_to")?,
        to: json_col(r, "to_json")?,
        cc: json_col(r, "cc_json")?,
        subject: r.get("subject")?,
        date: r.get("date")?,
        received_at: r.get("received_at")?,
        in_reply_to: r.get("in_reply_to")?,
        references: json_col(r, "references_json")?,
        text: r.get("text")?,
        html: r.get("html")?,
        reply_text: r.get("reply_text")?,
        signature: r.get("signature")?,
        attachments: json_col(r, "attachments_json")?,
        size: r.get("size")?,
        tags: json_col(r, "tags_json")?,
        campaign_id: r.get("campaign_id")?,
        automation_id: r.get("automation_id")?,
        forwarded_by: r.get("forwarded_by")?,
        original: json_col(r, "original_json")?,
        bounce: json_col(r, "bounce_json")?,
        auth: json_col(r, "auth_json")?,
        verified: r.get("verified")?,
        envelope: json_col(r, "envelope_json")?,
    })
}

/// A conversation's messages, oldest first.
pub fn conversation_messages(conn: &Connection, conversation_id: i64) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([conversation_id], message_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn message(conn: &Connection, id: i64) -> Result<Option<Message>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"),
            [id],
            message_row,
        )
        .optional()?)
}

/// An account's messages, newest first, optionally of one kind (e.g. bounces, system notices).
pub fn messages(
    conn: &Connection,
    account_id: i64,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE account_id = ?1 AND (?2 IS NULL OR kind = ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(params![account_id, kind, limit], message_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The stored bytes of a message: our Received header, then the message as received.
pub fn message_raw(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT r.data FROM messages m JOIN raw_messages r ON r.id = m.raw_id WHERE m.id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Events after `since` (an event id; 0 for all), oldest first.
pub fn events(conn: &Connection, since: i64, account_id: Option<i64>, limit: i64) -> Result<Vec<Event>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, type, account_id, created_at, data FROM events
         WHERE id > ?1 AND (?2 IS NULL OR account_id = ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![since, account_id, limit], |r| {
            Ok(Event {
                id: r.get(0)?,
                kind: r.get(1)?,
                account_id: r.get(2)?,
                created_at: r.get(3)?,
                data: json_col(r, "data")?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A system notice of an account (a forwarding confirmation and its link and code).
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub provider: Option<String>,
    pub link: Option<String>,
    pub code: Option<String>,
    pub requested_by: Option<String>,
    pub message_id: i64,
    pub created_at: String,
}

/// An account's notices, newest first.
pub fn notices(conn: &Connection, account_id: i64) -> Result<Vec<Notice>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, provider, link, code, requested_by, message_id, created_at FROM notices
         WHERE account_id = ?1 ORDER BY id DESC",
    )?;
    let rows = stmt
        .query_map([account_id], |r| {
            Ok(Notice {
                id: r.get(0)?,
                kind: r.get(1)?,
                provider: r.get(2)?,
                link: r.get(3)?,
                code: r.get(4)?,
                requested_by: r.get(5)?,
                message_id: r.get(6)?,
                created_at: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn members(conn: &Connection, account_id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT email FROM members WHERE account_id = ?1 ORDER BY email_key")?;
    let rows = stmt.query_map([account_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}
