//! Reply-text extraction: what the customer actually wrote in an inbound reply, with the quoted history
//! that mail clients append removed. Owns that decision for plain-text and HTML bodies; never panics.
//!
//! Plain-text rules:
//! - Lines are classed as empty, `>`-quoted, "Forwarded message" marker, *splitter* (an "On ... wrote:"
//!   attribution in many languages, possibly wrapped over lines or sharing a line with the reply; an
//!   Outlook "From:/Sent:/To:" header block; a "-----Original Message-----" separator) or text.
//! - A forward (first marker is "Forwarded message") is returned whole: the forward is the content.
//! - A splitter followed by unquoted text starts unmarked history: it and everything after it go.
//! - `>` regions go, text after them stays (bottom-posting); text *between* two `>` regions is an inline
//!   answer that needs its context, so the message is kept whole.
//! - `>` lines only count with a splitter or a block of two or more, so one stray `>>> link` line stays.
//! - When in doubt keep text: if nothing would remain, the whole text is returned.
//! - Work is bounded: quotes are looked for in the first 64 KiB of text (a longer text with none there is
//!   kept whole, up to 1 MiB); HTML is read up to 2 MiB.
//!
//! HTML: cut at the first quote container (`<blockquote>`, which is what Apple Mail, Yandex and mail.ru
//! use; Gmail/Yahoo/Proton quote divs; Thunderbird's cite prefix; Outlook's reply-header divs and
//! separator rules; Hotmail/Zimbra dividers), render block tags as line breaks, convert to text, then
//! apply the plain-text rules to drop the attribution line left above the container.

use crate::ingest::text::html;

use std::sync::LazyLock;

use regex::Regex;

/// The new text of a plain-text reply: quoted history, "On ... wrote:" headers (many languages),
/// Outlook "From:/Sent:" blocks, "-----Original Message-----" separators and `>` quotes removed. Trimmed.
pub fn from_text(text: &str) -> String {
    // Quoted history begins near the top of a reply: looking at the first SCAN_WINDOW bytes bounds
    // the work on long bodies. A long text with nothing to strip in that window is kept whole.
    if text.len() > SCAN_WINDOW {
        let window = head(text, SCAN_WINDOW);
        let reply = extract(window);
        if reply.len() < window.trim().len() {
            return reply;
        }
        return head(text, MAX_TEXT_BYTES).trim().to_string();
    }
    extract(text)
}

fn extract(text: &str) -> String {
    let delimiter = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let physical: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let lines = classify(&physical);
    match strip_history(&lines) {
        Some(kept) => {
            let joined = kept.iter().map(|&i| lines[i].text).collect::<Vec<_>>().join(delimiter);
            let reply = joined.trim();
            if reply.is_empty() {
                text.trim().to_string()
            } else {
                reply.to_string()
            }
        }
        None => text.trim().to_string(),
    }
}

/// The visible new text of an HTML reply, as plain text: blockquote, gmail_quote, divRplyFwdMsg,
/// Outlook/Yandex/mail.ru/Thunderbird quote containers and everything after them removed, then converted to text.
pub fn from_html(html: &str) -> String {
    let html = head(html, MAX_HTML_BYTES);
    let cut = quote_container_start(html).unwrap_or(html.len());
    let reply = from_text(&html::to_text(&html[..cut]));
    if reply.is_empty() {
        // The container held everything (e.g. a reply that only quotes); keep what is there.
        from_text(&html::to_text(html))
    } else {
        reply
    }
}

const MAX_TEXT_BYTES: usize = 1 << 20;
/// How far into a text quotes are looked for (see `from_text`).
const SCAN_WINDOW: usize = 64 * 1024;
const MAX_HTML_BYTES: usize = 2 << 20;
/// Attributions wrap over at most this many lines (Polymail puts the address on its own lines).
const WINDOW_LINES: usize = 6;
/// Attribution and header lines are short; longer candidates are text, which also bounds regex work.
const WINDOW_BYTES: usize = 1024;

/// The longest prefix of `s` within `max` bytes, ending at a line break when there is one.
fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &s[..end];
    match cut.rfind('\n') {
        Some(nl) if nl > 0 => &cut[..nl],
        _ => cut,
    }
}

// ---------------------------------------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------------------------------------

fn alternation(words: &[&str]) -> String {
    words.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|")
}

fn compile(pattern: &str) -> Regex {
    // Every pattern is a literal of this file, so failure is a programming error caught by the tests.
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// Words that open an "On <date>, <someone> wrote:" attribution. Case matters: clients capitalise them,
/// and it keeps "on"/"le"/"am" inside ordinary sentences out.
const LEADS: &[&str] = &[
    "On",
    "Le",
    "Am",
    "Op",
    "El",
    "Em",
    "Il giorno",
    "Il",
    "Den",
    "På",
    "W dniu",
    "Dne",
    "В",
    "Vào",
    "Pada",
    "Στις",
    "No dia",
];

/// Verbs that close an attribution ("wrote:", "a écrit :", "schrieb:", ...).
const VERBS: &[&str] = &[
    "wrote",
    "writes",
    "sent",
    "a écrit",
    "a ecrit",
    "escribió",
    "escribio",
    "escreveu",
    "ha scritto",
    "scrisse",
    "schrieb",
    "schreef",
    "verzond",
    "geschreven",
    "skrev",
    "skriver",
    "napisał(a)",
    "napisała",
    "napisał",
    "napisal",
    "napsal(a)",
    "napsal",
    "napísal",
    "написал(а)",
    "написала",
    "написал",
    "пишет",
    "пише",
    "đã viết",
    "kirjoitti",
    "yazdı",
    "írta",
    "a scris",
    "menulis",
    "έγραψε",
];

/// Scripts without word spacing glue these verbs to what precedes them.
const CJK_VERBS: &[&str] = &["写道", "寫道", "작성"];

/// Verbs that some languages place before the sender ("Am ... schrieb Max <max@x.de>:").
const MID_VERBS: &[&str] = &["schrieb", "schreef", "verzond", "skrev", "skriver", "kirjoitti", "írta"];

/// "-----Original Message-----" and its translations.
const ORIGINAL_MESSAGE: &[&str] = &[
    "Original Message",
    "Reply Message",
    "Ursprüngliche Nachricht",
    "Antwort Nachricht",
    "Original-Nachricht",
    "Oprindelig meddelelse",
    "Opprinnelig melding",
    "Originalmeddelande",
    "Ursprungligt meddelande",
    "Message d'origine",
    "Message original",
    "Mensaje original",
    "Messaggio originale",
    "Mensagem original",
    "Oorspronkelijk bericht",
    "Origineel bericht",
    "Alkuperäinen viesti",
    "Исходное сообщение",
    "Wiadomość oryginalna",
    "Původní zpráva",
    "Eredeti üzenet",
    "Orijinal Mesaj",
    "原始邮件",
    "原始郵件",
    "元のメッセージ",
];

const FORWARDED_MESSAGE: &[&str] = &[
    "Forwarded message",
    "Forwarded e-mail",
    "Weitergeleitete Nachricht",
    "Message transféré",
    "Mensaje reenviado",
    "Messaggio inoltrato",
    "Mensagem encaminhada",
    "Doorgestuurd bericht",
    "Videresendt meddelelse",
    "Videresendt melding",
    "Vidarebefordrat meddelande",
    "Пересылаемое сообщение",
    "Wiadomość przekazana",
    "Přeposlaná zpráva",
];

const FROM: u8 = 1;
const DATE: u8 = 2;
const TO: u8 = 4;
const SUBJECT: u8 = 8;

/// Header field names of quoted-message header blocks, lowercase, with the role each one plays.
const HEADER_FIELDS: &[(&str, u8)] = &[
    ("from", FROM),
    ("van", FROM),
    ("de", FROM),
    ("von", FROM),
    ("fra", FROM),
    ("från", FROM),
    ("da", FROM),
    ("от", FROM),
    ("od", FROM),
    ("lähettäjä", FROM),
    ("kimden", FROM),
    ("feladó", FROM),
    ("afzender", FROM),
    ("发件人", FROM),
    ("寄件者", FROM),
    ("差出人", FROM),
    ("보낸 사람", FROM),
    ("sent", DATE),
    ("date", DATE),
    ("datum", DATE),
    ("envoyé", DATE),
    ("skickat", DATE),
    ("sendt", DATE),
    ("gesendet", DATE),
    ("verzonden", DATE),
    ("enviado", DATE),
    ("enviada", DATE),
    ("enviado el", DATE),
    ("enviado em", DATE),
    ("enviada em", DATE),
    ("inviato", DATE),
    ("data", DATE),
    ("fecha", DATE),
    ("отправлено", DATE),
    ("дата", DATE),
    ("wysłano", DATE),
    ("odesláno", DATE),
    ("lähetetty", DATE),
    ("gönderildi", DATE),
    ("tarih", DATE),
    ("elküldve", DATE),
    ("dátum", DATE),
    ("dato", DATE),
    ("发送时间", DATE),
    ("日期", DATE),
    ("送信日時", DATE),
    ("보낸 날짜", DATE),
    ("to", TO),
    ("cc", TO),
    ("bcc", TO),
    ("reply-to", TO),
    ("an", TO),
    ("à", TO),
    ("a", TO),
    ("aan", TO),
    ("til", TO),
    ("till", TO),
    ("para", TO),
    ("кому", TO),
    ("копия", TO),
    ("do", TO),
    ("komu", TO),
    ("kopie", TO),
    ("kopia", TO),
    ("kopi", TO),
    ("vastaanottaja", TO),
    ("kime", TO),
    ("címzett", TO),
    ("收件人", TO),
    ("抄送", TO),
    ("宛先", TO),
    ("받는 사람", TO),
    ("subject", SUBJECT),
    ("betreff", SUBJECT),
    ("objet", SUBJECT),
    ("onderwerp", SUBJECT),
    ("emne", SUBJECT),
    ("ämne", SUBJECT),
    ("asunto", SUBJECT),
    ("oggetto", SUBJECT),
    ("assunto", SUBJECT),
    ("тема", SUBJECT),
    ("temat", SUBJECT),
    ("předmět", SUBJECT),
    ("aihe", SUBJECT),
    ("konu", SUBJECT),
    ("tárgy", SUBJECT),
    ("主题", SUBJECT),
    ("主旨", SUBJECT),
    ("件名", SUBJECT),
    ("제목", SUBJECT),
];

static RE_LEAD_START: LazyLock<Regex> = LazyLock::new(|| compile(&format!(r"^[\s\-]*(?:{})\s", alternation(LEADS))));

static RE_LEAD_MID: LazyLock<Regex> = LazyLock::new(|| compile(&format!(r"[\s\-]((?:{})\s)", alternation(LEADS))));

/// The verb ends the line, followed by a colon or by a closing run of dashes.
static RE_VERB_END: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)(?:(?:^|[^\p{{L}}])(?:{})|{})\s*(?:[:：]\s*-*|-{{2,}})\s*$",
        alternation(VERBS),
        alternation(CJK_VERBS)
    ))
});

static RE_VERB_MID: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)(?:^|[^\p{{L}}])(?:{})[^\p{{L}}].*[:：]\s*$",
        alternation(MID_VERBS)
    ))
});

/// "---- John Smith wrote ----" (Android).
static RE_DASH_WRAPPED: LazyLock<Regex> = LazyLock::new(|| compile(r"^\s*-{2,}\s*\S.*-{2,}\s*$"));

/// Something only a real attribution carries: a year, a time of day or an address.
static RE_DATEISH: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?:19|20)\d{2}|\d{1,2}[:.h]\d{2}|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"));

static RE_TIME: LazyLock<Regex> = LazyLock::new(|| compile(r"\d{1,2}:\d{2}"));

static RE_EMAIL: LazyLock<Regex> = LazyLock::new(|| compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"));

/// A line that opens with a date: "02.04.2012 14:20 ...", "2014-10-17 11:28 GMT ...",
/// "Thu, 26 Jun 2014 14:00:51 ...", "2012年4月2日 ...".
static RE_DATE_START: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^[\s\-]*(?:\d{1,4}[./\-]\s?\d{1,2}[./\-]\s?\d{1,4}|\d{4}年\d{1,2}月\d{1,2}日|\d{4}년|\p{L}{2,12}\.?,?\s+\d{1,2}\.?\s+\p{L}{2,12}\.?,?\s+\d{4})(?:\D|$)",
    )
});

static RE_ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\s*-{{2,}}\s*(?:{})\s*-{{2,}}",
        alternation(ORIGINAL_MESSAGE)
    ))
});

/// Outlook draws a line of underscores above its header block.
static RE_UNDERSCORES: LazyLock<Regex> = LazyLock::new(|| compile(r"^\s*_{8,}\s*$"));

static RE_FORWARD: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\s*(?:-{{2,}}\s*(?:{})\s*-{{2,}}|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:|Début du message réexpédié\s?:)\s*$",
        alternation(FORWARDED_MESSAGE)
    ))
});

/// "From: x", "*Sent:* y", "De : z".
static RE_HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<&str> = HEADER_FIELDS.iter().map(|(name, _)| *name).collect();
    compile(&format!(
        r"(?i)^\s*[*_]{{0,2}}\s*({})\s*[*_]{{0,2}}\s*[:：]\s*[*_]{{0,2}}(?:\s|$)",
        alternation(&names)
    ))
});

// ---------------------------------------------------------------------------------------------------
// Plain text
// ---------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Empty,
    Quote,
    Forward,
    Splitter,
    Text,
}

#[derive(Debug)]
struct Line<'a> {
    text: &'a str,
    kind: Kind,
}

/// For each physical line: does it start a `>` quote, and is an angle bracket still open after it?
///
/// A wrapped `<http://...>` link or `Name <\naddr>` leaves a `>` at the start of the next line that is not
/// a quote marker, so a `>` only quotes when no bracket is open from the lines above.
fn quote_flags(lines: &[&str]) -> (Vec<bool>, Vec<bool>) {
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

fn ends_sentence(line: &str) -> bool {
    line.trim_end().ends_with(['.', '!', '?'])
}

/// "On <date>, <someone> wrote:" starting on line `i`, possibly after some reply text on the same line.
/// Returns the byte offset where it starts in line `i` and how many lines it spans.
fn lead_attribution(lines: &[&str], quoted: &[bool], i: usize) -> Option<(usize, usize)> {
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
fn attribution_end(lines: &[&str], quoted: &[bool], i: usize, offset: usize) -> Option<usize> {
    let mut bytes = 0;
    let mut empty = 0;
    let mut dateish = false;
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
        bytes += line.len();
        if bytes > WINDOW_BYTES {
            return None;
        }
        dateish = dateish || RE_DATEISH.is_match(line);
        if RE_VERB_END.is_match(line) || RE_VERB_MID.is_match(line) {
            return dateish.then_some(j - i + 1);
        }
        if ends_sentence(line) {
            return None;
        }
    }
    None
}

/// "02.04.2012 14:20 пользователь "bob" <bob@x.org> написал:", "2011/4/7 Bob <bob@x.org>":
/// a date, an address, and either a time and a closing colon or the address closing it above a quote.
fn date_attribution(lines: &[&str], quoted: &[bool], i: usize) -> Option<usize> {
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
        has_email = has_email || RE_EMAIL.is_match(line);
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

fn next_is_quote(lines: &[&str], quoted: &[bool], i: usize) -> bool {
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
fn bare_attribution(lines: &[&str], quoted: &[bool], i: usize, extra: &[&str]) -> bool {
    let line = lines[i];
    if line.len() > WINDOW_BYTES || !(RE_VERB_END.is_match(line) || RE_VERB_MID.is_match(line)) {
        return false;
    }
    RE_DASH_WRAPPED.is_match(line)
        || RE_EMAIL.is_match(line)
        || extra.iter().any(|l| RE_EMAIL.is_match(l))
        || next_is_quote(lines, quoted, i)
        || lines[i + 1..].iter().all(|l| l.trim().is_empty())
}

fn header_kind(line: &str) -> Option<u8> {
    let name = RE_HEADER_FIELD.captures(line)?.get(1)?.as_str().to_lowercase();
    HEADER_FIELDS
        .iter()
        .find(|(field, _)| *field == name)
        .map(|&(_, kind)| kind)
}

/// Per-line facts the header-block search needs, computed once: each block candidate looks at up to a
/// dozen following lines, and re-running the patterns there would multiply the work.
struct HeaderFacts {
    /// The role of the header field the line starts with, if any.
    kind: Vec<Option<u8>>,
    /// The line carries a year, a time of day or an address.
    dateish: Vec<bool>,
}

impl HeaderFacts {
    fn new(lines: &[&str]) -> Self {
        Self {
            kind: lines.iter().map(|l| header_kind(l)).collect(),
            dateish: lines
                .iter()
                .map(|l| l.len() <= WINDOW_BYTES && RE_DATEISH.is_match(l))
                .collect(),
        }
    }
}

/// An Outlook-style header block of a quoted message starting at line `i`: at least two header lines
/// of different roles, one of them From or Date/Sent. Wrapped values may continue on the next lines.
fn header_block(lines: &[&str], quoted: &[bool], facts: &HeaderFacts, i: usize) -> Option<usize> {
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
    let looks_like_mail = seen & SUBJECT != 0 || facts.dateish[i..=last].contains(&true);
    let valid = headers >= 2 && seen & (FROM | DATE) != 0 && seen.count_ones() >= 2;
    (valid && looks_like_mail).then_some(last - i + 1)
}

/// How many lines starting at `i` form a separator: "-----Original Message-----", or Outlook's
/// underscore rule directly above a header block.
fn separator(lines: &[&str], quoted: &[bool], facts: &HeaderFacts, i: usize) -> Option<usize> {
    let line = lines[i];
    if RE_ORIGINAL_MESSAGE.is_match(line) {
        return Some(1);
    }
    if RE_UNDERSCORES.is_match(line) && i + 1 < lines.len() && !quoted[i + 1] {
        return header_block(lines, quoted, facts, i + 1).map(|n| n + 1);
    }
    None
}

fn push<'a>(out: &mut Vec<Line<'a>>, text: &'a str, kind: Kind) {
    out.push(Line { text, kind });
}

fn classify<'a>(lines: &[&'a str]) -> Vec<Line<'a>> {
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
            .or_else(|| date_attribution(lines, &quoted, i).map(|n| (0, n)));
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
fn is_wrapped_link(lines: &[Line], i: usize) -> bool {
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
fn strip_history(lines: &[Line]) -> Option<Vec<usize>> {
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
fn has_quote_block(kinds: &[Kind]) -> bool {
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

// ---------------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------------

/// Any start or end tag, with its name and attributes.
static RE_TAG: LazyLock<Regex> = LazyLock::new(|| compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b([^>]*)>"));

/// Outlook 2007-2016 draws the reply header in a div with a thin top border; Windows Mail likewise.
static RE_OUTLOOK_BORDER: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)border-top:\s*solid\s+#(?:e1e1e1|b5c4df)\s+1(?:\.0)?pt|border-top:\s*1(?:\.0)?pt\s+solid\s+(?:#e1e1e1|#b5c4df|rgb\(\s*225,\s*225,\s*225\s*\))|border-top-color:\s*rgb\(\s*229,\s*229,\s*229\s*\)",
    )
});

/// Outlook's separator rule above the reply header (desktop 2003 and Outlook on the web).
static RE_TABINDEX_MINUS_ONE: LazyLock<Regex> = LazyLock::new(|| compile(r#"(?i)tabindex\s*=\s*["']?-1"#));

/// Class and id values that mark where a client put the quoted message.
const QUOTE_MARKERS: &[&str] = &[
    "gmail_quote",
    "yahoo_quoted",
    "protonmail_quote",
    "moz-cite-prefix",
    "divrplyfwdmsg",
    "appendonsend",
    "olk_src_body_section",
    "mail-editor-reference-message-container",
    "stopspelling",
    "zwchr",
    "__divider__",
    "__quoted_text__",
];

/// Byte offset of the first tag that opens quoted history, unless it opens a forwarded message.
fn quote_container_start(html: &str) -> Option<usize> {
    for caps in RE_TAG.captures_iter(html) {
        let (Some(whole), Some(name)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        if caps.get(1).is_some_and(|m| !m.is_empty()) {
            continue;
        }
        let name = name.as_str();
        let attrs = caps.get(3).map_or("", |m| m.as_str());
        let lower = attrs.to_ascii_lowercase();
        let is_quote = name.eq_ignore_ascii_case("blockquote")
            || QUOTE_MARKERS.iter().any(|m| lower.contains(m))
            || (name.eq_ignore_ascii_case("div") && RE_OUTLOOK_BORDER.is_match(attrs))
            || (name.eq_ignore_ascii_case("hr") && RE_TABINDEX_MINUS_ONE.is_match(attrs));
        if !is_quote {
            continue;
        }
        // Gmail wraps forwarded messages in the same container; a forward is the content.
        let mut end = (whole.end() + 2000).min(html.len());
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        let following = html::to_text(&html[whole.end()..end]);
        let first_line = following.lines().find(|l| !l.trim().is_empty());
        if first_line.is_some_and(|l| RE_FORWARD.is_match(l)) {
            return None;
        }
        return Some(whole.start());
    }
    None
}

#[cfg(test)]
mod tests;
