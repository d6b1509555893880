//! The SMTP front door, tested against the real server over TCP and its real SQLite file: the
//! envelope commands (`envelope`), the message itself (`data`), whole sessions (`sessions`) and
//! STARTTLS (below).

#[path = "../common/mod.rs"]
mod common;
mod corners;
mod data;
mod envelope;
mod sessions;

use common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn simple(from: &str, subject: &str) -> String {
    message(
        &[("From", from), ("To", "someone@inbox.localhost"), ("Subject", subject)],
        "Hello.\r\n",
    )
}

mod starttls {
    use super::*;
    use std::sync::Arc;
    use tokio_rustls::rustls;

    fn client_config() -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(fixture("tls/ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    #[test]
    fn starttls_upgrades_discards_plaintext_injection_and_resets_state() {
        let server = builder().tls().start();
        let acme = server.create_account("Acme");
        let mut c = server.connect();
        let ehlo = c.ehlo();
        assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"));
        c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
        c.cmd("STARTTLS").expect(503, "5.5.1");
        c.cmd("RSET").expect(250, "2.0.0");
        // CVE-2011-0411: a command pipelined after STARTTLS in clear must never run inside TLS.
        c.write(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n");
        c.reply().expect(220, "2.0.0");
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(client_config(), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, c.stream.try_clone().unwrap());
        let read_reply = |tls: &mut rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>| {
            let mut buf = Vec::new();
            let mut byte = [0u8; 1];
            loop {
                tls.read_exact(&mut byte).unwrap();
                buf.push(byte[0]);
                if buf.ends_with(b"\r\n") {
                    let line = String::from_utf8_lossy(&buf).to_string();
                    let last_line = line.lines().last().unwrap().to_string();
                    if last_line.as_bytes().get(3) == Some(&b' ') {
                        return line;
                    }
                }
            }
        };
        tls.write_all(b"EHLO secure.example\r\n").unwrap();
        let ehlo = read_reply(&mut tls);
        assert!(
            ehlo.starts_with("250-mx.test.example"),
            "the first reply inside TLS is EHLO's: {ehlo}"
        );
        assert!(!ehlo.contains("STARTTLS"));
        // The EHLO state was reset: MAIL works (no transaction carried over from before).
        tls.write_all(b"MAIL FROM:<a@b.example>\r\n").unwrap();
        assert!(read_reply(&mut tls).starts_with("250 2.1.0"));
        tls.write_all(format!("RCPT TO:<{}>\r\nDATA\r\n", acme.address).as_bytes())
            .unwrap();
        assert!(read_reply(&mut tls).starts_with("250 2.1.5"));
        assert!(read_reply(&mut tls).starts_with("354"));
        tls.write_all(b"From: a@b.example\r\nSubject: secret\r\n\r\nover TLS\r\n.\r\n")
            .unwrap();
        let done = read_reply(&mut tls);
        assert!(done.starts_with("250 2.0.0 Ok: queued as"), "{done}");
        let envelopes = server.envelopes("true");
        assert_eq!(envelopes.len(), 1);
        let env = envelopes[0].to_string();
        assert!(env.contains("TLSv1.3"), "{env}");
        let raw: Vec<u8> = server.first_raw();
        let raw = String::from_utf8_lossy(&raw);
        assert!(raw.contains("with ESMTPS (using TLSv1.3"), "{raw}");
        assert!(!env.contains("injected"), "{env}");
    }

    #[test]
    fn lettre_delivers_over_required_starttls() {
        use lettre::transport::smtp::client::{Tls, TlsParameters};
        use lettre::{Message, SmtpTransport, Transport};
        let server = builder().tls().start();
        let acme = server.create_account("Acme");
        let tls = TlsParameters::builder("localhost".into())
            .dangerous_accept_invalid_certs(true)
            .build_rustls()
            .unwrap();
        let mailer = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.addr.port())
            .tls(Tls::Required(tls))
            .build();
        let email = Message::builder()
            .from("jane@customer.example".parse().unwrap())
            .to(acme.address.parse().unwrap())
            .subject("over starttls")
            .body("x".to_string())
            .unwrap();
        assert!(mailer.send(&email).unwrap().is_positive());
        let env = server.envelopes("true")[0].to_string();
        assert!(env.contains("\"tls\":\"TLSv1."), "{env}");
    }
}
