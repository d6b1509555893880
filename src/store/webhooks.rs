//! Webhook endpoints and their deliveries: the outbox that follows the event log.
//!
//! An endpoint keeps a cursor into the event log (the last event it was given). Fanning out turns
//! the events after it into delivery rows, one per endpoint and event (`UNIQUE`), in the same
//! transaction that moves the cursor (only from where it was read), so an event is neither
//! skipped nor doubled, whichever host does it; the event log's
//! ids follow commit order (docs/SCHEMA.md), so nothing committed later can appear behind the
//! cursor. A sender claims due deliveries under a lease (`lease_until`): on PostgreSQL the claim is
//! `FOR UPDATE SKIP LOCKED`, so with several hosts each delivery is in flight from one host at a
//! time; a host that dies mid-send leaves a lease that expires, and the delivery is sent again with
//! the same id. Only the oldest pending delivery of an endpoint's ordering key (the contact, else
//! the conversation, else the account) is claimable, its queue's head (`is_head`, set when the
//! delivery is written behind none and passed on when the head is done): one endpoint sees a
//! conversation's events in order, even across retries, and a claim reads the heads alone however
//! long the queues behind them are.
//!
//! Times that schedule (`next_attempt_at`, `lease_until`) are Unix milliseconds; the others are
//! RFC 3339 text like the rest of the schema.

use super::error::StoreError;
use super::page::{Page, Paged};
use super::sql::{Conn, Dialect};
use super::value::{Row, args};
use serde::Serialize;

/// The event types an endpoint may subscribe to (the event log's).
pub const EVENT_TYPES: &[&str] = &[
    "message.received",
    "message.quarantined",
    "contact.created",
    "conversation.created",
    "conversation.merged",
    "conversation.split",
    "contact.bouncing",
    "contact.deleted",
    "contact.erased",
    "conversation.deleted",
    "account.deleted",
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    pub id: i64,
    /// The account whose events it receives; null for the platform's (every account).
    pub account_id: Option<i64>,
    pub url: String,
    /// The event types it receives; null for all.
    pub events: Option<Vec<String>>,
    pub enabled: bool,
    /// Why it was disabled (`410 Gone` from the endpoint), when it was.
    pub disabled_reason: Option<String>,
    /// The last event id fanned out to it.
    pub cursor: i64,
    pub created_at: String,
}

const ENDPOINT_COLS: &str = "id, account_id, url, events, enabled, disabled_reason, cursor, created_at";

fn endpoint_row(r: &Row) -> Result<Endpoint, StoreError> {
    let events: Option<String> = r.named("events")?;
    Ok(Endpoint {
        id: r.named("id")?,
        account_id: r.named("account_id")?,
        url: r.named("url")?,
        events: events.map(|e| e.split(',').map(String::from).collect()),
        enabled: r.named("enabled")?,
        disabled_reason: r.named("disabled_reason")?,
        cursor: r.named("cursor")?,
        created_at: r.named("created_at")?,
    })
}

/// A new endpoint, given the events from now on (its cursor starts at the newest event).
pub async fn add_endpoint(
    conn: Conn<'_>,
    account_id: Option<i64>,
    url: &str,
    events: Option<&[String]>,
    secret: &str,
    now: &str,
) -> Result<Endpoint, StoreError> {
    let events = events.map(|e| e.join(","));
    let row = conn
        .query_opt(
            &format!(
                "INSERT INTO webhook_endpoints (account_id, url, secret, events, cursor, enabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(id), 0) FROM events), TRUE, ?5)
                 RETURNING {ENDPOINT_COLS}"
            ),
            args![account_id, url, secret, events, now],
        )
        .await?
        .ok_or_else(|| StoreError::Failed("the endpoint was not created".into()))?;
    endpoint_row(&row)
}

/// The endpoints list's statement: `?1` the account (or NULL), `?2` the last id seen, `?3` the
/// limit.
pub(super) fn endpoints_sql() -> String {
    format!(
        "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE (account_id = ?1 OR ?1 IS NULL) AND id > ?2
         ORDER BY id LIMIT ?3"
    )
}

/// The endpoints in the order they were added, of one account (`Some`) or all (`None`: the
/// platform's view), a page at a time.
pub async fn endpoints(
    conn: Conn<'_>,
    account_id: Option<i64>,
    page: &Page<i64>,
) -> Result<Paged<Endpoint, i64>, StoreError> {
    let rows = conn
        .query(
            &endpoints_sql(),
            args![account_id, page.after.unwrap_or(0), page.fetch()],
        )
        .await?;
    let list = rows.iter().map(endpoint_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(list, |e| e.id))
}

pub async fn endpoint(conn: Conn<'_>, id: i64) -> Result<Option<Endpoint>, StoreError> {
    let row = conn
        .query_opt(
            &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = ?1"),
            args![id],
        )
        .await?;
    row.as_ref().map(endpoint_row).transpose()
}

/// Removes an endpoint and its deliveries (one in flight finishes unrecorded). False when there
/// was none.
pub async fn remove_endpoint(conn: Conn<'_>, id: i64) -> Result<bool, StoreError> {
    conn.execute("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1", args![id])
        .await?;
    Ok(conn
        .execute("DELETE FROM webhook_endpoints WHERE id = ?1", args![id])
        .await?
        > 0)
}

/// The enabled endpoints whose cursor is behind `newest`.
pub async fn endpoints_behind(conn: Conn<'_>, newest: i64) -> Result<Vec<Endpoint>, StoreError> {
    let rows = conn
        .query(
            &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE enabled = TRUE AND cursor < ?1 ORDER BY id"),
            args![newest],
        )
        .await?;
    rows.iter().map(endpoint_row).collect()
}

/// A delivery to be written by [`fan_out`].
pub struct NewDelivery {
    pub event_id: i64,
    pub event_type: String,
    pub ordering_key: String,
    pub payload: String,
}

/// Moves the cursor of `endpoint` from `from` to `to` and writes the deliveries of the events in
/// between, if the cursor is still at `from` (call inside a transaction). False, and nothing
/// written, when another host or a replay moved it first: the payloads are built before the
/// transaction, which stays short, and the cursor decides who wins.
pub async fn fan_out(
    conn: Conn<'_>,
    endpoint: i64,
    (from, to): (i64, i64),
    deliveries: &[NewDelivery],
    now_ms: i64,
    now: &str,
) -> Result<bool, StoreError> {
    let moved = conn
        .execute(
            "UPDATE webhook_endpoints SET cursor = ?3 WHERE id = ?1 AND cursor = ?2 AND enabled = TRUE",
            args![endpoint, from, to],
        )
        .await?;
    if moved == 0 {
        return Ok(false);
    }
    // In order (PostgreSQL pipelines them on the connection): each sees the ones before it, so
    // the first of a queue is its head and the rest wait behind it.
    futures_util::future::try_join_all(deliveries.iter().map(|d| async move {
        conn.execute(
            "INSERT INTO webhook_deliveries
                 (endpoint_id, event_id, event_type, ordering_key, payload, next_attempt_at, created_at, is_head)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                 WHERE p.endpoint_id = ?1 AND p.ordering_key = ?4 AND p.status = 'pending')
             WHERE TRUE
             ON CONFLICT (endpoint_id, event_id) DO NOTHING",
            args![
                endpoint,
                d.event_id,
                d.event_type,
                d.ordering_key,
                d.payload,
                now_ms,
                now
            ],
        )
        .await
    }))
    .await?;
    Ok(true)
}

/// A delivery claimed for sending, with what the sender needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub ordering_key: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub payload: String,
    pub url: String,
    pub secret: String,
}

/// Claims up to `limit` due deliveries (heads of their queues)
/// for `lease_ms`, in the name of `owner` (the host). Call inside a transaction.
pub async fn claim(
    conn: Conn<'_>,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let lock = match conn.dialect() {
        Dialect::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let rows = conn
        .query(
            &format!(
                "SELECT d.id, d.endpoint_id, d.event_id, d.ordering_key, d.attempts, d.payload, e.url, e.secret
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.status = 'pending' AND d.is_head = TRUE AND d.next_attempt_at <= ?1
                   AND d.lease_until <= ?1 AND e.enabled = TRUE
                 ORDER BY d.next_attempt_at LIMIT ?2{lock}"
            ),
            args![now_ms, limit],
        )
        .await?;
    let claimed = rows
        .iter()
        .map(|r| {
            Ok(Claimed {
                id: r.named("id")?,
                endpoint_id: r.named("endpoint_id")?,
                event_id: r.named("event_id")?,
                ordering_key: r.named("ordering_key")?,
                attempts: r.named("attempts")?,
                payload: r.named("payload")?,
                url: r.named("url")?,
                secret: r.named("secret")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if !claimed.is_empty() {
        conn.execute(
            &format!(
                "UPDATE webhook_deliveries SET lease_until = ?1, lease_owner = ?2 WHERE id IN ({})",
                id_list(claimed.iter().map(|c| c.id))
            ),
            args![now_ms + lease_ms, owner],
        )
        .await?;
    }
    Ok(claimed)
}

/// Whether any delivery is due (a read of the due heads' index, no lock taken).
pub async fn any_due(conn: Conn<'_>, now_ms: i64) -> Result<bool, StoreError> {
    Ok(conn
        .value::<i64>(
            "SELECT 1 FROM webhook_deliveries INDEXED BY webhook_deliveries_due
             WHERE status = 'pending' AND is_head = TRUE AND next_attempt_at <= ?1 AND lease_until <= ?1 LIMIT 1",
            args![now_ms],
        )
        .await?
        .is_some())
}

/// Gives up the leases `owner` holds: a host starting again after a crash sends what it had in
/// flight at once instead of waiting for its leases to run out.
pub async fn release_leases(conn: Conn<'_>, owner: &str) -> Result<u64, StoreError> {
    conn.execute(
        "UPDATE webhook_deliveries SET lease_until = 0 WHERE lease_owner = ?1 AND status = 'pending' AND lease_until > 0",
        args![owner],
    )
    .await
}

/// `1,2,3` for an `IN (…)` list (integers only, so nothing to escape).
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// How one attempt ended, as recorded.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// `410 Gone`: the endpoint is disabled, the delivery failed.
    Gone,
    /// Anything else: retried at `next_attempt_ms`, or failed when `None` (the schedule ran out).
    Retry {
        status: Option<u16>,
        error: String,
        next_attempt_ms: Option<i64>,
    },
}

/// Records the attempts' outcomes (call inside a transaction).
pub async fn finish(conn: Conn<'_>, results: &[(Claimed, Outcome)], now: &str) -> Result<(), StoreError> {
    let delivered: Vec<i64> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Delivered { .. }))
        .map(|(c, _)| c.id)
        .collect();
    if !delivered.is_empty() {
        conn.execute(
            &format!(
                "UPDATE webhook_deliveries SET status = 'delivered', is_head = FALSE, attempts = attempts + 1,
                 lease_until = 0, last_status = 200, last_error = NULL, delivered_at = ?1 WHERE id IN ({})",
                id_list(delivered.into_iter())
            ),
            args![now],
        )
        .await?;
    }
    for (claimed, outcome) in results {
        match outcome {
            Outcome::Delivered { status } if *status != 200 => {
                conn.execute(
                    "UPDATE webhook_deliveries SET last_status = ?2 WHERE id = ?1",
                    args![claimed.id, i64::from(*status)],
                )
                .await?;
            }
            Outcome::Delivered { .. } => {}
            Outcome::Gone => {
                conn.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', is_head = FALSE, attempts = attempts + 1,
                     lease_until = 0, last_status = 410, last_error = 'the endpoint answered 410 Gone: disabled'
                     WHERE id = ?1",
                    args![claimed.id],
                )
                .await?;
                conn.execute(
                    "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = '410 Gone' WHERE id = ?1",
                    args![claimed.endpoint_id],
                )
                .await?;
            }
            Outcome::Retry {
                status,
                error,
                next_attempt_ms,
            } => {
                let status = status.map(i64::from);
                conn.execute(
                    "UPDATE webhook_deliveries SET status = ?5, is_head = (?5 = 'pending'),
                     attempts = attempts + 1, lease_until = 0, last_status = ?2, last_error = ?3,
                     next_attempt_at = COALESCE(?4, next_attempt_at) WHERE id = ?1",
                    args![
                        claimed.id,
                        status,
                        error,
                        *next_attempt_ms,
                        if next_attempt_ms.is_some() { "pending" } else { "failed" }
                    ],
                )
                .await?;
            }
        }
    }
    // A queue whose head is done (delivered, failed, refused) passes the head on to its next.
    let done = results.iter().filter(|(_, o)| {
        !matches!(
            o,
            Outcome::Retry {
                next_attempt_ms: Some(_),
                ..
            }
        )
    });
    futures_util::future::try_join_all(done.map(|(claimed, _)| async move {
        conn.execute(
            "UPDATE webhook_deliveries SET is_head = TRUE WHERE id = (SELECT MIN(id) FROM webhook_deliveries
             WHERE endpoint_id = ?1 AND ordering_key = ?2 AND status = 'pending')",
            args![claimed.endpoint_id, claimed.ordering_key],
        )
        .await
    }))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub event_type: String,
    /// The `webhook-id` header it is sent with, the same on every attempt.
    pub webhook_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due (Unix milliseconds), for a pending one.
    pub next_attempt_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// The `webhook-id` of an event's deliveries: stable across attempts, hosts and replays, so a
/// receiver can drop a repeat.
pub fn webhook_id(event_id: i64) -> String {
    format!("msg_{event_id}")
}

/// The deliveries list's statement, by which filters it has: `?1` the endpoint, `?2` the status
/// (each NULL when not filtered), `?3` the id before which it starts, `?4` the limit. Each filter
/// walks an index of its own.
pub(super) fn deliveries_sql(endpoint: bool, status: bool) -> String {
    let (index, filter) = match (endpoint, status) {
        (true, true) => (
            "webhook_deliveries_by_endpoint_status",
            "d.endpoint_id = ?1 AND d.status = ?2",
        ),
        // The unused parameter is still named (PostgreSQL needs every parameter's type).
        (true, false) => (
            "webhook_deliveries_by_endpoint",
            "d.endpoint_id = ?1 AND CAST(?2 AS TEXT) IS NULL",
        ),
        (false, true) => (
            "webhook_deliveries_by_status",
            "CAST(?1 AS BIGINT) IS NULL AND d.status = ?2",
        ),
        (false, false) => ("", "CAST(?1 AS BIGINT) IS NULL AND CAST(?2 AS TEXT) IS NULL"),
    };
    let hint = if index.is_empty() {
        String::new()
    } else {
        format!("INDEXED BY {index}")
    };
    format!(
        "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.next_attempt_at,
                d.last_status, d.last_error, d.created_at, d.delivered_at
         FROM webhook_deliveries d {hint}
         WHERE {filter} AND d.id < ?3 ORDER BY d.id DESC LIMIT ?4"
    )
}

/// Deliveries, newest first, a page at a time, filtered by endpoint and status: each filter walks
/// an index of its own.
pub async fn deliveries(
    conn: Conn<'_>,
    endpoint: Option<i64>,
    status: Option<&str>,
    page: &Page<i64>,
) -> Result<Paged<Delivery, i64>, StoreError> {
    let rows = conn
        .query(
            &deliveries_sql(endpoint.is_some(), status.is_some()),
            args![endpoint, status, page.after.unwrap_or(i64::MAX), page.fetch()],
        )
        .await?;
    let list = rows
        .iter()
        .map(|r| {
            let status: String = r.named("status")?;
            let event_id: i64 = r.named("event_id")?;
            Ok(Delivery {
                id: r.named("id")?,
                endpoint_id: r.named("endpoint_id")?,
                event_id,
                event_type: r.named("event_type")?,
                webhook_id: webhook_id(event_id),
                next_attempt_at: if status == "pending" {
                    Some(r.named("next_attempt_at")?)
                } else {
                    None
                },
                status,
                attempts: r.named("attempts")?,
                last_status: r.named("last_status")?,
                last_error: r.named("last_error")?,
                created_at: r.named("created_at")?,
                delivered_at: r.named("delivered_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page.finish(list, |d| d.id))
}

/// Replays an endpoint from `since` (an event id): its deliveries of later events are due again
/// from a fresh schedule, the endpoint is enabled again, and its cursor goes back to `since` so
/// that events it was never given (it did not exist yet) are fanned out
/// too. The number of deliveries made due again.
pub async fn replay(conn: Conn<'_>, endpoint: i64, since: i64, now_ms: i64) -> Result<u64, StoreError> {
    let again = conn
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?3, lease_until = 0
             WHERE endpoint_id = ?1 AND event_id > ?2",
            args![endpoint, since, now_ms],
        )
        .await?;
    conn.execute(
        "UPDATE webhook_deliveries SET is_head = (id IN (SELECT MIN(id) FROM webhook_deliveries
         WHERE endpoint_id = ?1 AND status = 'pending' GROUP BY ordering_key)) WHERE endpoint_id = ?1",
        args![endpoint],
    )
    .await?;
    conn.execute(
        "UPDATE webhook_endpoints SET enabled = TRUE, disabled_reason = NULL,
         cursor = CASE WHEN cursor > ?2 THEN ?2 ELSE cursor END WHERE id = ?1",
        args![endpoint, since],
    )
    .await?;
    Ok(again)
}

/// Pending deliveries (all endpoints): what the sender still owes.
pub async fn pending(conn: Conn<'_>) -> Result<i64, StoreError> {
    Ok(conn
        .value::<i64>(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'",
            args![],
        )
        .await?
        .unwrap_or(0))
}
