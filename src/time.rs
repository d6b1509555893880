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

/// Whether `text` has the stored shape `2026-11-24T02:46:31Z` (digits where digits go).
pub fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
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
        assert!(super::is_rfc3339(&super::rfc3339(1_800_000_000)));
        assert!(!super::is_rfc3339("2026-11-24 02:46:31Z"));
    }
}
