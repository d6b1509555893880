//! MAIL FROM: opens a transaction. The null sender `<>` of bounces and auto-replies is welcome.

use super::reply;
use super::session::{Session, Step, Transaction};
use crate::metrics::METRICS;
use smtp_proto::{MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_BODY_BINARYMIME, MAIL_SMTPUTF8, MailFrom};
use std::time::Instant;

impl Session {
    pub(super) fn mail(&mut self, from: MailFrom<String>) -> Step {
        if self.helo.is_none() {
            return self.refuse(&reply::BAD_SEQUENCE_HELO);
        }
        if self.transaction.is_some() {
            return self.refuse(&reply::BAD_SEQUENCE_NESTED_MAIL);
        }
        let max = self.ctx.config.limits.max_message_size;
        if from.size > max {
            METRICS.message_reply(reply::MESSAGE_TOO_BIG.code);
            return self.refuse(&reply::MESSAGE_TOO_BIG);
        }
        // Temporary refusals: the sender's MTA retries later, so they do not count as errors.
        if !self.spared
            && let Some(rate) = &self.ctx.message_rate
            && !rate.allow(self.ctx.client_key(self.peer.ip()))
            && !self.spared_by_hostname()
        {
            METRICS.message_reply(reply::MESSAGE_RATE.code);
            self.queue(&reply::MESSAGE_RATE);
            return Step::Continue;
        }
        if self.ctx.message_budget.spent() {
            METRICS.message_reply(reply::INFLIGHT_FULL.code);
            self.queue(&reply::INFLIGHT_FULL);
            return Step::Continue;
        }
        if self.ctx.store.is_full(from.size as u64) {
            METRICS.message_reply(reply::STORAGE_FULL.code);
            self.queue(&reply::STORAGE_FULL);
            return Step::Continue;
        }
        if from.flags & MAIL_BODY_BINARYMIME != 0 {
            return self.refuse(&reply::BINARYMIME_UNSUPPORTED);
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !smtputf8 && !from.address.is_ascii() {
            return self.refuse(&reply::SMTPUTF8_NOT_DECLARED);
        }
        let body = if from.flags & MAIL_BODY_8BITMIME != 0 {
            Some("8BITMIME")
        } else if from.flags & MAIL_BODY_7BIT != 0 {
            Some("7BIT")
        } else {
            None
        };
        self.transaction = Some(Transaction {
            mail_from: from.address,
            body: body.map(str::to_string),
            smtputf8,
            env_id: from.env_id,
            declared_size: from.size,
            recipients: Vec::new(),
            accounts: Default::default(),
            message: Vec::new(),
            trace_len: 0,
            queue_id: None,
            bdat_seen: 0,
            started: Instant::now(),
            held: self.ctx.message_budget.share(),
            over_budget: false,
        });
        self.queue(&reply::SENDER_OK);
        Step::Continue
    }

    /// The message rate would refuse: a client whose exempt host name was looked up in the
    /// background at connect (see `exempt`) is spared from now on.
    fn spared_by_hostname(&mut self) -> bool {
        if let Some(Some(name)) = self.ctx.exemptions.cached(self.peer.ip()) {
            tracing::info!(peer = %self.peer.ip(), hostname = %name, "message rate lifted for an exempt host name");
            self.spared = true;
        }
        self.spared
    }
}
