//! A real webhook receiver on a loopback port for the tests: HTTP/1.1 with keep-alive, a thread
//! per connection, every request recorded with whether its Standard Webhooks signature verifies
//! (HMAC-SHA256 over `id.timestamp.body` with the endpoint's secret). What it answers is the
//! test's script: a status, or a hang past the sender's timeout.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub verified: bool,
    pub body: Value,
    /// The how-manyth request with this `webhook-id` (1 for the first).
    pub attempt: usize,
}

/// What the receiver does with a request.
pub enum Reply {
    Status(u16),
    /// Holds the request this long, then drops the connection unanswered.
    Hang(Duration),
}

type Script = dyn Fn(&Received) -> Reply + Send + Sync;

#[derive(Default)]
struct State {
    secret: Option<String>,
    received: Vec<Received>,
    attempts: HashMap<String, usize>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// A receiver that answers 204 to everything.
    pub fn accepting() -> Receiver {
        Receiver::start(|_| Reply::Status(204))
    }

    pub fn start(script: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state: Arc<Mutex<State>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, script) = (Arc::clone(&shared), Arc::clone(&script));
                std::thread::spawn(move || serve(stream, &state, &*script));
            }
        });
        Receiver { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The endpoint's signing secret, to verify with.
    pub fn set_secret(&self, secret: &str) {
        self.state.lock().unwrap().secret = Some(secret.to_string());
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `enough` says the requests so far are enough; panics after `within`.
    pub fn wait_until(&self, within: Duration, enough: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if enough(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was expected within {within:?}; it got {} requests: {:?}",
                got.len(),
                got.iter().map(|r| (&r.id, r.attempt)).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for requests carrying `n` distinct webhook ids.
    pub fn wait_for_ids(&self, n: usize, within: Duration) -> Vec<Received> {
        self.wait_until(within, |got| distinct_ids(got) >= n)
    }
}

pub fn distinct_ids(got: &[Received]) -> usize {
    got.iter()
        .map(|r| &r.id)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn serve(stream: TcpStream, state: &Mutex<State>, script: &Script) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let id = headers.get("webhook-id").cloned().unwrap_or_default();
        let timestamp: i64 = headers
            .get("webhook-timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let signature = headers.get("webhook-signature").cloned().unwrap_or_default();
        let received = {
            let mut state = state.lock().unwrap();
            let verified = state
                .secret
                .as_deref()
                .is_some_and(|secret| verify(secret, &id, timestamp, &body, &signature));
            let attempt = {
                let n = state.attempts.entry(id.clone()).or_insert(0);
                *n += 1;
                *n
            };
            let received = Received {
                id,
                timestamp,
                verified,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                attempt,
            };
            state.received.push(received.clone());
            received
        };
        match script(&received) {
            Reply::Status(code) => {
                let answer = format!("HTTP/1.1 {code} Whatever\r\ncontent-length: 2\r\n\r\nok");
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
            Reply::Hang(time) => {
                std::thread::sleep(time);
                return;
            }
        }
    }
}

/// The receiver's side of Standard Webhooks: one of the `v1,<base64>` signatures matches.
fn verify(secret: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header.split(' ').any(|s| s == expected)
}
