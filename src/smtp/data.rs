//! DATA and BDAT: receive the message, prepend our Received header, hand it to ingest and the
//! store, and answer only once the store has answered.
//!
//! Invariant 1 lives here: `250 … queued as` is written only after the commit that holds the
//! message returned Ok. Any storage failure answers 451 4.3.0 (452 4.3.1 when full), and since a
//! failed commit stores nothing, the sender's retry finds a clean slate.

use super::reply::{self, Reply};
use super::session::{Session, Step};
use crate::auth::{AuthInput, AuthResult};
use crate::config::DmarcAction;
use crate::ingest::{AccountData, Delivery, Envelope, verdict};
use crate::metrics::METRICS;
use crate::store::StoreError;
use std::collections::BTreeMap;

/// Messages larger than this are parsed on the blocking pool, off the async workers.
const PARSE_INLINE_LIMIT: usize = 512 * 1024;

impl Session {
    pub(super) fn data(&mut self) -> Step {
        match &self.tx {
            None => return self.refuse(&reply::BAD_SEQUENCE_MAIL),
            Some(tx) if tx.recipients.is_empty() => return self.refuse(&reply::BAD_SEQUENCE_RCPT),
            Some(_) => {}
        }
        self.start_message();
        self.queue(&reply::START_DATA);
        self.receive_data();
        Step::Continue
    }

    pub(super) fn bdat(&mut self, size: usize, last: bool) -> Step {
        let ready = self.tx.as_ref().is_some_and(|tx| !tx.recipients.is_empty());
        if ready && self.tx.as_ref().is_some_and(|tx| tx.queue_id.is_none()) {
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
        let Some(tx) = self.tx.as_ref().filter(|_| kept) else {
            let refusal = if self.tx.is_none() {
                reply::BAD_SEQUENCE_MAIL
            } else {
                reply::BAD_SEQUENCE_RCPT
            };
            return self.refuse(&refusal);
        };
        let refusal = if tx.bdat_seen > self.ctx.config.limits.max_message_size {
            Some(reply::MESSAGE_TOO_BIG)
        } else if tx.over_budget {
            Some(reply::INFLIGHT_FULL)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let seen = tx.bdat_seen;
            self.refuse_message(&refusal, seen);
            return Step::Continue;
        }
        if last {
            return Step::Deliver;
        }
        let received = tx.bdat_seen;
        self.queue(&Reply::owned(250, "2.0.0", format!("{received} octets received")));
        Step::Continue
    }

    /// Ends the transaction with a refusal of its message (too big, or no memory left for it), and
    /// logs it under the message's queue id so that one grep tells its story.
    pub(super) fn refuse_message(&mut self, refusal: &Reply, seen: usize) {
        if let Some(tx) = self.tx.take() {
            tracing::info!(queue_id = tx.queue_id.as_deref().unwrap_or(""), from = %tx.mail_from, size = seen,
                result = refusal.code, reason = %refusal.text, "message refused");
        }
        METRICS.message_reply(refusal.code);
        self.queue(refusal);
    }

    /// Assigns the queue id and writes our Received header at the start of the message buffer.
    fn start_message(&mut self) {
        let queue_id = self.ctx.next_queue_id();
        let header = self.received_header(&queue_id);
        let Some(tx) = self.tx.as_mut() else {
            return;
        };
        // A declared SIZE lets us allocate once; otherwise the buffer grows gradually (see dot.rs).
        let expected = tx.declared_size.min(self.ctx.config.limits.max_message_size);
        tx.message = Vec::with_capacity(header.len() + expected.max(4096));
        tx.message.extend_from_slice(header.as_bytes());
        tx.hold_growth(0);
        tx.trace_len = header.len();
        tx.queue_id = Some(queue_id);
    }

    /// RFC 5321 §4.4 trace header, with the TLS details of RFC 3848 style `with ESMTPS`.
    fn received_header(&self, queue_id: &str) -> String {
        let tx = self.tx.as_ref();
        let helo = self.helo.as_deref().unwrap_or("unknown");
        let ip = self.peer.ip();
        let protocol = self.protocol();
        let tls = match &self.tls {
            Some(t) => format!(" (using {t})"),
            None => String::new(),
        };
        let rcpt = match tx.map(|t| t.recipients.as_slice()) {
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
        let utf8 = self.tx.as_ref().is_some_and(|t| t.smtputf8);
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

    /// Parses, plans and commits the finished message; the reply says what became of it.
    pub(super) async fn deliver(&mut self) -> Reply {
        self.committing = true;
        self.sync_state();
        let reply = self.commit().await;
        self.committing = false;
        self.sync_state();
        METRICS.message_reply(reply.code);
        reply
    }

    async fn commit(&mut self) -> Reply {
        let protocol = self.protocol();
        let Some(tx) = self.tx.take() else {
            return reply::BAD_SEQUENCE_MAIL;
        };
        let queue_id = tx.queue_id.clone().unwrap_or_else(|| self.ctx.next_queue_id());
        let size = tx.message.len().saturating_sub(tx.trace_len);
        METRICS
            .bytes_received
            .fetch_add(size as u64, std::sync::atomic::Ordering::Relaxed);
        let envelope = Envelope {
            queue_id: queue_id.clone(),
            mail_from: tx.mail_from.clone(),
            rcpt_to: tx.recipients.iter().map(|r| r.address.clone()).collect(),
            client_ip: self.peer.ip(),
            helo: self.helo.clone().unwrap_or_default(),
            protocol,
            tls: self.tls.clone(),
            body: tx.body.clone(),
            smtputf8: tx.smtputf8,
            env_id: tx.env_id.clone(),
            received_at: crate::time::now_rfc3339(),
            size,
        };
        let mut accounts = BTreeMap::new();
        for r in &tx.recipients {
            if accounts.contains_key(&r.account_id) {
                continue;
            }
            match self.ctx.store.members(r.account_id) {
                Ok(members) => {
                    accounts.insert(r.account_id, AccountData { members });
                }
                Err(e) => {
                    tracing::error!(%queue_id, error = %e, "cannot read account data");
                    return reply::STORAGE_FAILED;
                }
            }
        }
        let (mut raw, mut trace_len, recipients) = (tx.message, tx.trace_len, tx.recipients);
        let account_ids: Vec<i64> = accounts.keys().copied().collect();
        let auth = self.authenticate(&raw[trace_len..], &tx.mail_from).await;
        if let Some(result) = &auth
            && verdict::dmarc_says_reject(result, &self.ctx.config.auth.trusted_arc_sealers)
            && self.dmarc_rejects_for_all(&recipients)
        {
            tracing::info!(%queue_id, accounts = ?account_ids, from = %tx.mail_from, size, result = 550,
                from_domain = result.from_domain.as_deref().unwrap_or(""), "message refused: DMARC policy reject");
            return reply::DMARC_REJECT;
        }
        trace_len = self.add_authentication_results(&mut raw, trace_len, auth.as_ref());
        let sealers = self.ctx.config.auth.trusted_arc_sealers.clone();
        let delivery = if raw.len() > PARSE_INLINE_LIMIT {
            let prepared = tokio::task::spawn_blocking(move || {
                Delivery::prepare(envelope, raw, trace_len, &recipients, &accounts, auth, &sealers)
            })
            .await;
            match prepared {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(%queue_id, error = %e, "message preparation failed");
                    return reply::STORAGE_FAILED;
                }
            }
        } else {
            Delivery::prepare(envelope, raw, trace_len, &recipients, &accounts, auth, &sealers)
        };
        let answer = self.ctx.store.submit(delivery).await;
        let elapsed_ms = tx.started.elapsed().as_millis() as u64;
        let result = match answer {
            Ok(Ok(committed)) => {
                self.messages += 1;
                let duplicate = committed.iter().all(|c| c.duplicate);
                tracing::info!(%queue_id, accounts = ?account_ids, from = %tx.mail_from, size, duplicate,
                    result = "250", elapsed_ms, "message accepted");
                return Reply::owned(250, "2.0.0", format!("Ok: queued as {queue_id}"));
            }
            Ok(Err(StoreError::Full(why))) => (reply::STORAGE_FULL, why),
            Ok(Err(StoreError::Failed(why))) => (reply::STORAGE_FAILED, why),
            Err(_) => (reply::STORAGE_FAILED, "the writer dropped the delivery".to_string()),
        };
        tracing::warn!(%queue_id, accounts = ?account_ids, from = %tx.mail_from, size,
            result = result.0.code, error = %result.1, elapsed_ms, "message not accepted");
        result.0
    }

    /// SPF, DKIM, DMARC and ARC, once, before the commit; None for trusted relays or when the
    /// checks are off. Time is bounded by `auth.dns_timeout_secs`.
    async fn authenticate(&self, content: &[u8], mail_from: &str) -> Option<AuthResult> {
        let verifier = self.ctx.verifier.as_ref()?;
        if self.trusted {
            return None;
        }
        let input = AuthInput {
            raw: content,
            client_ip: self.peer.ip(),
            helo: self.helo.as_deref().unwrap_or(""),
            mail_from,
            our_hostname: self.ctx.hostname(),
        };
        Some(verifier.verify(input).await)
    }

    /// `reject` unless some recipient account chose to accept: one DATA has one answer, so a
    /// message is refused only when every account it is for would refuse it.
    fn dmarc_rejects_for_all(&self, recipients: &[crate::ingest::AcceptedRecipient]) -> bool {
        let default = self.ctx.config.auth.dmarc_reject;
        recipients
            .iter()
            .all(|r| r.dmarc_reject.unwrap_or(default) == DmarcAction::Reject)
    }

    /// Removes incoming Authentication-Results that claim to be ours (forgeries) and puts our own
    /// after the Received header. Returns the new length of our trace headers.
    fn add_authentication_results(&self, raw: &mut Vec<u8>, trace_len: usize, auth: Option<&AuthResult>) -> usize {
        let hostname = self.ctx.hostname();
        if let std::borrow::Cow::Owned(clean) = crate::auth::strip_forged_results(&raw[trace_len..], hostname) {
            raw.truncate(trace_len);
            raw.extend_from_slice(&clean);
        }
        let Some(auth) = auth else {
            return trace_len;
        };
        let header = auth.authentication_results_header(hostname).into_bytes();
        let added = header.len();
        raw.splice(trace_len..trace_len, header);
        trace_len + added
    }
}
