//! Each account's sender rules: an address, or a domain covering its subdomains, that the account
//! always takes (`allow`) or never takes (`block`). Read with the account's members at its first
//! RCPT of a transaction; written by the CLI and the API.

use super::error::StoreError;
use super::sql::Conn;
use super::value::args;
use crate::mail::{SenderRule, SenderRules};
use serde::Serialize;

/// An account's sender rules, by name: what `accounts show` lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SenderRuleEntry {
    /// An address, or a domain (which covers its subdomains).
    pub sender: String,
    /// `allow` or `block`.
    pub rule: String,
    pub created_at: String,
}

pub async fn list(conn: Conn<'_>, account_id: i64) -> Result<Vec<SenderRuleEntry>, StoreError> {
    conn.query(
        "SELECT sender, rule, created_at FROM sender_rules WHERE account_id = ?1 ORDER BY rule, sender",
        args![account_id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(SenderRuleEntry {
            sender: r.named("sender")?,
            rule: r.named("rule")?,
            created_at: r.named("created_at")?,
        })
    })
    .collect()
}

/// The rules as the pipeline applies them (the most specific wins).
pub async fn rules(conn: Conn<'_>, account_id: i64) -> Result<SenderRules, StoreError> {
    let rows = conn
        .query(
            "SELECT sender, rule FROM sender_rules WHERE account_id = ?1",
            args![account_id],
        )
        .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for r in &rows {
        let rule: String = r.named("rule")?;
        if let Some(rule) = SenderRule::parse(&rule) {
            rules.push((r.named::<String>("sender")?, rule));
        }
    }
    Ok(SenderRules::new(rules))
}

/// Sets the account's rule for a sender (address or domain, normalized by the caller), replacing
/// any other rule for the same name. True when it changed something.
pub async fn set(conn: Conn<'_>, account_id: i64, sender: &str, rule: SenderRule) -> Result<bool, StoreError> {
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
pub async fn remove(conn: Conn<'_>, account_id: i64, sender: &str, rule: SenderRule) -> Result<bool, StoreError> {
    let n = conn
        .execute(
            "DELETE FROM sender_rules WHERE account_id = ?1 AND sender = ?2 AND rule = ?3",
            args![account_id, sender, rule.as_str()],
        )
        .await?;
    Ok(n > 0)
}
