//! Per-client-IP rate limits (connections, messages): token buckets that refill over a window.
//!
//! A bucket holds `limit` tokens and refills at `limit` per window, so a client may burst up to the
//! limit and then continues at the average rate; a refused client recovers as tokens come back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle ones are dropped: bounds memory against address-hopping clients.
const MAX_TRACKED: usize = 100_000;

pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// None when `limit` is 0 (no limit).
    pub fn new(limit: u32, window: Duration) -> Option<RateLimiter> {
        (limit > 0).then(|| RateLimiter {
            capacity: f64::from(limit),
            per_second: f64::from(limit) / window.as_secs_f64().max(0.001),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token for `ip`; false when none is left.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let (capacity, rate) = (self.capacity, self.per_second);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < capacity);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_to_the_limit_then_recovers() {
        let r = RateLimiter::new(3, Duration::from_millis(300)).unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(r.allow(ip) && r.allow(ip) && r.allow(ip));
        assert!(!r.allow(ip));
        assert!(r.allow(other), "limits are per address");
        std::thread::sleep(Duration::from_millis(120));
        assert!(r.allow(ip), "a token came back");
        assert!(RateLimiter::new(0, Duration::from_secs(1)).is_none());
    }
}
