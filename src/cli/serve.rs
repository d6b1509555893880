//! `inboxd serve`: logging, storage, TLS, listeners, signals, and an orderly exit.

use crate::config::{Config, LogFormat};
use crate::smtp::{Context, Server, tls::TlsSettings};
use crate::store::{MailStore, SqliteOptions, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.log.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn run(config: Config) -> Result<(), String> {
    init_logging(&config);
    if config.uses_development_secret() {
        tracing::warn!("no reply_tokens secret configured: using the development key (set reply_tokens.secret_file)");
    }
    let store = Arc::new(
        SqliteStore::open(SqliteOptions {
            path: config.database.path.clone(),
            max_batch: config.database.max_batch,
            subject_window_days: config.threading.subject_window_days,
        })
        .map_err(|e| format!("cannot open database {}: {e}", config.database.path.display()))?,
    );
    let tls = match (&config.tls.certificate, &config.tls.private_key) {
        (Some(cert), Some(key)) => Some(TlsSettings::load(cert, key)?),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("inboxd-worker")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let mail_store: Arc<dyn MailStore> = store.clone();
    let result = runtime.block_on(async {
        let ctx = Arc::new(Context::new(config, mail_store, tls)?);
        let server = Server::bind(ctx).await.map_err(|e| e.to_string())?;
        let handle = server.shutdown_handle();
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            tracing::info!("stop signal received");
            handle.shutdown();
        });
        server.run().await;
        Ok::<(), String>(())
    });
    // Sessions still running past the grace time are dropped here; none of them got a 250 for a
    // message that is not committed, because the writer below finishes every queued commit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    store.close();
    tracing::info!("stopped");
    result
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
