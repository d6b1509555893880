//! EHLO and HELO: the client names itself, we list what we offer. Either one resets the transaction.

use super::session::{Session, Step};

impl Session {
    pub(super) fn ehlo(&mut self, host: String, extended: bool) -> Step {
        self.transaction = None;
        self.helo = Some(sanitize(&host));
        self.esmtp = extended;
        let hostname = self.ctx.hostname().to_string();
        if !extended {
            let line = format!("250 {hostname}\r\n");
            self.out().extend_from_slice(line.as_bytes());
            return Step::Continue;
        }
        let mut lines = vec![
            format!("{hostname} Hello [{}]", self.peer.ip()),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.ctx.config.limits.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "CHUNKING".to_string(),
        ];
        if self.ctx.tls.is_some() && self.tls.is_none() {
            lines.push("STARTTLS".to_string());
        }
        super::reply::write_multiline(self.out(), 250, &lines);
        Step::Continue
    }
}

/// The HELO name goes into trace headers: keep it to printable ASCII, one token, bounded.
pub(super) fn sanitize(host: &str) -> String {
    let clean: String = host
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '(' | ')' | ';' | '\\'))
        .take(255)
        .collect();
    if clean.is_empty() { "unknown".to_string() } else { clean }
}
