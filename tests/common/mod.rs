//! Test harness: starts the real `inboxd` binary on a free loopback port with its own database in a
//! temporary folder, talks SMTP to it over TCP, runs its CLI, and opens its SQLite file.
#![allow(dead_code)]

pub mod dns;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_inboxd");
pub const DOMAIN: &str = "inbox.localhost";

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
        Server {
            dir: self.dir,
            config_path,
            db_path,
            addr: "127.0.0.1:1".parse().unwrap(),
            tls_addr: None,
            http_addr: None,
            child: None,
            logs: Arc::new(Mutex::new(Vec::new())),
            env: self.env,
        }
    }
}

pub struct Server {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub db_path: PathBuf,
    /// The first plain SMTP listener.
    pub addr: SocketAddr,
    /// The first implicit-TLS listener, when configured.
    pub tls_addr: Option<SocketAddr>,
    /// The HTTP endpoint, when configured.
    pub http_addr: Option<SocketAddr>,
    child: Option<Child>,
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
        std::thread::spawn(move || {
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
        });
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

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The first column of every row of a query, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        self.db()
            .prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
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

    pub fn events(&self, since: i64) -> Vec<Value> {
        self.json(&["events", "--since", &since.to_string()])["events"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The messages row id of a queue id.
    pub fn message_by_queue_id(&self, queue_id: &str) -> Vec<i64> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT id FROM messages WHERE queue_id = ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([queue_id], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The enhanced status code of the last line, e.g. "5.1.1".
    pub fn status(&self) -> &str {
        self.lines
            .last()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
    }

    /// The queue id of a `250 2.0.0 Ok: queued as X`.
    pub fn queue_id(&self) -> String {
        self.text().rsplit(' ').next().unwrap().to_string()
    }

    #[track_caller]
    pub fn expect(&self, code: u16, status: &str) -> &Self {
        assert_eq!((self.code, self.status()), (code, status), "reply: {self:?}");
        self
    }
}

/// A raw SMTP client on a blocking socket: every byte is ours to choose.
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    pub greeting: Reply,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut c = Client {
            stream,
            reader,
            greeting: Reply { code: 0, lines: vec![] },
        };
        c.greeting = c.reply();
        c
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one (possibly multi-line) reply. Panics on EOF.
    pub fn reply(&mut self) -> Reply {
        self.try_reply().expect("a reply before the connection closed")
    }

    pub fn try_reply(&mut self) -> Option<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            assert!(line.len() >= 3, "short reply line {line:?}");
            let code: u16 = line[..3].parse().expect("numeric code");
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if !more {
                return Some(Reply { code, lines });
            }
        }
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.write(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    pub fn ehlo(&mut self) -> Reply {
        let r = self.cmd("EHLO client.test.example");
        assert_eq!(r.code, 250, "{r:?}");
        r
    }

    /// MAIL, RCPT…, DATA with dot-stuffing; returns the reply to the final dot.
    pub fn transaction(&mut self, from: &str, to: &[&str], message: &[u8]) -> Reply {
        self.cmd(&format!("MAIL FROM:<{from}>")).expect(250, "2.1.0");
        for rcpt in to {
            self.cmd(&format!("RCPT TO:<{rcpt}>")).expect(250, "2.1.5");
        }
        self.cmd("DATA").expect(354, "2.0.0");
        self.write(&dot_stuff(message));
        self.write(b".\r\n");
        self.reply()
    }

    pub fn quit(&mut self) {
        self.write(b"QUIT\r\n");
        let _ = self.try_reply();
    }

    /// True when the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

/// CRLF line endings and dot-stuffing, as an SMTP client does before DATA; ends with CRLF.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    for line in to_crlf(message).split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out
}

/// Normalizes line endings to CRLF and makes sure the text ends with one.
pub fn to_crlf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut prev = 0u8;
    for &b in message {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A plain message with the given headers (name, value) and body.
pub fn message(headers: &[(&str, &str)], body: &str) -> String {
    let mut m = String::new();
    for (name, value) in headers {
        m.push_str(&format!("{name}: {value}\r\n"));
    }
    m.push_str("\r\n");
    m.push_str(body);
    if !body.ends_with("\r\n") {
        m.push_str("\r\n");
    }
    m
}

/// Polls until `f` returns true or the time is up.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    f()
}

/// Standard base64 with line breaks every 76 characters, for building MIME test messages.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(T[((n >> (18 - 6 * j)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Server {
    /// Like [`Server::deliver_and_show`] but reads the row straight from the SQLite file (fast, for
    /// corpus runs): `{kind, flags, contact_id, conversation_id, bounce, reply_text, text}`.
    pub fn deliver_and_read(&self, c: &mut Client, from: &str, to: &[&str], bytes: &[u8]) -> Option<Value> {
        let reply = c.transaction(from, to, bytes);
        assert_eq!(reply.code, 250, "{reply:?}");
        let db = self.db();
        db.query_row(
            "SELECT kind, flags, contact_id, conversation_id, bounce_json, reply_text, text FROM messages
             WHERE queue_id = ?1 ORDER BY id LIMIT 1",
            [reply.queue_id()],
            |r| {
                let json = |i: usize| -> rusqlite::Result<Value> {
                    let t: Option<String> = r.get(i)?;
                    Ok(t.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
                };
                Ok(serde_json::json!({
                    "kind": r.get::<_, String>(0)?,
                    "flags": json(1)?,
                    "contact_id": r.get::<_, Option<i64>>(2)?,
                    "conversation_id": r.get::<_, Option<i64>>(3)?,
                    "bounce": json(4)?,
                    "reply_text": r.get::<_, Option<String>>(5)?,
                    "text": r.get::<_, Option<String>>(6)?,
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
