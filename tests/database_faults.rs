//! The database failing under a PostgreSQL host: killed (`pg_ctl stop -m immediate`) and
//! restarted; its primary lost and a synchronous standby promoted in its place (failover); its
//! disk full. Each under real SMTP load against real `inboxd serve` processes: every 250 is a
//! stored message, nothing is stored twice, and the host serves again once the database does.

mod common;

use common::load::*;
use common::*;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[test]
fn postgres_killed_under_load_defers_mail_and_loses_nothing_acknowledged() {
    // A server of its own: stopping the shared one would fail the other tests of this binary.
    let pg = pg::Postgres::dedicated();
    let url = pg.database();
    let a = builder()
        .set("database.url", url.as_str())
        .set("http.listen", "127.0.0.1:0")
        .start();
    let b = builder().set("database.url", url.as_str()).start();
    let acme = a.create_account("Acme");
    let stop = Arc::new(AtomicBool::new(false));
    let (threads, ledger) = start_load(vec![a.addr, b.addr], &acme.address, 6, &stop);
    std::thread::sleep(Duration::from_millis(1500));
    let before = acked(&ledger);
    assert!(before > 20, "the load runs: {before}");
    pg.stop_immediate();
    // While it is down: /healthz says so, and after a few seconds new sessions hear 421 4.3.2.
    std::thread::sleep(Duration::from_millis(500));
    let health = http_get(a.http_addr.unwrap(), "/healthz");
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    let refused = wait_for(Duration::from_secs(10), || {
        let mut c = ClientIo::new(std::net::TcpStream::connect(b.addr).ok()?);
        let (code, line) = c.reply()?;
        (code == 421).then_some(line)
    });
    assert!(refused.contains("4.3.2"), "{refused}");
    let during = acked(&ledger);
    pg.start_again();
    let after_restart = wait_for(Duration::from_secs(20), || {
        let now = acked(&ledger);
        (now > during + 50).then_some(now)
    });
    let health = http_get(a.http_addr.unwrap(), "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (acked, unacked_stored, unacked_absent) = check_ledger(&a, &ledger);
    assert_consistent(&a);
    println!(
        "pg_ctl stop -m immediate under load: {before} acknowledged before, {during} when the database was back up, {after_restart} soon after; in all {acked} acknowledged (all stored once), {unacked_stored} unacknowledged but stored, {unacked_absent} unacknowledged and absent; lost: 0"
    );
}

#[test]
fn a_failover_to_a_synchronous_standby_loses_nothing_acknowledged() {
    let primary = pg::Postgres::dedicated();
    let url = primary.database();
    let standby = primary.standby();
    primary.wait_for_standby_on_commit();
    // Both servers in one URL, as libpq takes them: the host connects to whichever takes writes.
    let both = format!(
        "{}?target_session_attrs=read-write",
        url.replace(
            &format!(":{}/", primary.port),
            &format!(":{},127.0.0.1:{}/", primary.port, standby.port)
        )
    );
    let a = builder().set("database.url", both.as_str()).start();
    let b = builder().set("database.url", both.as_str()).start();
    let acme = a.create_account("Acme");
    let stop = Arc::new(AtomicBool::new(false));
    let (threads, ledger) = start_load(vec![a.addr, b.addr], &acme.address, 6, &stop);
    std::thread::sleep(Duration::from_millis(1500));
    let sync_state: String = primary
        .client("postgres")
        .query_one("SELECT string_agg(sync_state, ',') FROM pg_stat_replication", &[])
        .unwrap()
        .get(0);
    assert_eq!(sync_state, "sync", "the standby is synchronous");
    // The standby falls behind just before the primary dies: the primary's WAL sender is stopped,
    // then killed with the primary. An asynchronous standby would be promoted without the last
    // acknowledged messages; a synchronous one holds every commit that was acknowledged.
    let sender: i32 = primary
        .client("postgres")
        .query_one("SELECT pid FROM pg_stat_replication", &[])
        .unwrap()
        .get(0);
    let before = acked(&ledger);
    assert!(before > 20, "the load runs: {before}");
    signal(sender, "STOP");
    std::thread::sleep(Duration::from_millis(700));
    signal(sender, "KILL");
    primary.stop_immediate();
    std::thread::sleep(Duration::from_millis(300));
    standby.promote();
    let at_promotion = acked(&ledger);
    let after = wait_for(Duration::from_secs(30), || {
        let now = acked(&ledger);
        (now > at_promotion + 50).then_some(now)
    });
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    // Read from the promoted standby: whatever the primary acknowledged, the standby had flushed.
    let (acked, unacked_stored, unacked_absent) = check_ledger(&a, &ledger);
    assert_consistent(&a);
    let on_standby = standby
        .client(url.rsplit('/').next().unwrap())
        .query_one("SELECT count(*) FROM messages", &[])
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(
        on_standby as usize,
        acked + unacked_stored,
        "the hosts read the promoted standby"
    );
    println!(
        "failover to a synchronous standby under load: {before} acknowledged before the standby fell behind, {at_promotion} at the promotion, {after} soon after; in all {acked} acknowledged (all on the new primary, once), {unacked_stored} unacknowledged but stored, {unacked_absent} unacknowledged and absent; lost: 0"
    );
}

fn signal(pid: i32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// A small tmpfs mounted for a test (unmounted when dropped, lazily: PostgreSQL may still hold
/// files in it).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: std::path::PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},uid=postgres,gid=postgres,mode=0700"),
            ])
            .arg("tmpfs")
            .arg(&at)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a {size} tmpfs needs root (CI runs as root)");
        SmallDisk(at)
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount the tmpfs at {size}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_defers_mail_with_452_and_the_host_takes_mail_again_once_there_is_room() {
    let pg = pg::Postgres::dedicated();
    // The database's tables on a small disk of their own; the WAL stays on the big one (PostgreSQL
    // stops altogether when it cannot write WAL: that is the crash the test above covers).
    let disk = SmallDisk::mount(pg.dir().join("small"), "16m");
    let mut admin = pg.client("postgres");
    admin
        .batch_execute(&format!("CREATE TABLESPACE small LOCATION '{}'", disk.0.display()))
        .unwrap();
    admin
        .batch_execute("CREATE DATABASE full_disk TABLESPACE small")
        .unwrap();
    let server = builder().set("database.url", pg.url("full_disk").as_str()).start();
    let acme = server.create_account("Acme");
    let mut rng = XorShift(0x5EED);
    let mut body = || -> String {
        (0..400)
            .map(|_| {
                format!(
                    "{:016x}{:016x}{:016x}{:016x}\r\n",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                )
            })
            .collect()
    };
    let (mut acked, mut full) = (0, None);
    for n in 0..2000 {
        let msg = message(
            &[
                ("From", "Customer <customer@example.com>"),
                ("Subject", "A large question"),
                ("Message-ID", &format!("<full-{n}@example.com>")),
            ],
            &body(),
        );
        let reply = server.send("customer@example.com", &[&acme.address], &msg);
        match reply.code {
            250 => acked += 1,
            _ => {
                full = Some(reply);
                break;
            }
        }
    }
    let full = full.expect("the 16 MiB disk filled up");
    assert_eq!(full.code, 452, "{full:?}");
    assert!(full.text().contains("4.3.1"), "{full:?}");
    assert!(acked > 10, "the disk held some mail first: {acked}");
    // Still full: the next one hears the same, and the host is alive.
    let again = server.send(
        "customer@example.com",
        &[&acme.address],
        &message(&[("Subject", "Still full?")], &body()),
    );
    assert_eq!(again.code, 452, "{again:?}");
    let stored = server.count("SELECT count(*) FROM messages");
    assert_eq!(stored, acked, "every 250 is stored, nothing else is");
    assert_consistent(&server);
    // Room again: mail is taken at once, no restart.
    disk.grow("64m");
    let later = server.send(
        "customer@example.com",
        &[&acme.address],
        &message(
            &[("Subject", "Room again"), ("Message-ID", "<room@example.com>")],
            "Hello",
        ),
    );
    assert_eq!(later.code, 250, "{later:?}");
    assert_eq!(server.count("SELECT count(*) FROM messages"), acked + 1);
    println!("PostgreSQL disk full: {acked} acknowledged and stored, then 452 4.3.1; 250 again once the disk grew");
}
/// One plain HTTP/1.1 GET; the whole response as text.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
