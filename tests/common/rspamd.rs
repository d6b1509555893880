//! A real rspamd for the tests (Debian's `rspamd` package; `scripts/test.sh` installs it): a minimal
//! configuration of the test's own in a temporary folder, a normal worker and a controller on free
//! loopback ports, the GTUBE test patterns enabled (`XJS*…` reject, `YJS*…` add header, `ZJS*…`
//! rewrite subject), no DNS and no network rules. Stopped and removed when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Rspamd {
    pub normal: SocketAddr,
    pub controller: SocketAddr,
    pub password: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The Redis that keeps the Bayes classifier's tokens, when learning is on.
    redis: Option<Child>,
}

/// The GTUBE-like test strings rspamd acts on when its test patterns are on.
pub const GTUBE_REJECT: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
pub const GTUBE_ADD_HEADER: &str = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
pub const GTUBE_REWRITE_SUBJECT: &str = "ZJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

impl Rspamd {
    pub fn start() -> Rspamd {
        Rspamd::start_with(false)
    }

    /// rspamd with a Bayes classifier kept in a Redis of its own (Debian package redis-server,
    /// which `scripts/test.sh` installs): what the controller's learnspam / learnham need.
    pub fn start_learning() -> Rspamd {
        Rspamd::start_with(true)
    }

    fn start_with(learning: bool) -> Rspamd {
        let dir = tempfile::tempdir().unwrap();
        let (normal, controller) = (free_addr(), free_addr());
        let password = "test-controller-password".to_string();
        let root = dir.path().display().to_string();
        let (redis, classifier) = if learning {
            let port = free_addr().port();
            let child = Command::new(super::tools::require("redis-server"))
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let deadline = Instant::now() + Duration::from_secs(20);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "redis did not come up");
                std::thread::sleep(Duration::from_millis(50));
            }
            let classifier = format!(
                r#"classifier "bayes" {{
  backend = "redis"; servers = "127.0.0.1:{port}"; min_tokens = 11; min_learns = 1; autolearn = false;
  statfile {{ symbol = "BAYES_HAM"; spam = false; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; }}
}}"#
            );
            (Some(child), classifier)
        } else {
            (None, String::new())
        };
        for sub in ["run", "db", "log"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let config = format!(
            r#"options {{
  pidfile = "{root}/run/rspamd.pid";
  dbdir = "{root}/db";
  enable_test_patterns = true;
  local_addrs = [];
  dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 1; }}
  filters = "";
}}
logging {{ type = "file"; filename = "{root}/log/rspamd.log"; level = "info"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
{classifier}
worker "normal" {{ bind_socket = "{normal}"; count = 1; }}
worker "controller" {{ bind_socket = "{controller}"; count = 1; password = "{password}"; enable_password = "{password}"; }}
"#
        );
        let path = dir.path().join("rspamd.conf");
        std::fs::write(&path, config).unwrap();
        let mut command = Command::new(rspamd_binary());
        command.arg("-f").arg("-c").arg(&path);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // rspamd refuses to run its workers as root: its own user, which must own the folder.
            let status = Command::new("chown")
                .args(["-R", "_rspamd:_rspamd", &root])
                .status()
                .unwrap();
            assert!(status.success(), "chown the rspamd folder to _rspamd");
            let _ = std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755));
            command.args(["-u", "_rspamd", "-g", "_rspamd"]);
        }
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("rspamd starts");
        let mut rspamd = Rspamd {
            normal,
            controller,
            password,
            dir,
            child: Some(child),
            redis,
        };
        rspamd.wait_ready();
        rspamd
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(self.normal).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.path().join("log/rspamd.log")).unwrap_or_default();
                panic!("rspamd did not come up within 60 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.normal)
    }

    /// Stops rspamd (the tests of what happens when it is away).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // TERM: the main process stops its workers too (KILL would leave them listening).
            // SAFETY: signalling a child we started.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let _ = child.wait();
        }
        // The workers are children of the main process: wait until the port is free.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.normal).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/rspamd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

fn rspamd_binary() -> PathBuf {
    super::tools::require("rspamd")
}

impl Rspamd {
    /// How many messages the controller has learned (its `/stat`).
    pub fn learned(&self) -> i64 {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(self.controller).unwrap();
        write!(
            s,
            "GET /stat HTTP/1.1\r\nHost: rspamd\r\nPassword: {}\r\nConnection: close\r\n\r\n",
            self.password
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
        let stat: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("/stat: {e}: {out}"));
        stat["learned"]
            .as_i64()
            .unwrap_or_else(|| panic!("/stat has no `learned`: {stat}"))
    }

    pub fn controller_url(&self) -> String {
        format!("http://{}", self.controller)
    }
}

impl Drop for Rspamd {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut redis) = self.redis.take() {
            let _ = redis.kill();
            let _ = redis.wait();
        }
    }
}
