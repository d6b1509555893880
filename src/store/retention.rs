//! Retention (GDPR Art. 5(1)(e)): a conversation whose last message is older than its account's
//! retention goes, with its messages, their raw bytes (unless another account's message shares
//! them) and search entries, and the data of its events (`{"redacted": true}`, ids kept); a
//! `conversation.deleted` event (reason `retention`) tells the inbox application.
//!
//! An account's retention is its own (`accounts.retention_days`) or the server's `[retention]
//! days`; 0 keeps forever. The purge goes a batch of messages per transaction, so the writer is
//! never held long; mail arriving meanwhile in a conversation being purged keeps it (only messages
//! received before the cutoff go, and only a conversation still past it and empty is deleted).

use super::accounts::{self, Counts};
use super::error::StoreError;
use super::events::{self, About, NewEvent};
use super::sql::{Conn, args};
use super::{Db, messages};
use serde_json::json;

/// Messages deleted in one transaction.
const BATCH: i64 = 100;

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

/// The oldest conversations of `account_id` whose last message is before `cutoff` (RFC 3339).
pub(super) const PAST: &str = "SELECT id, contact_id FROM conversations INDEXED BY conversations_by_activity
     WHERE account_id = ?1 AND last_message_at < ?2 ORDER BY account_id, last_message_at LIMIT ?3";

/// A batch of a conversation's messages received before `?2`.
pub(super) const BEFORE: &str = "SELECT id FROM messages INDEXED BY messages_by_conversation
     WHERE conversation_id = ?1 AND received_at < ?2 ORDER BY conversation_id, id LIMIT ?3";

/// What one batch of a purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing of the account is past the cutoff.
    Done,
    /// A batch of a conversation's messages went.
    Messages,
    /// A conversation went (empty, and still past the cutoff).
    Conversation,
}

/// One batch of `account_id`'s purge: a batch of messages of its oldest conversation past
/// `cutoff`, or that conversation once empty.
pub async fn step(conn: Conn<'_>, account_id: i64, cutoff: &str) -> Result<Step, StoreError> {
    let Some(row) = conn.query_opt(PAST, args![account_id, cutoff, 1]).await? else {
        return Ok(Step::Done);
    };
    let (conversation, contact): (i64, Option<i64>) = (row.named("id")?, row.named("contact_id")?);
    conn.begin().await?;
    let stepped = async {
        let found = conn.query(BEFORE, args![conversation, cutoff, BATCH]).await?;
        if !found.is_empty() {
            let mut ids = Vec::with_capacity(found.len());
            for r in &found {
                let id: i64 = r.named("id")?;
                if messages::delete(conn, id).await? {
                    ids.push(id);
                }
            }
            while events::redact(conn, About::Message, &ids, BATCH).await? as i64 == BATCH {}
            accounts::count(
                conn,
                account_id,
                0,
                Counts {
                    messages: -(ids.len() as i64),
                    quarantined: 0,
                },
            )
            .await?;
            conn.execute(
                "UPDATE conversations SET message_count = message_count - ?2 WHERE id = ?1",
                args![conversation, ids.len() as i64],
            )
            .await?;
            return Ok(Step::Messages);
        }
        while events::redact(conn, About::Conversation, &[conversation], BATCH).await? as i64 == BATCH {}
        let deleted: Option<i64> = conn
            .value(
                "DELETE FROM conversations WHERE id = ?1 AND last_message_at < ?2
                 AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.conversation_id = ?1) RETURNING id",
                args![conversation, cutoff],
            )
            .await?;
        if deleted.is_some() {
            let event = NewEvent {
                kind: "conversation.deleted",
                account_id,
                data: json!({"conversation_id": conversation, "contact_id": contact, "reason": "retention"}),
            };
            events::insert(conn, &[event], &crate::time::now_rfc3339()).await?;
            return Ok(Step::Conversation);
        }
        // Mail came in meanwhile: the conversation is no longer past the cutoff.
        Ok(Step::Messages)
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

/// Pause between two batches: a session waiting for the writer takes it in between.
const BREATHE: std::time::Duration = std::time::Duration::from_millis(2);

/// Purges every account past its retention (`default_days` for those without their own); how many
/// conversations went.
pub async fn purge(db: &Db, default_days: u32, now: i64) -> Result<u64, StoreError> {
    let accounts = db
        .run(move |c| Box::pin(accounts_with_retention(c, default_days)))
        .await?;
    let mut conversations = 0;
    for (account, days) in accounts {
        let cutoff = crate::time::rfc3339(now - days * 86_400);
        loop {
            let cutoff = cutoff.clone();
            match db
                .run(move |c| Box::pin(async move { step(c, account, &cutoff).await }))
                .await?
            {
                Step::Done => break,
                Step::Conversation => conversations += 1,
                Step::Messages => {}
            }
            tokio::time::sleep(BREATHE).await;
        }
    }
    Ok(conversations)
}
