//! Accepting connections: connection limits (in all and per client IP), one task per connection,
//! STARTTLS upgrades, and graceful shutdown.
//!
//! A client beyond a limit gets `421 4.7.0` at once and the connection is closed: it never waits
//! in a queue. On shutdown the listeners close, idle sessions get `421 4.3.2`, sessions in the
//! middle of a transaction get the grace time to finish, and the store commits what it was given.

use super::Context;
use super::reply::{self, Reply};
use super::session::{Outcome, Session};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// Open connections, in all and per client address.
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    all_closed: Notify,
}

/// One open connection's place; released when dropped.
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            open: Mutex::new((0, HashMap::new())),
            all_closed: Notify::new(),
        })
    }

    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Reply> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.max_total {
            return Err(reply::TOO_MANY_CONNECTIONS);
        }
        let from_ip = open.1.entry(ip).or_insert(0);
        if *from_ip >= self.max_per_ip {
            return Err(reply::TOO_MANY_FROM_IP);
        }
        *from_ip += 1;
        open.0 += 1;
        Ok(Permit {
            limits: Arc::clone(self),
            ip,
        })
    }

    pub fn open_connections(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.open_connections() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
        if open.0 == 0 {
            self.limits.all_closed.notify_waiters();
        }
    }
}

/// Asks a running server to stop.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

pub struct Server {
    ctx: Arc<Context>,
    listeners: Vec<TcpListener>,
    limits: Arc<ConnectionLimits>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl Server {
    /// Binds every configured listen address.
    pub async fn bind(ctx: Arc<Context>) -> std::io::Result<Server> {
        let mut listeners = Vec::new();
        for addr in &ctx.config.server.listen {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            listeners.push(listener);
        }
        Ok(Server::with_listeners(ctx, listeners))
    }

    /// Serves on listeners that already exist (socket activation, tests).
    pub fn with_listeners(ctx: Arc<Context>, listeners: Vec<TcpListener>) -> Server {
        let limits = ConnectionLimits::new(
            ctx.config.limits.max_connections,
            ctx.config.limits.max_connections_per_ip,
        );
        let (tx, _) = watch::channel(false);
        Server {
            ctx,
            listeners,
            limits,
            shutdown: Arc::new(tx),
        }
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::clone(&self.shutdown))
    }

    /// Serves until shutdown is requested, then drains sessions within the grace time.
    pub async fn run(self) {
        let mut loops = Vec::new();
        for listener in self.listeners {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "listening");
            }
            loops.push(tokio::spawn(accept_loop(
                listener,
                Arc::clone(&self.ctx),
                Arc::clone(&self.limits),
                self.shutdown.subscribe(),
            )));
        }
        let mut stop = self.shutdown.subscribe();
        let _ = stop.wait_for(|s| *s).await.map(|_| ());
        for l in loops {
            let _ = l.await;
        }
        let grace = Duration::from_secs(self.ctx.config.server.shutdown_grace_secs);
        let open = self.limits.open_connections();
        tracing::info!(open, grace_secs = grace.as_secs(), "shutting down: listeners closed");
        if tokio::time::timeout(grace, self.limits.all_closed()).await.is_err() {
            tracing::warn!(
                open = self.limits.open_connections(),
                "grace time over: closing remaining sessions"
            );
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Context>,
    limits: Arc<ConnectionLimits>,
    mut shutdown: watch::Receiver<bool>,
) {
    let for_sessions = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(stream, peer, Arc::clone(&ctx), Arc::clone(&limits), for_sessions.clone()));
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

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    limits: Arc<ConnectionLimits>,
    shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let _permit = match limits.acquire(peer.ip()) {
        Ok(permit) => permit,
        Err(refusal) => {
            tracing::info!(peer = %peer.ip(), code = refusal.code, "connection refused: limit reached");
            let mut out = Vec::new();
            refusal.write_to(&mut out);
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(&out)).await;
            return;
        }
    };
    let started = Instant::now();
    let mut session = Session::new(Arc::clone(&ctx), peer, shutdown);
    session.greeting();
    let mut outcome = session.run(&mut stream).await;
    if outcome == Outcome::StartTls
        && let Some(tls) = &ctx.tls
    {
        match tokio::time::timeout(ctx.idle_timeout(), tls.acceptor().accept(stream)).await {
            Ok(Ok(mut tls_stream)) => {
                let description = super::tls::describe(tls_stream.get_ref().1);
                session.tls_established(description);
                outcome = session.run(&mut tls_stream).await;
            }
            Ok(Err(e)) => tracing::info!(peer = %peer.ip(), error = %e, "TLS handshake failed"),
            Err(_) => tracing::info!(peer = %peer.ip(), "TLS handshake timed out"),
        }
    }
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
