//! `inboxd migrate`: applies the database's schema migrations and exits, so that an operator can
//! upgrade the schema before restarting the servers on a new build (a rolling upgrade: migrate
//! once, then restart the hosts one by one).

use crate::config::Config;
use crate::store::{Location, postgres, schema};
use rusqlite::{Connection, OpenFlags};

/// `inboxd migrate`: brings the database's schema up to this build's and says where it stands.
/// `serve` does the same at start; running it first lets an operator upgrade before restarting.
/// With `all_hosts_upgraded` (every host runs this build or a later one), small JSON is written
/// packed from now on (`store::settings::JSON_PACKED`) and the older rows are packed.
pub fn migrate(config: &Config, all_hosts_upgraded: bool) -> Result<(), String> {
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
    convert(
        config,
        &name,
        matches!(location, Location::Sqlite { .. }),
        all_hosts_upgraded,
    )
}

/// Rows an older build wrote made like new ones, a batch per transaction, saying how far it got.
/// A server may run meanwhile; an interrupted run is taken up again by the next.
fn convert(config: &Config, name: &str, sqlite: bool, all_hosts_upgraded: bool) -> Result<(), String> {
    use crate::store::convert::{self, Converted, Cursor};
    use crate::store::settings;
    let store = super::Store::open(config)?;
    if all_hosts_upgraded {
        store.run(|c| Box::pin(settings::set_json_packed(c)))?;
    }
    if !store.run(|c| Box::pin(settings::json_packed(c)))? {
        eprintln!(
            "database {name}: events' data and envelopes are written as text until every host runs this build: \
             then run `inboxd migrate --all-hosts-upgraded`"
        );
    }
    let started = std::time::Instant::now();
    let mut total = Converted::default();
    let mut said = std::time::Instant::now();
    let mut cursor = Cursor::default();
    loop {
        let from = cursor;
        let (step, next) = store.run(move |c| Box::pin(convert::step(c, BATCH, from)))?;
        cursor = next;
        if sqlite {
            std::thread::sleep(convert::PAUSE);
        }
        if step.is_empty() {
            break;
        }
        total.raw += step.raw;
        total.bodies += step.bodies;
        total.indexed += step.indexed;
        total.envelopes += step.envelopes;
        total.events += step.events;
        if said.elapsed() >= std::time::Duration::from_secs(5) {
            said = std::time::Instant::now();
            eprintln!(
                "database {name}: converting: {} raw messages compressed, {} bodies packed, {} messages indexed, \
                 {} envelopes packed, {} events packed",
                total.raw, total.bodies, total.indexed, total.envelopes, total.events
            );
        }
    }
    if total != Converted::default() {
        eprintln!(
            "database {name}: {} raw messages compressed, {} bodies packed, {} messages indexed, \
             {} envelopes packed, {} events packed in {:.1} s",
            total.raw,
            total.bodies,
            total.indexed,
            total.envelopes,
            total.events,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Rows of each kind converted per transaction: short enough that a running server's commits
/// wait for it no longer than a few milliseconds.
const BATCH: i64 = 200;
