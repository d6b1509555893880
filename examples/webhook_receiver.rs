//! A webhook receiver for benchmarks and trials: verifies each request's Standard Webhooks
//! signature against the secrets in a file (one per line, re-read when none matches, so endpoints
//! added later are verified too), answers 204 (401 when nothing verifies), and reports
//! `{"received": N, "verified": N}` at `GET /count`.
//!
//!     cargo run --release --example webhook_receiver -- 127.0.0.1:2610 secrets.txt

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

struct Counts {
    received: AtomicU64,
    verified: AtomicU64,
    secrets_file: String,
    secrets: RwLock<Vec<Vec<u8>>>,
}

fn keys(file: &str) -> Vec<Vec<u8>> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| STANDARD.decode(l.trim().trim_start_matches("whsec_")).ok())
        .collect()
}

fn signed(key: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature").split(' ').any(|s| s == expected)
}

async fn receive(State(counts): State<Arc<Counts>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    counts.received.fetch_add(1, Ordering::Relaxed);
    let known = |c: &Counts| c.secrets.read().unwrap().iter().any(|k| signed(k, &headers, &body));
    let ok = known(&counts) || {
        *counts.secrets.write().unwrap() = keys(&counts.secrets_file);
        known(&counts)
    };
    if ok {
        counts.verified.fetch_add(1, Ordering::Relaxed);
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn count(State(counts): State<Arc<Counts>>) -> String {
    format!(
        "{{\"received\": {}, \"verified\": {}}}",
        counts.received.load(Ordering::Relaxed),
        counts.verified.load(Ordering::Relaxed)
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:2610".into());
    let secrets_file = args.next().unwrap_or_else(|| "secrets.txt".into());
    let counts = Arc::new(Counts {
        received: AtomicU64::new(0),
        verified: AtomicU64::new(0),
        secrets: RwLock::new(keys(&secrets_file)),
        secrets_file,
    });
    let app = Router::new()
        .route("/count", get(count))
        .fallback(post(receive))
        .with_state(counts);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("listen");
    axum::serve(listener, app).await.expect("serve");
}
