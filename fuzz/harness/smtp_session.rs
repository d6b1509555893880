//! The `smtp_session` fuzz target's body: one SMTP session whose input is the client's byte stream.
//! Driven by libFuzzer (`fuzz_targets/smtp_session.rs`) and by the CI smoke (`tests/fuzz_smoke.rs`).
//!
//! Input format: the bytes the client sends, with `0xFF` marking a read boundary (the server's
//! `read` returns at most up to it, so partial commands, split CRLFs and split `.` lines are
//! exercised) and `0xFF 0xFF` standing for one literal `0xFF` byte. After the last byte the
//! client half-closes (EOF). The server's replies are checked for shape and otherwise discarded.
//!
//! The store is in memory: recipient lookups answer from a fixed table and `submit` answers Ok at
//! once. The ingest pipeline still runs for every message (the session calls
//! `ingest::prepare` before `submit`); only the SQL that applies a plan is left out, because a
//! real SQLite file grows with every accepted message (slower and slower, and iterations would
//! depend on each other), while the SQL takes only values from the plan.
//!
//! Findings besides panics: a session that does not finish within `SESSION_DEADLINE` (hang), a
//! single allocation over 64 MiB or a session peak over `MAX_SESSION_PEAK` (unbounded memory),
//! and replies that are not well-formed SMTP reply lines.

use crate::alloc_guard;
use inboxd::config::Config;
use inboxd::mail::{AccountData, AccountRoute, Delivery};
use inboxd::smtp::{Context, run_session};
use inboxd::store::{Committed, MailStore, Pending, StoreError};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Memory one session may use above the input itself: the message (capped at the size limit),
/// its parse and plan, the read buffers and queued replies. Far above what any bounded session
/// needs, far below what an unbounded one reaches with a 1 MiB input.
const MAX_SESSION_PEAK: usize = 24 * 1024 * 1024;
const SESSION_DEADLINE: Duration = Duration::from_secs(5);
/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
const MAX_REPLY_LINE: usize = 512;

/// Accounts: `acme-k7m2q9x4` (1, with an agent), `sales-aaaa` (2), `off-bbbb` (3, disabled),
/// `broken-cccc` (lookup fails). Signed reply addresses resolve through `account`.
struct Store {
    /// Deliveries answered Ok (the session must then say `250 ... queued as`, and only then).
    accepted: AtomicUsize,
}

impl MailStore for Store {
    fn find_account(&self, local: &str, _domain: &str) -> Pending<Option<AccountRoute>> {
        Pending::ready(Ok(match local {
            "acme-k7m2q9x4" => Some(AccountRoute {
                id: 1,
                enabled: true,
                dmarc_reject: None,
                bulk_contacts: false,
            }),
            "sales-aaaa" => Some(AccountRoute {
                id: 2,
                enabled: true,
                dmarc_reject: None,
                bulk_contacts: false,
            }),
            "off-bbbb" => Some(AccountRoute {
                id: 3,
                enabled: false,
                dmarc_reject: None,
                bulk_contacts: false,
            }),
            "broken-cccc" => return Pending::ready(Err(StoreError::Failed("fuzz: lookup failure".into()))),
            _ => None,
        }))
    }

    fn account(&self, id: i64) -> Pending<Option<AccountRoute>> {
        Pending::ready(Ok(match id {
            1 | 2 => Some(AccountRoute {
                id,
                enabled: true,
                dmarc_reject: None,
                bulk_contacts: false,
            }),
            3 => Some(AccountRoute {
                id,
                enabled: false,
                dmarc_reject: None,
                bulk_contacts: false,
            }),
            _ => None,
        }))
    }

    fn account_data(&self, account_id: i64) -> Pending<AccountData> {
        Pending::ready(Ok(AccountData {
            members: match account_id {
                1 => vec!["agent@example.com".into(), "boss@acme.example".into()],
                _ => Vec::new(),
            },
            senders: Default::default(),
        }))
    }

    fn submit(&self, delivery: Delivery) -> Pending<Vec<Committed>> {
        assert!(
            delivery.envelope.size <= MAX_MESSAGE_SIZE,
            "a message over the size limit was handed to the store ({} bytes)",
            delivery.envelope.size
        );
        assert!(!delivery.plans.is_empty(), "a delivery without a plan");
        // Messages that ask for it get the store's failure answers, so those replies are fuzzed too.
        let text = &delivery.raw[..];
        let answer = if memchr_contains(text, b"X-Fuzz-Store: full") {
            Err(StoreError::Full("fuzz: full".into()))
        } else if memchr_contains(text, b"X-Fuzz-Store: fail") {
            Err(StoreError::Failed("fuzz: failed".into()))
        } else {
            self.accepted.fetch_add(1, Ordering::Relaxed);
            Ok(delivery
                .plans
                .iter()
                .map(|p| Committed {
                    account_id: p.account_id,
                    message_id: 1,
                    duplicate: false,
                })
                .collect())
        };
        Pending::ready(answer)
    }

    fn is_full(&self, incoming: u64) -> bool {
        // `MAIL FROM:<..> SIZE=4242` exercises the 452 path.
        incoming == 4242
    }

    fn ping(&self) -> Pending<()> {
        Pending::ready(Ok(()))
    }
}

fn memchr_contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

struct World {
    runtime: tokio::runtime::Runtime,
    ctx: Arc<Context>,
    store: Arc<Store>,
    /// Kept alive so the session never sees a shutdown.
    _shutdown: watch::Sender<bool>,
    shutdown_rx: watch::Receiver<bool>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut config = Config::default();
        config.server.hostname = "mx.fuzz.example".into();
        config.server.domains = vec!["inbox.localhost".into(), "In.Example.com".into()];
        config.limits.max_message_size = MAX_MESSAGE_SIZE;
        config.limits.max_recipients = 8;
        // Rate limiters keep state across sessions: iterations must not depend on each other.
        config.limits.connection_rate = 0;
        config.limits.message_rate = 0;
        // No DNS while fuzzing: the sender checks are exercised by the auth tests.
        config.auth.enabled = false;
        config.reply_tokens.secret = Some("fuzzing-reply-token-secret-0123".into());
        // STARTTLS answers 220 (the handshake itself is not fuzzed: the session ends there).
        let fixtures = tls_fixtures();
        let tls = inboxd::smtp::tls::TlsSettings::load(&fixtures.join("cert-a.pem"), &fixtures.join("key-a.pem"))
            .expect("test certificate");
        let store = Arc::new(Store {
            accepted: AtomicUsize::new(0),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let ctx = Arc::new(
            runtime
                .block_on(Context::new(config, store.clone(), Some(tls)))
                .expect("context"),
        );
        let (shutdown, shutdown_rx) = watch::channel(false);
        World {
            runtime,
            ctx,
            store,
            _shutdown: shutdown,
            shutdown_rx,
        }
    })
}

/// The repository's test certificate, from the fuzz crate (`fuzz/`) or from the main one.
fn tls_fixtures() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = manifest.join("tests/fixtures/tls");
    if here.is_dir() {
        here
    } else {
        manifest.join("../tests/fixtures/tls")
    }
}

/// The client side: hands out the input one chunk per `read`, then EOF; checks and drops replies.
struct Wire {
    chunks: Vec<Vec<u8>>,
    chunk: usize,
    offset: usize,
    line: Vec<u8>,
    written: usize,
    /// `250 2.0.0 Ok: queued as` replies seen.
    queued: usize,
}

fn split(data: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks = vec![Vec::new()];
    let mut i = 0;
    while i < data.len() {
        if data[i] == 0xFF {
            if data.get(i + 1) == Some(&0xFF) {
                chunks.last_mut().unwrap().push(0xFF);
                i += 2;
            } else {
                chunks.push(Vec::new());
                i += 1;
            }
        } else {
            chunks.last_mut().unwrap().push(data[i]);
            i += 1;
        }
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

impl Wire {
    fn check_line(&self) {
        let line = &self.line;
        let shown = String::from_utf8_lossy(line);
        assert!(
            line.len() <= MAX_REPLY_LINE,
            "reply line of {} bytes: {shown:?}",
            line.len()
        );
        assert!(
            line.len() >= 5
                && line[..3].iter().all(u8::is_ascii_digit)
                && (line[3] == b' ' || line[3] == b'-')
                && line.ends_with(b"\r\n"),
            "malformed reply line {shown:?}"
        );
        let body = &line[..line.len() - 2];
        assert!(
            !body.contains(&b'\r') && !body.contains(&b'\n'),
            "bare CR or LF inside a reply line {shown:?}"
        );
    }
}

impl AsyncRead for Wire {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while let Some(chunk) = this.chunks.get(this.chunk) {
            if this.offset < chunk.len() {
                let n = buf.remaining().min(chunk.len() - this.offset);
                buf.put_slice(&chunk[this.offset..this.offset + n]);
                this.offset += n;
                return Poll::Ready(Ok(()));
            }
            this.chunk += 1;
            this.offset = 0;
        }
        Poll::Ready(Ok(())) // EOF
    }
}

impl AsyncWrite for Wire {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.written += data.len();
        for &b in data {
            this.line.push(b);
            if b == b'\n' {
                this.check_line();
                if this.line.starts_with(b"250 2.0.0 Ok: queued as ") {
                    this.queued += 1;
                }
                this.line.clear();
            } else if this.line.len() > MAX_REPLY_LINE {
                this.check_line();
            }
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs one input; panics (a finding) on a crash, a hang, unbounded memory or a malformed reply.
pub fn run(data: &[u8]) {
    let world = world();
    let mut wire = Wire {
        chunks: split(data),
        chunk: 0,
        offset: 0,
        line: Vec::new(),
        written: 0,
        queued: 0,
    };
    let accepted_before = world.store.accepted.load(Ordering::Relaxed);
    let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let peak = alloc_guard::Peak::start();
    let session = run_session(world.ctx.clone(), &mut wire, peer, world.shutdown_rx.clone());
    let result = world
        .runtime
        .block_on(async { tokio::time::timeout(SESSION_DEADLINE, session).await });
    assert!(result.is_ok(), "session did not finish within {SESSION_DEADLINE:?}");
    let used = peak.bytes().saturating_sub(data.len() * 2);
    assert!(
        used <= MAX_SESSION_PEAK,
        "session peak heap {used} bytes above its input"
    );
    if result == Ok(false) {
        // A session that was not handed to TLS ended; it must have written whole lines.
        assert!(
            wire.line.is_empty(),
            "reply cut off: {:?}",
            String::from_utf8_lossy(&wire.line)
        );
    }
    assert!(wire.written > 0, "no greeting");
    // Invariant 1: `250 queued` exactly for the messages the store committed.
    let accepted = world.store.accepted.load(Ordering::Relaxed) - accepted_before;
    assert_eq!(
        wire.queued, accepted,
        "250 queued replies vs deliveries the store accepted"
    );
}
