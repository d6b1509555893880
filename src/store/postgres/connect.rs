//! From `database.url` to connections: the URL's TLS parameters (`sslmode`, `sslrootcert`, read
//! as libpq reads them) turned into rustls, the password from its file, the pool, and the schema
//! brought up to date under the migration lock.

use crate::store::StoreError;
use crate::store::engine::postgres::error;
use crate::store::schema::{self, LATEST, MIGRATION_LOCK, POSTGRES_MIGRATIONS};
use deadpool_postgres::tokio_postgres::config::SslMode;
use deadpool_postgres::tokio_postgres::{self, Config};
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How to reach the PostgreSQL server.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// `postgres://USER@HOST:PORT/DB[?sslmode=…&sslrootcert=…]`
    pub url: String,
    /// From `database.password_file`; wins over a password in the URL.
    pub password: Option<String>,
    /// Connections of the pool (0: sized for the machine).
    pub pool_size: usize,
    /// Sessions run with `synchronous_commit = on` whatever the server's default (set when the
    /// server's is weaker: `off` or `local`).
    pub force_synchronous_commit: bool,
}

/// How long a connection attempt, or a wait for a free connection, may take before the work
/// fails (and the SMTP client hears 451 rather than waiting on).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The driver's settings and TLS connector for `options`.
pub fn settings(options: &PostgresOptions) -> Result<(Config, MakeRustlsConnect), StoreError> {
    let bad = |why: String| StoreError::Failed(format!("database.url: {why}"));
    let (base, query) = options.url.split_once('?').unwrap_or((&options.url, ""));
    let (mut sslmode, mut rootcert) = (None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => sslmode = Some(v.to_string()),
            Some(("sslrootcert", v)) => rootcert = Some(v.to_string()),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| bad(e.to_string()))?;
    if let Some(password) = &options.password {
        config.password(password.as_bytes());
    }
    if config.get_application_name().is_none() {
        config.application_name("inboxd");
    }
    config.connect_timeout(CONNECT_TIMEOUT);
    if options.force_synchronous_commit {
        config.options("-c synchronous_commit=on");
    }
    let roots = match &rootcert {
        Some(file) => Some(
            CertificateDer::pem_file_iter(file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(format!("sslrootcert {file}: {e}")))?,
        ),
        None => None,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let verified = |roots: Option<Vec<CertificateDer<'static>>>| -> Result<rustls::ClientConfig, StoreError> {
        let mut store = rustls::RootCertStore::empty();
        match roots {
            Some(certs) => {
                for cert in certs {
                    store.add(cert).map_err(|e| bad(format!("sslrootcert: {e}")))?;
                }
            }
            None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        Ok(builder.clone().with_root_certificates(store).with_no_client_auth())
    };
    let unverified = || {
        builder
            .clone()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(Arc::clone(&provider))))
            .with_no_client_auth()
    };
    // libpq's meaning: `require` encrypts without checking the certificate (unless a root is
    // given), `verify-full` checks the chain and the host name.
    let tls = match sslmode.as_deref() {
        None | Some("disable") => {
            config.ssl_mode(SslMode::Disable);
            unverified()
        }
        Some("prefer") | Some("allow") => {
            config.ssl_mode(SslMode::Prefer);
            unverified()
        }
        Some("require") => {
            config.ssl_mode(SslMode::Require);
            if roots.is_some() {
                verified(roots)?
            } else {
                unverified()
            }
        }
        Some("verify-full") => {
            config.ssl_mode(SslMode::Require);
            verified(roots)?
        }
        Some(other) => {
            return Err(bad(format!(
                "sslmode={other} is not supported (disable, prefer, require, verify-full)"
            )));
        }
    };
    Ok((config, MakeRustlsConnect::new(tls)))
}

/// The pool of the server (and of the HTTP door).
pub fn pool(options: &PostgresOptions) -> Result<Pool, StoreError> {
    let (config, tls) = settings(options)?;
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            // A connection whose socket closed (the server restarted) is replaced, not handed out.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let size = match options.pool_size {
        0 => std::thread::available_parallelism().map_or(8, |n| (n.get() * 4).max(8)),
        n => n,
    };
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Failed(format!("database pool: {e}")))
}

/// One connection of its own (the CLI's), its driver task spawned on the current runtime.
pub async fn connect(options: &PostgresOptions) -> Result<ClientWrapper, StoreError> {
    let (config, tls) = settings(options)?;
    let (client, connection) = config.connect(tls).await.map_err(error)?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    Ok(ClientWrapper::new(client, task))
}

/// The schema version the database is at (0 for an empty database).
pub async fn version(client: &ClientWrapper) -> Result<usize, StoreError> {
    let exists = client
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .await
        .map_err(error)?
        .get::<_, bool>(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_opt("SELECT version FROM schema_version", &[])
        .await
        .map_err(error)?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as usize))
}

/// Brings the schema up to [`LATEST`], each migration in its own transaction, under a session
/// advisory lock: two hosts starting at once never both migrate; the second waits, then finds the
/// work done. A schema newer than this build is refused. Returns the version found before.
pub async fn migrate(client: &ClientWrapper) -> Result<usize, StoreError> {
    client
        .query("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(error)?;
    let result = async {
        let before = version(client).await?;
        if before > LATEST {
            return Err(StoreError::Failed(schema::too_new_message(before)));
        }
        for (to, sql) in POSTGRES_MIGRATIONS.iter().filter(|(to, _)| *to > before) {
            let statements = format!(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
                 {sql}
                 DELETE FROM schema_version;
                 INSERT INTO schema_version (version) VALUES ({to});
                 COMMIT;"
            );
            if let Err(e) = client.batch_execute(&statements).await {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(error(e));
            }
        }
        Ok(before)
    }
    .await;
    let _ = client.query("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
    result
}

/// `sslmode=require` without a root certificate: the connection is encrypted, the certificate
/// taken as presented (libpq does the same); its signatures are still checked.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
