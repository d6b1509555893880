//! Every reply the server sends: an RFC 5321 code, an RFC 3463 enhanced status code and a sentence.
//!
//! Replies are values so the session can queue several (pipelining) and write them in one go.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: &'static str,
    pub text: Cow<'static, str>,
}

impl Reply {
    pub const fn new(code: u16, status: &'static str, text: &'static str) -> Reply {
        Reply {
            code,
            status,
            text: Cow::Borrowed(text),
        }
    }

    pub fn owned(code: u16, status: &'static str, text: String) -> Reply {
        Reply {
            code,
            status,
            text: Cow::Owned(text),
        }
    }

    /// `550 5.1.1 text\r\n`. CR and LF in the text are replaced: a reply is one line.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{} {} ", self.code, self.status).as_bytes());
        out.extend(
            self.text
                .bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
    }

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }
}

/// A multi-line reply (EHLO, HELP): `250-first`, …, `250 last`.
pub fn write_multiline(out: &mut Vec<u8>, code: u16, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.extend_from_slice(format!("{code}{sep}{line}\r\n").as_bytes());
    }
}

pub const OK: Reply = Reply::new(250, "2.0.0", "Ok");
pub const SENDER_OK: Reply = Reply::new(250, "2.1.0", "Sender ok");
pub const RECIPIENT_OK: Reply = Reply::new(250, "2.1.5", "Recipient ok");
pub const RESET_OK: Reply = Reply::new(250, "2.0.0", "Reset state");
pub const START_DATA: Reply = Reply::new(354, "2.0.0", "Start mail input; end with <CRLF>.<CRLF>");
pub const BYE: Reply = Reply::new(221, "2.0.0", "Bye");
pub const READY_TLS: Reply = Reply::new(220, "2.0.0", "Ready to start TLS");
pub const VRFY_CANNOT: Reply = Reply::new(
    252,
    "2.5.0",
    "Cannot VRFY user, but will accept message and attempt delivery",
);

pub const TOO_MANY_CONNECTIONS: Reply = Reply::new(421, "4.7.0", "Too many connections, try again later");
pub const TOO_MANY_FROM_IP: Reply = Reply::new(421, "4.7.0", "Too many connections from your address, try again later");
pub const TOO_MANY_ERRORS: Reply = Reply::new(421, "4.7.0", "Too many errors, closing connection");
pub const IDLE_TIMEOUT: Reply = Reply::new(421, "4.4.2", "Idle timeout exceeded, closing connection");
pub const SESSION_TIMEOUT: Reply = Reply::new(421, "4.4.2", "Session time limit exceeded, closing connection");
pub const CONNECTION_RATE: Reply = Reply::new(
    421,
    "4.7.0",
    "Too many connections from your address in a short time, try again later",
);
pub const MESSAGE_RATE: Reply = Reply::new(
    451,
    "4.7.1",
    "Too many messages from your address in a short time, try again later",
);
pub const STORE_UNAVAILABLE: Reply = Reply::new(
    421,
    "4.3.2",
    "System not accepting network messages: storage unavailable, try again later",
);
pub const SHUTTING_DOWN: Reply = Reply::new(421, "4.3.2", "Service shutting down, try again later");

pub const STORAGE_FAILED: Reply = Reply::new(
    451,
    "4.3.0",
    "Temporary storage failure, message not accepted; try again later",
);
pub const STORAGE_FULL: Reply = Reply::new(452, "4.3.1", "Insufficient system storage, try again later");
pub const INFLIGHT_FULL: Reply = Reply::new(
    452,
    "4.3.1",
    "Insufficient system resources: too much mail in flight, try again later",
);
pub const TOO_MANY_RECIPIENTS: Reply = Reply::new(452, "4.5.3", "Too many recipients");

pub const LINE_TOO_LONG: Reply = Reply::new(500, "5.5.2", "Line too long");
pub const UNKNOWN_COMMAND: Reply = Reply::new(500, "5.5.1", "Command unrecognized");
pub const NOT_IMPLEMENTED: Reply = Reply::new(502, "5.5.1", "Command not implemented");
pub const BAD_SEQUENCE_HELO: Reply = Reply::new(503, "5.5.1", "Send HELO/EHLO first");
pub const BAD_SEQUENCE_MAIL: Reply = Reply::new(503, "5.5.1", "Need MAIL command first");
pub const BAD_SEQUENCE_NESTED_MAIL: Reply = Reply::new(503, "5.5.1", "Sender already specified");
pub const BAD_SEQUENCE_RCPT: Reply = Reply::new(503, "5.5.1", "Need RCPT command first");
/// RFC 3030: a transaction whose message came in BDAT chunks cannot switch to DATA.
pub const BAD_SEQUENCE_DATA_AFTER_BDAT: Reply =
    Reply::new(503, "5.5.1", "DATA is not allowed after BDAT in the same transaction");
/// BINARYMIME is not advertised (RFC 3030 §3): a client may not declare it.
pub const BINARYMIME_UNSUPPORTED: Reply = Reply::new(555, "5.5.4", "BODY=BINARYMIME is not supported here");
pub const BAD_SEQUENCE_TLS: Reply = Reply::new(503, "5.5.1", "TLS already active");
pub const TLS_NOT_AVAILABLE: Reply = Reply::new(454, "4.7.0", "TLS not available");
pub const TLS_IN_TRANSACTION: Reply = Reply::new(503, "5.5.1", "STARTTLS not allowed during a mail transaction");
pub const BAD_SENDER: Reply = Reply::new(501, "5.1.7", "Bad sender address syntax");
pub const BAD_RECIPIENT: Reply = Reply::new(501, "5.1.3", "Bad recipient address syntax");
pub const UNSUPPORTED_PARAMETER: Reply = Reply::new(
    555,
    "5.5.4",
    "MAIL FROM/RCPT TO parameter not recognized or not implemented",
);
pub const SMTPUTF8_NOT_DECLARED: Reply = Reply::new(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter");

pub const MESSAGE_TOO_BIG: Reply = Reply::new(552, "5.3.4", "Message size exceeds fixed maximum message size");
pub const SPAM_REJECT: Reply = Reply::new(550, "5.7.1", "Message rejected as spam");
pub const SPAM_DEFER: Reply = Reply::new(451, "4.7.1", "Message deferred by the spam filter, try again later");
pub const SENDER_BLOCKED: Reply = Reply::new(
    550,
    "5.7.1",
    "Sender refused: the recipient does not accept mail from this sender",
);
pub const SPAM_UNSCORED: Reply = Reply::new(451, "4.7.1", "The spam filter is unavailable, try again later");
pub const UNKNOWN_USER: Reply = Reply::new(550, "5.1.1", "Recipient address rejected: no such mailbox here");
pub const RELAY_DENIED: Reply = Reply::new(
    550,
    "5.7.1",
    "Relay access denied: we only receive mail for our own domains",
);
pub const LOOKUP_FAILED: Reply = Reply::new(451, "4.3.0", "Temporary lookup failure, try again later");
pub const ACCOUNT_DISABLED: Reply = Reply::new(550, "5.2.1", "Mailbox disabled, not accepting messages");
pub const DMARC_REJECT: Reply = Reply::new(
    550,
    "5.7.1",
    "Message rejected: the sender's domain fails DMARC and its policy asks receivers to reject it",
);
pub const NO_VALID_RECIPIENTS: Reply = Reply::new(554, "5.5.1", "No valid recipients");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_single_lines_with_enhanced_codes() {
        let mut out = Vec::new();
        Reply::owned(250, "2.0.0", "Ok: queued as X\r\nINJECTED".into()).write_to(&mut out);
        assert_eq!(out, b"250 2.0.0 Ok: queued as X  INJECTED\r\n");
        let mut out = Vec::new();
        write_multiline(&mut out, 250, &["a".into(), "b".into()]);
        assert_eq!(out, b"250-a\r\n250 b\r\n");
    }
}
