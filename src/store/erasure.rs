//! Erasing a contact (GDPR Art. 17): the person, every message that is theirs, what those messages
//! left behind, and a log that proves the erasure without keeping what was erased.
//!
//! An erasure is durable from its first transaction ([`begin`]): the contact's key is taken away at
//! once (mail arriving from the address from then on files a new contact, never half of each) and
//! an `erasures` row says what is left to do. The work then goes a batch at a time ([`step`], each
//! its own short transaction, so the writer is never held long); a process killed between two
//! batches leaves the row `running`, and the next [`run`] (the CLI's, or the server's at start and
//! hourly) finishes it. The last batch deletes the contact, writes `contact.erased` and marks the
//! row done, with the address gone from it.
//!
//! What goes: the messages whose contact it is (its own mail, and forwards it originally wrote),
//! any other message filed in its conversations, its quarantined mail to that account, their
//! search entries and raw bytes (unless another account's message shares them), its
//! conversations, its outbound messages (`sent_messages`), and the data of every event about it
//! with the webhook deliveries of those events. The events keep their id, type and time.

use super::accounts::{self, Counts};
use super::error::StoreError;
use super::events::{self, About, NewEvent};
use super::scrub::{BREATHE, Scrub};
use super::sql::{Conn, args};
use super::value::Row;
use super::{Db, contacts, messages, settings};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

/// Rows deleted or redacted in one transaction: small enough that a batch holds the writer for
/// a few milliseconds.
const BATCH: i64 = 100;

/// What an erasure removed: the answer of `contacts erase` and `DELETE
/// /v1/accounts/{id}/contacts/{email}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub contact_id: i64,
    /// Filed messages deleted (its own, forwards it wrote, others in its conversations).
    pub messages: i64,
    pub conversations: i64,
    /// Quarantined messages from its address to the account.
    pub quarantined: i64,
}

/// A line of the erasure log: when, where, who asked and what went, with the address only as a
/// keyed hash ([`address_hash`]).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub id: i64,
    pub account_id: i64,
    pub contact_id: i64,
    /// HMAC-SHA256 of the address (lowercased) under the server's erasure key, hex.
    pub address_hash: String,
    /// `cli`, or `api:<the API key's name>`.
    pub requested_by: String,
    /// `running` or `done`.
    pub status: String,
    pub messages: i64,
    pub conversations: i64,
    pub quarantined: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
}

fn erasure_row(r: &Row) -> Result<Erasure, StoreError> {
    Ok(Erasure {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        contact_id: r.named("contact_id")?,
        address_hash: r.named("address_hash")?,
        requested_by: r.named("requested_by")?,
        status: r.named("status")?,
        messages: r.named("messages")?,
        conversations: r.named("conversations")?,
        quarantined: r.named("quarantined")?,
        started_at: r.named("started_at")?,
        finished_at: r.named("finished_at")?,
    })
}

const COLUMNS: &str = "id, account_id, contact_id, address_hash, requested_by, status, messages, conversations,
     quarantined, started_at, finished_at";

/// The keyed hash the log keeps of an address: the same address gives the same hash on this
/// database, and a hash cannot be checked against a guess without the key.
pub async fn address_hash(conn: Conn<'_>, email: &str) -> Result<String, StoreError> {
    let key = settings::erasure_key(conn).await?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(contacts::key_of(email).as_bytes());
    Ok(mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect())
}

/// Starts erasing the contact `email` of `account_id`, in one transaction: the log's row, and the
/// contact's key and address taken away. None when there is no such contact.
pub async fn begin(
    conn: Conn<'_>,
    account_id: i64,
    email: &str,
    requested_by: &str,
) -> Result<Option<i64>, StoreError> {
    let hash = address_hash(conn, email).await?;
    conn.begin().await?;
    let begun = async {
        let Some(contact) = contacts::by_email(conn, account_id, email).await? else {
            return Ok(None);
        };
        let id: i64 = conn
            .value(
                "INSERT INTO erasures (account_id, contact_id, address_hash, address, requested_by, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                args![
                    account_id,
                    contact.id,
                    hash,
                    contact.email,
                    requested_by,
                    crate::time::now_rfc3339()
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Failed("the erasure was not logged".into()))?;
        // A key no address has: the next mail from the address files a new contact.
        conn.execute(
            "UPDATE contacts SET email_key = ?2, email = '', name = NULL WHERE id = ?1",
            args![contact.id, format!("erased:{}", contact.id)],
        )
        .await?;
        Ok(Some(id))
    }
    .await;
    match begun {
        Ok(Some(id)) => {
            conn.batch("COMMIT").await?;
            Ok(Some(id))
        }
        other => {
            let _ = conn.batch("ROLLBACK").await;
            other
        }
    }
}

/// The contact's messages, a batch: `?1` the contact, `?2` how many.
pub(super) const OF_CONTACT: &str = "SELECT id, kind FROM messages INDEXED BY messages_by_contact WHERE contact_id = ?1
     ORDER BY contact_id, id LIMIT ?2";
/// Messages filed in the contact's conversations (by anyone), a batch.
pub(super) const IN_CONVERSATIONS: &str =
    "SELECT m.id, m.kind FROM conversations c INDEXED BY conversations_by_contact_activity
     JOIN messages m INDEXED BY messages_by_conversation ON m.conversation_id = c.id WHERE c.contact_id = ?1 LIMIT ?2";
/// Quarantined mail from the address to the account, a batch: `?1` the account, `?3` the address.
pub(super) const QUARANTINED_FROM: &str = "SELECT id, kind FROM messages INDEXED BY messages_quarantined_by_sender
     WHERE account_id = ?1 AND lower(from_email) = lower(?3) AND kind = 'spam' LIMIT ?2";
/// The contact's conversations, a batch.
pub(super) const CONVERSATIONS_OF: &str =
    "SELECT id FROM conversations INDEXED BY conversations_by_contact_activity WHERE contact_id = ?1 LIMIT ?2";
/// Outbound messages the platform registered for the address.
pub(super) const SENT_TO: &str = "DELETE FROM sent_messages INDEXED BY sent_by_contact
     WHERE account_id = ?1 AND lower(contact_email) = lower(?2)";

/// The address as a participant of other conversations (where it was only copied; rows with its
/// contact go with the contact).
pub(super) const PARTICIPANT_AS: &str = "DELETE FROM conversation_participants INDEXED BY participants_by_address
     WHERE account_id = ?1 AND email_key = (SELECT email_key FROM contacts WHERE id = ?2)";

/// An erasure still running, as a batch needs it.
struct Running {
    id: i64,
    account_id: i64,
    contact_id: i64,
    address: String,
}

/// One batch of erasure `id`, in its own transaction: how many of the contact's indexed messages
/// it deleted, or None when the erasure is done (or was already).
pub async fn step(conn: Conn<'_>, id: i64) -> Result<Option<u64>, StoreError> {
    conn.begin().await?;
    let stepped = step_in(conn, id).await;
    match stepped {
        Ok(done) => {
            conn.batch("COMMIT").await?;
            Ok(done)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn step_in(conn: Conn<'_>, id: i64) -> Result<Option<u64>, StoreError> {
    let Some(row) = conn
        .query_opt(
            "SELECT account_id, contact_id, address FROM erasures WHERE id = ?1 AND status = 'running'",
            args![id],
        )
        .await?
    else {
        return Ok(None);
    };
    let e = Running {
        id,
        account_id: row.named("account_id")?,
        contact_id: row.named("contact_id")?,
        address: row.named::<Option<String>>("address")?.unwrap_or_default(),
    };
    // Its messages, then messages others filed in its conversations, then its quarantined mail.
    let sources = [
        (OF_CONTACT, args![e.contact_id, BATCH]),
        (IN_CONVERSATIONS, args![e.contact_id, BATCH]),
        (QUARANTINED_FROM, args![e.account_id, BATCH, e.address]),
    ];
    for (sql, params) in sources {
        let found = conn.query(sql, params).await?;
        if found.is_empty() {
            continue;
        }
        let mut gone = Counts::default();
        let mut ids = Vec::with_capacity(found.len());
        for r in &found {
            let (message, kind): (i64, String) = (r.named("id")?, r.named("kind")?);
            if messages::delete(conn, message).await? {
                ids.push(message);
                if kind == "spam" {
                    gone.quarantined += 1;
                } else {
                    gone.messages += 1;
                }
            }
        }
        while events::redact(conn, About::Message, &ids, BATCH).await? as i64 == BATCH {}
        accounts::count(
            conn,
            e.account_id,
            accounts::DELETIONS,
            Counts {
                messages: -gone.messages,
                quarantined: -gone.quarantined,
            },
        )
        .await?;
        conn.execute(
            "UPDATE erasures SET messages = messages + ?2, quarantined = quarantined + ?3 WHERE id = ?1",
            args![e.id, gone.messages, gone.quarantined],
        )
        .await?;
        return Ok(Some(gone.messages as u64));
    }
    // Its conversations, empty now, and the events about them.
    let conversations = conn
        .query(CONVERSATIONS_OF, args![e.contact_id, BATCH])
        .await?
        .iter()
        .map(|r| r.named::<i64>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    if !conversations.is_empty() {
        while events::redact(conn, About::Conversation, &conversations, BATCH).await? as i64 == BATCH {}
        let dialect = conn.dialect();
        let deleted = conn
            .execute(
                &format!("DELETE FROM conversations WHERE {}", dialect.in_ids("id", 1)),
                args![dialect.ids(&conversations)],
            )
            .await?;
        conn.execute(
            "UPDATE erasures SET conversations = conversations + ?2 WHERE id = ?1",
            args![e.id, deleted as i64],
        )
        .await?;
        return Ok(Some(0));
    }
    // The other events about the contact, a batch at a time.
    if events::redact(conn, About::Contact, &[e.contact_id], BATCH).await? > 0 {
        return Ok(Some(0));
    }
    finish(conn, &e).await?;
    Ok(None)
}

/// The last batch: outbound messages to the address, the contact, `contact.erased`, and the log's
/// row done without the address.
async fn finish(conn: Conn<'_>, e: &Running) -> Result<(), StoreError> {
    conn.execute(SENT_TO, args![e.account_id, e.address]).await?;
    conn.execute(PARTICIPANT_AS, args![e.account_id, e.contact_id]).await?;
    conn.execute("DELETE FROM contacts WHERE id = ?1", args![e.contact_id])
        .await?;
    let row = conn
        .query_opt(
            "UPDATE erasures SET status = 'done', address = NULL, finished_at = ?2 WHERE id = ?1
             RETURNING messages, conversations, quarantined",
            args![e.id, crate::time::now_rfc3339()],
        )
        .await?
        .ok_or_else(|| StoreError::Failed("the erasure's row vanished".into()))?;
    let erased = json!({
        "contact_id": e.contact_id,
        "erasure_id": e.id,
        "messages": row.named::<i64>("messages")?,
        "conversations": row.named::<i64>("conversations")?,
        "quarantined": row.named::<i64>("quarantined")?,
    });
    let event = NewEvent {
        kind: "contact.erased",
        account_id: e.account_id,
        data: erased,
    };
    events::insert(conn, &[event], &crate::time::now_rfc3339()).await
}

/// One erasure as the log has it.
pub async fn get(conn: Conn<'_>, id: i64) -> Result<Option<Erasure>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM erasures WHERE id = ?1"), args![id])
        .await?
        .as_ref()
        .map(erasure_row)
        .transpose()
}

/// The erasure log, newest first; one account's when given.
pub async fn list(conn: Conn<'_>, account_id: Option<i64>) -> Result<Vec<Erasure>, StoreError> {
    let rows = match account_id {
        Some(account) => {
            conn.query(
                &format!(
                    "SELECT {COLUMNS} FROM erasures INDEXED BY erasures_by_account WHERE account_id = ?1
                     ORDER BY account_id DESC, id DESC"
                ),
                args![account],
            )
            .await?
        }
        None => {
            conn.query(&format!("SELECT {COLUMNS} FROM erasures ORDER BY id DESC"), args![])
                .await?
        }
    };
    rows.iter().map(erasure_row).collect()
}

/// The erasures left running (a process stopped during them).
pub async fn running(conn: Conn<'_>) -> Result<Vec<i64>, StoreError> {
    conn.query(
        "SELECT id FROM erasures INDEXED BY erasures_running WHERE status = 'running' ORDER BY id",
        args![],
    )
    .await?
    .iter()
    .map(|r| Ok(r.named("id")?))
    .collect()
}

/// Runs erasure `id` to its end, a batch at a time, and leaves no trace of it in SQLite's files
/// ([`Scrub`]); what it erased.
pub async fn run(db: &Db, id: i64) -> Result<Erased, StoreError> {
    let mut scrub = Scrub::begin(db).await?;
    while let Some(messages) = db.run(move |c| Box::pin(step(c, id))).await? {
        scrub.deleted(db, messages).await?;
        tokio::time::sleep(BREATHE).await;
    }
    scrub.finish(db).await?;
    let done = db
        .run(move |c| Box::pin(get(c, id)))
        .await?
        .ok_or_else(|| StoreError::Failed("the erasure's row vanished".into()))?;
    Ok(Erased {
        contact_id: done.contact_id,
        messages: done.messages,
        conversations: done.conversations,
        quarantined: done.quarantined,
    })
}

/// Finishes every erasure left running; how many.
pub async fn resume(db: &Db) -> Result<usize, StoreError> {
    let ids = db.run(|c| Box::pin(running(c))).await?;
    for &id in &ids {
        run(db, id).await?;
    }
    Ok(ids.len())
}
