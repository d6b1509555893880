//! Reads that cost their page: keyset pages over real HTTP (every conversation once, also while
//! mail arrives), a conversation's messages and a contact's conversations paged, the CLI streaming
//! whole lists, and full-text search (words, phrases, addresses, accents, Chinese and Japanese,
//! whatever a person types), findable when the 250 is sent and gone when the message is. Both
//! engines. The plans behind them are tested in `tests/plans.rs` and the crate's unit tests.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;

fn get(http: SocketAddr, path: &str, key: &str) -> (u16, Value) {
    let answer = http::request(http, "GET", path, &[("Authorization", &format!("Bearer {key}"))], "");
    (answer.code, answer.json())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every page of a list from `first` (none: the first page), following `next_cursor`: the items
/// in order.
fn pages_from(http: SocketAddr, path: &str, first: Option<&str>, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = first.map(String::from);
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let (code, page) = get(http, &url, key);
        assert_eq!(code, 200, "{url}: {page}");
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
}

fn all_pages(http: SocketAddr, path: &str, key: &str) -> Vec<Value> {
    pages_from(http, path, None, key)
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

fn mail(from: &str, subject: &str, body: &str) -> String {
    message(&[("From", from), ("Subject", subject)], body)
}

on_both_backends! {
    fn every_conversation_is_listed_once_across_pages_while_mail_arrives(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", None);
        let mut c = server.connect();
        c.ehlo();
        for n in 0..40 {
            let reply = c.transaction(
                &format!("p{n}@customer.example"),
                &[&acme.address],
                mail(&format!("p{n}@customer.example"), &format!("Question {n}"), "Hello").as_bytes(),
            );
            assert_eq!(reply.code, 250);
        }
        let start = server.events(0).last().map_or(0, |e| e["id"].as_i64().unwrap());
        // Page down seven at a time; after each page, mail arrives: a reply to a conversation not
        // listed yet (it moves to the top, above the cursor) and a new conversation.
        let path = format!("/v1/accounts/{}/conversations?limit=7", acme.id);
        let mut seen: Vec<i64> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut round = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.clone(),
            };
            let (code, page) = get(http, &url, &key);
            assert_eq!(code, 200, "{page}");
            seen.extend(ids(page["data"].as_array().unwrap()));
            let sender = 39 - 8 * round; // below the cursor, in a later page
            if sender >= 0 {
                let reply = c.transaction(
                    &format!("p{sender}@customer.example"),
                    &[&acme.address],
                    mail(&format!("p{sender}@customer.example"), &format!("Re: Question {sender}"), "Again").as_bytes(),
                );
                assert_eq!(reply.code, 250);
                c.transaction("late@customer.example", &[&acme.address], mail("late@customer.example", &format!("Late {round}"), "Hi").as_bytes());
            }
            round += 1;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        c.quit();
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "a conversation was listed twice: {seen:?}");
        // What moved above the cursor is in the event log the reader follows.
        let moved: HashSet<i64> = server
            .events(start)
            .iter()
            .filter_map(|e| e["data"]["conversation_id"].as_i64())
            .collect();
        let all: BTreeSet<i64> = ids(&all_pages(http, &format!("/v1/accounts/{}/conversations", acme.id), &key))
            .into_iter()
            .collect();
        let known: BTreeSet<i64> = unique.union(&moved).copied().collect();
        assert_eq!(known, all, "every conversation is listed or announced");
        assert!(!moved.is_subset(&unique), "some conversations moved above the cursor while paging");
    }

    fn a_long_conversation_is_read_a_page_at_a_time(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", None);
        let mut c = server.connect();
        c.ehlo();
        for n in 0..120 {
            let reply = c.transaction(
                "monitor@ops.example",
                &[&acme.address],
                mail("monitor@ops.example", "Disk usage", &format!("Reading number {n}")).as_bytes(),
            );
            assert_eq!(reply.code, 250);
        }
        c.quit();
        let conversations = server.conversations(acme.id);
        assert_eq!(conversations.len(), 1, "one sender, one subject: one conversation");
        let id = conversations[0]["id"].as_i64().unwrap();
        let (code, detail) = get(http, &format!("/v1/conversations/{id}"), &key);
        assert_eq!(code, 200);
        let latest = detail["messages"].as_array().unwrap();
        assert_eq!(latest.len(), 50, "the latest 50");
        assert!(latest[0]["reply_text"].as_str().unwrap().ends_with("70"), "oldest of them first");
        assert!(latest[49]["reply_text"].as_str().unwrap().ends_with("119"));
        let cursor = detail["messages_cursor"].as_str().expect("older messages to page to");
        let older = pages_from(http, &format!("/v1/conversations/{id}/messages?limit=30"), Some(cursor), &key);
        assert_eq!(older.len(), 70);
        let texts: Vec<String> = older.iter().map(|m| m["reply_text"].as_str().unwrap().to_string()).collect();
        assert_eq!(texts[0], "Reading number 69", "newest first");
        assert_eq!(texts[69], "Reading number 0");
        let mut every: Vec<i64> = ids(latest);
        every.extend(ids(&older));
        assert_eq!(every.iter().copied().collect::<HashSet<_>>().len(), 120);
        // The CLI prints all of them, oldest first, and the same message shapes.
        let shown = server.conversation(id);
        let messages = shown["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 120);
        assert_eq!(messages[0]["reply_text"], "Reading number 0");
        assert_eq!(messages[119], latest[49]);
        // Another account's key sees none of it.
        let (_, other) = server.api_key("other", Some(server.create_account("Other").id));
        assert_eq!(get(http, &format!("/v1/conversations/{id}/messages"), &other).0, 404);
    }

    fn a_contact_shows_its_latest_conversations_and_pages_the_rest(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", Some(acme.id));
        let mut c = server.connect();
        c.ehlo();
        for n in 0..55 {
            c.transaction("ann@customer.example", &[&acme.address], mail("ann@customer.example", &format!("Topic {n}"), "Hi").as_bytes());
        }
        c.quit();
        let (code, contact) = get(http, &format!("/v1/accounts/{}/contacts/ann@customer.example", acme.id), &key);
        assert_eq!(code, 200);
        assert_eq!(contact["conversations"].as_array().unwrap().len(), 50);
        let cursor = contact["conversations_cursor"].as_str().expect("more to page to");
        let rest = pages_from(
            http,
            &format!("/v1/accounts/{}/conversations?contact=ann@customer.example", acme.id),
            Some(cursor),
            &key,
        );
        assert_eq!(rest.len(), 5);
        let mut every = ids(contact["conversations"].as_array().unwrap());
        every.extend(ids(&rest));
        assert_eq!(every.iter().copied().collect::<HashSet<_>>().len(), 55);
        // The lists the CLI prints whole, a page at a time inside.
        assert_eq!(server.conversations(acme.id).len(), 55);
        assert_eq!(server.contacts(acme.id).len(), 1);
        // A cursor of another list, or made up, is refused with a sentence.
        for bad in ["not-a-cursor", "MTIz"] {
            let (code, body) = get(http, &format!("/v1/accounts/{}/conversations?cursor={bad}", acme.id), &key);
            assert_eq!((code, body["error"]["code"].as_str()), (400, Some("bad_cursor")), "{body}");
        }
    }

    fn search_pages_list_each_conversation_once_at_its_newest_match(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", Some(acme.id));
        let mut c = server.connect();
        c.ehlo();
        let mut send = |n: usize, subject: &str, body: &str| {
            let from = format!("p{n}@customer.example");
            let reply = c.transaction(&from, &[&acme.address], mail(&from, subject, body).as_bytes());
            assert_eq!(reply.code, 250);
        };
        // Twelve conversations match once; then six of them match again, newer than all, and one
        // more message arrives in each of two others that does not match.
        for n in 0..12 {
            send(n, &format!("Invoice {n}"), "Please find the invoice attached.");
        }
        for n in 0..6 {
            send(n, &format!("Re: Invoice {n}"), "A corrected invoice, sorry.");
        }
        send(6, "Paid", "Thanks, paid.");
        send(7, "Paid", "Thanks, paid.");
        c.quit();
        let pages = |limit: usize| {
            let mut pages = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let path = format!("/v1/accounts/{}/conversations?q=invoice&limit={limit}", acme.id);
                let url = cursor.as_ref().map_or(path.clone(), |c| format!("{path}&cursor={c}"));
                let (code, page) = get(http, &url, &key);
                assert_eq!(code, 200, "{page}");
                let who: Vec<String> = page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["contact_email"].as_str().unwrap().trim_end_matches("@customer.example").to_string())
                    .collect();
                pages.push(who.join(" "));
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => break,
                }
            }
            pages
        };
        // Newest match first, each conversation once, whole pages until the last; a page may end
        // at a conversation's newest match with its older ones further down (p0 at six).
        assert_eq!(pages(4), ["p5 p4 p3 p2", "p1 p0 p11 p10", "p9 p8 p7 p6"]);
        assert_eq!(pages(6), ["p5 p4 p3 p2 p1 p0", "p11 p10 p9 p8 p7 p6"]);
        assert_eq!(pages(50), ["p5 p4 p3 p2 p1 p0 p11 p10 p9 p8 p7 p6"]);
    }

    fn search_finds_words_phrases_and_addresses_in_any_language(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", Some(acme.id));
        let send = |from: &str, name: &str, subject: &str, body: &str| {
            let msg = message(
                &[
                    ("From", &format!("{name} <{from}>")),
                    ("Subject", subject),
                    ("Content-Type", "text/plain; charset=utf-8"),
                ],
                body,
            );
            let reply = server.send(from, &[&acme.address], &msg);
            assert_eq!(reply.code, 250, "{reply:?}");
        };
        send("jane@customer.example", "Jane Doe", "Payment", "Die Überweisung ist fehlgeschlagen, bitte prüfen.");
        send("kenji@example.jp", "Kenji", "会議", "来週、東京都庁に行きます。よろしくお願いします。");
        send("marc@bistro.example", "Marc", "Menu", "We serve crème brûlée every Friday. Bookings: tables@bistro.example.");
        send("ops@monitor.example", "Ops", "Weekly report", "Nothing happened this week.");
        let search = |q: &str| -> (u16, Value) {
            get(http, &format!("/v1/accounts/{}/conversations?q={}", acme.id, encode(q)), &key)
        };
        let found = |q: &str| -> Vec<String> {
            let (code, page) = search(q);
            assert_eq!(code, 200, "{q}: {page}");
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["contact_email"].as_str().unwrap().to_string())
                .collect()
        };
        // Accents and case do not matter, either way round.
        assert_eq!(found("uberweisung"), ["jane@customer.example"]);
        assert_eq!(found("ÜBERWEISUNG FEHLGESCHLAGEN"), ["jane@customer.example"]);
        assert_eq!(found("creme brulee"), ["marc@bistro.example"]);
        // Japanese without spaces: any part of a run, from one character to the whole phrase,
        // at its start, its middle or its end; nothing that is not there in that order.
        assert_eq!(found("東京都庁"), ["kenji@example.jp"]);
        assert_eq!(found("都庁"), ["kenji@example.jp"]);
        assert_eq!(found("京都庁"), ["kenji@example.jp"]);
        assert_eq!(found("庁"), ["kenji@example.jp"]);
        assert_eq!(found("来"), ["kenji@example.jp"]);
        assert_eq!(found("お願いします"), ["kenji@example.jp"]);
        assert_eq!(found("会議"), ["kenji@example.jp"]);
        assert!(found("京都府").is_empty());
        assert!(found("庁都").is_empty());
        assert!(found("府").is_empty());
        // Every word is needed; a phrase in quotes in its order.
        assert!(found("uberweisung brulee").is_empty());
        assert_eq!(found("\"crème brûlée\""), ["marc@bistro.example"]);
        assert!(found("\"brûlée crème\"").is_empty());
        // Addresses, domains and names of senders and contacts.
        assert_eq!(found("jane@customer.example"), ["jane@customer.example"]);
        assert_eq!(found("<JANE@Customer.Example>"), ["jane@customer.example"]);
        assert_eq!(found("customer.example"), ["jane@customer.example"]);
        // An address in what someone wrote, and not one made of the same words otherwise.
        assert_eq!(found("tables@bistro.example"), ["marc@bistro.example"]);
        assert!(found("bistro@tables.example").is_empty());
        assert_eq!(found("Jane Doe"), ["jane@customer.example"]);
        // An address's word is its account's: the same sender writing to another account is
        // found there, in that account's conversation, and not here.
        let other = server.create_account("Other");
        let (_, other_key) = server.api_key("other", Some(other.id));
        let to_other = message(&[("From", "Jane Doe <jane@customer.example>"), ("Subject", "Hello")], "Hi.");
        server.send("jane@customer.example", &[&other.address], &to_other).expect(250, "2.0.0");
        let (code, there) = get(
            http,
            &format!("/v1/accounts/{}/conversations?q={}", other.id, encode("jane@customer.example")),
            &other_key,
        );
        assert_eq!(code, 200, "{there}");
        assert_eq!(there["data"].as_array().unwrap().len(), 1, "{there}");
        assert_eq!(there["data"][0]["subject"], "Hello", "{there}");
        let (_, here) = search("jane@customer.example");
        assert_eq!(here["data"].as_array().unwrap().len(), 1, "{here}");
        assert_eq!(here["data"][0]["subject"], "Payment", "{here}");
        // What the index holds for addresses: on SQLite each account's own words (the address's
        // hash, `x`, the account), on PostgreSQL (which searches addresses as phrases) none.
        match backend {
            Backend::Sqlite => {
                let db = server.db();
                db.execute_batch("CREATE VIRTUAL TABLE temp.search_words USING fts5vocab(main, message_search, row)")
                    .unwrap();
                let words: Vec<String> = db
                    .prepare("SELECT term FROM temp.search_words WHERE term LIKE 'zqa%'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let (acme_words, other_words): (Vec<&String>, Vec<&String>) =
                    words.iter().partition(|w| w.ends_with(&format!("x{}", acme.id)));
                assert!(acme_words.len() >= 5, "{words:?}");
                assert!(
                    other_words.len() == 1 && other_words[0].ends_with(&format!("x{}", other.id)),
                    "jane's one word in the other account: {words:?}"
                );
            }
            Backend::Postgres => {
                assert_eq!(server.count("SELECT count(*) FROM message_search WHERE doc::text LIKE '%zqa%'"), 0);
                assert!(server.count("SELECT count(*) FROM message_search") >= 5);
            }
        }
        // Each hit names its message and shows the words around the match.
        let (_, page) = search("Friday");
        let hit = &page["data"][0];
        let message_id = hit["match"]["message_id"].as_i64().unwrap();
        assert!(hit["match"]["snippet"].as_str().unwrap().contains("Friday"), "{hit}");
        assert_eq!(server.json(&["messages", "show", &message_id.to_string()])["subject"], "Menu");
        // Whatever is typed: results, or 400 with a sentence; never a 500.
        let long = "word ".repeat(2100);
        for q in ["\"open quote", "NEAR(a b)", "*", "^start", "-minus", "a:b", "AND OR NOT", "🙂", "''", "%", "x\"y", long.as_str()] {
            let (code, body) = search(q);
            assert!(code == 200 || (code == 400 && body["error"]["message"].is_string()), "{q:.40}: {code} {body}");
        }
        // The CLI searches the same index.
        let listed = server.json(&["conversations", "list", "--account", &acme.id.to_string(), "--query", "brulee"]);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(listed[0]["match"]["message_id"], hit["match"]["message_id"]);
        // Findable when its 250 is sent; gone when the message is.
        send("eve@customer.example", "Eve", "Refund", "Please send the zebracorn refund.");
        assert_eq!(found("zebracorn"), ["eve@customer.example"]);
        let eve = server.message_by_queue_id(&server.texts("SELECT queue_id FROM messages WHERE subject = 'Refund'")[0])[0];
        let out = server.cli(&["messages", "mark-spam", &eve.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(found("zebracorn").is_empty(), "quarantined mail is not searched");
    }

    fn an_address_finds_mail_indexed_before_addresses_had_words_and_after_migrate(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", Some(acme.id));
        for n in 0..3 {
            let from = format!("p{n}@old.example");
            server.send(&from, &[&acme.address], &mail(&from, &format!("Old {n}"), "Hello")).expect(250, "2.0.0");
        }
        // As schema 16 leaves a database whose mail was indexed before: that mail below the mark,
        // read by phrases until `inboxd migrate` indexes it again.
        let mark = server.count("SELECT max(id) FROM messages") + 1;
        let value = match backend {
            Backend::Sqlite => format!("CAST({mark} AS TEXT)"),
            Backend::Postgres => format!("convert_to('{mark}', 'UTF8')"),
        };
        server.execute(&format!("UPDATE settings SET value = {value} WHERE name = 'search_backfill_below'"));
        // And their entries as an older build wrote them: without address words.
        match backend {
            Backend::Sqlite => {
                let rows = server.texts(
                    "SELECT m.id || ' a' || m.account_id || ' k' || c.contact_id || ' c' || m.conversation_id || ' ' || m.kind || ' ' || m.from_email
                     FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id",
                );
                for row in rows {
                    let f: Vec<&str> = row.split(' ').collect();
                    assert_eq!(f[4], "message", "a direct message's scope word is t0");
                    let (local, domain) = f[5].split_once('@').unwrap();
                    let subject = format!("old {}", &local[1..]);
                    server.execute(&format!(
                        "DELETE FROM message_search WHERE rowid = {id};
                         INSERT INTO message_search (rowid, scope, body) VALUES ({id}, '{a} {k} {c} t0', '{subject} {local} {words} hello');",
                        id = f[0], a = f[1], k = f[2], c = f[3], words = domain.replace('.', " "),
                    ));
                }
            }
            Backend::Postgres => {
                server.execute(
                    "UPDATE message_search SET doc = ts_delete(doc, ARRAY(SELECT lexeme FROM unnest(doc) WHERE lexeme LIKE 'zqa%'))",
                );
                assert_eq!(server.count("SELECT count(*) FROM message_search WHERE doc::text LIKE '%zqa%'"), 0);
            }
        }
        server.send("p9@new.example", &[&acme.address], &mail("p9@new.example", "New", "Hello")).expect(250, "2.0.0");
        let found = |q: &str| -> Vec<String> {
            let (code, page) = get(http, &format!("/v1/accounts/{}/conversations?q={}&limit=2", acme.id, encode(q)), &key);
            assert_eq!(code, 200, "{q}: {page}");
            let mut emails: Vec<String> = page["data"].as_array().unwrap().iter().map(|c| c["contact_email"].as_str().unwrap().to_string()).collect();
            if let Some(next) = page["next_cursor"].as_str() {
                let (_, more) = get(http, &format!("/v1/accounts/{}/conversations?q={}&limit=2&cursor={next}", acme.id, encode(q)), &key);
                emails.extend(more["data"].as_array().unwrap().iter().map(|c| c["contact_email"].as_str().unwrap().to_string()));
            }
            emails
        };
        assert_eq!(found("p1@old.example"), ["p1@old.example"]);
        assert_eq!(found("p9@new.example"), ["p9@new.example"]);
        assert_eq!(found("hello"), ["p9@new.example", "p2@old.example", "p1@old.example", "p0@old.example"], "pages across the mark");
        let out = server.cli(&["migrate"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.contains("3 messages indexed"), "{said}");
        assert_eq!(found("p1@old.example"), ["p1@old.example"]);
        assert_eq!(found("p0@old.example"), ["p0@old.example"]);
        assert_eq!(found("hello").len(), 4);
    }

    fn a_message_of_many_long_distinct_words_is_stored_and_found(backend: Backend) {
        // 9,000 distinct words of 60 Cyrillic letters: 1.1 MB of words, past the 1 MiB a
        // PostgreSQL tsvector holds (its `to_tsvector` refused the text, and the commit with it).
        // The index keeps the words up to its size; the message is stored and found by them.
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let (_, key) = server.api_key("app", Some(acme.id));
        let words: Vec<String> = (0..9000).map(|n| format!("{}{n}", "ж".repeat(59))).collect();
        let lines: Vec<String> = words.chunks(7).map(|line| line.join(" ")).collect();
        let body = format!("zebracorn\r\n{}", lines.join("\r\n"));
        let msg = message(
            &[
                ("From", "Ivan <ivan@customer.example>"),
                ("Subject", "Опись"),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Transfer-Encoding", "8bit"),
            ],
            &body,
        );
        assert!(msg.len() > 1_100_000, "{}", msg.len());
        server.send("ivan@customer.example", &[&acme.address], &msg).expect(250, "2.0.0");
        for q in ["zebracorn", words[0].as_str(), words[5000].as_str()] {
            let (code, page) = get(http, &format!("/v1/accounts/{}/conversations?q={}", acme.id, encode(q)), &key);
            assert_eq!(code, 200, "{page}");
            assert_eq!(page["data"].as_array().unwrap().len(), 1, "{q:.20}: {page}");
        }
    }
}

#[test]
fn the_counts_an_account_page_shows_are_kept_by_the_commit() {
    let server = builder().start();
    let acme = server.create_account("Acme");
    for n in 0..5 {
        server.send(
            "x@y.example",
            &[&acme.address],
            &mail("x@y.example", &format!("S{n}"), "Hi"),
        );
    }
    let id = server.count("SELECT max(id) FROM messages");
    assert!(server.cli(&["messages", "mark-spam", &id.to_string()]).status.success());
    assert_eq!(server.count("SELECT sum(messages) FROM account_counts"), 4);
    assert_eq!(server.count("SELECT sum(quarantined) FROM account_counts"), 1);
    assert!(server.cli(&["quarantine", "delete", &id.to_string()]).status.success());
    assert_eq!(server.count("SELECT sum(quarantined) FROM account_counts"), 0);
}
