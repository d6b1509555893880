//! TLS: a renewed certificate reloaded on SIGHUP, and the implicit-TLS listener.

use super::*;

fn tls_client(server_name: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("tls/ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let _ = server_name;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

pub(super) fn tls_connect(stream: TcpStream) -> Tls {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls_client("localhost"), name).unwrap();
    rustls::StreamOwned::new(conn, stream)
}

fn tls_line(tls: &mut Tls) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        tls.read_exact(&mut byte).unwrap();
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// The common name of the certificate the server presented.
fn peer_cn(tls: &Tls) -> String {
    let cert = &tls.conn.peer_certificates().unwrap()[0];
    let der = cert.as_ref();
    // Good enough for our two test certificates: find the CN text in the DER.
    for cn in ["inboxd-test-a", "inboxd-test-b"] {
        if der.windows(cn.len()).any(|w| w == cn.as_bytes()) {
            return cn.to_string();
        }
    }
    "unknown".into()
}

pub(super) fn starttls(addr: SocketAddr) -> Tls {
    let mut c = Client::connect(addr);
    c.ehlo();
    c.cmd("STARTTLS").expect(220, "2.0.0");
    let mut tls = tls_connect(c.stream.try_clone().unwrap());
    tls.write_all(b"NOOP\r\n").unwrap();
    assert!(tls_line(&mut tls).starts_with("250"));
    tls
}

#[test]
fn sighup_reloads_a_renewed_certificate_without_dropping_connections() {
    let b = builder();
    let cert = b.dir().join("cert.pem");
    let key = b.dir().join("key.pem");
    std::fs::copy(fixture("tls/cert-a.pem"), &cert).unwrap();
    std::fs::copy(fixture("tls/key-a.pem"), &key).unwrap();
    let server = b
        .set("tls.certificate", cert.to_str().unwrap())
        .set("tls.private_key", key.to_str().unwrap())
        .start();
    let mut before = starttls(server.addr);
    assert_eq!(peer_cn(&before), "inboxd-test-a");
    // Renewal: the files change, then `systemctl reload` sends SIGHUP.
    std::fs::copy(fixture("tls/cert-b.pem"), &cert).unwrap();
    std::fs::copy(fixture("tls/key-b.pem"), &key).unwrap();
    server.signal("HUP");
    assert!(eventually(Duration::from_secs(5), || server
        .logs()
        .iter()
        .any(|l| l.contains("reloaded: TLS certificate"))));
    let after = starttls(server.addr);
    assert_eq!(
        peer_cn(&after),
        "inboxd-test-b",
        "a new client sees the new certificate"
    );
    before.write_all(b"NOOP\r\n").unwrap();
    assert!(
        tls_line(&mut before).starts_with("250"),
        "the old connection was not dropped"
    );
    // A broken renewal keeps the working certificate.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal("HUP");
    assert!(eventually(Duration::from_secs(5), || server
        .logs()
        .iter()
        .any(|l| l.contains("reload failed"))));
    assert_eq!(peer_cn(&starttls(server.addr)), "inboxd-test-b");
}

#[test]
fn implicit_tls_listener_speaks_tls_from_the_first_byte() {
    let server = builder()
        .tls()
        .set("server.listen_tls", toml::Value::Array(vec!["127.0.0.1:0".into()]))
        .start();
    let acme = server.create_account("Acme");
    let stream = TcpStream::connect(server.tls_addr.expect("a TLS listener")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = tls_connect(stream);
    assert!(tls_line(&mut tls).starts_with("220 mx.test.example ESMTP"));
    tls.write_all(b"EHLO secure.example\r\n").unwrap();
    let mut ehlo = String::new();
    loop {
        let line = tls_line(&mut tls);
        ehlo.push_str(&line);
        if line.as_bytes()[3] == b' ' {
            break;
        }
    }
    assert!(!ehlo.contains("STARTTLS"), "already encrypted: {ehlo}");
    tls.write_all(format!("MAIL FROM:<a@b.example>\r\nRCPT TO:<{}>\r\nDATA\r\n", acme.address).as_bytes())
        .unwrap();
    assert!(tls_line(&mut tls).starts_with("250"));
    assert!(tls_line(&mut tls).starts_with("250"));
    assert!(tls_line(&mut tls).starts_with("354"));
    tls.write_all(b"Subject: over 465\r\n\r\nhi\r\n.\r\n").unwrap();
    assert!(tls_line(&mut tls).starts_with("250 2.0.0"));
    let env = server.envelopes("true")[0].to_string();
    // The cipher suite by its IANA name, as other MTAs write it: in the envelope, our Received
    // header and the log.
    assert!(env.contains("\"tls\":\"TLSv1.3 TLS_AES_"), "{env}");
    assert!(!env.contains("TLS13_"), "{env}");
    let raw: Vec<u8> = server.first_raw();
    let received = String::from_utf8_lossy(&raw[..200.min(raw.len())]).into_owned();
    assert!(received.contains("(using TLSv1.3 TLS_AES_"), "{received}");
    drop(tls);
    assert!(
        eventually(Duration::from_secs(5), || server
            .logs()
            .iter()
            .any(|l| l.contains("connection closed") && l.contains("TLS_AES_"))),
        "the log names the suite: {:?}",
        server.logs()
    );
}
