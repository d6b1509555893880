//! PostgreSQL's plans of every list and search statement (`inboxd::store::plans`), on a real server
//! with a migrated database: with sequential scans and sorts made the last resort, no statement may
//! still read a growing table whole or sort it, however small the data (SQLite's plans are tested
//! in the crate's unit tests).

mod common;

use common::*;
use inboxd::store::plans::{GROWING, statements};
use inboxd::store::sql::Dialect;

#[test]
fn no_list_or_search_reads_a_growing_table_whole_or_sorts_it_on_postgres() {
    let url = pg::database();
    let server = builder().set("database.url", url.as_str()).start();
    let mut db = server.pg();
    // The plan PostgreSQL keeps for a statement prepared once and run again and again (ours are):
    // made for any value, not the sample's, with scans and sorts as the last resort.
    db.batch_execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET enable_sort = off")
        .unwrap();
    // The check sees what it looks for.
    let bad = explain(
        &mut db,
        "SELECT id FROM messages WHERE subject = $1 ORDER BY received_at",
        &["'x'".into()],
    );
    assert!(bad.contains("Seq Scan on messages") && bad.contains("Sort"), "{bad}");
    let all = statements(Dialect::Postgres);
    assert!(all.len() > 60, "{}", all.len());
    for statement in all {
        let sql = inboxd::store::engine::postgres::rewrite(&statement.sql);
        let args: Vec<String> = statement.samples.iter().map(|s| s.literal()).collect();
        let text = explain(&mut db, &sql, &args);
        for table in GROWING {
            assert!(
                !text.contains(&format!("Seq Scan on {table}")),
                "{} reads {table} whole:\n{text}\n{sql}",
                statement.name
            );
        }
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().trim_start_matches("->").trim_start().starts_with("Sort")),
            "{} sorts what it reads:\n{text}\n{sql}",
            statement.name
        );
    }
}

/// The plan of `sql` prepared, then run with `args` (SQL literals).
fn explain(db: &mut postgres::Client, sql: &str, args: &[String]) -> String {
    db.batch_execute("DEALLOCATE ALL").unwrap();
    db.batch_execute(&format!("PREPARE planned AS {sql}"))
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let call = if args.is_empty() {
        "EXPLAIN EXECUTE planned".to_string()
    } else {
        format!("EXPLAIN EXECUTE planned({})", args.join(", "))
    };
    db.query(&call, &[])
        .unwrap_or_else(|e| panic!("{e}\n{call}\n{sql}"))
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}
