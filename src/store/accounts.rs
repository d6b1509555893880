//! Accounts (tenants) and their unique inbound addresses: the shape doors show, routing's lookups,
//! what the pipeline reads of an account, the counts kept in the commit, notices, and the writes
//! of the CLI and the API (create, enable, rotate the address, DMARC answer, bulk choice).
//!
//! Routing reads the accounts table at every RCPT, so a change takes effect for the next recipient
//! on every host (within a second on PostgreSQL hosts, which remember a found account that long).

use super::error::StoreError;
use super::local_part::new_account_local_part;
use super::page::{Page, Paged};
use super::sql::Conn;
use super::value::{Row, args};
use super::{members, senders};
use crate::mail::{AccountData, AccountRoute, DmarcAction, POSTMASTER};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub enabled: bool,
    /// Overrides `auth.dmarc_reject` for this account (`reject`/`accept`), or null for the default.
    pub dmarc_reject: Option<String>,
    /// Whether bulk mail (newsletters, lists) creates contacts: `contact` or `no-contact` (default).
    pub bulk: String,
    /// Days a conversation is kept after its last message (its own retention), or null for the
    /// server's `[retention] days`; 0 keeps forever.
    pub retention_days: Option<i64>,
    pub created_at: String,
}

/// An account with its members, system notices and sender rules: the one shape of `accounts show
/// --json` and `GET /v1/accounts/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: Account,
    /// The agents' addresses (the first page of them; `GET /v1/accounts/{id}/members` has all).
    pub members: Vec<String>,
    /// The latest notices, newest first.
    pub notices: Vec<Notice>,
    /// Senders the account always takes (`allow`) or never takes (`block`).
    pub senders: Vec<senders::SenderRuleEntry>,
}

/// A system notice of an account (a forwarding confirmation and its link and code).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub provider: Option<String>,
    pub link: Option<String>,
    pub code: Option<String>,
    pub requested_by: Option<String>,
    pub message_id: i64,
    pub created_at: String,
}

/// What an account holds, as the commit keeps count: filed messages and quarantined ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub messages: i64,
    pub quarantined: i64,
}

const COLUMNS: &str = "id, name, local_part || '@' || domain AS address, enabled, dmarc_reject, bulk_contacts, retention_days, created_at";

fn account_row(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.named("id")?,
        name: r.named("name")?,
        address: r.named("address")?,
        enabled: r.named("enabled")?,
        dmarc_reject: r.named("dmarc_reject")?,
        bulk: if r.named::<bool>("bulk_contacts")? {
            "contact"
        } else {
            "no-contact"
        }
        .to_string(),
        retention_days: r.named("retention_days")?,
        created_at: r.named("created_at")?,
    })
}

const NOTICE_COLUMNS: &str = "id, account_id, kind, provider, link, code, requested_by, message_id, created_at";

fn notice_row(r: &Row) -> Result<Notice, StoreError> {
    Ok(Notice {
        id: r.named("id")?,
        kind: r.named("kind")?,
        provider: r.named("provider")?,
        link: r.named("link")?,
        code: r.named("code")?,
        requested_by: r.named("requested_by")?,
        message_id: r.named("message_id")?,
        created_at: r.named("created_at")?,
    })
}

/// Notices an account page shows (the latest).
const NOTICES_SHOWN: i64 = 20;
/// Members an account's detail lists inline.
const MEMBERS_SHOWN: usize = 100;

pub async fn get(conn: Conn<'_>, id: i64) -> Result<Option<Account>, StoreError> {
    conn.query_opt(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"), args![id])
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
}

pub async fn exists(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .value::<i64>("SELECT 1 FROM accounts WHERE id = ?1", args![id])
        .await?
        .is_some())
}

pub async fn detail(conn: Conn<'_>, id: i64) -> Result<Option<AccountDetail>, StoreError> {
    let Some(account) = get(conn, id).await? else {
        return Ok(None);
    };
    Ok(Some(AccountDetail {
        account,
        members: members::list(conn, id, &Page::first(MEMBERS_SHOWN)).await?.items,
        notices: notices(conn, id).await?,
        senders: senders::list(conn, id).await?,
    }))
}

/// The accounts list's statement: `?1` the last id seen, `?2` the one account (or NULL), `?3`
/// the limit.
pub(super) fn list_sql() -> String {
    format!("SELECT {COLUMNS} FROM accounts WHERE id > ?1 AND (id = ?2 OR ?2 IS NULL) ORDER BY id LIMIT ?3")
}

/// Accounts in id order, a page at a time; only `only`'s when set (an account key sees one).
pub async fn list(conn: Conn<'_>, only: Option<i64>, page: &Page<i64>) -> Result<Paged<Account, i64>, StoreError> {
    let rows = conn
        .query(&list_sql(), args![page.after.unwrap_or(0), only, page.fetch()])
        .await?;
    let accounts = rows.iter().map(account_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(accounts, |a| a.id))
}

/// An account's latest notices: `?1` the account, `?2` how many.
pub(super) fn notices_sql() -> String {
    format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE account_id = ?1 ORDER BY id DESC LIMIT ?2")
}

/// An account's counts, summed over its rows: `?1` the account.
pub(super) const COUNTS: &str = "SELECT coalesce(sum(messages), 0) AS messages,
     coalesce(sum(quarantined), 0) AS quarantined FROM account_counts WHERE account_id = ?1";

/// An account's latest notices, newest first.
pub async fn notices(conn: Conn<'_>, account_id: i64) -> Result<Vec<Notice>, StoreError> {
    conn.query(&notices_sql(), args![account_id, NOTICES_SHOWN])
        .await?
        .iter()
        .map(notice_row)
        .collect()
}

/// The latest notices of each of `ids` (a page of accounts), by account.
pub async fn notices_of(conn: Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, Vec<Notice>>, StoreError> {
    let mut out: HashMap<i64, Vec<Notice>> = HashMap::new();
    for &id in ids {
        let list = notices(conn, id).await?;
        if !list.is_empty() {
            out.insert(id, list);
        }
    }
    Ok(out)
}

/// The counts of each of `ids` (a page of accounts): a few counter rows per account, never its
/// messages.
pub async fn counts_of(conn: Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, Counts>, StoreError> {
    let mut out = HashMap::new();
    for &id in ids {
        let row = conn.query_opt(COUNTS, args![id]).await?;
        let counts = match row {
            Some(r) => Counts {
                messages: r.named("messages")?,
                quarantined: r.named("quarantined")?,
            },
            None => Counts::default(),
        };
        out.insert(id, counts);
    }
    Ok(out)
}

/// The counts' row of the deletions made beside the commit (mark-spam, the quarantine's purge, an
/// erasure, retention): never one of the commit's rows, so a deletion and a batch of mail never
/// wait for each other's row (on PostgreSQL, where each takes other locks too, they could
/// deadlock).
pub(super) const DELETIONS: i64 = -1;

/// Adds to an account's counts (a commit's deltas, a deletion's). The counts are spread over a
/// few rows (`shard`) so that several PostgreSQL hosts committing mail of one account do not wait
/// for each other's row; a reader sums them.
pub(super) async fn count(conn: Conn<'_>, account_id: i64, shard: i64, delta: Counts) -> Result<(), StoreError> {
    if delta == Counts::default() {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO account_counts (account_id, shard, messages, quarantined) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id, shard) DO UPDATE SET messages = account_counts.messages + excluded.messages,
         quarantined = account_counts.quarantined + excluded.quarantined",
        args![account_id, shard, delta.messages, delta.quarantined],
    )
    .await?;
    Ok(())
}

/// An account's routing facts from `id, enabled, dmarc_reject, bulk_contacts`.
pub(crate) fn route_of(r: &Row) -> Result<AccountRoute, StoreError> {
    let dmarc: Option<String> = r.named("dmarc_reject")?;
    Ok(AccountRoute {
        id: r.named("id")?,
        enabled: r.named("enabled")?,
        dmarc_reject: dmarc.as_deref().and_then(DmarcAction::parse),
        bulk_contacts: r.named("bulk_contacts")?,
    })
}

/// Routing's lookup of an address (`local@domain`, lower case, without tag).
pub const ROUTE_BY_ADDRESS: &str =
    "SELECT id, enabled, dmarc_reject, bulk_contacts FROM accounts WHERE local_part = ?1 AND domain = ?2";
/// Routing's lookup of an account a signed reply address names.
pub const ROUTE_BY_ID: &str = "SELECT id, enabled, dmarc_reject, bulk_contacts FROM accounts WHERE id = ?1";

/// What the pipeline reads of an account for each message: its agents' addresses (lower case) and
/// its sender rules.
pub async fn pipeline_data(conn: Conn<'_>, account_id: i64) -> Result<AccountData, StoreError> {
    Ok(AccountData {
        members: members::keys(conn, account_id).await?,
        senders: senders::rules(conn, account_id).await?,
    })
}

/// Creates the account that receives `postmaster@` and `abuse@` mail (see `routing`), named
/// "Postmaster", with the address `postmaster@<domain>`, unless it exists (then it is left as the
/// operator set it, disabled or not).
pub async fn create_postmaster(conn: Conn<'_>, domain: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO accounts (name, local_part, domain, enabled, created_at) VALUES ('Postmaster', ?1, ?2, TRUE, ?3)
         ON CONFLICT (local_part, domain) DO NOTHING",
        args![POSTMASTER, domain, crate::time::now_rfc3339()],
    )
    .await?;
    Ok(())
}

/// A new account with a fresh unique address on `domain`.
pub async fn create(conn: Conn<'_>, name: &str, domain: &str) -> Result<Account, StoreError> {
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
            return get(conn, id)
                .await?
                .ok_or_else(|| StoreError::Failed("account vanished".into()));
        }
    }
    Err(StoreError::Failed("could not find a free address".into()))
}

/// Whether an address is in use or was ever used (retired addresses and those of deleted accounts
/// are never issued again).
async fn address_taken(conn: Conn<'_>, local: &str, domain: &str) -> Result<bool, StoreError> {
    let n: Option<i64> = conn
        .value(
            "SELECT (SELECT count(*) FROM accounts WHERE local_part = ?1 AND domain = ?2)
                  + (SELECT count(*) FROM retired_addresses WHERE local_part = ?1 AND domain = ?2)
                  + (SELECT count(*) FROM deleted_addresses WHERE local_part = ?1 AND domain = ?2)",
            args![local, domain],
        )
        .await?;
    Ok(n.unwrap_or(0) > 0)
}

/// Sets the account's retention in days (0 keeps forever); None returns to the server's default.
pub async fn set_retention(conn: Conn<'_>, id: i64, days: Option<i64>) -> Result<Option<Account>, StoreError> {
    conn.execute("UPDATE accounts SET retention_days = ?2 WHERE id = ?1", args![id, days])
        .await?;
    get(conn, id).await
}

pub async fn set_enabled(conn: Conn<'_>, id: i64, enabled: bool) -> Result<Option<Account>, StoreError> {
    conn.execute("UPDATE accounts SET enabled = ?2 WHERE id = ?1", args![id, enabled])
        .await?;
    get(conn, id).await
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
    get(conn, id).await
}

/// Whether the account's bulk mail creates contacts.
pub async fn set_bulk_contacts(conn: Conn<'_>, id: i64, contacts: bool) -> Result<Option<Account>, StoreError> {
    conn.execute(
        "UPDATE accounts SET bulk_contacts = ?2 WHERE id = ?1",
        args![id, contacts],
    )
    .await?;
    get(conn, id).await
}

/// Gives the account a new address; the old one is retired (never reissued) and stops routing.
pub async fn rotate_address(conn: Conn<'_>, id: i64) -> Result<Option<Account>, StoreError> {
    let Some(account) = get(conn, id).await? else {
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
        return get(conn, id).await;
    }
    Err(StoreError::Failed("could not find a free address".into()))
}
