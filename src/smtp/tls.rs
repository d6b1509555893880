//! TLS with rustls: the certificate and key from PEM files, TLS 1.2 and 1.3 only.
//!
//! The acceptor sits behind a lock so that a renewed certificate can be loaded (SIGHUP) without
//! restarting: sessions that already negotiated keep theirs, new handshakes use the new one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

pub struct TlsSettings {
    certificate: PathBuf,
    private_key: PathBuf,
    acceptor: RwLock<TlsAcceptor>,
}

impl TlsSettings {
    pub fn load(certificate: &Path, private_key: &Path) -> Result<TlsSettings, String> {
        let acceptor = build_acceptor(certificate, private_key)?;
        Ok(TlsSettings {
            certificate: certificate.to_path_buf(),
            private_key: private_key.to_path_buf(),
            acceptor: RwLock::new(acceptor),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the files again; on error the current certificate stays in use.
    pub fn reload(&self) -> Result<(), String> {
        let acceptor = build_acceptor(&self.certificate, &self.private_key)?;
        *self.acceptor.write().unwrap_or_else(|e| e.into_inner()) = acceptor;
        Ok(())
    }
}

fn build_acceptor(certificate: &Path, private_key: &Path) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .map_err(|e| format!("tls.certificate {}: {e}", certificate.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.certificate {}: {e}", certificate.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "tls.certificate {}: no certificate found",
            certificate.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(private_key)
        .map_err(|e| format!("tls.private_key {}: {e}", private_key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls: certificate and key do not fit: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// `TLSv1.3 TLS_AES_256_GCM_SHA384`: what the Received header, the envelope and the log record,
/// with the cipher suite's IANA name as other MTAs write it.
pub fn describe(conn: &rustls::ServerConnection) -> String {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "TLS".to_string(),
    };
    match conn.negotiated_cipher_suite() {
        Some(suite) => format!("{version} {}", iana_name(suite.suite())),
        None => version,
    }
}

/// rustls names TLS 1.3 suites `TLS13_…`; the IANA registry (and Postfix, OpenSSL's logs) says
/// `TLS_AES_256_GCM_SHA384`. TLS 1.2 names are already IANA's.
fn iana_name(suite: rustls::CipherSuite) -> String {
    let name = suite.as_str().map_or_else(|| format!("{suite:?}"), str::to_string);
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_have_their_iana_names() {
        assert_eq!(
            iana_name(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            iana_name(rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
            "TLS_CHACHA20_POLY1305_SHA256"
        );
        assert_eq!(
            iana_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
    }
}
