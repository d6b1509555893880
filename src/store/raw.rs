//! The bytes of each message as received (our Received header first), kept once: compressed
//! ([`super::codec`]) with their SHA-256 and size beside them, one copy per delivery that every
//! account's row of it shares, freed when the last message row using it goes. (No lookup by
//! hash: the same bytes arriving twice are two deliveries, and an index over every hash cost
//! more writes than the rare duplicate saves.)
//!
//! Rows written before schema 11 are kept as they were (`codec` 0, no hash) until `inboxd
//! migrate` packs them; reads take either.

use super::codec;
use super::error::StoreError;
use super::sql::Conn;
use super::value::args;
use crate::mail::Packed;

/// Large bytes are written into a zero-filled blob in place on SQLite: binding them as a
/// parameter would make SQLite copy them (twice, with the record it builds) before writing.
const STREAM_FROM: usize = 256 * 1024;

/// Stores `packed` (a delivery's bytes, once for all its accounts); its id. (PostgreSQL writes
/// them with the first account's message row instead; see `messages::insert`.)
pub(super) async fn store(conn: Conn<'_>, packed: &Packed) -> Result<i64, StoreError> {
    if let Some(sqlite) = conn.sqlite().filter(|_| packed.data.len() >= STREAM_FROM) {
        sqlite
            .prepare_cached("INSERT INTO raw_messages (data, hash, size, codec) VALUES (zeroblob(?1), ?2, ?3, ?4)")?
            .execute(rusqlite::params![
                packed.data.len() as i64,
                packed.hash,
                packed.size as i64,
                packed.codec
            ])?;
        let id = sqlite.last_insert_rowid();
        let mut blob = sqlite.blob_open(rusqlite::MAIN_DB, "raw_messages", "data", id, false)?;
        for (i, chunk) in packed.data.chunks(1024 * 1024).enumerate() {
            blob.write_at(chunk, i * 1024 * 1024)?;
        }
        return Ok(id);
    }
    conn.value(
        "INSERT INTO raw_messages (data, hash, size, codec) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        args![packed.data, packed.hash, packed.size as i64, packed.codec],
    )
    .await?
    .ok_or_else(|| StoreError::Failed("the raw bytes were not written".into()))
}

/// The bytes of stored copy `id`, as received. A message costs its compressed size and its size
/// while it is read, never a copy more: SQLite's bytes are decompressed where they lie.
pub async fn read(conn: Conn<'_>, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    if let Some(sqlite) = conn.sqlite() {
        use rusqlite::OptionalExtension;
        let found = sqlite
            .prepare_cached("SELECT data, size, codec FROM raw_messages WHERE id = ?1")?
            .query_row([id], |r| {
                let data = r.get_ref(0)?.as_blob()?;
                Ok(codec::unpack(r.get(2)?, r.get(1)?, data))
            })
            .optional()?;
        return found.transpose().map_err(StoreError::Failed);
    }
    let Some(row) = conn
        .query_opt("SELECT data, size, codec FROM raw_messages WHERE id = ?1", args![id])
        .await?
    else {
        return Ok(None);
    };
    let (data, size, codec): (Vec<u8>, Option<i64>, i64) =
        (row.named("data")?, row.named("size")?, row.named("codec")?);
    codec::unpack(codec, size, &data).map(Some).map_err(StoreError::Failed)
}

/// Deletes stored copy `id` unless a message row still uses it (the last one gone frees it).
pub(super) async fn release(conn: Conn<'_>, id: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM raw_messages WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM messages WHERE raw_id = ?1)",
        args![id],
    )
    .await?;
    Ok(())
}
