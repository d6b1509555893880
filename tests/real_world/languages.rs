//! Replies in many languages, generated from each language's words as mail clients write them: the
//! reply header (attribution) of Gmail, Apple Mail, Thunderbird and Outlook, one line or wrapped over
//! two or three, with a plain or a punctuated name; the "Original Message" separator and Outlook's
//! header block; the mobile apps' "sent from" lines; bottom-posting. Each case knows its new text, so
//! the classes are measured per language (ACCURACY.md) and asserted (`replies.rs`).
//!
//! The words are facts of each language; the sentences around them are ours. Where each language's
//! words come from is said in ACCURACY.md.

/// One language's words. In `attributions`, `{n}` is the name, `{a}` the address, and `|` marks
/// where clients wrap a long header.
pub(crate) struct Language {
    pub code: &'static str,
    pub attributions: &'static [&'static str],
    /// "Original Message" as Outlook and Thunderbird write it between dashes.
    pub original: &'static str,
    /// Outlook's header block: From, Sent, To, Subject.
    pub labels: [&'static str; 4],
    /// A date as that block writes it.
    pub date: &'static str,
    pub sent_from: &'static [&'static str],
    /// A greeting and an answer in the language (the new text of the cases).
    pub greeting: &'static str,
    pub answer: &'static str,
}

pub(crate) const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        attributions: &[
            "On Mon, Dec 2, 2024 at 2:05 PM |{n} <{a}> |wrote:",
            "On 12/2/24 14:05, |{n} |wrote:",
            "On Dec 2, 2024, at 14:05, |{n} <{a}> |wrote:",
        ],
        original: "Original Message",
        labels: ["From", "Sent", "To", "Subject"],
        date: "Monday, December 2, 2024 2:05 PM",
        sent_from: &[
            "Sent from my iPhone",
            "Sent from my Samsung Galaxy S23 Ultra",
            "Get Outlook for Android",
        ],
        greeting: "Hi Tom,",
        answer: "Yes, Thursday works for us.",
    },
    Language {
        code: "de",
        attributions: &[
            "Am Mo., 2. Dez. 2024 um 14:05 Uhr schrieb |{n} <{a}>:",
            "Am 02.12.24 um 14:05 schrieb |{n}:",
            "{n} <{a}> |schrieb am 2. Dezember 2024 um 14:05:",
        ],
        original: "Ursprüngliche Nachricht",
        labels: ["Von", "Gesendet", "An", "Betreff"],
        date: "Montag, 2. Dezember 2024 14:05",
        sent_from: &[
            "Von meinem iPhone gesendet",
            "Gesendet von Outlook für Android",
            "Von meinem Samsung Galaxy Smartphone gesendet.",
        ],
        greeting: "Hallo Tom,",
        answer: "Ja, Donnerstag passt uns gut.",
    },
    Language {
        code: "fr",
        attributions: &[
            "Le lun. 2 déc. 2024 à 14:05, |{n} <{a}> |a écrit :",
            "Le 02/12/2024 à 14:05, |{n} |a écrit :",
        ],
        original: "Message d'origine",
        labels: ["De", "Envoyé", "À", "Objet"],
        date: "lundi 2 décembre 2024 14:05",
        sent_from: &[
            "Envoyé de mon iPhone",
            "Envoyé depuis mon appareil Galaxy",
            "Obtenir Outlook pour Android",
        ],
        greeting: "Bonjour Tom,",
        answer: "Oui, jeudi nous convient.",
    },
    Language {
        code: "es",
        attributions: &[
            "El lun, 2 dic 2024 a las 14:05, |{n} (<{a}>) |escribió:",
            "El 2/12/24 a las 14:05, |{n} |escribió:",
        ],
        original: "Mensaje original",
        labels: ["De", "Enviado el", "Para", "Asunto"],
        date: "lunes, 2 de diciembre de 2024 14:05",
        sent_from: &[
            "Enviado desde mi iPhone",
            "Enviado desde mi Samsung Galaxy",
            "Obtener Outlook para Android",
        ],
        greeting: "Hola Tom,",
        answer: "Sí, el jueves nos va bien.",
    },
    Language {
        code: "it",
        attributions: &[
            "Il giorno lun 2 dic 2024 alle ore 14:05 |{n} <{a}> |ha scritto:",
            "Il 02/12/24 14:05, |{n} |ha scritto:",
        ],
        original: "Messaggio originale",
        labels: ["Da", "Inviato", "A", "Oggetto"],
        date: "lunedì 2 dicembre 2024 14:05",
        sent_from: &[
            "Inviato da iPhone",
            "Inviato dal mio dispositivo Galaxy",
            "Scarica Outlook per Android",
        ],
        greeting: "Ciao Tom,",
        answer: "Sì, giovedì ci va bene.",
    },
    Language {
        code: "nl",
        attributions: &[
            "Op ma 2 dec 2024 om 14:05 schreef |{n} <{a}>:",
            "Op 2 dec. 2024 om 14:05 heeft |{n} <{a}> |het volgende geschreven:",
            "Op 02-12-2024 om 14:05 schreef |{n}:",
        ],
        original: "Oorspronkelijk bericht",
        labels: ["Van", "Verzonden", "Aan", "Onderwerp"],
        date: "maandag 2 december 2024 14:05",
        sent_from: &[
            "Verstuurd vanaf mijn iPhone",
            "Verzonden vanaf mijn Galaxy",
            "Outlook voor Android downloaden",
        ],
        greeting: "Hoi Tom,",
        answer: "Ja, donderdag komt ons goed uit.",
    },
    Language {
        code: "pt",
        attributions: &[
            "Em seg., 2 de dez. de 2024 às 14:05, |{n} <{a}> |escreveu:",
            "Em 02/12/2024 14:05, |{n} |escreveu:",
        ],
        original: "Mensagem original",
        labels: ["De", "Enviado", "Para", "Assunto"],
        date: "segunda-feira, 2 de dezembro de 2024 14:05",
        sent_from: &["Enviado do meu iPhone", "Enviado do meu smartphone Samsung Galaxy"],
        greeting: "Olá Tom,",
        answer: "Sim, quinta-feira nos serve.",
    },
    Language {
        code: "sv",
        attributions: &[
            "Den mån 2 dec. 2024 kl 14:05 skrev |{n} <{a}>:",
            "2 dec. 2024 kl. 14:05 skrev |{n} <{a}>:",
            "Den 2024-12-02 kl. 14:05, skrev |{n}:",
        ],
        original: "Ursprungligt meddelande",
        labels: ["Från", "Skickat", "Till", "Ämne"],
        date: "den 2 december 2024 14:05",
        sent_from: &["Skickat från min iPhone", "Skickat från Outlook för Android"],
        greeting: "Hej Tom,",
        answer: "Ja, torsdag passar oss bra.",
    },
    Language {
        code: "da",
        attributions: &[
            "Den man. 2. dec. 2024 kl. 14.05 skrev |{n} <{a}>:",
            "Den 02-12-2024 kl. 14:05 skrev |{n}:",
        ],
        original: "Oprindelig meddelelse",
        labels: ["Fra", "Sendt", "Til", "Emne"],
        date: "2. december 2024 14:05",
        sent_from: &["Sendt fra min iPhone", "Hent Outlook til Android"],
        greeting: "Hej Tom,",
        answer: "Ja, torsdag passer fint.",
    },
    Language {
        code: "no",
        attributions: &[
            "man. 2. des. 2024 kl. 14:05 skrev |{n} <{a}>:",
            "Den 02.12.2024 14:05, skrev |{n}:",
        ],
        original: "Opprinnelig melding",
        labels: ["Fra", "Sendt", "Til", "Emne"],
        date: "2. desember 2024 14:05",
        sent_from: &["Sendt fra min iPhone", "Hent Outlook for Android"],
        greeting: "Hei Tom,",
        answer: "Ja, torsdag passer fint for oss.",
    },
    Language {
        code: "fi",
        attributions: &[
            "ma 2. jouluk. 2024 klo 14.05 |{n} (<{a}>) |kirjoitti:",
            "{n} |kirjoitti 2.12.2024 klo 14.05:",
        ],
        original: "Alkuperäinen viesti",
        labels: ["Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe"],
        date: "2. joulukuuta 2024 14.05",
        sent_from: &["Lähetetty iPhonesta", "Lähetetty Samsung Galaxy -älypuhelimesta"],
        greeting: "Hei Tom,",
        answer: "Kyllä, torstai sopii meille.",
    },
    Language {
        code: "pl",
        attributions: &[
            "pon., 2 gru 2024 o 14:05 |{n} <{a}> |napisał(a):",
            "W dniu 2.12.2024 o 14:05, |{n} |pisze:",
            "Dnia 2 grudnia 2024 14:05 |{n} <{a}> |napisał:",
        ],
        original: "Wiadomość oryginalna",
        labels: ["Od", "Wysłano", "Do", "Temat"],
        date: "poniedziałek, 2 grudnia 2024 14:05",
        sent_from: &["Wysłane z iPhone'a", "Wysłane z mojego Galaxy"],
        greeting: "Cześć Tom,",
        answer: "Tak, czwartek nam pasuje.",
    },
    Language {
        code: "cs",
        attributions: &[
            "po 2. 12. 2024 v 14:05 odesílatel |{n} <{a}> |napsal:",
            "Dne 02. 12. 24 v 14:05 |{n} |napsal(a):",
        ],
        original: "Původní zpráva",
        labels: ["Od", "Odesláno", "Komu", "Předmět"],
        date: "pondělí 2. prosince 2024 14:05",
        sent_from: &["Odesláno z iPhonu", "Odesláno z mého Galaxy"],
        greeting: "Ahoj Tome,",
        answer: "Ano, čtvrtek nám vyhovuje.",
    },
    Language {
        code: "sk",
        attributions: &[
            "po 2. 12. 2024 o 14:05 |{n} <{a}> |napísal(a):",
            "Dňa 2. 12. 2024 o 14:05 |{n} |napísal(a):",
        ],
        original: "Pôvodná správa",
        labels: ["Od", "Odoslané", "Komu", "Predmet"],
        date: "pondelok 2. decembra 2024 14:05",
        sent_from: &["Odoslané z iPhonu"],
        greeting: "Ahoj Tom,",
        answer: "Áno, štvrtok nám vyhovuje.",
    },
    Language {
        code: "hu",
        attributions: &[
            "{n} <{a}> |ezt írta (időpont: 2024. dec. 2., H, 14:05):",
            "2024. 12. 02. 14:05 keltezéssel, |{n} |írta:",
        ],
        original: "Eredeti üzenet",
        labels: ["Feladó", "Elküldve", "Címzett", "Tárgy"],
        date: "2024. december 2. 14:05",
        sent_from: &["iPhone-ról küldve", "Elküldve az iPhone-omról"],
        greeting: "Szia Tom,",
        answer: "Igen, a csütörtök jó nekünk.",
    },
    Language {
        code: "ro",
        attributions: &[
            "În lun., 2 dec. 2024 la 14:05, |{n} <{a}> |a scris:",
            "Pe 02.12.2024 14:05, |{n} |a scris:",
        ],
        original: "Mesaj original",
        labels: ["De la", "Trimis", "Către", "Subiect"],
        date: "luni, 2 decembrie 2024 14:05",
        sent_from: &["Trimis de pe iPhone-ul meu"],
        greeting: "Bună Tom,",
        answer: "Da, joi ne convine.",
    },
    Language {
        code: "ru",
        attributions: &[
            "пн, 2 дек. 2024 г. в 14:05, |{n} <{a}>:",
            "02.12.2024 14:05, |{n} |пишет:",
            "2 дек. 2024 г., в 14:05, |{n} <{a}> |написал(а):",
        ],
        original: "Исходное сообщение",
        labels: ["От", "Отправлено", "Кому", "Тема"],
        date: "2 декабря 2024 г. 14:05",
        sent_from: &["Отправлено с iPhone", "Отправлено из мобильной Почты Mail.ru"],
        greeting: "Здравствуйте, Том!",
        answer: "Да, четверг нам подходит.",
    },
    Language {
        code: "uk",
        attributions: &[
            "пн, 2 груд. 2024 р. о 14:05 |{n} <{a}> |пише:",
            "02.12.24 14:05, |{n} |написав(-ла):",
        ],
        original: "Оригінальне повідомлення",
        labels: ["Від", "Надіслано", "Кому", "Тема"],
        date: "2 грудня 2024 р. 14:05",
        sent_from: &["Надіслано з iPhone"],
        greeting: "Привіт, Томе!",
        answer: "Так, четвер нам підходить.",
    },
    Language {
        code: "bg",
        attributions: &["пн, 2.12.2024 г. в 14:05 ч. |{n} <{a}> |написа:"],
        original: "Оригинално съобщение",
        labels: ["От", "Изпратено", "До", "Тема"],
        date: "2 декември 2024 г. 14:05",
        sent_from: &["Изпратено от моя iPhone"],
        greeting: "Здравей, Том,",
        answer: "Да, четвъртък ни устройва.",
    },
    Language {
        code: "hr",
        attributions: &[
            "pon, 2. pro 2024. u 14:05 |{n} <{a}> |napisao je:",
            "Dana 2.12.2024. u 14:05, |{n} |je napisao:",
        ],
        original: "Izvorna poruka",
        labels: ["Od", "Poslano", "Za", "Predmet"],
        date: "2. prosinca 2024. 14:05",
        sent_from: &["Poslano s mog iPhonea"],
        greeting: "Bok Tom,",
        answer: "Da, četvrtak nam odgovara.",
    },
    Language {
        code: "sl",
        attributions: &["V pon., 2. dec. 2024 ob 14:05 je |{n} <{a}> |napisal(a):"],
        original: "Izvirno sporočilo",
        labels: ["Od", "Poslano", "Za", "Zadeva"],
        date: "2. december 2024 14:05",
        sent_from: &["Poslano iz mojega iPhona"],
        greeting: "Živjo Tom,",
        answer: "Da, četrtek nam ustreza.",
    },
    Language {
        code: "el",
        attributions: &["Στις Δευ 2 Δεκ 2024 στις 14:05, ο/η |{n} <{a}> |έγραψε:"],
        original: "Αρχικό μήνυμα",
        labels: ["Από", "Στάλθηκε", "Προς", "Θέμα"],
        date: "Δευτέρα, 2 Δεκεμβρίου 2024 14:05",
        sent_from: &["Εστάλη από το iPhone μου"],
        greeting: "Γεια σου Tom,",
        answer: "Ναι, η Πέμπτη μας βολεύει.",
    },
    Language {
        code: "tr",
        attributions: &[
            "2 Ara 2024 Pzt, 14:05 tarihinde |{n} <{a}> |şunu yazdı:",
            "2 Ara 2024 tarihinde 14:05 saatinde, |{n} <{a}> |şunları yazdı:",
        ],
        original: "Özgün İleti",
        labels: ["Kimden", "Gönderildi", "Kime", "Konu"],
        date: "2 Aralık 2024 Pazartesi 14:05",
        sent_from: &["iPhone'umdan gönderildi"],
        greeting: "Merhaba Tom,",
        answer: "Evet, perşembe bize uyar.",
    },
    Language {
        code: "ja",
        attributions: &[
            "2024年12月2日(月) 14:05 |{n} <{a}>:",
            "2024/12/02 14:05 に |{n} さんは書きました:",
            "2024/12/02 14:05、{n} <{a}>のメール:",
        ],
        original: "元のメッセージ",
        labels: ["差出人", "送信日時", "宛先", "件名"],
        date: "2024年12月2日 14:05",
        sent_from: &["iPhoneから送信"],
        greeting: "トムさん、",
        answer: "はい、木曜日で大丈夫です。",
    },
    Language {
        code: "zh",
        attributions: &[
            "{n} <{a}> |于2024年12月2日周一 14:05写道：",
            "在 2024/12/2 14:05, |{n} 写道:",
        ],
        original: "原始邮件",
        labels: ["发件人", "发送时间", "收件人", "主题"],
        date: "2024年12月2日 14:05",
        sent_from: &["发自我的iPhone", "从我的华为手机发送"],
        greeting: "汤姆，你好：",
        answer: "好的，星期四可以。",
    },
    Language {
        code: "zh-TW",
        attributions: &[
            "{n} <{a}> |於 2024年12月2日 週一 下午2:05寫道：",
            "於 2024/12/2 14:05, |{n} 寫道:",
        ],
        original: "原始郵件",
        labels: ["寄件者", "寄件日期", "收件者", "主旨"],
        date: "2024年12月2日 14:05",
        sent_from: &["從我的 iPhone 傳送"],
        greeting: "湯姆，你好：",
        answer: "好的，星期四可以。",
    },
    Language {
        code: "ko",
        attributions: &[
            "2024년 12월 2일 (월) 오후 2:05, |{n} <{a}>님이 작성:",
            "2024년 12월 2일 월요일, |{n}님이 작성하였습니다:",
            "2024. 12. 2. 14:05에 |{n} 이(가) 쓴 글:",
        ],
        original: "원본 메시지",
        labels: ["보낸 사람", "보낸 날짜", "받는 사람", "제목"],
        date: "2024년 12월 2일 월요일 오후 2:05",
        sent_from: &["나의 iPhone에서 보냄", "내 Galaxy에서 보냄"],
        greeting: "톰 님,",
        answer: "네, 목요일 괜찮습니다.",
    },
    Language {
        code: "lt",
        attributions: &["2024-12-02, pr 14:05 |{n} <{a}> |rašė:"],
        original: "Pradinis laiškas",
        labels: ["Nuo", "Išsiųsta", "Kam", "Tema"],
        date: "2024 m. gruodžio 2 d. 14:05",
        sent_from: &["Išsiųsta iš mano iPhone"],
        greeting: "Labas, Tomai,",
        answer: "Taip, ketvirtadienis mums tinka.",
    },
    Language {
        code: "lv",
        attributions: &["pirmd., 2024. g. 2. dec., plkst. 14:05 — lietotājs |{n} (<{a}>) |rakstīja:"],
        original: "Sākotnējais ziņojums",
        labels: ["No", "Nosūtīts", "Kam", "Tēma"],
        date: "2024. gada 2. decembris 14:05",
        sent_from: &["Nosūtīts no mana iPhone"],
        greeting: "Sveiks, Tom,",
        answer: "Jā, ceturtdiena mums der.",
    },
    Language {
        code: "et",
        attributions: &["E, 2. dets 2024 kell 14:05 kirjutas |{n} (<{a}>):"],
        original: "Algsõnum",
        labels: ["Saatja", "Saadetud", "Adressaat", "Teema"],
        date: "2. detsember 2024 14:05",
        sent_from: &["Saadetud minu iPhone'ist"],
        greeting: "Tere, Tom,",
        answer: "Jah, neljapäev sobib meile.",
    },
    Language {
        code: "ca",
        attributions: &["El dl., 2 de des. 2024 a les 14:05, |{n} (<{a}>) |va escriure:"],
        original: "Missatge original",
        labels: ["De", "Enviat el", "Per a", "Assumpte"],
        date: "dilluns, 2 de desembre de 2024 14:05",
        sent_from: &["Enviat des del meu iPhone"],
        greeting: "Hola Tom,",
        answer: "Sí, dijous ens va bé.",
    },
    Language {
        code: "vi",
        attributions: &["Vào Th 2, 2 thg 12, 2024 vào lúc 14:05 |{n} <{a}> |đã viết:"],
        original: "Thư gốc",
        labels: ["Từ", "Đã gửi", "Đến", "Chủ đề"],
        date: "Thứ Hai, 2 tháng 12, 2024 14:05",
        sent_from: &["Gửi từ iPhone của tôi"],
        greeting: "Chào Tom,",
        answer: "Vâng, thứ Năm được ạ.",
    },
    Language {
        code: "id",
        attributions: &["Pada tanggal Sen, 2 Des 2024 pukul 14.05 |{n} <{a}> |menulis:"],
        original: "Pesan Asli",
        labels: ["Dari", "Dikirim", "Kepada", "Subjek"],
        date: "Senin, 02 Desember 2024 14.05",
        sent_from: &["Dikirim dari iPhone saya"],
        greeting: "Halo Tom,",
        answer: "Ya, hari Kamis cocok untuk kami.",
    },
];

/// One generated reply and what must come out of it.
pub(crate) struct Case {
    pub class: &'static str,
    pub language: &'static str,
    pub body: String,
    pub reply_text: String,
    pub signature: Option<String>,
}

const NAME: &str = "Jane Doe";
const PUNCTUATED: &str = "\"Doe, Jane (ACME Sales)\"";
const ADDRESS: &str = "jane.doe@customer.example";
const QUOTE: &str = "> Can we meet on Thursday at 10?\n> The agenda is attached.\n";
const HISTORY: &str = "Can we meet on Thursday at 10?\nThe agenda is attached.\n\nJane\n";

/// The attribution with `name`, one line (`wraps` 0), wrapped at its first mark (1), or at every
/// mark (2).
fn attribution(template: &str, name: &str, wraps: usize) -> String {
    let filled = template.replace("{n}", name).replace("{a}", ADDRESS);
    let mut out = String::new();
    for (i, part) in filled.split('|').enumerate() {
        let wrap = i > 0 && (wraps == 2 || (wraps == 1 && i == 1));
        if wrap {
            out = out.trim_end().to_string();
            out.push('\n');
        }
        out.push_str(part);
    }
    out
}

/// Every case of every language and class.
pub(crate) fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for l in LANGUAGES {
        let case = |class: &'static str, body: String, reply: &str, signature: Option<&str>| Case {
            class,
            language: l.code,
            body,
            reply_text: reply.to_string(),
            signature: signature.map(String::from),
        };
        for template in l.attributions {
            let marks = template.matches('|').count();
            let one = attribution(template, NAME, 0);
            out.push(case(
                "attribution, one line",
                format!("{}\n\n{one}\n{QUOTE}", l.answer),
                l.answer,
                None,
            ));
            for wraps in 1..=marks.min(2) {
                let wrapped = attribution(template, NAME, wraps);
                out.push(case(
                    "attribution, wrapped",
                    format!("{}\n\n{wrapped}\n{QUOTE}", l.answer),
                    l.answer,
                    None,
                ));
            }
            let punctuated = attribution(template, PUNCTUATED, 0);
            out.push(case(
                "attribution, punctuated name",
                format!("{}\n\n{punctuated}\n{QUOTE}", l.answer),
                l.answer,
                None,
            ));
            out.push(case(
                "bottom-posting",
                format!("{}\n\n{one}\n{QUOTE}\n{}\n", l.greeting, l.answer),
                &format!("{}\n\n{}", l.greeting, l.answer),
                None,
            ));
        }
        let [from, sent, to, subject] = l.labels;
        let block = format!(
            "{from}: {NAME} <{ADDRESS}>\n{sent}: {}\n{to}: Tom <tom@acme.example>\n{subject}: Meeting\n",
            l.date
        );
        out.push(case(
            "separator and header block",
            format!("{}\n\n-----{}-----\n{block}\n{HISTORY}", l.answer, l.original),
            l.answer,
            None,
        ));
        out.push(case(
            "separator and header block",
            format!("{}\n\n-------- {} --------\n{block}\n{HISTORY}", l.answer, l.original),
            l.answer,
            None,
        ));
        out.push(case(
            "Outlook header block",
            format!("{}\n\n________________________________\n{block}\n{HISTORY}", l.answer),
            l.answer,
            None,
        ));
        let bold = format!(
            "*{from}:* {NAME} <{ADDRESS}>\n*{sent}:* {}\n*{to}:* Tom <tom@acme.example>\n*{subject}:* Meeting\n",
            l.date
        );
        out.push(case(
            "Outlook header block",
            format!("{}\n\n{bold}\n{HISTORY}", l.answer),
            l.answer,
            None,
        ));
        if FULL_WIDTH_COLON.contains(&l.code) {
            // As their mail clients write it: the full-width colon, no space after it.
            let full_width = format!(
                "{from}：{NAME} <{ADDRESS}>\n{sent}：{}\n{to}：Tom <tom@acme.example>\n{subject}：Meeting\n",
                l.date
            );
            out.push(case(
                "Outlook header block, full-width colons",
                format!("{}\n\n{full_width}\n{HISTORY}", l.answer),
                l.answer,
                None,
            ));
        }
        out.push(case(
            "attribution, no verb",
            format!("{}\n\n02.12.2024, 14:05, \"{NAME}\" <{ADDRESS}>:\n{QUOTE}", l.answer),
            l.answer,
            None,
        ));
        for footer in l.sent_from {
            out.push(case(
                "mobile signature",
                format!("{}\n\n{footer}\n", l.answer),
                l.answer,
                Some(footer),
            ));
            // Under a quote-free reply that ends with the footer and a name.
            out.push(case(
                "mobile signature",
                format!(
                    "{}\n\n{footer}\n\n{one}\n{QUOTE}",
                    l.answer,
                    one = attribution(l.attributions[0], NAME, 0)
                ),
                l.answer,
                Some(footer),
            ));
        }
    }
    // Mailing-list footers: Mailman 2 and 3, a short rule.
    for (footer, name) in [
        (
            "_______________________________________________\nUsers mailing list\nusers@lists.example.org\nhttps://lists.example.org/mailman/listinfo/users\n",
            "Mailman 2",
        ),
        (
            "_______________________________________________\ndevel mailing list -- devel@lists.example.org\nTo unsubscribe send an email to devel-leave@lists.example.org\n",
            "Mailman 3",
        ),
        (
            "__\nannounce mailing list\nannounce@lists.example.net\nhttps://lists.example.net/listinfo/announce\n",
            "a short rule",
        ),
    ] {
        out.push(Case {
            class: "mailing-list footer",
            language: name,
            body: format!("That fixed it, thanks.\n\n{footer}"),
            reply_text: "That fixed it, thanks.".into(),
            signature: None,
        });
    }
    // The customer's own words that merely contain a header's or a footer's words stay whole.
    for body in KEEP {
        out.push(Case {
            class: "own words kept",
            language: "mixed",
            body: body.to_string(),
            reply_text: body.trim().to_string(),
            signature: None,
        });
    }
    out
}

/// The languages whose header labels end with a full-width colon (`：`) and no space.
const FULL_WIDTH_COLON: &[&str] = &["zh", "zh-TW", "ja"];

/// Replies whose new text contains "wrote", "Sent from my" or a date with a colon in its own
/// sentences: none of it is history or a signature.
pub(crate) const KEEP: &[&str] = &[
    "The parcel was sent from my warehouse in Lyon on Monday.\nPlease check the tracking number.\n",
    "Sent from my office: the signed contract and the invoice, both attached, for your records.\n",
    "I never wrote: cancel the order.\nPlease keep it open.\n",
    "Yesterday I wrote to your support team and nobody answered, so I am writing again.\n",
    "On Monday, my colleague wrote:\nwe need forty chairs, not thirty.\n",
    "As Jane Doe <jane@customer.example> wrote: the price includes delivery.\nIs that still true?\n",
    "Sent from my iPhone\nI am answering from my phone, sorry for the typos: the order number is 4411.\n",
    "I think this was sent from my iPhone by mistake, sorry about that.\n",
    "Le 3 mars, j'ai écrit à votre service client : aucune réponse.\nMerci de me rappeler.\n",
    "Am 12.03.2024 schrieb ich Ihnen bereits wegen der Rechnung.\nBitte melden Sie sich.\n",
    "Op 12 maart 2024 schreef ik u al over de levering.\nGraag een reactie.\n",
    "He wrote:\n\"The chairs arrive Monday.\"\nThat was three weeks ago.\n",
    "Von meinem Büro aus gesendet habe ich gestern die Unterlagen, bitte prüfen Sie sie.\n",
    "Enviado desde mi oficina ayer por la tarde, el pedido número 4411 sigue sin llegar a Madrid.\n",
    "Meeting notes:\nFrom: the sales team\nTo: everyone in purchasing\nPlease read them before Friday.\n",
];
