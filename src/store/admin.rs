//! Administrative writes from the CLI: accounts, their addresses, their members and their sender
//! rules.
//!
//! The CLI opens its own connection; the database's own locking makes these safe while servers
//! run (on any host), and routing reads the accounts table at every RCPT, so a change takes effect
//! for the next recipient on every host.

use super::local_part::new_account_local_part;
use super::read::{self, Account};
use super::sql::{Conn, args};
use super::{Location, StoreError, open_connection};
use crate::mail::{DmarcAction, POSTMASTER, SenderRule, email_key, normalize_email};
use std::sync::Mutex;

/// Creates the account that receives `postmaster@` and `abuse@` mail (see `routing`), named
/// "Postmaster", with the address `postmaster@<domain>`, unless it exists (then it is left as the
/// operator set it, disabled or not).
pub(super) async fn create_postmaster_account(conn: Conn<'_>, domain: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO accounts (name, local_part, domain, enabled, created_at) VALUES ('Postmaster', ?1, ?2, TRUE, ?3)
         ON CONFLICT (local_part, domain) DO NOTHING",
        args![POSTMASTER, domain, crate::time::now_rfc3339()],
    )
    .await?;
    Ok(())
}

/// A new account with a fresh unique address on `domain`.
pub async fn create_account(conn: Conn<'_>, name: &str, domain: &str) -> Result<Account, StoreError> {
    let now = crate::time::now_rfc3339();
    let domain = domain.to_ascii_lowercase();
    // A collision of 51 random bits is not expected; retrying keeps the UNIQUE constraint honest.
    for _ in 0..5 {
        let local = new_account_local_part(name);
        if address_taken(conn, &local, &domain).await? {
            continue;
        }
        let id: Option<i64> = conn
            .value(
                "INSERT INTO accounts (name, local_part, domain, enabled, created_at) VALUES (?1, ?2, ?3, TRUE, ?4)
                 ON CONFLICT (local_part, domain) DO NOTHING RETURNING id",
                args![name, local, domain, now],
            )
            .await?;
        if let Some(id) = id {
            return read::account(conn, id)
                .await?
                .ok_or_else(|| StoreError::Failed("account vanished".into()));
        }
    }
    Err(StoreError::Failed("could not find a free address".into()))
}

async fn address_taken(conn: Conn<'_>, local: &str, domain: &str) -> Result<bool, StoreError> {
    let n: Option<i64> = conn
        .value(
            "SELECT (SELECT count(*) FROM accounts WHERE local_part = ?1 AND domain = ?2)
                  + (SELECT count(*) FROM retired_addresses WHERE local_part = ?1 AND domain = ?2)",
            args![local, domain],
        )
        .await?;
    Ok(n.unwrap_or(0) > 0)
}

pub async fn set_enabled(conn: Conn<'_>, id: i64, enabled: bool) -> Result<Option<Account>, StoreError> {
    conn.execute("UPDATE accounts SET enabled = ?2 WHERE id = ?1", args![id, enabled])
        .await?;
    read::account(conn, id).await
}

/// Sets the account's answer to DMARC `p=reject` failures; None returns to the server's default.
pub async fn set_dmarc_reject(
    conn: Conn<'_>,
    id: i64,
    action: Option<DmarcAction>,
) -> Result<Option<Account>, StoreError> {
    conn.execute(
        "UPDATE accounts SET dmarc_reject = ?2 WHERE id = ?1",
        args![id, action.map(|a| a.as_str())],
    )
    .await?;
    read::account(conn, id).await
}

/// Whether the account's bulk mail creates contacts.
pub async fn set_bulk_contacts(conn: Conn<'_>, id: i64, contacts: bool) -> Result<Option<Account>, StoreError> {
    conn.execute(
        "UPDATE accounts SET bulk_contacts = ?2 WHERE id = ?1",
        args![id, contacts],
    )
    .await?;
    read::account(conn, id).await
}

/// Gives the account a new address; the old one is retired (never reissued) and stops routing.
pub async fn rotate_address(conn: Conn<'_>, id: i64) -> Result<Option<Account>, StoreError> {
    let Some(account) = read::account(conn, id).await? else {
        return Ok(None);
    };
    let (old_local, domain) = account
        .address
        .rsplit_once('@')
        .map(|(l, d)| (l.to_string(), d.to_string()))
        .unwrap_or_default();
    let now = crate::time::now_rfc3339();
    for _ in 0..5 {
        let local = new_account_local_part(&account.name);
        if address_taken(conn, &local, &domain).await? {
            continue;
        }
        conn.begin().await?;
        let done = async {
            conn.execute(
                "INSERT INTO retired_addresses (account_id, local_part, domain, retired_at) VALUES (?1, ?2, ?3, ?4)",
                args![id, old_local, domain, now],
            )
            .await?;
            conn.execute("UPDATE accounts SET local_part = ?2 WHERE id = ?1", args![id, local])
                .await?;
            conn.batch("COMMIT").await
        }
        .await;
        if let Err(e) = done {
            let _ = conn.batch("ROLLBACK").await;
            return Err(e);
        }
        return read::account(conn, id).await;
    }
    Err(StoreError::Failed("could not find a free address".into()))
}

/// Adds an agent's personal address to an account. Returns false when it was already there.
pub async fn add_member(conn: Conn<'_>, account_id: i64, email: &str) -> Result<bool, StoreError> {
    let email = normalize_email(email).ok_or_else(|| StoreError::Failed(format!("`{email}` is not an address")))?;
    let n = conn
        .execute(
            "INSERT INTO members (account_id, email, email_key, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            args![account_id, email, email_key(&email), crate::time::now_rfc3339()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn remove_member(conn: Conn<'_>, account_id: i64, email: &str) -> Result<bool, StoreError> {
    let key = normalize_email(email)
        .map(|e| email_key(&e))
        .unwrap_or_else(|| email_key(email));
    let n = conn
        .execute(
            "DELETE FROM members WHERE account_id = ?1 AND email_key = ?2",
            args![account_id, key],
        )
        .await?;
    Ok(n > 0)
}

/// Records an outbound message the platform sent, so that a reply threading on its Message-ID
/// finds the right contact's conversation even without the reply address. Re-registering the
/// same Message-ID replaces the earlier record.
pub async fn register_sent(
    conn: Conn<'_>,
    account_id: i64,
    message_id: &str,
    contact_email: &str,
    campaign_id: Option<&str>,
    automation_id: Option<&str>,
) -> Result<(), StoreError> {
    let message_id = message_id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    if message_id.is_empty() {
        return Err(StoreError::Failed("the Message-ID is empty".into()));
    }
    let contact = normalize_email(contact_email)
        .ok_or_else(|| StoreError::Failed(format!("`{contact_email}` is not an address")))?;
    conn.execute(
        "INSERT INTO sent_messages (account_id, message_id, contact_email, campaign_id, automation_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account_id, message_id) DO UPDATE SET contact_email = excluded.contact_email,
         campaign_id = excluded.campaign_id, automation_id = excluded.automation_id, created_at = excluded.created_at",
        args![
            account_id,
            message_id,
            contact,
            campaign_id,
            automation_id,
            crate::time::now_rfc3339()
        ],
    )
    .await?;
    Ok(())
}

/// Deletes a message (and its raw bytes, unless another account's copy of the same delivery still
/// uses them). False when there was none.
pub async fn delete_message(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    let Some(raw) = conn
        .value::<i64>("SELECT raw_id FROM messages WHERE id = ?1", args![id])
        .await?
    else {
        return Ok(false);
    };
    conn.execute("DELETE FROM notices WHERE message_id = ?1", args![id])
        .await?;
    conn.execute("DELETE FROM messages WHERE id = ?1", args![id]).await?;
    conn.execute(
        "DELETE FROM raw_messages WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM messages WHERE raw_id = ?1)",
        args![raw],
    )
    .await?;
    Ok(true)
}

/// Sets the account's rule for a sender (address or domain, normalized by the caller), replacing
/// any other rule for the same name. True when it changed something.
pub async fn set_sender_rule(
    conn: Conn<'_>,
    account_id: i64,
    sender: &str,
    rule: SenderRule,
) -> Result<bool, StoreError> {
    let n = conn
        .execute(
            "INSERT INTO sender_rules (account_id, sender, rule, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, sender) DO UPDATE SET rule = excluded.rule, created_at = excluded.created_at
             WHERE sender_rules.rule <> excluded.rule",
            args![account_id, sender, rule.as_str(), crate::time::now_rfc3339()],
        )
        .await?;
    Ok(n > 0)
}

/// Removes the account's `rule` for a sender. False when there was none.
pub async fn remove_sender_rule(
    conn: Conn<'_>,
    account_id: i64,
    sender: &str,
    rule: SenderRule,
) -> Result<bool, StoreError> {
    let n = conn
        .execute(
            "DELETE FROM sender_rules WHERE account_id = ?1 AND sender = ?2 AND rule = ?3",
            args![account_id, sender, rule.as_str()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn account_exists(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .value::<i64>("SELECT 1 FROM accounts WHERE id = ?1", args![id])
        .await?
        .is_some())
}

/// The CLI's handle on the configured database: one connection, each call run to its end.
pub struct Admin {
    conn: Handle,
}

enum Handle {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres {
        runtime: tokio::runtime::Runtime,
        client: deadpool_postgres::ClientWrapper,
    },
}

impl Admin {
    /// Opens the database (migrating it to this build's schema, like `serve`).
    pub fn open(location: &Location) -> Result<Admin, StoreError> {
        let conn = match location {
            Location::Sqlite { path, mode } => Handle::Sqlite(Mutex::new(open_connection(path, *mode)?)),
            Location::Postgres(options) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Failed(format!("cannot start a runtime: {e}")))?;
                let client = runtime.block_on(super::postgres::connect_and_migrate(options))?;
                Handle::Postgres { runtime, client }
            }
        };
        Ok(Admin { conn })
    }

    /// The connection, for the functions of [`read`] and this module.
    pub fn conn(&self) -> Conn<'_> {
        match &self.conn {
            Handle::Sqlite(conn) => Conn::Sqlite(conn),
            Handle::Postgres { client, .. } => Conn::Postgres(client),
        }
    }

    /// Runs one piece of database work on this handle to its end.
    pub fn wait<T>(&self, work: impl Future<Output = T>) -> T {
        match &self.conn {
            Handle::Sqlite(_) => super::sql::block(work),
            Handle::Postgres { runtime, .. } => runtime.block_on(work),
        }
    }

    /// The reply-token key kept in the database, generated now if there is none.
    pub fn reply_key(&self) -> Result<Vec<u8>, StoreError> {
        self.wait(super::settings::reply_key(self.conn()))
    }

    pub fn create_account(&self, name: &str, domain: &str) -> Result<Account, StoreError> {
        self.wait(create_account(self.conn(), name, domain))
    }

    pub fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        self.wait(read::account(self.conn(), id))
    }

    pub fn set_enabled(&self, id: i64, enabled: bool) -> Result<Option<Account>, StoreError> {
        self.wait(set_enabled(self.conn(), id, enabled))
    }

    pub fn set_dmarc_reject(&self, id: i64, action: Option<DmarcAction>) -> Result<Option<Account>, StoreError> {
        self.wait(set_dmarc_reject(self.conn(), id, action))
    }

    pub fn set_bulk_contacts(&self, id: i64, contacts: bool) -> Result<Option<Account>, StoreError> {
        self.wait(set_bulk_contacts(self.conn(), id, contacts))
    }

    pub fn rotate_address(&self, id: i64) -> Result<Option<Account>, StoreError> {
        self.wait(rotate_address(self.conn(), id))
    }

    pub fn add_member(&self, account_id: i64, email: &str) -> Result<bool, StoreError> {
        self.wait(add_member(self.conn(), account_id, email))
    }

    pub fn remove_member(&self, account_id: i64, email: &str) -> Result<bool, StoreError> {
        self.wait(remove_member(self.conn(), account_id, email))
    }

    pub fn register_sent(
        &self,
        account_id: i64,
        message_id: &str,
        contact_email: &str,
        campaign_id: Option<&str>,
        automation_id: Option<&str>,
    ) -> Result<(), StoreError> {
        self.wait(register_sent(
            self.conn(),
            account_id,
            message_id,
            contact_email,
            campaign_id,
            automation_id,
        ))
    }

    pub fn account_exists(&self, id: i64) -> Result<bool, StoreError> {
        self.wait(account_exists(self.conn(), id))
    }
}
