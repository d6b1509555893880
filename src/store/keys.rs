//! API keys of the HTTP door: created with a secret shown once, kept only as its SHA-256, scoped to
//! the platform (every account) or to one account, revoked by id.

use super::error::StoreError;
use super::page::{Page, Paged};
use super::sql::Conn;
use super::value::{Row, args};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Random bytes in a key's secret: 256 bits, beyond guessing.
const SECRET_BYTES: usize = 32;
/// Every secret starts so, which lets scanners for leaked credentials find it.
const PREFIX: &str = "inboxd_";

/// A key as listed (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// The one account the key sees; null for a platform key (all accounts).
    pub account_id: Option<i64>,
    /// The first characters of the secret, to tell keys apart.
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// What a request's key may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Account(i64),
}

impl Scope {
    /// Whether the key may see `account_id`'s resources.
    pub fn sees(self, account_id: i64) -> bool {
        match self {
            Scope::Platform => true,
            Scope::Account(own) => own == account_id,
        }
    }
}

pub(super) fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a key; returns it and its secret, which is not kept anywhere.
pub async fn create(conn: Conn<'_>, name: &str, account_id: Option<i64>) -> Result<(ApiKey, String), StoreError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Failed(format!("no random source: {e}")))?;
    let secret = format!(
        "{PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let id: Option<i64> = conn
        .value(
            "INSERT INTO api_keys (name, account_id, key_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             RETURNING id",
            args![
                name,
                account_id,
                digest(&secret),
                &secret[..PREFIX.len() + 8],
                crate::time::now_rfc3339()
            ],
        )
        .await?;
    let id = id.ok_or_else(|| StoreError::Failed("the key was not stored".into()))?;
    let key = get(conn, id)
        .await?
        .ok_or_else(|| StoreError::Failed("key vanished".into()))?;
    Ok((key, secret))
}

/// The keys list's statement: `?1` the last id seen, `?2` the limit.
pub(super) const LIST: &str =
    "SELECT id, name, account_id, prefix, created_at, revoked_at FROM api_keys WHERE id > ?1 ORDER BY id LIMIT ?2";

/// Keys in the order they were created, a page at a time.
pub async fn list(conn: Conn<'_>, page: &Page<i64>) -> Result<Paged<ApiKey, i64>, StoreError> {
    let keys = conn
        .query(LIST, args![page.after.unwrap_or(0), page.fetch()])
        .await?
        .iter()
        .map(key_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(keys, |k| k.id))
}

pub async fn get(conn: Conn<'_>, id: i64) -> Result<Option<ApiKey>, StoreError> {
    conn.query_opt(
        "SELECT id, name, account_id, prefix, created_at, revoked_at FROM api_keys WHERE id = ?1",
        args![id],
    )
    .await?
    .as_ref()
    .map(key_row)
    .transpose()
}

/// Revokes a key at once; false when there is no such key.
pub async fn revoke(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            args![id, crate::time::now_rfc3339()],
        )
        .await?;
    Ok(changed > 0)
}

/// The scope of a live key with this secret, if there is one.
pub async fn authenticate(conn: Conn<'_>, secret: &str) -> Result<Option<Scope>, StoreError> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let found: Option<Option<i64>> = match conn
        .query_opt(
            "SELECT account_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
            args![digest(secret)],
        )
        .await?
    {
        Some(row) => Some(row.named("account_id")?),
        None => None,
    };
    Ok(found.map(|account| account.map_or(Scope::Platform, Scope::Account)))
}

/// The name of the valid key `secret` (who asked, in logs that say so).
pub async fn name_of(conn: Conn<'_>, secret: &str) -> Result<Option<String>, StoreError> {
    conn.value(
        "SELECT name FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
        args![digest(secret)],
    )
    .await
}

fn key_row(r: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: r.named("id")?,
        name: r.named("name")?,
        account_id: r.named("account_id")?,
        prefix: r.named("prefix")?,
        created_at: r.named("created_at")?,
        revoked_at: r.named("revoked_at")?,
    })
}
