//! Data at rest: the database owner-only whatever the umask (or with the group access asked for),
//! and a reply-token key of each install's own when none is configured.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A server whose database lives in a folder it creates itself.
fn server_in_new_folder(mode: Option<&str>) -> (Server, std::path::PathBuf) {
    let b = builder();
    let path = b.dir().join("state/inboxd.db");
    let b = b.set("database.path", path.to_str().unwrap());
    let b = match mode {
        Some(m) => b.set("database.mode", m),
        None => b,
    };
    (b.start(), path)
}

fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}{suffix}", path.display()))
}

#[test]
fn the_database_is_owner_only_whatever_the_umask() {
    let (server, path) = server_in_new_folder(None);
    let acme = server.create_account("Acme");
    server
        .send("a@b.example", &[&acme.address], "Subject: private\r\n\r\nmail\r\n")
        .expect(250, "2.0.0");
    assert_eq!(mode(path.parent().unwrap()), 0o700, "the folder");
    for file in [path.clone(), sibling(&path, "-wal"), sibling(&path, "-shm")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn group_access_is_given_when_the_operator_asks_for_it() {
    let (server, path) = server_in_new_folder(Some("0640"));
    let acme = server.create_account("Acme");
    server
        .send("a@b.example", &[&acme.address], "Subject: shared\r\n\r\nmail\r\n")
        .expect(250, "2.0.0");
    assert_eq!(mode(path.parent().unwrap()), 0o750);
    for file in [path.clone(), sibling(&path, "-wal"), sibling(&path, "-shm")] {
        assert_eq!(mode(&file), 0o640, "{}", file.display());
    }
    // Anything that would open the files to others is refused at start, with the key.
    let b = builder().set("database.mode", "0644");
    let out = Command::new(BIN)
        .args(["--config", b.write_config().to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.mode"));
}

fn reply_address(server: &Server, account: i64) -> String {
    server.json(&[
        "reply-address",
        &account.to_string(),
        "--contact",
        "jane@customer.example",
    ])["address"]
        .as_str()
        .unwrap()
        .to_string()
}

fn rcpt(server: &Server, address: &str) -> Reply {
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<jane@customer.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{address}>"))
}

#[test]
fn without_a_configured_secret_each_install_has_a_key_of_its_own() {
    let mut a = builder().unset("reply_tokens.secret").start();
    let b = builder().unset("reply_tokens.secret").start();
    let (acme_a, acme_b) = (a.create_account("Acme"), b.create_account("Acme"));
    assert_eq!(acme_a.id, acme_b.id, "the same account id on both installs");
    let minted_a = reply_address(&a, acme_a.id);
    let minted_b = reply_address(&b, acme_b.id);
    assert_ne!(minted_a, minted_b, "two installs never mint the same address");
    rcpt(&a, &minted_a).expect(250, "2.1.5");
    rcpt(&b, &minted_a).expect(550, "5.1.1");
    // The key is kept: after a restart the same address is minted and still accepted.
    a.restart();
    assert_eq!(reply_address(&a, acme_a.id), minted_a);
    rcpt(&a, &minted_a).expect(250, "2.1.5");
    let out = Command::new(BIN)
        .args(["--config", a.config_path.to_str().unwrap(), "check-config", "--connect"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("the key generated at first start and kept in the database"),
        "{said}"
    );
}

#[test]
fn a_configured_secret_wins_over_the_generated_key() {
    let generated = builder().unset("reply_tokens.secret").start();
    let configured = builder().start();
    let (g, c) = (generated.create_account("Acme"), configured.create_account("Acme"));
    assert_ne!(reply_address(&generated, g.id), reply_address(&configured, c.id));
    // The configured key is the test harness's fixed one: another install with it mints alike.
    let twin = builder().start();
    let t = twin.create_account("Acme");
    assert_eq!(reply_address(&configured, c.id), reply_address(&twin, t.id));
    let out = Command::new(BIN)
        .args(["--config", configured.config_path.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("the configured key (reply_tokens.secret)"));
}

/// Whether process `pid` holds SQLite's shared lock on `path` (a POSIX read lock on the range
/// that starts at the pending byte + 2, as /proc/locks lists it).
fn holds_sqlite_shared_lock(pid: u32, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(path).unwrap().ino();
    std::fs::read_to_string("/proc/locks").unwrap().lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 8
            && f[1] == "POSIX"
            && f[3] == "READ"
            && f[4] == pid.to_string()
            && f[5].rsplit(':').next() == Some(&inode.to_string())
            && f[6] == "1073741826"
    })
}

#[test]
fn the_server_keeps_its_sqlite_locks_so_no_other_process_takes_its_log_away() {
    // The server holds several connections (the store's, the API's, the webhook sender's), opened
    // one after the other. Closing any descriptor of the database file drops every POSIX lock the
    // process holds on it; had opening a later connection done so, another process closing its
    // own connection (the CLI, a backup script, sqlite3 at a prompt) would have found itself
    // alone, checkpointed and deleted the -wal and -shm files under the running server, and the
    // server's next writes would have corrupted the database (seen once in a benchmark).
    let server = builder().set("http.listen", "127.0.0.1:0").start();
    let acme = server.create_account("Acme");
    let wal = sibling(&server.db_path, "-wal");
    for n in 0..10 {
        let reply = server.send(
            "ann@customer.example",
            &[&acme.address],
            &message(
                &[
                    ("Subject", &format!("Hello {n}")),
                    ("Message-ID", &format!("<wal-{n}@customer.example>")),
                ],
                "Hi",
            ),
        );
        assert_eq!(reply.code, 250);
        assert!(
            holds_sqlite_shared_lock(server.pid(), &server.db_path),
            "the server lost its lock on the database"
        );
        // Another process reads and closes its connection, and the CLI writes and exits.
        assert_eq!(server.count("SELECT count(*) FROM messages"), n + 1);
        assert!(
            server
                .cli(&[
                    "members",
                    "add",
                    &acme.id.to_string(),
                    &format!("agent{n}@company.example")
                ])
                .status
                .success()
        );
        assert!(
            wal.exists(),
            "after reader {n} closed, the running server's log is gone"
        );
    }
    let check: String = server
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
