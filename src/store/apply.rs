//! Executes a delivery's plans inside the group commit's transaction: dedupe, contact,
//! conversation, message row, search entry, notices, bounce status. Everything one delivery
//! writes happens here, in one savepoint; its events and its counts are handed back to be written
//! at the end of the batch.

use super::accounts::Counts;
use super::conversations::{kinds_of, subject_of};
use super::events::NewEvent;
use super::messages::{self, NewRow, Placement, RawRef};
use super::participants;
use super::search::{self, Scope};
use super::sql::{Conn, Dialect, args};
use super::{Committed, StoreError, raw};
use crate::mail::{ContactChoice, Delivery, Kind, Mailbox, Plan, Stored, email_key};
use serde_json::json;

// The lookups run for every message. Each must use its index (see the query-plan test below): a
// scan would make each message slower than the last as the database grows. SQLite is told which
// (INDEXED BY); PostgreSQL is shown: the conversation lookups order by the contact index's own
// columns (equal in every row they return, so the order is the same), which only that index gives
// without a sort, so its planner picks it even before statistics exist on a new database.
/// What a message's first statement learns, by lookups in one statement: is it stored already (its
/// dedupe key), its contact (by address), and the contact's conversation of the same subject active
/// since `?5` (the subject rule's answer, read now and used only if the rules get that far; `?4`
/// NULL when the rule is off).
const FIRST_FACTS: &str = "SELECT (SELECT id FROM messages WHERE account_id = ?1 AND dedupe_key = ?2) AS existing,
    (SELECT id FROM contacts WHERE account_id = ?1 AND email_key = ?3) AS contact,
    (SELECT verified FROM contacts WHERE account_id = ?1 AND email_key = ?3) AS verified,
    (SELECT name IS NULL FROM contacts WHERE account_id = ?1 AND email_key = ?3) AS unnamed,
    (SELECT c.id FROM conversations AS c INDEXED BY conversations_by_contact WHERE c.account_id = ?1
     AND c.contact_id = (SELECT id FROM contacts WHERE account_id = ?1 AND email_key = ?3)
     AND c.subject_key = ?4 AND c.last_message_at >= ?5
     ORDER BY c.account_id DESC, c.contact_id DESC, c.subject_key DESC, c.last_message_at DESC LIMIT 1)
     AS same_subject";
/// The conversation of the message a thread header names, its contact, whom that message was
/// addressed to, and whether the sender (`?3`) is a participant already.
const THREAD_BY_MESSAGE_ID: &str = "SELECT c.id AS conversation, c.contact_id AS owner, m.to_json, m.cc_json,
    EXISTS (SELECT 1 FROM conversation_participants p WHERE p.conversation_id = c.id AND p.email_key = ?3) AS participant
    FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.account_id = ?1 AND m.dedupe_key = 'mid:' || ?2 LIMIT 1";
const SENT_MESSAGE: &str = "SELECT contact_email, cc_json, campaign_id, automation_id FROM sent_messages
    WHERE account_id = ?1 AND message_id = ?2";
const CONTACT_BY_KEY: &str = "SELECT id FROM contacts WHERE account_id = ?1 AND email_key = ?2";
const CONVERSATION_BY_ORIGIN: &str = "SELECT id FROM conversations INDEXED BY conversations_by_contact WHERE account_id = ?1 AND contact_id = ?2 AND ((campaign_id = ?3 AND ?3 IS NOT NULL) OR (automation_id = ?4 AND ?4 IS NOT NULL)) ORDER BY account_id DESC, contact_id DESC, last_message_at DESC LIMIT 1";
const LATEST_CONVERSATION: &str = "SELECT id FROM conversations INDEXED BY conversations_by_contact WHERE account_id = ?1 AND contact_id = ?2 ORDER BY account_id DESC, contact_id DESC, last_message_at DESC, id DESC LIMIT 1";

/// What one delivery did, beside its rows: the answer for each account, its events and what it
/// adds to the accounts' counts (both written at the end of the batch).
#[derive(Debug, Default)]
pub(super) struct Applied {
    pub committed: Vec<Committed>,
    pub events: Vec<NewEvent>,
    pub counts: Vec<(i64, Counts)>,
    /// What the search index gets (written with the batch's events).
    pub search: Vec<search::Entry>,
}

/// The stored form of a delivery: packed where it was received, or here (a release from a door,
/// a test).
fn stored(d: &Delivery) -> std::borrow::Cow<'_, Stored> {
    match &d.stored {
        Some(stored) => std::borrow::Cow::Borrowed(stored),
        None => std::borrow::Cow::Owned(super::pack::stored(d, true)),
    }
}

pub(super) async fn apply(conn: Conn<'_>, d: &Delivery, now: &str, window_days: u32) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let mut raw_id: Option<i64> = None;
    let stored = stored(d);
    if let Some(quarantined) = d.release {
        // A release: the quarantined row gives way to the message filed anew, in this transaction,
        // and its raw bytes are kept. Once only: a second release finds no quarantined row. Its
        // dedupe key steps aside first (so the new row is not taken for a retry of it), and the
        // row goes after the new one is written (so the new one gets a new id on SQLite too).
        match conn
            .query_opt(
                "UPDATE messages SET dedupe_key = 'released:' || dedupe_key WHERE id = ?1 AND kind = 'spam'
                 RETURNING raw_id, account_id",
                args![quarantined],
            )
            .await?
        {
            Some(row) => {
                raw_id = Some(row.named("raw_id")?);
                applied.counts.push((
                    row.named("account_id")?,
                    Counts {
                        messages: 0,
                        quarantined: -1,
                    },
                ));
            }
            None => return Ok(applied),
        }
    }
    for plan in &d.plans {
        let contact_key = match &plan.contact {
            ContactChoice::FindOrCreate(m) | ContactChoice::FindExisting(m) => Some(m.key()),
            ContactChoice::None => None,
        };
        let subject_rule = window_days > 0 && !plan.subject_key.is_empty();
        let cutoff = crate::time::rfc3339(crate::time::unix_now() - i64::from(window_days) * 86_400);
        let facts = conn
            .query_opt(
                FIRST_FACTS,
                args![
                    plan.account_id,
                    d.dedupe_key,
                    contact_key,
                    subject_rule.then_some(plan.subject_key.as_str()),
                    cutoff
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Failed("no answer to the first lookup".into()))?;
        let known_contact = match facts.named::<Option<i64>>("contact")? {
            Some(id) => Some(KnownContact {
                id,
                verified: facts.named("verified")?,
                unnamed: facts.named("unnamed")?,
            }),
            None => None,
        };
        if let Some(existing) = facts.named::<Option<i64>>("existing")? {
            applied.committed.push(Committed {
                account_id: plan.account_id,
                message_id: existing,
                duplicate: true,
            });
            continue;
        }
        // The raw bytes are shared by the accounts of one delivery (and by identical bytes): written
        // once, on first need. Independent statements go out together (PostgreSQL pipelines them
        // on the connection, in order; SQLite runs them one after the other): one round trip, not
        // two. On PostgreSQL the first account's message row writes the raw bytes in the same
        // statement.
        let raw = async {
            match (raw_id, conn.dialect()) {
                (Some(id), _) => Ok(RawRef::Stored(id)),
                (None, Dialect::Postgres) => Ok(RawRef::Insert(&stored.raw)),
                (None, Dialect::Sqlite) => raw::store(conn, &stored.raw).await.map(RawRef::Stored),
            }
        };
        let contact_was_known = known_contact.is_some();
        let mut new_events = Vec::new();
        let (raw, contact) =
            tokio::try_join!(biased; raw, resolve_contact(conn, plan, known_contact, now, &mut new_events))?;
        applied.events.extend(new_events);
        let same_subject: Option<i64> = facts.named("same_subject")?;
        let mut place = place(conn, plan, contact, same_subject.filter(|_| subject_rule), now).await?;
        let kinds = kinds_of(plan);
        let bump = async {
            match place.conversation.filter(|_| !place.opened) {
                Some(conversation) => conn
                    .execute(
                        "UPDATE conversations SET message_count = message_count + 1,
                         last_message_at = CASE WHEN last_message_at > ?2 THEN last_message_at ELSE ?2 END,
                         kinds = kinds | ?3
                         WHERE id = ?1",
                        args![conversation, now, kinds],
                    )
                    .await
                    .map(|_| ()),
                None => Ok(()),
            }
        };
        let row = NewRow {
            delivery: d,
            stored: &stored,
            plan,
            contact,
            place: &place,
            now,
        };
        // The conversation's row first, then the message that references it: a merge locks the
        // row before it moves messages, so on PostgreSQL the two wait for each other in one order.
        let ((), (message_id, raw, conversation)) = tokio::try_join!(biased; bump, messages::insert(conn, &row, raw))?;
        raw_id = Some(raw);
        place.conversation = conversation;
        if let Some(quarantined) = d.release {
            conn.execute(
                "UPDATE messages SET released_from = ?2 WHERE id = ?1",
                args![message_id, quarantined],
            )
            .await?;
        }
        if place.opened {
            applied.events.push(conversation_created(plan, contact, &place));
        }
        let participant = match (place.conversation, contact) {
            (Some(conversation), Some(contact)) => {
                record_participants(conn, d, plan, conversation, contact, &place).await?
            }
            _ => None,
        };
        if let (Some(conversation), Some(owner), Some(words)) =
            (place.conversation, place.owner.or(contact), stored.search.as_deref())
            && plan.kind != Kind::Spam
        {
            applied.search.push(search::Entry {
                message_id,
                scope: Scope {
                    account: plan.account_id,
                    contact: owner,
                    conversation,
                    kind: plan.kind,
                },
                document: document(words, plan, d.message.from.as_ref()),
            });
        }
        if let Some(notice) = &plan.notice {
            conn.execute(
                "INSERT INTO notices (account_id, message_id, kind, provider, link, code, requested_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                args![
                    plan.account_id,
                    message_id,
                    notice.kind,
                    notice.provider,
                    notice.link,
                    notice.code,
                    notice.requested_by,
                    now
                ],
            )
            .await?;
        }
        mark_bouncing(conn, plan, &mut applied.events).await?;
        applied.events.push(NewEvent {
            // Quarantined spam is announced as such: nothing may treat it as a customer's mail.
            kind: if plan.kind == Kind::Spam {
                "message.quarantined"
            } else {
                "message.received"
            },
            account_id: plan.account_id,
            data: json!({
                "message_id": message_id,
                "conversation_id": place.conversation,
                "contact_id": contact,
                "contact_created": contact.is_some() && !contact_was_known,
                // Who wrote it, as the conversation's participants name them (its `contact_id`
                // stays the one who opened it).
                "participant": participant,
                "conversation_contact_id": place.owner.or(contact).filter(|_| place.conversation.is_some()),
                "automation": false,
                "kind": plan.kind.as_str(),
                "queue_id": d.envelope.queue_id,
                "subject": d.message.subject,
                "from_email": d.message.from.as_ref().map(|m| &m.email),
                "campaign_id": place.campaign_id,
                "automation_id": place.automation_id,
                "released_from": d.release,
            }),
        });
        applied.counts.push((
            plan.account_id,
            if plan.kind == Kind::Spam {
                Counts {
                    messages: 0,
                    quarantined: 1,
                }
            } else {
                Counts {
                    messages: 1,
                    quarantined: 0,
                }
            },
        ));
        applied.committed.push(Committed {
            account_id: plan.account_id,
            message_id,
            duplicate: false,
        });
    }
    if let Some(quarantined) = d.release {
        // Gone now that it is filed (or found filed already: then its bytes go too, unless shared).
        conn.execute("DELETE FROM messages WHERE id = ?1", args![quarantined])
            .await?;
        if let Some(raw) = raw_id {
            raw::release(conn, raw).await?;
        }
    }
    Ok(applied)
}

/// The search document of a message in one account: the message's words and its contact's. The
/// contact is most often the sender, whose name and address the message's words already hold
/// (`store::pack`): then nothing is added, and the writer builds no words.
fn document(message: &str, plan: &Plan, from: Option<&Mailbox>) -> String {
    // The index folds case, so an address differing only in case adds no words either.
    let sender = |m: &Mailbox| {
        from.is_some_and(|f| f.email.eq_ignore_ascii_case(&m.email) && (m.name.is_none() || f.name == m.name))
    };
    let contact = match &plan.contact {
        ContactChoice::FindOrCreate(m) | ContactChoice::FindExisting(m) if !sender(m) => {
            search::document(&[m.name.as_deref().unwrap_or(""), &m.email])
        }
        _ => String::new(),
    };
    if contact.is_empty() {
        message.to_string()
    } else {
        format!("{message} {contact}")
    }
}

/// The id of the row an `INSERT … RETURNING id` wrote.
async fn returning_id(conn: Conn<'_>, sql: &str, params: &[super::sql::Param<'_>]) -> Result<i64, StoreError> {
    conn.value(sql, params)
        .await?
        .ok_or_else(|| StoreError::Failed("an insert returned no id".into()))
}

/// What a delivery's statements read or write, as (account, key) pairs: its dedupe key (the
/// duplicate check; the thread lookups of later messages by `mid:` keys), the dedupe keys its
/// thread headers look up, its contact's address (the contact and every conversation lookup go by
/// contact), and the addresses a hard bounce marks. Two deliveries that share no key touch no
/// common row except by commutative counters (a conversation's count and latest time), so they
/// may run at once in either order and come out as run one after the other.
pub(super) fn footprint(d: &Delivery) -> Vec<(i64, String)> {
    let mut keys = Vec::new();
    for plan in &d.plans {
        let account = plan.account_id;
        keys.push((account, d.dedupe_key.clone()));
        keys.extend(plan.thread_ids.iter().map(|id| (account, format!("mid:{id}"))));
        if let ContactChoice::FindOrCreate(m) | ContactChoice::FindExisting(m) = &plan.contact {
            keys.push((account, format!("contact:{}", m.key())));
        }
        if let Some(bounce) = &plan.bounce {
            keys.extend(
                bounce
                    .recipients
                    .iter()
                    .map(|r| (account, format!("contact:{}", email_key(&r.recipient)))),
            );
        }
    }
    keys
}

/// The contact as the first lookup found it.
struct KnownContact {
    id: i64,
    verified: bool,
    /// No name yet.
    unnamed: bool,
}

/// Finds the contact by address or creates it: not opt-in, on no list, and marked so that no
/// automation runs for it. An existing contact's consent is never touched.
async fn resolve_contact(
    conn: Conn<'_>,
    plan: &Plan,
    known: Option<KnownContact>,
    now: &str,
    events: &mut Vec<NewEvent>,
) -> Result<Option<i64>, StoreError> {
    let (mailbox, may_create) = match &plan.contact {
        ContactChoice::FindOrCreate(m) => (m, true),
        ContactChoice::FindExisting(m) => (m, false),
        ContactChoice::None => return Ok(None),
    };
    let key = mailbox.key();
    if let Some(KnownContact { id, verified, unnamed }) = known {
        // Only authenticated mail may fill in a name or vouch for an address created unverified;
        // a contact with nothing to add is not rewritten.
        if plan.verified && may_create && (!verified || (unnamed && mailbox.name.is_some())) {
            conn.execute(
                "UPDATE contacts SET name = coalesce(name, ?2), verified = TRUE WHERE id = ?1",
                args![id, mailbox.name],
            )
            .await?;
        }
        return Ok(Some(id));
    }
    if !may_create {
        return Ok(None);
    }
    let id = returning_id(
        conn,
        "INSERT INTO contacts (account_id, email, email_key, name, source, opt_in, lists, verified, created_at)
         VALUES (?1, ?2, ?3, ?4, 'email', FALSE, '[]', ?5, ?6) RETURNING id",
        args![plan.account_id, mailbox.email, key, mailbox.name, plan.verified, now],
    )
    .await?;
    events.push(NewEvent {
        kind: "contact.created",
        account_id: plan.account_id,
        data: json!({
            "contact_id": id,
            "email": mailbox.email,
            "name": mailbox.name,
            "source": "email",
            "opt_in": false,
            "lists": [],
            "automation": false,
            "verified": plan.verified,
        }),
    });
    Ok(Some(id))
}

/// The conversation by the rules in `ingest::thread`: thread headers (same contact only; an
/// outbound message registered by the platform counts too), then the contact's conversation of the
/// same campaign or automation (or, answering a registered outbound message, its latest one), then
/// the subject within the window, then a new one. Without a
/// contact only a thread header can place a message; automatic mail never opens a conversation.
async fn place(
    conn: Conn<'_>,
    plan: &Plan,
    contact: Option<i64>,
    same_subject: Option<i64>,
    now: &str,
) -> Result<Placement, StoreError> {
    let mut place = Placement {
        conversation: None,
        owner: None,
        opened: false,
        campaign_id: plan.campaign_id.clone(),
        automation_id: plan.automation_id.clone(),
    };
    // A notice for the account and quarantined spam join no conversation.
    if matches!(plan.kind, Kind::System | Kind::Spam) {
        return Ok(place);
    }
    // A suspicious message never passes as the contact: it gets a conversation of its own.
    let matching = !plan.suspicious();
    let contact_key = match &plan.contact {
        ContactChoice::FindOrCreate(m) | ContactChoice::FindExisting(m) => Some(m.key()),
        ContactChoice::None => None,
    };
    // The message answers something the platform sent to this very contact.
    let mut answers_sent = false;
    // The message answers something the platform sent to another contact, copying this one.
    let mut copied_on_sent: Option<String> = None;
    for id in plan.thread_ids.iter().filter(|_| matching) {
        let found = conn
            .query_opt(THREAD_BY_MESSAGE_ID, args![plan.account_id, id, contact_key])
            .await?;
        if let Some(r) = found {
            let (conversation, owner): (i64, i64) = (r.named("conversation")?, r.named("owner")?);
            // A reply joins the conversation of the message it answers when it comes from that
            // conversation's contact, from someone that message was addressed to (a colleague
            // answering all), or from someone already in the conversation; never from a stranger
            // to it (a newsletter's hundreds of recipients answering the same message).
            let joins = match (contact, contact_key.as_deref()) {
                (Some(c), _) if c == owner => true,
                (Some(_), Some(key)) => {
                    r.named::<bool>("participant")?
                        || participants::addressed(&r.named::<String>("to_json")?, key)
                        || participants::addressed(&r.named::<String>("cc_json")?, key)
                }
                (Some(_), None) => false,
                (None, _) => true,
            };
            if joins {
                place.conversation = Some(conversation);
                place.owner = Some(owner);
                return Ok(place);
            }
        }
        let sent = conn.query_opt(SENT_MESSAGE, args![plan.account_id, id]).await?;
        if let Some(r) = sent {
            let (sent_to, campaign, automation): (String, Option<String>, Option<String>) = (
                r.named("contact_email")?,
                r.named("campaign_id")?,
                r.named("automation_id")?,
            );
            // A colleague answering keeps the link to the campaign, in their own conversation
            // unless the platform's message copied them.
            place.campaign_id = place.campaign_id.or(campaign);
            place.automation_id = place.automation_id.or(automation);
            if contact_key.as_deref() == Some(email_key(&sent_to).as_str()) {
                answers_sent = true;
                break;
            }
            if let Some(key) = contact_key.as_deref()
                && contact.is_some()
                && participants::addressed(&r.named::<String>("cc_json")?, key)
            {
                copied_on_sent = Some(email_key(&sent_to));
                break;
            }
        }
    }
    let Some(contact) = contact else {
        return Ok(place);
    };
    if let Some(sent_to) = copied_on_sent {
        // Where the platform's message went: that contact's conversation of the same campaign or
        // automation, else its latest (where the agent wrote).
        let owner: Option<i64> = conn.value(CONTACT_BY_KEY, args![plan.account_id, sent_to]).await?;
        if let Some(owner) = owner {
            let mut found: Option<i64> = None;
            if place.campaign_id.is_some() || place.automation_id.is_some() {
                found = conn
                    .value(
                        CONVERSATION_BY_ORIGIN,
                        args![plan.account_id, owner, place.campaign_id, place.automation_id],
                    )
                    .await?;
            }
            if found.is_none() {
                found = conn.value(LATEST_CONVERSATION, args![plan.account_id, owner]).await?;
            }
            if found.is_some() {
                place.conversation = found;
                place.owner = Some(owner);
                return Ok(place);
            }
        }
    }
    if matching && (place.campaign_id.is_some() || place.automation_id.is_some()) {
        let found: Option<i64> = conn
            .value(
                CONVERSATION_BY_ORIGIN,
                args![plan.account_id, contact, place.campaign_id, place.automation_id],
            )
            .await?;
        if found.is_some() {
            place.conversation = found;
            return Ok(place);
        }
    }
    if answers_sent {
        // No campaign to go by: the contact's most recent conversation is where the agent wrote.
        let found: Option<i64> = conn.value(LATEST_CONVERSATION, args![plan.account_id, contact]).await?;
        if found.is_some() {
            place.conversation = found;
            return Ok(place);
        }
    }
    // The subject rule's answer came with the first lookups (the contact's conversations are not
    // written before this point of the delivery).
    if matching && same_subject.is_some() {
        place.conversation = same_subject;
        return Ok(place);
    }
    // Automatic answers, reports and notices join the conversation they belong to, or none; a
    // person's message, a forward and a (contact's) bulk mail open one.
    if !matches!(plan.kind, Kind::Message | Kind::Forward | Kind::Bulk) {
        return Ok(place);
    }
    // A new conversation: SQLite opens it now; PostgreSQL with the message row, in one statement.
    place.opened = true;
    if conn.dialect() == Dialect::Sqlite {
        let id = returning_id(
            conn,
            "INSERT INTO conversations (account_id, contact_id, subject, subject_key, channel, status, message_count,
             campaign_id, automation_id, created_at, last_message_at, kinds)
             VALUES (?1, ?2, ?3, ?4, 'email', 'open', 1, ?5, ?6, ?7, ?7, ?8) RETURNING id",
            args![
                plan.account_id,
                contact,
                subject_of(plan),
                plan.subject_key,
                place.campaign_id,
                place.automation_id,
                now,
                kinds_of(plan)
            ],
        )
        .await?;
        place.conversation = Some(id);
    }
    Ok(place)
}

/// The message's sender and whom it copied join the conversation's participants. The sender's row
/// is written when someone other than the conversation's contact wrote; what a
/// person's own message copied is added (a forward's or an automatic message's addressees are not
/// the customer's). The sender as `message.received` names it.
async fn record_participants(
    conn: Conn<'_>,
    d: &Delivery,
    plan: &Plan,
    conversation: i64,
    contact: i64,
    place: &Placement,
) -> Result<Option<serde_json::Value>, StoreError> {
    let (ContactChoice::FindOrCreate(sender) | ContactChoice::FindExisting(sender)) = &plan.contact else {
        return Ok(None);
    };
    // The conversation's own contact needs no row (it is always its first participant).
    if place.owner.is_some_and(|owner| owner != contact) {
        participants::add_sender(conn, conversation, plan.account_id, sender, contact).await?;
    }
    if plan.kind == Kind::Message {
        let key = sender.key();
        let copied = participants::copied(&d.message.to, &d.message.cc, Some(&key), &d.envelope.rcpt_to);
        participants::add_copied(conn, conversation, plan.account_id, &copied).await?;
    }
    Ok(Some(json!({
        "email": sender.email,
        "name": sender.name,
        "contact_id": contact,
        "role": "contact",
    })))
}

/// The event of a conversation opened for a message.
fn conversation_created(plan: &Plan, contact: Option<i64>, place: &Placement) -> NewEvent {
    NewEvent {
        kind: "conversation.created",
        account_id: plan.account_id,
        data: json!({
            "conversation_id": place.conversation,
            "contact_id": contact,
            "subject": subject_of(plan),
            "channel": "email",
            "campaign_id": place.campaign_id,
            "automation_id": place.automation_id,
        }),
    }
}

/// A hard bounce means the address does not work: the contact is marked so no more mail goes to it.
async fn mark_bouncing(conn: Conn<'_>, plan: &Plan, events: &mut Vec<NewEvent>) -> Result<(), StoreError> {
    let Some(bounce) = plan.bounce.as_ref().filter(|_| plan.kind == Kind::Bounce) else {
        return Ok(());
    };
    for failed in bounce.recipients.iter().filter(|r| r.hard) {
        let contact: Option<i64> = conn
            .value(
                "UPDATE contacts SET email_status = 'bouncing' WHERE account_id = ?1 AND email_key = ?2
                 AND email_status != 'bouncing' RETURNING id",
                args![plan.account_id, email_key(&failed.recipient)],
            )
            .await?;
        if let Some(id) = contact {
            events.push(NewEvent {
                kind: "contact.bouncing",
                account_id: plan.account_id,
                data: json!({ "contact_id": id, "email": failed.recipient, "status": failed.status }),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn every_lookup_uses_its_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        for (sql, index) in [
            (FIRST_FACTS, "sqlite_autoindex_messages_1"),
            (FIRST_FACTS, "sqlite_autoindex_contacts_1"),
            (THREAD_BY_MESSAGE_ID, "sqlite_autoindex_messages_1"),
            (THREAD_BY_MESSAGE_ID, "sqlite_autoindex_conversation_participants_1"),
            (CONTACT_BY_KEY, "sqlite_autoindex_contacts_1"),
            (SENT_MESSAGE, "sqlite_autoindex_sent_messages_1"),
            (CONVERSATION_BY_ORIGIN, "conversations_by_contact"),
            (LATEST_CONVERSATION, "conversations_by_contact"),
            (FIRST_FACTS, "conversations_by_contact"),
        ] {
            // Parameters left unbound are NULL: enough for the planner.
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let mut rows = stmt.raw_query();
            let mut plan = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get::<_, String>(3).unwrap());
            }
            // A SELECT without FROM reads one constant row, not a table.
            let scans_a_table = |step: &String| step.starts_with("SCAN") && step != "SCAN CONSTANT ROW";
            assert!(!plan.iter().any(scans_a_table), "{sql}\n{plan:#?}");
            assert!(
                plan.iter().any(|step| step.contains(index)),
                "{sql} should use {index}:\n{plan:#?}"
            );
        }
    }
}
