//! The decision rules: what kind a message is, whose conversation it belongs to, and what the
//! inbox shows of it. Applied in this order, the first that fits wins:
//!
//! 1. A forwarding confirmation (Gmail, Outlook) → `system` notice of the account; no contact.
//! 2. A delivery report or ARF feedback report → `bounce` / `feedback`; never creates a contact;
//!    joins the conversation of the original message (its Message-ID, or the reply address the
//!    report was sent to) and names the failed recipient's contact if it exists.
//! 3. An automatic answer (RFC 3834 and de-facto signals) → `auto_reply`; joins the conversation it
//!    answers; an unknown auto-replying sender creates no contact (no loops, no junk contacts).
//! 4. Bulk or list mail (List-Id, List-Unsubscribe, Precedence bulk; see `bulk`) → `bulk`; joins
//!    the sender's conversation when the sender is a contact, and creates the contact only where
//!    the account chose so (`accounts set-bulk ID contact`).
//! 5. Mail from one of the account's members (agents):
//!    - a manual forward whose original sender is found → `forward`; the contact is the original
//!      sender, the subject the original subject, the agent's note kept apart;
//!    - a forward whose original sender can't be found → `forward`, flagged `forward_unparsed`;
//!    - anything else → `message`, flagged `member`; the agent never becomes a contact.
//! 6. Everything else → `message` from the contact named by `sender::contact_mailbox`.
//!
//! A signed reply address (RCPT) tags the message with its campaign or automation, whoever answers.
//! Whatever the kind, a message whose From fails authentication is flagged `suspicious` (see
//! `verdict`), and the store keeps it out of the contact's existing conversations.

use super::verdict::Verdict;
use super::{autoreply, bounce, bulk, forward, large, notice, parse, reply_text, sender, thread};
use crate::mail::{
    AcceptedRecipient, AccountData, BounceInfo, BouncedRecipient, ContactChoice, Flag, Forwarded, Kind, Notice,
    ParsedMessage, Plan, mailbox,
};
use mail_parser::Message;
use std::cell::OnceCell;

/// One parsed message and what it says about itself, shared by the plans of all its accounts.
pub(super) struct Reader<'a> {
    mail: Option<Message<'a>>,
    message: ParsedMessage,
    notice: Option<Notice>,
    report: Option<bounce::Report>,
    auto_reply: bool,
    bulk: bool,
    /// Parsed on first need: only a member's mail is searched for a forwarded original.
    forward: OnceCell<Option<Forwarded>>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(content: &'a [u8], null_sender: bool) -> Reader<'a> {
        // A large message is read from its first window (see `large`): no decoded copy of it all.
        let view = large::window(content);
        let mail = parse::parse_mime(view).filter(|m| !m.headers().is_empty());
        let mut message = mail.as_ref().map(parse::from_message).unwrap_or_default();
        if view.len() < content.len() && message.parsed {
            message.truncated = true;
            message.attachments = large::attachments(content);
        }
        let notice = notice::forwarding_confirmation(&message);
        let report = match (&mail, &notice) {
            (Some(m), None) => bounce::classify(m, null_sender),
            _ => None,
        };
        let auto_reply = notice.is_none()
            && report.is_none()
            && mail.as_ref().is_some_and(|m| autoreply::is_auto_reply(m, null_sender));
        let bulk = notice.is_none() && report.is_none() && !auto_reply && mail.as_ref().is_some_and(bulk::is_bulk);
        Reader {
            mail,
            message,
            notice,
            report,
            auto_reply,
            bulk,
            forward: OnceCell::new(),
        }
    }

    pub(super) fn into_message(self) -> ParsedMessage {
        self.message
    }

    fn forwarded(&self) -> Option<&Forwarded> {
        self.forward
            .get_or_init(|| self.mail.as_ref().and_then(forward::parse))
            .as_ref()
    }

    pub(super) fn plan(
        &self,
        account_id: i64,
        rcpts: &[&AcceptedRecipient],
        data: &AccountData,
        verdict: Verdict,
    ) -> Plan {
        let m = &self.message;
        let mut tags: Vec<String> = rcpts.iter().filter_map(|r| r.tag.clone()).collect();
        tags.sort();
        tags.dedup();
        let origin = rcpts.iter().find_map(|r| r.reply_to.as_ref());
        let subject = m.subject.clone().unwrap_or_default();
        let mut plan = Plan {
            account_id,
            tags,
            kind: Kind::Message,
            flags: Vec::new(),
            contact: ContactChoice::None,
            thread_ids: thread::lookup_ids(&m.in_reply_to, &m.references),
            subject_key: thread::subject_key(&subject),
            subject: thread::strip_prefixes(&subject),
            campaign_id: origin.and_then(|o| o.campaign_id().map(str::to_string)),
            automation_id: origin.and_then(|o| o.automation_id().map(str::to_string)),
            reply_text: None,
            signature: None,
            forwarded_by: None,
            original: None,
            bounce: None,
            notice: None,
            verified: verdict.is_verified(),
        };
        if verdict == Verdict::Suspicious {
            plan.flags.push(Flag::Suspicious);
        }
        if !m.parsed {
            plan.flags.push(Flag::Unparsed);
        }
        if m.truncated {
            plan.flags.push(Flag::Truncated);
        }
        if m.multiple_message_ids {
            plan.flags.push(Flag::MultipleMessageIds);
        }

        if let Some(notice) = &self.notice {
            plan.kind = Kind::System;
            plan.thread_ids.clear();
            plan.notice = Some(notice.clone());
            return plan;
        }
        if let Some(report) = &self.report {
            self.plan_report(&mut plan, report);
            return plan;
        }
        (plan.reply_text, plan.signature) = new_text(self.reply_text());
        let contact = sender::contact_mailbox(m);
        if self.auto_reply {
            plan.kind = Kind::AutoReply;
            plan.contact = contact.map_or(ContactChoice::None, ContactChoice::FindExisting);
            return plan;
        }
        if self.bulk {
            plan.kind = Kind::Bulk;
            // A newsletter sender is not a lead: it joins the conversation of a contact that
            // exists, and becomes one only where the account asked for that.
            let creates = rcpts.iter().any(|r| r.bulk_contacts);
            plan.contact = match contact {
                Some(mailbox) if creates => ContactChoice::FindOrCreate(mailbox),
                Some(mailbox) => ContactChoice::FindExisting(mailbox),
                None => ContactChoice::None,
            };
            return plan;
        }
        match contact {
            Some(mailbox) if data.members.contains(&mailbox.key()) => self.plan_member(&mut plan, mailbox.email),
            Some(mailbox) => plan.contact = ContactChoice::FindOrCreate(mailbox),
            None => plan.flags.push(Flag::NoSender),
        }
        plan
    }

    fn plan_report(&self, plan: &mut Plan, report: &bounce::Report) {
        plan.kind = match report.kind {
            bounce::ReportKind::Bounce => Kind::Bounce,
            bounce::ReportKind::Feedback => Kind::Feedback,
        };
        let first = report.recipients.first();
        let nonempty = |s: &String| (!s.is_empty()).then(|| s.clone());
        plan.bounce = Some(BounceInfo {
            recipient: first.map(|r| r.recipient.clone()),
            status: first.and_then(|r| nonempty(&r.status)),
            reply_code: first.and_then(|r| nonempty(&r.reply_code)),
            reason: first.map(|r| r.reason),
            hard: first.is_some_and(|r| r.hard),
            feedback_type: report.feedback_type.clone(),
            original_message_id: report.original_message_id.clone(),
            recipients: report
                .recipients
                .iter()
                .map(|r| BouncedRecipient {
                    recipient: r.recipient.clone(),
                    status: nonempty(&r.status),
                    reply_code: nonempty(&r.reply_code),
                    reason: Some(r.reason),
                    hard: r.hard,
                })
                .collect(),
        });
        // The failed recipient is the contact we wrote to; a report never creates one.
        plan.contact = first
            .and_then(|r| mailbox(&r.recipient, None))
            .map_or(ContactChoice::None, ContactChoice::FindExisting);
        if let Some(id) = &report.original_message_id {
            plan.thread_ids.retain(|t| t != id);
            plan.thread_ids.insert(0, id.clone());
        }
    }

    fn plan_member(&self, plan: &mut Plan, member: String) {
        plan.forwarded_by = Some(member);
        let subject = self.message.subject.as_deref().unwrap_or("");
        match self.forwarded() {
            Some(original) => {
                plan.kind = Kind::Forward;
                let original_subject = original.subject.clone().unwrap_or_default();
                plan.subject = thread::strip_prefixes(&original_subject);
                plan.subject_key = thread::subject_key(&original_subject);
                // The agent's own thread headers point into the agent's mailbox, not the customer's.
                plan.thread_ids.clear();
                (plan.reply_text, plan.signature) = new_text(Some(reply_text::from_text(&original.body)));
                plan.contact = match mailbox(&original.from_email, original.from_name.as_deref()) {
                    Some(m) => ContactChoice::FindOrCreate(m),
                    None => ContactChoice::None,
                };
                plan.original = Some(original.clone());
            }
            None if forward::strip_forward_prefix(subject).is_some() => {
                plan.kind = Kind::Forward;
                plan.flags.push(Flag::ForwardUnparsed);
            }
            None => plan.flags.push(Flag::Member),
        }
    }

    /// Text parts are quoted with `>` and attribution lines; HTML-only mail with blockquotes.
    fn reply_text(&self) -> Option<String> {
        let m = &self.message;
        match (&m.text, &m.html) {
            (Some(text), _) if !m.text_from_html => Some(reply_text::from_text(text)),
            (_, Some(html)) => Some(reply_text::from_html(html)),
            (Some(text), None) => Some(reply_text::from_text(text)),
            (None, None) => None,
        }
    }
}

/// The new text without its signature, and the signature.
fn new_text(reply: Option<String>) -> (Option<String>, Option<String>) {
    match reply {
        Some(reply) => {
            let (text, signature) = reply_text::split_signature(&reply);
            (Some(text), signature)
        }
        None => (None, None),
    }
}
