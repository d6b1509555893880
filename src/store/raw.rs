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

/// A stored copy larger than this is read a piece of this size at a time and decompressed as it
/// comes, so a message costs its size and a piece while it is read. PostgreSQL sends a column
/// whole in its row (its client and our row each held a copy: a 25 MiB message read back took
/// 3.3× its size, 1.3× now); its TOAST is kept uncompressed, so a piece reads only its own chunks.
/// SQLite reads a blob's pages as they are asked for.
const PIECE: usize = 1024 * 1024;

/// The bytes of stored copy `id`, as received.
pub async fn read(conn: Conn<'_>, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    if let Some(sqlite) = conn.sqlite() {
        use rusqlite::OptionalExtension;
        // One statement: SQLite reads the blob only when its column is asked for, so a large one
        // is left to the incremental reads below.
        let Some((size, codec, stored, whole)) = sqlite
            .prepare_cached("SELECT size, codec, length(data), data FROM raw_messages WHERE id = ?1")?
            .query_row([id], |r| {
                let (size, codec, stored) = (r.get::<_, Option<i64>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?);
                let whole = if stored as usize <= PIECE {
                    Some(codec::unpack(codec, size, r.get_ref(3)?.as_blob()?))
                } else {
                    None
                };
                Ok((size, codec, stored, whole))
            })
            .optional()?
        else {
            return Ok(None);
        };
        if let Some(whole) = whole {
            return whole.map(Some).map_err(StoreError::Failed);
        }
        let mut unpacker = codec::Unpacker::new(codec, size).map_err(StoreError::Failed)?;
        let blob = sqlite.blob_open(rusqlite::MAIN_DB, "raw_messages", "data", id, true)?;
        let mut piece = vec![0u8; PIECE];
        for at in (0..stored as usize).step_by(PIECE) {
            let n = blob.read_at(&mut piece, at)?;
            unpacker.push(&piece[..n]).map_err(StoreError::Failed)?;
        }
        return unpacker.finish().map(Some).map_err(StoreError::Failed);
    }
    // The first piece comes with the row: a copy of one piece or less is one statement.
    let Some(row) = conn
        .query_opt(
            "SELECT size, codec, CAST(length(data) AS BIGINT) AS stored, substring(data FROM 1 FOR ?2) AS first
             FROM raw_messages WHERE id = ?1",
            args![id, PIECE as i64],
        )
        .await?
    else {
        return Ok(None);
    };
    let (size, codec, stored, first): (Option<i64>, i64, i64, Vec<u8>) = (
        row.named("size")?,
        row.named("codec")?,
        row.named("stored")?,
        row.named("first")?,
    );
    drop(row);
    let mut unpacker = codec::Unpacker::new(codec, size).map_err(StoreError::Failed)?;
    unpacker.push(&first).map_err(StoreError::Failed)?;
    for at in (PIECE as i64..stored).step_by(PIECE) {
        let piece: Option<Vec<u8>> = conn
            .value(
                "SELECT substring(data FROM ?2 FOR ?3) FROM raw_messages WHERE id = ?1",
                args![id, at + 1, PIECE as i64],
            )
            .await?;
        // Deleted while it was read (an erasure, a purge): as if it had not been there.
        let Some(piece) = piece else { return Ok(None) };
        unpacker.push(&piece).map_err(StoreError::Failed)?;
    }
    unpacker.finish().map(Some).map_err(StoreError::Failed)
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
