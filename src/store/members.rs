//! Agents' personal addresses per account: mail from them is an agent's (a forward names the
//! original sender as contact; anything else is flagged `member`), and they never become contacts.

use super::error::StoreError;
use super::page::{Page, Paged};
use super::sql::Conn;
use super::value::args;
use crate::mail::{email_key, normalize_email};

/// Adds an agent's personal address to an account. Returns false when it was already there.
pub async fn add(conn: Conn<'_>, account_id: i64, email: &str) -> Result<bool, StoreError> {
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

pub async fn remove(conn: Conn<'_>, account_id: i64, email: &str) -> Result<bool, StoreError> {
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

/// The members list's statement: `?1` the account, `?2` the last key seen, `?3` the limit.
pub(super) const LIST: &str =
    "SELECT email, email_key FROM members WHERE account_id = ?1 AND email_key > ?2 ORDER BY email_key LIMIT ?3";

/// An account's members as added, in address order (their key, lower case), a page at a time;
/// the key of the last one is where the next page starts.
pub async fn list(conn: Conn<'_>, account_id: i64, page: &Page<String>) -> Result<Paged<String, String>, StoreError> {
    let rows = conn
        .query(
            LIST,
            args![account_id, page.after.as_deref().unwrap_or(""), page.fetch()],
        )
        .await?;
    let members = rows
        .iter()
        .map(|r| Ok((r.named::<String>("email")?, r.named::<String>("email_key")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page.finish(members, |(_, key)| key.clone()).map(|(email, _)| email))
}

/// The lower-case addresses of an account's members: what the pipeline matches senders against.
pub async fn keys(conn: Conn<'_>, account_id: i64) -> Result<Vec<String>, StoreError> {
    conn.query("SELECT email_key FROM members WHERE account_id = ?1", args![account_id])
        .await?
        .iter()
        .map(|r| Ok(r.named("email_key")?))
        .collect()
}
