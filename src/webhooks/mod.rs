//! Signed webhooks: the inbox application told of every event, at least once, never before the
//! event's commit. A door beside the CLI and the HTTP API: it reads the durable event log and
//! writes only its own outbox (`store::webhooks`), so SMTP acceptance never waits for it.
//!
//! One task per host loops: fan out new events to the endpoints' deliveries ([`payload`] builds
//! each body once), claim due deliveries under a lease, send them concurrently (at most
//! [`MAX_IN_FLIGHT`], each signed as Standard Webhooks says: [`sign`]), and record the outcomes
//! in batches. A 2xx is done; `410 Gone` disables the endpoint; anything else is retried after
//! the next delay of `[webhooks] retry_schedule_secs` (±10 % jitter), and after the last it is
//! `failed`. Memory is bounded by the in-flight window whatever the backlog: pending deliveries
//! wait in the database.

pub mod guard;
pub mod payload;
pub mod send;
pub mod sign;

use crate::config::WebhooksConfig;
use crate::store::events::{self, Event};
use crate::store::sql::Conn;
use crate::store::webhooks::{self as outbox, Claimed, EVENT_TYPES, Endpoint, NewDelivery, Outcome};
use crate::store::{Db, StoreError, accounts};
use send::{Answer, Sender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Sends in flight from one host at once.
pub const MAX_IN_FLIGHT: usize = 128;
/// Events fanned out per endpoint per round.
const FAN_OUT_BATCH: i64 = 500;
/// How often an idle sender looks for due retries and answers.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// How often it looks for new events (they may come from any host).
const FAN_OUT_EVERY: Duration = Duration::from_millis(100);
/// After one answer comes back, how long the sender waits for others to record them together.
const GATHER: Duration = Duration::from_millis(4);
/// A claimed delivery is another host's to send again this long after its timeout, should this
/// host die with it in flight.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

pub struct Dispatcher {
    db: Db,
    /// The name leases are taken in: `server.hostname` (each host of a cluster has its own).
    host: String,
    sender: Arc<Sender>,
    schedule: Vec<u64>,
    lease_ms: i64,
}

impl Dispatcher {
    pub fn new(db: Db, host: &str, config: &WebhooksConfig) -> Result<Dispatcher, String> {
        let timeout = Duration::from_secs(config.timeout_secs);
        if let Db::Sqlite(conn) = &db {
            // Its own connection: commits that need not wait for the disk (see
            // `record_and_claim`), and no checkpoints of its own (the store's checkpointer runs them).
            let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.pragma_update(None, "synchronous", "NORMAL")
                .and_then(|()| conn.pragma_update(None, "wal_autocheckpoint", 0))
                .map_err(|e| format!("webhooks: {e}"))?;
        }
        Ok(Dispatcher {
            db,
            host: host.to_string(),
            sender: Arc::new(Sender::new(timeout, config.allow_private)?),
            schedule: config.retry_schedule_secs.clone(),
            lease_ms: (timeout + LEASE_MARGIN).as_millis() as i64,
        })
    }

    /// Runs until `stop` turns true, then records what is in flight and returns.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut in_flight: JoinSet<(Claimed, Outcome)> = JoinSet::new();
        let mut done: Vec<(Claimed, Outcome)> = Vec::new();
        let mut failing = false;
        let host = self.host.clone();
        match self
            .db
            .run(move |c| Box::pin(async move { outbox::release_leases(c, &host).await }))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deliveries = n,
                "webhooks: sending again what was in flight when this host stopped"
            ),
            Err(e) => failing = log_once(failing, &e),
        }
        let mut fanned_at = tokio::time::Instant::now() - FAN_OUT_EVERY;
        while !*stop.borrow() {
            let mut busy = false;
            // New events are looked for every FAN_OUT_EVERY, at once again while there are more.
            if fanned_at.elapsed() >= FAN_OUT_EVERY {
                fanned_at = tokio::time::Instant::now();
                match self.fan_out().await {
                    Ok(n) if n > 0 => {
                        busy = true;
                        fanned_at -= FAN_OUT_EVERY;
                    }
                    Ok(_) => {}
                    Err(e) => failing = log_once(failing, &e),
                }
            }
            while let Some(Ok(result)) = in_flight.try_join_next() {
                done.push(result);
            }
            // What came back is recorded and the freed room claimed in one transaction.
            let room = MAX_IN_FLIGHT - in_flight.len();
            match self.record_and_claim(std::mem::take(&mut done), room).await {
                Ok(claimed) => {
                    busy |= !claimed.is_empty();
                    for delivery in claimed {
                        let sender = Arc::clone(&self.sender);
                        let schedule = self.schedule.clone();
                        in_flight.spawn(async move {
                            let answer = sender.send(&delivery).await;
                            let outcome = outcome(answer, delivery.attempts, &schedule);
                            (delivery, outcome)
                        });
                    }
                    failing = false;
                }
                // Not recorded: the leases run out and the deliveries are sent again.
                Err(e) => failing = log_once(failing, &e),
            }
            if busy && in_flight.is_empty() {
                continue;
            }
            tokio::select! {
                Some(Ok(result)) = in_flight.join_next(), if !in_flight.is_empty() => {
                    done.push(result);
                    // Answers that come back together are recorded together.
                    tokio::time::sleep(GATHER).await;
                }
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = stop.changed() => {}
            }
        }
        // Stopping: what is in flight may finish within a short grace; the rest is sent again
        // once its lease runs out.
        let grace = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(grace);
        loop {
            tokio::select! {
                next = in_flight.join_next() => match next {
                    Some(Ok(result)) => done.push(result),
                    Some(Err(_)) => {}
                    None => break,
                },
                _ = &mut grace => break,
            }
        }
        if !done.is_empty()
            && let Err(e) = self.record_and_claim(done, 0).await
        {
            tracing::warn!(error = %e, "webhooks: outcomes not recorded at shutdown (they will be sent again)");
        }
    }

    /// Fans new events out to the endpoints that are behind; the number of deliveries made.
    async fn fan_out(&self) -> Result<usize, StoreError> {
        let behind = self
            .db
            .run(|c| {
                Box::pin(async move {
                    let newest = events::newest(c).await?;
                    let endpoints = outbox::endpoints_behind(c, newest).await?;
                    let mut work = Vec::new();
                    for endpoint in endpoints {
                        let events = events::list(c, endpoint.cursor, endpoint.account_id, FAN_OUT_BATCH).await?;
                        // Every event up to `newest` was committed before it was read (ids follow
                        // commit order), so a short page means the endpoint has seen all of them.
                        let to = match events.last() {
                            Some(last) if events.len() as i64 == FAN_OUT_BATCH => last.id,
                            Some(last) => last.id.max(newest),
                            None => newest,
                        };
                        // Built together: PostgreSQL pipelines the reads of all of them.
                        let wanted: Vec<&Event> = events.iter().filter(|e| wanted(&endpoint.events, &e.kind)).collect();
                        let bodies =
                            futures_util::future::try_join_all(wanted.iter().map(|e| payload::build(c, e))).await?;
                        let deliveries: Vec<NewDelivery> = wanted
                            .iter()
                            .zip(bodies)
                            .map(|(event, body)| NewDelivery {
                                event_id: event.id,
                                event_type: event.kind.clone(),
                                ordering_key: payload::ordering_key(event),
                                payload: body.to_string(),
                            })
                            .collect();
                        work.push((endpoint.id, (endpoint.cursor, to), deliveries));
                    }
                    Ok(work)
                })
            })
            .await?;
        if behind.is_empty() {
            return Ok(0);
        }
        self.db
            .transaction(move |c| {
                Box::pin(async move {
                    relaxed(c).await?;
                    let (now_ms, now) = (crate::time::unix_millis(), crate::time::now_rfc3339());
                    let mut made = 0;
                    for (endpoint, range, deliveries) in &behind {
                        if outbox::fan_out(c, *endpoint, *range, deliveries, now_ms, &now).await? {
                            made += deliveries.len();
                        }
                    }
                    Ok(made)
                })
            })
            .await
    }

    /// Records `done` and claims up to `room` due deliveries, in one transaction. Its commit need
    /// not wait for the disk: losing the last outcomes to a crash only sends those again (with the
    /// same ids), which at-least-once allows, and the events themselves are durable already.
    async fn record_and_claim(&self, done: Vec<(Claimed, Outcome)>, room: usize) -> Result<Vec<Claimed>, StoreError> {
        if done.is_empty() && room == 0 {
            return Ok(Vec::new());
        }
        // Nothing to record and nothing due: no write transaction (on SQLite it would take the
        // write lock from the SMTP side's commits ten times a second for nothing).
        if done.is_empty() {
            let now_ms = crate::time::unix_millis();
            if !self.db.run(move |c| Box::pin(outbox::any_due(c, now_ms))).await? {
                return Ok(Vec::new());
            }
        }
        for (delivery, outcome) in &done {
            match outcome {
                Outcome::Delivered { .. } => {}
                Outcome::Gone => {
                    tracing::warn!(endpoint = delivery.endpoint_id, url = %delivery.url, "webhooks: the endpoint answered 410 Gone; disabled")
                }
                Outcome::Retry {
                    error,
                    next_attempt_ms: None,
                    ..
                } => {
                    tracing::warn!(endpoint = delivery.endpoint_id, event = delivery.event_id, %error, "webhooks: delivery failed for good (replayable)")
                }
                Outcome::Retry { error, .. } => {
                    tracing::debug!(endpoint = delivery.endpoint_id, event = delivery.event_id, %error, "webhooks: attempt failed; will retry")
                }
            }
        }
        let (lease_ms, host) = (self.lease_ms, self.host.clone());
        self.db
            .transaction(move |c| {
                Box::pin(async move {
                    relaxed(c).await?;
                    if !done.is_empty() {
                        outbox::finish(c, &done, &crate::time::now_rfc3339()).await?;
                    }
                    if room == 0 {
                        return Ok(Vec::new());
                    }
                    outbox::claim(c, &host, crate::time::unix_millis(), lease_ms, room as i64).await
                })
            })
            .await
    }
}

/// Makes the sender's own transaction commit without waiting for the disk (see
/// [`Dispatcher::record_and_claim`]): on PostgreSQL for this transaction; SQLite's connection is
/// the sender's alone and is set so when it is opened.
async fn relaxed(c: Conn<'_>) -> Result<(), StoreError> {
    match c.dialect() {
        crate::store::sql::Dialect::Postgres => c.batch("SET LOCAL synchronous_commit TO OFF").await,
        crate::store::sql::Dialect::Sqlite => Ok(()),
    }
}

/// Adds an endpoint after checking what was asked (the URL by [`guard::check_url`], the event
/// types, the account): the endpoint and its signing secret, or the sentence that says why not.
/// The CLI and the API add endpoints through this one door.
pub async fn add_endpoint(
    conn: Conn<'_>,
    account_id: Option<i64>,
    url: &str,
    events: Option<&[String]>,
    allow_private: bool,
) -> Result<Result<(Endpoint, String), String>, StoreError> {
    if let Err(why) = guard::check_url(url, allow_private) {
        return Ok(Err(why));
    }
    for e in events.into_iter().flatten() {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Ok(Err(format!(
                "unknown event type `{e}` (known: {})",
                EVENT_TYPES.join(", ")
            )));
        }
    }
    if events.is_some_and(|e| e.is_empty()) {
        return Ok(Err(
            "an empty event list receives nothing; leave it out for every event".into(),
        ));
    }
    if let Some(id) = account_id
        && !accounts::exists(conn, id).await?
    {
        return Ok(Err(format!("no account {id}")));
    }
    let secret = sign::new_secret();
    let endpoint = outbox::add_endpoint(conn, account_id, url, events, &secret, &crate::time::now_rfc3339()).await?;
    Ok(Ok((endpoint, secret)))
}

/// Whether an endpoint subscribed to `kind` (no list: every event).
fn wanted(events: &Option<Vec<String>>, kind: &str) -> bool {
    events.as_ref().is_none_or(|list| list.iter().any(|e| e == kind))
}

/// What an answer means for the delivery, after `attempts` earlier attempts.
fn outcome(answer: Answer, attempts: i64, schedule: &[u64]) -> Outcome {
    let (status, error) = match answer {
        Answer::Status(status @ 200..=299) => return Outcome::Delivered { status },
        Answer::Status(410) => return Outcome::Gone,
        Answer::Status(status) => (Some(status), format!("the endpoint answered {status}")),
        Answer::Failed(why) => (None, why),
    };
    let next_attempt_ms = schedule.get(attempts as usize).map(|&delay| {
        let mut jitter = [0u8; 2];
        let _ = getrandom::fill(&mut jitter);
        // 0.9 to 1.1 times the delay: retries of many deliveries do not arrive in one burst.
        let factor = 0.9 + 0.2 * f64::from(u16::from_le_bytes(jitter)) / f64::from(u16::MAX);
        crate::time::unix_millis() + (delay as f64 * 1000.0 * factor) as i64
    });
    Outcome::Retry {
        status,
        error,
        next_attempt_ms,
    }
}

/// Logs a database failure once per spell of failures (a database that is away is reported by
/// `/healthz` and the SMTP side; the sender just waits for it).
fn log_once(already: bool, e: &StoreError) -> bool {
    if !already {
        tracing::warn!(error = %e, "webhooks: the database failed; retrying");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_outcomes() {
        let schedule = [5, 300];
        assert!(matches!(
            outcome(Answer::Status(204), 0, &schedule),
            Outcome::Delivered { status: 204 }
        ));
        assert!(matches!(outcome(Answer::Status(410), 0, &schedule), Outcome::Gone));
        let now = crate::time::unix_millis();
        match outcome(Answer::Status(500), 0, &schedule) {
            Outcome::Retry {
                status: Some(500),
                next_attempt_ms: Some(at),
                ..
            } => {
                assert!((now + 4_400..=now + 5_600).contains(&at), "{}", at - now)
            }
            _ => panic!("a 500 is retried"),
        }
        match outcome(Answer::Failed("refused".into()), 1, &schedule) {
            Outcome::Retry {
                next_attempt_ms: Some(at),
                ..
            } => assert!(at >= now + 269_000),
            _ => panic!("a refused connection is retried"),
        }
        assert!(matches!(
            outcome(Answer::Status(503), 2, &schedule),
            Outcome::Retry {
                next_attempt_ms: None,
                ..
            }
        ));
    }
}
