//! Server-wide settings kept with the data: the reply-token key generated when none is configured.
//!
//! Every host sharing one database must sign reply addresses with the same key, and no two installs
//! may share one (a key from the source code would let an address minted on anyone's copy reach
//! every unconfigured install). So the first process to need a key stores 32 random bytes under a
//! unique name; any later one, on any host, reads the same bytes.

use rusqlite::{Connection, OptionalExtension, params};

const REPLY_KEY: &str = "reply_token_key";
const KEY_LEN: usize = 32;

/// The stored reply-token key, created now if there is none.
pub fn reply_key(conn: &Connection) -> rusqlite::Result<Vec<u8>> {
    if let Some(key) = stored_reply_key(conn)? {
        return Ok(key);
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!("no random source for the reply-token key: {e}")),
        )
    })?;
    // The first writer wins; a process that lost the race reads the winner's key.
    conn.execute(
        "INSERT INTO settings (name, value, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        params![REPLY_KEY, key.as_slice(), crate::time::now_rfc3339()],
    )?;
    stored_reply_key(conn)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// The stored key, if one was generated.
pub fn stored_reply_key(conn: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row("SELECT value FROM settings WHERE name = ?1", [REPLY_KEY], |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_and_then_read() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        assert_eq!(stored_reply_key(&conn).unwrap(), None);
        let key = reply_key(&conn).unwrap();
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(reply_key(&conn).unwrap(), key);
        let mut other = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut other).unwrap();
        assert_ne!(reply_key(&other).unwrap(), key, "two installs never share a key");
    }
}
