//! DATA and BDAT framing: start the message with our Received header, take the chunks, refuse
//! what is too big or over the memory budget, and hand the finished message, with the envelope
//! the session built, to the delivery pipeline (`deliver`).

use super::deliver::{self, Received};
use super::reply::{self, Reply};
use super::session::{Session, Step};
use crate::mail::Envelope;
use crate::metrics::METRICS;

impl Session {
    pub(super) fn data(&mut self) -> Step {
        match &self.transaction {
            None => return self.refuse(&reply::BAD_SEQUENCE_MAIL),
            Some(transaction) if transaction.recipients.is_empty() => return self.refuse(&reply::BAD_SEQUENCE_RCPT),
            // BDAT chunks already started this message: they stay, and DATA is refused.
            Some(transaction) if transaction.queue_id.is_some() => {
                return self.refuse(&reply::BAD_SEQUENCE_DATA_AFTER_BDAT);
            }
            Some(_) => {}
        }
        self.start_message();
        self.queue(&reply::START_DATA);
        self.receive_data();
        Step::Continue
    }

    pub(super) fn bdat(&mut self, size: usize, last: bool) -> Step {
        // A chunk that alone passes the size limit is refused before a byte of it is read; it
        // cannot be skipped safely (the client may never send that much), so the session ends.
        if size > self.ctx.config.limits.max_message_size {
            self.refuse_message(&reply::MESSAGE_TOO_BIG, size);
            return Step::Close;
        }
        let ready = self
            .transaction
            .as_ref()
            .is_some_and(|transaction| !transaction.recipients.is_empty());
        if ready
            && self
                .transaction
                .as_ref()
                .is_some_and(|transaction| transaction.queue_id.is_none())
        {
            self.start_message();
        }
        // Without a transaction the chunk is still read (and dropped) so the stream stays in sync.
        if size == 0 {
            return self.bdat_chunk_done(last, ready);
        }
        self.receive_bdat(size, last, ready);
        Step::Continue
    }

    pub(super) fn bdat_chunk_done(&mut self, last: bool, kept: bool) -> Step {
        let Some(transaction) = self.transaction.as_ref().filter(|_| kept) else {
            let refusal = if self.transaction.is_none() {
                reply::BAD_SEQUENCE_MAIL
            } else {
                reply::BAD_SEQUENCE_RCPT
            };
            return self.refuse(&refusal);
        };
        let refusal = if transaction.bdat_seen > self.ctx.config.limits.max_message_size {
            Some(reply::MESSAGE_TOO_BIG)
        } else if transaction.over_budget {
            Some(reply::INFLIGHT_FULL)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let seen = transaction.bdat_seen;
            self.refuse_message(&refusal, seen);
            return Step::Continue;
        }
        if last {
            return Step::Deliver;
        }
        let received = transaction.bdat_seen;
        self.queue(&Reply::owned(250, "2.0.0", format!("{received} octets received")));
        Step::Continue
    }

    /// Ends the transaction with a refusal of its message (too big, or no memory left for it), and
    /// logs it under the message's queue id so that one grep tells its story.
    pub(super) fn refuse_message(&mut self, refusal: &Reply, seen: usize) {
        if let Some(transaction) = self.transaction.take() {
            tracing::info!(queue_id = transaction.queue_id.as_deref().unwrap_or(""), from = %transaction.mail_from, size = seen,
                result = refusal.code, reason = %refusal.text, "message refused");
        }
        METRICS.message_reply(refusal.code);
        self.queue(refusal);
    }

    /// Assigns the queue id and writes our Received header at the start of the message buffer.
    fn start_message(&mut self) {
        let queue_id = self.ctx.next_queue_id();
        let header = self.received_header(&queue_id);
        let Some(transaction) = self.transaction.as_mut() else {
            return;
        };
        // A declared SIZE lets us allocate once; otherwise the buffer grows gradually (see dot.rs).
        let expected = transaction.declared_size.min(self.ctx.config.limits.max_message_size);
        transaction.message = Vec::with_capacity(header.len() + expected.max(4096));
        transaction.message.extend_from_slice(header.as_bytes());
        transaction.hold_growth(0);
        transaction.trace_len = header.len();
        transaction.queue_id = Some(queue_id);
    }

    /// RFC 5321 §4.4 trace header, with the TLS details of RFC 3848 style `with ESMTPS`.
    fn received_header(&self, queue_id: &str) -> String {
        let transaction = self.transaction.as_ref();
        let helo = self.helo.as_deref().unwrap_or("unknown");
        let ip = self.peer.ip();
        let protocol = self.protocol();
        let tls = match &self.tls {
            Some(t) => format!(" (using {t})"),
            None => String::new(),
        };
        let rcpt = match transaction.map(|t| t.recipients.as_slice()) {
            Some([only]) => format!("\r\n\tfor <{}>", only.address),
            _ => String::new(),
        };
        let date = crate::time::rfc5322(crate::time::unix_now());
        format!(
            "Received: from {helo} ([{ip}])\r\n\tby {host} (inboxd) with {protocol}{tls}\r\n\tid {queue_id}{rcpt}; {date}\r\n",
            host = self.ctx.hostname()
        )
    }

    fn protocol(&self) -> String {
        let utf8 = self.transaction.as_ref().is_some_and(|t| t.smtputf8);
        let base = match (utf8, self.esmtp) {
            (true, _) => "UTF8SMTP",
            (false, true) => "ESMTP",
            (false, false) => "SMTP",
        };
        if self.tls.is_some() {
            format!("{base}S")
        } else {
            base.to_string()
        }
    }

    /// Hands the finished message to the delivery pipeline; the reply says what became of it.
    pub(super) async fn deliver(&mut self) -> Reply {
        self.committing = true;
        self.sync_state();
        let reply = match self.finish_message() {
            Some(received) => deliver::deliver(&self.ctx, received).await,
            None => reply::BAD_SEQUENCE_MAIL,
        };
        if reply.code == 250 {
            self.messages += 1;
        }
        self.committing = false;
        self.sync_state();
        METRICS.message_reply(reply.code);
        reply
    }

    /// Ends the transaction: its envelope, its bytes and its recipients.
    fn finish_message(&mut self) -> Option<Received> {
        let protocol = self.protocol();
        let transaction = self.transaction.take()?;
        let queue_id = transaction.queue_id.clone().unwrap_or_else(|| self.ctx.next_queue_id());
        let size = transaction.message.len().saturating_sub(transaction.trace_len);
        let envelope = Envelope {
            queue_id,
            mail_from: transaction.mail_from.clone(),
            rcpt_to: transaction.recipients.iter().map(|r| r.address.clone()).collect(),
            client_ip: self.peer.ip(),
            helo: self.helo.clone().unwrap_or_default(),
            protocol,
            tls: self.tls.clone(),
            body: transaction.body.clone(),
            smtputf8: transaction.smtputf8,
            env_id: transaction.env_id.clone(),
            received_at: crate::time::now_rfc3339(),
            size,
        };
        Some(Received {
            envelope,
            raw: transaction.message,
            trace_len: transaction.trace_len,
            recipients: transaction.recipients,
            accounts: transaction.accounts,
            trusted: self.trusted,
            started: transaction.started,
        })
    }
}
