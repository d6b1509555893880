//! What the account's sender rules and the spam filter make of a planned delivery, per account:
//! a blocked sender's plan is dropped, an allowed sender's plan is filed as planned, and every
//! other plan follows rspamd's action (quarantine: kind `spam`, no contact, no conversation).
//!
//! The delivery as a whole then gets one answer (SMTP has one reply per DATA): refused when no
//! account takes it, deferred when rspamd asked for a retry and an account would have followed
//! it, filed otherwise. A `reject` verdict that one account overrides with an allow is
//! quarantined for the others rather than dropped, so nothing acknowledged is lost.

use crate::mail::{AccountData, ContactChoice, Delivery, Flag, Kind, Plan, SenderRule, SpamAction, SpamVerdict};
use std::collections::BTreeMap;

/// The answer a screened delivery gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screening {
    /// Filed (some plans may be quarantined).
    File,
    /// Every recipient account blocks the sender: 550 5.7.1.
    Blocked,
    /// rspamd said `reject` and no account allows the sender: 550 5.7.1.
    Rejected,
    /// rspamd said `soft reject` or `greylist` for an account that does not allow the sender: 451.
    Deferred,
}

/// Screens `delivery` and records the verdict on it (`spam`, the `unscored` flag).
pub fn screen(
    delivery: &mut Delivery,
    accounts: &BTreeMap<i64, AccountData>,
    verdict: Option<SpamVerdict>,
    unscored: bool,
) -> Screening {
    let action = verdict.as_ref().map(|v| v.action);
    let envelope_from = delivery.envelope.mail_from.clone();
    let header_from = delivery.message.from.as_ref().map(|m| m.email.clone());
    let mut any_allowed = false;
    let mut any_deferred = false;
    delivery.plans.retain_mut(|plan| {
        let contact = match &plan.contact {
            ContactChoice::FindOrCreate(m) | ContactChoice::FindExisting(m) => Some(m.email.as_str()),
            ContactChoice::None => None,
        };
        let senders = [Some(envelope_from.as_str()), header_from.as_deref(), contact];
        let rule = accounts
            .get(&plan.account_id)
            .and_then(|data| data.senders.rule_for_any(senders.into_iter().flatten()));
        match rule {
            Some(SenderRule::Block) => return false,
            Some(SenderRule::Allow) => any_allowed = true,
            None => match action {
                Some(SpamAction::AddHeader | SpamAction::RewriteSubject | SpamAction::Reject) => quarantine(plan),
                Some(SpamAction::SoftReject | SpamAction::Greylist) => any_deferred = true,
                Some(SpamAction::NoAction) | None => {}
            },
        }
        if unscored {
            plan.flags.push(Flag::Unscored);
        }
        true
    });
    delivery.spam = verdict;
    if delivery.plans.is_empty() {
        Screening::Blocked
    } else if action == Some(SpamAction::Reject) && !any_allowed {
        Screening::Rejected
    } else if any_deferred {
        Screening::Deferred
    } else {
        Screening::File
    }
}

/// Files the plan in the account's quarantine: a quarantined message creates no contact and
/// joins no conversation (its notice and bounce facts are not acted on either).
pub fn quarantine(plan: &mut Plan) {
    plan.kind = Kind::Spam;
    plan.contact = ContactChoice::None;
    plan.thread_ids.clear();
    plan.notice = None;
    plan.bounce = None;
}
