//! Server-wide settings kept with the data: the reply-token key generated when none is configured,
//! the key of the erasure log's address hashes, and whether small JSON is written packed.
//!
//! Every host sharing one database must sign reply addresses with the same key, and no two installs
//! may share one (a key from the source code would let an address minted on anyone's copy reach
//! every unconfigured install). So the first process to need a key stores 32 random bytes under a
//! unique name; any later one, on any host, reads the same bytes.

use super::StoreError;
use super::sql::{Conn, args};

const REPLY_KEY: &str = "reply_token_key";
const ERASURE_KEY: &str = "erasure_hash_key";
const KEY_LEN: usize = 32;

/// Present once every host reads an event's data and a message's envelope packed (schema 17,
/// [`super::json_codec`]); from then on they are written packed. A host of an older build reads a
/// packed row as empty, and in a rolling upgrade on PostgreSQL such hosts run beside new ones for
/// a while: so there it is set by `inboxd migrate --all-hosts-upgraded` (or by the migration, for
/// a database that has no events yet). SQLite has one host: its migration sets it.
pub const JSON_PACKED: &str = "json_packed";
/// The condition, in SQL, that [`JSON_PACKED`] is set: the statements that write JSON ask it
/// themselves, so every host follows the setting from the transaction after it is set.
pub(super) const JSON_PACKED_SQL: &str = "EXISTS (SELECT 1 FROM settings WHERE name = 'json_packed')";

/// Whether [`JSON_PACKED`] is set.
pub async fn json_packed(conn: Conn<'_>) -> Result<bool, StoreError> {
    Ok(stored(conn, JSON_PACKED).await?.is_some())
}

/// Sets [`JSON_PACKED`]: every host runs a build that reads packed JSON.
pub async fn set_json_packed(conn: Conn<'_>) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (name, value, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        args![JSON_PACKED, b"1".as_slice(), crate::time::now_rfc3339()],
    )
    .await
    .map(|_| ())
}

/// The stored reply-token key, created now if there is none.
pub async fn reply_key(conn: Conn<'_>) -> Result<Vec<u8>, StoreError> {
    key(conn, REPLY_KEY).await
}

/// The key of the erasure log's keyed address hashes, created now if there is none: without it
/// a hash of a guessed address cannot be checked against the log.
pub async fn erasure_key(conn: Conn<'_>) -> Result<Vec<u8>, StoreError> {
    key(conn, ERASURE_KEY).await
}

async fn key(conn: Conn<'_>, name: &str) -> Result<Vec<u8>, StoreError> {
    if let Some(key) = stored(conn, name).await? {
        return Ok(key);
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| StoreError::Failed(format!("no random source for the {name}: {e}")))?;
    // The first writer wins; a process that lost the race reads the winner's key.
    conn.execute(
        "INSERT INTO settings (name, value, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        args![name, key.as_slice(), crate::time::now_rfc3339()],
    )
    .await?;
    stored(conn, name)
        .await?
        .ok_or_else(|| StoreError::Failed(format!("the {name} vanished")))
}

/// The stored reply-token key, if one was generated.
pub async fn stored_reply_key(conn: Conn<'_>) -> Result<Option<Vec<u8>>, StoreError> {
    stored(conn, REPLY_KEY).await
}

async fn stored(conn: Conn<'_>, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    conn.value("SELECT value FROM settings WHERE name = ?1", args![name])
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::block;
    use rusqlite::Connection;
    use std::sync::Mutex;

    fn fresh() -> Mutex<Connection> {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        Mutex::new(conn)
    }

    #[test]
    fn a_key_is_generated_once_and_then_read() {
        let db = fresh();
        let conn = Conn::Sqlite(&db);
        assert_eq!(block(stored_reply_key(conn)).unwrap(), None);
        let key = block(reply_key(conn)).unwrap();
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(block(reply_key(conn)).unwrap(), key);
        let other = fresh();
        assert_ne!(
            block(reply_key(Conn::Sqlite(&other))).unwrap(),
            key,
            "two installs never share a key"
        );
    }

    /// The migration's row, the name the code reads and the condition the statements ask are
    /// one setting (each spells its name).
    #[test]
    fn the_packed_json_switch_is_one_setting_however_it_is_read() {
        let db = fresh();
        let conn = Conn::Sqlite(&db);
        let asked = |conn: Conn<'_>| block(conn.value::<bool>(&format!("SELECT {JSON_PACKED_SQL}"), args![]));
        assert!(block(json_packed(conn)).unwrap(), "SQLite's migration sets it");
        assert_eq!(asked(conn).unwrap(), Some(true));
        block(conn.execute("DELETE FROM settings WHERE name = ?1", args![JSON_PACKED])).unwrap();
        assert!(!block(json_packed(conn)).unwrap());
        assert_eq!(asked(conn).unwrap(), Some(false));
        block(set_json_packed(conn)).unwrap();
        assert_eq!(asked(conn).unwrap(), Some(true));
    }
}
