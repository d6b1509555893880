//! Who is in a conversation: the contacts who wrote in it (`contact`) and the addresses their
//! messages copied (`to`, `cc`). The conversation's own contact is always the first and has no row
//! (a conversation a message opens writes nothing here); the others are rows the commit adds as
//! messages join; a merge unites two conversations' lists; a split counts both anew from their
//! messages. The threading rule reads them: a reply joins a conversation its sender is already in
//! (`store::apply`).

use super::error::StoreError;
use super::sql::{Conn, Dialect};
use super::value::args;
use crate::mail::{Mailbox, email_key};
use serde::Serialize;
use std::collections::BTreeMap;

/// One participant as the conversation's JSON shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Participant {
    pub email: String,
    pub name: Option<String>,
    /// Their contact, once they wrote in the conversation (an address only copied has none).
    pub contact_id: Option<i64>,
    /// `contact` (wrote in it), `to` or `cc` (copied by a message of it).
    pub role: String,
}

/// The addresses one message copies that count: at most this many (a message to a whole
/// department names hundreds; the conversation shows who took part, not a mailing list).
pub const MAX_COPIED: usize = 50;

/// What a message adds beside its sender: the addresses in its To and Cc, without the sender's own
/// and without any at a domain the message was delivered to (the account's inbound address, and
/// any other of ours), each once, To before Cc, in address order (the order rows are written in, so
/// two transactions lock them alike).
pub fn copied(to: &[Mailbox], cc: &[Mailbox], sender_key: Option<&str>, rcpt_to: &[String]) -> Vec<Participant> {
    let ours: Vec<String> = rcpt_to.iter().filter_map(|r| domain_of(r)).collect();
    let mut seen: BTreeMap<String, Participant> = BTreeMap::new();
    for (role, list) in [("to", to), ("cc", cc)] {
        for m in list {
            let key = email_key(&m.email);
            if Some(key.as_str()) == sender_key
                || domain_of(&key).is_some_and(|d| ours.contains(&d))
                || seen.contains_key(&key)
            {
                continue;
            }
            if seen.len() >= MAX_COPIED {
                break;
            }
            seen.insert(
                key,
                Participant {
                    email: m.email.clone(),
                    name: m.name.clone(),
                    contact_id: None,
                    role: role.into(),
                },
            );
        }
    }
    seen.into_values().collect()
}

fn domain_of(address: &str) -> Option<String> {
    address
        .trim()
        .trim_matches(['<', '>'])
        .rsplit_once('@')
        .map(|(_, d)| d.to_lowercase())
}

/// True when `key` is among the addresses of a stored `to_json`/`cc_json` column.
pub fn addressed(json: &str, key: &str) -> bool {
    serde_json::from_str::<Vec<Mailbox>>(json)
        .map(|list| list.iter().any(|m| email_key(&m.email) == key))
        .unwrap_or(false)
}

const SENDER_SQL: &str = "INSERT INTO conversation_participants
    (conversation_id, account_id, email_key, email, name, contact_id, role)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'contact')
    ON CONFLICT (conversation_id, email_key) DO UPDATE SET role = 'contact', contact_id = excluded.contact_id,
    name = coalesce(conversation_participants.name, excluded.name)
    WHERE conversation_participants.role <> 'contact' OR conversation_participants.contact_id IS NULL";

/// The contact who wrote a message is a participant (`contact`), whatever it was before.
pub(super) async fn add_sender(
    conn: Conn<'_>,
    conversation: i64,
    account: i64,
    sender: &Mailbox,
    contact: i64,
) -> Result<(), StoreError> {
    conn.execute(
        SENDER_SQL,
        args![conversation, account, sender.key(), sender.email, sender.name, contact],
    )
    .await?;
    Ok(())
}

/// The statement that adds copied addresses, given as a JSON array of `[key, email, name, role]`:
/// an address already there keeps its role.
fn copies_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "INSERT INTO conversation_participants (conversation_id, account_id, email_key, email, name, contact_id, role)
             SELECT ?1, ?2, value ->> 0, value ->> 1, value ->> 2, NULL, value ->> 3 FROM json_each(?3) WHERE true
             ON CONFLICT (conversation_id, email_key) DO NOTHING"
        }
        Dialect::Postgres => {
            "INSERT INTO conversation_participants (conversation_id, account_id, email_key, email, name, contact_id, role)
             SELECT ?1, ?2, e ->> 0, e ->> 1, e ->> 2, NULL, e ->> 3 FROM json_array_elements(CAST(?3 AS JSON)) AS e
             ON CONFLICT (conversation_id, email_key) DO NOTHING"
        }
    }
}

/// Adds the addresses a message copied (one statement, whatever their number).
pub(super) async fn add_copied(
    conn: Conn<'_>,
    conversation: i64,
    account: i64,
    copied: &[Participant],
) -> Result<(), StoreError> {
    if copied.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = copied
        .iter()
        .map(|p| serde_json::json!([email_key(&p.email), p.email, p.name, p.role]))
        .collect();
    conn.execute(
        copies_sql(conn.dialect()),
        args![conversation, account, serde_json::Value::Array(rows).to_string()],
    )
    .await?;
    Ok(())
}

/// A conversation's participants in address order (the primary key's: no sort).
pub(super) const OF_CONVERSATION: &str = "SELECT email, name, contact_id, role FROM conversation_participants
    WHERE conversation_id = ?1 ORDER BY conversation_id, email_key LIMIT ?2";

/// At most this many are shown with a conversation.
pub const SHOWN: i64 = 200;

/// A conversation's contact, the first of its participants.
pub(super) const OWNER: &str =
    "SELECT k.id, k.email, k.name FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.id = ?1";

/// A conversation's participants: its contact, then the others who wrote, then those copied, each
/// in address order.
pub async fn of_conversation(conn: Conn<'_>, conversation: i64) -> Result<Vec<Participant>, StoreError> {
    let mut list = Vec::new();
    if let Some(r) = conn.query_opt(OWNER, args![conversation]).await? {
        list.push(Participant {
            email: r.named("email")?,
            name: r.named("name")?,
            contact_id: r.named("id")?,
            role: "contact".into(),
        });
    }
    let owner_key = list.first().map(|p| email_key(&p.email));
    for r in conn.query(OF_CONVERSATION, args![conversation, SHOWN]).await?.iter() {
        let email: String = r.named("email")?;
        if owner_key.as_deref() == Some(email_key(&email).as_str()) {
            continue;
        }
        list.push(Participant {
            email,
            name: r.named("name")?,
            contact_id: r.named("contact_id")?,
            role: r.named("role")?,
        });
    }
    let first = 1.min(list.len());
    list[first..].sort_by_key(|p| p.role != "contact");
    Ok(list)
}

/// The statement a merge keeps the merged conversation's contact with: `?1`'s contact becomes a
/// participant (`contact`) of `?2`, unless it is `?2`'s own.
pub(super) fn owner_joins_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO conversation_participants (conversation_id, account_id, email_key, email, name, contact_id, role)
         SELECT ?2, c.account_id, k.email_key, k.email, k.name, k.id, 'contact'
         FROM conversations c JOIN contacts k ON k.id = c.contact_id
         WHERE c.id = ?1 AND c.contact_id <> (SELECT contact_id FROM conversations WHERE id = ?2) {}
         ON CONFLICT (conversation_id, email_key) DO UPDATE SET role = 'contact', contact_id = excluded.contact_id",
        if dialect == Dialect::Sqlite { "AND true" } else { "" }
    )
}

/// The statement a merge unites two lists with: `?1`'s participants join `?2`'s; one who wrote in
/// either is a `contact` of the whole.
pub(super) fn unite_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO conversation_participants (conversation_id, account_id, email_key, email, name, contact_id, role)
         SELECT ?2, account_id, email_key, email, name, contact_id, role FROM conversation_participants
         WHERE conversation_id = ?1 {}
         ON CONFLICT (conversation_id, email_key) DO UPDATE SET
         role = CASE WHEN excluded.role = 'contact' THEN 'contact' ELSE conversation_participants.role END,
         contact_id = coalesce(conversation_participants.contact_id, excluded.contact_id),
         name = coalesce(conversation_participants.name, excluded.name)",
        // SQLite reads `ON` after a bare FROM … WHERE as a join's: a WHERE of its own settles it.
        if dialect == Dialect::Sqlite { "AND true" } else { "" }
    )
}

/// The statement that reads what a conversation's participants are made of, a message per row.
pub(super) const SOURCES: &str = "SELECT m.kind, m.to_json, m.cc_json, m.envelope, m.envelope_json, k.id AS contact_id,
    k.email AS contact_email, k.name AS contact_name
    FROM messages m LEFT JOIN contacts k ON k.id = m.contact_id WHERE m.conversation_id = ?1 ORDER BY m.id";

/// Counts a conversation's participants anew from its messages (after a split): each contact who
/// wrote in it other than its own, and what a person's messages copied.
pub(super) async fn rebuild(conn: Conn<'_>, conversation: i64, account: i64, owner: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM conversation_participants WHERE conversation_id = ?1",
        args![conversation],
    )
    .await?;
    let owner_key: Option<String> = conn
        .value("SELECT email_key FROM contacts WHERE id = ?1", args![owner])
        .await?;
    let mut copies: BTreeMap<String, Participant> = BTreeMap::new();
    for r in conn.query(SOURCES, args![conversation]).await? {
        let sender = match r.named::<Option<i64>>("contact_id")? {
            Some(id) => {
                let mailbox = Mailbox {
                    email: r.named("contact_email")?,
                    name: r.named("contact_name")?,
                };
                if id != owner {
                    add_sender(conn, conversation, account, &mailbox, id).await?;
                }
                Some(mailbox.key())
            }
            None => None,
        };
        if r.named::<String>("kind")? != "message" {
            continue;
        }
        let list = |column: &str| -> Result<Vec<Mailbox>, StoreError> {
            Ok(serde_json::from_str(&r.named::<String>(column)?).unwrap_or_default())
        };
        let envelope: serde_json::Value = super::messages::envelope_json(&r)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let rcpt_to: Vec<String> = envelope["rcpt_to"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        for p in copied(&list("to_json")?, &list("cc_json")?, sender.as_deref(), &rcpt_to) {
            let key = email_key(&p.email);
            if Some(&key) != owner_key.as_ref() {
                copies.entry(key).or_insert(p);
            }
        }
    }
    let copies: Vec<Participant> = copies.into_values().collect();
    add_copied(conn, conversation, account, &copies).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(email: &str) -> Mailbox {
        Mailbox {
            email: email.into(),
            name: None,
        }
    }

    #[test]
    fn copied_leaves_out_the_sender_our_domains_and_repeats() {
        let to = [mb("acme@in.example"), mb("Bob@Customer.example")];
        let cc = [
            mb("bob@customer.example"),
            mb("ann@customer.example"),
            mb("carol@other.example"),
        ];
        let got = copied(&to, &cc, Some("ann@customer.example"), &["acme+x@IN.example".into()]);
        let shown: Vec<(&str, &str)> = got.iter().map(|p| (p.email.as_str(), p.role.as_str())).collect();
        assert_eq!(shown, [("Bob@Customer.example", "to"), ("carol@other.example", "cc")]);
    }

    #[test]
    fn copied_is_capped() {
        let cc: Vec<Mailbox> = (0..500).map(|n| mb(&format!("p{n}@big.example"))).collect();
        assert_eq!(copied(&[], &cc, None, &[]).len(), MAX_COPIED);
    }

    #[test]
    fn addressed_reads_a_stored_column() {
        let json = r#"[{"email":"Bob@Customer.example","name":"Bob"}]"#;
        assert!(addressed(json, "bob@customer.example"));
        assert!(!addressed(json, "eve@customer.example"));
        assert!(!addressed("not json", "bob@customer.example"));
    }
}
