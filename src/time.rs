//! Wall-clock helpers: one timestamp format in storage (RFC 3339, UTC, second precision, so that
//! text order is time order) and RFC 5322 dates for trace headers.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the epoch (the webhook schedule's clock).
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2026-11-24T02:46:31Z`
pub fn rfc3339(unix: i64) -> String {
    mail_parser::DateTime::from_timestamp(unix).to_rfc3339()
}

pub fn now_rfc3339() -> String {
    rfc3339(unix_now())
}

/// `Tue, 24 Nov 2026 02:46:31 +0000`
pub fn rfc5322(unix: i64) -> String {
    mail_parser::DateTime::from_timestamp(unix).to_rfc822()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc5322(86400 * 365), "Fri, 1 Jan 1971 00:00:00 +0000");
    }
}
