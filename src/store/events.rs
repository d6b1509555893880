//! The event log the inbox application follows: append-only, in commit order on both engines (see
//! docs/SCHEMA.md), each event's id its cursor. Events are written with the commit that made them,
//! last in it. An event keeps its id, type and time for good; an erasure replaces the data of
//! the events about what it erased by `{"redacted": true}` ([`redact`]), so a follower sees no
//! gap.

use super::error::StoreError;
use super::json_codec;
use super::settings::JSON_PACKED_SQL;
use super::sql::{Conn, Dialect};
use super::value::{Param, Row, args};
use base64::Engine;
use serde::Serialize;
use serde_json::json;
use std::sync::LazyLock;

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

impl NewEvent {
    /// The contact, conversation or message (`field`) the event is about, kept beside its data so that an
    /// erasure finds the event by index.
    fn about(&self, field: &str) -> Option<i64> {
        self.data.get(field).and_then(serde_json::Value::as_i64)
    }
}

fn event_row(r: &Row) -> Result<Event, StoreError> {
    // Packed since schema 17 ([`json_codec`]); the events written before, and redacted ones, are
    // text. A damaged one reads as null, as unreadable text does: one row must not stop the feed.
    let data = match r.named::<Option<Vec<u8>>>("packed")? {
        Some(packed) => match json_codec::unpack(&packed) {
            Ok(json) => serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
            Err(e) => {
                tracing::warn!(event = r.named::<i64>("id").unwrap_or(0), error = %e, "event data unreadable");
                serde_json::Value::Null
            }
        },
        None => r.named("data")?,
    };
    Ok(Event {
        id: r.named("id")?,
        kind: r.named("type")?,
        account_id: r.named("account_id")?,
        created_at: r.named("created_at")?,
        data,
    })
}

/// An account's events after a cursor: `?1` the account, `?2` the cursor, `?3` the limit.
pub(super) const LIST_OF_ACCOUNT: &str = "SELECT id, type, account_id, created_at, data, packed FROM events
     INDEXED BY events_by_account WHERE account_id = ?1 AND id > ?2 ORDER BY account_id, id LIMIT ?3";
/// Every account's events after a cursor: `?1` the cursor, `?2` the limit.
pub(super) const LIST_ALL: &str =
    "SELECT id, type, account_id, created_at, data, packed FROM events WHERE id > ?1 ORDER BY id LIMIT ?2";

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

/// Writes events in their order, each one's data packed ([`json_codec`]; `data` is then empty)
/// once every host reads it so ([`super::settings::JSON_PACKED`]), as text before; on PostgreSQL
/// their ids are drawn under the events lock (see docs/SCHEMA.md), in one statement for all of
/// them (each event row is one round trip's worth of work less).
pub(super) async fn insert(conn: Conn<'_>, events: &[NewEvent], now: &str) -> Result<(), StoreError> {
    let texts: Vec<String> = events.iter().map(|e| e.data.to_string()).collect();
    let packed: Vec<Vec<u8>> = texts.iter().map(|text| json_codec::pack(text)).collect();
    match conn.dialect() {
        Dialect::Sqlite => {
            for ((e, text), packed) in events.iter().zip(&texts).zip(&packed) {
                conn.execute(
                    &SQLITE_INSERT,
                    args![
                        e.kind,
                        e.account_id,
                        now,
                        text,
                        Param::Blob(packed),
                        e.about("contact_id"),
                        e.about("conversation_id"),
                        e.about("message_id")
                    ],
                )
                .await?;
            }
        }
        Dialect::Postgres if !events.is_empty() => {
            // One JSON array carries every row, the data as text and packed (in base64).
            let rows: Vec<serde_json::Value> = events
                .iter()
                .zip(&texts)
                .zip(&packed)
                .map(|((e, text), packed)| {
                    json!([
                        e.kind,
                        e.account_id,
                        text,
                        e.about("contact_id"),
                        e.about("conversation_id"),
                        e.about("message_id"),
                        base64::engine::general_purpose::STANDARD.encode(packed)
                    ])
                })
                .collect();
            conn.execute(&POSTGRES_INSERT, args![now, serde_json::Value::Array(rows).to_string()])
                .await?;
        }
        Dialect::Postgres => {}
    }
    Ok(())
}

/// One event on SQLite: `?4` its data as text, `?5` packed; the one [`JSON_PACKED_SQL`] picks is
/// written, the other column left empty.
static SQLITE_INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO events (type, account_id, created_at, data, packed, contact_id, conversation_id, message_id)
         SELECT ?1, ?2, ?3, CASE WHEN p.yes THEN '' ELSE ?4 END, CASE WHEN p.yes THEN ?5 END, ?6, ?7, ?8
         FROM (SELECT {JSON_PACKED_SQL} AS yes) p"
    )
});

/// Every event of a transaction on PostgreSQL: `?2` a JSON array of rows, each `[type, account,
/// data as text, contact, conversation, message, data packed in base64]`.
static POSTGRES_INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO events (type, account_id, created_at, data, packed, contact_id, conversation_id, message_id)
         SELECT e.value->>0, CAST(e.value->>1 AS BIGINT), ?1, CASE WHEN p.yes THEN '' ELSE e.value->>2 END,
                CASE WHEN p.yes THEN decode(e.value->>6, 'base64') END, CAST(e.value->>3 AS BIGINT),
                CAST(e.value->>4 AS BIGINT), CAST(e.value->>5 AS BIGINT)
         FROM json_array_elements(CAST(?2 AS JSON)) WITH ORDINALITY AS e (value, n)
         CROSS JOIN (SELECT {JSON_PACKED_SQL} AS yes) p ORDER BY e.n"
    )
});

/// What events are found by for a redaction: the column that names what they are about.
#[derive(Debug, Clone, Copy)]
pub enum About {
    Contact,
    Conversation,
    Message,
}

impl About {
    fn column(self) -> &'static str {
        match self {
            About::Contact => "contact_id",
            About::Conversation => "conversation_id",
            About::Message => "message_id",
        }
    }
}

/// The data of a redacted event.
pub const REDACTED: &str = r#"{"redacted":true}"#;

/// Redacts at most `limit` of the events about `ids` (keeping id, type, account and time) and
/// drops their webhook deliveries, pending or sent (a queue whose head went passes it on); how
/// many events it redacted (fewer than `limit`: none is left).
pub(super) async fn redact(conn: Conn<'_>, about: About, ids: &[i64], limit: i64) -> Result<usize, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let dialect = conn.dialect();
    let redacted = conn
        .query(&redact_sql(dialect, about), args![dialect.ids(ids), limit, REDACTED])
        .await?
        .iter()
        .map(|r| r.named::<i64>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    if redacted.is_empty() {
        return Ok(0);
    }
    drop_deliveries(conn, &redacted).await?;
    Ok(redacted.len())
}

/// Redacts a batch of the events about `?1` (ids, [`Dialect::ids`]): `?2` how many, `?3` the data.
pub(super) fn redact_sql(dialect: Dialect, about: About) -> String {
    let index = match about {
        About::Contact => "events_by_contact",
        About::Conversation => "events_by_conversation",
        About::Message => "events_by_message",
    };
    format!(
        "UPDATE events SET data = ?3, packed = NULL, contact_id = NULL, conversation_id = NULL,
         message_id = NULL
         WHERE id IN (SELECT id FROM events INDEXED BY {index} WHERE {} LIMIT ?2) RETURNING id",
        dialect.in_ids(about.column(), 1)
    )
}

/// Redacts the events of `account_id` after `?2`, `?3` of them in id order, `?4` the data.
pub(super) const REDACT_ACCOUNT: &str = "UPDATE events SET data = ?4, packed = NULL, contact_id = NULL,
     conversation_id = NULL, message_id = NULL WHERE id IN (SELECT id FROM events INDEXED BY events_by_account WHERE account_id = ?1 AND id > ?2
     ORDER BY account_id, id LIMIT ?3) RETURNING id";

/// Drops the webhook deliveries of `?1` (event ids, [`Dialect::ids`]).
pub(super) fn drop_deliveries_sql(dialect: Dialect) -> String {
    format!(
        "DELETE FROM webhook_deliveries INDEXED BY webhook_deliveries_by_event WHERE {} RETURNING endpoint_id, ordering_key",
        dialect.in_ids("event_id", 1)
    )
}

/// Passes the head of endpoint `?1`'s queue `?2` to its oldest pending delivery.
pub(super) const PASS_HEAD: &str = "UPDATE webhook_deliveries SET is_head = TRUE WHERE id = (SELECT MIN(id)
     FROM webhook_deliveries INDEXED BY webhook_deliveries_in_order WHERE endpoint_id = ?1 AND ordering_key = ?2
     AND status = 'pending')";

/// Redacts the events of `account_id` after event `after`, at most `limit` of them (keyset by id:
/// an account's deletion walks its log once); the last one redacted, None when none was left.
pub(super) async fn redact_account(
    conn: Conn<'_>,
    account_id: i64,
    after: i64,
    limit: i64,
) -> Result<Option<i64>, StoreError> {
    let redacted = conn
        .query(REDACT_ACCOUNT, args![account_id, after, limit, REDACTED])
        .await?
        .iter()
        .map(|r| r.named::<i64>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    drop_deliveries(conn, &redacted).await?;
    Ok(redacted.into_iter().max())
}

/// Drops the webhook deliveries of `events`, pending or sent; a queue whose head went passes it
/// on.
async fn drop_deliveries(conn: Conn<'_>, events: &[i64]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let dialect = conn.dialect();
    let redacted = events;
    let queues = conn
        .query(&drop_deliveries_sql(dialect), args![dialect.ids(redacted)])
        .await?;
    let mut passed = std::collections::HashSet::new();
    for queue in &queues {
        let (endpoint, key): (i64, String) = (queue.named("endpoint_id")?, queue.named("ordering_key")?);
        if passed.insert((endpoint, key.clone())) {
            conn.execute(PASS_HEAD, args![endpoint, key]).await?;
        }
    }
    Ok(())
}
