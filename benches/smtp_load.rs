//! `smtp_load`: an SMTP load generator for inboxd and its peers (see BENCHMARKS.md).
//!
//! Opens C sessions; each says EHLO once and then sends messages back to back (MAIL, RCPT and DATA
//! pipelined with `--pipelining` when the server advertises PIPELINING). Every message has a unique
//! Message-ID and the requested size. It measures messages per second and the latency from the final
//! dot to the reply (p50, p99, max), counts replies that are not 250 by code, then checks that every
//! acknowledged message is really there: in inboxd's SQLite file, or in a maildir or spool folder.
//!
//! Two more modes serve the memory measurements: `--idle-sessions N --hold SECS` opens N sessions,
//! says EHLO on each and keeps them open; `--throttle BYTES_PER_SEC` sends the message data slowly.
//!
//! A benchmark, not a test: without `--addr` it prints its usage and exits 0, so that
//! `cargo test --all-targets` or `cargo bench` without arguments does nothing.
//!
//! ```text
//! cargo bench --bench smtp_load -- --addr 127.0.0.1:2525 --rcpt ADDRESS --messages 20000 \
//!     --concurrency 50 --size 2048 --pipelining --verify-db /tmp/x/inboxd.db
//! ```

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const USAGE: &str = "\
usage: smtp_load --addr HOST:PORT --rcpt ADDRESS [options]
  --messages N          messages to send in all (default 1000)
  --concurrency C       parallel sessions (default 10)
  --size BYTES          size of each message, headers included (default 2048)
  --pipelining          send MAIL, RCPT and DATA in one write when PIPELINING is advertised
  --rate MSGS_PER_SEC   offered load: message i is started no earlier than i/rate seconds in
  --throttle BYTES_PER_SEC  send the message data at this speed (memory measurements)
  --verify-db PATH      check the acknowledged Message-IDs in inboxd's SQLite file (read-only)
  --verify-maildir DIR  check them in the files under DIR (maildir, spool); waits for delivery
  --verify-wait SECS    how long --verify-maildir waits for late deliveries (default 120)
  --verify-none         no check
  --from ADDRESS        envelope sender (default load-S@sender.example, S the session)
  --timeout SECS        per-reply timeout (default 120)
  --label TEXT          copied into the JSON output
  --idle-sessions N     instead: open N sessions, EHLO, print 'ready', hold them open
  --hold SECS           how long --idle-sessions holds them (default 30)
  --json                print the result as one JSON document after the summary line";

#[derive(Debug, Clone)]
enum Verify {
    None,
    Db(PathBuf),
    Maildir(PathBuf),
}

#[derive(Debug, Clone)]
struct Args {
    addr: String,
    rcpt: String,
    from: Option<String>,
    messages: u64,
    concurrency: usize,
    size: usize,
    pipelining: bool,
    rate: Option<f64>,
    throttle: Option<u64>,
    verify: Verify,
    verify_wait: Duration,
    timeout: Duration,
    label: String,
    idle_sessions: Option<usize>,
    hold: Duration,
    json: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut raw = std::env::args().skip(1).filter(|a| a != "--bench").peekable();
    let mut args = Args {
        addr: String::new(),
        rcpt: String::new(),
        from: None,
        messages: 1000,
        concurrency: 10,
        size: 2048,
        pipelining: false,
        rate: None,
        throttle: None,
        verify: Verify::None,
        verify_wait: Duration::from_secs(120),
        timeout: Duration::from_secs(120),
        label: String::new(),
        idle_sessions: None,
        hold: Duration::from_secs(30),
        json: false,
    };
    let mut verify_given = false;
    if raw.peek().is_none() {
        return Ok(None);
    }
    while let Some(flag) = raw.next() {
        let mut value = |name: &str| raw.next().ok_or_else(|| format!("{name} needs a value"));
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse().map_err(|_| format!("{name}: `{v}` is not a valid number"))
        }
        match flag.as_str() {
            "--addr" => args.addr = value("--addr")?,
            "--rcpt" => args.rcpt = value("--rcpt")?,
            "--from" => args.from = Some(value("--from")?),
            "--messages" => args.messages = num("--messages", value("--messages")?)?,
            "--concurrency" => args.concurrency = num("--concurrency", value("--concurrency")?)?,
            "--size" => args.size = num("--size", value("--size")?)?,
            "--pipelining" => args.pipelining = true,
            "--rate" => args.rate = Some(num("--rate", value("--rate")?)?),
            "--throttle" => args.throttle = Some(num("--throttle", value("--throttle")?)?),
            "--verify-db" => {
                args.verify = Verify::Db(value("--verify-db")?.into());
                verify_given = true;
            }
            "--verify-maildir" => {
                args.verify = Verify::Maildir(value("--verify-maildir")?.into());
                verify_given = true;
            }
            "--verify-none" => {
                args.verify = Verify::None;
                verify_given = true;
            }
            "--verify-wait" => args.verify_wait = Duration::from_secs(num("--verify-wait", value("--verify-wait")?)?),
            "--timeout" => args.timeout = Duration::from_secs(num("--timeout", value("--timeout")?)?),
            "--label" => args.label = value("--label")?,
            "--idle-sessions" => args.idle_sessions = Some(num("--idle-sessions", value("--idle-sessions")?)?),
            "--hold" => args.hold = Duration::from_secs(num("--hold", value("--hold")?)?),
            "--json" => args.json = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.addr.is_empty() {
        return Err("--addr is required".into());
    }
    if args.idle_sessions.is_none() {
        if args.rcpt.is_empty() {
            return Err("--rcpt is required".into());
        }
        if !verify_given {
            return Err("say how to verify: --verify-db PATH, --verify-maildir DIR or --verify-none".into());
        }
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if args.rate.is_some_and(|r| r <= 0.0) {
        return Err("--rate must be positive".into());
    }
    Ok(Some(args))
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("smtp_load: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = runtime.block_on(async move {
        match args.idle_sessions {
            Some(n) => idle(&args, n).await,
            None => load(&args).await,
        }
    });
    std::process::exit(code);
}

// ---------------------------------------------------------------------------------------------
// The SMTP client side.

struct Conn {
    rd: BufReader<OwnedReadHalf>,
    wr: BufWriter<OwnedWriteHalf>,
    line: String,
    timeout: Duration,
    pipelining: bool,
    size: bool,
}

#[derive(Debug)]
struct Reply {
    code: u16,
    text: String,
}

impl Conn {
    async fn open(addr: &str, timeout: Duration) -> io::Result<Conn> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let (rd, wr) = stream.into_split();
        Ok(Conn {
            rd: BufReader::with_capacity(16 * 1024, rd),
            wr: BufWriter::with_capacity(64 * 1024, wr),
            line: String::new(),
            timeout,
            pipelining: false,
            size: false,
        })
    }

    async fn reply(&mut self) -> io::Result<Reply> {
        let mut text = String::new();
        loop {
            self.line.clear();
            let n = tokio::time::timeout(self.timeout, self.rd.read_line(&mut self.line))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "reply timed out"))??;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
            }
            let line = self.line.trim_end();
            if line.len() < 3 || !line.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad reply line {line:?}"),
                ));
            }
            text.push_str(line);
            text.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                let code = line[..3].parse().expect("three digits");
                return Ok(Reply { code, text });
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.wr.write_all(bytes).await?;
        self.wr.flush().await
    }

    async fn command(&mut self, line: &str) -> io::Result<Reply> {
        self.send(line.as_bytes()).await?;
        self.reply().await
    }

    /// Reads the greeting and says EHLO; remembers PIPELINING and SIZE.
    async fn hello(&mut self) -> io::Result<Reply> {
        let greeting = self.reply().await?;
        if greeting.code != 220 {
            return Ok(greeting);
        }
        let ehlo = self.command("EHLO smtp-load.localhost\r\n").await?;
        for line in ehlo.text.lines().skip(1) {
            let keyword = line.get(4..).unwrap_or("").split_whitespace().next().unwrap_or("");
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => self.pipelining = true,
                "SIZE" => self.size = true,
                _ => {}
            }
        }
        Ok(ehlo)
    }

    /// Writes `data` at `rate` bytes per second (or at once) and flushes.
    async fn send_throttled(&mut self, data: &[u8], rate: Option<u64>) -> io::Result<()> {
        let Some(rate) = rate.filter(|r| *r > 0) else {
            return self.wr.write_all(data).await;
        };
        let started = Instant::now();
        let mut sent = 0usize;
        for chunk in data.chunks(64 * 1024) {
            self.wr.write_all(chunk).await?;
            self.wr.flush().await?;
            sent += chunk.len();
            let due = started + Duration::from_secs_f64(sent as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The load run.

/// The shared part of every message body: lines of 76 characters and CRLF, never starting with a
/// dot, so no dot-stuffing is needed.
fn body_template(len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "inbound",
        "mail",
        "load",
        "test",
        "benchmark",
        "group",
        "commit",
        "fsync",
        "durable",
        "session",
        "pipelining",
        "message",
        "latency",
        "throughput",
        "sqlite",
        "tokio",
        "postfix",
        "haraka",
    ];
    let mut body = Vec::with_capacity(len + 80);
    let mut line = String::new();
    let mut w = 0usize;
    while body.len() < len {
        line.clear();
        while line.len() < 70 {
            line.push_str(WORDS[w % WORDS.len()]);
            line.push(' ');
            w = w.wrapping_mul(31).wrapping_add(7) % 1009;
        }
        line.truncate(76);
        body.extend_from_slice(line.trim_end().as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.truncate(len);
    body
}

#[derive(Default)]
struct Tally {
    sent: u64,
    acked: Vec<u64>,
    latencies_us: Vec<u64>,
    codes: BTreeMap<String, u64>,
    io_errors: u64,
    last_error: Option<String>,
}

impl Tally {
    fn code(&mut self, stage: &str, code: u16) {
        *self.codes.entry(format!("{stage}:{code}")).or_default() += 1;
    }
}

struct Shared {
    args: Args,
    run_id: String,
    body: Vec<u8>,
    next: AtomicU64,
    started: Instant,
}

impl Shared {
    fn message_id(&self, i: u64) -> String {
        format!("{}-{i}@smtp-load.localhost", self.run_id)
    }
}

async fn load(args: &Args) -> i32 {
    let run_id = format!(
        "load-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let shared = Arc::new(Shared {
        args: args.clone(),
        run_id,
        body: body_template(args.size),
        next: AtomicU64::new(0),
        started: Instant::now(),
    });
    let mut tasks = Vec::new();
    for s in 0..args.concurrency {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move { session(shared, s).await }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.expect("a session task");
        total.sent += t.sent;
        total.acked.extend(t.acked);
        total.latencies_us.extend(t.latencies_us);
        for (k, v) in t.codes {
            *total.codes.entry(k).or_default() += v;
        }
        total.io_errors += t.io_errors;
        if t.last_error.is_some() {
            total.last_error = t.last_error;
        }
    }
    let elapsed = shared.started.elapsed();
    let (verified, missing, verify_note) = verify(&shared, &total.acked).await;
    report(&shared, &mut total, elapsed, verified, missing, verify_note)
}

async fn session(shared: Arc<Shared>, s: usize) -> Tally {
    let mut tally = Tally::default();
    let args = &shared.args;
    let from = args.from.clone().unwrap_or_else(|| format!("load-{s}@sender.example"));
    let mut reconnects = 0;
    'connect: while shared.next.load(Ordering::Relaxed) < args.messages {
        let mut conn = match Conn::open(&args.addr, args.timeout).await {
            Ok(c) => c,
            Err(e) => {
                tally.io_errors += 1;
                tally.last_error = Some(format!("connect: {e}"));
                reconnects += 1;
                if reconnects > 20 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match conn.hello().await {
            Ok(r) if r.code == 250 => {}
            Ok(r) => {
                tally.code("ehlo", r.code);
                reconnects += 1;
                if reconnects > 20 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => {
                tally.io_errors += 1;
                tally.last_error = Some(format!("greeting/ehlo: {e}"));
                reconnects += 1;
                if reconnects > 20 {
                    break;
                }
                continue;
            }
        }
        let pipelined = args.pipelining && conn.pipelining;
        loop {
            let i = shared.next.fetch_add(1, Ordering::Relaxed);
            if i >= args.messages {
                let _ = conn.command("QUIT\r\n").await;
                break 'connect;
            }
            if let Some(rate) = args.rate {
                let due = shared.started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            tally.sent += 1;
            match transaction(&shared, &mut conn, &from, i, pipelined, &mut tally).await {
                Ok(()) => {}
                Err(e) => {
                    tally.io_errors += 1;
                    tally.last_error = Some(format!("message {i}: {e}"));
                    reconnects += 1;
                    if reconnects > 20 {
                        break 'connect;
                    }
                    continue 'connect;
                }
            }
        }
    }
    tally
}

/// One message: MAIL, RCPT, DATA, the content, and the final reply (timed).
async fn transaction(
    shared: &Shared,
    conn: &mut Conn,
    from: &str,
    i: u64,
    pipelined: bool,
    tally: &mut Tally,
) -> io::Result<()> {
    let args = &shared.args;
    let message_id = shared.message_id(i);
    let header = format!(
        "From: Load Sender <{from}>\r\nTo: <{rcpt}>\r\nSubject: Load test message {i}\r\n\
         Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        rcpt = args.rcpt
    );
    let body = &shared.body[..args.size.saturating_sub(header.len()).min(shared.body.len())];
    let total = header.len() + body.len();
    let size_param = if conn.size {
        format!(" SIZE={total}")
    } else {
        String::new()
    };
    let mail = format!("MAIL FROM:<{from}>{size_param}\r\n");
    let rcpt = format!("RCPT TO:<{}>\r\n", args.rcpt);
    let (mail_reply, rcpt_reply, data_reply) = if pipelined {
        conn.send(format!("{mail}{rcpt}DATA\r\n").as_bytes()).await?;
        (conn.reply().await?, conn.reply().await?, conn.reply().await?)
    } else {
        let m = conn.command(&mail).await?;
        if m.code != 250 {
            tally.code("mail", m.code);
            conn.command("RSET\r\n").await?;
            return Ok(());
        }
        let r = conn.command(&rcpt).await?;
        if r.code != 250 {
            tally.code("rcpt", r.code);
            conn.command("RSET\r\n").await?;
            return Ok(());
        }
        let d = conn.command("DATA\r\n").await?;
        (m, r, d)
    };
    if mail_reply.code != 250 || rcpt_reply.code != 250 || data_reply.code != 354 {
        if mail_reply.code != 250 {
            tally.code("mail", mail_reply.code);
        }
        if rcpt_reply.code != 250 {
            tally.code("rcpt", rcpt_reply.code);
        }
        if data_reply.code != 354 {
            tally.code("data", data_reply.code);
        }
        if data_reply.code == 354 {
            // The server is waiting for content it should not have asked for: end it empty.
            conn.send(b".\r\n").await?;
            conn.reply().await?;
        }
        if data_reply.code == 421 {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, data_reply.text));
        }
        conn.command("RSET\r\n").await?;
        return Ok(());
    }
    conn.send_throttled(header.as_bytes(), args.throttle).await?;
    conn.send_throttled(body, args.throttle).await?;
    let end: &[u8] = if body.ends_with(b"\r\n") || body.is_empty() {
        b".\r\n"
    } else {
        b"\r\n.\r\n"
    };
    conn.send(end).await?;
    let dot = Instant::now();
    let reply = conn.reply().await?;
    let latency = dot.elapsed();
    if reply.code == 250 {
        tally.acked.push(i);
        tally.latencies_us.push(latency.as_micros() as u64);
    } else {
        tally.code("end-of-data", reply.code);
        if reply.code == 421 {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, reply.text));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Verification: every acknowledged Message-ID must be stored.

async fn verify(shared: &Arc<Shared>, acked: &[u64]) -> (Option<u64>, Option<u64>, String) {
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

fn ids_in_db(path: &Path, prefix: &str) -> rusqlite::Result<HashSet<String>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let mut stmt = conn.prepare("SELECT message_id FROM messages WHERE substr(message_id, 1, ?1) = ?2")?;
    let rows = stmt.query_map((prefix.len() as i64, prefix), |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Reads the head of every file not seen yet (recursively) and collects our Message-IDs.
fn scan_dir(dir: &Path, prefix: &str, seen: &mut HashSet<PathBuf>, found: &mut HashSet<String>) {
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

fn message_id_in_file(path: &Path, prefix: &str) -> Option<String> {
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

// ---------------------------------------------------------------------------------------------
// The report.

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(
    shared: &Shared,
    t: &mut Tally,
    elapsed: Duration,
    verified: Option<u64>,
    missing: Option<u64>,
    verify_note: String,
) -> i32 {
    let args = &shared.args;
    t.latencies_us.sort_unstable();
    let acked = t.acked.len() as u64;
    let secs = elapsed.as_secs_f64();
    let rate = acked as f64 / secs.max(1e-9);
    let ms = |us: u64| us as f64 / 1000.0;
    let p50 = percentile(&t.latencies_us, 50.0);
    let p99 = percentile(&t.latencies_us, 99.0);
    let max = t.latencies_us.last().copied().unwrap_or(0);
    let codes = if t.codes.is_empty() {
        "none".to_string()
    } else {
        t.codes
            .iter()
            .map(|(k, v)| format!("{k}x{v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let check = match (verified, missing) {
        (Some(v), Some(0)) => format!("verified {v}/{acked}"),
        (Some(v), Some(m)) => format!("VERIFY FAILED {v}/{acked} ({m} missing)"),
        _ => verify_note.clone(),
    };
    println!(
        "{label}{addr} size={size} conc={conc}{pipe}{rate_note}: {acked}/{sent} acked in {secs:.2}s = {rate:.1} msg/s; \
         end-of-data→250 p50 {p50:.2} ms p99 {p99:.2} ms max {max:.2} ms; non-250: {codes}; io errors {io}; {check}",
        label = if args.label.is_empty() {
            String::new()
        } else {
            format!("[{}] ", args.label)
        },
        addr = args.addr,
        size = args.size,
        conc = args.concurrency,
        pipe = if args.pipelining { " pipelining" } else { "" },
        rate_note = args.rate.map(|r| format!(" offered={r}/s")).unwrap_or_default(),
        sent = t.sent,
        p50 = ms(p50),
        p99 = ms(p99),
        max = ms(max),
        io = t.io_errors,
    );
    if let Some(e) = &t.last_error {
        eprintln!("smtp_load: last error: {e}");
    }
    if args.json {
        let doc = serde_json::json!({
            "label": args.label,
            "addr": args.addr,
            "size": args.size,
            "concurrency": args.concurrency,
            "pipelining": args.pipelining,
            "offered_rate": args.rate,
            "messages": args.messages,
            "sent": t.sent,
            "acked": acked,
            "elapsed_s": secs,
            "msgs_per_s": rate,
            "latency_ms": { "p50": ms(p50), "p99": ms(p99), "max": ms(max) },
            "non_250": t.codes,
            "io_errors": t.io_errors,
            "last_error": t.last_error,
            "verified": verified,
            "missing": missing,
            "verify": verify_note,
        });
        println!("{doc}");
    }
    match missing {
        Some(m) if m > 0 => 1,
        _ if acked == 0 && args.messages > 0 => 1,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Idle sessions (memory per connection).

async fn idle(args: &Args, n: usize) -> i32 {
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Open them `concurrency` at a time; each task keeps its connections.
    for _ in 0..args.concurrency.min(n) {
        let next = Arc::clone(&next);
        let tx = tx.clone();
        let addr = args.addr.clone();
        let timeout = args.timeout;
        tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let outcome = async {
                    let mut conn = Conn::open(&addr, timeout).await?;
                    let r = conn.hello().await?;
                    io::Result::Ok((r.code, conn))
                }
                .await;
                if tx.send(outcome).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut open = Vec::with_capacity(n);
    let mut codes: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors = 0u64;
    let mut last_error = None;
    while let Some(outcome) = rx.recv().await {
        match outcome {
            Ok((250, conn)) => open.push(conn),
            Ok((code, _)) => *codes.entry(code).or_default() += 1,
            Err(e) => {
                errors += 1;
                last_error = Some(e.to_string());
            }
        }
    }
    println!(
        "ready: {} idle sessions open after {:.1}s; refused {:?}; io errors {errors}{}",
        open.len(),
        started.elapsed().as_secs_f64(),
        codes,
        last_error.map(|e| format!(" (last: {e})")).unwrap_or_default()
    );
    tokio::time::sleep(args.hold).await;
    // Check they are still alive: one NOOP each.
    let mut alive = 0;
    for conn in open.iter_mut() {
        if matches!(conn.command("NOOP\r\n").await, Ok(r) if r.code == 250) {
            alive += 1;
        }
    }
    println!(
        "done: {alive}/{} sessions still answered NOOP after {:.0}s",
        open.len(),
        args.hold.as_secs_f64()
    );
    if args.json {
        println!(
            "{}",
            serde_json::json!({"idle_sessions": open.len(), "alive": alive, "refused": codes, "io_errors": errors})
        );
    }
    i32::from(open.len() < n)
}
