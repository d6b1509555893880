//! `inboxd migrate`: applies the database's schema migrations and exits, so that an operator can
//! upgrade the schema before restarting the servers on a new build (a rolling upgrade: migrate
//! once, then restart the hosts one by one).

use crate::config::Config;
use crate::store::{Location, postgres, schema};
use rusqlite::{Connection, OpenFlags};

/// `inboxd migrate`: brings the database's schema up to this build's and says where it stands.
/// `serve` does the same at start; running it first lets an operator upgrade before restarting.
pub fn migrate(config: &Config) -> Result<(), String> {
    let location = super::database_location(config)?;
    let name = location.describe();
    let before = match &location {
        Location::Sqlite { path, mode } => {
            let before = if path.exists() {
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .and_then(|c| schema::version(&c))
                    .map_err(|e| format!("database {name}: {e}"))?
            } else {
                0
            };
            // Opening applies the migrations, each in its own transaction, and refuses a newer schema.
            crate::store::open_connection(path, *mode).map_err(|e| format!("database {name}: {e}"))?;
            before
        }
        Location::Postgres(options) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(async {
                    let client = postgres::connect(options).await?;
                    postgres::migrate(&client).await
                })
                .map_err(|e| format!("database {name}: {e}"))?
        }
    };
    if before == schema::LATEST {
        eprintln!("database {name}: schema {} is current", schema::LATEST);
    } else {
        eprintln!("database {name}: schema {before} -> {}", schema::LATEST);
    }
    Ok(())
}
