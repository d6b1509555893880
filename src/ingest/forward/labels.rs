//! The words of forward blocks in every client and language we know: separators, header labels,
//! subject prefixes, and the patterns built from them once.

use regex::Regex;

use super::{Field, HashMap, Kind, LazyLock};

/// Dash-framed separators: `---------- Forwarded message ---------`.
pub(super) const DASH_SEPARATORS: &[(&str, Kind)] = &[
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
pub(super) const COLON_SEPARATORS: &[&str] = &[
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
pub(super) const LABELS: &[(&str, Field)] = &[
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
    ("送信元", Field::From),
    ("送信者", Field::From),
    ("寄件人", Field::From),
    ("发信人", Field::From),
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
    ("日付", Field::Date),
    ("送信日", Field::Date),
    ("时间", Field::Date),
    ("時間", Field::Date),
    ("发送日期", Field::Date),
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
    ("標題", Field::Subject),
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
    ("收件者", Field::To),
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
pub(super) fn fold_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase()
        .filter(|&l| l != '\u{307}')
        .map(|l| if l == '’' { '\'' } else { l })
}

pub(super) fn fold(s: &str) -> String {
    s.chars().flat_map(fold_char).collect()
}

/// If `text` starts with `phrase` (already folded), the rest of `text`.
pub(super) fn strip_folded_prefix<'a>(text: &'a str, phrase: &str) -> Option<&'a str> {
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

pub(super) static LABEL_MAP: LazyLock<HashMap<String, Field>> =
    LazyLock::new(|| LABELS.iter().map(|(label, field)| (fold(label), *field)).collect());

pub(super) static DASH_MAP: LazyLock<Vec<(String, Kind)>> = LazyLock::new(|| {
    DASH_SEPARATORS
        .iter()
        .map(|(phrase, kind)| (fold(phrase), *kind))
        .collect()
});

pub(super) static COLON_MAP: LazyLock<Vec<String>> =
    LazyLock::new(|| COLON_SEPARATORS.iter().map(|p| fold(p)).collect());

pub(super) fn prefix_alternation(list: &[&str]) -> String {
    let mut items: Vec<String> = list.iter().map(|p| regex::escape(p)).collect();
    // Longest first so "fwd" is tried before "fw".
    items.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
    items.join("|")
}

/// Yahoo's text part glues the header block onto one line
/// ("From: A <a@x>To: b@y Sent: ... GMT-5Subject: Hi"). Capitalised labels
/// only; short ones must follow a non-letter to stay clear of prose, long
/// ones may follow anything since the time zone before them ends in one.
pub(super) static GLUED_LABEL_RE: LazyLock<Regex> = LazyLock::new(|| {
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

pub(super) static HTML_MAILTO_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<a\b[^>]*?\bhref\s*=\s*["']?\s*mailto:([^"'>\s?]+)[^>]*>(.*?)</a\s*>"#)
        .expect("static mailto regex")
});

pub(super) static HTML_TAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("static tag regex"));

/// Outlook's header blocks carry no separator text: a rule (`<hr>`), the
/// `divRplyFwdMsg` div, or a div with a top border mark them.
pub(super) static HTML_OUTLOOK_SEP_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<hr\b[^>]*>|<div\b[^>]*\bid\s*=\s*["']?divRplyFwdMsg[^>]*>|<div\b[^>]*border-top\s*:\s*solid[^>]*>"#,
    )
    .expect("static outlook separator regex")
});
