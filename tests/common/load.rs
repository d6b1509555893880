//! Load for the fault runs: client threads that send messages with unique Message-IDs back to back
//! and, like a real MTA, retry a message that got no 250 (on the next MX when there are several),
//! keeping a ledger of what was acknowledged; and the checks that nothing acknowledged was lost,
//! nothing was stored twice, and the store tells one consistent story.

use super::Server;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator: fault timings vary, runs are reproducible from the seed.
pub struct XorShift(pub u64);
impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the clients learned about each message they tried: acknowledged (250) or not.
pub type Ledger = Arc<Mutex<BTreeMap<String, bool>>>;

/// What one load thread needs.
pub struct Load {
    /// The MX hosts, tried in turn.
    pub hosts: Vec<SocketAddr>,
    pub rcpt: String,
    pub id: usize,
    pub stop: Arc<AtomicBool>,
    pub ledger: Ledger,
    pub seq: Arc<AtomicU64>,
}

/// One client thread: sends until told to stop. A message without a 250 (the host died, answered
/// 4xx, or the database was away) is sent again with the same Message-ID on the next host, up to
/// five times, as a queue would; a new message is started only after that.
pub fn load_client(load: Load) {
    let mut host = load.id % load.hosts.len();
    let mut conn: Option<ClientIo> = None;
    while !load.stop.load(Ordering::Relaxed) {
        let n = load.seq.fetch_add(1, Ordering::Relaxed);
        let mid = format!("load-{}-{n}@faults.example", load.id);
        load.ledger.lock().unwrap().insert(mid.clone(), false);
        for _attempt in 0..5 {
            if load.stop.load(Ordering::Relaxed) {
                return;
            }
            if conn.is_none() {
                conn = ClientIo::open(load.hosts[host]);
            }
            let acked = match conn.as_mut() {
                Some(c) => c.send(load.id, &load.rcpt, &mid, n),
                None => None,
            };
            match acked {
                Some(true) => {
                    load.ledger.lock().unwrap().insert(mid.clone(), true);
                    break;
                }
                // 4xx on a live connection: try again there after a pause.
                Some(false) => std::thread::sleep(Duration::from_millis(50)),
                // The connection broke: the next host.
                None => {
                    conn = None;
                    host = (host + 1) % load.hosts.len();
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// Runs `clients` load threads over `hosts` until `stop`; returns them and their ledger.
pub fn start_load(
    hosts: Vec<SocketAddr>,
    rcpt: &str,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> (Vec<std::thread::JoinHandle<()>>, Ledger) {
    let ledger: Ledger = Arc::default();
    let seq = Arc::new(AtomicU64::new(0));
    let threads = (0..clients)
        .map(|id| {
            let load = Load {
                hosts: hosts.clone(),
                rcpt: rcpt.to_string(),
                id,
                stop: Arc::clone(stop),
                ledger: Arc::clone(&ledger),
                seq: Arc::clone(&seq),
            };
            std::thread::spawn(move || load_client(load))
        })
        .collect();
    (threads, ledger)
}

pub fn acked(ledger: &Ledger) -> usize {
    ledger.lock().unwrap().values().filter(|ok| **ok).count()
}

/// Minimal blocking SMTP client I/O that reports failures instead of panicking (the server dies often here).
pub struct ClientIo {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl ClientIo {
    /// Connects and says EHLO; None when the host does not take the session.
    pub fn open(addr: SocketAddr) -> Option<ClientIo> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut c = ClientIo::new(stream);
        if c.reply()?.0 != 220 || c.cmd("EHLO load.example")?.0 != 250 {
            return None;
        }
        Some(c)
    }

    pub fn new(stream: TcpStream) -> ClientIo {
        ClientIo {
            stream,
            buf: Vec::new(),
        }
    }

    /// One transaction: Some(true) on 250, Some(false) on a refusal, None when the connection broke.
    fn send(&mut self, id: usize, rcpt: &str, mid: &str, n: u64) -> Option<bool> {
        let envelope = format!("MAIL FROM:<c{id}@load.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n");
        self.write(envelope.as_bytes()).ok()?;
        let replies: Vec<u16> = (0..3).map(|_| self.reply().map(|r| r.0)).collect::<Option<_>>()?;
        if replies.iter().any(|code| *code >= 400) {
            // A refused RCPT leaves DATA refused too; the session is still usable after RSET.
            self.cmd("RSET")?;
            return Some(false);
        }
        let body = format!(
            "From: Customer {id} <c{id}@load.example>\r\nSubject: load {n}\r\nMessage-ID: <{mid}>\r\n\r\n{}\r\n.\r\n",
            "lorem ipsum ".repeat(150)
        );
        self.write(body.as_bytes()).ok()?;
        let (code, _) = self.reply()?;
        Some(code == 250)
    }

    pub fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(b)
    }

    pub fn cmd(&mut self, line: &str) -> Option<(u16, String)> {
        self.write(format!("{line}\r\n").as_bytes()).ok()?;
        self.reply()
    }

    pub fn reply(&mut self) -> Option<(u16, String)> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                let line = String::from_utf8_lossy(&line).to_string();
                if line.len() >= 4 && line.as_bytes()[3] == b'-' {
                    continue;
                }
                return Some((line.get(..3)?.parse().ok()?, line));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// The store tells one consistent story: no message without its raw bytes, no orphan raw bytes,
/// conversation counts equal their messages, one event per stored message (and, on SQLite, its own
/// integrity check passes).
pub fn assert_consistent(server: &Server) {
    assert_eq!(
        server.count("SELECT count(*) FROM messages m LEFT JOIN raw_messages r ON r.id = m.raw_id WHERE r.id IS NULL"),
        0
    );
    assert_eq!(
        server.count("SELECT count(*) FROM raw_messages WHERE id NOT IN (SELECT raw_id FROM messages)"),
        0
    );
    assert_eq!(
        server.count(
            "SELECT count(*) FROM conversations c WHERE c.message_count != (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
        ),
        0
    );
    assert_eq!(
        server.count("SELECT count(*) FROM events WHERE type = 'message.received'"),
        server.count("SELECT count(*) FROM messages")
    );
    if server.database_url.is_none() {
        let check: String = server
            .db()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}

/// Every acknowledged message is stored exactly once, nothing is stored twice, and nothing is
/// stored that no client sent: (acknowledged, unacknowledged but stored, unacknowledged and absent).
pub fn check_ledger(server: &Server, ledger: &Ledger) -> (usize, usize, usize) {
    let stored: BTreeMap<String, i64> = server
        .texts("SELECT message_id || ' ' || CAST(count(*) AS TEXT) FROM messages GROUP BY message_id")
        .iter()
        .map(|line| {
            let (mid, n) = line.rsplit_once(' ').unwrap();
            (mid.to_string(), n.parse().unwrap())
        })
        .collect();
    let ledger = ledger.lock().unwrap();
    let (mut acked, mut unacked_stored, mut unacked_absent) = (0, 0, 0);
    for (mid, ok) in ledger.iter() {
        let n = stored.get(mid).copied().unwrap_or(0);
        assert!(n <= 1, "{mid} stored {n} times");
        if *ok {
            assert_eq!(n, 1, "{mid} was acknowledged with 250 but is not stored");
            acked += 1;
        } else if n == 1 {
            unacked_stored += 1;
        } else {
            unacked_absent += 1;
        }
    }
    assert_eq!(
        stored.len(),
        acked + unacked_stored,
        "nothing stored that no client sent"
    );
    (acked, unacked_stored, unacked_absent)
}

/// Polls `f` until it gives a value (panics after `within`).
pub fn wait_for<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
