//! Finds the original message inside a manual forward.
//!
//! Agents forward customers' mail from their own mailbox to the account's
//! inbound address. The contact of such a message is the ORIGINAL sender, so
//! this module owns recognising a forward and pulling the original headers
//! (from, subject, date, to, cc), the original body and the forwarder's note
//! out of it. It knows nothing of contacts or storage.
//!
//! Rules:
//! - Sources are tried in this order: an attached `message/rfc822` part
//!   ("forward as attachment"), then a forward block in the text body, then
//!   in the HTML body (converted to text here).
//! - A forward is recognised by its block (separator line + header block),
//!   with or without a forward prefix on the subject. Separators that say
//!   "forwarded" (Gmail, Apple Mail, Thunderbird, Yahoo, in many languages)
//!   are trusted on their own. Outlook's separators (`-----Original
//!   Message-----`, a `____` rule, the `divRplyFwdMsg`/border-top header div)
//!   are also used for replies, so in `parse` they are not taken when the
//!   subject carries only a reply prefix ("RE:", "AW:", ...). A bare
//!   `From:/Sent:/To:/Subject:` block with no separator at all (Outlook's
//!   text part) is only taken when the subject has a forward prefix.
//! - "On ... wrote:" attributions are replies, never forwards.
//! - The first (outermost) block wins: a forward of a forward names the
//!   person who sent it to the agent.
//! - No original sender address means no result (`None`): the caller flags
//!   the message `forward_unparsed` rather than inventing a contact.
//! - Never panics; scans at most `MAX_SCAN` bytes of text (and of HTML), and
//!   looks at most `MAX_HEADER_LINES` lines past a separator, so work stays
//!   linear in the input.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use regex::{Captures, Regex};

/// Forward blocks sit near the top of a message; anything past this is body
/// we do not need to look at.
const MAX_SCAN: usize = 1 << 20;
/// A header block is a handful of lines; wrapped To/Cc lists may add some.
const MAX_HEADER_LINES: usize = 40;
/// Stand-in for an HTML block boundary until the text is laid out; a private
/// use character so it can't clash with real text (it is stripped first).
const BLOCK: char = '\u{E000}';
const OUTLOOK_RULE: &str = "________________________________";

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Forwarded {
    /// Original sender address, lower-case domain (local part as written).
    pub from_email: String,
    /// Original sender display name, if any.
    pub from_name: Option<String>,
    /// Original subject.
    pub subject: Option<String>,
    /// Original date as written in the block.
    pub date: Option<String>,
    /// Original To addresses.
    pub to: Vec<String>,
    /// Original Cc addresses.
    pub cc: Vec<String>,
    /// The body of the original message (plain text).
    pub body: String,
    /// What the forwarder wrote above the forward block (trimmed; "" if none).
    pub note: String,
}

/// How much a separator alone tells us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Says "forwarded" in so many words.
    Explicit,
    /// Outlook-style: the same separator is used for replies.
    Ambiguous,
    /// No separator at all, just a header block.
    Bare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Date,
    Subject,
    To,
    Cc,
    /// Known header we keep the block going for but don't report.
    Other,
}

/// Subject prefixes that mark a manual forward, and ones that mark a reply
/// (stripped too, so "RE: FW: x" gives "x"). Matched case-insensitively and
/// followed by an optional counter ("[2]", "(2)") and a colon.
const FORWARD_PREFIXES: &[&str] = &[
    "fwd",
    "fw",
    "tr",
    "wg",
    "rv",
    "doorst",
    "vs",
    "vb",
    "enc",
    "i",
    "pd",
    "vl",
    "videresend",
    "ilt",
    "İlt",
    "redir.",
    "redir",
    "pre",
    "přeposlat",
    "továbbítás",
    "wtr",
    "πρθ",
    "пересл",
    "转发",
    "轉寄",
    "轉發",
    "転送",
];
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "sv", "antw", "antwort", "rif", "r", "réf", "ref", "res", "odp", "vá", "ynt", "atb", "απ", "отв",
    "回复", "回覆", "答复", "返信",
];

/// Dash-framed separators: `---------- Forwarded message ---------`.
const DASH_SEPARATORS: &[(&str, Kind)] = &[
    ("forwarded message", Kind::Explicit),
    ("forwarded e-mail", Kind::Explicit),
    ("forwarded email", Kind::Explicit),
    ("message transféré", Kind::Explicit),
    ("message transmis", Kind::Explicit),
    ("message réexpédié", Kind::Explicit),
    ("weitergeleitete nachricht", Kind::Explicit),
    ("weitergeleitete e-mail", Kind::Explicit),
    ("mensaje reenviado", Kind::Explicit),
    ("messaggio inoltrato", Kind::Explicit),
    ("mensagem encaminhada", Kind::Explicit),
    ("mensagem reencaminhada", Kind::Explicit),
    ("doorgestuurd bericht", Kind::Explicit),
    ("doorgestuurde e-mail", Kind::Explicit),
    ("vidarebefordrat meddelande", Kind::Explicit),
    ("vidarebefordrat mejl", Kind::Explicit),
    ("videresendt melding", Kind::Explicit),
    ("videresendt meddelelse", Kind::Explicit),
    ("videresendt meldelse", Kind::Explicit),
    ("videresendt besked", Kind::Explicit),
    ("videresendt e-post", Kind::Explicit),
    ("välitetty viesti", Kind::Explicit),
    ("edelleenlähetetty viesti", Kind::Explicit),
    ("przekazana wiadomość", Kind::Explicit),
    ("treść przekazanej wiadomości", Kind::Explicit),
    ("přeposlaná zpráva", Kind::Explicit),
    ("preposlaná správa", Kind::Explicit),
    ("továbbított üzenet", Kind::Explicit),
    ("mesaj redirecționat", Kind::Explicit),
    ("proslijeđena poruka", Kind::Explicit),
    ("пересылаемое сообщение", Kind::Explicit),
    ("пересланное сообщение", Kind::Explicit),
    ("перенаправленное сообщение", Kind::Explicit),
    ("переслане повідомлення", Kind::Explicit),
    ("перенаправлене повідомлення", Kind::Explicit),
    ("iletilmiş mesaj", Kind::Explicit),
    ("iletilen ileti", Kind::Explicit),
    ("転送されたメッセージ", Kind::Explicit),
    ("转发的邮件", Kind::Explicit),
    ("original message", Kind::Ambiguous),
    ("original e-mail", Kind::Ambiguous),
    ("message d'origine", Kind::Ambiguous),
    ("message original", Kind::Ambiguous),
    ("ursprüngliche nachricht", Kind::Ambiguous),
    ("originalnachricht", Kind::Ambiguous),
    ("mensaje original", Kind::Ambiguous),
    ("messaggio originale", Kind::Ambiguous),
    ("mensagem original", Kind::Ambiguous),
    ("oorspronkelijk bericht", Kind::Ambiguous),
    ("origineel bericht", Kind::Ambiguous),
    ("ursprungligt meddelande", Kind::Ambiguous),
    ("opprinnelig melding", Kind::Ambiguous),
    ("oprindelig meddelelse", Kind::Ambiguous),
    ("alkuperäinen viesti", Kind::Ambiguous),
    ("oryginalna wiadomość", Kind::Ambiguous),
    ("původní zpráva", Kind::Ambiguous),
    ("pôvodná správa", Kind::Ambiguous),
    ("eredeti üzenet", Kind::Ambiguous),
    ("исходное сообщение", Kind::Ambiguous),
    ("orijinal mesaj", Kind::Ambiguous),
    ("原始邮件", Kind::Ambiguous),
    ("元のメッセージ", Kind::Ambiguous),
];

/// Whole-line separators ending in a colon: Apple Mail's
/// `Begin forwarded message:`.
const COLON_SEPARATORS: &[&str] = &[
    "begin forwarded message",
    "forwarded message",
    "début du message réexpédié",
    "début du message transféré",
    "message transféré",
    "anfang der weitergeleiteten nachricht",
    "inicio del mensaje reenviado",
    "comienzo del mensaje reenviado",
    "inizio messaggio inoltrato",
    "início da mensagem reencaminhada",
    "início da mensagem encaminhada",
    "mensagem encaminhada",
    "begin doorgestuurd bericht",
    "doorgestuurd bericht",
    "vidarebefordrat brev",
    "vidarebefordrat mejl",
    "vidarebefordrat meddelande",
    "videresendt melding",
    "videresendt meddelelse",
    "start på videresendt besked",
    "start på videresendt meddelelse",
    "videresendt besked",
    "välitetty viesti alkaa",
    "początek przekazywanej wiadomości",
    "začátek přeposílané zprávy",
    "začiatok preposlanej správy",
    "továbbított levél kezdete",
    "începe mesajul redirecționat",
    "započni proslijeđenu poruku",
    "начало переадресованного сообщения",
    "початок листа, що пересилається",
    "i̇leti başlangıcı",
    "ileti başlangıcı",
];

/// Header names inside forward blocks, by language (lower-case).
const LABELS: &[(&str, Field)] = &[
    // From
    ("from", Field::From),
    ("von", Field::From),
    ("de", Field::From),
    ("de la", Field::From),
    ("da", Field::From),
    ("van", Field::From),
    ("från", Field::From),
    ("fra", Field::From),
    ("lähettäjä", Field::From),
    ("od", Field::From),
    ("feladó", Field::From),
    ("expeditorul", Field::From),
    ("mittente", Field::From),
    ("nadawca", Field::From),
    ("afzender", Field::From),
    ("avsändare", Field::From),
    ("absender", Field::From),
    ("remitente", Field::From),
    ("remetente", Field::From),
    ("expéditeur", Field::From),
    ("saatja", Field::From),
    ("šalje", Field::From),
    ("от", Field::From),
    ("від", Field::From),
    ("від кого", Field::From),
    ("отправитель", Field::From),
    ("kimden", Field::From),
    ("gönderen", Field::From),
    ("发件人", Field::From),
    ("發件人", Field::From),
    ("寄件者", Field::From),
    ("差出人", Field::From),
    // Date / Sent
    ("date", Field::Date),
    ("sent", Field::Date),
    ("sent on", Field::Date),
    ("datum", Field::Date),
    ("gesendet", Field::Date),
    ("gesendet am", Field::Date),
    ("fecha", Field::Date),
    ("enviado", Field::Date),
    ("enviado el", Field::Date),
    ("enviado em", Field::Date),
    ("enviada", Field::Date),
    ("enviada em", Field::Date),
    ("envoyé", Field::Date),
    ("envoyé le", Field::Date),
    ("data", Field::Date),
    ("inviato", Field::Date),
    ("inviato il", Field::Date),
    ("verzonden", Field::Date),
    ("verzonden op", Field::Date),
    ("verstuurd", Field::Date),
    ("skickat", Field::Date),
    ("sendt", Field::Date),
    ("dato", Field::Date),
    ("päivämäärä", Field::Date),
    ("päiväys", Field::Date),
    ("lähetetty", Field::Date),
    ("dátum", Field::Date),
    ("dată", Field::Date),
    ("wysłano", Field::Date),
    ("wysłane", Field::Date),
    ("odesláno", Field::Date),
    ("odoslané", Field::Date),
    ("elküldve", Field::Date),
    ("trimis", Field::Date),
    ("tarih", Field::Date),
    ("gönderilen", Field::Date),
    ("gönderildi", Field::Date),
    ("дата", Field::Date),
    ("отправлено", Field::Date),
    ("надіслано", Field::Date),
    ("日期", Field::Date),
    ("发送时间", Field::Date),
    ("傳送時間", Field::Date),
    ("送信日時", Field::Date),
    // Subject
    ("subject", Field::Subject),
    ("objet", Field::Subject),
    ("sujet", Field::Subject),
    ("betreff", Field::Subject),
    ("asunto", Field::Subject),
    ("oggetto", Field::Subject),
    ("assunto", Field::Subject),
    ("onderwerp", Field::Subject),
    ("ämne", Field::Subject),
    ("emne", Field::Subject),
    ("aihe", Field::Subject),
    ("temat", Field::Subject),
    ("předmět", Field::Subject),
    ("predmet", Field::Subject),
    ("tárgy", Field::Subject),
    ("subiect", Field::Subject),
    ("subiectul", Field::Subject),
    ("konu", Field::Subject),
    ("naslov", Field::Subject),
    ("тема", Field::Subject),
    ("主题", Field::Subject),
    ("主旨", Field::Subject),
    ("件名", Field::Subject),
    // To
    ("to", Field::To),
    ("à", Field::To),
    ("a", Field::To),
    ("an", Field::To),
    ("para", Field::To),
    ("aan", Field::To),
    ("till", Field::To),
    ("til", Field::To),
    ("vastaanottaja", Field::To),
    ("pour", Field::To),
    ("destinataire", Field::To),
    ("destinatario", Field::To),
    ("destinatari", Field::To),
    ("komu", Field::To),
    ("do", Field::To),
    ("címzett", Field::To),
    ("destinatarul", Field::To),
    ("către", Field::To),
    ("pre", Field::To),
    ("kime", Field::To),
    ("adresat", Field::To),
    ("prima", Field::To),
    ("кому", Field::To),
    ("收件人", Field::To),
    ("宛先", Field::To),
    // Cc
    ("cc", Field::Cc),
    ("kopie", Field::Cc),
    ("kopie (cc)", Field::Cc),
    ("kopio", Field::Cc),
    ("kopi", Field::Cc),
    ("kopia", Field::Cc),
    ("copie", Field::Cc),
    ("copie à", Field::Cc),
    ("copia", Field::Cc),
    ("cópia", Field::Cc),
    ("másolat", Field::Cc),
    ("másolatot kap", Field::Cc),
    ("dw", Field::Cc),
    ("kópia", Field::Cc),
    ("bilgi", Field::Cc),
    ("копия", Field::Cc),
    ("копія", Field::Cc),
    ("抄送", Field::Cc),
    ("副本", Field::Cc),
    // Others seen inside blocks
    ("bcc", Field::Other),
    ("cci", Field::Other),
    ("ccn", Field::Other),
    ("cco", Field::Other),
    ("reply-to", Field::Other),
    ("répondre à", Field::Other),
    ("antwort an", Field::Other),
    ("responder a", Field::Other),
    ("rispondi a", Field::Other),
    ("antwoord aan", Field::Other),
    ("svara till", Field::Other),
    ("svar til", Field::Other),
    ("vastaus", Field::Other),
    ("importance", Field::Other),
    ("priorité", Field::Other),
    ("wichtigkeit", Field::Other),
    ("importancia", Field::Other),
    ("importanza", Field::Other),
    ("prioriteit", Field::Other),
    ("attachments", Field::Other),
    ("pièces jointes", Field::Other),
    ("anlagen", Field::Other),
    ("datos adjuntos", Field::Other),
    ("allegati", Field::Other),
    ("anexos", Field::Other),
    ("bijlagen", Field::Other),
    ("bilagor", Field::Other),
    ("vedhæftede filer", Field::Other),
    ("vedlegg", Field::Other),
];

/// Case-folds one character for label matching: lower-case, without the
/// combining dot `İ` lower-cases into, and with typographic apostrophes
/// made plain ("Message d’origine").
fn fold_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase()
        .filter(|&l| l != '\u{307}')
        .map(|l| if l == '’' { '\'' } else { l })
}

fn fold(s: &str) -> String {
    s.chars().flat_map(fold_char).collect()
}

/// If `text` starts with `phrase` (already folded), the rest of `text`.
fn strip_folded_prefix<'a>(text: &'a str, phrase: &str) -> Option<&'a str> {
    let mut want = phrase.chars().peekable();
    for (i, c) in text.char_indices() {
        if want.peek().is_none() {
            return Some(&text[i..]);
        }
        for l in fold_char(c) {
            if want.next() != Some(l) {
                return None;
            }
        }
    }
    want.peek().is_none().then_some("")
}

static LABEL_MAP: LazyLock<HashMap<String, Field>> =
    LazyLock::new(|| LABELS.iter().map(|(label, field)| (fold(label), *field)).collect());

static DASH_MAP: LazyLock<Vec<(String, Kind)>> = LazyLock::new(|| {
    DASH_SEPARATORS
        .iter()
        .map(|(phrase, kind)| (fold(phrase), *kind))
        .collect()
});

static COLON_MAP: LazyLock<Vec<String>> = LazyLock::new(|| COLON_SEPARATORS.iter().map(|p| fold(p)).collect());

fn prefix_alternation(list: &[&str]) -> String {
    let mut items: Vec<String> = list.iter().map(|p| regex::escape(p)).collect();
    // Longest first so "fwd" is tried before "fw".
    items.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
    items.join("|")
}

static SUBJECT_PREFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        r"^\s*(?i:(?P<fwd>{})|(?P<re>{}))\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
        prefix_alternation(FORWARD_PREFIXES),
        prefix_alternation(REPLY_PREFIXES),
    );
    Regex::new(&pattern).expect("static subject prefix regex")
});

/// Gateway tags such as "[EXT]" that precede the prefixes.
static SUBJECT_TAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\[[^\]:]{1,24}\]").expect("static tag regex"));

/// Old Mozilla style "[Fwd: subject]".
static SUBJECT_BRACKET_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\[\s*(?:fwd|fw)\s*:\s*(?P<rest>.*?)\s*\]\s*$").expect("static regex"));

/// Yahoo's text part glues the header block onto one line
/// ("From: A <a@x>To: b@y Sent: ... GMT-5Subject: Hi"). Capitalised labels
/// only; short ones must follow a non-letter to stay clear of prose, long
/// ones may follow anything since the time zone before them ends in one.
static GLUED_LABEL_RE: LazyLock<Regex> = LazyLock::new(|| {
    let long = [
        "From",
        "Sent",
        "Date",
        "Subject",
        "Envoyé",
        "Objet",
        "Gesendet",
        "Betreff",
        "Datum",
        "Para",
        "Enviado",
        "Enviada",
        "Asunto",
        "Assunto",
        "Inviato",
        "Oggetto",
        "Verzonden",
        "Onderwerp",
        "Från",
        "Till",
        "Skickat",
        "Ämne",
        "Kopia",
        "Sendt",
        "Emne",
        "Kopi",
        "Lähettäjä",
        "Vastaanottaja",
        "Lähetetty",
        "Aihe",
        "Kopio",
        "Wysłano",
        "Temat",
    ];
    let short = [
        "To", "Cc", "CC", "Bcc", "De", "À", "Von", "An", "Da", "A", "Van", "Aan", "Fra", "Til", "Od", "Do",
    ];
    let pattern = format!(
        r"(?P<long>{})\s?:|(?:^|[^\p{{L}}])(?P<short>{})\s?:",
        prefix_alternation(&long),
        prefix_alternation(&short)
    );
    Regex::new(&pattern).expect("static glued label regex")
});

static EMAIL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+").expect("static email regex"));

static HTML_MAILTO_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<a\b[^>]*?\bhref\s*=\s*["']?\s*mailto:([^"'>\s?]+)[^>]*>(.*?)</a\s*>"#)
        .expect("static mailto regex")
});

static HTML_TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("static tag regex"));

/// Outlook's header blocks carry no separator text: a rule (`<hr>`), the
/// `divRplyFwdMsg` div, or a div with a top border mark them.
static HTML_OUTLOOK_SEP_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<hr\b[^>]*>|<div\b[^>]*\bid\s*=\s*["']?divRplyFwdMsg[^>]*>|<div\b[^>]*border-top\s*:\s*solid[^>]*>"#,
    )
    .expect("static outlook separator regex")
});

static HTML_BLOCK_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)</?(?:div|p|tr|table|tbody|thead|tfoot|blockquote|li|ul|ol|h[1-6]|pre|center|section|article|header|footer|dl|dt|dd|address)\b[^>]*>",
    )
    .expect("static block regex")
});

static HTML_CELL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)<t[dh]\b").expect("static cell regex"));

/// Subject prefixes that mark a manual forward: Fwd:, Fw:, FW:, TR:, WG:,
/// RV:, Doorst:, Vs:, VS:, VB:, Enc:, I:, PD:, VL:, Videresend:, İLT:, 转发:
/// ... Reply prefixes (Re:, AW:, SV:, Antw:, R:, Réf:, ...) in the same
/// chain are removed as well. Returns `Some(rest)` if a forward prefix was
/// present, the rest having all leading forward/reply prefixes removed.
pub fn strip_forward_prefix(subject: &str) -> Option<&str> {
    let (rest, forwarded, _) = strip_prefixes(subject);
    forwarded.then_some(rest)
}

/// Strips the leading prefix chain; says whether a forward and whether a
/// reply prefix was seen.
fn strip_prefixes(subject: &str) -> (&str, bool, bool) {
    if let Some(caps) = SUBJECT_BRACKET_RE.captures(subject)
        && let Some(rest) = caps.name("rest")
    {
        let (inner, _, replied) = strip_prefixes(rest.as_str());
        return (inner, true, replied);
    }
    let mut rest = subject;
    let mut forwarded = false;
    let mut replied = false;
    // Bounded: real chains are short, and each step consumes input.
    for _ in 0..32 {
        let mut candidate = rest;
        if let Some(tag) = SUBJECT_TAG_RE.find(candidate) {
            candidate = &candidate[tag.end()..];
        }
        let Some(caps) = SUBJECT_PREFIX_RE.captures(candidate) else {
            break;
        };
        if caps.name("fwd").is_some() {
            forwarded = true;
        } else {
            replied = true;
        }
        let end = caps.get(0).map_or(0, |m| m.end());
        rest = &candidate[end..];
    }
    (rest.trim(), forwarded, replied)
}

/// Find the forwarded original in a message: an attached message/rfc822
/// part first, then a forward block in the text body, then in the HTML body.
pub fn parse(msg: &Message<'_>) -> Option<Forwarded> {
    if let Some(found) = from_attached(msg) {
        return Some(found);
    }
    let subject = msg.subject().unwrap_or("");
    let forward_prefix = strip_forward_prefix(subject).is_some();
    let reply_only = !forward_prefix && strip_prefixes(subject).2;
    // A reply quoting Outlook headers looks exactly like an Outlook forward;
    // only the subject tells them apart.
    let accept = |(found, kind): (Forwarded, Kind)| (!reply_only || kind == Kind::Explicit).then_some(found);

    if let Some(text) = first_text(msg)
        && let Some(found) = scan(&normalize(text), forward_prefix).and_then(accept)
    {
        return Some(found);
    }
    for part in msg.html_bodies() {
        if let PartType::Html(html) = &part.body {
            return scan(&html_to_plain(html), forward_prefix).and_then(accept);
        }
    }
    None
}

/// The forward block parser for a plain-text body.
// Public for tests and tools; the server goes through `parse`, so in a
// binary crate nothing else may call it.
pub fn from_text(text: &str) -> Option<Forwarded> {
    scan(&normalize(text), false).map(|(found, _)| found)
}

/// The forward block parser for an HTML body.
pub fn from_html(html: &str) -> Option<Forwarded> {
    scan(&html_to_plain(html), false).map(|(found, _)| found)
}

fn first_text<'a>(msg: &'a Message<'_>) -> Option<&'a str> {
    msg.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(text.as_ref()),
        _ => None,
    })
}

/// The message's readable text: its text part, else its HTML laid out.
fn readable_text(msg: &Message<'_>) -> String {
    if let Some(text) = first_text(msg) {
        return normalize(text);
    }
    msg.html_bodies()
        .find_map(|part| match &part.body {
            PartType::Html(html) => Some(html_to_plain(html)),
            _ => None,
        })
        .unwrap_or_default()
}

/// Outlook's "forward as attachment": the attached message's own headers
/// are the truth; the outer text is the forwarder's note.
fn from_attached(msg: &Message<'_>) -> Option<Forwarded> {
    // A bounce (multipart/report) carries the bounced message the same way;
    // its sender is us, not a customer.
    let is_report = msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    if is_report {
        return None;
    }
    for part in msg.attachments() {
        let reparsed;
        let inner = match &part.body {
            PartType::Message(inner) => inner,
            PartType::Binary(raw) | PartType::InlineBinary(raw)
                if part.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("message")
                        && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("rfc822"))
                }) =>
            {
                let Some(parsed) = MessageParser::default().parse(raw.as_ref()) else {
                    continue;
                };
                reparsed = parsed;
                &reparsed
            }
            _ => continue,
        };
        if let Some(found) = forwarded_from_message(inner, msg) {
            return Some(found);
        }
    }
    None
}

fn forwarded_from_message(inner: &Message<'_>, outer: &Message<'_>) -> Option<Forwarded> {
    let sender = inner.from()?.iter().find_map(|addr| {
        let email = addr.address().and_then(clean_email)?;
        let name = addr
            .name()
            .and_then(clean_name)
            .filter(|n| !n.eq_ignore_ascii_case(&email));
        Some((email, name))
    })?;
    let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        let mut out = Vec::new();
        for addr in list.into_iter().flat_map(|l| l.iter()) {
            if let Some(email) = addr.address().and_then(clean_email) {
                push_unique(&mut out, email);
            }
        }
        out
    };
    let note = readable_text(outer);
    Some(Forwarded {
        from_email: sender.0,
        from_name: sender.1,
        subject: inner.subject().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        date: inner
            .header_raw("Date")
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
        to: addresses(inner.to()),
        cc: addresses(inner.cc()),
        body: tidy(&readable_text(inner)),
        note: tidy(&note),
    })
}

/// Bounds the input, unifies line breaks and drops the invisible characters
/// clients sprinkle around (BOM, zero-width spaces), and turns no-break
/// spaces (French "De\u{a0}:") into plain ones.
fn normalize(text: &str) -> String {
    let text = truncate(text, MAX_SCAN);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{a0}' | '\u{202f}' | '\u{2007}' => out.push(' '),
            '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | BLOCK => {}
            c => out.push(c),
        }
    }
    out
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lays HTML out as text so the same block parser applies: block elements
/// become line breaks, mailto links keep their address, and Outlook's
/// separator-less header divs get a rule line in front.
fn html_to_plain(html: &str) -> String {
    let html = truncate(html, MAX_SCAN);
    let html: Cow<'_, str> = if html.contains(BLOCK) {
        Cow::Owned(html.replace(BLOCK, ""))
    } else {
        Cow::Borrowed(html)
    };
    let html = HTML_MAILTO_RE.replace_all(&html, |caps: &Captures<'_>| {
        let inner = caps.get(2).map_or("", |m| m.as_str());
        let addr = caps.get(1).map_or("", |m| m.as_str());
        let visible = HTML_TAG_RE.replace_all(inner, "");
        if visible.contains('@') || !addr.contains('@') {
            inner.to_string()
        } else {
            format!("{inner} &lt;{addr}&gt;")
        }
    });
    let rule = format!("{BLOCK}{OUTLOOK_RULE}{BLOCK}");
    let html = HTML_OUTLOOK_SEP_RE.replace_all(&html, |caps: &Captures<'_>| {
        format!("{rule}{}", caps.get(0).map_or("", |m| m.as_str()))
    });
    let html = HTML_BLOCK_RE.replace_all(&html, BLOCK.to_string().as_str());
    let html = HTML_CELL_RE.replace_all(&html, " $0");
    let text = mail_parser::decoders::html::html_to_text(&html);
    normalize(&layout_blocks(&text))
}

/// Block boundaries start a new line unless one was just started, so nested
/// divs don't turn into runs of blank lines while `<br>` and
/// `<p>&nbsp;</p>` still give the blank lines a reader sees.
fn layout_blocks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line_has_content = false;
    for c in text.chars() {
        match c {
            BLOCK => {
                if line_has_content {
                    let kept = out.trim_end_matches([' ', '\t']).len();
                    out.truncate(kept);
                    out.push('\n');
                    line_has_content = false;
                }
            }
            '\n' => {
                let kept = out.trim_end_matches([' ', '\t']).len();
                out.truncate(kept);
                out.push('\n');
                line_has_content = false;
            }
            ' ' | '\t' if !line_has_content => {}
            c => {
                out.push(c);
                line_has_content = true;
            }
        }
    }
    out
}

/// Strips `>` quote markers; returns the depth and the rest.
fn unquote(line: &str) -> (usize, &str) {
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
fn strip_quote(line: &str, depth: usize) -> &str {
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

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 10 && t.chars().all(|c| c == '_')
}

/// Recognises a separator line; returns its kind and any header text glued
/// onto the same line (Yahoo).
fn separator(line: &str) -> Option<(Kind, &str)> {
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

fn dash_separator(t: &str) -> Option<(Kind, &str)> {
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
fn header_line(line: &str) -> Option<(Field, &str)> {
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
fn split_glued(line: &str) -> Option<Vec<&str>> {
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
struct Item<'a> {
    text: &'a str,
    line: usize,
    depth: usize,
    /// Set on all but the last piece of a glued line.
    glued_more: bool,
}

/// Looks for the first forward block in normalized text; the earliest one
/// wins, bare blocks included when allowed.
fn scan(text: &str, allow_bare: bool) -> Option<(Forwarded, Kind)> {
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
struct Headers {
    from: Option<String>,
    date: Option<String>,
    subject: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    count: usize,
}

impl Headers {
    fn set(&mut self, field: Field, value: &str) {
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

    fn append(&mut self, field: Field, value: &str) {
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

fn parse_block(lines: &[&str], sep: usize, start: usize, rest: &str, kind: Kind) -> Option<Forwarded> {
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

fn expand<'a>(items: &mut Vec<Item<'a>>, text: &'a str, line: usize, depth: usize) {
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
fn is_continuation(last: Option<Field>, raw: &str, headers: &Headers) -> bool {
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
fn parse_mailbox(value: &str) -> Option<(String, Option<String>)> {
    let v = value.trim();
    let m = EMAIL_RE.find(v)?;
    let raw = m.as_str();
    let lead = raw.len() - raw.trim_start_matches(['\'', '.']).len();
    let start = m.start() + lead;
    let email = clean_email(&v[start..m.end()])?;
    let before = &v[..start];
    let name_part = match before.rfind(['<', '[']) {
        Some(i) => &before[..i],
        None => before,
    };
    let mut name = clean_name(name_part);
    if name.is_none() {
        let after = v[m.end()..].trim_start_matches(['>', ']']).trim_start();
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
fn tidy(text: &str) -> String {
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

fn clean_email(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_matches(|c| matches!(c, '<' | '>' | '\'' | '"'));
    let (local, domain) = raw.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    if local.is_empty() || domain.is_empty() || !domain.contains('.') {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

fn clean_name(raw: &str) -> Option<String> {
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

fn addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in EMAIL_RE.find_iter(value) {
        if let Some(email) = clean_email(m.as_str().trim_start_matches(['\'', '.'])) {
            push_unique(&mut out, email);
        }
    }
    out
}

fn push_unique(list: &mut Vec<String>, email: String) {
    if !list.iter().any(|e| e.eq_ignore_ascii_case(&email)) {
        list.push(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixtures_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forwards")
    }

    fn opt_str(value: &serde_json::Value, key: &str) -> Option<String> {
        value.get(key).and_then(|v| v.as_str()).map(str::to_string)
    }

    #[test]
    fn fixtures_match_expected() {
        let dir = fixtures_dir();
        let raw = std::fs::read_to_string(dir.join("expected.json")).expect("read expected.json");
        let expected: serde_json::Value = serde_json::from_str(&raw).expect("expected.json");
        let expected = expected.as_object().expect("expected.json is an object");

        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("read fixtures dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".eml"))
            .collect();
        on_disk.sort();
        for name in &on_disk {
            assert!(expected.contains_key(name), "{name} has no entry in expected.json");
        }

        let mut failures = Vec::new();
        for (name, want) in expected {
            let bytes = std::fs::read(dir.join(name)).expect("read fixture");
            assert!(
                bytes.windows(2).any(|w| w == b"\r\n") && !bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
                "{name}: not CRLF"
            );
            let Some(msg) = MessageParser::default().parse(&bytes) else {
                failures.push(format!("{name}: mail-parser could not parse it"));
                continue;
            };
            let got = parse(&msg);
            match (want.is_null(), got) {
                (true, None) => {}
                (true, Some(got)) => failures.push(format!("{name}: expected None, got {got:?}")),
                (false, None) => failures.push(format!("{name}: expected a forward, got None")),
                (false, Some(got)) => {
                    let mut diffs = Vec::new();
                    if opt_str(want, "from_email").as_deref() != Some(got.from_email.as_str()) {
                        diffs.push(format!("from_email {:?}", got.from_email));
                    }
                    if opt_str(want, "from_name") != got.from_name {
                        diffs.push(format!("from_name {:?}", got.from_name));
                    }
                    if opt_str(want, "subject") != got.subject {
                        diffs.push(format!("subject {:?}", got.subject));
                    }
                    if opt_str(want, "note").unwrap_or_default() != got.note {
                        diffs.push(format!("note {:?}", got.note));
                    }
                    if got.body.is_empty() {
                        diffs.push("empty body".to_string());
                    }
                    if got.date.is_none() {
                        diffs.push("no date".to_string());
                    }
                    if !diffs.is_empty() {
                        failures.push(format!("{name}: {}", diffs.join("; ")));
                    }
                }
            }
        }
        let total = expected.len();
        println!("forward fixtures: {}/{total}", total - failures.len());
        assert!(failures.is_empty(), "fixture mismatches:\n{}", failures.join("\n"));
        assert!(total >= 30, "expected at least 30 fixtures, found {total}");
    }

    /// Where a fixture has both a text and an HTML part, both must give the
    /// same answer: the HTML path is the fallback for the text path.
    #[test]
    fn fixture_text_and_html_parts_agree() {
        let dir = fixtures_dir();
        let mut compared = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .expect("read fixtures dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        entries.sort();
        for path in entries {
            let bytes = std::fs::read(&path).expect("read fixture");
            let msg = MessageParser::default().parse(&bytes).expect("parse fixture");
            let forward_subject = msg.subject().is_some_and(|s| strip_forward_prefix(s).is_some());
            let (Some(text), Some(html)) = (
                first_text(&msg),
                msg.html_bodies().find_map(|p| match &p.body {
                    PartType::Html(h) => Some(h.as_ref()),
                    _ => None,
                }),
            ) else {
                continue;
            };
            let from_text = scan(&normalize(text), forward_subject).map(|(f, _)| f);
            let from_html = scan(&html_to_plain(html), forward_subject).map(|(f, _)| f);
            let key = |f: &Forwarded| {
                (
                    f.from_email.clone(),
                    f.from_name.clone(),
                    f.subject.clone(),
                    f.date.clone(),
                    f.to.clone(),
                    f.cc.clone(),
                    f.note.clone(),
                )
            };
            assert_eq!(
                from_text.as_ref().map(key),
                from_html.as_ref().map(key),
                "{}",
                path.display()
            );
            compared += 1;
        }
        assert!(compared >= 15, "only {compared} fixtures have both parts");
    }

    #[test]
    fn strips_forward_prefixes() {
        let cases = [
            ("Fwd: Quote", Some("Quote")),
            ("FWD: Quote", Some("Quote")),
            ("Fw: Quote", Some("Quote")),
            ("FW: RE: Quote", Some("Quote")),
            ("RE: FW: Quote", Some("Quote")),
            ("TR: Litige", Some("Litige")),
            ("WG: AW: Angebot", Some("Angebot")),
            ("RV: Presupuesto", Some("Presupuesto")),
            ("Doorst: Offerte", Some("Offerte")),
            ("Vs: Tilbud", Some("Tilbud")),
            ("VS: Tilbud", Some("Tilbud")),
            ("VB: Felanmälan", Some("Felanmälan")),
            ("Enc: Orçamento", Some("Orçamento")),
            ("ENC: Orçamento", Some("Orçamento")),
            ("I: Ordine", Some("Ordine")),
            ("PD: Zamówienie", Some("Zamówienie")),
            ("Fwd[2]: Quote", Some("Quote")),
            ("Fwd : Quote", Some("Quote")),
            ("转发：报价", Some("报价")),
            ("[EXT] FW: Quote", Some("Quote")),
            ("[Fwd: Quote]", Some("Quote")),
            ("Fwd: ", Some("")),
            ("Re: Quote", None),
            ("AW: Angebot", None),
            ("Quote", None),
            ("Information: Fwd: not a prefix chain", None),
            ("", None),
        ];
        for (subject, want) in cases {
            assert_eq!(strip_forward_prefix(subject), want, "{subject:?}");
        }
    }

    #[test]
    fn gmail_text_block() {
        let text = "Can you handle this?\n\n---------- Forwarded message ---------\nFrom: Priya Raman <priya.raman@Brightwave.IO>\nDate: Tue, Mar 4, 2025 at 10:12 AM\nSubject: Quote request\nTo: <agent@agency.example>\nCc: Dev <dev@brightwave.io>, \"Lee, Ann\" <ann@brightwave.io>\n\n\nHello,\n\nWe need chairs.\n";
        let got = from_text(text).expect("forward");
        assert_eq!(got.from_email, "priya.raman@brightwave.io");
        assert_eq!(got.from_name.as_deref(), Some("Priya Raman"));
        assert_eq!(got.subject.as_deref(), Some("Quote request"));
        assert_eq!(got.date.as_deref(), Some("Tue, Mar 4, 2025 at 10:12 AM"));
        assert_eq!(got.to, vec!["agent@agency.example"]);
        assert_eq!(got.cc, vec!["dev@brightwave.io", "ann@brightwave.io"]);
        assert_eq!(got.body, "Hello,\n\nWe need chairs.");
        assert_eq!(got.note, "Can you handle this?");
    }

    #[test]
    fn localized_text_blocks() {
        let cases = [
            // Gmail, French with a no-break space before the colon.
            (
                "---------- Message transféré ---------\nDe\u{a0}: Hélène <helene@example.fr>\nDate\u{a0}: mar. 4 mars 2025\nSubject: Devis\nTo: <a@b.example>\n\nBonjour",
                "helene@example.fr",
                Some("Hélène"),
                Some("Devis"),
            ),
            // Outlook desktop, German, old "[mailto:]" form.
            (
                "-----Ursprüngliche Nachricht-----\nVon: Jürgen Weiß [mailto:j.weiss@weiss-bau.de] \nGesendet: Dienstag, 4. März 2025 10:12\nAn: Agent\nBetreff: Rechnung\n\nGuten Tag",
                "j.weiss@weiss-bau.de",
                Some("Jürgen Weiß"),
                Some("Rechnung"),
            ),
            // Outlook.com, French.
            (
                "Pour info\n\n________________________________\nDe : Zoé <zoe@port.example>\nEnvoyé : mardi 4 mars 2025 16:12\nÀ : agent@agency.example <agent@agency.example>\nObjet : Salle\n\nBonjour",
                "zoe@port.example",
                Some("Zoé"),
                Some("Salle"),
            ),
            // Apple Mail, Dutch, quoted.
            (
                "Begin doorgestuurd bericht:\n\n> Van: Sanne de Vries <sanne@devries.example>\n> Onderwerp: Zolder\n> Datum: 4 maart 2025 om 10:12:05 CET\n> Aan: Agent <agent@agency.example>\n> \n> Hallo,\n> wij willen verbouwen.\n",
                "sanne@devries.example",
                Some("Sanne de Vries"),
                Some("Zolder"),
            ),
            // Thunderbird, Italian, tab after the label.
            (
                "-------- Messaggio Inoltrato --------\nOggetto: \tPreventivo\nData: \tTue, 4 Mar 2025 10:12:05 +0100\nMittente: \tMatteo Colombo <matteo@colombo.example>\nA: \tagent@agency.example\n\n\n\nBuongiorno",
                "matteo@colombo.example",
                Some("Matteo Colombo"),
                Some("Preventivo"),
            ),
            // Thunderbird, Finnish double label.
            (
                "-------- Välitetty viesti / Fwd.Msg --------\nAihe: \tTarjous\nPäiväys: \tTue, 4 Mar 2025 10:12:05 +0200\nLähettäjä: \tMatti Virtanen <matti@virtanen.example>\nVastaanottaja: \tagent@agency.example\n\nHei",
                "matti@virtanen.example",
                Some("Matti Virtanen"),
                Some("Tarjous"),
            ),
            // Yahoo, header block run together on one line.
            (
                "   ----- Forwarded Message ----- From: John Doe <john.doe@acme.example>To: \"bessie@acme.example\" <bessie@acme.example>Cc: Walter <walter@acme.example>; Nicholas <nicholas@globex.example>Sent: Tuesday, November 2, 2021, 09:26:50 AM GMT+1Subject: Integer consequat non purus\n Aenean quis diam urna.",
                "john.doe@acme.example",
                Some("John Doe"),
                Some("Integer consequat non purus"),
            ),
            // Yahoo, Spanish, run together, time zone letters before the label.
            (
                "----- Mensaje reenviado ----- De: Carmen Ruiz <carmen@ruiz.example>Para: Agent <agent@agency.example>Enviado: martes, 4 de marzo de 2025, 16:12:33 CETAsunto: Baño\n Hola",
                "carmen@ruiz.example",
                Some("Carmen Ruiz"),
                Some("Baño"),
            ),
            // Outlook plain text of an HTML link.
            (
                "-----Original Message-----\nFrom: Walter Sheltan <walter.sheltan@acme.example<mailto:walter.sheltan@acme.example>>\nSent: Tuesday, March 4, 2025 10:12 AM\nSubject: Hello\n\nBody",
                "walter.sheltan@acme.example",
                Some("Walter Sheltan"),
                Some("Hello"),
            ),
            // Swedish Outlook desktop separator.
            (
                "-----Ursprungligt meddelande-----\nFrån: \"Sjöberg, Karin\" <karin@sjoberg.example>\nSkickat: den 4 mars 2025 10:12\nTill: Agent\nÄmne: Tårtor\n\nHej",
                "karin@sjoberg.example",
                Some("Sjöberg, Karin"),
                Some("Tårtor"),
            ),
            // Turkish Thunderbird, dotted capital I.
            (
                "-------- İletilen İleti --------\nKonu: \tTeklif\nTarih: \tTue, 4 Mar 2025\nKimden: \tAyşe Yılmaz <ayse@yilmaz.example>\nKime: \tagent@agency.example\n\nMerhaba",
                "ayse@yilmaz.example",
                Some("Ayşe Yılmaz"),
                Some("Teklif"),
            ),
            // French Outlook with a typographic apostrophe.
            (
                "-----Message d’origine-----\nDe : Ève <eve@marchand.example>\nEnvoyé : mardi 4 mars 2025 10:12\nObjet : Litige\n\nBonjour",
                "eve@marchand.example",
                Some("Ève"),
                Some("Litige"),
            ),
            // Norwegian Outlook desktop separator, bare address.
            (
                "-----Opprinnelig melding-----\nFra: hakon@lovas.example\nSendt: 4. mars 2025 10:12\nTil: agent@agency.example\nEmne: Regnskap\n\nHei",
                "hakon@lovas.example",
                None,
                Some("Regnskap"),
            ),
        ];
        for (text, email, name, subject) in cases {
            let got = from_text(text).unwrap_or_else(|| panic!("no forward in {text:?}"));
            assert_eq!(got.from_email, email, "{text:?}");
            assert_eq!(got.from_name.as_deref(), name, "{text:?}");
            assert_eq!(got.subject.as_deref(), subject, "{text:?}");
            assert!(!got.body.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn yahoo_run_on_keeps_cc_and_body() {
        let text = "Note\n\n   ----- Forwarded Message ----- From: John Doe <john.doe@acme.example>To: \"bessie@acme.example\" <bessie@acme.example>Cc: Walter <walter@acme.example>; Nicholas <nicholas@globex.example>Sent: Tuesday, November 2, 2021, 09:26:50 AM GMT+1Subject: Integer consequat\n Aenean quis diam urna.\n\nPraesent ac ligula orci.";
        let got = from_text(text).expect("forward");
        assert_eq!(got.to, vec!["bessie@acme.example"]);
        assert_eq!(got.cc, vec!["walter@acme.example", "nicholas@globex.example"]);
        assert_eq!(
            got.date.as_deref(),
            Some("Tuesday, November 2, 2021, 09:26:50 AM GMT+1")
        );
        assert_eq!(got.body, "Aenean quis diam urna.\n\nPraesent ac ligula orci.");
        assert_eq!(got.note, "Note");
    }

    #[test]
    fn html_blocks() {
        let gmail = r#"<div dir="ltr">See below<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">Ana Martínez</strong> <span dir="auto">&lt;<a href="mailto:ana@clinica.example">ana@clinica.example</a>&gt;</span><br>Date: Tue, Mar 4, 2025 at 10:12 AM<br>Subject: Cita &amp; revisión<br>To: &lt;<a href="mailto:agent@agency.example">agent@agency.example</a>&gt;<br></div><br><br><div dir="ltr">Hola,<div><br></div><div>Quería pedir cita.</div></div></div></div>"#;
        let got = from_html(gmail).expect("gmail html");
        assert_eq!(got.from_email, "ana@clinica.example");
        assert_eq!(got.from_name.as_deref(), Some("Ana Martínez"));
        assert_eq!(got.subject.as_deref(), Some("Cita & revisión"));
        assert_eq!(got.to, vec!["agent@agency.example"]);
        assert_eq!(got.body, "Hola,\n\nQuería pedir cita.");
        assert_eq!(got.note, "See below");

        // Outlook desktop: no separator text, name only, address in the link.
        let outlook = r#"<html><head><style>p.MsoNormal {margin:0cm;}</style></head><body><div class=WordSection1><p class=MsoNormal>Ciao Marco<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><div><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal><b>Da:</b> <a href="mailto:francesca.rossi@vinicola.example">Francesca Rossi</a> <br><b>Inviato:</b> martedì 4 marzo 2025 10:12<br><b>A:</b> Agent Smith &lt;agent@agency.example&gt;<br><b>Oggetto:</b> Ordine vino<o:p></o:p></p></div></div><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Buongiorno,<o:p></o:p></p></div></body></html>"#;
        let got = from_html(outlook).expect("outlook html");
        assert_eq!(got.from_email, "francesca.rossi@vinicola.example");
        assert_eq!(got.from_name.as_deref(), Some("Francesca Rossi"));
        assert_eq!(got.subject.as_deref(), Some("Ordine vino"));
        assert_eq!(got.body, "Buongiorno,");
        assert_eq!(got.note, "Ciao Marco");

        // French Outlook.com with &nbsp; before the colons.
        let owa = r##"<div>Pour info</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>De&nbsp;:</b> Zoé Lefèvre &lt;zoe@port.example&gt;<br><b>Envoyé&nbsp;:</b> mardi 4 mars 2025 16:12<br><b>À&nbsp;:</b> agent@agency.example &lt;agent@agency.example&gt;<br><b>Objet&nbsp;:</b> Salle</font><div>&nbsp;</div></div><div dir="ltr"><div>Bonjour,</div></div>"##;
        let got = from_html(owa).expect("outlook.com html");
        assert_eq!(got.from_email, "zoe@port.example");
        assert_eq!(got.from_name.as_deref(), Some("Zoé Lefèvre"));
        assert_eq!(got.note, "Pour info");
        assert_eq!(got.body, "Bonjour,");

        // Thunderbird header table.
        let tb = r#"<p>FYI</p><div class="moz-forward-container"><br><br>-------- Weitergeleitete Nachricht --------<table class="moz-email-headers-table" cellspacing="0" cellpadding="0" border="0"><tbody><tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Betreff:</th><td>Angebot</td></tr><tr><th>Datum:</th><td>Tue, 4 Mar 2025 10:12:05 +0100</td></tr><tr><th>Von:</th><td>Björn Schäfer <a class="moz-txt-link-rfc2396E" href="mailto:b@schaefer.example">&lt;b@schaefer.example&gt;</a></td></tr><tr><th>An:</th><td><a href="mailto:agent@agency.example">agent@agency.example</a></td></tr></tbody></table><br><br><p>Hallo,</p></div>"#;
        let got = from_html(tb).expect("thunderbird html");
        assert_eq!(got.from_email, "b@schaefer.example");
        assert_eq!(got.from_name.as_deref(), Some("Björn Schäfer"));
        assert_eq!(got.subject.as_deref(), Some("Angebot"));
        assert_eq!(got.to, vec!["agent@agency.example"]);
        assert_eq!(got.note, "FYI");
    }

    #[test]
    fn replies_are_not_forwards() {
        let reply = "Thursday works.\n\nOn Tue, Mar 4, 2025 at 10:12 AM Priya Raman <priya@brightwave.example> wrote:\n\n> Hi,\n> From: the warehouse\n> Subject: pallets\n> Date: today\n> Could you confirm?\n";
        assert_eq!(from_text(reply), None);
        let html = r#"<div dir="ltr">Thursday works.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, Mar 4, 2025 at 10:12 AM Priya Raman &lt;<a href="mailto:priya@brightwave.example">priya@brightwave.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Hi,<br>Could you confirm?</blockquote></div>"#;
        assert_eq!(from_html(html), None);

        let raw = "From: Agent <agent@agency.example>\r\nTo: acme@inbox.localhost\r\nSubject: RE: Schedule\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOk.\r\n\r\n________________________________\r\nFrom: Jonathan <j@northwind.example>\r\nSent: Tuesday\r\nTo: Agent\r\nSubject: Schedule\r\n\r\nHi\r\n";
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
        assert_eq!(parse(&msg), None, "Outlook reply block under a RE: subject");
        // The same block under a forward subject is a forward.
        let fwd = raw.replace("RE: Schedule", "FW: Schedule");
        let msg = MessageParser::default().parse(fwd.as_bytes()).expect("parse");
        assert_eq!(parse(&msg).map(|f| f.from_email), Some("j@northwind.example".into()));
    }

    #[test]
    fn bare_outlook_block_needs_forward_subject() {
        let body = "Please see below.\r\n\r\nFrom: Doe, Jonathan <jonathan.doe@northwind.example> \r\nSent: Tuesday, March 4, 2025 10:12 AM\r\nTo: Agent Smith <agent@agency.example>\r\nSubject: Delivery\r\n\r\nHi,\r\n";
        assert_eq!(from_text(body), None);
        for (subject, found) in [("FW: Delivery", true), ("Delivery", false)] {
            let raw = format!(
                "From: Agent <agent@agency.example>\r\nSubject: {subject}\r\nContent-Type: text/plain\r\n\r\n{body}"
            );
            let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
            let got = parse(&msg);
            assert_eq!(got.is_some(), found, "{subject}");
            if let Some(got) = got {
                assert_eq!(got.from_name.as_deref(), Some("Doe, Jonathan"));
                assert_eq!(got.note, "Please see below.");
                assert_eq!(got.body, "Hi,");
            }
        }
    }

    #[test]
    fn earliest_block_wins_in_outlook_chains() {
        // New Outlook's text part: no separator before the first block, and
        // an older explicit block further down the thread.
        let body = "Please take over.\n\nFrom: Ravi Menon <ravi@menon.example>\nDate: Thursday, 6 March 2025 at 16:17\nTo: <agent@agency.example>\nSubject: Renewal\nCan you renew our plan?\n\n---------- Forwarded message ---------\nFrom: Older <older@thread.example>\nDate: Mon\nSubject: Older\n\nOld text\n";
        let got = scan(&normalize(body), true).map(|(f, _)| f).expect("forward");
        assert_eq!(got.from_email, "ravi@menon.example");
        assert_eq!(got.subject.as_deref(), Some("Renewal"));
        assert!(got.body.starts_with("Can you renew our plan?"));
        assert_eq!(got.note, "Please take over.");
        // Without a forward subject only the explicit block counts.
        assert_eq!(
            from_text(body).map(|f| f.from_email),
            Some("older@thread.example".into())
        );
    }

    #[test]
    fn bounces_are_not_attachment_forwards() {
        let raw = "From: MAILER-DAEMON@mx.example\r\nTo: acme@inbox.localhost\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: Agent <agent@agency.example>\r\nTo: nobody@nowhere.example\r\nSubject: Hello\r\n\r\nHi\r\n--b1--\r\n";
        let msg = MessageParser::default().parse(raw.as_bytes()).expect("parse");
        assert_eq!(parse(&msg), None);
        // The same attachment in a plain multipart/mixed is a forward.
        let mixed = raw.replace("multipart/report; report-type=delivery-status", "multipart/mixed");
        let msg = MessageParser::default().parse(mixed.as_bytes()).expect("parse");
        let got = parse(&msg).expect("attachment forward");
        assert_eq!(got.from_email, "agent@agency.example");
        assert_eq!(got.subject.as_deref(), Some("Hello"));
        assert_eq!(got.body, "Hi");
        assert_eq!(got.note, "Delivery failed.");
    }

    #[test]
    fn no_address_is_none() {
        let text = "-----Original Message-----\nFrom: Facilities Team\nSent: Tuesday, March 4, 2025 11:40 AM\nTo: All Staff\nSubject: Parking\n\nHi all";
        assert_eq!(from_text(text), None);
        assert_eq!(from_text("---------- Forwarded message ---------\n\nhello"), None);
    }

    #[test]
    fn outermost_block_wins() {
        let text = "---------- Forwarded message ---------\nFrom: Second <second@b.example>\nDate: Tue\nSubject: Fwd: Hi\nTo: <agent@agency.example>\n\n\n---------- Forwarded message ---------\nFrom: First <first@a.example>\nDate: Mon\nSubject: Hi\nTo: <second@b.example>\n\nHello\n";
        let got = from_text(text).expect("forward");
        assert_eq!(got.from_email, "second@b.example");
        assert!(got.body.contains("first@a.example"));
    }

    #[test]
    fn mailbox_forms() {
        let cases = [
            ("Jane Doe <jane@X.example>", "jane@x.example", Some("Jane Doe")),
            (
                "\"Doe, Jane\" <Jane.Doe@x.example>",
                "Jane.Doe@x.example",
                Some("Doe, Jane"),
            ),
            ("'Jane Doe' <jane@x.example>", "jane@x.example", Some("Jane Doe")),
            ("Jane Doe [mailto:jane@x.example]", "jane@x.example", Some("Jane Doe")),
            ("jane@x.example <mailto:jane@x.example>", "jane@x.example", None),
            ("<jane@x.example>", "jane@x.example", None),
            ("jane@x.example (Jane Doe)", "jane@x.example", Some("Jane Doe")),
            ("o'brien@x.example", "o'brien@x.example", None),
            (
                "Zoë «Z» Ümlaut <zoe@x.example>",
                "zoe@x.example",
                Some("Zoë «Z» Ümlaut"),
            ),
        ];
        for (value, email, name) in cases {
            let (got_email, got_name) = parse_mailbox(value).expect(value);
            assert_eq!(got_email, email, "{value}");
            assert_eq!(got_name.as_deref(), name, "{value}");
        }
        assert_eq!(parse_mailbox("Facilities Team"), None);
    }

    /// Deterministic pseudo-random bytes; no extra crates needed.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn garbage_does_not_panic() {
        let pieces = [
            "---------- Forwarded message ---------\n",
            "-----Original Message-----",
            "________________________________\n",
            "Begin forwarded message:\n",
            "From: ",
            "From:",
            "De :",
            "<a href=\"mailto:x@y.z\">",
            "</a>",
            "<div id=\"divRplyFwdMsg\">",
            "<hr>",
            "&lt;",
            "&#xFFFFFFFF;",
            "@",
            ">",
            "\u{E000}",
            "é",
            "日本",
            "\r",
            "\n",
            "--",
            "Subject:",
            " ",
        ];
        for seed in 1..300u64 {
            let bytes = noise(seed, 600);
            let text = String::from_utf8_lossy(&bytes);
            let _ = from_text(&text);
            let _ = from_html(&text);
            let mut mixed = String::new();
            for (i, b) in bytes.iter().enumerate().take(200) {
                mixed.push_str(pieces[(*b as usize + i) % pieces.len()]);
            }
            let _ = from_text(&mixed);
            let _ = from_html(&mixed);
            let _ = strip_forward_prefix(&mixed);
            if let Some(msg) = MessageParser::default().parse(&bytes) {
                let _ = parse(&msg);
            }
        }
        for s in [
            "",
            "\n",
            ">",
            "-",
            "--",
            "----",
            "-- x --",
            ":",
            "From:",
            "From: <@>",
            "a@b",
            "[Fwd:",
            "Fwd:",
        ] {
            let _ = from_text(s);
            let _ = from_html(s);
            let _ = strip_forward_prefix(s);
        }
    }

    #[test]
    fn huge_input_is_bounded() {
        // Multi-byte characters straddling the scan limit must not panic.
        let mut text = "é".repeat(MAX_SCAN / 2 + 1);
        text.push_str("\n---------- Forwarded message ---------\nFrom: Late <late@x.example>\n");
        assert_eq!(from_text(&text), None, "block past the scan limit is ignored");

        let block = "---------- Forwarded message ---------\nFrom: Nobody\nDate: x\n\n";
        let many = block.repeat(4 * MAX_SCAN / block.len());
        let start = std::time::Instant::now();
        assert_eq!(from_text(&many), None);
        let quotes = ">".repeat(3 * MAX_SCAN);
        assert_eq!(from_text(&quotes), None);
        let html = "<div><a href=\"mailto:a@b.example\">".repeat(MAX_SCAN / 8);
        assert_eq!(from_html(&html), None);
        let rules = "__________\n".repeat(MAX_SCAN / 11);
        assert_eq!(from_text(&rules), None);
        let seps = "-----Original Message-----\nFrom: a@b.example\n".repeat(MAX_SCAN / 44);
        assert_eq!(from_text(&seps), None);
        let glued = "From: a <a@b.example>To: b@c.example Sent: x Subject: y\n".repeat(MAX_SCAN / 56);
        let raw = format!("Subject: FW: x\r\nContent-Type: text/plain\r\n\r\n{glued}");
        if let Some(msg) = MessageParser::default().parse(raw.as_bytes()) {
            let _ = parse(&msg);
        }
        let subject = "Re: ".repeat(100_000);
        assert_eq!(strip_forward_prefix(&subject), None);
        assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());

        let mut real = String::from("---------- Forwarded message ---------\nFrom: A <a@x.example>\nSubject: s\n\n");
        real.push_str(&"body line\n".repeat(300_000));
        let got = from_text(&real).expect("forward");
        assert!(got.body.len() <= MAX_SCAN);
    }
}
