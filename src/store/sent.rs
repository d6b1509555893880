//! Outbound messages the platform registered (`register-sent`): a reply whose In-Reply-To or
//! References names one joins that contact's conversation and carries the campaign or automation;
//! a reply from an address it copied (`cc`) joins that conversation too.

use super::error::StoreError;
use super::sql::Conn;
use super::value::args;
use crate::mail::normalize_email;

/// Records an outbound message the platform sent, so that a reply threading on its Message-ID
/// finds the right contact's conversation even without the reply address. Re-registering the
/// same Message-ID replaces the earlier record.
pub async fn register(
    conn: Conn<'_>,
    account_id: i64,
    message_id: &str,
    contact_email: &str,
    campaign_id: Option<&str>,
    automation_id: Option<&str>,
    cc: &[String],
) -> Result<(), StoreError> {
    let message_id = message_id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    if message_id.is_empty() {
        return Err(StoreError::Failed("the Message-ID is empty".into()));
    }
    let contact = normalize_email(contact_email)
        .ok_or_else(|| StoreError::Failed(format!("`{contact_email}` is not an address")))?;
    let mut copied = Vec::with_capacity(cc.len());
    for address in cc {
        let email =
            normalize_email(address).ok_or_else(|| StoreError::Failed(format!("`{address}` is not an address")))?;
        copied.push(crate::mail::Mailbox { email, name: None });
    }
    let cc_json = serde_json::to_string(&copied).map_err(|e| StoreError::Failed(e.to_string()))?;
    conn.execute(
        "INSERT INTO sent_messages (account_id, message_id, contact_email, campaign_id, automation_id, created_at, cc_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (account_id, message_id) DO UPDATE SET contact_email = excluded.contact_email,
         campaign_id = excluded.campaign_id, automation_id = excluded.automation_id, created_at = excluded.created_at,
         cc_json = excluded.cc_json",
        args![
            account_id,
            message_id,
            contact,
            campaign_id,
            automation_id,
            crate::time::now_rfc3339(),
            cc_json
        ],
    )
    .await?;
    Ok(())
}
