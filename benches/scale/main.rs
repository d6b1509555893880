//! `scale`: one large account, then every read an inbox application and a person make of it
//! (benches/scale.sh runs it on SQLite and PostgreSQL and prints one table; BENCHMARKS.md keeps the
//! results). A benchmark, not a test: without `--smtp` it prints its usage and exits 0.
//!
//! `load` sends N messages over SMTP (pipelined, several sessions) into one account: N/4 distinct
//! senders, half of the messages replies (In-Reply-To the sender's previous one), text in six
//! languages, and one monitoring sender whose messages make one conversation of N/10 (at most
//! 100,000). `read` then measures, each read repeated: the conversation list's first and eleventh
//! page, the contacts list, one contact, the web inbox's account page and its search for an
//! address, full-text search for a word, a phrase and an address, the long conversation and a page
//! of its older messages; and the server's RSS before, and while 50 readers read at once.
//!
//! `probe` sends one message at a time for a while (a new session each, as a sender's MTA does)
//! and prints the latencies of their 250s: what a sender waits while something else runs (an
//! erasure, a retention purge; benches/lifecycle.sh).
//!
//! ```text
//! cargo bench --bench scale -- probe --smtp 127.0.0.1:2525 --rcpt ADDRESS --seconds 30
//! cargo bench --bench scale -- load --smtp 127.0.0.1:2525 --rcpt ADDRESS --messages 100000
//! cargo bench --bench scale -- read --http 127.0.0.1:9325 --key KEY --account 1 --pid PID
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: scale load --smtp HOST:PORT --rcpt ADDRESS --messages N [--sessions C] [--start I]
       scale read --http HOST:PORT --key KEY --account ID --messages N [--pid PID] [--repeat R]
       scale probe --smtp HOST:PORT --rcpt ADDRESS --seconds S [--every-ms M] [--until FILE]";

/// Words of each language the text is made of (common words, an inbox's vocabulary).
const LANGUAGES: &[&[&str]] = &[
    &[
        "the", "order", "delivery", "invoice", "please", "address", "refund", "thanks", "tomorrow", "package",
        "payment", "support", "question", "account", "shipping", "received", "week", "could", "you", "check",
    ],
    &[
        "die",
        "Bestellung",
        "Lieferung",
        "Rechnung",
        "bitte",
        "Adresse",
        "Rückerstattung",
        "danke",
        "morgen",
        "Paket",
        "Zahlung",
        "Überweisung",
        "Frage",
        "Konto",
        "Versand",
        "erhalten",
        "Woche",
        "könnten",
        "Sie",
        "prüfen",
    ],
    &[
        "la",
        "commande",
        "livraison",
        "facture",
        "merci",
        "adresse",
        "remboursement",
        "demain",
        "colis",
        "paiement",
        "question",
        "compte",
        "expédition",
        "reçu",
        "semaine",
        "pourriez",
        "vous",
        "vérifier",
        "être",
        "déjà",
    ],
    &[
        "el",
        "pedido",
        "entrega",
        "factura",
        "gracias",
        "dirección",
        "reembolso",
        "mañana",
        "paquete",
        "pago",
        "pregunta",
        "cuenta",
        "envío",
        "recibido",
        "semana",
        "podría",
        "usted",
        "revisar",
        "también",
        "todavía",
    ],
    &[
        "注文",
        "配送",
        "請求書",
        "お願いします",
        "住所",
        "返金",
        "ありがとう",
        "明日",
        "荷物",
        "支払い",
        "質問",
        "アカウント",
        "発送",
        "受け取りました",
        "今週",
        "確認",
        "東京都",
        "大阪",
        "よろしく",
        "申し訳",
    ],
    &[
        "订单",
        "送货",
        "发票",
        "请",
        "地址",
        "退款",
        "谢谢",
        "明天",
        "包裹",
        "付款",
        "问题",
        "账户",
        "发货",
        "收到",
        "本周",
        "检查",
        "北京市",
        "上海",
        "您好",
        "抱歉",
    ],
];

/// A small deterministic generator (the same messages in every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The monitoring sender, whose messages make one long conversation.
const MONITOR: &str = "monitor@ops.scale.example";

fn sender(i: u64, contacts: u64) -> String {
    format!("customer{}@shop{}.scale.example", i % contacts, (i % contacts) % 97)
}

/// Message `i` of a load of `n`: its envelope sender and its bytes.
fn message(i: u64, n: u64) -> (String, String) {
    let contacts = (n / 4).max(1);
    let monitor_every = 10;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    if i % monitor_every == 5 && i / monitor_every < 100_000 {
        let body = format!("Disk usage on host db{} is at {} percent.\r\n", i % 7, 50 + i % 50);
        let msg = format!(
            "From: Ops <{MONITOR}>\r\nSubject: Disk usage report\r\nMessage-ID: <m{i}@ops.scale.example>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        );
        return (MONITOR.to_string(), msg);
    }
    let from = sender(i, contacts);
    let language = LANGUAGES[(i % contacts % LANGUAGES.len() as u64) as usize];
    let mut text = String::new();
    for line in 0..12 {
        for _ in 0..10 {
            text.push_str(language[rng.below(language.len())]);
            text.push(' ');
        }
        if line % 4 == 3 {
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
    }
    // Every other message of a sender answers the one before it (same conversation).
    let round = i / contacts;
    let (subject, reply) = if round % 2 == 1 {
        (
            format!("Re: Order {}-{}", i % contacts, round - 1),
            format!("In-Reply-To: <s{}@shop.scale.example>\r\n", i - contacts),
        )
    } else {
        (format!("Order {}-{}", i % contacts, round), String::new())
    };
    let msg = format!(
        "From: Customer {} <{from}>\r\nTo: inbox\r\nSubject: {subject}\r\nMessage-ID: <s{i}@shop.scale.example>\r\n{reply}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}",
        i % contacts
    );
    (from, msg)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let result = match args.first().map(String::as_str) {
        Some("load") => load(&args),
        Some("read") => read(&args),
        Some("probe") => probe(&args),
        _ => {
            println!("{USAGE}");
            return;
        }
    };
    if let Err(e) = result {
        eprintln!("scale: {e}");
        std::process::exit(1);
    }
}

/// Reads one SMTP reply; its code.
fn reply(r: &mut BufReader<TcpStream>) -> Result<u16, String> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed".into());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or(format!("bad reply {line:?}"));
        }
    }
}

fn load(args: &[String]) -> Result<(), String> {
    let smtp = arg(args, "--smtp").ok_or("--smtp is needed")?;
    let rcpt = arg(args, "--rcpt").ok_or("--rcpt is needed")?;
    let n: u64 = arg(args, "--messages")
        .ok_or("--messages is needed")?
        .parse()
        .map_err(|_| "--messages: a number")?;
    let sessions: u64 = arg(args, "--sessions")
        .map_or(Ok(50), |s| s.parse())
        .map_err(|_| "--sessions: a number")?;
    let start: u64 = arg(args, "--start")
        .map_or(Ok(0), |s| s.parse())
        .map_err(|_| "--start: a number")?;
    let next = Arc::new(AtomicU64::new(start));
    let refused = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    let threads: Vec<_> = (0..sessions)
        .map(|_| {
            let (smtp, rcpt, next, refused) = (smtp.clone(), rcpt.clone(), Arc::clone(&next), Arc::clone(&refused));
            std::thread::spawn(move || -> Result<(), String> {
                let stream = TcpStream::connect(&smtp).map_err(|e| e.to_string())?;
                stream.set_nodelay(true).ok();
                let mut w = stream.try_clone().map_err(|e| e.to_string())?;
                let mut r = BufReader::new(stream);
                reply(&mut r)?;
                w.write_all(b"EHLO scale.example\r\n").map_err(|e| e.to_string())?;
                reply(&mut r)?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= start + n {
                        break;
                    }
                    let (from, msg) = message(i, start + n);
                    // MAIL, RCPT and DATA pipelined; the data once 354 came.
                    w.write_all(format!("MAIL FROM:<{from}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n").as_bytes())
                        .map_err(|e| e.to_string())?;
                    let codes = [reply(&mut r)?, reply(&mut r)?, reply(&mut r)?];
                    if codes[2] != 354 {
                        refused.fetch_add(1, Ordering::Relaxed);
                        w.write_all(b"RSET\r\n").map_err(|e| e.to_string())?;
                        reply(&mut r)?;
                        continue;
                    }
                    w.write_all(msg.as_bytes())
                        .and_then(|_| w.write_all(b".\r\n"))
                        .map_err(|e| e.to_string())?;
                    if reply(&mut r)? != 250 {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let _ = w.write_all(b"QUIT\r\n");
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a session panicked")??;
    }
    let secs = began.elapsed().as_secs_f64();
    println!(
        "{{\"messages\": {n}, \"seconds\": {secs:.2}, \"rate\": {:.0}, \"refused\": {}}}",
        n as f64 / secs,
        refused.load(Ordering::Relaxed)
    );
    Ok(())
}

/// One message at a time, each in its own session, for `--seconds`: the latency from the end of
/// its data to the 250 (the commit a sender waits for), as JSON.
fn probe(args: &[String]) -> Result<(), String> {
    let smtp = arg(args, "--smtp").ok_or("--smtp is needed")?;
    let rcpt = arg(args, "--rcpt").ok_or("--rcpt is needed")?;
    let seconds: f64 = arg(args, "--seconds")
        .ok_or("--seconds is needed")?
        .parse()
        .map_err(|_| "--seconds: a number")?;
    let every = Duration::from_millis(
        arg(args, "--every-ms")
            .map_or(Ok(20), |s| s.parse())
            .map_err(|_| "--every-ms: a number")?,
    );
    // Or until this file exists (the script says when what it measures is over).
    let until = arg(args, "--until").map(std::path::PathBuf::from);
    let began = Instant::now();
    let mut latencies = Vec::new();
    let mut slow: Vec<String> = Vec::new();
    let mut n = 0u64;
    while began.elapsed().as_secs_f64() < seconds && !until.as_ref().is_some_and(|f| f.exists()) {
        n += 1;
        let stream = TcpStream::connect(&smtp).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).ok();
        let mut w = stream.try_clone().map_err(|e| e.to_string())?;
        let mut r = BufReader::new(stream);
        reply(&mut r)?;
        w.write_all(b"EHLO probe.example\r\n").map_err(|e| e.to_string())?;
        reply(&mut r)?;
        let from = "probe@probe.scale.example";
        w.write_all(format!("MAIL FROM:<{from}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let codes = [reply(&mut r)?, reply(&mut r)?, reply(&mut r)?];
        if codes[2] != 354 {
            return Err(format!("the probe was refused: {codes:?}"));
        }
        let msg = format!(
            "From: <{from}>\r\nSubject: Probe {n}\r\nMessage-ID: <p{n}.{}@probe.scale.example>\r\n\r\nProbe.\r\n.\r\n",
            std::process::id()
        );
        w.write_all(msg.as_bytes()).map_err(|e| e.to_string())?;
        let sent = Instant::now();
        let code = reply(&mut r)?;
        let took = sent.elapsed().as_secs_f64() * 1000.0;
        latencies.push(took);
        // When each slow one was answered (wall clock), to set beside the server's log.
        if took > 100.0 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            slow.push(format!("{now:.3}:{took:.0}"));
        }
        if code != 250 {
            return Err(format!("the probe got {code}"));
        }
        let _ = w.write_all(b"QUIT\r\n");
        std::thread::sleep(every);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{{\"probes\": {}, \"median_ms\": {:.1}, \"p99_ms\": {:.1}, \"max_ms\": {:.1}, \"over_100ms\": {}, \"slow_at\": \"{}\"}}",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies.last().copied().unwrap_or(0.0),
        latencies.iter().filter(|l| **l > 100.0).count(),
        slow.join(" ")
    );
    Ok(())
}

/// One GET over its own connection: the status and the body.
fn get(http: &str, path: &str, headers: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(http).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

fn json_str(body: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get(key)?.as_str().map(String::from)
}

fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn read(args: &[String]) -> Result<(), String> {
    let http = arg(args, "--http").ok_or("--http is needed")?;
    let key = arg(args, "--key").ok_or("--key is needed")?;
    let account = arg(args, "--account").ok_or("--account is needed")?;
    let n: u64 = arg(args, "--messages")
        .ok_or("--messages is needed")?
        .parse()
        .map_err(|_| "--messages: a number")?;
    let repeat: usize = arg(args, "--repeat")
        .map_or(Ok(30), |s| s.parse())
        .map_err(|_| "--repeat: a number")?;
    let pid = arg(args, "--pid");
    let auth = format!("Authorization: Bearer {key}\r\n");
    // The web inbox's session.
    let mut s = TcpStream::connect(&http).map_err(|e| e.to_string())?;
    let form = format!("key={}", encode(&key));
    write!(
        s,
        "POST /inbox/sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let cookie = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .ok_or("no session cookie")?
        .to_string();
    let web = format!("Cookie: {cookie}\r\n");
    // The eleventh page's cursor, the long conversation, a contact and an address to look for.
    let mut cursor = None;
    let mut path = format!("/v1/accounts/{account}/conversations?limit=50");
    for _ in 0..10 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.clone(),
        };
        let (_, body) = get(&http, &url, &auth)?;
        cursor = json_str(&body, "next_cursor");
    }
    let eleventh = format!("{path}&cursor={}", cursor.ok_or("fewer than 11 pages")?);
    path = format!("/v1/accounts/{account}/conversations?contact={MONITOR}&limit=1");
    let (_, body) = get(&http, &path, &auth)?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let long = v["data"][0]["id"].as_i64().ok_or("no monitoring conversation")?;
    let (_, body) = get(&http, &format!("/v1/conversations/{long}"), &auth)?;
    let older = json_str(&body, "messages_cursor").ok_or("the long conversation has no older messages")?;
    let contact = sender(n / 8 + 3, (n / 4).max(1));
    let reads: Vec<(&str, String, &str)> = vec![
        (
            "conversations, first page",
            format!("/v1/accounts/{account}/conversations?limit=50"),
            "api",
        ),
        ("conversations, 11th page", eleventh, "api"),
        (
            "contacts, first page",
            format!("/v1/accounts/{account}/contacts?limit=50"),
            "api",
        ),
        (
            "one contact",
            format!("/v1/accounts/{account}/contacts/{contact}"),
            "api",
        ),
        ("web inbox, account page", format!("/inbox/accounts/{account}"), "web"),
        (
            "web inbox, search an address",
            format!("/inbox/accounts/{account}?q={}", encode(&contact)),
            "web",
        ),
        (
            "search a word",
            format!("/v1/accounts/{account}/conversations?q=invoice"),
            "api",
        ),
        (
            "search a phrase",
            format!(
                "/v1/accounts/{account}/conversations?q={}",
                encode("\"delivery address\"")
            ),
            "api",
        ),
        (
            "search an address",
            format!("/v1/accounts/{account}/conversations?q={}", encode(&contact)),
            "api",
        ),
        (
            "search Japanese",
            format!("/v1/accounts/{account}/conversations?q={}", encode("東京")),
            "api",
        ),
        ("the long conversation", format!("/v1/conversations/{long}"), "api"),
        (
            "its older messages",
            format!("/v1/conversations/{long}/messages?limit=50&cursor={older}"),
            "api",
        ),
    ];
    let rss_before = pid.as_deref().map_or(0, rss_kib);
    println!("{{\"reads\": [");
    for (n_read, (name, path, door)) in reads.iter().enumerate() {
        let headers = if *door == "web" { &web } else { &auth };
        let mut times = Vec::with_capacity(repeat);
        let mut bytes = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            let (code, body) = get(&http, path, headers)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if code != 200 {
                return Err(format!("{name}: {code} {body:.200}"));
            }
            bytes = body.len();
        }
        times.sort_by(f64::total_cmp);
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "  {{\"read\": \"{name}\", \"median_ms\": {:.1}, \"p99_ms\": {:.1}, \"bytes\": {bytes}}}{}",
            p(0.5),
            p(0.99),
            if n_read + 1 < reads.len() { "," } else { "" }
        );
    }
    // 50 readers at once, each reading the list above round and round for ten seconds.
    let peak = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = pid.clone().map(|pid| {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(&pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    });
    let reads = Arc::new(reads.into_iter().map(|(_, p, d)| (p, d == "web")).collect::<Vec<_>>());
    let readers: Vec<_> = (0..50)
        .map(|r| {
            let (http, auth, web, reads) = (http.clone(), auth.clone(), web.clone(), Arc::clone(&reads));
            std::thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(10);
                let mut k = r;
                while Instant::now() < until {
                    let (path, is_web) = &reads[k % reads.len()];
                    let _ = get(&http, path, if *is_web { &web } else { &auth });
                    k += 1;
                }
            })
        })
        .collect();
    for r in readers {
        let _ = r.join();
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(s) = sampler {
        let _ = s.join();
    }
    println!(
        "], \"rss_before_kib\": {rss_before}, \"rss_50_readers_kib\": {}}}",
        peak.load(Ordering::Relaxed)
    );
    Ok(())
}
