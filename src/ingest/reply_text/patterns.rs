//! The words and patterns of quoted history: attribution leads and verbs in many languages,
//! "Original Message" separators, forward markers and header-block labels, compiled once.

use regex::Regex;
use std::sync::LazyLock;

pub(super) fn alternation(words: &[&str]) -> String {
    words.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|")
}

pub(super) fn compile(pattern: &str) -> Regex {
    // Every pattern is a literal of this file, so failure is a programming error caught by the tests.
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// Words that open an "On <date>, <someone> wrote:" attribution. Case matters: clients capitalise them,
/// and it keeps "on"/"le"/"am" inside ordinary sentences out.
pub(super) const LEADS: &[&str] = &[
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
    "Dnia",
    "Dňa",
    "Dana",
    "În",
    "Pe",
    "V",
    "Þann",
];

/// Verbs that close an attribution ("wrote:", "a écrit :", "schrieb:", ...).
pub(super) const VERBS: &[&str] = &[
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
    "pisze",
    "nadesłał",
    "napisao je",
    "je napisao",
    "napisala je",
    "je napisala",
    "napisao",
    "napisala",
    "napísala",
    "napísal(a)",
    "написав(-ла)",
    "написав",
    "написала",
    "написа",
    "rašė",
    "rakstīja",
    "kirjutas",
    "va escriure",
    "ha escrit",
    "skrifaði",
    "skreiv",
];

/// Scripts without word spacing glue these verbs to what precedes them.
pub(super) const CJK_VERBS: &[&str] = &[
    "写道",
    "寫道",
    "작성",
    "작성하였습니다",
    "작성했습니다",
    "쓴 글",
    "書きました",
    "のメール",
];

/// Verbs that some languages place before the sender ("Am ... schrieb Max <max@x.de>:").
pub(super) const MID_VERBS: &[&str] = &[
    "schrieb",
    "schreef",
    "verzond",
    "skrev",
    "skriver",
    "skreiv",
    "kirjoitti",
    "kirjutas",
    "írta",
    "skrifaði",
];

/// "-----Original Message-----" and its translations.
pub(super) const ORIGINAL_MESSAGE: &[&str] = &[
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
    "원본 메시지",
    "Mesaj original",
    "Mensagem Original",
    "Izvorna poruka",
    "Izvirno sporočilo",
    "Pôvodná správa",
    "Оригинално съобщение",
    "Оригінальне повідомлення",
    "Вихідне повідомлення",
    "Αρχικό μήνυμα",
    "Pradinis laiškas",
    "Sākotnējais ziņojums",
    "Algsõnum",
    "Missatge original",
    "Thư gốc",
    "Pesan Asli",
    "Özgün İleti",
    "Oryginalna wiadomość",
    "Originalmelding",
    "Original meddelelse",
];

pub(super) const FORWARDED_MESSAGE: &[&str] = &[
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

pub(super) const FROM: u8 = 1;
pub(super) const DATE: u8 = 2;
pub(super) const TO: u8 = 4;
pub(super) const SUBJECT: u8 = 8;

/// Header field names of quoted-message header blocks, lowercase, with the role each one plays.
pub(super) const HEADER_FIELDS: &[(&str, u8)] = &[
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
    ("de la", FROM),
    ("від", FROM),
    ("από", FROM),
    ("nuo", FROM),
    ("no", FROM),
    ("saatja", FROM),
    ("từ", FROM),
    ("dari", FROM),
    ("frá", FROM),
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
    ("寄件日期", DATE),
    ("trimis", DATE),
    ("надіслано", DATE),
    ("изпратено", DATE),
    ("poslano", DATE),
    ("odoslané", DATE),
    ("στάλθηκε", DATE),
    ("ημερομηνία", DATE),
    ("išsiųsta", DATE),
    ("nosūtīts", DATE),
    ("datums", DATE),
    ("saadetud", DATE),
    ("kuupäev", DATE),
    ("enviat", DATE),
    ("enviat el", DATE),
    ("đã gửi", DATE),
    ("ngày", DATE),
    ("dikirim", DATE),
    ("tanggal", DATE),
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
    ("收件者", TO),
    ("către", TO),
    ("до", TO),
    ("za", TO),
    ("προς", TO),
    ("κοιν", TO),
    ("kam", TO),
    ("adressaat", TO),
    ("per a", TO),
    ("đến", TO),
    ("kepada", TO),
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
    ("subiect", SUBJECT),
    ("predmet", SUBJECT),
    ("zadeva", SUBJECT),
    ("θέμα", SUBJECT),
    ("tēma", SUBJECT),
    ("teema", SUBJECT),
    ("assumpte", SUBJECT),
    ("chủ đề", SUBJECT),
    ("subjek", SUBJECT),
    ("efni", SUBJECT),
];

pub(super) static RE_LEAD_START: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"^[\s\-]*(?:{})\s", alternation(LEADS))));

pub(super) static RE_LEAD_MID: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"[\s\-]((?:{})\s)", alternation(LEADS))));

/// The verb ends the line, followed by a colon or by a closing run of dashes.
pub(super) static RE_VERB_END: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)(?:(?:^|[^\p{{L}}])(?:{})|{})\s*(?:[:：]\s*-*|-{{2,}})\s*$",
        alternation(VERBS),
        alternation(CJK_VERBS)
    ))
});

pub(super) static RE_VERB_MID: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)(?:^|[^\p{{L}}])(?:{})[^\p{{L}}].*[:：]\s*$",
        alternation(MID_VERBS)
    ))
});

/// "---- John Smith wrote ----" (Android).
pub(super) static RE_DASH_WRAPPED: LazyLock<Regex> = LazyLock::new(|| compile(r"^\s*-{2,}\s*\S.*-{2,}\s*$"));

/// Something only a real attribution carries: a year, a time of day or an address.
pub(super) static RE_DATEISH: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?:19|20)\d{2}|\d{1,2}[:.h]\d{2}|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"));

pub(super) static RE_TIME: LazyLock<Regex> = LazyLock::new(|| compile(r"\d{1,2}:\d{2}"));

/// A line that opens with a date: "02.04.2012 14:20 ...", "2014-10-17 11:28 GMT ...",
/// "Thu, 26 Jun 2014 14:00:51 ...", "2012年4月2日 ...".
pub(super) static RE_DATE_START: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^[\s\-]*(?:\d{1,4}[./\-]\s?\d{1,2}[./\-]\s?\d{1,4}|\d{4}年\d{1,2}月\d{1,2}日|\d{4}년|\p{L}{2,12}\.?,?\s+\d{1,2}\.?\s+\p{L}{2,12}\.?,?\s+\d{4}|\d{1,2}\.?\s+\p{L}{2,12}\.?,?\s+\d{4})(?:\D|$)",
    )
});

pub(super) static RE_ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\s*-{{2,}}\s*(?:{})\s*-{{2,}}",
        alternation(ORIGINAL_MESSAGE)
    ))
});

/// Outlook draws a line of underscores above its header block.
pub(super) static RE_UNDERSCORES: LazyLock<Regex> = LazyLock::new(|| compile(r"^\s*_{8,}\s*$"));

pub(super) static RE_FORWARD: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"(?i)^\s*(?:-{{2,}}\s*(?:{})\s*-{{2,}}|Begin forwarded message:|Anfang der weitergeleiteten Nachricht:|Début du message réexpédié\s?:)\s*$",
        alternation(FORWARDED_MESSAGE)
    ))
});

/// "From: x", "*Sent:* y", "De : z", "发件人：王小明" (a full-width colon needs no space after it:
/// the scripts that write it put none).
pub(super) static RE_HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<&str> = HEADER_FIELDS.iter().map(|(name, _)| *name).collect();
    compile(&format!(
        r"(?i)^\s*[*_]{{0,2}}\s*({})\s*[*_]{{0,2}}\s*(?::\s*[*_]{{0,2}}(?:\s|$)|：)",
        alternation(&names)
    ))
});
