//! `[webhooks]`: how events are sent to the inbox application's endpoints: the retry schedule, the
//! answer's time limit, and whether internal addresses may be endpoints.

use super::{Invalid, fail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// The delays (seconds) before each retry of a delivery that was not answered 2xx; after the
    /// last, the delivery is `failed` (visible, replayable). The default spans about 3 days.
    pub retry_schedule_secs: Vec<u64>,
    /// An endpoint must answer within this many seconds.
    pub timeout_secs: u64,
    /// Endpoints on loopback, private, link-local or otherwise internal addresses are refused
    /// unless this is true (no requests into the operator's own network).
    pub allow_private: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_schedule_secs: vec![
                5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000, 36000, 36000, 36000,
            ],
            timeout_secs: 10,
            allow_private: false,
        }
    }
}

impl WebhooksConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.timeout_secs == 0 || self.timeout_secs > 300 {
            return fail("webhooks.timeout_secs", "must be 1 to 300 seconds");
        }
        if self.retry_schedule_secs.iter().any(|&d| d > 30 * 86_400) {
            return fail("webhooks.retry_schedule_secs", "each delay is at most 30 days");
        }
        Ok(())
    }
}
