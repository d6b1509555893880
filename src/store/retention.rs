//! Retention (GDPR Art. 5(1)(e)): a conversation whose last message is older than its account's
//! retention goes, with its messages, their raw bytes (unless another account's message shares
//! them) and search entries, and the data of its events (`{"redacted": true}`, ids kept); a
//! `conversation.deleted` event (reason `retention`) tells the inbox application.
//!
//! An account's retention is its own (`accounts.retention_days`) or the server's `[retention]
//! days`; 0 keeps forever. The purge walks an account's conversations oldest first, at most 100
//! messages of them per transaction, so the writer is never held long; mail arriving meanwhile in
//! a conversation being purged keeps it (only messages received before the cutoff go, only a
//! conversation still past it and empty is deleted, and the walk goes on after it).

use super::accounts::{self, Counts};
use super::error::StoreError;
use super::events::{self, About, NewEvent};
use super::scrub::{BREATHE, Scrub};
use super::sql::{Conn, args};
use super::{Db, messages};
use serde_json::json;

/// Messages deleted in one transaction.
const BATCH: i64 = 50;

/// The accounts whose retention is not forever, with their retention in days, given the server's
/// `default_days`.
pub async fn accounts_with_retention(conn: Conn<'_>, default_days: u32) -> Result<Vec<(i64, i64)>, StoreError> {
    conn.query(
        "SELECT id, coalesce(retention_days, ?1) AS days FROM accounts WHERE coalesce(retention_days, ?1) > 0",
        args![i64::from(default_days)],
    )
    .await?
    .iter()
    .map(|r| Ok((r.named("id")?, r.named("days")?)))
    .collect()
}

/// The oldest conversations of `account_id` whose last message is before `?2` (RFC 3339), after
/// the cursor (`?4` time, `?5` id) in that order: `?3` of them.
pub(super) const PAST: &str =
    "SELECT id, contact_id, last_message_at FROM conversations INDEXED BY conversations_by_activity
     WHERE account_id = ?1 AND last_message_at < ?2 AND (last_message_at > ?4 OR (last_message_at = ?4 AND id > ?5))
     ORDER BY account_id, last_message_at, id LIMIT ?3";

/// A batch of a conversation's messages received before `?2`.
pub(super) const BEFORE: &str = "SELECT id FROM messages INDEXED BY messages_by_conversation
     WHERE conversation_id = ?1 AND received_at < ?2 ORDER BY conversation_id, id LIMIT ?3";

/// Conversations looked at in one transaction.
const CONVERSATIONS: i64 = 25;

/// Where a purge stands in an account's conversations, oldest first: the last one it finished
/// with (deleted, or kept because mail came in meanwhile).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub time: String,
    pub id: i64,
}

/// What one transaction of a purge did: conversations deleted, and where the next one starts
/// (None: nothing of the account is past the cutoff after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub conversations: u64,
    pub messages: u64,
    pub next: Option<Cursor>,
}

/// One transaction of `account_id`'s purge from `after`: up to [`BATCH`] messages received before
/// `cutoff` of its oldest conversations past it, and each of those conversations left empty (and
/// still past the cutoff) with its events' data and a `conversation.deleted`.
pub async fn step(conn: Conn<'_>, account_id: i64, cutoff: &str, after: &Cursor) -> Result<Step, StoreError> {
    let found = conn
        .query(PAST, args![account_id, cutoff, CONVERSATIONS, after.time, after.id])
        .await?;
    if found.is_empty() {
        return Ok(Step {
            conversations: 0,
            messages: 0,
            next: None,
        });
    }
    conn.begin().await?;
    let stepped = async {
        let mut budget = BATCH;
        let mut step = Step {
            conversations: 0,
            messages: 0,
            next: Some(after.clone()),
        };
        let mut gone = 0i64;
        // Written last, as the commit writes its own (PostgreSQL's event lock is taken last by
        // everyone, so no two transactions wait for each other over it).
        let mut deleted_events = Vec::new();
        for row in &found {
            let (conversation, contact): (i64, Option<i64>) = (row.named("id")?, row.named("contact_id")?);
            let asked = budget;
            let messages = conn.query(BEFORE, args![conversation, cutoff, asked]).await?;
            let mut ids = Vec::with_capacity(messages.len());
            for r in &messages {
                let id: i64 = r.named("id")?;
                if messages::delete(conn, id).await? {
                    ids.push(id);
                }
            }
            while events::redact(conn, About::Message, &ids, BATCH).await? as i64 == BATCH {}
            gone += ids.len() as i64;
            budget -= messages.len() as i64;
            if !ids.is_empty() {
                conn.execute(
                    "UPDATE conversations SET message_count = message_count - ?2 WHERE id = ?1",
                    args![conversation, ids.len() as i64],
                )
                .await?;
            }
            if messages.len() as i64 == asked {
                // Perhaps more of it is past the cutoff: the next transaction takes it again.
                break;
            }
            let deleted: Option<i64> = conn
                .value(
                    "DELETE FROM conversations WHERE id = ?1 AND last_message_at < ?2
                     AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.conversation_id = ?1) RETURNING id",
                    args![conversation, cutoff],
                )
                .await?;
            if deleted.is_some() {
                step.conversations += 1;
                while events::redact(conn, About::Conversation, &[conversation], BATCH).await? as i64 == BATCH {}
                deleted_events.push(NewEvent {
                    kind: "conversation.deleted",
                    account_id,
                    data: json!({"conversation_id": conversation, "contact_id": contact, "reason": "retention"}),
                });
            }
            // Deleted, or kept (mail came in meanwhile): either way the purge goes on after it.
            step.next = Some(Cursor {
                time: row.named("last_message_at")?,
                id: conversation,
            });
            if budget == 0 {
                break;
            }
        }
        accounts::count(
            conn,
            account_id,
            accounts::DELETIONS,
            Counts {
                messages: -gone,
                quarantined: 0,
            },
        )
        .await?;
        events::insert(conn, &deleted_events, &crate::time::now_rfc3339()).await?;
        step.messages = gone as u64;
        Ok(step)
    }
    .await;
    match stepped {
        Ok(step) => {
            conn.batch("COMMIT").await?;
            Ok(step)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Purges every account past its retention (`default_days` for those without their own), and
/// leaves no trace of what went in SQLite's files ([`Scrub`]); how many conversations went.
pub async fn purge(db: &Db, default_days: u32, now: i64) -> Result<u64, StoreError> {
    let accounts = db
        .run(move |c| Box::pin(accounts_with_retention(c, default_days)))
        .await?;
    if accounts.is_empty() {
        return Ok(0);
    }
    let mut scrub = Scrub::begin(db).await?;
    let (mut conversations, mut messages) = (0, 0);
    for (account, days) in accounts {
        let cutoff = crate::time::rfc3339(now - days * 86_400);
        let mut after = Some(Cursor::default());
        while let Some(from) = after {
            let cutoff = cutoff.clone();
            let step = db
                .run(move |c| Box::pin(async move { step(c, account, &cutoff, &from).await }))
                .await?;
            conversations += step.conversations;
            messages += step.messages;
            scrub.deleted(db, step.messages).await?;
            after = step.next;
            tokio::time::sleep(BREATHE).await;
        }
    }
    if messages > 0 || conversations > 0 {
        scrub.finish(db).await?;
    }
    Ok(conversations)
}
