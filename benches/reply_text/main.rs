//! The reply-text step alone (`ingest::reply_text`): how long it takes on the inputs that cost it
//! most (a 766 KB reply that quotes a long history, text built to look like the start of an
//! attribution on every line, header-like lines, brackets, one enormous line) and on ordinary
//! replies. A benchmark, not a test: run it on two builds to compare them.
//!
//! `cargo bench --bench reply_text` prints, per input, the size and the time per call (the median
//! of the runs).

use inboxd::ingest::reply_text::{from_html, from_text, split_signature};
use std::time::{Duration, Instant};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(name: &str, input: &str, html: bool) {
    let runs = if input.len() > 100_000 { 15 } else { 200 };
    let mut taken = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let reply = if html { from_html(input) } else { from_text(input) };
        let _ = std::hint::black_box(split_signature(&reply));
        taken.push(started.elapsed());
    }
    println!(
        "{name:<44} {:>9} bytes  {:>10.1} µs per call",
        input.len(),
        median(taken).as_secs_f64() * 1e6
    );
}

fn main() {
    // A short answer above 766 KB of quoted history, as a thread of years quotes itself.
    let mut long = String::from(
        "Thanks, that is fine.\n\nOn Mon, Dec 2, 2024 at 2:05 PM Jane Doe <jane@customer.example> wrote:\n",
    );
    let mut n = 0;
    while long.len() < 766 * 1024 {
        long.push_str(&format!(
            "> line {n} of the history, with some words to make it as long as mail lines are\n"
        ));
        if n % 40 == 0 {
            long.push_str(">\n> On Sun, Dec 1, 2024 at 9:00 AM Tom <tom@acme.example> wrote:\n");
        }
        n += 1;
    }
    // Every line could open an attribution and none closes one.
    let leads: String = (0..20_000)
        .map(|i| format!("On Monday {i} at 12:{:02} somebody said something\n", i % 60))
        .collect();
    // Header-like lines that never make a block.
    let headers: String = (0..20_000).map(|i| format!("From: line {i}\nNote: 2024\n")).collect();
    let dates: String = (0..20_000)
        .map(|i| format!("02.12.2024 14:{:02}, Jane\n", i % 60))
        .collect();
    let brackets = "<".repeat(1 << 20);
    let one_line = "é".repeat(1 << 19);
    let html_long = format!(
        "<div>Thanks.</div><div class=\"gmail_quote\">{}</div>",
        "<blockquote><p>old words</p>".repeat(20_000)
    );
    let short = "Yes, Thursday works.\n\nOn Mon, Dec 2, 2024 at 2:05 PM Jane Doe <jane@customer.example> wrote:\n> Can we meet?\n> At 10?\n";
    let wrapped = "Ja.\n\npo 2. 12. 2024 v 14:05 odesílatel\nJane Doe <jane@customer.example>\nnapsal:\n> Old.\n";
    let signed = "On my way.\n\nSent from my Samsung Galaxy S23 Ultra\n";
    time("766 KB reply quoting a long history", &long, false);
    time("20,000 lines opening an attribution", &leads, false);
    time("40,000 header-like lines", &headers, false);
    time("20,000 date lines", &dates, false);
    time("1 MiB of '<'", &brackets, false);
    time("one 1 MiB line", &one_line, false);
    time("HTML, 20,000 nested blockquotes", &html_long, true);
    // What the benchmarks send: smtp-source's 2 KiB body (lines of 79 characters), and a letter of
    // twelve lines of ten words in three paragraphs, as `benches/scale` writes.
    let source: String = (1..=26).map(|i| format!("{i}{}\n", "X".repeat(78))).collect();
    let words = [
        "thank", "you", "for", "the", "order", "we", "will", "ship", "it", "tomorrow",
    ];
    let letter: String = (0..12)
        .map(|line| {
            let text: Vec<&str> = (0..10).map(|n| words[(line * 3 + n) % words.len()]).collect();
            format!("{} \n{}", text.join(" "), if line % 4 == 3 { "\n" } else { "" })
        })
        .collect();
    time("smtp-source's 2 KiB body", &source, false);
    time("a letter of twelve lines", &letter, false);
    time("a short reply", short, false);
    time("a wrapped attribution", wrapped, false);
    time("a mobile signature", signed, false);
}
