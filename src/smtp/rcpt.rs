//! RCPT TO: decided at once, so nothing is ever accepted and bounced later (no backscatter).
//!
//! Our domain + an enabled account's address (or a valid signed reply address) → 250;
//! our domain + anything else → 550 5.1.1; a disabled account → 550 5.2.1; another domain → 550
//! 5.7.1 (we are never a relay); past the recipient limit → 452 4.5.3; storage trouble → 451.

use super::reply::{self, Reply};
use super::session::{Session, Step};
use crate::mail::TokenOrigin;
use crate::mail::{AcceptedRecipient, AccountRoute, SenderRule};
use crate::metrics::METRICS;
use crate::routing::{Refusal, Route};
use crate::store::{Pending, StoreError};
use smtp_proto::RcptTo;

/// A recipient whose account is being looked up.
pub(super) struct Lookup {
    address: String,
    found: Pending<Option<AccountRoute>>,
    tag: Option<String>,
    reply_to: Option<TokenOrigin>,
}

impl Session {
    pub(super) fn rcpt(&mut self, to: RcptTo<String>) -> Step {
        let Some(transaction) = self.transaction.as_ref() else {
            return self.refuse(&reply::BAD_SEQUENCE_MAIL);
        };
        if transaction.recipients.len() >= self.ctx.config.limits.max_recipients {
            // RFC 5321 §4.5.3.1.10: the client sends the rest in another transaction.
            self.queue(&reply::TOO_MANY_RECIPIENTS);
            return Step::Continue;
        }
        if !transaction.smtputf8 && !to.address.is_ascii() {
            return self.refuse(&reply::SMTPUTF8_NOT_DECLARED);
        }
        let store = &self.ctx.store;
        let (found, tag, reply_to) = match self.ctx.router.route(&to.address) {
            Err(Refusal::NotOurDomain) => return self.answer_rcpt(&to.address, Err(reply::RELAY_DENIED)),
            Err(Refusal::BadReplyToken) => return self.answer_rcpt(&to.address, Err(reply::UNKNOWN_USER)),
            Err(Refusal::BadSyntax) => return self.answer_rcpt(&to.address, Err(reply::BAD_RECIPIENT)),
            Ok(Route::Account { local, domain, tag }) => (store.find_account(&local, &domain), tag, None),
            Ok(Route::Postmaster { domain, tag }) => (store.postmaster_account(&domain), tag, None),
            Ok(Route::Reply { token, tag }) => (store.account(token.account_id), tag, Some(token.origin)),
        };
        // The account is read from the store; the session loop awaits it (see `finish_rcpt`).
        self.lookup = Some(Lookup {
            address: to.address,
            found,
            tag,
            reply_to,
        });
        Step::Lookup
    }

    /// The answer to the RCPT whose account lookup is pending.
    pub(super) async fn finish_rcpt(&mut self) -> Step {
        let Some(Lookup {
            address,
            found,
            tag,
            reply_to,
        }) = self.lookup.take()
        else {
            return Step::Continue;
        };
        let accepted = match lookup(found.await) {
            Ok(account) => self.account_data(account.id).await.map(|()| AcceptedRecipient {
                address: address.clone(),
                account_id: account.id,
                tag,
                reply_to,
                dmarc_reject: account.dmarc_reject,
                bulk_contacts: account.bulk_contacts,
            }),
            Err(refusal) => Err(refusal),
        };
        self.answer_rcpt(&address, accepted)
    }

    /// Reads the account's data into the transaction at its first recipient, and refuses the
    /// recipient when the account blocks the envelope sender.
    async fn account_data(&mut self, account_id: i64) -> Result<(), Reply> {
        let known = self.transaction.as_ref().map(|t| t.accounts.contains_key(&account_id));
        if known == Some(false) {
            let data = self.ctx.store.account_data(account_id).await.map_err(|e| {
                tracing::error!(error = %e, "account data lookup failed");
                reply::LOOKUP_FAILED
            })?;
            if let Some(transaction) = self.transaction.as_mut() {
                transaction.accounts.insert(account_id, data);
            }
        }
        let Some(transaction) = self.transaction.as_ref() else {
            return Err(reply::BAD_SEQUENCE_MAIL);
        };
        let blocked = transaction
            .accounts
            .get(&account_id)
            .is_some_and(|data| data.senders.rule_for(&transaction.mail_from) == Some(SenderRule::Block));
        if blocked {
            return Err(reply::SENDER_BLOCKED);
        }
        Ok(())
    }

    fn answer_rcpt(&mut self, address: &str, accepted: Result<AcceptedRecipient, Reply>) -> Step {
        METRICS.recipient_reply(accepted.as_ref().map_or_else(|r| r.code, |_| 250));
        match accepted {
            Ok(recipient) => {
                if let Some(transaction) = self.transaction.as_mut() {
                    transaction.recipients.push(recipient);
                }
                self.queue(&reply::RECIPIENT_OK);
                Step::Continue
            }
            Err(refusal) if refusal.code >= 500 => {
                tracing::info!(peer = %self.peer.ip(), rcpt = %address, code = refusal.code, "recipient refused");
                self.refuse(&refusal)
            }
            Err(temporary) => {
                self.queue(&temporary);
                Step::Continue
            }
        }
    }
}

fn lookup(found: Result<Option<AccountRoute>, StoreError>) -> Result<AccountRoute, Reply> {
    match found {
        Ok(Some(account)) if account.enabled => Ok(account),
        Ok(Some(_)) => Err(reply::ACCOUNT_DISABLED),
        Ok(None) => Err(reply::UNKNOWN_USER),
        Err(e) => {
            tracing::error!(error = %e, "account lookup failed");
            Err(reply::LOOKUP_FAILED)
        }
    }
}
