//! Rows written by older builds made like new ones, a batch at a time (`inboxd migrate`): raw
//! bytes compressed with their hash, bodies moved out of the `text` and `html` columns into the
//! compressed `body` (schema 11), messages added to the search index, envelopes and events' data
//! packed (schema 17, once every host reads them: `settings::JSON_PACKED`). Each batch is one
//! short transaction, so a server can run meanwhile (its commits wait at most one batch); a batch
//! interrupted leaves every row either as it was or converted, and the next run picks up where it
//! stopped.

use super::codec;
use super::error::StoreError;
use super::events::REDACTED;
use super::json_codec;
use super::search::{self, BACKFILL, Entry, Scope};
use super::settings;
use super::sql::Conn;
use super::value::args;
use crate::mail::Kind;

/// What one step converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Converted {
    pub raw: usize,
    pub bodies: usize,
    pub indexed: usize,
    pub envelopes: usize,
    pub events: usize,
}

impl Converted {
    pub fn is_empty(&self) -> bool {
        *self == Converted::default()
    }
}

/// Pause between two steps on SQLite, in which the sessions waiting for the writer take it: a
/// step begins as soon as the last commits, and without a pause a server's writer, asleep in its
/// busy handler, missed the lock for seconds (a 250 took 1.9 s while 100,000 messages were
/// converted beside it).
pub const PAUSE: std::time::Duration = super::scrub::BREATHE;

/// Stored copies still as they were, after an id (`?2`), `?1` at most.
pub(super) const RAW_TO_PACK: &str =
    "SELECT id, data FROM raw_messages WHERE id > ?2 AND codec = 0 ORDER BY id LIMIT ?1";
/// Messages whose body is still in the old columns, after an id (`?2`), `?1` at most.
pub(super) const BODIES_TO_PACK: &str =
    "SELECT id, text, html FROM messages WHERE id > ?2 AND body IS NULL AND (text IS NOT NULL OR html IS NOT NULL)
     ORDER BY id LIMIT ?1";

/// Messages whose envelope is still text, after an id (`?2`), `?1` at most.
pub(super) const ENVELOPES_TO_PACK: &str =
    "SELECT id, envelope_json FROM messages WHERE id > ?2 AND envelope IS NULL ORDER BY id LIMIT ?1";
/// Events whose data is still text, after an id (`?2`), `?1` at most (a redacted event's data
/// stays as it is: there is nothing in it to pack).
pub(super) const EVENTS_TO_PACK: &str =
    "SELECT id, data FROM events WHERE id > ?2 AND packed IS NULL ORDER BY id LIMIT ?1";

/// The newest messages below an id (`?1`) with what their search entries are made of, `?2` at most.
pub(super) fn to_index_sql() -> String {
    format!("{ENTRY_SQL} WHERE m.id < ?1 ORDER BY m.id DESC LIMIT ?2")
}

/// How far a run has got: the last raw row and the last message whose bytes and body it has
/// seen. Each step seeks past them, so a batch reads its own rows only: without it every batch
/// walked again over all the rows converted before it, and a run took the square of the table.
/// A new run starts from nothing and passes over what an earlier one converted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    raw_after: i64,
    bodies_after: i64,
    envelopes_after: i64,
    events_after: i64,
}

/// Converts up to `batch` rows of each kind after `from`, in one transaction; what it converted
/// and where the next step starts (`from` again if the transaction failed).
pub async fn step(conn: Conn<'_>, batch: i64, from: Cursor) -> Result<(Converted, Cursor), StoreError> {
    conn.begin().await?;
    let done = async {
        let (raw, raw_after) = pack_raw(conn, batch, from.raw_after).await?;
        let (bodies, bodies_after) = pack_bodies(conn, batch, from.bodies_after).await?;
        // Packed only once every host reads them so (a host of an older build would not).
        let ((envelopes, envelopes_after), (events, events_after)) = if settings::json_packed(conn).await? {
            (
                pack_envelopes(conn, batch, from.envelopes_after).await?,
                pack_events(conn, batch, from.events_after).await?,
            )
        } else {
            ((0, from.envelopes_after), (0, from.events_after))
        };
        let converted = Converted {
            raw,
            bodies,
            indexed: index(conn, batch).await?,
            envelopes,
            events,
        };
        conn.batch("COMMIT").await?;
        Ok((
            converted,
            Cursor {
                raw_after,
                bodies_after,
                envelopes_after,
                events_after,
            },
        ))
    }
    .await;
    if done.is_err() && conn.in_transaction() {
        let _ = conn.batch("ROLLBACK").await;
    }
    done
}

/// Compresses up to `batch` stored copies kept as they were, after id `after`; how many, and
/// the last id.
async fn pack_raw(conn: Conn<'_>, batch: i64, after: i64) -> Result<(usize, i64), StoreError> {
    let rows = conn.query(RAW_TO_PACK, args![batch, after]).await?;
    let mut last = after;
    for r in &rows {
        let (id, data): (i64, Vec<u8>) = (r.named("id")?, r.named("data")?);
        last = id;
        let packed = codec::pack_raw(&data);
        conn.execute(
            "UPDATE raw_messages SET data = ?2, hash = ?3, size = ?4, codec = ?5 WHERE id = ?1",
            args![id, packed.data, packed.hash, packed.size as i64, packed.codec],
        )
        .await?;
    }
    Ok((rows.len(), last))
}

/// Packs up to `batch` bodies kept in the old columns, of messages after id `after`; how many,
/// and the last id.
async fn pack_bodies(conn: Conn<'_>, batch: i64, after: i64) -> Result<(usize, i64), StoreError> {
    let rows = conn.query(BODIES_TO_PACK, args![batch, after]).await?;
    let mut last = after;
    for r in &rows {
        let (id, text, html): (i64, Option<String>, Option<String>) =
            (r.named("id")?, r.named("text")?, r.named("html")?);
        last = id;
        let body = codec::pack_body(text.as_deref(), html.as_deref());
        conn.execute(
            "UPDATE messages SET body = ?2, text = NULL, html = NULL, headers_json = '{}' WHERE id = ?1",
            args![id, body],
        )
        .await?;
    }
    Ok((rows.len(), last))
}

/// Packs up to `batch` envelopes kept as text, of messages after id `after`; how many, and the
/// last id.
async fn pack_envelopes(conn: Conn<'_>, batch: i64, after: i64) -> Result<(usize, i64), StoreError> {
    let update = "UPDATE messages SET envelope = ?2, envelope_json = '' WHERE id = ?1";
    pack_json(conn, ENVELOPES_TO_PACK, "envelope_json", update, batch, after).await
}

/// Packs the data of up to `batch` events kept as text, after id `after` (redacted ones are
/// passed over); how many, and the last id.
async fn pack_events(conn: Conn<'_>, batch: i64, after: i64) -> Result<(usize, i64), StoreError> {
    let update = "UPDATE events SET packed = ?2, data = '' WHERE id = ?1";
    pack_json(conn, EVENTS_TO_PACK, "data", update, batch, after).await
}

/// The rows `select` finds after `after` (`batch` at most) with their JSON text in `column`,
/// each written packed by `update` (`?1` the id, `?2` the packed value), but a redacted one's,
/// which holds nothing to pack; how many were packed, and the last id.
async fn pack_json(
    conn: Conn<'_>,
    select: &str,
    column: &str,
    update: &str,
    batch: i64,
    after: i64,
) -> Result<(usize, i64), StoreError> {
    let rows = conn.query(select, args![batch, after]).await?;
    let mut last = after;
    let mut packed = 0;
    for r in &rows {
        let (id, text): (i64, String) = (r.named("id")?, r.named(column)?);
        last = id;
        if text == REDACTED {
            continue;
        }
        conn.execute(update, args![id, json_codec::pack(&text)]).await?;
        packed += 1;
    }
    Ok((packed, last))
}

/// Indexes the newest `batch` messages not indexed yet (those below the setting's id), and moves
/// the setting down past them.
async fn index(conn: Conn<'_>, batch: i64) -> Result<usize, StoreError> {
    let below: i64 = match conn
        .value::<Vec<u8>>("SELECT value FROM settings WHERE name = ?1", args![BACKFILL])
        .await?
    {
        Some(value) => String::from_utf8_lossy(&value).trim().parse().unwrap_or(0),
        None => 0,
    };
    if below <= 1 {
        return Ok(0);
    }
    let rows = conn.query(&to_index_sql(), args![below, batch]).await?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    // Quarantined mail and mail outside conversations are not searched (the join leaves them
    // out); the setting moves past them too.
    let next = entries.last().map_or(0, |e| e.message_id);
    for e in &entries {
        search::remove(conn, e.message_id).await?;
    }
    search::index(conn, &entries).await?;
    conn.execute(
        "UPDATE settings SET value = ?2 WHERE name = ?1",
        args![BACKFILL, next.to_string().into_bytes()],
    )
    .await?;
    Ok(entries.len())
}

/// What a message's search entry is made of: the message, its conversation's contact.
const ENTRY_SQL: &str = "SELECT m.id, m.account_id, m.conversation_id, m.kind, m.subject, m.from_name, m.from_email,
        m.body, m.text, m.original_json, c.contact_id AS owner, k.email AS contact_email, k.name AS contact_name
     FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts k ON k.id = c.contact_id";

/// Indexes `ids` anew where they stand now (a merge or a split moved them to another
/// conversation): the old entries go, new ones are written with the new scope.
pub(super) async fn reindex(conn: Conn<'_>, ids: &[i64]) -> Result<(), StoreError> {
    let dialect = conn.dialect();
    for chunk in ids.chunks(500) {
        let rows = conn
            .query(
                &format!("{ENTRY_SQL} WHERE {}", dialect.in_ids("m.id", 1)),
                args![dialect.ids(chunk)],
            )
            .await?;
        let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        for id in chunk {
            search::remove(conn, *id).await?;
        }
        search::index(conn, &entries).await?;
    }
    Ok(())
}

/// One row of [`ENTRY_SQL`] as the index takes it.
fn entry(r: &super::value::Row) -> Result<Entry, StoreError> {
    let kind = r
        .named::<String>("kind")
        .ok()
        .and_then(|k| Kind::from_name(&k))
        .unwrap_or(Kind::Message);
    let text = match r.named::<Option<Vec<u8>>>("body")? {
        Some(packed) => codec::unpack_body(&packed).map_err(StoreError::Failed)?.text,
        None => r.named("text")?,
    };
    let original: Option<crate::mail::Forwarded> = r
        .named::<Option<String>>("original_json")?
        .and_then(|j| serde_json::from_str(&j).ok());
    let (subject, from_name, from_email, contact_name, contact_email): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    ) = (
        r.named("subject")?,
        r.named("from_name")?,
        r.named("from_email")?,
        r.named("contact_name")?,
        r.named("contact_email")?,
    );
    Ok(Entry {
        message_id: r.named("id")?,
        scope: Scope {
            account: r.named("account_id")?,
            contact: r.named("owner")?,
            conversation: r.named("conversation_id")?,
            kind,
        },
        document: search::document(&[
            subject.as_deref().unwrap_or(""),
            from_name.as_deref().unwrap_or(""),
            from_email.as_deref().unwrap_or(""),
            text.as_deref().unwrap_or(""),
            original.as_ref().map_or("", |o| o.body.as_str()),
            contact_name.as_deref().unwrap_or(""),
            &contact_email,
        ]),
    })
}
