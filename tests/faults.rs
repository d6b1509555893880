//! Faults survived, nothing acknowledged lost: SIGKILL under load, a full disk, hostile clients.
//!
//! The CI sizes are modest; `INBOXD_FAULT_KILLS`, `INBOXD_FAULT_CLIENTS` and `INBOXD_FAULT_HOSTILE`
//! scale them up for the long runs reported in RELIABILITY.md.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator: fault timings vary, runs are reproducible from the seed.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a client learned about each message it tried: acknowledged (250) or not.
type Ledger = Arc<Mutex<BTreeMap<String, bool>>>;

/// One client thread: connects, sends messages with unique Message-IDs back to back, reconnects when
/// the server goes away; records every Message-ID it sent and whether it got 250.
fn load_client(addr: SocketAddr, rcpt: String, id: usize, stop: Arc<AtomicBool>, ledger: Ledger, seq: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = TcpStream::connect(addr) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = ClientIo::new(stream);
        if c.reply().is_none_or(|r| r.0 != 220) || c.cmd("EHLO load.example").is_none() {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            let n = seq.fetch_add(1, Ordering::Relaxed);
            let mid = format!("load-{id}-{n}@faults.example");
            ledger.lock().unwrap().insert(mid.clone(), false);
            let msg = format!("MAIL FROM:<c{id}@load.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n",);
            if c.write(msg.as_bytes()).is_err() {
                break;
            }
            let ok = (0..3).all(|_| c.reply().is_some_and(|r| r.0 < 400));
            if !ok {
                break;
            }
            let body = format!(
                "From: Customer {id} <c{id}@load.example>\r\nSubject: load {n}\r\nMessage-ID: <{mid}>\r\n\r\n{}\r\n.\r\n",
                "lorem ipsum ".repeat(150)
            );
            if c.write(body.as_bytes()).is_err() {
                break;
            }
            match c.reply() {
                Some((250, _)) => {
                    ledger.lock().unwrap().insert(mid, true);
                }
                Some(_) => continue,
                None => break,
            }
        }
    }
}

/// Minimal blocking SMTP client I/O that reports failures instead of panicking (the server dies often here).
struct ClientIo {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl ClientIo {
    fn new(stream: TcpStream) -> ClientIo {
        ClientIo {
            stream,
            buf: Vec::new(),
        }
    }
    fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(b)
    }
    fn cmd(&mut self, line: &str) -> Option<(u16, String)> {
        self.write(format!("{line}\r\n").as_bytes()).ok()?;
        self.reply()
    }
    fn reply(&mut self) -> Option<(u16, String)> {
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

/// The database tells one consistent story: no message without its raw bytes, no orphan raw bytes,
/// conversation counts equal their messages, one event per stored message, and SQLite's own check passes.
fn assert_consistent(server: &Server) {
    let db = server.db();
    let one = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        one("SELECT count(*) FROM messages m LEFT JOIN raw_messages r ON r.id = m.raw_id WHERE r.id IS NULL"),
        0
    );
    assert_eq!(
        one("SELECT count(*) FROM raw_messages WHERE id NOT IN (SELECT raw_id FROM messages)"),
        0
    );
    assert_eq!(
        one(
            "SELECT count(*) FROM conversations c WHERE c.message_count != (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
        ),
        0
    );
    assert_eq!(
        one("SELECT count(*) FROM events WHERE type = 'message.received'"),
        one("SELECT count(*) FROM messages")
    );
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

fn check_ledger(server: &Server, ledger: &Ledger) -> (usize, usize, usize) {
    let db = server.db();
    let mut stmt = db
        .prepare("SELECT message_id, count(*) FROM messages GROUP BY message_id")
        .unwrap();
    let stored: BTreeMap<String, i64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
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

#[test]
fn sigkill_under_load_loses_no_acknowledged_message() {
    let kills = env_or("INBOXD_FAULT_KILLS", 20);
    let clients = env_or("INBOXD_FAULT_CLIENTS", 8);
    let port = free_port();
    let mut server = builder()
        .set(
            "server.listen",
            toml::Value::Array(vec![format!("127.0.0.1:{port}").into()]),
        )
        .start();
    let acme = server.create_account("Acme");
    let stop = Arc::new(AtomicBool::new(false));
    let ledger: Ledger = Arc::default();
    let seq = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|id| {
            let (addr, rcpt, stop, ledger, seq) = (
                server.addr,
                acme.address.clone(),
                Arc::clone(&stop),
                Arc::clone(&ledger),
                Arc::clone(&seq),
            );
            std::thread::spawn(move || load_client(addr, rcpt, id, stop, ledger, seq))
        })
        .collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ u64::from(port));
    let started = Instant::now();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(150 + rng.next() % 450));
        server.signal("KILL");
        let _ = server.wait_exit(Duration::from_secs(10));
        server.restart();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (acked, unacked_stored, unacked_absent) = check_ledger(&server, &ledger);
    assert_consistent(&server);
    println!(
        "sigkill: {kills} kills in {:.1}s under {clients} clients: {acked} acknowledged (all stored once), {unacked_stored} unacknowledged but stored once (the 250 was lost with the process), {unacked_absent} unacknowledged and absent; lost: 0; integrity_check ok",
        started.elapsed().as_secs_f64()
    );
    assert!(acked > 50, "the load was too light to mean anything: {acked}");
}

/// A small real filesystem that fills up (tmpfs); None where mounting is not allowed.
struct Tmpfs(std::path::PathBuf);
impl Tmpfs {
    fn mount(path: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", path.to_str()?])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(path.to_path_buf()))
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_gives_4xx_keeps_running_and_resumes_when_freed() {
    let b = builder();
    let mount = b.dir().join("disk");
    let tmpfs = Tmpfs::mount(&mount, "24m");
    let db_path = mount.join("inboxd.db");
    std::fs::create_dir_all(&mount).unwrap();
    let mut b = b.set("database.path", db_path.to_str().unwrap());
    if tmpfs.is_none() {
        // No permission to mount here: the configured cap stands in for the disk's size.
        b = b.set("database.max_size", 16 * 1024 * 1024);
    }
    let server = b.start();
    let acme = server.create_account("Acme");
    // Leave little room: a filler file (real disk) or a filler row (the cap).
    let filler = mount.join("filler");
    if tmpfs.is_some() {
        std::fs::write(&filler, vec![0u8; 20 * 1024 * 1024]).unwrap();
    } else {
        server
            .db()
            .execute_batch("CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (zeroblob(13000000));")
            .unwrap();
    }
    let ledger: Ledger = Arc::default();
    let mut refusals = BTreeMap::new();
    let mut c = ClientIo::new(TcpStream::connect(server.addr).unwrap());
    c.reply();
    c.cmd("EHLO full.example");
    let send = |c: &mut ClientIo, n: usize| -> u16 {
        let mid = format!("full-{n}@faults.example");
        ledger.lock().unwrap().insert(mid.clone(), false);
        let Some((code, _)) = c.cmd("MAIL FROM:<a@b.example>") else {
            return 0;
        };
        if code != 250 {
            return code;
        }
        let (code, _) = c.cmd(&format!("RCPT TO:<{}>", acme.address)).unwrap();
        if code != 250 {
            c.cmd("RSET");
            return code;
        }
        c.cmd("DATA").unwrap();
        let body = format!(
            "Subject: full {n}\r\nMessage-ID: <{mid}>\r\n\r\n{}\r\n.\r\n",
            "0123456789abcdef".repeat(6000)
        );
        c.write(body.as_bytes()).unwrap();
        let (code, _) = c.reply().unwrap();
        if code == 250 {
            ledger.lock().unwrap().insert(mid, true);
        }
        code
    };
    let mut n = 0;
    let mut full_seen = 0;
    while full_seen < 5 && n < 400 {
        let code = send(&mut c, n);
        n += 1;
        if code != 250 {
            *refusals.entry(code).or_insert(0) += 1;
            full_seen += 1;
        }
    }
    assert!(full_seen >= 5, "the disk never filled");
    assert!(refusals.keys().all(|code| matches!(code, 451 | 452)), "{refusals:?}");
    // Still running: a new client is served.
    let mut probe = ClientIo::new(TcpStream::connect(server.addr).unwrap());
    assert_eq!(probe.reply().map(|r| r.0), Some(220));
    assert_eq!(probe.cmd("NOOP").map(|r| r.0), Some(250));
    // Free space; delivery resumes.
    if tmpfs.is_some() {
        std::fs::remove_file(&filler).unwrap();
    } else {
        server.db().execute_batch("DROP TABLE filler").unwrap();
    }
    let mut resumed = 0;
    for _ in 0..20 {
        if send(&mut c, n) == 250 {
            resumed += 1;
        }
        n += 1;
    }
    assert!(resumed >= 10, "delivery did not resume: {resumed}");
    let (acked, _, _) = check_ledger(&server, &ledger);
    assert_consistent(&server);
    println!(
        "full disk ({}): refusals {refusals:?}, {acked} acknowledged all stored, resumed {resumed}/20 after freeing space",
        if tmpfs.is_some() {
            "tmpfs 24 MiB"
        } else {
            "database.max_size cap"
        }
    );
}

#[test]
fn hostile_clients_do_not_starve_a_normal_one_and_cost_bounded_memory() {
    let hostile = env_or("INBOXD_FAULT_HOSTILE", 1000);
    let server = builder()
        .set("limits.max_connections", (2 * hostile + 100) as i64)
        .set("limits.max_connections_per_ip", (2 * hostile + 100) as i64)
        .start();
    let acme = server.create_account("Acme");
    let baseline = server.rss_kib();
    // Silent ones: connect and say nothing.
    let silent: Vec<TcpStream> = (0..hostile).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    // Slow ones: trickle one byte every couple of seconds.
    let slow: Vec<TcpStream> = (0..hostile).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let trickler = {
        let stop = Arc::clone(&stop);
        let mut slow: Vec<TcpStream> = slow.iter().map(|s| s.try_clone().unwrap()).collect();
        std::thread::spawn(move || {
            let text = b"EHLO slowloris.example\r\n";
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                for s in &mut slow {
                    let _ = s.write_all(&text[i % text.len()..i % text.len() + 1]);
                }
                i += 1;
                std::thread::sleep(Duration::from_secs(2));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let r = server.send(
        "jane@c.example",
        &[&acme.address],
        &message(&[("Subject", "normal")], "still served"),
    );
    let elapsed = started.elapsed();
    r.expect(250, "2.0.0");
    let with_idle = server.rss_kib();
    println!(
        "hostile: {hostile} silent + {hostile} slow clients; a normal delivery took {} ms; RSS {} KiB → {} KiB",
        elapsed.as_millis(),
        baseline,
        with_idle
    );
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    stop.store(true, Ordering::Relaxed);
    trickler.join().unwrap();
    drop((silent, slow));

    // A gigabyte without a newline, then a gigabyte of DATA without its end: memory stays bounded.
    let gib: usize = env_or("INBOXD_FAULT_FLOOD_MIB", 1024) << 20;
    let chunk = vec![b'A'; 1 << 20];
    let before = server.rss_kib();
    let mut peak = before;
    let mut c = server.connect();
    c.ehlo();
    let mut sent = 0;
    while sent < gib {
        c.write(&chunk);
        sent += chunk.len();
        if sent % (64 << 20) == 0 {
            peak = peak.max(server.rss_kib());
        }
    }
    c.write(b"\r\n");
    c.reply().expect(500, "5.5.2");
    let line_peak = peak;
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    c.cmd("DATA").expect(354, "2.0.0");
    let line = [vec![b'x'; 998], b"\r\n".to_vec()].concat().repeat(1024);
    let mut sent = 0;
    let mut data_peak = before;
    while sent < gib {
        c.write(&line);
        sent += line.len();
        if sent % (64 << 20) < line.len() {
            data_peak = data_peak.max(server.rss_kib());
        }
    }
    drop(c);
    println!(
        "flood: {} MiB without newline → peak RSS {} KiB; {} MiB of DATA without end → peak RSS {} KiB (baseline {} KiB, message cap 25 MiB)",
        gib >> 20,
        line_peak,
        gib >> 20,
        data_peak,
        before
    );
    assert!(
        line_peak < before + 32 * 1024,
        "a line without end grew memory: {before} → {line_peak} KiB"
    );
    assert!(
        data_peak < before + 2 * 25 * 1024 + 16 * 1024,
        "DATA without end grew memory: {before} → {data_peak} KiB"
    );
    assert_eq!(server.connect().greeting.code, 220);
}
