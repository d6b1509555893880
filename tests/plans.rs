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
        let mode = if statement.planned {
            "force_custom_plan"
        } else {
            "force_generic_plan"
        };
        db.batch_execute(&format!("SET plan_cache_mode = {mode}")).unwrap();
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

/// Search is planned for its words each time: a word in many messages is found walking the
/// account's newest rows until a page is full, a rare one read from the GIN index, and neither
/// reads the table whole.
#[test]
fn search_walks_the_newest_rows_for_a_frequent_word_and_the_index_for_a_rare_one() {
    let url = pg::database();
    let server = builder().set("database.url", url.as_str()).start();
    let mut db = server.pg();
    // 20,000 messages' entries of forty words or so: every one says "hello", one in a thousand
    // "zebracorn".
    db.batch_execute(
        "INSERT INTO message_search (message_id, account_id, doc)
         SELECT n, 1, to_tsvector('simple', 'hello there ' || CASE WHEN n % 1000 = 0 THEN 'zebracorn' ELSE 'thanks' END
                || ' ' || (SELECT string_agg(md5(n::text || '.' || g::text), ' ') FROM generate_series(1, 40) AS g))
            || CAST('''#a1''' AS tsvector)
         FROM generate_series(1, 20000) AS n;
         ANALYZE message_search;",
    )
    .unwrap();
    let statement = statements(Dialect::Postgres)
        .into_iter()
        .find(|s| s.name == "search")
        .unwrap();
    assert!(statement.planned);
    let sql = inboxd::store::engine::postgres::rewrite(&statement.sql);
    db.batch_execute("SET plan_cache_mode = force_custom_plan").unwrap();
    let plan = |db: &mut postgres::Client, words: &str| {
        let args = [
            "1".to_string(),
            format!("'{}'", words.replace('\'', "''")),
            i64::MAX.to_string(),
            "0".into(),
            "64".into(),
        ];
        explain(db, &sql, &args)
    };
    let frequent = plan(&mut db, "'#a1' & 'hello'");
    assert!(
        frequent.contains("Index Scan Backward") && !frequent.contains("Bitmap") && !frequent.contains("Seq Scan"),
        "{frequent}"
    );
    let rare = plan(&mut db, "'#a1' & 'zebracorn'");
    assert!(
        rare.contains("Bitmap Index Scan on message_search_doc") && !rare.contains("Seq Scan"),
        "{rare}"
    );
}
