//! One SMTP connection: reads bytes, feeds smtp-proto's command parser or the DATA/BDAT receivers,
//! dispatches each command to its stage, and writes the queued replies.
//!
//! Replies to pipelined commands are queued and written in one go when the input runs dry
//! (RFC 2920). Memory per session is bounded whatever the client sends (invariant 2): a command
//! line is capped at 4096 bytes by smtp-proto and the rest of an over-long line is skipped, not
//! buffered; a message is capped at the size limit and the rest of it is read and dropped.

use super::budget::Share;
use super::context::Context;
use super::dot::DotReceiver;
use super::limits::Permit;
use super::reply::{self, Reply};
use crate::mail::{AcceptedRecipient, AccountData};
use crate::metrics::{METRICS, SessionState};
use smtp_proto::request::receiver::{DummyLineReceiver, RequestReceiver};
use smtp_proto::{Error as ParseError, Request};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

/// Read size while reading commands: small, since idle sessions hold it.
const COMMAND_BUFFER: usize = 4 * 1024;
/// Read size while receiving a message.
const DATA_BUFFER: usize = 64 * 1024;

/// How a session's run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Closed,
    /// The client asked for STARTTLS and got 220: the caller upgrades the stream and runs again.
    StartTls,
}

/// The mail transaction between MAIL and the end of DATA.
pub struct Transaction {
    pub mail_from: String,
    pub body: Option<String>,
    pub smtputf8: bool,
    pub env_id: Option<String>,
    pub declared_size: usize,
    pub recipients: Vec<AcceptedRecipient>,
    /// What planning needs of each recipient account (members, sender rules), read at its first RCPT.
    pub accounts: BTreeMap<i64, AccountData>,
    /// Our Received header, then the message as received.
    pub message: Vec<u8>,
    pub trace_len: usize,
    pub queue_id: Option<String>,
    /// BDAT: total chunk bytes seen, kept or not.
    pub bdat_seen: usize,
    pub started: Instant,
    /// The bytes of `message` taken from the server-wide budget; given back when this is dropped.
    pub held: Share,
    /// The budget ran out during this message: nothing more is kept, and its end gets 452.
    pub over_budget: bool,
}

impl Transaction {
    /// Takes what `message` grew by since it was `before` long from the budget. When the budget
    /// would be passed, what was kept is dropped and nothing more of this message will be.
    pub fn hold_growth(&mut self, before: usize) {
        if self.over_budget {
            return;
        }
        let grown = self.message.len().saturating_sub(before);
        if !self.held.grow(grown) {
            self.over_budget = true;
            self.message = Vec::new();
            self.held.release();
        }
    }
}

enum Input {
    Command(RequestReceiver),
    /// Skipping the rest of an over-long command line.
    DiscardLine(DummyLineReceiver),
    Data(DotReceiver),
    Bdat {
        left: usize,
        last: bool,
        keep: bool,
    },
}

/// What `process` needs the async loop to do before it can go on.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    Continue,
    /// A recipient's account is being read from the store.
    Lookup,
    Deliver,
    StartTls,
    Close,
}

pub struct Session {
    pub(super) ctx: Arc<Context>,
    pub(super) peer: SocketAddr,
    pub(super) helo: Option<String>,
    pub(super) esmtp: bool,
    pub(super) tls: Option<String>,
    pub(super) transaction: Option<Transaction>,
    /// The RCPT whose account is being looked up (answered before the next command is read).
    pub(super) lookup: Option<super::rcpt::Lookup>,
    pub(super) errors: u32,
    pub(super) messages: u32,
    /// A relay in `server.trusted_networks`: no sender authentication checks.
    pub(super) trusted: bool,
    /// Spared the message rate (trusted, an exempt network or an exempt host name).
    pub(super) spared: bool,
    /// Waiting for the store to commit (for the sessions-by-state gauge).
    pub(super) committing: bool,
    /// This connection's place under the connection limits, given back at QUIT.
    permit: Option<Permit>,
    state: Option<SessionState>,
    out: Vec<u8>,
    input: Input,
    started: Instant,
    shutdown: watch::Receiver<bool>,
}

impl Session {
    pub fn new(ctx: Arc<Context>, peer: SocketAddr, shutdown: watch::Receiver<bool>) -> Session {
        METRICS.session_moved(None, Some(SessionState::Idle));
        Session {
            trusted: ctx.is_trusted(peer.ip()),
            spared: ctx.spared_by_network(peer.ip()),
            committing: false,
            permit: None,
            state: Some(SessionState::Idle),
            ctx,
            peer,
            helo: None,
            esmtp: false,
            tls: None,
            transaction: None,
            lookup: None,
            errors: 0,
            messages: 0,
            out: Vec::new(),
            input: Input::Command(RequestReceiver::default()),
            started: Instant::now(),
            shutdown,
        }
    }

    /// The listener found the client exempt from the limits (by its host name).
    pub fn spare_from_limits(&mut self) {
        self.spared = true;
    }

    /// Holds the connection's place under the limits until QUIT or the end of the session.
    pub fn hold(&mut self, permit: Permit) {
        self.permit = Some(permit);
    }

    pub fn greeting(&mut self) {
        let text = format!("{} ESMTP", self.ctx.hostname());
        self.out.extend_from_slice(format!("220 {text}\r\n").as_bytes());
    }

    /// After a TLS handshake: RFC 3207 says forget everything learned before it.
    pub fn tls_established(&mut self, description: String) {
        self.tls = Some(description);
        self.helo = None;
        self.esmtp = false;
        self.transaction = None;
        self.input = Input::Command(RequestReceiver::default());
    }

    pub fn queue(&mut self, reply: &Reply) {
        reply.write_to(&mut self.out);
    }

    pub(super) fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Counts a refused command or recipient; true when the session has had too many.
    pub(super) fn count_error(&mut self) -> bool {
        self.errors += 1;
        self.errors >= self.ctx.config.limits.max_errors
    }

    /// Queues a refusal, and the 421 that ends the session if it was one too many.
    pub(super) fn refuse(&mut self, reply: &Reply) -> Step {
        self.queue(reply);
        if self.count_error() {
            self.queue(&reply::TOO_MANY_ERRORS);
            return Step::Close;
        }
        Step::Continue
    }

    /// Keeps the sessions-by-state gauge in step with what the session is doing.
    pub(super) fn sync_state(&mut self) {
        let now = if self.committing {
            SessionState::Committing
        } else if matches!(self.input, Input::Data(_) | Input::Bdat { .. }) {
            SessionState::Data
        } else if self.transaction.is_some() {
            SessionState::Envelope
        } else {
            SessionState::Idle
        };
        METRICS.session_moved(self.state, Some(now));
        self.state = Some(now);
    }

    fn is_idle(&self) -> bool {
        self.transaction.is_none() && matches!(self.input, Input::Command(_) | Input::DiscardLine(_))
    }

    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: &mut S) -> Outcome {
        // Read into spare capacity (`read_buf`): nothing is zeroed, and the capacity follows the
        // input mode, small while commands are read, larger while a message streams in.
        let mut buf: Vec<u8> = Vec::with_capacity(COMMAND_BUFFER);
        let (mut start, mut end) = (0usize, 0usize);
        let mut stopping = *self.shutdown.borrow();
        loop {
            while start < end {
                let (used, step) = self.process(&buf[start..end]);
                start += used;
                self.sync_state();
                match step {
                    Step::Continue => {}
                    Step::Lookup => {
                        if self.finish_rcpt().await == Step::Close {
                            let _ = self.flush(stream).await;
                            return Outcome::Closed;
                        }
                    }
                    Step::Deliver => {
                        // Boxed: the delivery's state (parsing, DNS checks, the commit) exists only
                        // while a message is being delivered, not in every idle session.
                        let reply = Box::pin(self.deliver()).await;
                        self.queue(&reply);
                    }
                    Step::StartTls => {
                        // Whatever followed STARTTLS in the same packet is dropped unread: it was
                        // sent in clear and must not be executed inside TLS (CVE-2011-0411).
                        return match self.flush(stream).await {
                            Ok(()) => Outcome::StartTls,
                            Err(_) => Outcome::Closed,
                        };
                    }
                    Step::Close => {
                        let _ = self.flush(stream).await;
                        return Outcome::Closed;
                    }
                }
            }
            if self.flush(stream).await.is_err() {
                return Outcome::Closed;
            }
            if stopping && self.is_idle() {
                self.queue(&reply::SHUTTING_DOWN);
                let _ = self.flush(stream).await;
                return Outcome::Closed;
            }
            let want = if matches!(self.input, Input::Data(_) | Input::Bdat { .. }) {
                DATA_BUFFER
            } else {
                COMMAND_BUFFER
            };
            buf.clear();
            if buf.capacity() < want {
                buf.reserve_exact(want);
            } else if buf.capacity() > want {
                buf.shrink_to(want);
            }
            let remaining = self.ctx.session_timeout().saturating_sub(self.started.elapsed());
            let wait = self.ctx.idle_timeout().min(remaining);
            let read = tokio::select! {
                r = tokio::time::timeout(wait, stream.read_buf(&mut buf)) => Some(r),
                _ = self.shutdown.changed(), if !stopping => None,
            };
            match read {
                None => {
                    stopping = true;
                    start = 0;
                    end = 0;
                }
                Some(Ok(Ok(0))) | Some(Ok(Err(_))) => return Outcome::Closed,
                Some(Ok(Ok(n))) => {
                    start = 0;
                    end = n;
                }
                Some(Err(_elapsed)) => {
                    let timeout = if remaining <= self.ctx.idle_timeout() {
                        &reply::SESSION_TIMEOUT
                    } else {
                        &reply::IDLE_TIMEOUT
                    };
                    self.queue(timeout);
                    let _ = self.flush(stream).await;
                    return Outcome::Closed;
                }
            }
        }
    }

    async fn flush<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        // A client that does not read its replies must not hold the session forever.
        let result = tokio::time::timeout(self.ctx.idle_timeout(), async {
            stream.write_all(&self.out).await?;
            stream.flush().await
        })
        .await;
        self.out.clear();
        if self.out.capacity() > COMMAND_BUFFER {
            self.out.shrink_to(COMMAND_BUFFER);
        }
        match result {
            Ok(r) => r,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    /// Consumes as much input as possible; stops early when the loop has async work to do.
    fn process(&mut self, input: &[u8]) -> (usize, Step) {
        let mut pos = 0;
        while pos < input.len() {
            match &mut self.input {
                Input::Command(receiver) => {
                    let mut iter = input[pos..].iter();
                    let result = receiver.ingest(&mut iter).map(Request::into_owned);
                    let used = input.len() - pos - iter.as_slice().len();
                    pos += used;
                    let step = match result {
                        Ok(Request::Rcpt { mut to }) if to.address.is_empty() => {
                            // smtp-proto reads both `<>` (invalid) and RFC 5321's bare
                            // `<Postmaster>` (which we must accept) as an empty path.
                            if names_postmaster(&input[pos - used..pos]) {
                                to.address = crate::mail::POSTMASTER.to_string();
                            }
                            self.command(Request::Rcpt { to })
                        }
                        Ok(request) => self.command(request),
                        Err(ParseError::NeedsMoreData { .. }) => Step::Continue,
                        Err(ParseError::ResponseTooLong) => {
                            self.input = Input::DiscardLine(DummyLineReceiver::default());
                            Step::Continue
                        }
                        Err(error) => {
                            if used == 0 {
                                // Never loop on input the parser refused without consuming it.
                                self.input = Input::DiscardLine(DummyLineReceiver::default());
                            }
                            self.refuse(&parse_error_reply(&error))
                        }
                    };
                    if step != Step::Continue {
                        return (pos, step);
                    }
                }
                Input::DiscardLine(receiver) => {
                    let mut iter = input[pos..].iter();
                    let done = receiver.ingest(&mut iter);
                    pos = input.len() - iter.as_slice().len();
                    if done {
                        self.input = Input::Command(RequestReceiver::default());
                        let step = self.refuse(&reply::LINE_TOO_LONG);
                        if step != Step::Continue {
                            return (pos, step);
                        }
                    }
                }
                Input::Data(receiver) => {
                    let Some(transaction) = self.transaction.as_mut() else {
                        self.input = Input::Command(RequestReceiver::default());
                        continue;
                    };
                    let before = transaction.message.len();
                    let (used, done) = receiver.feed(&input[pos..], &mut transaction.message);
                    pos += used;
                    transaction.hold_growth(before);
                    if transaction.over_budget {
                        receiver.discard();
                    }
                    if done {
                        let refusal = if receiver.overflowed() {
                            Some(reply::MESSAGE_TOO_BIG)
                        } else if transaction.over_budget {
                            Some(reply::INFLIGHT_FULL)
                        } else {
                            None
                        };
                        let seen = receiver.seen();
                        self.input = Input::Command(RequestReceiver::default());
                        if let Some(refusal) = refusal {
                            self.refuse_message(&refusal, seen);
                            continue;
                        }
                        return (pos, Step::Deliver);
                    }
                }
                Input::Bdat { left, last, keep } => {
                    let take = (*left).min(input.len() - pos);
                    let chunk = &input[pos..pos + take];
                    pos += take;
                    *left -= take;
                    let max = self.ctx.config.limits.max_message_size;
                    if *keep && let Some(transaction) = self.transaction.as_mut() {
                        transaction.bdat_seen = transaction.bdat_seen.saturating_add(take);
                        if transaction.bdat_seen <= max && !transaction.over_budget {
                            let before = transaction.message.len();
                            super::dot::reserve_gradually(&mut transaction.message, take);
                            transaction.message.extend_from_slice(chunk);
                            transaction.hold_growth(before);
                        }
                    }
                    if *left == 0 {
                        let (last, keep) = (*last, *keep);
                        self.input = Input::Command(RequestReceiver::default());
                        let step = self.bdat_chunk_done(last, keep);
                        if step != Step::Continue {
                            return (pos, step);
                        }
                    }
                }
            }
        }
        (pos, Step::Continue)
    }

    fn command(&mut self, request: Request<String>) -> Step {
        match request {
            Request::Ehlo { host } => self.ehlo(host, true),
            Request::Helo { host } => self.ehlo(host, false),
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(to),
            Request::Data => self.data(),
            Request::Bdat { chunk_size, is_last } => self.bdat(chunk_size, is_last),
            Request::Rset => {
                self.transaction = None;
                self.queue(&reply::RESET_OK);
                Step::Continue
            }
            Request::Noop { .. } => {
                self.queue(&reply::OK);
                Step::Continue
            }
            Request::Quit => {
                // The conversation is over: give the connection's place back before the client
                // reads 221, since a client that reconnects at once must find it free (a stock
                // Postfix does, with 20 parallel deliveries against our per-IP cap).
                self.permit = None;
                self.queue(&reply::BYE);
                Step::Close
            }
            Request::Vrfy { .. } => {
                self.queue(&reply::VRFY_CANNOT);
                Step::Continue
            }
            Request::Help { .. } => {
                let lines = vec![
                    "2.0.0 inboxd: an inbound mail server for unified inboxes".to_string(),
                    "2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS".to_string(),
                    "2.0.0 End of HELP info".to_string(),
                ];
                super::reply::write_multiline(&mut self.out, 214, &lines);
                Step::Continue
            }
            Request::StartTls => self.starttls(),
            Request::Lhlo { .. } => self.refuse(&reply::UNKNOWN_COMMAND),
            Request::Auth { .. }
            | Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.refuse(&reply::NOT_IMPLEMENTED),
        }
    }

    fn starttls(&mut self) -> Step {
        if self.tls.is_some() {
            return self.refuse(&reply::BAD_SEQUENCE_TLS);
        }
        if self.ctx.tls.is_none() {
            return self.refuse(&reply::NOT_IMPLEMENTED);
        }
        if self.transaction.is_some() {
            return self.refuse(&reply::TLS_IN_TRANSACTION);
        }
        self.queue(&reply::READY_TLS);
        Step::StartTls
    }

    /// DATA and BDAT switch the input over to the message receivers.
    pub(super) fn receive_data(&mut self) {
        self.input = Input::Data(DotReceiver::new(self.ctx.config.limits.max_message_size));
    }

    pub(super) fn receive_bdat(&mut self, size: usize, last: bool, keep: bool) {
        self.input = Input::Bdat { left: size, last, keep };
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        METRICS.session_moved(self.state, None);
    }
}

/// Whether a command line's bytes (as read: the line may have come in pieces, then only its last
/// piece is here and the path reads as `<>`) contain `postmaster` in any case.
fn names_postmaster(line: &[u8]) -> bool {
    line.windows(10).any(|w| w.eq_ignore_ascii_case(b"postmaster"))
}

fn parse_error_reply(error: &ParseError) -> Reply {
    match error {
        ParseError::UnknownCommand => reply::UNKNOWN_COMMAND,
        ParseError::InvalidSenderAddress => reply::BAD_SENDER,
        ParseError::InvalidRecipientAddress => reply::BAD_RECIPIENT,
        ParseError::SyntaxError { syntax } => Reply::owned(501, "5.5.4", format!("Syntax: {syntax}")),
        ParseError::InvalidParameter { param } => Reply::owned(501, "5.5.4", format!("Invalid parameter: {param}")),
        ParseError::UnsupportedParameter { .. } => reply::UNSUPPORTED_PARAMETER,
        ParseError::ResponseTooLong => reply::LINE_TOO_LONG,
        ParseError::NeedsMoreData { .. } | ParseError::InvalidResponse { .. } => {
            Reply::new(500, "5.5.2", "Syntax error, command unrecognized")
        }
    }
}
