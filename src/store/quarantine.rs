//! Moves into and out of the quarantine that are not deliveries: a person marking a filed message
//! as spam (and undoing the contact only that message made), and the purge of quarantined mail
//! past `[spam] quarantine_days`. A release goes the other way through the delivery path
//! (`commit::commit_one` with `Delivery::release`), so it files exactly as new mail does.

use super::accounts::{self, Counts};
use super::error::StoreError;
use super::events::{self, NewEvent};
use super::sql::{Conn, args};
use super::{messages, search};
use serde_json::json;

/// What marking a message as spam did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkedSpam {
    /// Moved to the quarantine; the contact that only this message had made was deleted.
    Moved {
        contact_deleted: Option<i64>,
    },
    /// It was in the quarantine already.
    AlreadySpam,
    NotFound,
}

/// Moves a filed message to its account's quarantine (kind `spam`, out of its conversation, no
/// contact), in one transaction with its events: `conversation.deleted` when the conversation held
/// only this message, `message.quarantined`, and `contact.deleted` when nothing else of that
/// contact remains (no other message, no conversation).
pub async fn mark_spam(conn: Conn<'_>, message_id: i64) -> Result<MarkedSpam, StoreError> {
    conn.begin().await?;
    let outcome = mark_spam_in(conn, message_id).await;
    let finish = match &outcome {
        Ok(MarkedSpam::Moved { .. }) => conn.batch("COMMIT").await,
        _ => conn.batch("ROLLBACK").await,
    };
    match (outcome, finish) {
        (Ok(outcome), Ok(())) => Ok(outcome),
        (Err(e), _) | (Ok(_), Err(e)) => {
            let _ = conn.batch("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn mark_spam_in(conn: Conn<'_>, message_id: i64) -> Result<MarkedSpam, StoreError> {
    let Some(row) = conn
        .query_opt(
            "SELECT account_id, contact_id, conversation_id, kind, subject, from_email, queue_id FROM messages WHERE id = ?1",
            args![message_id],
        )
        .await?
    else {
        return Ok(MarkedSpam::NotFound);
    };
    let (account_id, contact, conversation, kind): (i64, Option<i64>, Option<i64>, String) = (
        row.named("account_id")?,
        row.named("contact_id")?,
        row.named("conversation_id")?,
        row.named("kind")?,
    );
    if kind == "spam" {
        return Ok(MarkedSpam::AlreadySpam);
    }
    conn.execute(
        "UPDATE messages SET kind = 'spam', contact_id = NULL, conversation_id = NULL WHERE id = ?1",
        args![message_id],
    )
    .await?;
    conn.execute("DELETE FROM notices WHERE message_id = ?1", args![message_id])
        .await?;
    // Quarantined mail is not searched.
    search::remove(conn, message_id).await?;
    accounts::count(
        conn,
        account_id,
        accounts::DELETIONS,
        Counts {
            messages: -1,
            quarantined: 1,
        },
    )
    .await?;
    let mut events = Vec::new();
    if let Some(conversation) = conversation {
        conn.execute(
            "UPDATE conversations SET message_count = message_count - 1 WHERE id = ?1",
            args![conversation],
        )
        .await?;
        // A conversation that held only this message goes with it.
        let emptied: Option<i64> = conn
            .value(
                "DELETE FROM conversations WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM messages WHERE messages.conversation_id = ?1) RETURNING id",
                args![conversation],
            )
            .await?;
        if emptied.is_some() {
            events.push(NewEvent {
                kind: "conversation.deleted",
                account_id,
                data: json!({"conversation_id": conversation, "contact_id": contact, "reason": "spam"}),
            });
        }
    }
    events.push(NewEvent {
        kind: "message.quarantined",
        account_id,
        data: json!({
            "message_id": message_id,
            "conversation_id": null,
            "contact_id": null,
            "contact_created": false,
            "automation": false,
            "kind": "spam",
            "queue_id": row.named::<String>("queue_id")?,
            "subject": row.named::<Option<String>>("subject")?,
            "from_email": row.named::<Option<String>>("from_email")?,
            "marked_spam": true,
        }),
    });
    let mut contact_deleted = None;
    if let Some(contact) = contact {
        let others: Option<i64> = conn
            .value(
                "SELECT 1 FROM messages INDEXED BY messages_by_contact WHERE contact_id = ?1 LIMIT 1",
                args![contact],
            )
            .await?;
        if others.is_none() {
            let email: Option<String> = conn
                .value(
                    "DELETE FROM contacts WHERE id = ?1
                     AND NOT EXISTS (SELECT 1 FROM conversations WHERE conversations.contact_id = ?1) RETURNING email",
                    args![contact],
                )
                .await?;
            if let Some(email) = email {
                contact_deleted = Some(contact);
                events.push(NewEvent {
                    kind: "contact.deleted",
                    account_id,
                    data: json!({"contact_id": contact, "email": email, "reason": "spam"}),
                });
            }
        }
    }
    events::insert(conn, &events, &crate::time::now_rfc3339()).await?;
    Ok(MarkedSpam::Moved { contact_deleted })
}

/// Quarantined messages past their time, oldest first: `?1` the cutoff, `?2` how many.
pub(super) const PURGE: &str = "SELECT id, account_id FROM messages INDEXED BY messages_quarantined
     WHERE kind = 'spam' AND received_at < ?1 ORDER BY received_at LIMIT ?2";

/// Deletes quarantined messages received before `cutoff` (RFC 3339), at most `limit` of them in one
/// transaction; how many went.
pub async fn purge(conn: Conn<'_>, cutoff: &str, limit: i64) -> Result<usize, StoreError> {
    let found = conn.query(PURGE, args![cutoff, limit]).await?;
    let ids: Vec<(i64, i64)> = found
        .iter()
        .map(|r| Ok((r.named("id")?, r.named("account_id")?)))
        .collect::<Result<_, StoreError>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    conn.begin().await?;
    let deleted = async {
        for (id, account) in &ids {
            if messages::delete(conn, *id).await? {
                accounts::count(
                    conn,
                    *account,
                    accounts::DELETIONS,
                    Counts {
                        messages: 0,
                        quarantined: -1,
                    },
                )
                .await?;
            }
        }
        conn.batch("COMMIT").await
    }
    .await;
    if let Err(e) = deleted {
        let _ = conn.batch("ROLLBACK").await;
        return Err(e);
    }
    Ok(ids.len())
}

/// Deletes a quarantined message for good, with its bytes unless another row still uses them.
/// False when `id` is no quarantined message (a filed one is never deleted here).
pub async fn delete(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    conn.begin().await?;
    let deleted = async {
        let Some(account) = conn
            .value::<i64>(
                "SELECT account_id FROM messages WHERE id = ?1 AND kind = 'spam'",
                args![id],
            )
            .await?
        else {
            return Ok(false);
        };
        messages::delete(conn, id).await?;
        accounts::count(
            conn,
            account,
            accounts::DELETIONS,
            Counts {
                messages: 0,
                quarantined: -1,
            },
        )
        .await?;
        Ok(true)
    }
    .await;
    match deleted {
        Ok(true) => {
            conn.batch("COMMIT").await?;
            Ok(true)
        }
        other => {
            let _ = conn.batch("ROLLBACK").await;
            other
        }
    }
}

/// Where a released message went: the id of the message filed from the quarantined `id`.
pub async fn released_as(conn: Conn<'_>, id: i64) -> Result<Option<i64>, StoreError> {
    conn.value("SELECT id FROM messages WHERE released_from = ?1", args![id])
        .await
}
