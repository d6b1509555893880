//! The operator's window: `/healthz` and `/metrics` (Prometheus text format) over plain HTTP/1.1.
//!
//! Off by default; when on, keep it on loopback or a management network. Two fixed GET routes do
//! not justify an HTTP framework: requests are read with a size and time bound, answered, closed.

use crate::metrics::METRICS;
use crate::store::MailStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const MAX_REQUEST: usize = 8192;
const TIMEOUT: Duration = Duration::from_secs(5);

/// What `/healthz` checks besides the database: that the SMTP listeners are up.
pub struct Health {
    pub store: Arc<dyn MailStore>,
    pub listening: AtomicBool,
}

pub async fn serve(listener: TcpListener, health: Arc<Health>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                tokio::spawn(answer(stream, Arc::clone(&health)));
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn answer(mut stream: TcpStream, health: Arc<Health>) {
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(TIMEOUT, async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        true
    })
    .await;
    if !matches!(read, Ok(true)) {
        return;
    }
    let line = String::from_utf8_lossy(request.split(|b| *b == b'\n').next().unwrap_or_default()).to_string();
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", METRICS.render()),
        ("GET", "/healthz") => healthz(&health).await,
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(TIMEOUT, stream.write_all(response.as_bytes())).await;
}

async fn healthz(health: &Health) -> (&'static str, &'static str, String) {
    if !health.listening.load(Ordering::Relaxed) {
        return (
            "503 Service Unavailable",
            "text/plain",
            "smtp listeners are not up\n".into(),
        );
    }
    match tokio::time::timeout(TIMEOUT, health.store.ping()).await {
        Ok(Ok(())) => ("200 OK", "text/plain", "ok\n".into()),
        Ok(Err(e)) => (
            "503 Service Unavailable",
            "text/plain",
            format!("database not writable: {e}\n"),
        ),
        _ => (
            "503 Service Unavailable",
            "text/plain",
            "database did not answer\n".into(),
        ),
    }
}
