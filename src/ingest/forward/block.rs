//! Finding a forward block in text and reading its header lines (From, Date, Subject, To, Cc),
//! the note above it and the original body below it.

use super::labels::{COLON_MAP, DASH_MAP, GLUED_LABEL_RE, LABEL_MAP, fold, strip_folded_prefix};
use super::{Field, Kind, MAX_HEADER_LINES};
use crate::ingest::text::email;
use crate::mail::Forwarded;

/// Strips `>` quote markers; returns the depth and the rest.
pub(super) fn unquote(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        match trimmed.strip_prefix('>') {
            Some(after) => {
                depth += 1;
                rest = after;
            }
            None => return (depth, if depth == 0 { rest } else { trimmed }),
        }
    }
}

/// Removes up to `depth` quote markers (and the space after each), keeping
/// the line's own indentation otherwise.
pub(super) fn strip_quote(line: &str, depth: usize) -> &str {
    let mut rest = line;
    for _ in 0..depth {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        match trimmed.strip_prefix('>') {
            Some(after) => rest = after.strip_prefix(' ').unwrap_or(after),
            None => break,
        }
    }
    rest
}

pub(super) fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 10 && t.chars().all(|c| c == '_')
}

/// Recognises a separator line; returns its kind and any header text glued
/// onto the same line (Yahoo).
pub(super) fn separator(line: &str) -> Option<(Kind, &str)> {
    let t = line.trim();
    if is_rule(t) {
        return Some((Kind::Ambiguous, ""));
    }
    if t.starts_with("--") {
        return dash_separator(t);
    }
    let label = t.strip_suffix([':', '：'])?.trim_end();
    COLON_MAP.contains(&fold(label)).then_some((Kind::Explicit, ""))
}

pub(super) fn dash_separator(t: &str) -> Option<(Kind, &str)> {
    let inner = t.trim_start_matches('-').trim_start();
    let (after, kind) = DASH_MAP
        .iter()
        .find_map(|(phrase, kind)| strip_folded_prefix(inner, phrase).map(|rest| (rest, *kind)))?;
    if after.starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    // The closing dashes must come before any header on the same line; a
    // secondary label (Thunderbird's "/ Fwd.Msg", "--- Forwarded Message")
    // may sit between.
    let colon = after.find(':').unwrap_or(after.len());
    let head = &after[..colon];
    let close = head.rfind("--")?;
    let rest = after[close..].trim_start_matches('-');
    Some((kind, rest))
}

/// Parses "Label: value" for a label we know.
pub(super) fn header_line(line: &str) -> Option<(Field, &str)> {
    let t = line.trim_start();
    let (idx, colon) = t.char_indices().take(32).find(|(_, c)| matches!(c, ':' | '：'))?;
    let label = t[..idx].trim_matches(|c: char| c.is_whitespace() || c == '*');
    if label.is_empty() {
        return None;
    }
    let field = LABEL_MAP.get(&fold(label))?;
    let value = t[idx + colon.len_utf8()..].trim_start_matches('*').trim();
    Some((*field, value))
}

/// Splits a line holding several glued headers; `None` when it isn't one.
pub(super) fn split_glued(line: &str) -> Option<Vec<&str>> {
    // Cheap gate: a glued block has at least three colons.
    if line.bytes().filter(|&b| b == b':').count() < 3 {
        return None;
    }
    let starts: Vec<usize> = GLUED_LABEL_RE
        .captures_iter(line)
        .filter_map(|c| c.name("long").or_else(|| c.name("short")).map(|m| m.start()))
        .collect();
    if starts.len() < 3 {
        return None;
    }
    let mut pieces = Vec::with_capacity(starts.len() + 1);
    let first = &line[..starts[0]];
    if !first.trim().is_empty() {
        pieces.push(first);
    }
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(line.len());
        pieces.push(&line[start..end]);
    }
    Some(pieces)
}

/// One logical line of a header block and where it came from.
pub(super) struct Item<'a> {
    pub(super) text: &'a str,
    pub(super) line: usize,
    pub(super) depth: usize,
    /// Set on all but the last piece of a glued line.
    pub(super) glued_more: bool,
}

/// Looks for the first forward block in normalized text; the earliest one
/// wins, bare blocks included when allowed.
pub(super) fn scan(text: &str, allow_bare: bool) -> Option<(Forwarded, Kind)> {
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let (_, content) = unquote(line);
        if let Some((kind, rest)) = separator(content) {
            if let Some(found) = parse_block(&lines, i, i + 1, rest, kind) {
                return Some((found, kind));
            }
        } else if allow_bare
            && matches!(header_line(content), Some((Field::From, _)))
            && let Some(found) = parse_block(&lines, i, i, "", Kind::Bare)
        {
            return Some((found, Kind::Bare));
        }
    }
    None
}

#[derive(Default)]
pub(super) struct Headers {
    pub(super) from: Option<String>,
    pub(super) date: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) to: Option<String>,
    pub(super) cc: Option<String>,
    pub(super) count: usize,
}

impl Headers {
    pub(super) fn set(&mut self, field: Field, value: &str) {
        let slot = match field {
            Field::From => &mut self.from,
            Field::Date => &mut self.date,
            Field::Subject => &mut self.subject,
            Field::To => &mut self.to,
            Field::Cc => &mut self.cc,
            Field::Other => return,
        };
        // The first occurrence wins: a second "From:" would be a nested
        // block's.
        if slot.is_none() {
            *slot = Some(value.to_string());
            self.count += 1;
        }
    }

    pub(super) fn append(&mut self, field: Field, value: &str) {
        let slot = match field {
            Field::From => &mut self.from,
            Field::To => &mut self.to,
            Field::Cc => &mut self.cc,
            _ => return,
        };
        if let Some(existing) = slot {
            existing.push(' ');
            existing.push_str(value);
        }
    }
}

pub(super) fn parse_block(lines: &[&str], sep: usize, start: usize, rest: &str, kind: Kind) -> Option<Forwarded> {
    let mut items: Vec<Item<'_>> = Vec::new();
    let sep_depth = lines.get(sep).map_or(0, |l| unquote(l).0);
    if !rest.trim().is_empty() {
        expand(&mut items, rest, sep, sep_depth);
    }
    // Lines are expanded into items only as the parse reaches them, so a
    // failed candidate costs a line or two, not MAX_HEADER_LINES.
    let end = lines.len().min(start.saturating_add(MAX_HEADER_LINES));
    let mut next_line = start;

    let mut headers = Headers::default();
    let mut last: Option<Field> = None;
    let mut body_depth = sep_depth;
    let mut skipped = 0;
    let mut idx = 0;
    // (first body line, index of the item the body starts at inside a glued line)
    let (body_line, glued_at) = loop {
        if idx == items.len() {
            if next_line >= end {
                break (next_line, None);
            }
            let (depth, content) = lines.get(next_line).map_or((0, ""), |line| unquote(line));
            expand(&mut items, content, next_line, depth);
            next_line += 1;
            continue;
        }
        let item = &items[idx];
        let t = item.text.trim();
        if last.is_none() {
            if t.is_empty() || is_rule(t) {
                skipped += 1;
                if skipped > 6 {
                    return None;
                }
                idx += 1;
                continue;
            }
            let (field, value) = header_line(t)?;
            if kind == Kind::Bare && field != Field::From {
                return None;
            }
            headers.set(field, value);
            body_depth = item.depth;
            last = Some(field);
        } else if t.is_empty() {
            break (item.line + 1, None);
        } else if let Some((field, value)) = header_line(t) {
            headers.set(field, value);
            last = Some(field);
        } else if is_continuation(last, item.text, &headers) {
            if let Some(field) = last {
                headers.append(field, t);
            }
        } else {
            let inside_glued = item.glued_more
                || idx
                    .checked_sub(1)
                    .and_then(|prev| items.get(prev))
                    .is_some_and(|prev| prev.line == item.line);
            break (item.line, inside_glued.then_some(idx));
        }
        idx += 1;
    };

    let (from_email, from_name) = parse_mailbox(headers.from.as_deref()?)?;
    let others = headers.count.saturating_sub(1);
    if kind != Kind::Explicit && others == 0 {
        return None;
    }

    let mut body = String::new();
    let mut from_line = body_line;
    if let Some(first) = glued_at {
        // The body starts inside a glued line: keep its remaining pieces.
        let pieces: Vec<&str> = items[first..]
            .iter()
            .take_while(|it| it.line == body_line)
            .map(|it| it.text)
            .collect();
        body.push_str(&pieces.concat());
        body.push('\n');
        from_line += 1;
    }
    let body_lines: Vec<&str> = lines
        .iter()
        .skip(from_line)
        .map(|l| strip_quote(l, body_depth))
        .collect();
    body.push_str(&body_lines.join("\n"));

    let mut note_lines: Vec<&str> = lines.iter().take(sep).copied().collect();
    while note_lines.last().is_some_and(|l| l.trim().is_empty() || is_rule(l)) {
        note_lines.pop();
    }

    Some(Forwarded {
        from_email,
        from_name,
        subject: headers.subject.filter(|s| !s.is_empty()),
        date: headers.date.filter(|s| !s.is_empty()),
        to: headers.to.as_deref().map(addresses).unwrap_or_default(),
        cc: headers.cc.as_deref().map(addresses).unwrap_or_default(),
        body: tidy(&body),
        note: tidy(&note_lines.join("\n")),
    })
}

pub(super) fn expand<'a>(items: &mut Vec<Item<'a>>, text: &'a str, line: usize, depth: usize) {
    match split_glued(text) {
        Some(pieces) => {
            let n = pieces.len();
            for (k, piece) in pieces.into_iter().enumerate() {
                items.push(Item {
                    text: piece,
                    line,
                    depth,
                    glued_more: k + 1 < n,
                });
            }
        }
        None => items.push(Item {
            text,
            line,
            depth,
            glued_more: false,
        }),
    }
}

/// Address lists wrap onto following lines; a name may also be split from
/// its `<address>`.
pub(super) fn is_continuation(last: Option<Field>, raw: &str, headers: &Headers) -> bool {
    let t = raw.trim();
    match last {
        Some(Field::To | Field::Cc) => {
            t.contains('@') && (raw.starts_with([' ', '\t']) || t.starts_with(['<', '[', '"', '\'']))
        }
        Some(Field::From) => {
            headers.from.as_deref().is_some_and(|f| !f.contains('@')) && t.starts_with(['<', '[']) && t.contains('@')
        }
        _ => false,
    }
}

/// Parses a From value: `Name <a@b>`, `"Last, First" <a@b>`,
/// `Name [mailto:a@b]`, `a@b <mailto:a@b>`, `Name <a@b<mailto:a@b>>`,
/// `<a@b>`, `a@b (Name)` or a bare address.
pub(super) fn parse_mailbox(value: &str) -> Option<(String, Option<String>)> {
    let v = value.trim();
    let (span, found) = email::find_spans(v).next()?;
    let email = dotted(found)?;
    let start = span.start;
    let before = &v[..start];
    let name_part = match before.rfind(['<', '[']) {
        Some(i) => &before[..i],
        None => before,
    };
    let mut name = clean_name(name_part);
    if name.is_none() {
        let after = v[span.end..].trim_start_matches(['>', ']']).trim_start();
        if let Some(inner) = after.strip_prefix('(') {
            let inner = inner.split(')').next().unwrap_or("");
            name = clean_name(inner);
        }
    }
    let name = name.filter(|n| !n.eq_ignore_ascii_case(&email) && !n.contains('@'));
    Some((email, name))
}

/// Text and HTML renderings of the same message differ in blank lines
/// (Outlook's text part doubles them, `<p>&nbsp;</p>` adds some); keep one
/// blank line between paragraphs and no trailing spaces, so both agree.
pub(super) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run = true;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run { "\n\n" } else { "\n" });
        }
        blank_run = false;
        out.push_str(line);
    }
    out
}

/// An address by `text::email`'s rule, when its domain has a dot: a forward's `From: bob@intranet`
/// names no customer we could write back to.
pub(super) fn clean_email(raw: &str) -> Option<String> {
    email::clean(raw).and_then(dotted)
}

fn dotted(address: String) -> Option<String> {
    address
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.contains('.'))
        .then_some(address)
}

pub(super) fn clean_name(raw: &str) -> Option<String> {
    let mut name = raw.trim();
    if let Some(stripped) = name.strip_suffix("mailto:") {
        name = stripped;
    }
    loop {
        let next = name.trim_matches(|c: char| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '“' | '”' | '«' | '»' | ',' | ';' | ':')
        });
        if next == name {
            break;
        }
        name = next;
    }
    let collapsed = name.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

pub(super) fn addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for email in email::find_all(value).into_iter().filter_map(dotted) {
        push_unique(&mut out, email);
    }
    out
}

pub(super) fn push_unique(list: &mut Vec<String>, email: String) {
    if !list.iter().any(|e| e.eq_ignore_ascii_case(&email)) {
        list.push(email);
    }
}
