//! Accepting connections: PROXY protocol, rate and connection limits (in all and per client IP),
//! one task per connection, implicit TLS and STARTTLS upgrades, and graceful shutdown.
//!
//! A client beyond a limit gets `421 4.7.0` at once and the connection is closed: it never waits
//! in a queue. On shutdown the listeners close, idle sessions get `421 4.3.2`, sessions in the
//! middle of a transaction get the grace time to finish, and the store commits what it was given.

use super::context::Context;
use super::limits::LimitReached;
use super::reply::{self, Reply};
use super::session::{Outcome, Session};
use crate::config::Network;
use crate::metrics::METRICS;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a trusted load balancer may take to send its PROXY header.
const PROXY_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks a running server to stop.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }

    /// A receiver that sees `true` once shutdown is requested (for helpers such as the HTTP endpoint).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// A listening socket and whether its clients speak TLS from the first byte (port 465 style).
pub struct Listener {
    pub socket: TcpListener,
    pub implicit_tls: bool,
}

pub struct Server {
    ctx: Arc<Context>,
    listeners: Vec<Listener>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl Server {
    /// Binds every configured listen address.
    pub async fn bind(ctx: Arc<Context>) -> std::io::Result<Server> {
        let mut listeners = Vec::new();
        let plain = ctx.config.server.listen.iter().map(|a| (a, false));
        let tls = ctx.config.server.listen_tls.iter().map(|a| (a, true));
        for (addr, implicit_tls) in plain.chain(tls) {
            let socket = TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            listeners.push(Listener { socket, implicit_tls });
        }
        Ok(Server::with_listeners(ctx, listeners))
    }

    /// Serves on listeners that already exist (socket activation, tests).
    pub fn with_listeners(ctx: Arc<Context>, listeners: Vec<Listener>) -> Server {
        for listener in &listeners {
            if let Ok(addr) = listener.socket.local_addr() {
                tracing::info!(%addr, implicit_tls = listener.implicit_tls, "listening");
            }
        }
        let (stop, _) = watch::channel(false);
        Server {
            ctx,
            listeners,
            shutdown: Arc::new(stop),
        }
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::clone(&self.shutdown))
    }

    /// Serves until shutdown is requested, then drains sessions within the grace time.
    pub async fn run(self) {
        let mut loops = Vec::new();
        for listener in self.listeners {
            loops.push(tokio::spawn(accept_loop(
                listener,
                Arc::clone(&self.ctx),
                self.shutdown.subscribe(),
            )));
        }
        let mut stop = self.shutdown.subscribe();
        let _ = stop.wait_for(|s| *s).await.map(|_| ());
        for l in loops {
            let _ = l.await;
        }
        let grace = Duration::from_secs(self.ctx.config.server.shutdown_grace_secs);
        let open = self.ctx.connections.open_connections();
        tracing::info!(open, grace_secs = grace.as_secs(), "shutting down: listeners closed");
        if tokio::time::timeout(grace, self.ctx.connections.all_closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.ctx.connections.open_connections(),
                "grace time over: closing remaining sessions"
            );
        }
    }
}

async fn accept_loop(listener: Listener, ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    let for_sessions = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.socket.accept() => match accepted {
                Ok((stream, peer)) => {
                    let ctx = Arc::clone(&ctx);
                    tokio::spawn(connection(stream, peer, ctx, listener.implicit_tls, for_sessions.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// A limit would refuse `ip`: is it one of the big forwarders (forward-confirmed host name under
/// `limits.exempt_hostnames`)? Logged, since it lifts a limit.
async fn spare_by_hostname(ctx: &Context, ip: std::net::IpAddr, limit: &str) -> bool {
    match ctx.exemptions.by_hostname(ip).await {
        Some(name) => {
            tracing::info!(peer = %ip, hostname = %name, limit, "limit lifted for an exempt host name");
            true
        }
        None => false,
    }
}

async fn refuse(stream: &mut TcpStream, peer: SocketAddr, refusal: &Reply, why: &str) {
    METRICS.connections_refused.inc();
    tracing::info!(peer = %peer.ip(), code = refusal.code, why, "connection refused");
    let mut out = Vec::new();
    refusal.write_to(&mut out);
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(&out)).await;
}

async fn connection(
    mut stream: TcpStream,
    mut peer: SocketAddr,
    ctx: Arc<Context>,
    implicit_tls: bool,
    shutdown: watch::Receiver<bool>,
) {
    METRICS.connections_total.inc();
    let _ = stream.set_nodelay(true);
    let server = &ctx.config.server;
    if server.proxy_protocol && Network::any_contains(&server.proxy_trusted_networks, peer.ip()) {
        match super::proxy::read_header(&mut stream, PROXY_HEADER_TIMEOUT).await {
            Ok(Some(client)) => peer = client,
            Ok(None) => {}
            Err(e) => {
                tracing::info!(proxy = %peer, error = %e, "PROXY header refused");
                return;
            }
        }
    }
    let ip = peer.ip();
    let key = ctx.client_key(ip);
    let mut spared = ctx.spared_by_network(ip);
    if !spared {
        ctx.exemptions.prefetch(ip);
    }
    if !spared
        && let Some(rate) = &ctx.connection_rate
        && !rate.allow(key)
    {
        if !spare_by_hostname(&ctx, ip, "connection rate").await {
            return refuse(&mut stream, peer, &reply::CONNECTION_RATE, "connection rate").await;
        }
        spared = true;
    }
    if !ctx.store.available() {
        // The database has been unreachable for seconds: say so now rather than take the session
        // in and defer every message after the client sent it.
        return refuse(&mut stream, peer, &reply::STORE_UNAVAILABLE, "database unavailable").await;
    }
    let permit = match ctx.connections.acquire((!spared).then_some(key)) {
        Ok(permit) => permit,
        Err(LimitReached::PerClient) if spare_by_hostname(&ctx, ip, "connections per IP").await => {
            spared = true;
            match ctx.connections.acquire(None) {
                Ok(permit) => permit,
                Err(limit) => return refuse(&mut stream, peer, &limit.reply(), "connection limit").await,
            }
        }
        Err(limit) => return refuse(&mut stream, peer, &limit.reply(), "connection limit").await,
    };
    let started = Instant::now();
    let mut session = Session::new(Arc::clone(&ctx), peer, shutdown);
    session.hold(permit);
    if spared {
        session.spare_from_limits();
    }
    // The TLS states are boxed: a plain session's task then stays small (an idle session costs a
    // few KiB, and 10,000 of them must fit), and only TLS sessions pay for rustls' state.
    let outcome = if implicit_tls {
        Box::pin(run_tls(&ctx, stream, peer, &mut session, true)).await
    } else {
        session.greeting();
        match session.run(&mut stream).await {
            Outcome::StartTls => Box::pin(run_tls(&ctx, stream, peer, &mut session, false)).await,
            closed => closed,
        }
    };
    tracing::info!(
        peer = %peer,
        helo = session.helo.as_deref().unwrap_or(""),
        tls = session.tls.as_deref().unwrap_or(""),
        messages = session.messages,
        errors = session.errors,
        duration_ms = started.elapsed().as_millis() as u64,
        ?outcome,
        "connection closed"
    );
}

/// Handshake, then the session over TLS (after STARTTLS, or from the first byte on port 465).
async fn run_tls(ctx: &Context, stream: TcpStream, peer: SocketAddr, session: &mut Session, greet: bool) -> Outcome {
    match handshake(ctx, stream, peer).await {
        Some((mut tls_stream, description)) => {
            session.tls_established(description);
            if greet {
                session.greeting();
            }
            session.run(&mut tls_stream).await
        }
        None => Outcome::Closed,
    }
}

/// The TLS handshake, bounded by the idle timeout; None (and a log line) when it fails.
async fn handshake<S>(
    ctx: &Context,
    stream: S,
    peer: SocketAddr,
) -> Option<(tokio_rustls::server::TlsStream<S>, String)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tls = ctx.tls.as_ref()?;
    match tokio::time::timeout(ctx.idle_timeout(), tls.acceptor().accept(stream)).await {
        Ok(Ok(tls_stream)) => {
            METRICS.tls_handshakes.inc();
            let description = super::tls::describe(tls_stream.get_ref().1);
            Some((tls_stream, description))
        }
        Ok(Err(e)) => {
            METRICS.tls_failures.inc();
            tracing::info!(peer = %peer.ip(), error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            METRICS.tls_failures.inc();
            tracing::info!(peer = %peer.ip(), "TLS handshake timed out");
            None
        }
    }
}
