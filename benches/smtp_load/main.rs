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

mod client;
mod report;
mod verify;

use client::Conn;
use report::{idle, report};
use verify::verify;

const USAGE: &str = "\
usage: smtp_load --addr HOST:PORT[,HOST:PORT…] --rcpt ADDRESS [options]
  --addr A,B            several MX hosts: session S talks to host S mod their number
  --messages N          messages to send in all (default 1000)
  --concurrency C       parallel sessions (default 10)
  --size BYTES          size of each message, headers included (default 2048)
  --pipelining          send MAIL, RCPT and DATA in one write when PIPELINING is advertised
  --rate MSGS_PER_SEC   offered load: message i is started no earlier than i/rate seconds in
  --throttle BYTES_PER_SEC  send the message data at this speed (memory measurements)
  --verify-db PATH      check the acknowledged Message-IDs in inboxd's SQLite file (read-only)
  --verify-pg URL       check them in inboxd's PostgreSQL database
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
    Postgres(String),
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
            "--verify-pg" => {
                args.verify = Verify::Postgres(value("--verify-pg")?);
                verify_given = true;
            }
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
            return Err(
                "say how to verify: --verify-db PATH, --verify-pg URL, --verify-maildir DIR or --verify-none".into(),
            );
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
        let hosts: Vec<&str> = args.addr.split(',').collect();
        let mut conn = match Conn::open(hosts[s % hosts.len()], args.timeout).await {
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
