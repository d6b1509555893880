//! Verification: every acknowledged Message-ID must be stored (SQLite file, PostgreSQL database,
//! maildir or spool).

use super::*;

pub(super) async fn verify(shared: &Arc<Shared>, acked: &[u64]) -> (Option<u64>, Option<u64>, String) {
    let args = &shared.args;
    let prefix = format!("{}-", shared.run_id);
    let expected: HashSet<String> = acked.iter().map(|&i| shared.message_id(i)).collect();
    match &args.verify {
        Verify::None => (None, None, "not verified".into()),
        Verify::Db(path) => match ids_in_db(path, &prefix) {
            Ok(found) => {
                let present = expected.iter().filter(|id| found.contains(*id)).count() as u64;
                (
                    Some(present),
                    Some(expected.len() as u64 - present),
                    "sqlite messages.message_id".into(),
                )
            }
            Err(e) => (None, None, format!("cannot read the database: {e}")),
        },
        Verify::Postgres(url) => {
            let (url, prefix) = (url.clone(), prefix.clone());
            let found = tokio::task::spawn_blocking(move || ids_in_postgres(&url, &prefix)).await;
            match found {
                Ok(Ok(found)) => {
                    let present = expected.iter().filter(|id| found.contains(*id)).count() as u64;
                    (
                        Some(present),
                        Some(expected.len() as u64 - present),
                        "postgres messages.message_id".into(),
                    )
                }
                Ok(Err(e)) => (None, None, format!("cannot read the database: {e}")),
                Err(e) => (None, None, format!("cannot read the database: {e}")),
            }
        }
        Verify::Maildir(dir) => {
            // Some servers (Postfix) acknowledge once queued and deliver a moment later: wait.
            let deadline = Instant::now() + args.verify_wait;
            let mut cache = HashSet::new();
            let mut seen_files = HashSet::new();
            loop {
                scan_dir(dir, &prefix, &mut seen_files, &mut cache);
                let present = expected.iter().filter(|id| cache.contains(*id)).count() as u64;
                let missing = expected.len() as u64 - present;
                if missing == 0 || Instant::now() >= deadline {
                    let waited = args
                        .verify_wait
                        .saturating_sub(deadline.saturating_duration_since(Instant::now()));
                    let note = format!(
                        "files under {} (waited {:.1}s for delivery)",
                        dir.display(),
                        waited.as_secs_f64()
                    );
                    return (Some(present), Some(missing), note);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

pub(super) fn ids_in_db(path: &Path, prefix: &str) -> rusqlite::Result<HashSet<String>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let mut stmt = conn.prepare("SELECT message_id FROM messages WHERE substr(message_id, 1, ?1) = ?2")?;
    let rows = stmt.query_map((prefix.len() as i64, prefix), |r| r.get::<_, String>(0))?;
    rows.collect()
}

pub(super) fn ids_in_postgres(url: &str, prefix: &str) -> Result<HashSet<String>, postgres::Error> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    let rows = client.query(
        "SELECT message_id FROM messages WHERE starts_with(message_id, $1)",
        &[&prefix],
    )?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// Reads the head of every file not seen yet (recursively) and collects our Message-IDs.
pub(super) fn scan_dir(dir: &Path, prefix: &str, seen: &mut HashSet<PathBuf>, found: &mut HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            scan_dir(&path, prefix, seen, found);
        } else if kind.is_file() && !seen.contains(&path) {
            // A file still being written (maildir tmp/) may not have its headers yet: retry later.
            if let Some(id) = message_id_in_file(&path, prefix) {
                found.insert(id);
                seen.insert(path);
            }
        }
    }
}

pub(super) fn message_id_in_file(path: &Path, prefix: &str) -> Option<String> {
    use std::io::Read;
    let mut head = vec![0u8; 64 * 1024];
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = 0;
    while len < head.len() {
        match file.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(_) => return None,
        }
    }
    let needle = format!("<{prefix}");
    let text = String::from_utf8_lossy(&head[..len]);
    let start = text.find(&needle)? + 1;
    let end = start + text[start..].find('>')?;
    Some(text[start..end].to_string())
}
