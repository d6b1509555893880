//! `inboxd migrate`: applies the database's schema migrations and exits, so that an operator can
//! upgrade the schema before restarting the servers on a new build.

use crate::config::Config;
use crate::store::schema;
use rusqlite::{Connection, OpenFlags};

/// `inboxd migrate`: brings the database's schema up to this build's and says where it stands.
/// `serve` does the same at start; running it first lets an operator upgrade before restarting.
pub fn migrate(config: &Config) -> Result<(), String> {
    let path = &config.database.path;
    let before = if path.exists() {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| schema::version(&c))
            .map_err(|e| format!("database {}: {e}", path.display()))?
    } else {
        0
    };
    // Opening applies the migrations, each in its own transaction, and refuses a newer schema.
    crate::store::admin::Admin::open(path, config.database.mode.0)
        .map_err(|e| format!("database {}: {e}", path.display()))?;
    if before == schema::LATEST {
        eprintln!("database {}: schema {} is current", path.display(), schema::LATEST);
    } else {
        eprintln!("database {}: schema {before} -> {}", path.display(), schema::LATEST);
    }
    Ok(())
}
