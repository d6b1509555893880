//! Sessions of the web inbox: a person signs in with an API key and gets a random session token
//! (kept here only as its SHA-256, like the keys) bound to that key, with the CSRF token its forms
//! carry. A session ends at sign-out, at its expiry, or when its key is revoked.

use super::error::StoreError;
use super::keys::Scope;
use super::sql::Conn;
use super::value::args;
use sha2::{Digest, Sha256};

/// A live session, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub scope: Scope,
    pub csrf: String,
    /// The name of the key it was signed in with (shown in the page header).
    pub key_name: String,
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Failed(format!("no random source: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Signs in with an API key's secret: a new session for `ttl_secs`, as (token, session); None
/// when the secret is not a live key. Expired sessions are cleared on the way.
pub async fn sign_in(conn: Conn<'_>, secret: &str, ttl_secs: i64) -> Result<Option<(String, Session)>, StoreError> {
    let now = crate::time::unix_now();
    conn.execute("DELETE FROM web_sessions WHERE expires_at < ?1", args![now])
        .await?;
    let Some(row) = conn
        .query_opt(
            "SELECT id, account_id, name FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
            args![super::keys::digest(secret)],
        )
        .await?
    else {
        return Ok(None);
    };
    let (key_id, account, key_name): (i64, Option<i64>, String) =
        (row.named("id")?, row.named("account_id")?, row.named("name")?);
    let (token, csrf) = (random_hex(32)?, random_hex(16)?);
    conn.execute(
        "INSERT INTO web_sessions (token_hash, key_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![digest(&token), key_id, csrf, crate::time::now_rfc3339(), now + ttl_secs],
    )
    .await?;
    let scope = account.map_or(Scope::Platform, Scope::Account);
    Ok(Some((token, Session { scope, csrf, key_name })))
}

/// The live session of `token`, if there is one.
pub async fn find(conn: Conn<'_>, token: &str) -> Result<Option<Session>, StoreError> {
    let row = conn
        .query_opt(
            "SELECT k.account_id, s.csrf, k.name FROM web_sessions s JOIN api_keys k ON k.id = s.key_id
             WHERE s.token_hash = ?1 AND s.expires_at >= ?2 AND k.revoked_at IS NULL",
            args![digest(token), crate::time::unix_now()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let account: Option<i64> = row.named("account_id")?;
    Ok(Some(Session {
        scope: account.map_or(Scope::Platform, Scope::Account),
        csrf: row.named("csrf")?,
        key_name: row.named("name")?,
    }))
}

/// Ends the session of `token`.
pub async fn sign_out(conn: Conn<'_>, token: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM web_sessions WHERE token_hash = ?1", args![digest(token)])
        .await?;
    Ok(())
}
