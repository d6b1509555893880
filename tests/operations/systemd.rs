//! systemd: socket activation and the unit's security rating.

use super::*;

#[test]
fn socket_activation_serves_on_the_passed_socket() {
    let activate = common::tools::require("systemd-socket-activate");
    let b = builder();
    let config = b.write_config();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(activate)
        .args(["-l", &format!("127.0.0.1:{port}"), "--fdname=smtp", BIN])
        .args(["--config", config.to_str().unwrap(), "--log-format", "json", "serve"])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // systemd-socket-activate starts inboxd on the first connection, passing the listening socket.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    let first = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(10) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("{e}"),
        }
    };
    let mut server = Server::from_parts(b, child);
    assert_eq!(
        server.addr, addr,
        "inboxd serves the passed socket, it did not bind its own"
    );
    let mut first = std::io::BufReader::new(first);
    let mut greeting = String::new();
    std::io::BufRead::read_line(&mut first, &mut greeting).unwrap();
    assert!(greeting.starts_with("220 mx.test.example ESMTP"), "{greeting}");
    let mut c = server.connect();
    assert_eq!(c.greeting.code, 220);
    c.ehlo();
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
}

#[test]
fn the_systemd_unit_verifies_and_is_rated_ok() {
    let dir = tempfile::tempdir().unwrap();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for unit in ["inboxd.service", "inboxd.socket"] {
        let text = std::fs::read_to_string(units.join(unit))
            .unwrap()
            .replace("/usr/local/bin/inboxd", BIN);
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    let service = dir.path().join("inboxd.service");
    let socket = dir.path().join("inboxd.socket");
    let analyze = common::tools::require("systemd-analyze");
    let out = Command::new(&analyze)
        .arg("verify")
        .arg(&service)
        .arg(&socket)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Offline, systemd may not know the dedicated user; anything else is a real finding.
    let findings: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("User=") && !l.contains("Group="))
        .collect();
    assert!(
        out.status.success() && findings.is_empty(),
        "systemd-analyze verify: {err}"
    );
    let out = Command::new(&analyze)
        .args(["security", "--offline=true"])
        .arg(&service)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let exposure: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for inboxd.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    println!("systemd-analyze security: exposure {exposure}");
    assert!(exposure <= 2.5, "{text}");
    let unit = std::fs::read_to_string(&service).unwrap();
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "StateDirectory=inboxd",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "Restart=on-failure",
        "ExecReload=",
    ] {
        assert!(unit.contains(needle), "{needle}");
    }
}
