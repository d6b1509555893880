//! One attempt: the signed POST of a delivery's payload to its endpoint, and what came of it. The
//! client follows no redirect (a 3xx is a failed attempt), resolves names through the guard, and
//! reads at most [`MAX_ANSWER`] of an answer (a hostile endpoint cannot make us buffer more).

use super::guard::{self, GuardedResolver};
use super::sign;
use crate::store::webhooks::{Claimed, webhook_id};
use std::time::Duration;

/// The most of an endpoint's answer that is read (the rest is dropped with the connection).
const MAX_ANSWER: usize = 64 * 1024;

pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

/// What the endpoint said, or why it said nothing.
pub enum Answer {
    Status(u16),
    Failed(String),
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Sender, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver::shared(allow_private))
            .user_agent(concat!("inboxd-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Sender { client, allow_private })
    }

    pub async fn send(&self, delivery: &Claimed) -> Answer {
        // A literal address is never resolved, so `check_url` is its guard (names: the resolver).
        let url = match guard::check_url(&delivery.url, self.allow_private) {
            Ok(url) => url,
            Err(why) => return Answer::Failed(why),
        };
        let id = webhook_id(delivery.event_id);
        let timestamp = crate::time::unix_now();
        let body = delivery.payload.as_bytes();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                sign::signature(&delivery.secret, &id, timestamp, body),
            )
            .body(delivery.payload.clone());
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // Read (a little of) the answer so the connection can be used again.
                let mut read = 0;
                while read < MAX_ANSWER {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        _ => break,
                    }
                }
                Answer::Status(status)
            }
            Err(e) if e.is_timeout() => Answer::Failed("no answer within webhooks.timeout_secs".into()),
            Err(e) => Answer::Failed(describe(&e)),
        }
    }
}

/// The error and its causes in one line (reqwest's own message alone says only "error sending
/// request").
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
