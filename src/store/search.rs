//! Full-text search over an account's conversations, inside the database: SQLite's FTS5 or
//! PostgreSQL's `tsvector` with a GIN index, no search server beside them. Everything that decides
//! what matches is ours and the same on both engines: the words a message is indexed under and
//! the words a query asks for come from one tokenizer ([`tokens`]), so the engines only store and
//! intersect lists of words.
//!
//! The tokenizer folds case and accents (NFKD, combining marks dropped), splits on anything that
//! is not a letter or a digit, and cuts runs of scripts written without spaces (Chinese,
//! Japanese, Korean, Thai, …) into overlapping two-character pieces, as CJK search engines do:
//! any part of such a run of two characters or more is the phrase of its pieces, found at exactly
//! the places it appears. A message's document also lists each such character it holds once, as
//! a word of its own (`q` and the character, which no text yields), so that one character alone
//! is a word lookup too, never a scan of the words that start with it.
//!
//! An address (`local@domain`) anywhere in a message is also indexed as one word of its own, the
//! account's: the address mark, a hash of its folded parts and the account's id. Searched as the
//! phrase of its pieces, an address walks the lists of its domain's pieces, which are in nearly
//! every message of an account (9 ms at 1,000,000 messages, and growing); as its one word, it
//! reads only the account's messages that hold it, and needs no account's scope word beside it
//! (a word in every entry of the account, whose list cost 0.5 ms of the 0.53 at 1,000,000). Mail
//! indexed before schema 16 holds no such word until `inboxd migrate` indexes it again (the
//! setting [`BACKFILL`] says below which id): below that id an address is still searched as its
//! phrase. PostgreSQL searches an address as its phrase everywhere (see `Query::tsquery`): its
//! GIN index intersects the words' lists and its planner needs their frequencies, so its entries
//! hold no address words.
//!
//! A query is a list of terms that must all match: a word (a domain is the phrase of its words,
//! an address its one word), or a `"quoted phrase"`. Whatever a person types is a valid query: every word is
//! quoted into the engine's syntax, so operators, quotes left open and punctuation are just text.
//!
//! This module is the whole interface: indexing a message (in the commit that stores it), removing
//! one, and searching. A deployment that outgrows it would put an external index behind the same
//! three functions.

use super::conversations::{self, ConversationFilter, Found, Listed};
use super::error::StoreError;
use super::page::{Page, Paged};
use super::sql::{Conn, Dialect};
use super::value::args;
use crate::mail::Kind;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use unicode_normalization::UnicodeNormalization;

/// Words indexed per message at most (PostgreSQL keeps word positions up to 16,383): about
/// 100 KB of text. What comes later in a very long message is not found by search.
const MAX_WORDS: usize = 16_000;
/// A longer run of letters (a hash, an encoded blob) is indexed by its first characters.
const MAX_WORD_CHARS: usize = 64;
/// Terms in one query at most, and words in one term.
const MAX_TERMS: usize = 32;
const MAX_TERM_WORDS: usize = 64;

/// Addresses indexed as words of their own per message at most.
const MAX_ADDRESSES: usize = 64;

/// The setting that says which messages are still to be indexed again (`inboxd migrate`): those
/// with a smaller id. Messages from it up hold their addresses as their account's words.
pub(super) const BACKFILL: &str = "search_backfill_below";

/// A query that cannot be searched, with the sentence that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

/// What a person asked for, as words the index knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Words that must appear one after the other (one word is a phrase of one).
    Phrase(Vec<String>),
    /// One character of an unspaced script, anywhere.
    Character(char),
    /// An address: its word ([`address_word`], made an account's by [`account_address_word`]),
    /// and its words as a phrase (for mail indexed before addresses had words of their own, and
    /// for the snippet).
    Address(String, Vec<String>),
}

/// What a message's document says for each address it holds: a word no text yields (the
/// tokenizer splits letters from punctuation, and no word of mail is this mark and 16 hex
/// digits by chance).
const ADDRESS_MARK: &str = "zqa";

/// The word `local@domain` is indexed under: the mark and the first 8 bytes (hex) of the SHA-256
/// of its folded words, the local part's and the domain's joined by dots.
fn address_word(local: &[String], domain: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let key = format!("{}@{}", local.join("."), domain.join("."));
    let hash = Sha256::digest(key.as_bytes());
    let mut word = String::from(ADDRESS_MARK);
    for b in &hash[..8] {
        word.push_str(&format!("{b:02x}"));
    }
    word
}

/// Characters of an address's word: the mark and 16 hex digits.
const ADDRESS_WORD_LEN: usize = ADDRESS_MARK.len() + 16;

/// Whether `word` is an address's word as [`address_word`] makes it.
fn is_address_word(word: &str) -> bool {
    word.len() == ADDRESS_WORD_LEN
        && word.starts_with(ADDRESS_MARK)
        && word
            .bytes()
            .skip(ADDRESS_MARK.len())
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An address's word as one account indexes and searches it: the address's, `x`, the account's
/// id (still one word to FTS5's tokenizer, and no other account's).
fn account_address_word(word: &str, account: i64) -> String {
    format!("{word}x{account}")
}

/// A message's document as SQLite indexes it in `account`: each address's word made the
/// account's ([`account_address_word`]). The words are found with a substring search, not by
/// splitting the document: this runs on the writer, once a message.
fn sqlite_document(document: &str, account: i64) -> Cow<'_, str> {
    let bytes = document.as_bytes();
    let mut out = String::new();
    let mut from = 0;
    for at in memchr::memmem::find_iter(bytes, ADDRESS_MARK.as_bytes()) {
        let end = at + ADDRESS_WORD_LEN;
        // A whole word: a space (or the document's edge) on each side, so both ends are
        // character boundaries before the word is sliced.
        let whole = at >= from
            && (at == 0 || bytes[at - 1] == b' ')
            && end <= bytes.len()
            && (end == bytes.len() || bytes[end] == b' ');
        if !whole || !is_address_word(&document[at..end]) {
            continue;
        }
        out.push_str(&document[from..at]);
        out.push_str(&account_address_word(&document[at..end], account));
        from = end;
    }
    if from == 0 {
        return Cow::Borrowed(document);
    }
    out.push_str(&document[from..]);
    Cow::Owned(out)
}

/// Bytes an address's local part may hold (RFC 5322's atext and dots; anything beyond ASCII is
/// taken as a letter of an internationalized address).
fn local_byte(b: u8) -> bool {
    b >= 0x80 || b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b)
}

/// Bytes a domain may hold.
fn domain_byte(b: u8) -> bool {
    b >= 0x80 || b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// Each address in `text` (`local@domain`, the domain with a dot), as its local part's and its
/// domain's folded words and the bytes it spans.
fn addresses(text: &str, mut each: impl FnMut(Vec<String>, Vec<String>, std::ops::Range<usize>) -> bool) {
    let bytes = text.as_bytes();
    for at in memchr::memchr_iter(b'@', bytes) {
        let start = bytes[..at].iter().rposition(|b| !local_byte(*b)).map_or(0, |p| p + 1);
        let end = bytes[at + 1..]
            .iter()
            .position(|b| !domain_byte(*b))
            .map_or(bytes.len(), |p| at + 1 + p);
        // Both ends stop at an ASCII byte or the text's end: character boundaries.
        let local = text[start..at].trim_start_matches('.');
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        if local.is_empty() || !domain.contains('.') {
            continue;
        }
        let (local_words, domain_words) = (tokens(local), tokens(domain));
        if local_words.is_empty() || domain_words.len() < 2 {
            continue;
        }
        if !each(local_words, domain_words, start..at + 1 + domain.len()) {
            return;
        }
    }
}

/// What a message's document says before each character of an unspaced script it holds: a
/// lowercase ASCII letter, which the tokenizer never joins to such a character (their runs are
/// cut apart), so `q東` is no word of any text.
const CHARACTER_MARK: char = 'q';

/// A word and where it stands in the text it came from (bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    span: std::ops::Range<usize>,
}

/// Scripts written without spaces between words, whose runs are cut into pieces.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x2FA1F) // CJK extensions B and later
}

/// Letters that people write out with plain ones when they type (and that decomposition leaves
/// alone): `ß` as `ss`, `æ` as `ae`, `ø` as `o`, `ł` as `l`, …
fn spelled_out(c: char) -> impl Iterator<Item = char> {
    let (first, second) = match c {
        'ß' => ('s', Some('s')),
        'æ' => ('a', Some('e')),
        'œ' => ('o', Some('e')),
        'þ' => ('t', Some('h')),
        'ø' => ('o', None),
        'ł' => ('l', None),
        'đ' | 'ð' => ('d', None),
        'ı' => ('i', None),
        other => (other, None),
    };
    std::iter::once(first).chain(second)
}

/// Calls `each` with every word of `text`, folded, and where it stands (bytes), until it returns
/// false. ASCII, most of mail, is folded on the spot; anything else is decomposed (NFKD) and its
/// combining marks dropped.
fn each_word(text: &str, mut each: impl FnMut(&str, std::ops::Range<usize>) -> bool) {
    let mut current = String::new();
    let mut start = 0;
    let mut run_unspaced = false;
    // A word ends: said whole, or for a run of an unspaced script, as its overlapping pieces of
    // two (a run of one character is itself).
    let mut flush = |current: &mut String, start: usize, end: usize, cut: bool| -> bool {
        if current.is_empty() {
            return true;
        }
        let go_on = if cut {
            let chars: Vec<(usize, char)> = current.char_indices().collect();
            if chars.len() == 1 {
                each(current, start..end)
            } else {
                chars.windows(2).enumerate().all(|(n, pair)| {
                    let to = chars.get(n + 2).map_or(current.len(), |(at, _)| *at);
                    each(&current[pair[0].0..to], start..end)
                })
            }
        } else {
            let cut_at = current
                .char_indices()
                .nth(MAX_WORD_CHARS)
                .map_or(current.len(), |(at, _)| at);
            each(&current[..cut_at], start..end)
        };
        current.clear();
        go_on
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii() {
            if b.is_ascii_alphanumeric() {
                if !current.is_empty() && run_unspaced && !flush(&mut current, start, at, true) {
                    return;
                }
                if current.is_empty() {
                    start = at;
                    run_unspaced = false;
                }
                // The whole run of ASCII letters and digits at once.
                let end = bytes[at..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(bytes.len(), |n| at + n);
                current.extend(bytes[at..end].iter().map(|b| char::from(b.to_ascii_lowercase())));
                at = end;
            } else {
                if !current.is_empty() && !flush(&mut current, start, at, run_unspaced) {
                    return;
                }
                at += 1;
            }
            continue;
        }
        let c = text[at..].chars().next().unwrap_or('\u{fffd}');
        let next = at + c.len_utf8();
        let mut any = false;
        let folded = std::iter::once(c)
            .nfkd()
            .filter(|d| !unicode_normalization::char::is_combining_mark(*d))
            .flat_map(char::to_lowercase)
            .flat_map(spelled_out)
            .filter(|d| d.is_alphanumeric());
        for f in folded {
            let is_unspaced = unspaced(f);
            if !current.is_empty() && is_unspaced != run_unspaced && !flush(&mut current, start, at, run_unspaced) {
                return;
            }
            if current.is_empty() {
                start = at;
                run_unspaced = is_unspaced;
            }
            current.push(f);
            any = true;
        }
        if !any
            && !current.is_empty()
            && !unicode_normalization::char::is_combining_mark(c)
            && !flush(&mut current, start, at, run_unspaced)
        {
            return;
        }
        at = next;
    }
    flush(&mut current, start, text.len(), run_unspaced);
}

/// The words of `text`, folded, with their places (at most [`MAX_WORDS`]).
fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    each_word(text, |word, span| {
        out.push(Word {
            text: word.to_string(),
            span,
        });
        out.len() < MAX_WORDS
    });
    out
}

/// The words of `text`, folded, as the index keeps them.
pub fn tokens(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.text).collect()
}

/// A message's search document from its parts (subject, text, sender, …): its words, space
/// separated, at most [`MAX_WORDS`], then each character of an unspaced script among them once
/// (after [`CHARACTER_MARK`]).
pub fn document(parts: &[&str]) -> String {
    let mut doc = String::new();
    let mut count = 0;
    let mut characters: Vec<char> = Vec::new();
    for part in parts {
        each_word(part, |word, _| {
            if count == MAX_WORDS {
                return false;
            }
            if !doc.is_empty() {
                doc.push(' ');
            }
            doc.push_str(word);
            if word.chars().next().is_some_and(unspaced) {
                characters.extend(word.chars());
            }
            count += 1;
            true
        });
    }
    characters.sort_unstable();
    characters.dedup();
    for c in characters {
        if !doc.is_empty() {
            doc.push(' ');
        }
        doc.push(CHARACTER_MARK);
        doc.push(c);
    }
    let mut addressed: Vec<String> = Vec::new();
    for part in parts {
        addresses(part, |local, domain, _| {
            addressed.push(address_word(&local, &domain));
            addressed.len() < MAX_ADDRESSES
        });
        if addressed.len() == MAX_ADDRESSES {
            break;
        }
    }
    addressed.sort_unstable();
    addressed.dedup();
    for word in addressed {
        if !doc.is_empty() {
            doc.push(' ');
        }
        doc.push_str(&word);
    }
    doc
}

impl Query {
    /// Reads what a person typed: words, and phrases in double quotes (a quote left open runs to
    /// the end). An error when nothing in it can be searched for, or when it asks for too much.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut terms = Vec::new();
        for (quoted, chunk) in text.split('"').enumerate().map(|(i, c)| (i % 2 == 1, c)) {
            let pieces: Vec<&str> = if quoted {
                vec![chunk]
            } else {
                chunk.split_whitespace().collect()
            };
            for piece in pieces {
                let words = words(piece);
                if words.is_empty() {
                    continue;
                }
                // A piece that is one address (whatever brackets or punctuation around it) is
                // that address.
                if !quoted && let Some(term) = address_term(piece, &words) {
                    terms.push(term);
                    continue;
                }
                if words.len() > MAX_TERM_WORDS {
                    return Err(QueryError(format!(
                        "a term of the search has more than {MAX_TERM_WORDS} words; search for fewer"
                    )));
                }
                // One character of an unspaced script alone is looked up among the message's
                // characters; anything longer is the phrase of its words and pieces, which the
                // document holds in the same order.
                let mut chars = words[0].text.chars();
                match (words.len(), chars.next(), chars.next()) {
                    (1, Some(c), None) if unspaced(c) => terms.push(Term::Character(c)),
                    _ => terms.push(Term::Phrase(words.into_iter().map(|w| w.text).collect())),
                }
            }
        }
        if terms.is_empty() {
            return Err(QueryError("the search has no letters or digits to look for".into()));
        }
        if terms.len() > MAX_TERMS {
            return Err(QueryError(format!(
                "the search has more than {MAX_TERMS} terms; search for fewer"
            )));
        }
        terms.dedup();
        Ok(Query { terms })
    }

    /// The words a snippet looks for (the first word of each term).
    fn leads(&self) -> Vec<String> {
        self.terms
            .iter()
            .map(|t| match t {
                Term::Phrase(words) | Term::Address(_, words) => words[0].clone(),
                Term::Character(c) => c.to_string(),
            })
            .collect()
    }

    /// Whether a term is an address, whose word says the account in mail indexed now.
    fn addressed(&self) -> bool {
        self.terms.iter().any(|t| matches!(t, Term::Address(..)))
    }

    /// The words of each term as the document holds them, a term's words in order; an address
    /// as its word in `account`, or as its phrase in mail indexed before addresses had words
    /// (`Old`) and where no account is said.
    fn indexed(&self, mail: Indexed, account: Option<i64>) -> impl Iterator<Item = Vec<String>> + '_ {
        self.terms.iter().map(move |t| match (t, mail, account) {
            (Term::Address(word, _), Indexed::Current, Some(account)) => {
                vec![account_address_word(word, account)]
            }
            (Term::Phrase(words), ..) | (Term::Address(_, words), ..) => words.clone(),
            (Term::Character(c), ..) => vec![format!("{CHARACTER_MARK}{c}")],
        })
    }

    /// FTS5's MATCH expression over the `body` column, every word quoted.
    fn fts5(&self, mail: Indexed, account: Option<i64>) -> String {
        self.indexed(mail, account)
            .map(|words| format!("\"{}\"", words.join(" ")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// PostgreSQL's tsquery text, every word quoted; an address as its phrase. PostgreSQL's
    /// planner has no statistics for a word each address makes its own: it took the address's word
    /// for a frequent one and walked the account's entries newest first (604 ms at 1,000,000
    /// messages), where the frequencies of the address's words lead it to the GIN index.
    fn tsquery(&self) -> String {
        self.indexed(Indexed::Old, None)
            .map(|words| {
                let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
                format!("({})", quoted.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// The piece as an address term, when it is one address and nothing more.
fn address_term(piece: &str, words: &[Word]) -> Option<Term> {
    let mut found = None;
    addresses(piece, |local, domain, _| {
        found = Some((local, domain));
        false
    });
    let (local, domain) = found?;
    let phrase: Vec<String> = local.iter().chain(&domain).cloned().collect();
    let whole = words.iter().map(|w| &w.text).eq(phrase.iter());
    whole.then(|| Term::Address(address_word(&local, &domain), phrase))
}

/// How the mail a search reads was indexed: with its addresses as words of their own, or before
/// (below the [`BACKFILL`] mark, until `inboxd migrate` indexes it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Indexed {
    Current,
    Old,
}

/// The scope a message is indexed under: its account, its conversation's contact, its
/// conversation and its kind. Filters are words of it, so the engine narrows by them.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    pub account: i64,
    pub contact: i64,
    pub conversation: i64,
    pub kind: Kind,
}

fn kind_word(kind: Kind) -> String {
    format!("t{}", Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0))
}

impl Scope {
    /// FTS5's `scope` column.
    fn fts5(&self) -> String {
        format!(
            "a{} k{} c{} {}",
            self.account,
            self.contact,
            self.conversation,
            kind_word(self.kind)
        )
    }

    /// PostgreSQL's scope lexemes (`#` keeps them apart from words, which never hold one).
    fn tsvector(&self) -> String {
        format!(
            "'#a{}' '#k{}' '#c{}' '#{}'",
            self.account,
            self.contact,
            self.conversation,
            kind_word(self.kind)
        )
    }
}

/// Places PostgreSQL keeps in a `tsvector`: later words stand at the last.
const MAX_POSITION: usize = 16_383;
/// Bytes of words a `tsvector` may hold (PostgreSQL's limit is 1 MiB of distinct words; this
/// counts every word, so a document of many long distinct words stops short of it, not past).
const MAX_TSVECTOR_BYTES: usize = 1_000_000;

/// PostgreSQL's `tsvector` literal of a message's document and its scope: each word at its place
/// (counted from 1), its address words left out (PostgreSQL searches addresses as phrases), then
/// the scope's lexemes. PostgreSQL gathers a word's places and sorts the words as it reads the
/// literal, which costs it half of what `to_tsvector` spent parsing the text again (a 300-word
/// document: 115 against 210 µs), and the words are exactly the tokenizer's, as the queries' are.
fn tsvector(document: &str, scope: &Scope) -> String {
    let mut literal = String::with_capacity(document.len() * 2 + 64);
    let mut bytes = 0;
    let words = document.split(' ').filter(|w| !w.is_empty() && !is_address_word(w));
    for (index, word) in words.enumerate() {
        bytes += word.len();
        if bytes > MAX_TSVECTOR_BYTES {
            break;
        }
        literal.push('\'');
        for c in word.chars() {
            match c {
                '\'' => literal.push_str("''"),
                '\\' => literal.push_str("\\\\"),
                c => literal.push(c),
            }
        }
        let _ = write!(literal, "':{} ", (index + 1).min(MAX_POSITION));
    }
    literal.push_str(&scope.tsvector());
    literal
}

/// A message to index, with the words it is found by.
#[derive(Debug)]
pub(super) struct Entry {
    pub message_id: i64,
    pub scope: Scope,
    pub document: String,
}

/// Indexes messages, in the commit that stores them (findable when their 250 is sent), all of a
/// batch's at its end: FTS5 writes what it gathered at every savepoint, and one segment a batch
/// costs a fraction of one a message.
pub(super) async fn index(conn: Conn<'_>, entries: &[Entry]) -> Result<(), StoreError> {
    match conn.dialect() {
        Dialect::Sqlite => {
            for e in entries {
                conn.execute(
                    "INSERT INTO message_search (rowid, scope, body) VALUES (?1, ?2, ?3)",
                    args![
                        e.message_id,
                        e.scope.fts5(),
                        sqlite_document(&e.document, e.scope.account).as_ref()
                    ],
                )
                .await?;
            }
        }
        Dialect::Postgres if !entries.is_empty() => {
            let rows: Vec<serde_json::Value> = entries
                .iter()
                .map(|e| serde_json::json!([e.message_id, e.scope.account, tsvector(&e.document, &e.scope)]))
                .collect();
            conn.execute(
                "INSERT INTO message_search (message_id, account_id, doc)
                 SELECT CAST(e->>0 AS BIGINT), CAST(e->>1 AS BIGINT), CAST(e->>2 AS tsvector)
                 FROM json_array_elements(CAST(?1 AS JSON)) AS e",
                args![serde_json::Value::Array(rows).to_string()],
            )
            .await?;
        }
        Dialect::Postgres => {}
    }
    Ok(())
}

/// Removes a message from the index (deleted, quarantined, or about to be indexed anew).
pub(super) async fn remove(conn: Conn<'_>, message_id: i64) -> Result<(), StoreError> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => "DELETE FROM message_search WHERE rowid = ?1",
        Dialect::Postgres => "DELETE FROM message_search WHERE message_id = ?1",
    };
    conn.execute(sql, args![message_id]).await?;
    Ok(())
}

/// Candidates read from the index at a time.
const CHUNK: i64 = 64;

/// The engine's expression for `query` within `account` (when said) and `scope_words` (the
/// filters, or one conversation), leaving out the conversations in `skip`. On SQLite an
/// address's word in mail indexed now is the account's own: the account's scope word, whose list
/// holds every entry of the account, is then left out.
fn expression(
    dialect: Dialect,
    query: &Query,
    mail: Indexed,
    account: Option<i64>,
    scope_words: &[String],
    skip: &[i64],
) -> String {
    let account_word = account.map(|a| format!("a{a}"));
    match dialect {
        Dialect::Sqlite => {
            let scoped = mail == Indexed::Old || !query.addressed();
            let words: Vec<&str> = account_word
                .iter()
                .filter(|_| scoped)
                .chain(scope_words)
                .map(String::as_str)
                .collect();
            let body = format!("body : ({})", query.fts5(mail, account));
            let mut expr = if words.is_empty() {
                body
            } else {
                format!("scope : ({}) AND {body}", words.join(" AND "))
            };
            if !skip.is_empty() {
                let skipped: Vec<String> = skip.iter().map(|c| format!("c{c}")).collect();
                expr = format!("({expr}) NOT scope : ({})", skipped.join(" OR "));
            }
            expr
        }
        Dialect::Postgres => {
            let scope: Vec<String> = account_word
                .iter()
                .chain(scope_words)
                .map(|w| format!("'#{w}'"))
                .collect();
            let mut expr = format!("{} & {}", scope.join(" & "), query.tsquery());
            if !skip.is_empty() {
                let skipped: Vec<String> = skip.iter().map(|c| format!("'#c{c}'")).collect();
                expr = format!("{expr} & !({})", skipped.join(" | "));
            }
            expr
        }
    }
}

/// The statement that reads matching messages, newest first: on SQLite `?1` the expression, `?2`
/// the id below which, `?3` the id above which, `?4` the limit; on PostgreSQL `?1` the account,
/// then the same.
pub(super) fn matching_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "SELECT rowid AS id FROM message_search WHERE message_search MATCH ?1 AND rowid < ?2 AND rowid > ?3
             ORDER BY rowid DESC LIMIT ?4"
        }
        Dialect::Postgres => {
            "SELECT message_id AS id FROM message_search WHERE account_id = ?1
             AND doc @@ CAST(CAST(?2 AS TEXT) AS tsquery) AND message_id < ?3 AND message_id > ?4
             ORDER BY message_id DESC LIMIT ?5"
        }
    }
}

/// Where matching messages stand: `?1` their ids ([`Dialect::ids`]).
pub(super) fn places_sql(dialect: Dialect) -> String {
    format!(
        "SELECT id, conversation_id, received_at FROM messages WHERE {}",
        dialect.in_ids("id", 1)
    )
}

/// The conversation and arrival time of each of `ids` (a chunk of matches), in one statement.
async fn places(conn: Conn<'_>, ids: &[i64]) -> Result<HashMap<i64, (Option<i64>, String)>, StoreError> {
    let dialect = conn.dialect();
    conn.query(&places_sql(dialect), args![dialect.ids(ids)])
        .await?
        .iter()
        .map(|r| Ok((r.named("id")?, (r.named("conversation_id")?, r.named("received_at")?))))
        .collect()
}

/// Messages matching `expr`, newest first, below `before` (and above `above`), at most `limit`.
async fn matching(
    conn: Conn<'_>,
    account_id: i64,
    expr: &str,
    before: i64,
    above: i64,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let sql = matching_sql(conn.dialect());
    let rows = match conn.dialect() {
        Dialect::Sqlite => conn.query(sql, args![expr, before, above, limit]).await?,
        Dialect::Postgres => {
            conn.query_planned(sql, args![account_id, expr, before, above, limit])
                .await?
        }
    };
    rows.iter().map(|r| Ok(r.named("id")?)).collect()
}

/// The id below which mail was indexed before addresses had words of their own (0: none).
async fn old_below(conn: Conn<'_>) -> Result<i64, StoreError> {
    let value = conn
        .value::<Vec<u8>>("SELECT value FROM settings WHERE name = ?1", args![BACKFILL])
        .await?;
    Ok(value.map_or(0, |v| String::from_utf8_lossy(&v).trim().parse().unwrap_or(0)))
}

/// An account's conversations with a message matching `query`, narrowed by `filter`, the
/// conversation of the newest match first, each once, a page at a time (the cursor is the
/// message the page ended at). A conversation whose matching messages all lie below a cursor is
/// found there; one with a newer match was shown before and is not repeated.
pub async fn conversations(
    conn: Conn<'_>,
    account_id: i64,
    filter: &ConversationFilter,
    query: &Query,
    page: &Page<i64>,
) -> Result<Paged<Listed, i64>, StoreError> {
    let dialect = conn.dialect();
    let scope: Vec<String> = filter
        .contact
        .map(|k| format!("k{k}"))
        .into_iter()
        .chain(filter.kind.map(kind_word))
        .collect();
    let mut hits: Vec<(i64, i64)> = Vec::new();
    let mut seen: HashSet<i64> = HashSet::new();
    // Conversations met below the cursor that were shown above it: left out of the next reads.
    let mut skip: Vec<i64> = Vec::new();
    let mut before = page.after.unwrap_or(i64::MAX);
    // Mail below the mark was indexed before addresses had words of their own: read after the
    // rest, with addresses as phrases.
    let mark = old_below(conn).await?;
    'scan: loop {
        let (mail, above) = if before > mark {
            (Indexed::Current, (mark - 1).max(0))
        } else {
            (Indexed::Old, 0)
        };
        let expr = expression(dialect, query, mail, Some(account_id), &scope, &skip);
        let ids = matching(conn, account_id, &expr, before, above, CHUNK).await?;
        if ids.is_empty() {
            if mail == Indexed::Current && mark > 1 {
                before = mark;
                continue;
            }
            break;
        }
        let places = places(conn, &ids).await?;
        for id in ids {
            before = id;
            let Some((Some(conversation), received_at)) = places.get(&id) else {
                continue;
            };
            if let Some(since) = &filter.since
                && received_at.as_str() < since.as_str()
            {
                // Ids follow arrival: everything further down is older still.
                break 'scan;
            }
            if !seen.insert(*conversation) {
                continue;
            }
            // Below a cursor, the conversation's newest match may be the cursor's own message or
            // lie above it (shown on an earlier page). Matches between the cursor and here were
            // read first, so only those need a look; the first page has none.
            if let Some(cursor) = page.after {
                let mut own = vec![format!("c{conversation}")];
                own.extend(filter.kind.map(kind_word));
                // One conversation's matches are few: the phrases find mail of both kinds.
                let expr = expression(dialect, query, Indexed::Old, None, &own, &[]);
                if !matching(conn, account_id, &expr, i64::MAX, cursor - 1, 1)
                    .await?
                    .is_empty()
                {
                    skip.push(*conversation);
                    continue;
                }
            }
            hits.push((*conversation, id));
            if hits.len() > page.limit {
                break 'scan;
            }
        }
    }
    let more = hits.len() > page.limit;
    hits.truncate(page.limit);
    let conversation_ids: Vec<i64> = hits.iter().map(|(c, _)| *c).collect();
    let message_ids: Vec<i64> = hits.iter().map(|(_, m)| *m).collect();
    let mut found = conversations::get_many(conn, &conversation_ids).await?;
    let messages = super::messages::get_many(conn, &message_ids).await?;
    let mut items = Vec::with_capacity(hits.len());
    for (conversation, message_id) in &hits {
        let Some(found_conversation) = found.remove(conversation) else {
            continue;
        };
        let snippet = match messages.get(message_id) {
            Some(m) => snippet(
                query,
                &[
                    m.subject.as_deref(),
                    m.reply_text.as_deref(),
                    m.text.as_deref(),
                    m.from_name.as_deref(),
                    m.from_email.as_deref(),
                ],
            ),
            None => String::new(),
        };
        items.push(Listed {
            conversation: found_conversation,
            found: Some(Found {
                message_id: *message_id,
                snippet,
            }),
        });
    }
    let next = if more { hits.last().map(|(_, id)| *id) } else { None };
    Ok(Paged { items, next })
}

/// Characters of context on each side of the match.
const CONTEXT: usize = 80;

/// A few words around the first place in `fields` (in order) where a word of the query appears,
/// whitespace folded; the start of the first field when none does.
fn snippet(query: &Query, fields: &[Option<&str>]) -> String {
    let leads = query.leads();
    for field in fields.iter().flatten() {
        // A character of an unspaced script may end a piece rather than start one.
        let found = words(field).into_iter().find(|w| {
            leads.iter().any(|lead| {
                w.text.starts_with(lead.as_str()) || (lead.chars().all(unspaced) && w.text.contains(lead.as_str()))
            })
        });
        if let Some(word) = found {
            let start = floor_char(field, word.span.start.saturating_sub(CONTEXT));
            let end = ceil_char(field, (word.span.end + CONTEXT).min(field.len()));
            let mut out = String::new();
            if start > 0 {
                out.push('…');
            }
            out.push_str(&field[start..end].split_whitespace().collect::<Vec<_>>().join(" "));
            if end < field.len() {
                out.push('…');
            }
            return out;
        }
    }
    fields
        .iter()
        .flatten()
        .next()
        .map(|f| {
            f.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(2 * CONTEXT)
                .collect()
        })
        .unwrap_or_default()
}

fn floor_char(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_and_accents_and_split_on_punctuation() {
        assert_eq!(
            tokens("Crème BRÛLÉE, naïve café!"),
            ["creme", "brulee", "naive", "cafe"]
        );
        assert_eq!(tokens("jane.doe@Example.COM"), ["jane", "doe", "example", "com"]);
        assert_eq!(
            tokens("Straße Øre ﬁnal Łódź Æble"),
            ["strasse", "ore", "final", "lodz", "aeble"]
        );
        assert_eq!(tokens("🙂 -- ***"), Vec::<String>::new());
    }

    #[test]
    fn unspaced_scripts_are_cut_into_pieces_of_two() {
        assert_eq!(tokens("東京都庁"), ["東京", "京都", "都庁"]);
        assert_eq!(tokens("iPhone用"), ["iphone", "用"]);
        // Then each character once, in code point order.
        assert_eq!(document(&["東京都", "の"]), "東京 京都 の qの q京 q東 q都");
    }

    #[test]
    fn any_part_of_an_unspaced_run_is_a_query() {
        let q = Query::parse("京都庁").unwrap();
        assert_eq!(q.terms, [Term::Phrase(vec!["京都".into(), "都庁".into()])]);
        let q = Query::parse("都庁").unwrap();
        assert_eq!(q.terms, [Term::Phrase(vec!["都庁".into()])]);
        let q = Query::parse("庁").unwrap();
        assert_eq!(q.terms, [Term::Character('庁')]);
        assert_eq!(q.fts5(Indexed::Current, Some(1)), "\"q庁\"");
        // Mixed with other words it is a phrase like any other.
        let q = Query::parse("\"東 station\"").unwrap();
        assert_eq!(q.terms, [Term::Phrase(vec!["東".into(), "station".into()])]);
    }

    #[test]
    fn whatever_is_typed_is_a_query_or_a_sentence() {
        for text in [
            "a AND b",
            "NEAR(x y)",
            "foo*",
            "^start",
            "-minus",
            "col:value",
            "\"open quote",
            "x\"y\"z",
            "((( x",
            "' OR 1=1 --",
        ] {
            let q = Query::parse(text).unwrap();
            for word in q
                .indexed(Indexed::Current, Some(1))
                .chain(q.indexed(Indexed::Old, None))
                .flatten()
            {
                assert!(word.chars().all(char::is_alphanumeric), "{text}: {word}");
            }
        }
        assert!(Query::parse("  ").is_err());
        assert!(Query::parse("🙂 ***").is_err());
        assert!(Query::parse("(((").is_err());
        let long = "word ".repeat(2000);
        assert!(Query::parse(&long).is_err());
        assert_eq!(
            Query::parse("\"reset the password\" invoice").unwrap().terms,
            [
                Term::Phrase(vec!["reset".into(), "the".into(), "password".into()]),
                Term::Phrase(vec!["invoice".into()])
            ]
        );
    }

    #[test]
    fn a_snippet_is_cut_around_the_match() {
        let q = Query::parse("Überweisung").unwrap();
        let text = format!(
            "{} Die ueberweisung und die Überweisung kam an. {}",
            "x ".repeat(100),
            "y ".repeat(100)
        );
        let s = snippet(&q, &[Some("Re: hi"), Some(&text)]);
        assert!(s.contains("Überweisung kam an"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
    }

    #[test]
    fn an_address_is_a_word_of_its_own_in_documents_and_queries() {
        let jane = address_word(&["jane".into(), "doe".into()], &["example".into(), "com".into()]);
        assert!(
            jane.starts_with(ADDRESS_MARK) && jane.len() == ADDRESS_MARK.len() + 16,
            "{jane}"
        );
        // Anywhere in a message, in any case, beside punctuation; its pieces stay words too.
        let doc = document(&["Re: hi", "Write to <Jane.Doe@Example.COM>, or billing@vendor.example."]);
        assert!(doc.split(' ').any(|w| w == jane), "{doc}");
        assert!(doc.contains("jane doe example com"), "{doc}");
        let billing = address_word(&["billing".into()], &["vendor".into(), "example".into()]);
        assert!(doc.split(' ').any(|w| w == billing), "{doc}");
        // Not addresses: no domain with a dot, nothing before the @.
        for text in ["root@localhost", "@handle", "a @ b.example", "50@"] {
            assert!(!document(&[text]).contains(ADDRESS_MARK), "{text}");
        }
        // A query that is one address, brackets and all, asks for its word; in mail indexed
        // before, for its phrase.
        let q = Query::parse("<jane.doe@example.com>,").unwrap();
        assert_eq!(q.fts5(Indexed::Current, Some(7)), format!("\"{jane}x7\""));
        assert_eq!(q.fts5(Indexed::Old, Some(7)), "\"jane doe example com\"");
        assert_eq!(q.fts5(Indexed::Current, None), "\"jane doe example com\"");
        assert_eq!(q.tsquery(), "('jane' <-> 'doe' <-> 'example' <-> 'com')");
        assert_eq!(q.leads(), ["jane"]);
        // A domain, an address among other words in one piece, or in quotes: phrases.
        for text in ["example.com", "from:jane.doe@example.com", "\"jane.doe@example.com\""] {
            let q = Query::parse(text).unwrap();
            assert!(!q.fts5(Indexed::Current, Some(7)).contains(ADDRESS_MARK), "{text}");
        }
    }

    #[test]
    fn an_address_word_is_its_accounts_and_then_needs_no_account_word() {
        let jane = address_word(&["jane".into()], &["example".into(), "com".into()]);
        let doc = document(&["Re: hi", "jane@example.com wrote:", "Jane", "jane@example.com"]);
        // SQLite: each address's word (wherever it stands) made account 42's, nothing else moved.
        let sqlite = sqlite_document(&doc, 42);
        assert_eq!(sqlite, doc.replace(&jane, &format!("{jane}x42")), "{doc}");
        assert!(!sqlite.split(' ').any(|w| w == jane), "{sqlite}");
        // PostgreSQL: none of them.
        let scope = Scope {
            account: 42,
            contact: 7,
            conversation: 9,
            kind: Kind::Message,
        };
        let postgres = tsvector(&doc, &scope);
        assert!(
            !postgres.contains(ADDRESS_MARK) && postgres.contains("'jane':3 'example':4 'com':5 'wrote':6"),
            "{postgres}"
        );
        // Not a whole word, or not hex: left as written; text without addresses is not copied.
        let lookalike = format!("x{jane} {}g", &jane[..ADDRESS_WORD_LEN - 1]);
        assert_eq!(sqlite_document(&lookalike, 1), lookalike);
        assert!(matches!(sqlite_document("no address here", 1), Cow::Borrowed(_)));
        // A search for the address alone reads the account's word, without the account's scope
        // word; with a filter, or with words besides, the filters and the words are still there;
        // mail indexed before reads the phrase within the account.
        let q = Query::parse("jane@example.com").unwrap();
        let expr = |mail, scope: &[String]| expression(Dialect::Sqlite, &q, mail, Some(42), scope, &[]);
        assert_eq!(expr(Indexed::Current, &[]), format!("body : (\"{jane}x42\")"));
        assert_eq!(
            expr(Indexed::Current, &["t1".into()]),
            format!("scope : (t1) AND body : (\"{jane}x42\")")
        );
        assert_eq!(
            expr(Indexed::Old, &[]),
            "scope : (a42) AND body : (\"jane example com\")"
        );
        let words = Query::parse("refund").unwrap();
        assert_eq!(
            expression(Dialect::Sqlite, &words, Indexed::Current, Some(42), &[], &[]),
            "scope : (a42) AND body : (\"refund\")"
        );
        assert!(
            expression(Dialect::Postgres, &q, Indexed::Current, Some(42), &[], &[]).starts_with("'#a42' & "),
            "PostgreSQL reads the phrase within the account"
        );
    }

    #[test]
    fn a_tsvector_literal_holds_each_word_at_its_place_within_postgresqls_limits() {
        let scope = Scope {
            account: 1,
            contact: 2,
            conversation: 3,
            kind: Kind::Message,
        };
        assert_eq!(
            tsvector("re hi hi 東京 q東", &scope),
            "'re':1 'hi':2 'hi':3 '東京':4 'q東':5 '#a1' '#k2' '#c3' '#t0'"
        );
        // Quotes and backslashes (no word of the tokenizer's holds one) stay inside the literal.
        assert!(tsvector(r"it's a\b", &scope).starts_with(r"'it''s':1 'a\\b':2 "));
        // Places past PostgreSQL's last stand at the last; words past its size are left out.
        let long = "w ".repeat(MAX_POSITION + 5);
        assert!(tsvector(&long, &scope).contains(&format!("'w':{MAX_POSITION} '#a1'")));
        let wide = format!("{} ", "x".repeat(60)).repeat(MAX_TSVECTOR_BYTES / 60 + 10);
        assert_eq!(tsvector(&wide, &scope).matches("x':").count(), MAX_TSVECTOR_BYTES / 60);
    }

    #[test]
    fn documents_stop_at_their_cap() {
        let text = "word ".repeat(MAX_WORDS + 10);
        assert_eq!(document(&[&text]).split(' ').count(), MAX_WORDS);
    }
}
