//! Conversations: one contact's thread with an account (and whoever else took part in it). The shape doors show, a conversation with
//! its latest messages, the keyset list (newest activity first, by contact, kind and time), and
//! what the web inbox shows beside each row.
//!
//! Every list statement reads one page from an index: the account's activity index, the
//! contact's, or for a kind other than `message` a partial index holding only the conversations
//! with a message of that kind (`kinds`, a bit per kind, kept by the commit). A conversation that
//! gets new mail moves to the top of the list; a reader paging down does not see it again below
//! (its cursor is past it) and learns of it from the event log (docs/SCHEMA.md).

use super::error::StoreError;
use super::messages::{self, Message};
use super::page::{At, Cursor, Page, Paged};
use super::sql::{Conn, Dialect};
use super::value::{Param, Row, ToParam, args};
use crate::mail::{Flag, Kind, Plan};
use serde::Serialize;
use std::collections::HashMap;

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

/// A conversation as a list shows it: with a search, its newest matching message and the words
/// around the match.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Listed {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// With a search only: the newest matching message and a snippet around the match.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub found: Option<Found>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Found {
    pub message_id: i64,
    /// The text around the first matching word of that message.
    pub snippet: String,
}

impl From<Conversation> for Listed {
    fn from(conversation: Conversation) -> Listed {
        Listed {
            conversation,
            found: None,
        }
    }
}

/// A conversation with its latest messages, oldest of them first: the one shape of
/// `GET /v1/conversations/{id}` (and, with every message, of `conversations show --json`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Who is in it: the contacts who wrote (`contact`), then the addresses copied (`to`, `cc`).
    pub participants: Vec<super::participants::Participant>,
    pub messages: Vec<Message>,
    /// Where `GET /v1/conversations/{id}/messages?cursor=` goes on to the older messages; null when
    /// `messages` is all of them.
    pub messages_cursor: Option<String>,
}

/// What a list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Only this contact's.
    pub contact: Option<i64>,
    /// Only those holding a message of this kind.
    pub kind: Option<Kind>,
    /// Only those active at or after this time (RFC 3339).
    pub since: Option<String>,
}

const COLUMNS: &str = "c.id, c.account_id, c.contact_id, k.email AS contact_email, c.subject, c.channel,
    c.status, c.message_count, c.campaign_id, c.automation_id, c.created_at, c.last_message_at";

pub(super) fn conversation_row(r: &Row) -> Result<Conversation, StoreError> {
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

/// The bit of `kinds` a kind sets; the suspicious bit is [`SUSPICIOUS`].
pub fn kind_bit(kind: Kind) -> i64 {
    1 << Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The bit of `kinds` set when a message whose From failed authentication joined.
pub const SUSPICIOUS: i64 = 1 << 8;

/// The bits a message sets on its conversation.
pub(super) fn kinds_of(plan: &Plan) -> i64 {
    kind_bit(plan.kind)
        | if plan.flags.contains(&Flag::Suspicious) {
            SUSPICIOUS
        } else {
            0
        }
}

/// The kinds with an index of their own (partial: only conversations that hold one). `message`
/// is nearly every conversation (the activity index serves it); `system` and `spam` join none.
pub(super) const INDEXED_KINDS: [Kind; 5] = [Kind::Forward, Kind::AutoReply, Kind::Bounce, Kind::Feedback, Kind::Bulk];

/// The name of a kind's partial index.
pub(super) fn kind_index(kind: Kind) -> String {
    format!("conversations_with_{}", kind.as_str())
}

/// A new conversation's subject.
pub(super) fn subject_of(plan: &Plan) -> &str {
    if plan.subject.is_empty() {
        "(no subject)"
    } else {
        plan.subject.as_str()
    }
}

pub async fn get(conn: Conn<'_>, id: i64) -> Result<Option<Conversation>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.id = ?1"),
        args![id],
    )
    .await?
    .as_ref()
    .map(conversation_row)
    .transpose()
}

/// The statement [`get_many`] runs: `?1` the ids ([`Dialect::ids`]).
pub(super) fn get_many_sql(dialect: Dialect) -> String {
    format!(
        "SELECT {COLUMNS} FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE {}",
        dialect.in_ids("c.id", 1)
    )
}

/// Conversations by id (a page's), in one statement; those not found are left out.
pub async fn get_many(conn: Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, Conversation>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let dialect = conn.dialect();
    conn.query(&get_many_sql(dialect), args![dialect.ids(ids)])
        .await?
        .iter()
        .map(|r| conversation_row(r).map(|c| (c.id, c)))
        .collect()
}

/// Messages a conversation's detail shows (the latest).
pub const MESSAGES_SHOWN: usize = 50;

/// A conversation and its latest messages.
pub async fn detail(conn: Conn<'_>, id: i64) -> Result<Option<ConversationDetail>, StoreError> {
    let Some(conversation) = get(conn, id).await? else {
        return Ok(None);
    };
    let latest = messages::of_conversation(conn, id, &Page::first(MESSAGES_SHOWN)).await?;
    let mut messages = latest.items;
    messages.reverse();
    Ok(Some(ConversationDetail {
        conversation,
        participants: super::participants::of_conversation(conn, id).await?,
        messages,
        messages_cursor: latest.next.map(|id| id.encode()),
    }))
}

/// The statement of one list page and its parameters: which index, which filters, whether it
/// starts after a cursor and whether it stops at a time. Only constants go into the text; every
/// value is a parameter.
pub(super) fn list_sql<'a>(
    account_id: &'a i64,
    filter: &'a ConversationFilter,
    after: Option<&'a At>,
    limit: &'a i64,
) -> Option<(String, Vec<Param<'a>>)> {
    let mut params: Vec<Param<'a>> = vec![account_id.param()];
    let mut bind = |value: Param<'a>| {
        params.push(value);
        format!("?{}", params.len())
    };
    let kind_condition = |kind: Kind| format!("(c.kinds & {}) <> 0", kind_bit(kind));
    let mut conditions = vec!["c.account_id = ?1".to_string()];
    let index = match (&filter.contact, filter.kind) {
        (_, Some(Kind::Spam | Kind::System)) => return None,
        (Some(contact), kind) => {
            conditions.insert(0, format!("c.contact_id = {}", bind(contact.param())));
            conditions.extend(kind.map(kind_condition));
            "conversations_by_contact_activity".to_string()
        }
        (None, Some(kind)) if INDEXED_KINDS.contains(&kind) => {
            conditions.push(kind_condition(kind));
            kind_index(kind)
        }
        (None, kind) => {
            conditions.extend(kind.map(kind_condition));
            "conversations_by_activity".to_string()
        }
    };
    if let Some(at) = after {
        let (time, id) = (bind(at.time.param()), bind(at.id.param()));
        conditions.push(format!(
            "c.last_message_at <= {time} AND (c.last_message_at < {time} OR c.id < {id})"
        ));
    }
    if let Some(since) = &filter.since {
        conditions.push(format!("c.last_message_at >= {}", bind(since.param())));
    }
    let order = if filter.contact.is_some() {
        "c.contact_id DESC, c.last_message_at DESC, c.id DESC"
    } else {
        "c.account_id DESC, c.last_message_at DESC, c.id DESC"
    };
    let limit = bind(limit.param());
    let sql = format!(
        "SELECT {COLUMNS} FROM conversations c INDEXED BY {index} JOIN contacts k ON k.id = c.contact_id
         WHERE {} ORDER BY {order} LIMIT {limit}",
        conditions.join(" AND ")
    );
    Some((sql, params))
}

/// An account's conversations, newest activity first, narrowed by `filter`, a page at a time.
pub async fn list(
    conn: Conn<'_>,
    account_id: i64,
    filter: &ConversationFilter,
    page: &Page<At>,
) -> Result<Paged<Conversation, At>, StoreError> {
    let limit = page.fetch();
    let Some((sql, params)) = list_sql(&account_id, filter, page.after.as_ref(), &limit) else {
        return Ok(Paged {
            items: Vec::new(),
            next: None,
        });
    };
    let rows = conn.query(&sql, &params).await?;
    let list = rows.iter().map(conversation_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(list, |c| At {
        time: c.last_message_at.clone(),
        id: c.id,
    }))
}

/// What the web inbox's list shows of a conversation beside its row: the last message's new text
/// (a preview), the kinds of its messages and whether one was suspicious.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub preview: String,
    pub kinds: Vec<Kind>,
    pub suspicious: bool,
}

/// The statement [`summaries`] starts with: `?1` the ids ([`Dialect::ids`]); each one's kind
/// bits and its latest message.
pub(super) fn latest_sql(dialect: Dialect) -> String {
    format!(
        "SELECT c.id, c.kinds, (SELECT m.id FROM messages m INDEXED BY messages_by_conversation
             WHERE m.conversation_id = c.id ORDER BY m.conversation_id DESC, m.id DESC LIMIT 1) AS latest
         FROM conversations c WHERE {}",
        dialect.in_ids("c.id", 1)
    )
}

/// The [`Summary`] of each of `ids` (a page of them): its kind bits and its latest message, two
/// statements for the page.
pub async fn summaries(conn: Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, Summary>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let dialect = conn.dialect();
    let rows = conn.query(&latest_sql(dialect), args![dialect.ids(ids)]).await?;
    let mut latest = Vec::with_capacity(rows.len());
    for r in &rows {
        latest.push((
            r.named::<i64>("id")?,
            r.named::<i64>("kinds")?,
            r.named::<Option<i64>>("latest")?,
        ));
    }
    let message_ids: Vec<i64> = latest.iter().filter_map(|(_, _, m)| *m).collect();
    let messages = messages::get_many(conn, &message_ids).await?;
    Ok(latest
        .into_iter()
        .map(|(id, kinds, message)| {
            let preview = message
                .and_then(|m| messages.get(&m))
                .and_then(|m| m.reply_text.as_deref())
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let summary = Summary {
                preview: preview.chars().take(160).collect(),
                kinds: Kind::ALL.into_iter().filter(|k| kinds & kind_bit(*k) != 0).collect(),
                suspicious: kinds & SUSPICIOUS != 0,
            };
            (id, summary)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_and_system_mail_make_no_list() {
        for kind in [Kind::Spam, Kind::System] {
            let filter = ConversationFilter {
                kind: Some(kind),
                ..Default::default()
            };
            assert!(list_sql(&1, &filter, None, &51).is_none());
        }
    }
}
