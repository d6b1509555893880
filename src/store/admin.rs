//! Administrative writes from the CLI: accounts, their addresses and their members.
//!
//! The CLI opens its own connection; SQLite's locking makes these safe while the server runs, and
//! routing reads the accounts table at every RCPT, so a change takes effect for the next recipient.

use super::local_part::new_account_local_part;
use super::read::{self, Account};
use super::{StoreError, open_connection};
use crate::mail::{DmarcAction, POSTMASTER, email_key, normalize_email};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

/// Creates the account that receives `postmaster@` and `abuse@` mail (see `routing`), named
/// "Postmaster", with the address `postmaster@<domain>`, unless it exists (then it is left as the
/// operator set it, disabled or not).
pub(super) fn create_postmaster_account(conn: &Connection, domain: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO accounts (name, local_part, domain, enabled, created_at)
         SELECT 'Postmaster', ?1, ?2, 1, ?3
         WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE local_part = ?1 AND domain = ?2)",
        params![POSTMASTER, domain, crate::time::now_rfc3339()],
    )?;
    Ok(())
}

pub struct Admin {
    conn: Connection,
}

impl Admin {
    /// Opens the database whose files have (or get) `mode`.
    pub fn open(path: &Path, mode: u32) -> Result<Admin, StoreError> {
        Ok(Admin {
            conn: open_connection(path, mode)?,
        })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The reply-token key kept in the database, generated now if there is none.
    pub fn reply_key(&self) -> Result<Vec<u8>, StoreError> {
        Ok(super::settings::reply_key(&self.conn)?)
    }

    /// A new account with a fresh unique address on `domain`.
    pub fn create_account(&self, name: &str, domain: &str) -> Result<Account, StoreError> {
        let now = crate::time::now_rfc3339();
        // A collision of 51 random bits is not expected; retrying keeps the UNIQUE constraint honest.
        for _ in 0..5 {
            let local = new_account_local_part(name);
            if self.address_taken(&local, domain)? {
                continue;
            }
            self.conn.execute(
                "INSERT INTO accounts (name, local_part, domain, enabled, created_at) VALUES (?1, ?2, ?3, 1, ?4)",
                params![name, local, domain.to_ascii_lowercase(), now],
            )?;
            let id = self.conn.last_insert_rowid();
            return self
                .account(id)?
                .ok_or_else(|| StoreError::Failed("account vanished".into()));
        }
        Err(StoreError::Failed("could not find a free address".into()))
    }

    fn address_taken(&self, local: &str, domain: &str) -> Result<bool, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM accounts WHERE local_part = ?1 AND domain = ?2)
                  + (SELECT count(*) FROM retired_addresses WHERE local_part = ?1 AND domain = ?2)",
            params![local, domain],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    pub fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        read::account(&self.conn, id)
    }

    pub fn set_enabled(&self, id: i64, enabled: bool) -> Result<Option<Account>, StoreError> {
        self.conn
            .execute("UPDATE accounts SET enabled = ?2 WHERE id = ?1", params![id, enabled])?;
        self.account(id)
    }

    /// Sets the account's answer to DMARC `p=reject` failures; None returns to the server's default.
    pub fn set_dmarc_reject(&self, id: i64, action: Option<DmarcAction>) -> Result<Option<Account>, StoreError> {
        self.conn.execute(
            "UPDATE accounts SET dmarc_reject = ?2 WHERE id = ?1",
            params![id, action.map(|a| a.as_str())],
        )?;
        self.account(id)
    }

    /// Whether the account's bulk mail creates contacts.
    pub fn set_bulk_contacts(&self, id: i64, contacts: bool) -> Result<Option<Account>, StoreError> {
        self.conn.execute(
            "UPDATE accounts SET bulk_contacts = ?2 WHERE id = ?1",
            params![id, contacts],
        )?;
        self.account(id)
    }

    /// Gives the account a new address; the old one is retired (never reissued) and stops routing.
    pub fn rotate_address(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let Some(account) = self.account(id)? else {
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
            if self.address_taken(&local, &domain)? {
                continue;
            }
            let txn = self.conn.unchecked_transaction()?;
            txn.execute(
                "INSERT INTO retired_addresses (account_id, local_part, domain, retired_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, old_local, domain, now],
            )?;
            txn.execute("UPDATE accounts SET local_part = ?2 WHERE id = ?1", params![id, local])?;
            txn.commit()?;
            return self.account(id);
        }
        Err(StoreError::Failed("could not find a free address".into()))
    }

    /// Adds an agent's personal address to an account. Returns false when it was already there.
    pub fn add_member(&self, account_id: i64, email: &str) -> Result<bool, StoreError> {
        let email = normalize_email(email).ok_or_else(|| StoreError::Failed(format!("`{email}` is not an address")))?;
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO members (account_id, email, email_key, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![account_id, email, email_key(&email), crate::time::now_rfc3339()],
        )?;
        Ok(n > 0)
    }

    pub fn remove_member(&self, account_id: i64, email: &str) -> Result<bool, StoreError> {
        let key = normalize_email(email)
            .map(|e| email_key(&e))
            .unwrap_or_else(|| email_key(email));
        let n = self.conn.execute(
            "DELETE FROM members WHERE account_id = ?1 AND email_key = ?2",
            params![account_id, key],
        )?;
        Ok(n > 0)
    }

    /// Records an outbound message the platform sent, so that a reply threading on its Message-ID
    /// finds the right contact's conversation even without the reply address. Re-registering the
    /// same Message-ID replaces the earlier record.
    pub fn register_sent(
        &self,
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
        self.conn.execute(
            "INSERT OR REPLACE INTO sent_messages (account_id, message_id, contact_email, campaign_id, automation_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![account_id, message_id, contact, campaign_id, automation_id, crate::time::now_rfc3339()],
        )?;
        Ok(())
    }

    pub fn account_exists(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM accounts WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
