//! Counters and histograms for `/metrics`, in Prometheus text format.
//!
//! One set per process (a server is one process), kept in atomics so that sessions and the writer
//! thread record without locks. Reason codes are a small fixed set of SMTP codes, so labels stay bounded.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

pub static METRICS: Metrics = Metrics::new();

/// SMTP codes we count replies by; anything else lands in `other`.
const CODES: [u16; 14] = [250, 421, 450, 451, 452, 500, 501, 502, 503, 550, 552, 553, 554, 555];

pub struct Histogram {
    bounds: &'static [f64],
    buckets: [AtomicU64; 16],
    count: AtomicU64,
    /// Sum in micro-units, to stay in integers.
    sum_micros: AtomicU64,
}

impl Histogram {
    const fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; 16],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        for (i, bound) in self.bounds.iter().enumerate() {
            if value <= *bound {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add((value * 1e6) as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, bound) in self.bounds.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", self.buckets[i].load(Relaxed));
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Where sessions are, for the `inboxd_sessions{state}` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Connected, between transactions.
    Idle,
    /// Between MAIL and DATA.
    Envelope,
    /// Receiving DATA or BDAT.
    Data,
    /// Waiting for the store's commit.
    Committing,
}

const STATES: [(SessionState, &str); 4] = [
    (SessionState::Idle, "idle"),
    (SessionState::Envelope, "envelope"),
    (SessionState::Data, "data"),
    (SessionState::Committing, "committing"),
];

pub struct Metrics {
    pub connections_open: AtomicI64,
    /// Message bytes all sessions hold (see `smtp::budget`).
    pub message_bytes_held: AtomicI64,
    pub connections_total: AtomicU64,
    pub connections_refused: AtomicU64,
    pub messages_accepted: AtomicU64,
    pub bytes_received: AtomicU64,
    message_replies: [AtomicU64; CODES.len() + 1],
    recipient_replies: [AtomicU64; CODES.len() + 1],
    sessions: [AtomicI64; 4],
    pub tls_handshakes: AtomicU64,
    pub tls_failures: AtomicU64,
    pub commit_latency: Histogram,
    pub batch_size: Histogram,
}

impl Metrics {
    const fn new() -> Metrics {
        Metrics {
            connections_open: AtomicI64::new(0),
            message_bytes_held: AtomicI64::new(0),
            connections_total: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            messages_accepted: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            message_replies: [const { AtomicU64::new(0) }; CODES.len() + 1],
            recipient_replies: [const { AtomicU64::new(0) }; CODES.len() + 1],
            sessions: [const { AtomicI64::new(0) }; 4],
            tls_handshakes: AtomicU64::new(0),
            tls_failures: AtomicU64::new(0),
            commit_latency: Histogram::new(&[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            batch_size: Histogram::new(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
        }
    }

    fn code_index(code: u16) -> usize {
        CODES.iter().position(|c| *c == code).unwrap_or(CODES.len())
    }

    /// The final answer to a message (end of DATA/BDAT, or a MAIL refused before it).
    pub fn message_reply(&self, code: u16) {
        self.message_replies[Self::code_index(code)].fetch_add(1, Relaxed);
        if code == 250 {
            self.messages_accepted.fetch_add(1, Relaxed);
        }
    }

    pub fn recipient_reply(&self, code: u16) {
        self.recipient_replies[Self::code_index(code)].fetch_add(1, Relaxed);
    }

    pub fn session_moved(&self, from: Option<SessionState>, to: Option<SessionState>) {
        if from == to {
            return;
        }
        if let Some(from) = from {
            self.sessions[from as usize].fetch_sub(1, Relaxed);
        }
        if let Some(to) = to {
            self.sessions[to as usize].fetch_add(1, Relaxed);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        gauge(
            &mut out,
            "inboxd_connections_open",
            "Open SMTP connections.",
            self.connections_open.load(Relaxed),
        );
        gauge(
            &mut out,
            "inboxd_message_bytes_in_flight",
            "Message bytes held by sessions, received and not yet stored or dropped.",
            self.message_bytes_held.load(Relaxed),
        );
        counter(
            &mut out,
            "inboxd_connections_total",
            "SMTP connections accepted.",
            self.connections_total.load(Relaxed),
        );
        counter(
            &mut out,
            "inboxd_connections_refused_total",
            "Connections refused by a limit (421).",
            self.connections_refused.load(Relaxed),
        );
        counter(
            &mut out,
            "inboxd_messages_accepted_total",
            "Messages committed and acknowledged with 250.",
            self.messages_accepted.load(Relaxed),
        );
        counter(
            &mut out,
            "inboxd_received_bytes_total",
            "Message bytes received.",
            self.bytes_received.load(Relaxed),
        );
        for (name, help, replies) in [
            (
                "inboxd_message_replies_total",
                "Final replies to messages, by SMTP code.",
                &self.message_replies,
            ),
            (
                "inboxd_recipient_replies_total",
                "Replies to RCPT, by SMTP code.",
                &self.recipient_replies,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (i, code) in CODES.iter().enumerate() {
                let _ = writeln!(out, "{name}{{code=\"{code}\"}} {}", replies[i].load(Relaxed));
            }
            let _ = writeln!(out, "{name}{{code=\"other\"}} {}", replies[CODES.len()].load(Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP inboxd_sessions Sessions by state.\n# TYPE inboxd_sessions gauge"
        );
        for (state, label) in STATES {
            let _ = writeln!(
                out,
                "inboxd_sessions{{state=\"{label}\"}} {}",
                self.sessions[state as usize].load(Relaxed)
            );
        }
        counter(
            &mut out,
            "inboxd_tls_handshakes_total",
            "TLS handshakes completed.",
            self.tls_handshakes.load(Relaxed),
        );
        counter(
            &mut out,
            "inboxd_tls_handshake_failures_total",
            "TLS handshakes that failed.",
            self.tls_failures.load(Relaxed),
        );
        self.commit_latency.render(
            &mut out,
            "inboxd_commit_latency_seconds",
            "Time of one group commit, fsync included.",
        );
        self.batch_size
            .render(&mut out, "inboxd_commit_batch_size", "Deliveries per group commit.");
        out
    }
}
