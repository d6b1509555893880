//! The CI smoke run of both fuzz targets, inside `cargo test` (no libFuzzer build, which costs four
//! minutes cold): the targets' bodies (`fuzz/harness/`) are compiled into this test with the same
//! allocation guard, every kept corpus input and saved finding is replayed through them, and then
//! each target is fed mutations of its corpus for `INBOXD_FUZZ_SMOKE_SECS` seconds (default 12).
//!
//! The mutator is deliberately simple (bit flips, interesting bytes, dictionary words, cut, copy,
//! splice): it is a smoke run for regressions, not a replacement for the 30-minute libFuzzer runs
//! described in fuzz/README.md. The sequence of mutations is fixed by a seed, the same on every run
//! so that CI is reproducible; `INBOXD_FUZZ_SMOKE_SEED=<number>` picks another sequence and
//! `INBOXD_FUZZ_SMOKE_SEED=random` a fresh one. A finding is kept under `target/tmp/fuzz-smoke/`.

#[path = "../fuzz/harness/alloc_guard.rs"]
mod alloc_guard;
#[path = "../fuzz/harness/ingest.rs"]
mod ingest;
#[path = "../fuzz/harness/smtp_session.rs"]
mod smtp_session;

#[global_allocator]
static ALLOC: alloc_guard::Guard = alloc_guard::Guard;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The allocation guard measures one input's peak across the whole process: one target at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Words the mutator inserts, besides the SMTP dictionary (fuzz/smtp.dict): MIME and the header
/// lines that steer ingest (forwards, bounces, auto-replies, threading).
const INGEST_WORDS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"--",
    b"Content-Type: multipart/mixed; boundary=\"b\"\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Type: text/html; charset=utf-8\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename=\"a.txt\"\r\n",
    b"=?utf-8?B?",
    b"=?iso-8859-1?Q?",
    b"?=",
    b"From: ",
    b"Reply-To: ",
    b"Subject: Fwd: ",
    b"In-Reply-To: <",
    b"References: <",
    b"Message-ID: <",
    b"Auto-Submitted: auto-replied\r\n",
    b"Final-Recipient: rfc822; ",
    b"Status: 5.1.1\r\n",
    b"---------- Forwarded message ---------\r\n",
    b"-----Original Message-----\r\n",
    b"On Mon, 1 Jan 2024, Jane <jane@example.com> wrote:\r\n",
    b"> ",
    b"<blockquote>",
    b"<div class=\"gmail_quote\">",
    b"<br>",
    b"@",
    b"<",
    b">",
];

/// xorshift64*: reproducible from the printed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>], words: &[Vec<u8>], max_len: usize) {
    const INTERESTING: &[u8] = b"\r\n.: <>@=\"-;\x00\xff\x7f\x80";
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 | 3 => {
                let word = &words[rng.below(words.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, word.iter().copied());
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64.min(len - start))).min(len);
                input.drain(start..end);
            }
            5 if len > 0 => {
                // Copy a piece of the input elsewhere (repeats headers, boundaries, dots).
                let start = rng.below(len);
                let end = (start + 1 + rng.below(256)).min(len);
                let piece = input[start..end].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, piece);
            }
            6 => {
                // Splice: this input's head, another input's tail.
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            _ => {
                let at = rng.below(len + 1);
                input.insert(at, rng.next() as u8);
            }
        }
    }
    input.truncate(max_len);
}

/// The entries of a libFuzzer dictionary file: `"word"` lines with `\xNN` escapes.
fn dictionary(path: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path).expect("fuzz/smtp.dict");
    let mut words = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(quoted) = line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) else {
            continue;
        };
        let bytes = quoted.as_bytes();
        let mut word = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1)) {
                (b'\\', Some(b'x')) if i + 3 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                    word.push(u8::from_str_radix(hex, 16).expect("a \\xNN escape"));
                    i += 4;
                }
                (b'\\', Some(&c)) => {
                    word.push(c);
                    i += 2;
                }
                (c, _) => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        words.push(word);
    }
    words
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs one input; on a finding, keeps the input and fails the test with where to find it.
fn run_one(target: &str, run: fn(&[u8]), input: &[u8], label: &str) {
    // Quiet while the input runs: mail-parser's debug assertions panic inside ingest's
    // catch_unwind (finding 1), and the default hook would print them and, with RUST_BACKTRACE,
    // symbolize a backtrace whose allocations the guard would count against the input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = catch_unwind(AssertUnwindSafe(|| run(input)));
    std::panic::set_hook(hook);
    if let Err(panic) = outcome {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-smoke");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{target}-{label}"));
        std::fs::write(&path, input).unwrap();
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "{target}: finding on {label}: {why}\ninput kept as {}\nreplay: cp it into fuzz/artifacts/{target}/",
            path.display()
        );
    }
}

fn smoke(target: &str, run: fn(&[u8]), extra_words: &[Vec<u8>], max_len: usize) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");

    // 1. Regressions and coverage: every saved finding and every kept corpus input.
    let saved = files(&fuzz.join("artifacts").join(target));
    let kept = files(&fuzz.join("corpus").join(target));
    assert!(
        kept.len() > 100,
        "{target}: the corpus is missing ({} inputs)",
        kept.len()
    );
    let started = Instant::now();
    let mut corpus = Vec::with_capacity(kept.len());
    for path in saved.iter().chain(&kept) {
        let data = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        run_one(target, run, &data, &format!("replay-{name}"));
        corpus.push(data);
    }
    let replay = started.elapsed();

    // 2. Mutations for a few seconds.
    let secs: u64 = std::env::var("INBOXD_FUZZ_SMOKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let seed: u64 = match std::env::var("INBOXD_FUZZ_SMOKE_SEED").ok().as_deref() {
        None | Some("") => 0x1B0C_5D00_F022_5EED,
        Some("random") => SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
        Some(number) => number.parse().expect("INBOXD_FUZZ_SMOKE_SEED: a number or `random`"),
    };
    let words: Vec<Vec<u8>> = INGEST_WORDS
        .iter()
        .map(|w| w.to_vec())
        .chain(extra_words.iter().cloned())
        .collect();
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut execs = 0u64;
    while Instant::now() < deadline {
        let mut input = corpus[rng.below(corpus.len())].clone();
        mutate(&mut rng, &mut input, &corpus, &words, max_len);
        run_one(target, run, &input, &format!("seed{seed}-exec{execs}"));
        execs += 1;
    }
    println!(
        "{target}: replayed {} saved findings and {} corpus inputs in {replay:.1?}; \
         {execs} mutated inputs in {secs} s (seed {seed}), no finding",
        saved.len(),
        kept.len()
    );
    assert!(execs > 0, "{target}: no mutated input ran");
}

#[test]
fn the_smtp_session_target_survives_its_corpus_and_mutations() {
    let dict = dictionary(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/smtp.dict"));
    assert!(dict.len() > 20, "the SMTP dictionary is missing");
    smoke("smtp_session", smtp_session::run, &dict, 200_000);
}

#[test]
fn the_ingest_target_survives_its_corpus_and_mutations() {
    smoke("ingest", ingest::run, &[], 131_072);
}
