//! Every statement a list or a search runs, with sample values, so that their plans can be tested
//! on both engines: a read that scans a big table (or sorts one) costs the account's history, not
//! its page, even when the test data is small. The SQLite test is below; the PostgreSQL one
//! (`tests/plans.rs`) runs these on a real server with `enable_seqscan = off`.

use super::conversations::{ConversationFilter, INDEXED_KINDS, list_sql};
use super::events::About;
use super::page::At;
use super::sql::Dialect;
use super::value::Param;
use super::{
    account_deletion, accounts, contacts, conversations, convert, erasure, events, keys, members, merge, messages,
    participants, quarantine, retention, search, webhooks,
};
use crate::mail::Kind;

/// A value a statement is explained with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample {
    Int(i64),
    Text(String),
    /// A parameter left NULL (a filter not given).
    Null,
}

/// One statement to explain: what it is, its SQL (our dialect: `?N` placeholders, SQLite's
/// `INDEXED BY` hints) and a value for each placeholder.
#[derive(Debug, Clone)]
pub struct Statement {
    pub name: String,
    pub sql: String,
    pub samples: Vec<Sample>,
    /// Planned for its values at every run (`Conn::query_planned`), not prepared once.
    pub planned: bool,
}

impl Sample {
    /// The value as an SQL literal (for `EXPLAIN EXECUTE` of a prepared statement).
    pub fn literal(&self) -> String {
        match self {
            Sample::Int(v) => v.to_string(),
            Sample::Text(v) => format!("'{}'", v.replace('\'', "''")),
            Sample::Null => "NULL".into(),
        }
    }
}

fn int(v: i64) -> Sample {
    Sample::Int(v)
}

fn text(v: &str) -> Sample {
    Sample::Text(v.to_string())
}

fn statement(name: impl Into<String>, sql: impl Into<String>, samples: Vec<Sample>) -> Statement {
    Statement {
        name: name.into(),
        sql: sql.into(),
        samples,
        planned: false,
    }
}

/// The tables whose rows grow with mail: none of them may be read whole by a list.
pub const GROWING: &[&str] = &[
    "messages",
    "conversations",
    "contacts",
    "raw_messages",
    "events",
    "message_search",
    "webhook_deliveries",
    "notices",
    "conversation_participants",
];

/// Every list and search statement of the store, for `dialect`.
pub fn statements(dialect: Dialect) -> Vec<Statement> {
    let mut out = vec![
        statement(
            "accounts list",
            accounts::list_sql(),
            vec![int(0), Sample::Null, int(51)],
        ),
        statement(
            "an account key's accounts list",
            accounts::list_sql(),
            vec![int(0), int(1), int(51)],
        ),
        statement("account notices", accounts::notices_sql(), vec![int(1), int(20)]),
        statement("account counts", accounts::COUNTS, vec![int(1)]),
        statement("contacts list", contacts::list_sql(), vec![int(1), int(0), int(51)]),
        statement(
            "messages list",
            messages::list_sql(false),
            vec![int(1), int(i64::MAX), int(51)],
        ),
        statement(
            "messages list of a kind (the quarantine)",
            messages::list_sql(true),
            vec![int(1), text("spam"), int(i64::MAX), int(51)],
        ),
        statement(
            "a conversation's messages",
            messages::of_conversation_sql(false),
            vec![int(1), int(i64::MAX), int(51)],
        ),
        statement(
            "a conversation's messages, oldest first",
            messages::of_conversation_sql(true),
            vec![int(1), int(0), int(51)],
        ),
        statement("api keys list", keys::LIST, vec![int(0), int(51)]),
        statement("members list", members::LIST, vec![int(1), text(""), int(51)]),
        statement(
            "an account's events",
            events::LIST_OF_ACCOUNT,
            vec![int(1), int(0), int(51)],
        ),
        statement("events", events::LIST_ALL, vec![int(0), int(51)]),
        statement(
            "webhook endpoints",
            webhooks::endpoints_sql(),
            vec![Sample::Null, int(0), int(51)],
        ),
        statement(
            "an account's webhook endpoints",
            webhooks::endpoints_sql(),
            vec![int(1), int(0), int(51)],
        ),
        statement(
            "quarantine purge",
            quarantine::PURGE,
            vec![text("2026-01-01T00:00:00Z"), int(1000)],
        ),
        statement(
            "where matches stand",
            search::places_sql(dialect),
            vec![text(&dialect.ids(&[1, 2]))],
        ),
        statement(
            "a page's conversations",
            conversations::get_many_sql(dialect),
            vec![text(&dialect.ids(&[1, 2]))],
        ),
        statement(
            "a page's messages",
            messages::get_many_sql(dialect),
            vec![text(&dialect.ids(&[1, 2]))],
        ),
        statement(
            "a page's latest messages",
            conversations::latest_sql(dialect),
            vec![text(&dialect.ids(&[1, 2]))],
        ),
    ];
    // The data's life: an erasure's batches, retention's, an account's deletion.
    let ids = text(&dialect.ids(&[1, 2]));
    out.extend([
        statement(
            "erasure: the contact's messages",
            erasure::OF_CONTACT,
            vec![int(1), int(100)],
        ),
        statement(
            "erasure: messages in its conversations",
            erasure::IN_CONVERSATIONS,
            vec![int(1), int(100)],
        ),
        statement(
            "erasure: its quarantined mail",
            erasure::QUARANTINED_FROM,
            vec![int(1), int(100), text("jane@example.com")],
        ),
        statement(
            "erasure: its conversations",
            erasure::CONVERSATIONS_OF,
            vec![int(1), int(100)],
        ),
        statement(
            "erasure: its outbound messages",
            erasure::SENT_TO,
            vec![int(1), text("jane@example.com")],
        ),
        statement(
            "events of an account, redacted",
            events::REDACT_ACCOUNT,
            vec![int(1), int(0), int(1000), text(events::REDACTED)],
        ),
        statement(
            "deliveries of redacted events",
            events::drop_deliveries_sql(dialect),
            vec![ids.clone()],
        ),
        statement(
            "a queue's head passed on",
            events::PASS_HEAD,
            vec![int(1), text("contact:1")],
        ),
        statement(
            "retention: conversations past it",
            retention::PAST,
            vec![int(1), text("2026-01-01T00:00:00Z"), int(50), text(""), int(0)],
        ),
        statement(
            "retention: a conversation's messages before it",
            retention::BEFORE,
            vec![int(1), text("2026-01-01T00:00:00Z"), int(100)],
        ),
    ]);
    // Who is in a conversation, and the agent's threading tools.
    out.extend([
        statement(
            "a conversation's participants",
            participants::OF_CONVERSATION,
            vec![int(1), int(participants::SHOWN)],
        ),
        statement(
            "erasure: the address as a participant",
            erasure::PARTICIPANT_AS,
            vec![int(1), int(1)],
        ),
        statement(
            "merge: participants united",
            participants::unite_sql(dialect),
            vec![int(1), int(2)],
        ),
        statement(
            "merge: the merged conversation's contact joins",
            participants::owner_joins_sql(dialect),
            vec![int(1), int(2)],
        ),
        statement("a conversation's contact", participants::OWNER, vec![int(1)]),
        statement(
            "split: what participants are made of",
            participants::SOURCES,
            vec![int(1)],
        ),
        statement("merge: where a merged id went", merge::MERGED_INTO, vec![int(1)]),
        statement("merge: the messages moved", merge::MOVE_ALL, vec![int(1), int(2)]),
        statement("split: the first message", merge::FIRST_OF, vec![int(1)]),
        statement(
            "split: the later messages of the sender moved",
            merge::MOVE_LATER,
            vec![int(1), int(2), int(3), int(4)],
        ),
        statement("split: a conversation recounted", merge::recount_sql(), vec![int(1)]),
    ]);
    for about in [About::Contact, About::Conversation, About::Message] {
        out.push(statement(
            format!("events about a {about:?}, redacted"),
            events::redact_sql(dialect, about),
            vec![ids.clone(), int(100), text(events::REDACTED)],
        ));
    }
    for (n, sql) in account_deletion::BATCHES
        .iter()
        .chain(account_deletion::REST.iter())
        .enumerate()
    {
        out.push(statement(
            format!("account deletion {n}"),
            *sql,
            vec![int(1), int(100)][..sql.matches("?2").count() + 1].to_vec(),
        ));
    }
    for (endpoint, status) in [(true, true), (true, false), (false, true), (false, false)] {
        out.push(statement(
            format!("webhook deliveries (endpoint {endpoint}, status {status})"),
            webhooks::deliveries_sql(endpoint, status),
            vec![
                if endpoint { int(1) } else { Sample::Null },
                if status { text("pending") } else { Sample::Null },
                int(i64::MAX),
                int(51),
            ],
        ));
    }
    // The conversation list: every filter, first page and later ones, with and without `since`.
    let mut filters = vec![ConversationFilter::default()];
    for kind in [
        Kind::Message,
        Kind::Forward,
        Kind::AutoReply,
        Kind::Bounce,
        Kind::Feedback,
        Kind::Bulk,
    ] {
        filters.push(ConversationFilter {
            kind: Some(kind),
            ..Default::default()
        });
        filters.push(ConversationFilter {
            contact: Some(1),
            kind: Some(kind),
            since: None,
        });
    }
    filters.push(ConversationFilter {
        contact: Some(1),
        ..Default::default()
    });
    debug_assert!(INDEXED_KINDS.iter().all(|k| filters.iter().any(|f| f.kind == Some(*k))));
    let at = At {
        time: "2026-12-01T00:00:00Z".into(),
        id: 99,
    };
    for filter in filters {
        for since in [None, Some("2026-11-01T00:00:00Z".to_string())] {
            for after in [None, Some(&at)] {
                let filter = ConversationFilter {
                    since: since.clone(),
                    ..filter.clone()
                };
                let Some((sql, params)) = list_sql(&1, &filter, after, &51) else {
                    continue;
                };
                let samples = params
                    .iter()
                    .map(|p| match p {
                        Param::Int(v) => int(*v),
                        Param::Text(v) => text(v),
                        other => panic!("a list parameter of an unexpected type: {other:?}"),
                    })
                    .collect();
                out.push(statement(
                    format!("conversations list {filter:?} after {:?}", after.map(|a| a.id)),
                    sql,
                    samples,
                ));
            }
        }
    }
    let matching = search::matching_sql(dialect);
    let mut search = match dialect {
        Dialect::Sqlite => statement(
            "search",
            matching,
            vec![
                text("scope : (a1) AND body : (\"word\")"),
                int(i64::MAX),
                int(0),
                int(64),
            ],
        ),
        Dialect::Postgres => statement(
            "search",
            matching,
            vec![int(1), text("'#a1' & 'word'"), int(i64::MAX), int(0), int(64)],
        ),
    };
    search.planned = dialect == Dialect::Postgres;
    out.push(search);
    // `inboxd migrate`: each batch seeks to where the last one stopped.
    for (name, sql) in [
        ("migrate: stored copies to compress", convert::RAW_TO_PACK),
        ("migrate: bodies to pack", convert::BODIES_TO_PACK),
        ("migrate: envelopes to pack", convert::ENVELOPES_TO_PACK),
        ("migrate: events to pack", convert::EVENTS_TO_PACK),
    ] {
        out.push(statement(name, sql, vec![int(200), int(1000)]));
    }
    out.push(statement(
        "migrate: messages to index",
        convert::to_index_sql(),
        vec![int(1000), int(200)],
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// What SQLite's planner would do with `statement`: one line per step.
    fn plan(conn: &Connection, statement: &Statement) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", statement.sql))
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", statement.name, statement.sql));
        for (i, sample) in statement.samples.iter().enumerate() {
            match sample {
                Sample::Int(v) => stmt.raw_bind_parameter(i + 1, v),
                Sample::Text(v) => stmt.raw_bind_parameter(i + 1, v),
                Sample::Null => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null),
            }
            .unwrap();
        }
        let mut rows = stmt.raw_query();
        let mut steps = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            steps.push(row.get::<_, String>(3).unwrap());
        }
        steps
    }

    #[test]
    fn no_list_or_search_reads_a_growing_table_whole_or_sorts_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        // The check sees what it looks for: a lookup by an unindexed column, sorted.
        let bad = statement(
            "a scan",
            "SELECT id FROM messages WHERE subject = ?1 ORDER BY received_at",
            vec![text("x")],
        );
        let steps = plan(&conn, &bad);
        assert!(
            steps.iter().any(|s| s.starts_with("SCAN ")) && steps.iter().any(|s| s.contains("TEMP B-TREE")),
            "{steps:?}"
        );
        let statements = statements(Dialect::Sqlite);
        assert!(statements.len() > 60, "{}", statements.len());
        for statement in &statements {
            let steps = plan(&conn, statement);
            for step in &steps {
                // A SELECT without FROM reads one constant row; FTS5 answers from its own index.
                let scan = step.starts_with("SCAN ") && step != "SCAN CONSTANT ROW" && !step.contains("VIRTUAL TABLE");
                assert!(
                    !scan,
                    "{} reads a table whole:\n{steps:#?}\n{}",
                    statement.name, statement.sql
                );
                assert!(
                    !step.contains("TEMP B-TREE"),
                    "{} sorts what it reads:\n{steps:#?}\n{}",
                    statement.name,
                    statement.sql
                );
            }
        }
    }
}
