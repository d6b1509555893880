//! People's decisions on filed mail, shared by the doors (CLI, HTTP API, web inbox): releasing a
//! quarantined message, marking a filed one as spam, marking one as ham. Each is one transaction
//! of the store's; rspamd's controller is taught first (`lesson`, `teach`), before anything
//! changes, so a lesson that fails leaves the message where it was and the command can simply be
//! run again.
//!
//! A release files the message as if it had just arrived: the stored bytes go through
//! `ingest::prepare` again, for the account alone, with the envelope and verdicts stored at its
//! arrival, and are committed through the delivery path (`Delivery::release`), so the contact is
//! created then (with its `contact.created` event), threading runs as for new mail, and the
//! quarantined row gives way to the filed one exactly once.

use crate::mail::{AcceptedRecipient, AccountData, AuthResult, DmarcAction, Envelope, SpamVerdict};
use crate::routing::{Route, Router};
use crate::spam::{Learned, Learner};
use crate::store::accounts::{self, Account};
use crate::store::quarantine::{self, MarkedSpam};
use crate::store::sql::Conn;
use crate::store::{StoreError, commit, messages};
use std::collections::BTreeMap;

/// What reviewing needs besides the database.
pub struct Review {
    pub router: std::sync::Arc<Router>,
    pub trusted_sealers: Vec<String>,
    pub subject_window_days: u32,
    /// Our host name (`server.hostname`): the authserv-id of our Authentication-Results.
    pub hostname: String,
    /// rspamd's controller, when `[spam] controller_url` is set.
    pub learner: Option<Learner>,
}

/// Why a decision could not be carried out.
#[derive(Debug)]
pub enum ReviewError {
    NotFound,
    /// The message is not where the decision needs it (a release of filed mail).
    NotQuarantined,
    /// The stored message cannot be filed again (its envelope did not parse).
    Unreadable(String),
    Learn(String),
    Store(StoreError),
}

impl std::fmt::Display for ReviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReviewError::NotFound => write!(f, "no such message"),
            ReviewError::NotQuarantined => write!(f, "the message is not in the quarantine"),
            ReviewError::Unreadable(why) => write!(f, "the stored message cannot be filed again: {why}"),
            ReviewError::Learn(why) => write!(f, "rspamd did not learn it (nothing was changed): {why}"),
            ReviewError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        ReviewError::Store(e)
    }
}

/// What a release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Filed as message `message_id`.
    Filed { message_id: i64 },
    /// Released before, as message `message_id` (if that one still exists).
    AlreadyReleased { message_id: Option<i64> },
}

/// What marking a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    /// rspamd learned it (None: no controller configured).
    pub learned: Option<Learned>,
    /// mark-spam: moved to the quarantine, and the contact deleted if only it had made it.
    pub moved: Option<MarkedSpam>,
    /// mark-ham of a quarantined message: its release.
    pub released: Option<Released>,
}

impl Review {
    /// Reviewing as the configuration says (`[threading]`, `[auth] trusted_arc_sealers`, `[spam]
    /// controller_url` and `controller_password_file`), with the server's router.
    pub fn from_config(config: &crate::config::Config, router: std::sync::Arc<Router>) -> Result<Review, String> {
        let spam = &config.spam;
        let learner = match &spam.controller_url {
            Some(url) => {
                let password = match &spam.controller_password_file {
                    Some(path) => std::fs::read_to_string(path)
                        .map_err(|e| format!("spam.controller_password_file {}: {e}", path.display()))?
                        .trim()
                        .to_string(),
                    None => String::new(),
                };
                let timeout = std::time::Duration::from_secs(spam.timeout_secs.max(10));
                Some(Learner::new(url, password, timeout)?)
            }
            None => None,
        };
        Ok(Review {
            router,
            trusted_sealers: config.auth.trusted_arc_sealers.clone(),
            subject_window_days: config.threading.subject_window_days,
            hostname: config.server.hostname.clone(),
            learner,
        })
    }

    /// Files quarantined message `id` as new mail, once.
    pub async fn release(&self, conn: Conn<'_>, id: i64) -> Result<Released, ReviewError> {
        let Some(message) = messages::get(conn, id).await? else {
            return match quarantine::released_as(conn, id).await? {
                Some(message_id) => Ok(Released::AlreadyReleased {
                    message_id: Some(message_id),
                }),
                None => Err(ReviewError::NotFound),
            };
        };
        if message.kind != crate::mail::Kind::Spam {
            return match quarantine::released_as(conn, id).await? {
                Some(message_id) => Ok(Released::AlreadyReleased {
                    message_id: Some(message_id),
                }),
                None => Err(ReviewError::NotQuarantined),
            };
        }
        let raw = messages::raw(conn, id).await?.ok_or(ReviewError::NotFound)?;
        let envelope: Envelope = message
            .envelope
            .clone()
            .ok_or_else(|| ReviewError::Unreadable("the stored envelope cannot be read".into()))?;
        let auth: Option<AuthResult> = message.auth.clone();
        let spam: Option<SpamVerdict> = message.spam.clone();
        let account = accounts::get(conn, message.account_id)
            .await?
            .ok_or(ReviewError::NotFound)?;
        let recipients = self.recipients(&envelope, &account);
        let data: AccountData = accounts::pipeline_data(conn, account.id).await?;
        let accounts = BTreeMap::from([(account.id, data)]);
        let trace_len = our_trace_len(&raw, &self.hostname);
        let dedupe_key = messages::dedupe_key(conn, id).await?;
        let mut delivery = crate::ingest::prepare(
            envelope,
            raw,
            trace_len,
            &recipients,
            &accounts,
            auth,
            &self.trusted_sealers,
        );
        delivery.spam = spam;
        delivery.release = Some(id);
        if let Some(key) = dedupe_key {
            delivery.dedupe_key = key;
        }
        let committed = commit::commit_one(conn, delivery, self.subject_window_days).await?;
        match committed.first() {
            Some(c) => Ok(Released::Filed {
                message_id: c.message_id,
            }),
            // Another release took it first, in the moment between our read and our commit.
            None => Ok(Released::AlreadyReleased {
                message_id: quarantine::released_as(conn, id).await?,
            }),
        }
    }

    /// What rspamd is taught of message `id`: its bytes as they arrived (our trace headers left
    /// out).
    pub async fn lesson(&self, conn: Conn<'_>, id: i64) -> Result<Vec<u8>, ReviewError> {
        let raw = messages::raw(conn, id).await?.ok_or(ReviewError::NotFound)?;
        let ours = our_trace_len(&raw, &self.hostname);
        Ok(raw[ours..].to_vec())
    }

    /// Teaches rspamd's controller that `lesson` is spam (or ham); None without a controller.
    /// Network only: run it on a runtime, not inside database work.
    pub async fn teach(&self, lesson: Vec<u8>, spam: bool) -> Result<Option<Learned>, ReviewError> {
        let Some(learner) = &self.learner else {
            return Ok(None);
        };
        learner
            .learn(spam, lesson.into())
            .await
            .map(Some)
            .map_err(ReviewError::Learn)
    }

    /// After rspamd learned message `id` as spam: moves it to the quarantine (undoing the contact
    /// only it made).
    pub async fn mark_spam(&self, conn: Conn<'_>, id: i64, learned: Option<Learned>) -> Result<Marked, ReviewError> {
        let moved = quarantine::mark_spam(conn, id).await?;
        if moved == MarkedSpam::NotFound {
            return Err(ReviewError::NotFound);
        }
        Ok(Marked {
            learned,
            moved: Some(moved),
            released: None,
        })
    }

    /// After rspamd learned message `id` as ham: releases it when it is quarantined.
    pub async fn mark_ham(&self, conn: Conn<'_>, id: i64, learned: Option<Learned>) -> Result<Marked, ReviewError> {
        let quarantined = messages::get(conn, id)
            .await?
            .is_some_and(|m| m.kind == crate::mail::Kind::Spam);
        let released = if quarantined {
            Some(self.release(conn, id).await?)
        } else {
            None
        };
        Ok(Marked {
            learned,
            moved: None,
            released,
        })
    }

    /// The message's recipients in this account, as routing resolved them at arrival (a reply
    /// address keeps its campaign; a `+tag` its tag). An address the account no longer has
    /// (rotated since) still counts as the account's.
    fn recipients(&self, envelope: &Envelope, account: &Account) -> Vec<AcceptedRecipient> {
        let ours = account.address.to_lowercase();
        let dmarc_reject = account.dmarc_reject.as_deref().and_then(DmarcAction::parse);
        let bulk_contacts = account.bulk == "contact";
        let accepted = |address: &str, tag, reply_to| AcceptedRecipient {
            address: address.to_string(),
            account_id: account.id,
            tag,
            reply_to,
            dmarc_reject,
            bulk_contacts,
        };
        let found: Vec<AcceptedRecipient> = envelope
            .rcpt_to
            .iter()
            .filter_map(|rcpt| match self.router.route(rcpt).ok()? {
                Route::Account { local, domain, tag } if format!("{local}@{domain}") == ours => {
                    Some(accepted(rcpt, tag, None))
                }
                Route::Reply { token, tag } if token.account_id == account.id => {
                    Some(accepted(rcpt, tag, Some(token.origin)))
                }
                Route::Postmaster { tag, .. } if ours.starts_with("postmaster@") => Some(accepted(rcpt, tag, None)),
                _ => None,
            })
            .collect();
        if found.is_empty() {
            vec![accepted(&account.address, None, None)]
        } else {
            found
        }
    }
}

/// The length of our own trace headers at the top of a stored message: our Received, then our
/// Authentication-Results and spam headers (the ones from outside were removed at arrival).
fn our_trace_len(raw: &[u8], hostname: &str) -> usize {
    let mut pos = 0;
    let mut first = true;
    while pos < raw.len() {
        let mut end = pos;
        loop {
            end = memchr::memchr(b'\n', &raw[end..]).map_or(raw.len(), |i| end + i + 1);
            if !matches!(raw.get(end), Some(b' ' | b'\t')) {
                break;
            }
        }
        let field = &raw[pos..end];
        let name = crate::mail::fields::field_name(field).map(<[u8]>::to_ascii_lowercase);
        let ours = match name.as_deref() {
            Some(b"received") => first,
            Some(b"x-spam-status" | b"x-spam-flag") => !first,
            Some(b"authentication-results") => !first && authserv_id(field).eq_ignore_ascii_case(hostname),
            _ => false,
        };
        if !ours {
            return pos;
        }
        first = false;
        pos = end;
    }
    pos
}

/// The authserv-id of an Authentication-Results field: the first word of its value.
fn authserv_id(field: &[u8]) -> &str {
    let value = memchr::memchr(b':', field).map_or(&[][..], |colon| &field[colon + 1..]);
    let value = std::str::from_utf8(value).unwrap_or("").trim_start();
    value
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_trace_headers_are_found_and_the_senders_kept() {
        let raw = b"Received: from a (b [1.2.3.4])\r\n\tby mx.test with ESMTP id Q1\r\n\
Authentication-Results: mx.test; spf=pass\r\nX-Spam-Status: No, score=1.00\r\n\
Authentication-Results: other.example; dkim=pass\r\nFrom: a@b.c\r\n\r\nbody";
        let len = our_trace_len(raw, "mx.test");
        assert!(raw[len..].starts_with(b"Authentication-Results: other.example"));
        assert_eq!(our_trace_len(b"From: a@b.c\r\n\r\n", "mx.test"), 0);
    }
}
