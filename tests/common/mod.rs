//! Test harness: starts the real `inboxd` binary on a free loopback port with its own database (a
//! SQLite file in a temporary folder, or a fresh database on the test process's own PostgreSQL
//! server), talks SMTP to it over TCP, runs its CLI, and reads its tables.
// Each test binary uses a part of the harness.
#![allow(dead_code)]

mod client;
pub mod dns;
pub mod http;
pub mod load;
pub mod pg;
pub mod python;
pub mod receiver;
pub mod rspamd;
mod text;
pub mod tools;

// Each test binary uses a part of the harness.
#[allow(unused_imports)]
pub use client::{Client, Reply};
#[allow(unused_imports)]
pub use text::{base64, dot_stuff, eventually, message, to_crlf};

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_inboxd");
pub const DOMAIN: &str = "inbox.localhost";

/// A CLI run that must succeed: its output, or a failure that shows what it printed.
pub fn ok(out: &std::process::Output) -> &std::process::Output {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

pub fn corpus(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora")
        .join(path)
}

/// A configuration under construction: dotted keys over the test defaults.
pub struct Builder {
    table: toml::Table,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Builder {
    pub fn set(mut self, key: &str, value: impl Into<toml::Value>) -> Self {
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().expect("a key");
        let mut table = &mut self.table;
        for part in parts {
            table = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("a table");
        }
        table.insert(last.to_string(), value.into());
        self
    }

    /// Removes a key the test defaults set, so that inboxd's own default applies.
    pub fn unset(mut self, key: &str) -> Self {
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().expect("a key");
        let mut table = &mut self.table;
        for part in parts {
            match table.get_mut(part).and_then(|v| v.as_table_mut()) {
                Some(inner) => table = inner,
                None => return self,
            }
        }
        table.remove(last);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn tls(self) -> Self {
        let cert = fixture("tls/cert-a.pem");
        let key = fixture("tls/key-a.pem");
        self.set("tls.certificate", cert.to_str().unwrap())
            .set("tls.private_key", key.to_str().unwrap())
    }

    /// Writes the configuration file without starting anything.
    pub fn write_config(&self) -> PathBuf {
        let path = self.dir.path().join("inboxd.toml");
        std::fs::write(&path, toml::to_string(&self.table).unwrap()).unwrap();
        path
    }

    pub fn start(self) -> Server {
        let mut server = self.into_server();
        server.launch();
        server
    }

    fn into_server(self) -> Server {
        let config_path = self.write_config();
        let db_path = PathBuf::from(
            self.table["database"]["path"]
                .as_str()
                .expect("database.path is set")
                .to_string(),
        );
        let database_url = self
            .table
            .get("database")
            .and_then(|d| d.get("url"))
            .and_then(|u| u.as_str())
            .map(String::from);
        Server {
            dir: self.dir,
            config_path,
            db_path,
            database_url,
            addr: "127.0.0.1:1".parse().unwrap(),
            tls_addr: None,
            http_addr: None,
            child: None,
            reader: None,
            logs: Arc::new(Mutex::new(Vec::new())),
            env: self.env,
        }
    }
}

pub struct Server {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub db_path: PathBuf,
    /// The PostgreSQL database, when the server runs on one (else the SQLite file at `db_path`).
    pub database_url: Option<String>,
    /// The first plain SMTP listener.
    pub addr: SocketAddr,
    /// The first implicit-TLS listener, when configured.
    pub tls_addr: Option<SocketAddr>,
    /// The HTTP endpoint, when configured.
    pub http_addr: Option<SocketAddr>,
    child: Option<Child>,
    /// The thread that reads the server's log; it ends when the server does.
    reader: Option<std::thread::JoinHandle<()>>,
    logs: Arc<Mutex<Vec<String>>>,
    env: Vec<(String, String)>,
}

#[derive(Default, Clone)]
struct Listening {
    plain: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    http: Option<SocketAddr>,
}

/// The test process's DNS server: every server under test resolves against it (no network here).
pub fn zone() -> &'static (SocketAddr, dns::Zone) {
    static ZONE: std::sync::OnceLock<(SocketAddr, dns::Zone)> = std::sync::OnceLock::new();
    ZONE.get_or_init(dns::start)
}

pub fn builder() -> Builder {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("inboxd.db");
    Builder {
        table: toml::Table::new(),
        dir,
        env: Vec::new(),
    }
    .set("server.hostname", "mx.test.example")
    .set("server.listen", toml::Value::Array(vec!["127.0.0.1:0".into()]))
    .set(
        "server.domains",
        toml::Value::Array(vec![DOMAIN.into(), "second.localhost".into()]),
    )
    .set("server.shutdown_grace_secs", 10)
    // Tests send from one address in bursts; the rate-limit tests turn these back on.
    .set("limits.connection_rate", 0)
    .set("limits.message_rate", 0)
    .set("database.path", db.to_str().unwrap())
    .set("reply_tokens.secret", "test-secret-key-0123456789")
    .set(
        "auth.nameservers",
        toml::Value::Array(vec![zone().0.to_string().into()]),
    )
}

pub fn start() -> Server {
    builder().start()
}

/// Which store a test's server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The test defaults on `backend` (PostgreSQL: a fresh database on the test server).
pub fn builder_on(backend: Backend) -> Builder {
    match backend {
        Backend::Sqlite => builder(),
        Backend::Postgres => builder().set("database.url", pg::database()),
    }
}

pub fn start_on(backend: Backend) -> Server {
    builder_on(backend).start()
}

/// One test body, run once on each backend: `mod name { fn sqlite(); fn postgres(); }`.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* fn $name:ident($backend:ident: Backend) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($backend: Backend) $body

                #[test]
                fn sqlite() {
                    run(Backend::Sqlite)
                }

                #[test]
                fn postgres() {
                    run(Backend::Postgres)
                }
            }
        )*
    };
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub address: String,
}

impl Server {
    /// A server process started by someone else (e.g. systemd-socket-activate) on this configuration;
    /// its stderr must be piped.
    pub fn from_parts(builder: Builder, child: Child) -> Server {
        let mut server = builder.into_server();
        server.attach(child);
        server
    }

    /// Starts the process and waits for its "ready" log line, noting the addresses it listens on.
    fn launch(&mut self) {
        let child = Command::new(BIN)
            .args([
                "--config",
                self.config_path.to_str().unwrap(),
                "--log-format",
                "json",
                "serve",
            ])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("inboxd starts");
        self.attach(child);
    }

    /// Follows a started server's JSON log until it is ready.
    pub fn attach(&mut self, mut child: Child) {
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::clone(&self.logs);
        let (tx, rx) = std::sync::mpsc::channel();
        self.reader = Some(std::thread::spawn(move || {
            let mut seen = Listening::default();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let addr = v["addr"].as_str().and_then(|a| a.parse::<SocketAddr>().ok());
                    let slot = match v["message"].as_str() {
                        Some("listening") if v["implicit_tls"] == true => Some(&mut seen.tls),
                        Some("listening") => Some(&mut seen.plain),
                        Some("http listening") => Some(&mut seen.http),
                        Some("ready") => {
                            let _ = tx.send(seen.clone());
                            None
                        }
                        _ => None,
                    };
                    if let (Some(slot), Some(addr)) = (slot, addr) {
                        slot.get_or_insert(addr);
                    }
                }
                logs.lock().unwrap().push(line);
            }
        }));
        let seen = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(seen) => seen,
            Err(_) => {
                let _ = child.kill();
                std::thread::sleep(Duration::from_millis(100));
                panic!("server did not start; logs:\n{}", self.logs.lock().unwrap().join("\n"));
            }
        };
        self.addr = seen.plain.or(seen.tls).expect("a listener");
        self.tls_addr = seen.tls;
        self.http_addr = seen.http;
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                // Its last lines are read before the exit is reported.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status.code();
            }
            if Instant::now() > deadline {
                panic!("server did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same configuration and database (after kill or exit).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(["--config", self.config_path.to_str().unwrap()])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("inboxd CLI runs")
    }

    /// Runs a CLI command with `--json` and parses its one JSON document.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "inboxd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "inboxd {args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    pub fn create_account(&self, name: &str) -> Account {
        let v = self.json(&["accounts", "create", name]);
        Account {
            id: v["id"].as_i64().unwrap(),
            address: v["address"].as_str().unwrap().to_string(),
        }
    }

    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.db_path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }

    /// A PostgreSQL connection to the server's database (when it runs on one).
    pub fn pg(&self) -> postgres::Client {
        let url = self.database_url.as_ref().expect("the server runs on PostgreSQL");
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }

    /// The first column of the first row of a query (an integer), on either backend.
    pub fn count(&self, sql: &str) -> i64 {
        match &self.database_url {
            Some(_) => self.pg().query_one(sql, &[]).unwrap().get(0),
            None => self.db().query_row(sql, [], |r| r.get(0)).unwrap(),
        }
    }

    /// Waits until a change made through the CLI is seen by the server's routing: at once on
    /// SQLite; on PostgreSQL a host may answer from what it read within the last second.
    pub fn settle(&self) {
        if self.database_url.is_some() {
            std::thread::sleep(Duration::from_millis(1100));
        }
    }

    /// Runs one statement on either backend (tests setting up a state the platform would make).
    pub fn execute(&self, sql: &str) {
        match &self.database_url {
            Some(_) => {
                self.pg().batch_execute(sql).unwrap();
            }
            None => {
                self.db().execute_batch(sql).unwrap();
            }
        }
    }

    /// The SMTP envelopes of the messages that match `condition` (SQL on `messages`), in id
    /// order, as `messages show` gives them (the store keeps them packed).
    pub fn envelopes(&self, condition: &str) -> Vec<Value> {
        self.texts(&format!(
            "SELECT CAST(id AS TEXT) FROM messages WHERE {condition} ORDER BY id"
        ))
        .iter()
        .map(|id| self.json(&["messages", "show", id])["envelope"].clone())
        .collect()
    }

    /// The first column of every row of a query, as text, on either backend.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match &self.database_url {
            Some(_) => self
                .pg()
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect(),
            None => self
                .db()
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// One whole transaction on a fresh connection; returns the reply to the end of data.
    pub fn send(&self, from: &str, to: &[&str], message: &str) -> Reply {
        let mut c = self.connect();
        c.ehlo();
        let reply = c.transaction(from, to, message.as_bytes());
        c.quit();
        reply
    }

    pub fn contacts(&self, account: i64) -> Vec<Value> {
        self.json(&["contacts", "list", "--account", &account.to_string()])
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn conversations(&self, account: i64) -> Vec<Value> {
        self.json(&["conversations", "list", "--account", &account.to_string()])
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn conversation(&self, id: i64) -> Value {
        self.json(&["conversations", "show", &id.to_string()])
    }

    /// A new API key (`api-keys create NAME [--account ID]`): its id and its secret.
    pub fn api_key(&self, name: &str, account: Option<i64>) -> (i64, String) {
        let account = account.map(|a| a.to_string());
        let mut args = vec!["api-keys", "create", name];
        if let Some(a) = &account {
            args.extend(["--account", a]);
        }
        let key = self.json(&args);
        (key["id"].as_i64().unwrap(), key["secret"].as_str().unwrap().to_string())
    }

    /// The types of every event so far, in order.
    pub fn event_types(&self) -> Vec<String> {
        self.events(0)
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn events(&self, since: i64) -> Vec<Value> {
        self.json(&["events", "--since", &since.to_string()])["events"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The bytes of the first stored message as received (our Received header first), read from
    /// the database and unpacked as the server keeps them.
    pub fn first_raw(&self) -> Vec<u8> {
        let (data, size, codec): (Vec<u8>, Option<i64>, i64) = match &self.database_url {
            Some(_) => {
                let row = self
                    .pg()
                    .query_one("SELECT data, size, codec FROM raw_messages ORDER BY id LIMIT 1", &[])
                    .unwrap();
                (row.get(0), row.get(1), row.get(2))
            }
            None => self
                .db()
                .query_row(
                    "SELECT data, size, codec FROM raw_messages ORDER BY id LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap(),
        };
        inboxd::store::codec::unpack(codec, size, &data).unwrap()
    }

    /// The messages row id of a queue id.
    pub fn message_by_queue_id(&self, queue_id: &str) -> Vec<i64> {
        assert!(queue_id.chars().all(|c| c.is_ascii_alphanumeric()), "{queue_id}");
        self.texts(&format!(
            "SELECT CAST(id AS TEXT) FROM messages WHERE queue_id = '{queue_id}' ORDER BY messages.id"
        ))
        .iter()
        .map(|id| id.parse().unwrap())
        .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        // A failed test shows what the server complained about.
        if std::thread::panicking() {
            let logs = self.logs();
            let complaints: Vec<&String> = logs
                .iter()
                .filter(|l| l.contains("\"WARN\"") || l.contains("\"ERROR\""))
                .collect();
            for line in complaints.iter().rev().take(20).rev() {
                eprintln!("server: {line}");
            }
        }
    }
}

impl Server {
    /// Like [`Server::deliver_and_show`] but reads the row straight from the SQLite file (fast, for
    /// corpus runs): `{kind, flags, contact_id, conversation_id, bounce, reply_text, text}`.
    pub fn deliver_and_read(&self, c: &mut Client, from: &str, to: &[&str], bytes: &[u8]) -> Option<Value> {
        let reply = c.transaction(from, to, bytes);
        assert_eq!(reply.code, 250, "{reply:?}");
        let db = self.db();
        db.query_row(
            "SELECT kind, flags, contact_id, conversation_id, bounce_json, reply_text, body, signature FROM messages
             WHERE queue_id = ?1 ORDER BY id LIMIT 1",
            [reply.queue_id()],
            |r| {
                let json = |i: usize| -> rusqlite::Result<Value> {
                    let t: Option<String> = r.get(i)?;
                    Ok(t.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
                };
                // The body is kept compressed; reply_text is NULL when it is the whole text (read it
                // back as the CLI and the API do).
                let body: Option<Vec<u8>> = r.get(6)?;
                let text = body
                    .map(|b| inboxd::store::codec::unpack_body(&b).unwrap())
                    .and_then(|b| b.text);
                let reply_text: Option<String> = r.get(5)?;
                let reply_text = reply_text.or_else(|| text.as_ref().map(|t| t.trim().to_string()));
                Ok(serde_json::json!({
                    "kind": r.get::<_, String>(0)?,
                    "flags": json(1)?,
                    "contact_id": r.get::<_, Option<i64>>(2)?,
                    "conversation_id": r.get::<_, Option<i64>>(3)?,
                    "bounce": json(4)?,
                    "reply_text": reply_text,
                    "text": text,
                    "signature": r.get::<_, Option<String>>(7)?,
                }))
            },
        )
        .ok()
    }

    /// Sends raw bytes on an open client and returns the stored message's JSON (first account).
    pub fn deliver_and_show(&self, c: &mut Client, from: &str, to: &[&str], bytes: &[u8]) -> Option<Value> {
        let reply = c.transaction(from, to, bytes);
        assert_eq!(reply.code, 250, "{reply:?}");
        let ids = self.message_by_queue_id(&reply.queue_id());
        ids.first().map(|id| self.json(&["messages", "show", &id.to_string()]))
    }
}
