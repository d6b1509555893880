//! A throwaway PostgreSQL server for the tests: Debian's `initdb` and `pg_ctl` (from the folder
//! `pg_config --bindir` names) into a temporary folder, on a free loopback port, one per test
//! process, each test in a database of its own; stopped and removed when the process exits.
//!
//! `initdb` refuses to run as root: as root, the folder is given to the `postgres` user and the
//! server runs as that user (`runuser`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    bindir: PathBuf,
    as_postgres: bool,
    /// TLS only over TCP (`hostssl`, the test certificate), and a password (SCRAM) for TCP logins.
    secure: bool,
}

/// The password of [`Postgres::secured`] servers.
pub const PASSWORD: &str = "correct horse battery staple";

/// The user every test connects as (a superuser, trusted on loopback).
const USER: &str = "inboxd";

/// The test process's server, started on first use.
pub fn server() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = Postgres::start();
        extern "C" fn stop_at_exit() {
            if let Some(server) = SERVER.get() {
                server.stop_immediate();
                let _ = std::fs::remove_dir_all(&server.dir);
            }
        }
        // SAFETY: registering a plain function with the C runtime; it runs once at exit.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        server
    })
}

/// A fresh, empty database on the test server: its URL.
pub fn database() -> String {
    server().database()
}

/// A PostgreSQL server of one test's own (for the tests that stop it), stopped and removed when
/// dropped.
pub struct Dedicated(Postgres);

impl std::ops::Deref for Dedicated {
    type Target = Postgres;
    fn deref(&self) -> &Postgres {
        &self.0
    }
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        self.0.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.0.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn bindir() -> PathBuf {
    let out = Command::new(super::tools::require("pg_config"))
        .arg("--bindir")
        .output()
        .expect("pg_config --bindir");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

impl Postgres {
    pub fn dedicated() -> Dedicated {
        Dedicated(Postgres::start_with(false))
    }

    /// A server of its own that takes TCP connections only over TLS (the test certificate for
    /// `localhost`/127.0.0.1, signed by the test CA) and only with [`PASSWORD`].
    pub fn secured() -> Dedicated {
        Dedicated(Postgres::start_with(true))
    }

    /// A fresh, empty database on this server: its URL.
    pub fn database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut client = self.client("postgres");
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url(&name)
    }

    fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// A hot standby of this server on a port of its own: a base backup (`pg_basebackup -R`)
    /// that streams the primary's WAL from then on, started and taking read-only connections.
    pub fn standby(&self) -> Dedicated {
        let standby = Postgres {
            port: free_port(),
            dir: PathBuf::from(format!("{}-standby", self.dir.display())),
            bindir: self.bindir.clone(),
            as_postgres: self.as_postgres,
            secure: false,
        };
        let _ = std::fs::remove_dir_all(&standby.dir);
        std::fs::create_dir_all(&standby.dir).unwrap();
        standby.own_folder();
        let out = standby
            .command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-D", standby.data().to_str().unwrap()])
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        standby.start_again();
        Dedicated(standby)
    }

    /// From now on a commit returns only once a standby has flushed it too
    /// (`synchronous_standby_names = '*'`).
    pub fn wait_for_standby_on_commit(&self) {
        let mut client = self.client("postgres");
        // Two statements: ALTER SYSTEM refuses to run in the implicit transaction of a batch.
        client
            .batch_execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            .unwrap();
        client.batch_execute("SELECT pg_reload_conf()").unwrap();
    }

    /// `pg_ctl promote`: a standby becomes a primary that takes writes (failover).
    pub fn promote(&self) {
        let out = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().unwrap(), "-w", "-t", "60", "promote"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl promote: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// When we are root, the server's folder belongs to `postgres`, who runs it.
    fn own_folder(&self) {
        if self.as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres", self.dir.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success(), "chown the PostgreSQL folder to postgres");
        }
    }

    fn start_with(secure: bool) -> Postgres {
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);
        let bindir = bindir();
        // SAFETY: geteuid has no preconditions.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = std::env::temp_dir().join(format!(
            "inboxd-pg-{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = Postgres {
            port: free_port(),
            dir,
            bindir,
            as_postgres,
            secure,
        };
        let pwfile = server.dir.join("pwfile");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if secure {
            for (from, to) in [("tls/cert-a.pem", "server.crt"), ("tls/key-a.pem", "server.key")] {
                let to = server.dir.join(to);
                std::fs::copy(super::fixture(from), &to).unwrap();
                std::fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            }
        }
        server.own_folder();
        let data = server.data();
        let host_auth = if secure {
            "--auth-host=scram-sha-256"
        } else {
            "--auth-host=trust"
        };
        let initdb = server
            .command("initdb")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--auth-local=trust",
                host_auth,
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        if secure {
            // TCP only with TLS: a plain connection finds no line that lets it in.
            let hba = data.join("pg_hba.conf");
            let text = std::fs::read_to_string(&hba).unwrap();
            let text: String = text
                .lines()
                .map(|l| match l.strip_prefix("host ") {
                    Some(rest) => format!("hostssl {rest}\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&hba, text).unwrap();
        }
        server.start_again();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A PostgreSQL program, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts the server (again, after a stop) and waits until it takes connections.
    pub fn start_again(&self) {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c max_connections=300 \
             -c fsync=on -c synchronous_commit=on -c shared_buffers=64MB",
            self.port,
            self.dir.display()
        );
        if self.secure {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                self.dir.display()
            ));
        }
        let out = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().unwrap(), "-l"])
            .arg(self.dir.join("log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while postgres::Client::connect(&self.socket("postgres"), postgres::NoTls).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `pg_ctl stop -m immediate`: the server dies as in a crash (no checkpoint; WAL replay at the
    /// next start).
    pub fn stop_immediate(&self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().unwrap(), "-m", "immediate", "-w", "stop"])
            .output();
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The unix-socket connection string of `database` (trusted on both kinds of server).
    fn socket(&self, database: &str) -> String {
        format!(
            "host={} port={} user={USER} dbname={database}",
            self.dir.display(),
            self.port
        )
    }

    pub fn client(&self, database: &str) -> postgres::Client {
        postgres::Client::connect(&self.socket(database), postgres::NoTls).expect("a PostgreSQL connection")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
