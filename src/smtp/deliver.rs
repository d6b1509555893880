//! The delivery pipeline: a finished message and its envelope → the reply that ends its DATA.
//!
//! In order: sender authentication (SPF, DKIM, DMARC, ARC, bounded in time), the DMARC-reject
//! decision (`auth::policy`), our Authentication-Results header (forged ones removed), the spam
//! headers that came from outside removed, rspamd's verdict and our `X-Spam-Status`,
//! `ingest::prepare` (off the async workers for large messages) and `ingest::screening` (the
//! account's sender rules and the verdict), the store's commit, and the reply. It takes its inputs as arguments and holds no session state.
//!
//! Invariant 1 lives here: `250 … queued as` is returned only after the commit that holds the
//! message returned Ok. Any storage failure answers 451 4.3.0 (452 4.3.1 when full), and since a
//! failed commit stores nothing, the sender's retry finds a clean slate.

use super::context::Context;
use super::reply::{self, Reply};
use crate::activity::{ACTIVITY, Outcome};
use crate::auth::{self, AuthInput};
use crate::config::SpamFailure;
use crate::ingest::screening::{self, Screening};
use crate::mail::{AcceptedRecipient, AccountData, AuthResult, Envelope, SpamAction, SpamVerdict};
use crate::metrics::METRICS;
use crate::store::StoreError;
use std::collections::BTreeMap;
use std::time::Instant;

/// Messages larger than this are parsed on the blocking pool, off the async workers.
const PARSE_INLINE_LIMIT: usize = 512 * 1024;

/// A message as the session finished receiving it.
pub(super) struct Received {
    pub envelope: Envelope,
    /// Our Received header (`trace_len` bytes), then the message as received.
    pub raw: Vec<u8>,
    pub trace_len: usize,
    pub recipients: Vec<AcceptedRecipient>,
    /// What planning needs of each recipient account, read at RCPT.
    pub accounts: BTreeMap<i64, AccountData>,
    /// The client is a trusted relay: no sender authentication.
    pub trusted: bool,
    /// When the transaction began (MAIL), for the log.
    pub started: Instant,
}

/// Runs the pipeline for one message; the reply says what became of it (and the activity chart
/// counts it).
pub(super) async fn deliver(ctx: &Context, received: Received) -> Reply {
    let (reply, quarantined) = pipeline(ctx, received).await;
    ACTIVITY.record(match reply.code {
        250 if quarantined => Outcome::Quarantined,
        250 => Outcome::Accepted,
        code => Outcome::Refused(code),
    });
    reply
}

/// The pipeline; the reply, and whether the message went to the quarantine of every account.
async fn pipeline(ctx: &Context, received: Received) -> (Reply, bool) {
    let Received {
        envelope,
        mut raw,
        mut trace_len,
        recipients,
        accounts,
        trusted,
        started,
    } = received;
    let queue_id = envelope.queue_id.clone();
    let (size, from) = (envelope.size, envelope.mail_from.clone());
    METRICS.bytes_received.inc_by(size as u64);
    let account_ids: Vec<i64> = accounts.keys().copied().collect();
    let auth = match (&ctx.verifier, trusted) {
        (Some(verifier), false) => Some(verifier.verify(auth_input(ctx, &envelope, &raw[trace_len..])).await),
        _ => None,
    };
    let settings = &ctx.config.auth;
    if let Some(result) = &auth
        && auth::policy::refuses(
            result,
            &settings.trusted_arc_sealers,
            settings.dmarc_reject,
            &recipients,
        )
    {
        tracing::info!(%queue_id, accounts = ?account_ids, %from, size, result = 550,
            from_domain = result.from_domain.as_deref().unwrap_or(""), "message refused: DMARC policy reject");
        return (reply::DMARC_REJECT, false);
    }
    trace_len = add_authentication_results(ctx, &mut raw, trace_len, auth.as_ref());
    if !trusted {
        strip_spam_headers(&mut raw, trace_len);
    }
    // Spam: scored by rspamd (untrusted clients only), before anything is stored.
    let (spam, unscored) = match (&ctx.scanner, trusted) {
        (Some(scanner), false) => {
            let (scanned, back) = scan(ctx, scanner, &envelope, raw, trace_len).await;
            raw = back;
            match scanned {
                Ok(verdict) => {
                    METRICS.spam_scored(verdict.action.label());
                    (Some(verdict), false)
                }
                Err(why) => match ctx.config.spam.on_failure {
                    SpamFailure::Tempfail => {
                        tracing::warn!(%queue_id, %from, error = %why, result = 451, "spam filter unavailable: deferred");
                        return (reply::SPAM_UNSCORED, false);
                    }
                    SpamFailure::Accept => {
                        tracing::warn!(%queue_id, %from, error = %why, "spam filter unavailable: filed unscored");
                        METRICS.spam_unscored.inc();
                        (None, true)
                    }
                },
            }
        }
        _ => (None, false),
    };
    // Without sender rules, rspamd's refusals need no parse: answered at once.
    let rules = accounts.values().any(|a| !a.senders.is_empty());
    if !rules && let Some(refusal) = spam.as_ref().and_then(|v| refusal(v.action)) {
        log_spam_refusal(&queue_id, &account_ids, &from, size, spam.as_ref(), &refusal);
        return (refusal, false);
    }
    if spam.is_some() || unscored {
        let header = crate::spam::status_header(spam.as_ref(), unscored);
        raw.splice(trace_len..trace_len, header.bytes());
        trace_len += header.len();
    }
    let sealers = settings.trusted_arc_sealers.clone();
    let index = ctx.config.search.index;
    let prepare = move || {
        let mut delivery = crate::ingest::prepare(envelope, raw, trace_len, &recipients, &accounts, auth, &sealers);
        let screening = screening::screen(&mut delivery, &accounts, spam, unscored);
        if screening == Screening::File {
            // Compressed and indexed here, on this session's thread, not in the commit.
            crate::store::pack::pack(&mut delivery, index);
        }
        (delivery, screening)
    };
    let (delivery, screening) = if size > PARSE_INLINE_LIMIT {
        match tokio::task::spawn_blocking(prepare).await {
            Ok(prepared) => prepared,
            Err(e) => {
                tracing::error!(%queue_id, error = %e, "message preparation failed");
                return (reply::STORAGE_FAILED, false);
            }
        }
    } else {
        prepare()
    };
    let refusal = match screening {
        Screening::File => None,
        Screening::Blocked => Some(reply::SENDER_BLOCKED),
        Screening::Rejected => Some(reply::SPAM_REJECT),
        Screening::Deferred => Some(reply::SPAM_DEFER),
    };
    if let Some(refusal) = refusal {
        if screening == Screening::Blocked {
            tracing::info!(%queue_id, accounts = ?account_ids, %from, size, result = 550, "message refused: sender blocked");
        } else {
            log_spam_refusal(&queue_id, &account_ids, &from, size, delivery.spam.as_ref(), &refusal);
        }
        return (refusal, false);
    }
    let quarantined = delivery.plans.iter().all(|p| p.kind == crate::mail::Kind::Spam);
    let outcome = ctx.store.submit(delivery).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (refusal, why) = match outcome {
        Ok(committed) => {
            let duplicate = committed.iter().all(|c| c.duplicate);
            tracing::info!(%queue_id, accounts = ?account_ids, %from, size, duplicate,
                result = "250", elapsed_ms, "message accepted");
            return (
                Reply::owned(250, "2.0.0", format!("Ok: queued as {queue_id}")),
                quarantined,
            );
        }
        Err(StoreError::Full(why)) => (reply::STORAGE_FULL, why),
        Err(StoreError::Failed(why)) => (reply::STORAGE_FAILED, why),
    };
    tracing::warn!(%queue_id, accounts = ?account_ids, %from, size,
        result = refusal.code, error = %why, elapsed_ms, "message not accepted");
    (refusal, false)
}

/// rspamd's verdict on the message (after our trace headers) with its envelope. The bytes are
/// lent to the request, not copied, and handed back.
async fn scan(
    ctx: &Context,
    scanner: &crate::spam::Scanner,
    envelope: &Envelope,
    raw: Vec<u8>,
    trace_len: usize,
) -> (Result<SpamVerdict, String>, Vec<u8>) {
    let scan = crate::spam::Envelope {
        ip: envelope.client_ip,
        helo: &envelope.helo,
        mail_from: &envelope.mail_from,
        rcpts: envelope.rcpt_to.iter().map(String::as_str).collect(),
        hostname: ctx.hostname(),
        queue_id: &envelope.queue_id,
    };
    let shared = bytes::Bytes::from(raw);
    let verdict = scanner.check(&scan, shared.slice(trace_len..)).await;
    // The request is over and dropped its handle, so this takes the buffer back without a copy.
    (verdict, Vec::from(shared))
}

/// rspamd's refusals: `reject` → 550, `soft reject` and `greylist` → 451.
fn refusal(action: SpamAction) -> Option<Reply> {
    match action {
        SpamAction::Reject => Some(reply::SPAM_REJECT),
        SpamAction::SoftReject | SpamAction::Greylist => Some(reply::SPAM_DEFER),
        _ => None,
    }
}

fn log_spam_refusal(
    queue_id: &str,
    accounts: &[i64],
    from: &str,
    size: usize,
    spam: Option<&SpamVerdict>,
    refusal: &Reply,
) {
    let (score, action) = spam.map_or((0.0, ""), |v| (v.score, v.action.as_str()));
    tracing::info!(%queue_id, ?accounts, %from, size, result = refusal.code, score, action,
        "message refused by the spam filter");
}

/// Removes the spam headers that came from outside (after our trace headers).
fn strip_spam_headers(raw: &mut Vec<u8>, trace_len: usize) {
    if let std::borrow::Cow::Owned(clean) = crate::spam::strip_incoming(&raw[trace_len..]) {
        raw.truncate(trace_len);
        raw.extend_from_slice(&clean);
    }
}

fn auth_input<'a>(ctx: &'a Context, envelope: &'a Envelope, content: &'a [u8]) -> AuthInput<'a> {
    AuthInput {
        raw: content,
        client_ip: envelope.client_ip,
        helo: &envelope.helo,
        mail_from: &envelope.mail_from,
        our_hostname: ctx.hostname(),
    }
}

/// Removes incoming Authentication-Results that claim our administrative domain (forgeries: our
/// host name, a domain we receive for, or a subdomain) and puts our own after the Received header.
/// Returns the new length of our trace headers.
fn add_authentication_results(ctx: &Context, raw: &mut Vec<u8>, trace_len: usize, auth: Option<&AuthResult>) -> usize {
    let hostname = ctx.hostname();
    if let std::borrow::Cow::Owned(clean) = auth::strip_forged_results(&raw[trace_len..], &ctx.our_domains) {
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
