//! The event log the inbox application follows: append-only, in commit order on both engines (see
//! docs/SCHEMA.md), each event's id its cursor. Events are written with the commit that made them,
//! last in it.

use super::error::StoreError;
use super::sql::{Conn, Dialect};
use super::value::{Row, args};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub account_id: i64,
    pub created_at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// An event a piece of work produced, written with the others of its transaction just before
/// COMMIT.
#[derive(Debug)]
pub(super) struct NewEvent {
    pub kind: &'static str,
    pub account_id: i64,
    pub data: serde_json::Value,
}

fn event_row(r: &Row) -> Result<Event, StoreError> {
    Ok(Event {
        id: r.named("id")?,
        kind: r.named("type")?,
        account_id: r.named("account_id")?,
        created_at: r.named("created_at")?,
        data: r.named("data")?,
    })
}

/// An account's events after a cursor: `?1` the account, `?2` the cursor, `?3` the limit.
pub(super) const LIST_OF_ACCOUNT: &str = "SELECT id, type, account_id, created_at, data FROM events
     INDEXED BY events_by_account WHERE account_id = ?1 AND id > ?2 ORDER BY account_id, id LIMIT ?3";
/// Every account's events after a cursor: `?1` the cursor, `?2` the limit.
pub(super) const LIST_ALL: &str =
    "SELECT id, type, account_id, created_at, data FROM events WHERE id > ?1 ORDER BY id LIMIT ?2";

/// Events after `since` (an event id; 0 for all), oldest first; one account's when given.
pub async fn list(conn: Conn<'_>, since: i64, account_id: Option<i64>, limit: i64) -> Result<Vec<Event>, StoreError> {
    let rows = match account_id {
        Some(account) => conn.query(LIST_OF_ACCOUNT, args![account, since, limit]).await?,
        None => conn.query(LIST_ALL, args![since, limit]).await?,
    };
    rows.iter().map(event_row).collect()
}

/// The newest event's id (0 when there is none).
pub async fn newest(conn: Conn<'_>) -> Result<i64, StoreError> {
    Ok(conn
        .value::<Option<i64>>("SELECT max(id) FROM events", args![])
        .await?
        .flatten()
        .unwrap_or(0))
}

/// Writes events in their order; on PostgreSQL their ids are drawn under the events lock (see
/// docs/SCHEMA.md), in one statement for all of them (each event row is one round trip's worth of
/// work less).
pub(super) async fn insert(conn: Conn<'_>, events: &[NewEvent], now: &str) -> Result<(), StoreError> {
    match conn.dialect() {
        Dialect::Sqlite => {
            for e in events {
                conn.execute(
                    "INSERT INTO events (type, account_id, created_at, data) VALUES (?1, ?2, ?3, ?4)",
                    args![e.kind, e.account_id, now, e.data.to_string()],
                )
                .await?;
            }
        }
        Dialect::Postgres if !events.is_empty() => {
            let rows: Vec<serde_json::Value> = events
                .iter()
                .map(|e| json!([e.kind, e.account_id, e.data.to_string()]))
                .collect();
            conn.execute(
                "INSERT INTO events (type, account_id, created_at, data)
                 SELECT e.value->>0, CAST(e.value->>1 AS BIGINT), ?1, e.value->>2
                 FROM json_array_elements(CAST(?2 AS JSON)) WITH ORDINALITY AS e (value, n) ORDER BY e.n",
                args![now, serde_json::Value::Array(rows).to_string()],
            )
            .await?;
        }
        Dialect::Postgres => {}
    }
    Ok(())
}
