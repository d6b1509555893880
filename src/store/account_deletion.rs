//! Deleting an account (a customer leaving): everything of it goes, a batch per transaction so the
//! writer is never held long: its messages (raw bytes not shared with another account, search
//! entries, notices), conversations, contacts, the data of its events (ids kept, `{"redacted":
//! true}`) with their webhook deliveries, then in one last transaction its members, sender rules,
//! outbound messages, counts, erasure log, API keys scoped to it and their web sessions, webhook
//! endpoints scoped to it, and the account itself. Its addresses, current and retired, move to
//! `deleted_addresses`, which holds no account id and keeps them from being issued again; reply
//! addresses minted for it name an account that no longer exists and are refused. `account.deleted`
//! is the account's last event.
//!
//! Only a disabled account is deleted (no mail is being filed for it). A deletion stopped half way
//! (a killed process) leaves a disabled account with less in it; deleting it again finishes.

use super::error::StoreError;
use super::events::{self, NewEvent};
use super::scrub::Scrub;
use super::sql::{Conn, args};
use super::{Db, messages};
use serde_json::json;

const BATCH: i64 = 100;

/// A batch of the account's messages, conversations, contacts: `?1` the account, `?2` how many.
pub(super) const BATCHES: [&str; 3] = [
    "SELECT id FROM messages INDEXED BY messages_by_account WHERE account_id = ?1 ORDER BY account_id, id LIMIT ?2",
    "DELETE FROM conversations WHERE id IN (SELECT id FROM conversations INDEXED BY conversations_by_activity
     WHERE account_id = ?1 LIMIT ?2)",
    "DELETE FROM contacts WHERE id IN (SELECT id FROM contacts INDEXED BY contacts_by_account
     WHERE account_id = ?1 LIMIT ?2)",
];

/// The rest of the account, its last transaction: `?1` the account.
pub(super) const REST: [&str; 12] = [
    "DELETE FROM retired_addresses INDEXED BY retired_by_account WHERE account_id = ?1",
    "DELETE FROM notices INDEXED BY notices_by_account WHERE account_id = ?1",
    "DELETE FROM members WHERE account_id = ?1",
    "DELETE FROM sender_rules WHERE account_id = ?1",
    "DELETE FROM sent_messages WHERE account_id = ?1",
    "DELETE FROM account_counts WHERE account_id = ?1",
    "DELETE FROM erasures INDEXED BY erasures_by_account WHERE account_id = ?1",
    "DELETE FROM web_sessions INDEXED BY web_sessions_by_key WHERE key_id IN
     (SELECT id FROM api_keys INDEXED BY api_keys_by_account WHERE account_id = ?1)",
    "DELETE FROM api_keys INDEXED BY api_keys_by_account WHERE account_id = ?1",
    "DELETE FROM webhook_deliveries INDEXED BY webhook_deliveries_by_endpoint WHERE endpoint_id IN
     (SELECT id FROM webhook_endpoints INDEXED BY webhook_endpoints_by_account WHERE account_id = ?1)",
    "DELETE FROM webhook_endpoints INDEXED BY webhook_endpoints_by_account WHERE account_id = ?1",
    "DELETE FROM accounts WHERE id = ?1",
];

/// Why an account was not deleted.
#[derive(Debug)]
pub enum Refused {
    NotFound,
    /// Still enabled: disable it first.
    Enabled,
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Refused {
        Refused::Store(e)
    }
}

/// Deletes account `id` to its end; the events of its log redacted.
pub async fn delete(db: &Db, id: i64) -> Result<(), Refused> {
    let enabled = db
        .run(move |c| {
            Box::pin(async move {
                c.value::<bool>("SELECT enabled FROM accounts WHERE id = ?1", args![id])
                    .await
            })
        })
        .await?;
    match enabled {
        None => return Err(Refused::NotFound),
        Some(true) => return Err(Refused::Enabled),
        Some(false) => {}
    }
    // Messages, then conversations, then contacts: each batch of rows by the account's index.
    let mut scrub = Scrub::begin(db).await?;
    for (n, sql) in BATCHES.into_iter().enumerate() {
        loop {
            let went = db
                .run(move |c| Box::pin(async move { batch(c, id, sql, n == 0).await }))
                .await?;
            if n == 0 {
                scrub.deleted(db, went).await?;
            }
            if went < BATCH as u64 {
                break;
            }
        }
    }
    let mut after = 0;
    while let Some(last) = db
        .run(move |c| {
            Box::pin(async move {
                c.begin().await?;
                match events::redact_account(c, id, after, BATCH * 10).await {
                    Ok(last) => {
                        c.batch("COMMIT").await?;
                        Ok(last)
                    }
                    Err(e) => {
                        let _ = c.batch("ROLLBACK").await;
                        Err(e)
                    }
                }
            })
        })
        .await?
    {
        after = last;
    }
    db.transaction(move |c| Box::pin(finish(c, id))).await?;
    scrub.finish(db).await?;
    Ok(())
}

/// One batch in its own transaction: messages deleted one by one (their bytes, search entries and
/// notices with them), or rows by `sql`; how many went.
async fn batch(conn: Conn<'_>, account: i64, sql: &str, messages: bool) -> Result<u64, StoreError> {
    conn.begin().await?;
    let went = async {
        if !messages {
            return conn.execute(sql, args![account, BATCH]).await;
        }
        let ids = conn.query(sql, args![account, BATCH]).await?;
        for r in &ids {
            messages::delete(conn, r.named("id")?).await?;
        }
        Ok(ids.len() as u64)
    }
    .await;
    match went {
        Ok(n) => {
            conn.batch("COMMIT").await?;
            Ok(n)
        }
        Err(e) => {
            let _ = conn.batch("ROLLBACK").await;
            Err(e)
        }
    }
}

/// The rest of the account, its addresses kept from reuse, and `account.deleted`.
async fn finish(conn: Conn<'_>, id: i64) -> Result<(), StoreError> {
    let now = crate::time::now_rfc3339();
    for sql in [
        "INSERT INTO deleted_addresses (local_part, domain, deleted_at)
         SELECT local_part, domain, ?2 FROM accounts WHERE id = ?1 ON CONFLICT DO NOTHING",
        "INSERT INTO deleted_addresses (local_part, domain, deleted_at)
         SELECT local_part, domain, ?2 FROM retired_addresses INDEXED BY retired_by_account WHERE account_id = ?1
         ON CONFLICT DO NOTHING",
    ] {
        conn.execute(sql, args![id, now]).await?;
    }
    for sql in REST {
        conn.execute(sql, args![id]).await?;
    }
    let event = NewEvent {
        kind: "account.deleted",
        account_id: id,
        data: json!({"account_id": id}),
    };
    events::insert(conn, &[event], &now).await
}
