//! Spam scoring: the message and its envelope handed to rspamd (`POST /checkv2` on its normal
//! worker, the envelope in the headers rspamd reads: `IP`, `Helo`, `From`, `Rcpt`, `Hostname`,
//! `Queue-Id`), and rspamd's answer as a [`SpamVerdict`]. A trust boundary of its own, like `auth`:
//! what rspamd says decides whether a message is refused, deferred, quarantined or filed
//! (`smtp::deliver`), and nothing else here decides anything.
//!
//! The client is reqwest (already the webhook sender's): rspamd's protocol is one JSON POST, and
//! the `rspamd-client` crate would add a second HTTP stack for it.

use crate::mail::{SpamAction, SpamVerdict};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

pub struct Scanner {
    client: reqwest::Client,
    url: reqwest::Url,
}

/// What rspamd is told of the message besides its bytes.
pub struct Envelope<'a> {
    pub ip: IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a str,
    pub rcpts: Vec<&'a str>,
    pub hostname: &'a str,
    pub queue_id: &'a str,
}

#[derive(Deserialize)]
struct Answer {
    action: String,
    score: f64,
    required_score: f64,
    #[serde(default)]
    symbols: BTreeMap<String, serde_json::Value>,
}

impl Scanner {
    /// A scanner for rspamd at `url` (its normal worker, e.g. `http://127.0.0.1:11333`).
    pub fn new(url: &str, timeout: Duration) -> Result<Scanner, String> {
        let base = reqwest::Url::parse(url).map_err(|e| format!("spam.rspamd_url `{url}`: {e}"))?;
        let url = base
            .join("/checkv2")
            .map_err(|e| format!("spam.rspamd_url `{url}`: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| format!("rspamd client: {e}"))?;
        Ok(Scanner { client, url })
    }

    /// rspamd's verdict on `message`, or why there is none (unreachable, too slow, an answer
    /// that does not parse).
    pub async fn check(&self, envelope: &Envelope<'_>, message: Vec<u8>) -> Result<SpamVerdict, String> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header("IP", envelope.ip.to_string())
            .header("Helo", envelope.helo)
            .header("From", envelope.mail_from)
            .header("Hostname", envelope.hostname)
            .header("Queue-Id", envelope.queue_id);
        for rcpt in &envelope.rcpts {
            request = request.header("Rcpt", *rcpt);
        }
        let response = request.body(message).send().await.map_err(|e| format!("rspamd: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("rspamd answered {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| format!("rspamd's answer: {e}"))?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| format!("rspamd's answer: {e}"))?;
        Ok(SpamVerdict {
            score: answer.score,
            required: answer.required_score,
            action: SpamAction::parse(&answer.action),
            symbols: answer.symbols.into_keys().collect(),
        })
    }
}
