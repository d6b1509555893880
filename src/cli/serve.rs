//! `inboxd serve`: logging, storage, TLS, listeners (bound or passed by systemd), the HTTP
//! endpoint, signals (TERM/INT stop, HUP reloads the certificate), systemd readiness and watchdog,
//! and an orderly exit.

use crate::config::{Config, LogFormat};
use crate::http::{self, Health};
use crate::smtp::listener::Listener;
use crate::smtp::{Context, Server, ShutdownHandle, tls::TlsSettings};
use crate::store::{Location, MailStore, PostgresStore, PostgresStoreOptions, SqliteOptions, SqliteStore};
use sd_notify::NotifyState;
use std::os::fd::FromRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    if config.reply_secret_source().is_none() {
        tracing::info!("no reply_tokens secret configured: using the key generated and kept in the database");
    }
    let location = super::database_location(&config)?;
    // SQLite opens before the runtime starts (its writer is a thread of its own); PostgreSQL's
    // pool and writers live on the runtime and open inside it.
    let sqlite = match &location {
        Location::Sqlite { path, mode } => Some(Arc::new(
            SqliteStore::open(SqliteOptions {
                path: path.clone(),
                max_batch: config.database.max_batch,
                subject_window_days: config.threading.subject_window_days,
                max_size: config.database.max_size,
                mode: *mode,
            })
            .map_err(|e| format!("cannot open database {}: {e}", location.describe()))?,
        )),
        Location::Postgres(_) => None,
    };
    let tls = match (&config.tls.certificate, &config.tls.private_key) {
        (Some(cert), Some(key)) => Some(TlsSettings::load(cert, key)?),
        _ => None,
    };
    // Taken before the runtime starts threads: the environment is still ours alone.
    let passed = passed_listeners()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("inboxd-worker")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(async {
        let postgres = match &location {
            Location::Postgres(options) => Some(Arc::new(
                PostgresStore::open(PostgresStoreOptions {
                    connection: options.clone(),
                    max_batch: config.database.max_batch,
                    subject_window_days: config.threading.subject_window_days,
                })
                .await
                .map_err(|e| format!("cannot open database {}: {e}", location.describe()))?,
            )),
            Location::Sqlite { .. } => None,
        };
        let mail_store: Arc<dyn MailStore> = match (&sqlite, &postgres) {
            (Some(sqlite), _) => sqlite.clone(),
            (None, Some(postgres)) => postgres.clone(),
            (None, None) => unreachable!("one backend is open"),
        };
        let webhook_db = match &location {
            Location::Postgres(options) => Some(options.clone()),
            Location::Sqlite { .. } => None,
        };
        let served = serve(
            config,
            tls,
            passed,
            mail_store,
            postgres.as_ref().map(|p| p.pool()),
            webhook_db,
        )
        .await;
        if let Some(postgres) = &postgres {
            // Every delivery already queued is committed (or failed) before the process exits.
            postgres.close().await;
        }
        served
    });
    // Sessions still running past the grace time are dropped here; none of them got a 250 for a
    // message that is not committed, because the writer below finishes every queued commit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(sqlite) = sqlite {
        sqlite.close();
    }
    tracing::info!("stopped");
    result
}

/// Listens and serves until told to stop.
async fn serve(
    config: Config,
    tls: Option<TlsSettings>,
    passed: Option<Vec<(std::net::TcpListener, bool)>>,
    mail_store: Arc<dyn MailStore>,
    pool: Option<deadpool_postgres::Pool>,
    postgres: Option<crate::store::PostgresOptions>,
) -> Result<(), String> {
    {
        let ctx = Arc::new(Context::new(config, Arc::clone(&mail_store), tls).await?);
        let server = match passed {
            Some(listeners) => {
                let listeners = listeners
                    .into_iter()
                    .map(|(std, implicit_tls)| {
                        std.set_nonblocking(true)?;
                        Ok(Listener {
                            socket: tokio::net::TcpListener::from_std(std)?,
                            implicit_tls,
                        })
                    })
                    .collect::<std::io::Result<Vec<_>>>()
                    .map_err(|e| format!("passed sockets: {e}"))?;
                Server::with_listeners(Arc::clone(&ctx), listeners)
            }
            None => Server::bind(Arc::clone(&ctx)).await.map_err(|e| e.to_string())?,
        };
        let health = Arc::new(Health {
            store: mail_store,
            listening: false.into(),
        });
        let handle = server.shutdown_handle();
        if let Some(addr) = ctx.config.http.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} (http.listen): {e}"))?;
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "http listening");
            }
            let replies = Arc::new(ctx.router.clone());
            let api = crate::api::ApiState {
                db: door(&ctx, &pool)?,
                allow_private: ctx.config.webhooks.allow_private,
                review: Arc::new(crate::review::Review::from_config(&ctx.config, Arc::clone(&replies))?),
                replies,
                domain: ctx.config.server.domains[0].clone(),
                search_index: ctx.config.search.index,
            };
            tokio::spawn(http::serve(
                listener,
                Arc::clone(&ctx),
                Arc::clone(&health),
                api,
                handle.subscribe(),
            ));
        }
        let webhooks = spawn_webhooks(&ctx, postgres, handle.subscribe())?;
        tokio::spawn(purge_quarantine(door(&ctx, &pool)?, ctx.config.spam.quarantine_days));
        tokio::spawn(lifecycle(door(&ctx, &pool)?, ctx.config.retention.days));
        tokio::spawn(signals(Arc::clone(&ctx), handle.clone()));
        tokio::spawn(watchdog(Arc::clone(&health)));
        health.listening.store(true, Ordering::Relaxed);
        let _ = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status("accepting mail")]);
        tracing::info!("ready");
        server.run().await;
        let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
        // The sender records what it has in flight (a short grace) before the store closes.
        let _ = tokio::task::spawn_blocking(move || webhooks.join()).await;
        Ok::<(), String>(())
    }
}

/// The webhook sender, on a thread and runtime of its own at a lower CPU priority (nice 10): under
/// load the sessions come first and deliveries wait in the database; when mail is quiet the sender
/// has the machine. It reaches the store through a connection (or, on PostgreSQL, a small pool)
/// of its own, whose I/O runs on its runtime.
fn spawn_webhooks(
    ctx: &Context,
    postgres: Option<crate::store::PostgresOptions>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let config = ctx.config.webhooks.clone();
    let host = ctx.config.server.hostname.clone();
    let sqlite = match &postgres {
        None => Some(
            crate::store::open_connection(&ctx.config.database.path, ctx.config.database.mode.0)
                .map_err(|e| format!("webhooks: cannot open the database: {e}"))?,
        ),
        Some(_) => None,
    };
    std::thread::Builder::new()
        .name("inboxd-webhooks".into())
        .spawn(move || {
            // SAFETY: setpriority on the calling thread (Linux: PRIO_PROCESS with 0 is this thread);
            // threads it starts (its blocking pool) inherit the value.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, 0, 10);
            }
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => return tracing::error!(error = %e, "webhooks: cannot start the runtime"),
            };
            runtime.block_on(async move {
                let db = match (sqlite, postgres) {
                    (Some(conn), _) => crate::store::Db::sqlite(conn),
                    (None, Some(mut options)) => {
                        options.pool_size = 4;
                        match crate::store::postgres::pool(&options) {
                            Ok(pool) => crate::store::Db::Postgres(pool),
                            Err(e) => return tracing::error!(error = %e, "webhooks: no database pool"),
                        }
                    }
                    (None, None) => unreachable!("one backend is configured"),
                };
                match crate::webhooks::Dispatcher::new(db, &host, &config) {
                    Ok(dispatcher) => dispatcher.run(stop).await,
                    Err(e) => tracing::error!(error = %e, "webhooks: cannot start"),
                }
            });
        })
        .map_err(|e| format!("webhooks: cannot start the thread: {e}"))
}

/// The store as a door beside the SMTP side reaches it (the HTTP API, the webhook sender): a SQLite
/// connection of its own, or the PostgreSQL pool.
/// Purges quarantined mail older than `[spam] quarantine_days`, at start and then hourly, in
/// transactions of a thousand messages (so the writer is never held long).
async fn purge_quarantine(db: crate::store::Db, days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let cutoff = crate::time::rfc3339(crate::time::unix_now() - i64::from(days) * 86_400);
        let mut purged = 0;
        loop {
            let cutoff = cutoff.clone();
            match db
                .run(move |c| Box::pin(async move { crate::store::quarantine::purge(c, &cutoff, 1000).await }))
                .await
            {
                Ok(0) => break,
                Ok(n) => purged += n,
                Err(e) => {
                    tracing::warn!(error = %e, "quarantine purge failed; tried again in an hour");
                    break;
                }
            }
        }
        if purged > 0 {
            tracing::info!(purged, days, "quarantined mail past spam.quarantine_days purged");
        }
    }
}

/// The data's life, at start and then hourly: erasures a stopped process left running are
/// finished, and conversations past their account's retention (`[retention] days` for accounts
/// without their own) are deleted, a batch per transaction.
async fn lifecycle(db: crate::store::Db, default_days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match crate::store::erasure::resume(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(erasures = n, "erasures left running were finished"),
            Err(e) => tracing::warn!(error = %e, "an erasure could not be finished; tried again in an hour"),
        }
        match crate::store::retention::purge(&db, default_days, crate::time::unix_now()).await {
            Ok(0) => {}
            Ok(conversations) => tracing::info!(conversations, "conversations past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "retention purge failed; tried again in an hour"),
        }
    }
}

fn door(ctx: &Context, pool: &Option<deadpool_postgres::Pool>) -> Result<crate::store::Db, String> {
    Ok(match pool {
        Some(pool) => crate::store::Db::Postgres(pool.clone()),
        None => crate::store::Db::sqlite(
            crate::store::open_connection(&ctx.config.database.path, ctx.config.database.mode.0)
                .map_err(|e| format!("cannot open the database: {e}"))?,
        ),
    })
}

/// Listening sockets passed by systemd (socket activation, `LISTEN_FDS`). A socket named `smtps`
/// (`FileDescriptorName=smtps`) speaks implicit TLS; any other is plain SMTP with STARTTLS.
fn passed_listeners() -> Result<Option<Vec<(std::net::TcpListener, bool)>>, String> {
    let fds = sd_notify::listen_fds_with_names(true).map_err(|e| format!("LISTEN_FDS: {e}"))?;
    let listeners: Vec<_> = fds
        .map(|(fd, name)| {
            // SAFETY: systemd passed this descriptor to us for our exclusive use (LISTEN_PID matched).
            let socket = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            (socket, name == "smtps")
        })
        .collect();
    Ok((!listeners.is_empty()).then_some(listeners))
}

/// TERM and INT stop the server; HUP reloads the TLS certificate (a renewed Let's Encrypt
/// certificate takes effect for new connections, none is dropped). Accounts need no reload: routing
/// reads them at every RCPT.
async fn signals(ctx: Arc<Context>, handle: ShutdownHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let _ = sd_notify::notify(false, &[NotifyState::Reloading]);
                match &ctx.tls {
                    Some(tls) => match tls.reload() {
                        Ok(()) => tracing::info!("reloaded: TLS certificate"),
                        Err(e) => tracing::error!(error = %e, "reload failed: keeping the current certificate"),
                    },
                    None => tracing::info!("reloaded: nothing to reload (no TLS configured)"),
                }
                let _ = sd_notify::notify(false, &[NotifyState::Ready]);
            }
        }
    }
    tracing::info!("stop signal received");
    handle.shutdown();
}

/// Pets systemd's watchdog while the database answers, so a wedged store gets the service restarted.
async fn watchdog(health: Arc<Health>) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let period = Duration::from_micros(usec / 2);
    loop {
        tokio::time::sleep(period).await;
        if let Ok(Ok(())) = tokio::time::timeout(period, health.store.ping()).await {
            let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
        } else {
            tracing::error!("watchdog: the database did not answer");
        }
    }
}
