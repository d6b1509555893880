//! Counters, gauges and histograms for `/metrics`, kept with prometheus-client and rendered in the
//! Prometheus text format (0.0.4) under the names operators scrape.
//!
//! One set per process (a server is one process); the metrics are atomics inside, so sessions and
//! the writer thread record without locks. Reply codes are a small fixed set of SMTP codes and
//! session states four, so the label sets stay bounded.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// SMTP codes we count replies by; anything else is counted as `other`.
const CODES: [u16; 14] = [250, 421, 450, 451, 452, 500, 501, 502, 503, 550, 552, 553, 554, 555];

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

impl SessionState {
    fn label(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Envelope => "envelope",
            SessionState::Data => "data",
            SessionState::Committing => "committing",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

pub struct Metrics {
    pub connections_open: Gauge,
    /// Message bytes all sessions hold (see `smtp::budget`).
    pub message_bytes_held: Gauge,
    pub connections_total: Counter,
    pub connections_refused: Counter,
    pub messages_accepted: Counter,
    pub bytes_received: Counter,
    message_replies: Family<CodeLabel, Counter>,
    recipient_replies: Family<CodeLabel, Counter>,
    sessions: Family<StateLabel, Gauge>,
    pub tls_handshakes: Counter,
    pub tls_failures: Counter,
    pub commit_latency: Histogram,
    pub batch_size: Histogram,
    spam_scored: Family<ActionLabel, Counter>,
    /// Messages filed without a spam score (rspamd did not answer, `on_failure = "accept"`).
    pub spam_unscored: Counter,
    registry: Registry,
}

impl Metrics {
    /// One message scored by rspamd with `action` (`no_action`, `add_header`, `reject`, …).
    pub fn spam_scored(&self, action: &'static str) {
        self.spam_scored.get_or_create(&ActionLabel { action }).inc();
    }

    fn new() -> Metrics {
        let m = Metrics {
            connections_open: Gauge::default(),
            message_bytes_held: Gauge::default(),
            connections_total: Counter::default(),
            connections_refused: Counter::default(),
            messages_accepted: Counter::default(),
            bytes_received: Counter::default(),
            message_replies: Family::default(),
            recipient_replies: Family::default(),
            sessions: Family::default(),
            tls_handshakes: Counter::default(),
            tls_failures: Counter::default(),
            commit_latency: Histogram::new([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            batch_size: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
            spam_scored: Family::default(),
            spam_unscored: Counter::default(),
            registry: Registry::default(),
        };
        // Every label value exists from the start, so a scrape sees zeroes rather than gaps.
        for code in CODES.iter().map(|c| code_label(*c)).chain(["other"]) {
            let _ = m.message_replies.get_or_create(&CodeLabel { code }).get();
            let _ = m.recipient_replies.get_or_create(&CodeLabel { code }).get();
        }
        for state in [
            SessionState::Idle,
            SessionState::Envelope,
            SessionState::Data,
            SessionState::Committing,
        ] {
            let _ = m.sessions.get_or_create(&StateLabel { state: state.label() }).get();
        }
        let mut m = m;
        let r = &mut m.registry;
        // Counters are registered without their `_total`, which the encoder adds.
        r.register(
            "inboxd_spam_scored",
            "Messages scored by rspamd, by its action",
            m.spam_scored.clone(),
        );
        r.register(
            "inboxd_spam_unscored",
            "Messages filed unscored because rspamd did not answer",
            m.spam_unscored.clone(),
        );
        r.register(
            "inboxd_connections_open",
            "Open SMTP connections",
            m.connections_open.clone(),
        );
        r.register(
            "inboxd_message_bytes_in_flight",
            "Message bytes held by sessions, received and not yet stored or dropped",
            m.message_bytes_held.clone(),
        );
        r.register(
            "inboxd_connections",
            "SMTP connections accepted",
            m.connections_total.clone(),
        );
        r.register(
            "inboxd_connections_refused",
            "Connections refused by a limit (421)",
            m.connections_refused.clone(),
        );
        r.register(
            "inboxd_messages_accepted",
            "Messages committed and acknowledged with 250",
            m.messages_accepted.clone(),
        );
        r.register(
            "inboxd_received_bytes",
            "Message bytes received",
            m.bytes_received.clone(),
        );
        r.register(
            "inboxd_message_replies",
            "Final replies to messages, by SMTP code",
            m.message_replies.clone(),
        );
        r.register(
            "inboxd_recipient_replies",
            "Replies to RCPT, by SMTP code",
            m.recipient_replies.clone(),
        );
        r.register("inboxd_sessions", "Sessions by state", m.sessions.clone());
        r.register(
            "inboxd_tls_handshakes",
            "TLS handshakes completed",
            m.tls_handshakes.clone(),
        );
        r.register(
            "inboxd_tls_handshake_failures",
            "TLS handshakes that failed",
            m.tls_failures.clone(),
        );
        r.register(
            "inboxd_commit_latency_seconds",
            "Time of one group commit, fsync included",
            m.commit_latency.clone(),
        );
        r.register(
            "inboxd_commit_batch_size",
            "Deliveries per group commit",
            m.batch_size.clone(),
        );
        m
    }

    /// The final answer to a message (end of DATA/BDAT, or a MAIL refused before it).
    pub fn message_reply(&self, code: u16) {
        self.message_replies
            .get_or_create(&CodeLabel { code: code_label(code) })
            .inc();
        if code == 250 {
            self.messages_accepted.inc();
        }
    }

    pub fn recipient_reply(&self, code: u16) {
        self.recipient_replies
            .get_or_create(&CodeLabel { code: code_label(code) })
            .inc();
    }

    pub fn session_moved(&self, from: Option<SessionState>, to: Option<SessionState>) {
        if from == to {
            return;
        }
        if let Some(from) = from {
            self.sessions.get_or_create(&StateLabel { state: from.label() }).dec();
        }
        if let Some(to) = to {
            self.sessions.get_or_create(&StateLabel { state: to.label() }).inc();
        }
    }

    /// The Prometheus text format (0.0.4) of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The label of a reply code: itself when it is one we count by, else `other`.
fn code_label(code: u16) -> &'static str {
    const NAMES: [&str; 14] = [
        "250", "421", "450", "451", "452", "500", "501", "502", "503", "550", "552", "553", "554", "555",
    ];
    CODES.iter().position(|c| *c == code).map_or("other", |i| NAMES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_operators_scrape_are_rendered() {
        METRICS.message_reply(250);
        METRICS.message_reply(299);
        METRICS.commit_latency.observe(0.003);
        let text = METRICS.render();
        for line in [
            "# TYPE inboxd_connections_total counter",
            "# TYPE inboxd_connections_open gauge",
            "inboxd_message_replies_total{code=\"other\"}",
            "inboxd_recipient_replies_total{code=\"550\"} ",
            "inboxd_sessions{state=\"committing\"} ",
            "inboxd_commit_latency_seconds_bucket{le=\"0.005\"}",
            "inboxd_commit_batch_size_count ",
            "inboxd_message_bytes_in_flight ",
            "inboxd_received_bytes_total ",
            "inboxd_tls_handshake_failures_total ",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
