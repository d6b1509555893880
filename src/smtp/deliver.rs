//! The delivery pipeline: a finished message and its envelope → the reply that ends its DATA.
//!
//! In order: the recipient accounts' data (members), sender authentication (SPF, DKIM, DMARC,
//! ARC, bounded in time), the DMARC-reject decision (`auth::policy`), our Authentication-Results
//! header (forged ones removed), `ingest::prepare` (off the async workers for large messages), the
//! store's commit, and the reply. It takes its inputs as arguments and holds no session state.
//!
//! Invariant 1 lives here: `250 … queued as` is returned only after the commit that holds the
//! message returned Ok. Any storage failure answers 451 4.3.0 (452 4.3.1 when full), and since a
//! failed commit stores nothing, the sender's retry finds a clean slate.

use super::context::Context;
use super::reply::{self, Reply};
use crate::auth::{self, AuthInput};
use crate::config::SpamFailure;
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
    /// The client is a trusted relay: no sender authentication.
    pub trusted: bool,
    /// When the transaction began (MAIL), for the log.
    pub started: Instant,
}

/// Runs the pipeline for one message; the reply says what became of it.
pub(super) async fn deliver(ctx: &Context, received: Received) -> Reply {
    let Received {
        envelope,
        mut raw,
        mut trace_len,
        recipients,
        trusted,
        started,
    } = received;
    let queue_id = envelope.queue_id.clone();
    let (size, from) = (envelope.size, envelope.mail_from.clone());
    METRICS.bytes_received.inc_by(size as u64);
    let accounts = match account_data(ctx, &recipients).await {
        Ok(accounts) => accounts,
        Err(e) => {
            tracing::error!(%queue_id, error = %e, "cannot read account data");
            return reply::STORAGE_FAILED;
        }
    };
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
        return reply::DMARC_REJECT;
    }
    // Spam: scored by rspamd (untrusted clients only), before anything is stored.
    let (spam, unscored) = match (&ctx.scanner, trusted) {
        (Some(scanner), false) => match scan(ctx, scanner, &envelope, &raw[trace_len..]).await {
            Ok(verdict) => {
                METRICS.spam_scored(verdict.action.label());
                match verdict.action {
                    SpamAction::Reject => {
                        tracing::info!(%queue_id, accounts = ?account_ids, %from, size, result = 550,
                            score = verdict.score, "message refused: spam");
                        return reply::SPAM_REJECT;
                    }
                    SpamAction::SoftReject | SpamAction::Greylist => {
                        tracing::info!(%queue_id, %from, result = 451, score = verdict.score,
                            action = verdict.action.as_str(), "message deferred by the spam filter");
                        return reply::SPAM_DEFER;
                    }
                    _ => (Some(verdict), false),
                }
            }
            Err(why) => match ctx.config.spam.on_failure {
                SpamFailure::Tempfail => {
                    tracing::warn!(%queue_id, %from, error = %why, result = 451, "spam filter unavailable: deferred");
                    return reply::SPAM_UNSCORED;
                }
                SpamFailure::Accept => {
                    tracing::warn!(%queue_id, %from, error = %why, "spam filter unavailable: filed unscored");
                    METRICS.spam_unscored.inc();
                    (None, true)
                }
            },
        },
        _ => (None, false),
    };
    trace_len = add_authentication_results(ctx, &mut raw, trace_len, auth.as_ref());
    let sealers = settings.trusted_arc_sealers.clone();
    let prepare = move || {
        let mut delivery = crate::ingest::prepare(envelope, raw, trace_len, &recipients, &accounts, auth, &sealers);
        crate::ingest::file_by_spam_verdict(&mut delivery, spam, unscored);
        delivery
    };
    let delivery = if size > PARSE_INLINE_LIMIT {
        match tokio::task::spawn_blocking(prepare).await {
            Ok(delivery) => delivery,
            Err(e) => {
                tracing::error!(%queue_id, error = %e, "message preparation failed");
                return reply::STORAGE_FAILED;
            }
        }
    } else {
        prepare()
    };
    let outcome = ctx.store.submit(delivery).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (refusal, why) = match outcome {
        Ok(committed) => {
            let duplicate = committed.iter().all(|c| c.duplicate);
            tracing::info!(%queue_id, accounts = ?account_ids, %from, size, duplicate,
                result = "250", elapsed_ms, "message accepted");
            return Reply::owned(250, "2.0.0", format!("Ok: queued as {queue_id}"));
        }
        Err(StoreError::Full(why)) => (reply::STORAGE_FULL, why),
        Err(StoreError::Failed(why)) => (reply::STORAGE_FAILED, why),
    };
    tracing::warn!(%queue_id, accounts = ?account_ids, %from, size,
        result = refusal.code, error = %why, elapsed_ms, "message not accepted");
    refusal
}

/// What planning needs of each recipient account, read once per account.
async fn account_data(
    ctx: &Context,
    recipients: &[AcceptedRecipient],
) -> Result<BTreeMap<i64, AccountData>, StoreError> {
    let mut accounts = BTreeMap::new();
    for r in recipients {
        if let std::collections::btree_map::Entry::Vacant(e) = accounts.entry(r.account_id) {
            let members = ctx.store.members(r.account_id).await?;
            e.insert(AccountData { members });
        }
    }
    Ok(accounts)
}

/// The message as received (without our trace header) and its envelope, as the checks see them.
/// rspamd's verdict on the message as received (our trace headers left out), with its envelope.
async fn scan(
    ctx: &Context,
    scanner: &crate::spam::Scanner,
    envelope: &Envelope,
    content: &[u8],
) -> Result<SpamVerdict, String> {
    let scan = crate::spam::Envelope {
        ip: envelope.client_ip,
        helo: &envelope.helo,
        mail_from: &envelope.mail_from,
        rcpts: envelope.rcpt_to.iter().map(String::as_str).collect(),
        hostname: ctx.hostname(),
        queue_id: &envelope.queue_id,
    };
    scanner.check(&scan, content.to_vec()).await
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
