//! Faults survived, nothing acknowledged lost: SIGKILL under load, a full disk, hostile clients.
//!
//! The CI sizes are modest; `INBOXD_FAULT_KILLS`, `INBOXD_FAULT_CLIENTS` and `INBOXD_FAULT_HOSTILE`
//! scale them up for the long runs reported in RELIABILITY.md.

mod common;

use common::load::*;
use common::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
    let (threads, ledger) = start_load(vec![server.addr], &acme.address, clients, &stop);
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
        // Random hex: mail is stored compressed, and text that repeats would never fill the disk.
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        let noise: String = (0..1500)
            .map(|_| {
                format!(
                    "{:016x}{:016x}{:016x}{:016x}\r\n",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                )
            })
            .collect();
        let body = format!("Subject: full {n}\r\nMessage-ID: <{mid}>\r\n\r\n{noise}.\r\n");
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
