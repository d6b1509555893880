//! The agent's tools on threading: merge a conversation into another, and split a message (with
//! the same sender's later ones) off into a conversation of its own.
//!
//! Each runs inside the caller's one transaction, and decides everything before it writes: a
//! refusal changes nothing. It locks the conversations' rows first (PostgreSQL: `FOR UPDATE`, in
//! id order; SQLite's write transaction holds the file). A delivery bumps its conversation's row
//! before it writes the message that references it (`store::apply`), so on PostgreSQL mail
//! arriving on another host for the same conversation either commits first and is moved with the
//! rest, or waits: for a merged conversation its insert then fails its reference (the row is
//! gone), and the commit tries that delivery again alone, where its thread lookup finds the
//! messages in the target. Nothing lands in a conversation that no longer exists.
//!
//! A merged conversation's row goes; `conversation_merges` keeps where its id went (chains
//! are kept flat), so the doors answer the old id with `merged_into`.

use super::conversations::kind_bit;
use super::convert;
use super::error::StoreError;
use super::events::{self, NewEvent};
use super::participants;
use super::sql::{Conn, Dialect};
use super::value::args;
use crate::mail::Kind;
use serde::Serialize;
use serde_json::json;

/// Why nothing moved: each a sentence for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such conversation or message (or not in the asker's account): 404.
    NotFound(String),
    /// The request cannot be done as asked: 400.
    Invalid(String),
    /// The conversation was merged already, or changed meanwhile: 409.
    Conflict(String),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Merged {
    /// The conversation that was merged (its id now answers with `merged_into`).
    pub from: i64,
    /// The conversation that holds its messages now.
    pub into: i64,
    /// Messages moved.
    pub moved: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Split {
    /// The conversation the messages left.
    pub from: i64,
    /// The new conversation.
    pub into: i64,
    /// The message the split started at.
    pub message_id: i64,
    /// Messages moved (that one and the same sender's later ones).
    pub moved: i64,
}

/// Where a merged conversation's id went, if it was merged.
pub(super) const MERGED_INTO: &str = "SELECT merged_into FROM conversation_merges WHERE conversation_id = ?1";

/// The conversation a merged id points to now, if `id` was merged.
pub async fn merged_into(conn: Conn<'_>, id: i64) -> Result<Option<i64>, StoreError> {
    conn.value(MERGED_INTO, args![id]).await
}

/// What a merged conversation's id answers with: where its messages are now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MergedConversation {
    pub id: i64,
    pub account_id: i64,
    /// The conversation that holds its messages now.
    pub merged_into: i64,
    pub merged_at: String,
}

/// The merge record of `id`, when it was merged into another conversation.
pub async fn merged(conn: Conn<'_>, id: i64) -> Result<Option<MergedConversation>, StoreError> {
    let row = conn
        .query_opt(
            "SELECT account_id, merged_into, merged_at FROM conversation_merges WHERE conversation_id = ?1",
            args![id],
        )
        .await?;
    row.map(|r| {
        Ok(MergedConversation {
            id,
            account_id: r.named("account_id")?,
            merged_into: r.named("merged_into")?,
            merged_at: r.named("merged_at")?,
        })
    })
    .transpose()
}

/// A conversation's row as the tools need it, locked.
struct Locked {
    id: i64,
    account_id: i64,
    contact_id: i64,
    message_count: i64,
    kinds: i64,
    created_at: String,
    last_message_at: String,
    subject: String,
    subject_key: String,
    campaign_id: Option<String>,
    automation_id: Option<String>,
}

fn lock_sql(dialect: Dialect) -> String {
    format!(
        "SELECT id, account_id, contact_id, message_count, kinds, created_at, last_message_at, subject, subject_key,
         campaign_id, automation_id FROM conversations WHERE {} ORDER BY id{}",
        dialect.in_ids("id", 1),
        if dialect == Dialect::Postgres {
            " FOR UPDATE"
        } else {
            ""
        }
    )
}

/// Locks the rows of `ids` (those that exist), in id order.
async fn lock(conn: Conn<'_>, ids: &[i64]) -> Result<Vec<Locked>, StoreError> {
    let dialect = conn.dialect();
    conn.query(&lock_sql(dialect), args![dialect.ids(ids)])
        .await?
        .iter()
        .map(|r| {
            Ok(Locked {
                id: r.named("id")?,
                account_id: r.named("account_id")?,
                contact_id: r.named("contact_id")?,
                message_count: r.named("message_count")?,
                kinds: r.named("kinds")?,
                created_at: r.named("created_at")?,
                last_message_at: r.named("last_message_at")?,
                subject: r.named("subject")?,
                subject_key: r.named("subject_key")?,
                campaign_id: r.named("campaign_id")?,
                automation_id: r.named("automation_id")?,
            })
        })
        .collect()
}

/// Moves every message of conversation `?1` to `?2`.
pub(super) const MOVE_ALL: &str = "UPDATE messages SET conversation_id = ?2 WHERE conversation_id = ?1 RETURNING id";

/// Merges conversation `from` into `into` (an id that was itself merged is followed to where it
/// went): its messages move, its participants join, its id answers with `merged_into` from then
/// on, and `conversation.merged` is written. `account` narrows to one account's conversations
/// (an account's API key). `index`: the search index is kept (`[search] index`).
pub async fn merge(
    conn: Conn<'_>,
    from: i64,
    into: i64,
    account: Option<i64>,
    index: bool,
) -> Result<Result<Merged, Refusal>, StoreError> {
    let into = merged_into(conn, into).await?.unwrap_or(into);
    if from == into {
        return Ok(Err(Refusal::Invalid(format!(
            "conversation {from} cannot be merged into itself"
        ))));
    }
    let locked = lock(conn, &[from, into]).await?;
    let source = locked.iter().find(|c| c.id == from);
    let target = locked.iter().find(|c| c.id == into);
    let Some(source) = source else {
        // Not a conversation now: merged already (say where, to whoever may see it), or none.
        let went = conn
            .query_opt(
                "SELECT merged_into, account_id FROM conversation_merges WHERE conversation_id = ?1",
                args![from],
            )
            .await?;
        return Ok(Err(match went {
            Some(r) if account.is_none_or(|a| r.named::<i64>("account_id").ok() == Some(a)) => {
                Refusal::Conflict(format!(
                    "conversation {from} was merged into {} already",
                    r.named::<i64>("merged_into")?
                ))
            }
            _ => Refusal::NotFound(format!("no conversation {from}")),
        }));
    };
    if account.is_some_and(|a| a != source.account_id) {
        return Ok(Err(Refusal::NotFound(format!("no conversation {from}"))));
    }
    let Some(target) = target.filter(|c| c.account_id == source.account_id) else {
        if merged_into(conn, into).await?.is_some() {
            return Ok(Err(Refusal::Conflict(format!(
                "conversation {into} was merged meanwhile; try again"
            ))));
        }
        return Ok(Err(Refusal::NotFound(format!(
            "no conversation {into} in the account of conversation {from}"
        ))));
    };
    let moved: Vec<i64> = conn
        .query(MOVE_ALL, args![from, into])
        .await?
        .iter()
        .map(|r| r.named("id"))
        .collect::<Result<_, _>>()?;
    conn.execute(
        "UPDATE conversations SET message_count = message_count + ?2, kinds = kinds | ?3,
         last_message_at = CASE WHEN last_message_at > ?4 THEN last_message_at ELSE ?4 END,
         created_at = CASE WHEN created_at < ?5 THEN created_at ELSE ?5 END WHERE id = ?1",
        args![
            into,
            moved.len() as i64,
            source.kinds,
            source.last_message_at,
            source.created_at
        ],
    )
    .await?;
    conn.execute(&participants::unite_sql(conn.dialect()), args![from, into])
        .await?;
    conn.execute(&participants::owner_joins_sql(conn.dialect()), args![from, into])
        .await?;
    // Ids merged into the source before now point past it, so a chain is never followed twice.
    conn.execute(
        "UPDATE conversation_merges SET merged_into = ?2 WHERE merged_into = ?1",
        args![from, into],
    )
    .await?;
    let now = crate::time::now_rfc3339();
    conn.execute(
        "INSERT INTO conversation_merges (conversation_id, account_id, merged_into, merged_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (conversation_id) DO UPDATE SET merged_into = excluded.merged_into, merged_at = excluded.merged_at",
        args![from, source.account_id, into, now],
    )
    .await?;
    moved_in_index(conn, &moved, index).await?;
    conn.execute("DELETE FROM conversations WHERE id = ?1", args![from])
        .await?;
    let merged = Merged {
        from,
        into,
        moved: moved.len() as i64,
    };
    events::insert(
        conn,
        &[NewEvent {
            kind: "conversation.merged",
            account_id: source.account_id,
            data: json!({
                "conversation_id": into,
                "contact_id": target.contact_id,
                "from": from,
                "into": into,
                "moved": merged.moved,
                "from_contact_id": source.contact_id,
                "from_message_count": source.message_count,
            }),
        }],
        &now,
    )
    .await?;
    Ok(Ok(merged))
}

/// The search index follows moved messages (their scope names the conversation and its contact).
async fn moved_in_index(conn: Conn<'_>, moved: &[i64], index: bool) -> Result<(), StoreError> {
    if index {
        convert::reindex(conn, moved).await
    } else {
        for id in moved {
            super::search::remove(conn, *id).await?;
        }
        Ok(())
    }
}

/// The message a split starts at: where it is, and who wrote it.
pub(super) const SPLIT_AT: &str =
    "SELECT account_id, conversation_id, contact_id, received_at FROM messages WHERE id = ?1";
/// A conversation's first message.
pub(super) const FIRST_OF: &str =
    "SELECT id FROM messages WHERE conversation_id = ?1 ORDER BY conversation_id, id LIMIT 1";
/// The split's message and the same sender's later ones in that conversation.
pub(super) const MOVE_LATER: &str = "UPDATE messages SET conversation_id = ?2
    WHERE conversation_id = ?1 AND id >= ?3 AND contact_id = ?4 RETURNING id";

/// A conversation's count, latest time and kinds, read anew from its messages.
pub(super) fn recount_sql() -> String {
    // A bit per kind present: the largest of each kind's bit (no DISTINCT, so no sort).
    let bits: Vec<String> = Kind::ALL
        .iter()
        .map(|k| {
            format!(
                "max(CASE WHEN kind = '{}' THEN {} ELSE 0 END)",
                k.as_str(),
                kind_bit(*k)
            )
        })
        .collect();
    format!(
        "UPDATE conversations SET
         message_count = (SELECT count(*) FROM messages WHERE conversation_id = ?1),
         last_message_at = coalesce((SELECT max(received_at) FROM messages WHERE conversation_id = ?1), last_message_at),
         kinds = (SELECT CAST(coalesce({}, 0) AS BIGINT)
                  + CAST(coalesce(max(CASE WHEN flags LIKE '%\"suspicious\"%' THEN {} ELSE 0 END), 0) AS BIGINT)
                  FROM messages WHERE conversation_id = ?1)
         WHERE id = ?1",
        bits.join(" + "),
        super::conversations::SUSPICIOUS
    )
}

/// Splits message `message_id` and the later ones of its sender in its conversation off into a
/// new conversation (the sender's, with the conversation's subject), and writes
/// `conversation.split`. The first message of a conversation is the conversation: refused.
pub async fn split(
    conn: Conn<'_>,
    message_id: i64,
    account: Option<i64>,
    index: bool,
) -> Result<Result<Split, Refusal>, StoreError> {
    let at = conn.query_opt(SPLIT_AT, args![message_id]).await?;
    let Some(at) = at.filter(|r| account.is_none_or(|a| r.named::<i64>("account_id").ok() == Some(a))) else {
        return Ok(Err(Refusal::NotFound(format!("no message {message_id}"))));
    };
    let (conversation, sender, received_at): (Option<i64>, Option<i64>, String) = (
        at.named("conversation_id")?,
        at.named("contact_id")?,
        at.named("received_at")?,
    );
    let Some(conversation) = conversation else {
        return Ok(Err(Refusal::Invalid(format!(
            "message {message_id} is in no conversation"
        ))));
    };
    let Some(sender) = sender else {
        return Ok(Err(Refusal::Invalid(format!(
            "message {message_id} has no contact to open a conversation for"
        ))));
    };
    let locked = lock(conn, &[conversation]).await?;
    let Some(source) = locked.first() else {
        return Ok(Err(Refusal::Conflict(format!(
            "conversation {conversation} changed meanwhile; try again"
        ))));
    };
    // Read under the lock: a merge may have moved the message meanwhile (PostgreSQL).
    let now_in: Option<i64> = conn
        .value("SELECT conversation_id FROM messages WHERE id = ?1", args![message_id])
        .await?;
    if now_in != Some(conversation) {
        return Ok(Err(Refusal::Conflict(format!(
            "message {message_id} moved meanwhile; try again"
        ))));
    }
    let first: Option<i64> = conn.value(FIRST_OF, args![conversation]).await?;
    if first == Some(message_id) {
        return Ok(Err(Refusal::Invalid(format!(
            "message {message_id} is the first of conversation {conversation}: there is nothing to split it from"
        ))));
    }
    let into: i64 = conn
        .value(
            "INSERT INTO conversations (account_id, contact_id, subject, subject_key, channel, status, message_count,
             campaign_id, automation_id, created_at, last_message_at, kinds)
             VALUES (?1, ?2, ?3, ?4, 'email', 'open', 0, ?5, ?6, ?7, ?7, 0) RETURNING id",
            args![
                source.account_id,
                sender,
                source.subject,
                source.subject_key,
                source.campaign_id,
                source.automation_id,
                received_at
            ],
        )
        .await?
        .ok_or_else(|| StoreError::Failed("an insert returned no id".into()))?;
    let moved: Vec<i64> = conn
        .query(MOVE_LATER, args![conversation, into, message_id, sender])
        .await?
        .iter()
        .map(|r| r.named("id"))
        .collect::<Result<_, _>>()?;
    let recount = recount_sql();
    for id in [conversation, into] {
        conn.execute(&recount, args![id]).await?;
    }
    participants::rebuild(conn, conversation, source.account_id, source.contact_id).await?;
    participants::rebuild(conn, into, source.account_id, sender).await?;
    moved_in_index(conn, &moved, index).await?;
    let split = Split {
        from: conversation,
        into,
        message_id,
        moved: moved.len() as i64,
    };
    events::insert(
        conn,
        &[NewEvent {
            kind: "conversation.split",
            account_id: source.account_id,
            data: json!({
                "conversation_id": into,
                "contact_id": sender,
                "from": conversation,
                "into": into,
                "message_id": message_id,
                "moved": split.moved,
            }),
        }],
        &crate::time::now_rfc3339(),
    )
    .await?;
    Ok(Ok(split))
}
