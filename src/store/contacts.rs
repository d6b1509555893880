//! Contacts: the people who write to an account, created by mail as not opt-in, on no list, and
//! with no automation. The shape doors show, a contact with the first page of its conversations
//! (the product's "Conversations" tab), and the keyset list of an account's contacts.

use super::conversations::{self, Conversation, ConversationFilter};
use super::error::StoreError;
use super::page::{At, Cursor, Page, Paged};
use super::sql::Conn;
use super::value::{Row, args};
use crate::mail::{email_key, normalize_email};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub source: String,
    pub opt_in: bool,
    pub lists: Vec<String>,
    pub email_status: String,
    /// False when the contact was created by mail whose sender could not be authenticated.
    pub verified: bool,
    pub created_at: String,
}

/// A contact with its conversations, newest activity first (the product's "Conversations" tab):
/// the one shape of `contacts show --json` and `GET /v1/accounts/{id}/contacts/{email}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: Contact,
    /// The first page of its conversations.
    pub conversations: Vec<Conversation>,
    /// Where `GET /v1/accounts/{id}/conversations?contact=EMAIL&cursor=` goes on; null when
    /// `conversations` is all of them.
    pub conversations_cursor: Option<String>,
}

const COLUMNS: &str = "id, account_id, email, name, source, opt_in, lists, email_status, verified, created_at";

fn contact_row(r: &Row) -> Result<Contact, StoreError> {
    let lists: String = r.named("lists")?;
    Ok(Contact {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        email: r.named("email")?,
        name: r.named("name")?,
        source: r.named("source")?,
        opt_in: r.named("opt_in")?,
        lists: serde_json::from_str(&lists).unwrap_or_default(),
        email_status: r.named("email_status")?,
        verified: r.named("verified")?,
        created_at: r.named("created_at")?,
    })
}

/// The matching key of an address as given by a person (normalized when it parses).
pub fn key_of(email: &str) -> String {
    normalize_email(email)
        .map(|e| email_key(&e))
        .unwrap_or_else(|| email_key(email))
}

pub async fn get(conn: Conn<'_>, id: i64) -> Result<Option<Contact>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM contacts WHERE id = ?1"), args![id])
        .await?
        .as_ref()
        .map(contact_row)
        .transpose()
}

pub async fn by_email(conn: Conn<'_>, account_id: i64, email: &str) -> Result<Option<Contact>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM contacts WHERE account_id = ?1 AND email_key = ?2"),
        args![account_id, key_of(email)],
    )
    .await?
    .as_ref()
    .map(contact_row)
    .transpose()
}

/// The contacts list's statement: `?1` the account, `?2` the last id seen, `?3` the limit.
pub(super) fn list_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM contacts INDEXED BY contacts_by_account WHERE account_id = ?1 AND id > ?2
         ORDER BY account_id, id LIMIT ?3"
    )
}

/// An account's contacts in the order they were created, a page at a time.
pub async fn list(conn: Conn<'_>, account_id: i64, page: &Page<i64>) -> Result<Paged<Contact, i64>, StoreError> {
    let rows = conn
        .query(&list_sql(), args![account_id, page.after.unwrap_or(0), page.fetch()])
        .await?;
    let contacts = rows.iter().map(contact_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(contacts, |c| c.id))
}

/// A contact and the first page of its conversations.
pub async fn detail(conn: Conn<'_>, account_id: i64, email: &str) -> Result<Option<ContactDetail>, StoreError> {
    let Some(contact) = by_email(conn, account_id, email).await? else {
        return Ok(None);
    };
    let filter = ConversationFilter {
        contact: Some(contact.id),
        ..ConversationFilter::default()
    };
    let page: Page<At> = Page::first(super::page::DEFAULT_LIMIT);
    let conversations = conversations::list(conn, account_id, &filter, &page).await?;
    Ok(Some(ContactDetail {
        contact,
        conversations: conversations.items,
        conversations_cursor: conversations.next.map(|at| at.encode()),
    }))
}
