//! A message's search document alone (`store::search::document`): the words it is indexed under,
//! built on the sessions' threads for every message. A benchmark, not a test: run it on two builds
//! to compare them.
//!
//! `cargo bench --bench search_document` prints, per input, the size and the time per call (the
//! median of the runs).

use inboxd::store::search::document;
use std::time::{Duration, Instant};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(name: &str, parts: &[&str]) {
    let bytes: usize = parts.iter().map(|p| p.len()).sum();
    let runs = if bytes > 100_000 { 50 } else { 2_000 };
    let mut taken = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        std::hint::black_box(document(std::hint::black_box(parts)));
        taken.push(started.elapsed());
    }
    println!(
        "{name:<44} {bytes:>9} bytes  {:>10.2} µs per call",
        median(taken).as_secs_f64() * 1e6
    );
}

fn main() {
    // smtp-source's 2 KiB body, from a@b.test, no subject.
    let source: String = (1..=26).map(|i| format!("{i}{}\n", "X".repeat(78))).collect();
    // A letter of twelve lines of ten words, in English, in German with its umlauts, in Japanese.
    let letter = |words: &[&str]| -> String {
        (0..12)
            .map(|line| {
                let text: Vec<&str> = (0..10).map(|n| words[(line * 3 + n) % words.len()]).collect();
                format!("{} \n", text.join(" "))
            })
            .collect()
    };
    let english = letter(&[
        "thank", "you", "for", "the", "order", "we", "will", "ship", "it", "tomorrow",
    ]);
    let german = letter(&[
        "Grüße",
        "für",
        "die",
        "Bestellung",
        "wir",
        "schicken",
        "sie",
        "morgen",
        "Straße",
        "Lösung",
    ]);
    let japanese = letter(&[
        "ご注文",
        "ありがとう",
        "ございます",
        "明日",
        "発送",
        "します",
        "よろしく",
        "お願い",
        "東京都",
        "配達",
    ]);
    let long: String = english.repeat(200);
    time("smtp-source's 2 KiB body", &["", "", "a@b.test", &source, ""]);
    time(
        "a letter in English",
        &[
            "Re: Order 12-3",
            "Customer 12",
            "sender12@customer.example",
            &english,
            "",
        ],
    );
    time(
        "a letter in German",
        &["Re: Bestellung", "Jürgen Groß", "juergen@kunde.example", &german, ""],
    );
    time(
        "a letter in Japanese",
        &["Re: ご注文", "山田 太郎", "taro@customer.example", &japanese, ""],
    );
    time(
        "100 KB of English",
        &["Re: Order 12-3", "Customer 12", "sender12@customer.example", &long, ""],
    );
}
