//! The plain-text rules: each line classed (quote, attribution, header block, separator, text),
//! then the quoted history cut away.

use super::patterns::{
    DATE, FROM, HEADER_FIELDS, RE_DASH_WRAPPED, RE_DATE_START, RE_DATEISH, RE_FORWARD, RE_HEADER_FIELD, RE_LEAD_MID,
    RE_LEAD_START, RE_ORIGINAL_MESSAGE, RE_TIME, RE_UNDERSCORES, RE_VERB_END, RE_VERB_MID, SUBJECT,
};
use super::{WINDOW_BYTES, WINDOW_LINES};
use crate::ingest::text::email;
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Empty,
    Quote,
    Forward,
    Splitter,
    Text,
}

#[derive(Debug)]
pub(super) struct Line<'a> {
    pub(super) text: &'a str,
    kind: Kind,
}

/// For each physical line: does it start a `>` quote, and is an angle bracket still open after it?
///
/// A wrapped `<http://...>` link or `Name <\naddr>` leaves a `>` at the start of the next line that is not
/// a quote marker, so a `>` only quotes when no bracket is open from the lines above.
pub(super) fn quote_flags(lines: &[&str]) -> (Vec<bool>, Vec<bool>) {
    let mut quoted = Vec::with_capacity(lines.len());
    let mut open_after = Vec::with_capacity(lines.len());
    let mut depth = 0u8;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            depth = 0;
            quoted.push(false);
        } else if trimmed.starts_with('>') && depth == 0 {
            quoted.push(true);
        } else {
            let bytes = trimmed.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                match b {
                    // "a < b" is a comparison, not an opening bracket.
                    b'<' if bytes.get(i + 1).is_none_or(|c| !c.is_ascii_whitespace()) => {
                        depth = depth.saturating_add(1).min(4)
                    }
                    b'>' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            quoted.push(false);
        }
        open_after.push(depth > 0);
    }
    (quoted, open_after)
}

pub(super) fn ends_sentence(line: &str) -> bool {
    line.trim_end().ends_with(['.', '!', '?'])
}

/// "On <date>, <someone> wrote:" starting on line `i`, possibly after some reply text on the same line.
/// Returns the byte offset where it starts in line `i` and how many lines it spans.
pub(super) fn lead_attribution(lines: &[&str], quoted: &[bool], i: usize) -> Option<(usize, usize)> {
    let first = lines[i];
    if first.len() > WINDOW_BYTES {
        return None;
    }
    let mut starts: Vec<usize> = Vec::new();
    if RE_LEAD_START.is_match(first) {
        starts.push(0);
    } else {
        // "reply--- On Wed, ... wrote:": the reply and the attribution share a line.
        starts.extend(
            RE_LEAD_MID
                .captures_iter(first)
                .take(3)
                .filter_map(|c| c.get(1).map(|m| m.start())),
        );
    }
    starts
        .into_iter()
        .find_map(|offset| attribution_end(lines, quoted, i, offset).map(|n| (offset, n)))
}

/// How many lines the attribution starting at `offset` in line `i` spans, up to its closing verb.
/// It must carry a year, a time or an address, and no line before the verb may end a sentence: that
/// keeps prose which merely starts with "On" or "Le" from swallowing the rest of the message.
pub(super) fn attribution_end(lines: &[&str], quoted: &[bool], i: usize, offset: usize) -> Option<usize> {
    let mut empty = 0;
    let mut dateish = false;
    // The lines so far as one: a wrapped header splits its verb from what closes it ("schrieb" /
    // "Jane Doe:").
    let mut joined = String::new();
    for (j, &whole) in lines.iter().enumerate().skip(i).take(WINDOW_LINES) {
        let line = if j == i { whole.get(offset..)? } else { whole };
        if j > i && quoted[j] {
            return None;
        }
        if line.trim().is_empty() {
            empty += 1;
            if empty > 1 {
                return None;
            }
            continue;
        }
        if joined.len() + line.len() > WINDOW_BYTES {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        dateish = dateish || RE_DATEISH.is_match(line);
        if RE_VERB_END.is_match(&joined) || RE_VERB_MID.is_match(&joined) {
            return dateish.then_some(j - i + 1);
        }
        if ends_sentence(line) {
            return None;
        }
    }
    None
}

/// An attribution wrapped over two or three lines that no lead word opens ("po 2. 12. 2024 v 14:05
/// odesílatel" / "Jane Doe <jane@x.cz>" / "napsal:", "Jane Doe" / "kirjoitti 2.12.2024 klo 14.05:"),
/// starting at line `i`: it stands after a blank line (or opens the text), no line of it but the
/// last ends a sentence, its last ends with a colon and is followed by a quote or by nothing, and
/// its lines as one carry a closing verb (or an address and a date without one) and a date, a time
/// or an address. How many lines it spans.
pub(super) fn wrapped_attribution(lines: &[&str], quoted: &[bool], i: usize) -> Option<usize> {
    if i > 0 && !lines[i - 1].trim().is_empty() {
        return None;
    }
    let mut joined = String::new();
    for (j, &line) in lines.iter().enumerate().skip(i).take(3) {
        if quoted[j] || line.trim().is_empty() || joined.len() + line.len() > WINDOW_BYTES {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        // A line inside that could open an attribution by itself means the window began in the
        // text above it ("Thanks Tom" / "On Mon, … wrote:").
        if j > i && (RE_LEAD_START.is_match(line) || RE_LEAD_MID.is_match(line) || RE_DATE_START.is_match(line)) {
            return None;
        }
        let end = line.trim_end();
        if j > i && end.ends_with([':', '：']) {
            let followed = next_is_quote(lines, quoted, j) || lines[j + 1..].iter().all(|l| l.trim().is_empty());
            let verb = RE_VERB_END.is_match(&joined) || RE_VERB_MID.is_match(&joined);
            let verbless = email::contains(&joined) && joined.chars().filter(char::is_ascii_digit).count() >= 4;
            return (followed && (verb || verbless) && RE_DATEISH.is_match(&joined)).then_some(j - i + 1);
        }
        if ends_sentence(line) && !ends_abbreviated(line) {
            return None;
        }
    }
    None
}

/// A line whose closing full stop belongs to an abbreviation a date writes ("14:05 ч.", "2 dec.").
fn ends_abbreviated(line: &str) -> bool {
    let Some(word) = line
        .trim_end()
        .strip_suffix('.')
        .and_then(|l| l.split_whitespace().last())
    else {
        return false;
    };
    word.chars().count() <= 3 && word.chars().all(char::is_alphabetic)
}

/// "02.04.2012 14:20 пользователь "bob" <bob@x.org> написал:", "2011/4/7 Bob <bob@x.org>":
/// a date, an address, and either a time and a closing colon or the address closing it above a quote.
pub(super) fn date_attribution(lines: &[&str], quoted: &[bool], i: usize) -> Option<usize> {
    let first = lines[i];
    if first.len() > WINDOW_BYTES || !RE_DATE_START.is_match(first) {
        return None;
    }
    let mut has_email = false;
    let mut has_time = false;
    for (j, &line) in lines.iter().enumerate().skip(i).take(3) {
        if j > i && (quoted[j] || line.trim().is_empty() || line.len() > WINDOW_BYTES) {
            return None;
        }
        has_email = has_email || email::contains(line);
        has_time = has_time || RE_TIME.is_match(line);
        let end = line.trim_end();
        if end.ends_with([':', '：']) {
            return (has_email && has_time).then_some(j - i + 1);
        }
        // Without a colon only a following quote makes "<date> <address>" an attribution.
        if end.ends_with('>') && has_email {
            return next_is_quote(lines, quoted, j).then_some(j - i + 1);
        }
        if ends_sentence(line) {
            return None;
        }
    }
    None
}

pub(super) fn next_is_quote(lines: &[&str], quoted: &[bool], i: usize) -> bool {
    lines
        .iter()
        .zip(quoted)
        .skip(i + 1)
        .take(4)
        .find(|(line, _)| !line.trim().is_empty())
        .is_some_and(|(_, &q)| q)
}

/// An attribution without a date lead: "Bob <bob@x.org> wrote:", "---- Bob wrote ----", or
/// "Bob wrote:" directly above a quote or ending the text (the HTML path cuts the quote container
/// away from below its attribution). `extra` is text of preceding lines that belong to it.
pub(super) fn bare_attribution(lines: &[&str], quoted: &[bool], i: usize, extra: &[&str]) -> bool {
    let line = lines[i];
    // No verb at all: `30.09.2017, 18.30, "Name" <addr>:` right above the quote it introduces.
    let trimmed = line.trim_end();
    if trimmed.len() <= WINDOW_BYTES
        && trimmed.ends_with([':', '：'])
        && email::contains(trimmed)
        // A date and a time have four digits at least; an address alone is not an attribution.
        && trimmed.chars().filter(char::is_ascii_digit).count() >= 4
        && next_is_quote(lines, quoted, i)
    {
        return true;
    }
    if line.len() > WINDOW_BYTES || !(RE_VERB_END.is_match(line) || RE_VERB_MID.is_match(line)) {
        return false;
    }
    RE_DASH_WRAPPED.is_match(line)
        || email::contains(line)
        || extra.iter().any(|l| email::contains(l))
        || next_is_quote(lines, quoted, i)
        || lines[i + 1..].iter().all(|l| l.trim().is_empty())
}

pub(super) fn header_kind(line: &str) -> Option<u8> {
    // The field's colon (`:` or `：`, whose last byte is 0x9A) is what most lines lack: looked for
    // before the pattern runs, as bytes.
    memchr::memchr2(b':', 0x9A, line.as_bytes())?;
    let name = RE_HEADER_FIELD.captures(line)?.get(1)?.as_str().to_lowercase();
    HEADER_FIELDS
        .iter()
        .find(|(field, _)| *field == name)
        .map(|&(_, kind)| kind)
}

/// Per-line facts the header-block search needs, each found once: each block candidate looks at up
/// to a dozen following lines, and re-running the patterns there would multiply the work.
pub(super) struct HeaderFacts<'a> {
    lines: &'a [&'a str],
    /// The role of the header field the line starts with, if any.
    kind: Vec<Option<u8>>,
    /// The line carries a year, a time of day or an address: asked only of a block's lines, so
    /// found when first asked (most mail has no header block, and most lines are in none).
    dateish: Vec<std::cell::OnceCell<bool>>,
}

impl<'a> HeaderFacts<'a> {
    fn new(lines: &'a [&'a str]) -> Self {
        Self {
            lines,
            kind: lines.iter().map(|l| header_kind(l)).collect(),
            dateish: lines.iter().map(|_| std::cell::OnceCell::new()).collect(),
        }
    }

    fn dateish(&self, i: usize) -> bool {
        *self.dateish[i].get_or_init(|| {
            let line = self.lines[i];
            line.len() <= WINDOW_BYTES && RE_DATEISH.is_match(line)
        })
    }
}

/// An Outlook-style header block of a quoted message starting at line `i`: at least two header lines
/// of different roles, one of them From or Date/Sent. Wrapped values may continue on the next lines.
pub(super) fn header_block(lines: &[&str], quoted: &[bool], facts: &HeaderFacts, i: usize) -> Option<usize> {
    let mut seen = facts.kind[i]?;
    let mut headers = 1;
    let mut last = i;
    let mut continuation = 0;
    for (j, &line) in lines.iter().enumerate().skip(i + 1).take(12) {
        if quoted[j] || line.trim().is_empty() {
            break;
        }
        if let Some(kind) = facts.kind[j] {
            seen |= kind;
            headers += 1;
            last = j;
            continuation = 0;
        } else {
            continuation += 1;
            if continuation > 2 {
                break;
            }
        }
    }
    // "Date: 12 March / From: London / To: Paris" is a booking, not a header: real ones carry a full
    // timestamp, an address or a subject.
    let valid = headers >= 2 && seen & (FROM | DATE) != 0 && seen.count_ones() >= 2;
    let looks_like_mail = || seen & SUBJECT != 0 || (i..=last).any(|j| facts.dateish(j));
    (valid && looks_like_mail()).then_some(last - i + 1)
}

/// How many lines starting at `i` form a separator: "-----Original Message-----", or Outlook's
/// underscore rule directly above a header block.
pub(super) fn separator(lines: &[&str], quoted: &[bool], facts: &HeaderFacts, i: usize) -> Option<usize> {
    let line = lines[i];
    if RE_ORIGINAL_MESSAGE.is_match(line) {
        return Some(1);
    }
    if RE_UNDERSCORES.is_match(line) && i + 1 < lines.len() && !quoted[i + 1] {
        return header_block(lines, quoted, facts, i + 1).map(|n| n + 1);
    }
    None
}

pub(super) fn push<'a>(out: &mut Vec<Line<'a>>, text: &'a str, kind: Kind) {
    out.push(Line { text, kind });
}

pub(super) fn classify<'a>(lines: &[&'a str]) -> Vec<Line<'a>> {
    let (quoted, open_after) = quote_flags(lines);
    let headers = HeaderFacts::new(lines);
    let mut out: Vec<Line<'a>> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let text = lines[i];
        if text.trim().is_empty() {
            push(&mut out, text, Kind::Empty);
            i += 1;
            continue;
        }
        if quoted[i] {
            push(&mut out, text, Kind::Quote);
            i += 1;
            continue;
        }
        if text.len() > WINDOW_BYTES {
            push(&mut out, text, Kind::Text);
            i += 1;
            continue;
        }
        if RE_FORWARD.is_match(text) {
            push(&mut out, text, Kind::Forward);
            i += 1;
            continue;
        }
        let block = separator(lines, &quoted, &headers, i)
            .or_else(|| header_block(lines, &quoted, &headers, i))
            .map(|n| (0, n))
            .or_else(|| lead_attribution(lines, &quoted, i))
            .or_else(|| date_attribution(lines, &quoted, i).map(|n| (0, n)))
            .or_else(|| wrapped_attribution(lines, &quoted, i).map(|n| (0, n)));
        if let Some((offset, n)) = block {
            if offset > 0 {
                let prefix = text[..offset].trim_end_matches(|c: char| c.is_whitespace() || c == '-');
                if !prefix.trim().is_empty() {
                    push(&mut out, prefix, Kind::Text);
                }
            }
            push(&mut out, &text[offset..], Kind::Splitter);
            for &line in lines.iter().skip(i + 1).take(n - 1) {
                push(&mut out, line, Kind::Splitter);
            }
            i += n;
            continue;
        }
        // "Bob <\nbob@x.org> wrote:": earlier lines with a bracket still open belong to it.
        let mut back = 0;
        while back < 2
            && i > back
            && open_after[i - back - 1]
            && out.len() > back
            && out[out.len() - back - 1].kind == Kind::Text
        {
            back += 1;
        }
        let extra: Vec<&str> = out[out.len() - back..].iter().map(|l| l.text).collect();
        if bare_attribution(lines, &quoted, i, &extra) {
            let len = out.len();
            for line in &mut out[len - back..] {
                line.kind = Kind::Splitter;
            }
            push(&mut out, text, Kind::Splitter);
        } else {
            push(&mut out, text, Kind::Text);
        }
        i += 1;
    }
    out
}

/// A link too long for the line gets wrapped inside a quote, leaving an unquoted fragment between two
/// quoted lines; that fragment is part of the quote, not an inline answer.
pub(super) fn is_wrapped_link(lines: &[Line], i: usize) -> bool {
    if i == 0 || i + 1 >= lines.len() {
        return false;
    }
    if lines[i - 1].kind != Kind::Quote || lines[i + 1].kind != Kind::Quote {
        return false;
    }
    let prev = lines[i - 1].text;
    let opens_link = prev.rfind("(http").is_some_and(|at| !prev[at..].contains(')'));
    opens_link || lines[i].text.trim_start().starts_with("(http")
}

/// Indices of the lines to keep, or `None` when the text must be kept whole.
pub(super) fn strip_history(lines: &[Line]) -> Option<Vec<usize>> {
    let mut kinds: Vec<Kind> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| match line.kind {
            Kind::Text if is_wrapped_link(lines, i) => Kind::Quote,
            kind => kind,
        })
        .collect();

    let has_splitter = kinds.contains(&Kind::Splitter);
    if !has_splitter && !has_quote_block(&kinds) {
        for kind in &mut kinds {
            if *kind == Kind::Quote {
                *kind = Kind::Text;
            }
        }
    }

    let first_marker = kinds.iter().find(|k| !matches!(k, Kind::Text | Kind::Empty));
    match first_marker {
        None | Some(Kind::Forward) => return None,
        _ => {}
    }

    let skip = |from: usize, over: &[Kind]| {
        kinds[from..]
            .iter()
            .position(|k| !over.contains(k))
            .map_or(kinds.len(), |p| from + p)
    };
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < kinds.len() {
        match kinds[i] {
            Kind::Text | Kind::Empty | Kind::Forward => {
                kept.push(i);
                i += 1;
            }
            Kind::Splitter => {
                let next = skip(i, &[Kind::Splitter, Kind::Empty]);
                if next == kinds.len() || kinds[next] != Kind::Quote {
                    // Unmarked history: the quoted message follows as plain text.
                    break;
                }
                i = next;
            }
            Kind::Quote => {
                let next = skip(i, &[Kind::Quote, Kind::Empty]);
                let after_text = skip(next, &[Kind::Text, Kind::Empty, Kind::Forward]);
                if after_text > next && after_text < kinds.len() && kinds[after_text] == Kind::Quote {
                    return None;
                }
                i = next;
            }
        }
    }
    Some(kept)
}

/// At least two `>` lines in one block (blank lines allowed between them).
pub(super) fn has_quote_block(kinds: &[Kind]) -> bool {
    let mut count = 0;
    for kind in kinds {
        match kind {
            Kind::Quote => {
                count += 1;
                if count >= 2 {
                    return true;
                }
            }
            Kind::Empty => {}
            _ => count = 0,
        }
    }
    false
}
