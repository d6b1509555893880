//! Reads for the CLI and the inbox application: the JSON shapes of accounts, contacts,
//! conversations, messages and events. Field names here are a contract; change them only by adding.

use super::StoreError;
use super::sql::{Conn, Row, args};
use crate::mail::{email_key, normalize_email};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// rspamd's verdict `{score, required, action, symbols}` (null when it did not score it).
    pub spam: Value,
    pub envelope: Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub account_id: i64,
    pub created_at: String,
    pub data: Value,
}

const ACCOUNT_COLS: &str =
    "id, name, local_part || '@' || domain AS address, enabled, dmarc_reject, bulk_contacts, created_at";

fn account_row(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.named("id")?,
        name: r.named("name")?,
        address: r.named("address")?,
        enabled: r.named("enabled")?,
        dmarc_reject: r.named("dmarc_reject")?,
        bulk: if r.named::<bool>("bulk_contacts")? {
            "contact"
        } else {
            "no-contact"
        }
        .to_string(),
        created_at: r.named("created_at")?,
    })
}

pub async fn account(conn: Conn<'_>, id: i64) -> Result<Option<Account>, StoreError> {
    one(
        conn,
        &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1"),
        args![id],
        account_row,
    )
    .await
}

/// The first row of a statement, read by `read`.
async fn one<T>(
    conn: Conn<'_>,
    sql: &str,
    params: &[super::sql::Param<'_>],
    read: fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    conn.query_opt(sql, params).await?.as_ref().map(read).transpose()
}

/// Every row of a statement, each read by `read`.
async fn all<T>(
    conn: Conn<'_>,
    sql: &str,
    params: &[super::sql::Param<'_>],
    read: fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    conn.query(sql, params).await?.iter().map(read).collect()
}

/// An account with its members and system notices: the one shape of `accounts show --json` and
/// `GET /v1/accounts/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: Account,
    pub members: Vec<String>,
    pub notices: Vec<Notice>,
    /// Senders the account always takes (`allow`) or never takes (`block`).
    pub senders: Vec<SenderRuleEntry>,
}

pub async fn account_detail(conn: Conn<'_>, id: i64) -> Result<Option<AccountDetail>, StoreError> {
    let Some(account) = account(conn, id).await? else {
        return Ok(None);
    };
    Ok(Some(AccountDetail {
        account,
        members: members(conn, id).await?,
        notices: notices(conn, id).await?,
        senders: sender_rules(conn, id).await?,
    }))
}

/// A contact with its conversations (the product's "Conversations tab"): the one shape of
/// `contacts show --json` and `GET /v1/accounts/{id}/contacts/{email}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: Contact,
    pub conversations: Vec<Conversation>,
}

pub async fn contact_detail(conn: Conn<'_>, account_id: i64, email: &str) -> Result<Option<ContactDetail>, StoreError> {
    let Some(contact) = contact_by_email(conn, account_id, email).await? else {
        return Ok(None);
    };
    let conversations = conversations(conn, account_id, Some(contact.id)).await?;
    Ok(Some(ContactDetail { contact, conversations }))
}

/// A conversation with its messages, oldest first: the one shape of `conversations show --json` and
/// `GET /v1/conversations/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

pub async fn conversation_detail(conn: Conn<'_>, id: i64) -> Result<Option<ConversationDetail>, StoreError> {
    let Some(conversation) = conversation(conn, id).await? else {
        return Ok(None);
    };
    let messages = conversation_messages(conn, id).await?;
    Ok(Some(ConversationDetail { conversation, messages }))
}

pub async fn accounts(conn: Conn<'_>) -> Result<Vec<Account>, StoreError> {
    all(
        conn,
        &format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id"),
        args![],
        account_row,
    )
    .await
}

const CONTACT_COLS: &str = "id, account_id, email, name, source, opt_in, lists, email_status, verified, created_at";

fn contact_row(r: &Row) -> Result<Contact, StoreError> {
    let lists: String = r.named("lists")?;
    Ok(Contact {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        email: r.named("email")?,
        name: r.named("name")?,
        source: r.named("source")?,
        opt_in: r.named("opt_in")?,
        lists: serde_json::from_str(&lists).unwrap_or_default(),
        email_status: r.named("email_status")?,
        verified: r.named("verified")?,
        created_at: r.named("created_at")?,
    })
}

pub async fn contacts(conn: Conn<'_>, account_id: i64) -> Result<Vec<Contact>, StoreError> {
    all(
        conn,
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE account_id = ?1 ORDER BY id"),
        args![account_id],
        contact_row,
    )
    .await
}

pub async fn contact(conn: Conn<'_>, id: i64) -> Result<Option<Contact>, StoreError> {
    one(
        conn,
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = ?1"),
        args![id],
        contact_row,
    )
    .await
}

pub async fn contact_by_email(conn: Conn<'_>, account_id: i64, email: &str) -> Result<Option<Contact>, StoreError> {
    let key = normalize_email(email)
        .map(|e| email_key(&e))
        .unwrap_or_else(|| email_key(email));
    one(
        conn,
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE account_id = ?1 AND email_key = ?2"),
        args![account_id, key],
        contact_row,
    )
    .await
}

const CONVERSATION_COLS: &str = "c.id, c.account_id, c.contact_id, k.email AS contact_email, c.subject, c.channel,
    c.status, c.message_count, c.campaign_id, c.automation_id, c.created_at, c.last_message_at";

fn conversation_row(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        contact_id: r.named("contact_id")?,
        contact_email: r.named("contact_email")?,
        subject: r.named("subject")?,
        channel: r.named("channel")?,
        status: r.named("status")?,
        message_count: r.named("message_count")?,
        campaign_id: r.named("campaign_id")?,
        automation_id: r.named("automation_id")?,
        created_at: r.named("created_at")?,
        last_message_at: r.named("last_message_at")?,
    })
}

/// An account's conversations, newest activity first; only one contact's when `contact_id` is set.
pub async fn conversations(
    conn: Conn<'_>,
    account_id: i64,
    contact_id: Option<i64>,
) -> Result<Vec<Conversation>, StoreError> {
    conversations_where(conn, account_id, contact_id, None, None).await
}

/// [`conversations`], narrowed to those holding a message of `kind` (`message`, `forward`,
/// `bounce`, …) and to those active at or after `since` (RFC 3339).
pub async fn conversations_where(
    conn: Conn<'_>,
    account_id: i64,
    contact_id: Option<i64>,
    kind: Option<&str>,
    since: Option<&str>,
) -> Result<Vec<Conversation>, StoreError> {
    all(
        conn,
        &format!(
            "SELECT {CONVERSATION_COLS} FROM conversations c JOIN contacts k ON k.id = c.contact_id
             WHERE c.account_id = ?1 AND (c.contact_id = ?2 OR ?2 IS NULL)
               AND (CAST(?3 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.kind = ?3))
               AND (CAST(?4 AS TEXT) IS NULL OR c.last_message_at >= ?4)
             ORDER BY c.last_message_at DESC, c.id DESC"
        ),
        args![account_id, contact_id, kind, since],
        conversation_row,
    )
    .await
}

pub async fn conversation(conn: Conn<'_>, id: i64) -> Result<Option<Conversation>, StoreError> {
    one(
        conn,
        &format!(
            "SELECT {CONVERSATION_COLS} FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?1"
        ),
        args![id],
        conversation_row,
    )
    .await
}

const MESSAGE_COLS: &str = "id, account_id, conversation_id, contact_id, queue_id, message_id, kind, flags,
    from_email, from_name, reply_to, to_json, cc_json, subject, date, received_at, in_reply_to, references_json,
    text, html, reply_text, attachments_json, size, tags_json, campaign_id, automation_id, forwarded_by,
    original_json, bounce_json, envelope_json, auth_json, verified, signature, spam_json";

fn message_row(r: &Row) -> Result<Message, StoreError> {
    Ok(Message {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        conversation_id: r.named("conversation_id")?,
        contact_id: r.named("contact_id")?,
        queue_id: r.named("queue_id")?,
        message_id: r.named("message_id")?,
        kind: r.named("kind")?,
        flags: r.named("flags")?,
        from_email: r.named("from_email")?,
        from_name: r.named("from_name")?,
        reply_to: r.named("reply_to")?,
        to: r.named("to_json")?,
        cc: r.named("cc_json")?,
        subject: r.named("subject")?,
        date: r.named("date")?,
        received_at: r.named("received_at")?,
        in_reply_to: r.named("in_reply_to")?,
        references: r.named("references_json")?,
        text: r.named("text")?,
        html: r.named("html")?,
        // NULL when the new text is the whole text (see `apply`): then it is the text, trimmed.
        reply_text: match r.named::<Option<String>>("reply_text")? {
            Some(reply) => Some(reply),
            None => r.named::<Option<String>>("text")?.map(|t| t.trim().to_string()),
        },
        signature: r.named("signature")?,
        attachments: r.named("attachments_json")?,
        size: r.named("size")?,
        tags: r.named("tags_json")?,
        campaign_id: r.named("campaign_id")?,
        automation_id: r.named("automation_id")?,
        forwarded_by: r.named("forwarded_by")?,
        original: r.named("original_json")?,
        bounce: r.named("bounce_json")?,
        auth: r.named("auth_json")?,
        spam: r.named("spam_json")?,
        verified: r.named("verified")?,
        envelope: r.named("envelope_json")?,
    })
}

/// A conversation's messages, oldest first.
pub async fn conversation_messages(conn: Conn<'_>, conversation_id: i64) -> Result<Vec<Message>, StoreError> {
    all(
        conn,
        &format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 ORDER BY id"),
        args![conversation_id],
        message_row,
    )
    .await
}

pub async fn message(conn: Conn<'_>, id: i64) -> Result<Option<Message>, StoreError> {
    one(
        conn,
        &format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?1"),
        args![id],
        message_row,
    )
    .await
}

/// An account's messages, newest first, optionally of one kind (e.g. bounces, system notices).
pub async fn messages(
    conn: Conn<'_>,
    account_id: i64,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    all(
        conn,
        &format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE account_id = ?1 AND (kind = ?2 OR ?2 IS NULL)
             ORDER BY id DESC LIMIT ?3"
        ),
        args![account_id, kind, limit],
        message_row,
    )
    .await
}

/// The stored bytes of a message: our Received header, then the message as received.
pub async fn message_raw(conn: Conn<'_>, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    conn.value(
        "SELECT r.data FROM messages m JOIN raw_messages r ON r.id = m.raw_id WHERE m.id = ?1",
        args![id],
    )
    .await
}

/// Events after `since` (an event id; 0 for all), oldest first.
pub async fn events(conn: Conn<'_>, since: i64, account_id: Option<i64>, limit: i64) -> Result<Vec<Event>, StoreError> {
    all(
        conn,
        "SELECT id, type, account_id, created_at, data FROM events
         WHERE id > ?1 AND (account_id = ?2 OR ?2 IS NULL) ORDER BY id LIMIT ?3",
        args![since, account_id, limit],
        |r| {
            Ok(Event {
                id: r.get(0)?,
                kind: r.get(1)?,
                account_id: r.get(2)?,
                created_at: r.get(3)?,
                data: r.get(4)?,
            })
        },
    )
    .await
}

/// A system notice of an account (a forwarding confirmation and its link and code).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
pub async fn notices(conn: Conn<'_>, account_id: i64) -> Result<Vec<Notice>, StoreError> {
    all(
        conn,
        "SELECT id, kind, provider, link, code, requested_by, message_id, created_at FROM notices
         WHERE account_id = ?1 ORDER BY id DESC",
        args![account_id],
        notice_row,
    )
    .await
}

/// Every account's notices, newest first, by account (one statement for the accounts page).
pub async fn notices_by_account(conn: Conn<'_>) -> Result<std::collections::HashMap<i64, Vec<Notice>>, StoreError> {
    let rows = conn
        .query(
            "SELECT id, kind, provider, link, code, requested_by, message_id, created_at, account_id FROM notices
             ORDER BY id DESC",
            args![],
        )
        .await?;
    let mut out: std::collections::HashMap<i64, Vec<Notice>> = std::collections::HashMap::new();
    for r in &rows {
        out.entry(r.get(8)?).or_default().push(notice_row(r)?);
    }
    Ok(out)
}

fn notice_row(r: &Row) -> Result<Notice, StoreError> {
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
}

pub async fn members(conn: Conn<'_>, account_id: i64) -> Result<Vec<String>, StoreError> {
    all(
        conn,
        "SELECT email FROM members WHERE account_id = ?1 ORDER BY email_key",
        args![account_id],
        |r| r.get(0),
    )
    .await
}

/// What the pipeline reads of an account for each message: its agents' addresses (lower case) and
/// its sender rules.
pub async fn account_data(conn: Conn<'_>, account_id: i64) -> Result<crate::mail::AccountData, StoreError> {
    let members = all(
        conn,
        "SELECT email_key FROM members WHERE account_id = ?1",
        args![account_id],
        |r| r.get(0),
    )
    .await?;
    let rules = all(
        conn,
        "SELECT sender, rule FROM sender_rules WHERE account_id = ?1",
        args![account_id],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )
    .await?;
    let rules = rules
        .into_iter()
        .filter_map(|(sender, rule)| Some((sender, crate::mail::SenderRule::parse(&rule)?)))
        .collect();
    Ok(crate::mail::AccountData {
        members,
        senders: crate::mail::SenderRules::new(rules),
    })
}

/// An account's sender rules, by name: what `accounts show` lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SenderRuleEntry {
    /// An address, or a domain (which covers its subdomains).
    pub sender: String,
    /// `allow` or `block`.
    pub rule: String,
    pub created_at: String,
}

pub async fn sender_rules(conn: Conn<'_>, account_id: i64) -> Result<Vec<SenderRuleEntry>, StoreError> {
    all(
        conn,
        "SELECT sender, rule, created_at FROM sender_rules WHERE account_id = ?1 ORDER BY rule, sender",
        args![account_id],
        |r| {
            Ok(SenderRuleEntry {
                sender: r.get(0)?,
                rule: r.get(1)?,
                created_at: r.get(2)?,
            })
        },
    )
    .await
}

/// What the web inbox's list shows of a conversation beside its row: the last message's new text
/// (a preview), the kinds of its messages and whether one was suspicious.
#[derive(Debug, Clone, Default)]
pub struct ConversationSummary {
    pub preview: String,
    pub kinds: Vec<String>,
    pub suspicious: bool,
}

/// [`ConversationSummary`] of each of `ids` (one statement for a page of them).
pub async fn conversation_summaries(
    conn: Conn<'_>,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, ConversationSummary>, StoreError> {
    let mut out: std::collections::HashMap<i64, ConversationSummary> = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // Integers only: formatting them into the statement cannot inject anything.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows = conn
        .query(
            &format!(
                "SELECT conversation_id, kind, flags, coalesce(reply_text, text, '') FROM messages
                 WHERE conversation_id IN ({list}) ORDER BY id"
            ),
            args![],
        )
        .await?;
    for r in &rows {
        let conversation: i64 = r.get(0)?;
        let kind: String = r.get(1)?;
        let flags: String = r.get(2)?;
        let text: String = r.get(3)?;
        let summary = out.entry(conversation).or_default();
        if !summary.kinds.contains(&kind) {
            summary.kinds.push(kind);
        }
        summary.suspicious |= flags.contains("\"suspicious\"");
        let preview: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        summary.preview = preview.chars().take(160).collect();
    }
    Ok(out)
}

/// Each account's stored messages and how many of them are quarantined.
pub async fn message_counts(conn: Conn<'_>) -> Result<std::collections::HashMap<i64, (i64, i64)>, StoreError> {
    let rows = conn
        .query(
            "SELECT account_id, count(*), sum(CASE WHEN kind = 'spam' THEN 1 ELSE 0 END) FROM messages GROUP BY account_id",
            args![],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.get::<i64>(0)?,
                (r.get::<i64>(1)?, r.get::<Option<i64>>(2)?.unwrap_or(0)),
            ))
        })
        .collect()
}
