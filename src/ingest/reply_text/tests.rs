//! The talon corpus (standard, HTML and quotation cases) and hand-written cases in many languages.

use super::{MAX_HTML_BYTES, MAX_TEXT_BYTES, from_html, from_text};
const TALON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora/talon");

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn without_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The corpus is a flat array of objects with string values; a full JSON parser would be the only
/// reason to add a dependency, so this reads exactly that shape.
fn parse_cases(json: &str) -> Vec<Vec<(String, String)>> {
    let mut chars = json.chars().peekable();
    let mut cases = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    let mut key: Option<String> = None;
    while let Some(c) = chars.next() {
        match c {
            '{' => current = Some(Vec::new()),
            '}' => cases.extend(current.take()),
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('b') => s.push('\u{8}'),
                            Some('f') => s.push('\u{c}'),
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                let code = u32::from_str_radix(&hex, 16).expect("\\u escape");
                                s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            }
                            Some(other) => s.push(other),
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                match key.take() {
                    None => key = Some(s),
                    Some(k) => current.get_or_insert_with(Vec::new).push((k, s)),
                }
            }
            _ => {}
        }
    }
    cases
}

fn field<'a>(case: &'a [(String, String)], name: &str) -> &'a str {
    case.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// Normalisation: both sides are trimmed and compared line by line with trailing whitespace removed
/// from each line. Nothing else is forgiven: line order, blank lines between paragraphs and leading
/// indentation must match.
fn normalise(s: &str) -> String {
    s.trim().lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[test]
fn talon_text_quotations() {
    let cases = parse_cases(&read(&format!("{TALON}/text_quotations_cases.json")));
    assert_eq!(cases.len(), 63, "corpus size");
    let mut failures = Vec::new();
    for case in &cases {
        let got = from_text(field(case, "input"));
        if normalise(&got) != normalise(field(case, "expected")) {
            failures.push(format!(
                "--- {}\nexpected:\n{}\ngot:\n{}",
                field(case, "test"),
                field(case, "expected").trim(),
                got
            ));
        }
    }
    let exact = cases
        .iter()
        .filter(|c| from_text(field(c, "input")) == field(c, "expected").trim())
        .count();
    let passed = cases.len() - failures.len();
    let rate = 100.0 * passed as f64 / cases.len() as f64;
    eprintln!(
        "talon text_quotations: {passed}/{} ({rate:.1}%; {exact} also exact after trim)",
        cases.len()
    );
    for failure in &failures {
        eprintln!("{failure}");
    }
    // Every case passes today: one that stops passing is a regression.
    assert!(
        failures.is_empty(),
        "pass rate {rate:.1}%: {} cases failed",
        failures.len()
    );
}

#[test]
fn talon_standard_replies() {
    let dir = format!("{TALON}/fixtures/standard_replies");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("standard_replies dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 12, "corpus size");
    let mut failures = Vec::new();
    for name in &names {
        let raw = std::fs::read(format!("{dir}/{name}")).expect("read eml");
        let message = mail_parser::MessageParser::default().parse(&raw).expect("parse eml");
        let got = if message.text_body.is_empty() {
            from_html(&message.body_html(0).unwrap_or_default())
        } else {
            from_text(&message.body_text(0).unwrap_or_default())
        };
        let stem = name.trim_end_matches(".eml");
        let expected =
            std::fs::read_to_string(format!("{dir}/{stem}_reply_text")).unwrap_or_else(|_| "Hello".to_string());
        if got != expected.trim() {
            failures.push(format!("--- {name}\nexpected: {expected:?}\ngot:      {got:?}"));
        }
    }
    let passed = names.len() - failures.len();
    eprintln!("talon standard_replies: {passed}/{}", names.len());
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(failures.is_empty());
}

#[test]
fn talon_html_replies() {
    let dir = format!("{TALON}/fixtures/html_replies");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("html_replies dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".html"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "corpus size");
    let expected = "Hi. I am fine.\n\nThanks,\nAlex";
    let mut failures = Vec::new();
    let mut exact = 0;
    for name in &names {
        let got = from_html(&read(&format!("{dir}/{name}")));
        exact += usize::from(got == expected);
        if without_whitespace(&got) != without_whitespace(expected) {
            failures.push(format!("--- {name}\ngot: {got:?}"));
        }
    }
    let passed = names.len() - failures.len();
    eprintln!(
        "talon html_replies: {passed}/{} (whitespace removed; {exact} also exact)",
        names.len()
    );
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(failures.is_empty());
}

#[test]
fn attributions_in_other_languages() {
    let cases = [
        (
            "French",
            "Merci pour votre aide.\n\nLe lun. 2 avr. 2012 à 18:26, Megan One <megan@example.com> a écrit :\n\n> Bonjour,\n> Comment ça va ?\n",
            "Merci pour votre aide.",
        ),
        (
            "German",
            "Danke, passt so.\n\nAm 25.11.2014 um 14:59 schrieb Max Mustermann <max@example.com>:\n\n> Hallo,\n> anbei die Rechnung.\n",
            "Danke, passt so.",
        ),
        (
            "Spanish",
            "Gracias, ya funciona.\n\nEl lun., 2 abr. 2012 a las 18:26, Megan One (<megan@example.com>) escribió:\n\n> Hola,\n> ¿qué tal?\n",
            "Gracias, ya funciona.",
        ),
        (
            "Dutch",
            "Bedankt voor het snelle antwoord.\n\nOp 2 apr. 2012 om 18:26 schreef Megan One <megan@example.com>:\n\n> Hallo,\n> hoe gaat het?\n",
            "Bedankt voor het snelle antwoord.",
        ),
        (
            "Swedish",
            "Tack för hjälpen!\n\nDen 2 apr. 2012 kl. 18:26 skrev Megan One <megan@example.com>:\n\n> Hej,\n> hur mår du?\n",
            "Tack för hjälpen!",
        ),
        (
            "Outlook French",
            "Bonjour,\nc'est réglé.\n\nDe : Support <support@example.com>\nEnvoyé : lundi 2 avril 2012 18:26\nÀ : Client <client@example.com>\nObjet : Votre demande\n\nBonjour,\nvotre demande a été reçue.\n",
            "Bonjour,\nc'est réglé.",
        ),
        (
            "Outlook German",
            "Passt, danke.\n\n________________________________\nVon: Support <support@example.com>\nGesendet: Montag, 2. April 2012 18:26\nAn: Kunde <kunde@example.com>\nBetreff: Ihre Anfrage\n\nHallo,\nIhre Anfrage ist eingegangen.\n",
            "Passt, danke.",
        ),
    ];
    for (language, input, expected) in cases {
        assert_eq!(from_text(input), expected, "{language}");
        let crlf = input.replace('\n', "\r\n");
        let expected_crlf = expected.replace('\n', "\r\n");
        assert_eq!(from_text(&crlf), expected_crlf, "{language} with CRLF");
    }
}

#[test]
fn message_without_quotes_comes_back_unchanged() {
    let input = "\n  Hi team,\n\nOn Monday I will be out of the office.\nOn 3 May 2024 I sent the invoice.\n10/19/2017 @ 9:30 am for physical therapy\nDate: tomorrow\nTime: 9am\nBooking:\nDate: 12 March\nFrom: London\nTo: Paris\n>>> see http://example.com <<<\nIf a < b then c > d.\n\n-- \nBob\n\n";
    assert_eq!(from_text(input), input.trim());
    let crlf = input.replace('\n', "\r\n");
    assert_eq!(from_text(&crlf), crlf.trim());
    assert_eq!(from_text(""), "");
    assert_eq!(from_text(" \n\t\n"), "");
}

#[test]
fn bottom_posted_and_inline_replies() {
    // The reply and the attribution share a line, after a multi-byte space.
    let shared = "Fine by me.\u{3000}On Mon, Apr 2, 2012 at 6:26 PM, Megan <megan@example.com> wrote:\n> Hi\n";
    assert_eq!(from_text(shared), "Fine by me.");
    let bottom = "On Mon, Apr 2, 2012 at 6:26 PM, Megan <megan@example.com> wrote:\n> Can you check the order?\n> Thanks\n\nDone, it shipped today.\r\n";
    assert_eq!(from_text(bottom), "Done, it shipped today.");
    // Answers between quoted lines need the quotes for context: keep everything.
    let inline = "On Mon, Apr 2, 2012 at 6:26 PM, Megan <megan@example.com> wrote:\n> Which size?\nLarge.\n> Which colour?\nBlue.\n";
    assert_eq!(from_text(inline), inline.trim());
    // Only quoted history and no new text: better to show it than to show nothing.
    let only_quote = "On Mon, Apr 2, 2012 at 6:26 PM, Megan <megan@example.com> wrote:\n> Hi\n";
    assert_eq!(from_text(only_quote), only_quote.trim());
}

#[test]
fn html_quote_containers() {
    let outlook_web = r#"<div dir="ltr">Works now, thanks!</div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Support<br><b>Sent:</b> Monday<br></div><div>Old text</div>"#;
    assert_eq!(from_html(outlook_web), "Works now, thanks!");
    let apple = r#"<html><body><div>Sounds <b>good</b> to me.</div><div><br><blockquote type="cite"><div>On 2 Apr 2012, at 18:26, Megan &lt;megan@example.com&gt; wrote:</div><div>Old</div></blockquote></div></body></html>"#;
    assert_eq!(from_html(apple), "Sounds good to me.");
    let yahoo = r#"<div>Yes please.</div><div class="yahoo_quoted"><div>On Monday, April 2, 2012 6:26 PM, Megan wrote:</div><div>Old</div></div>"#;
    assert_eq!(from_html(yahoo), "Yes please.");
    // A Gmail forward sits in a gmail_quote container but is the content being sent.
    let forward = r#"<div dir="ltr">FYI<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: Bob &lt;bob@example.com&gt;<br>Date: Mon, Apr 2, 2012<br>Subject: Report<br>To: Ann &lt;ann@example.com&gt;<br></div><br>The report.</div></div>"#;
    let text = from_html(forward);
    assert!(text.starts_with("FYI\n\n---------- Forwarded message"), "{text:?}");
    assert!(text.ends_with("The report."), "{text:?}");
    // No quote: blocks become lines, entities decode, spacing between inline elements survives.
    let plain = "<p><b>Hello</b> world &amp; friends</p><div>second <i>line</i></div><table><tr><td>a</td><td>b</td></tr></table>";
    assert_eq!(from_html(plain), "Hello world & friends\nsecond line\na b");
}

/// xorshift: deterministic noise without a dependency.
fn noise(seed: u64, len: usize, alphabet: &[&str]) -> String {
    let mut state = seed | 1;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
    }
    out
}

#[test]
fn huge_and_garbage_input_never_panics() {
    let alphabet = [
        "\u{a0}",
        "\u{3000}",
        "<",
        ">",
        "\n",
        "\r\n",
        " ",
        "-",
        "_",
        ":",
        "@",
        "&",
        ";",
        "&#x110000;",
        "&nbsp;",
        "é",
        "ж",
        "写道",
        "\u{FDD0}",
        "\u{FDD1}",
        "On ",
        "wrote:",
        "From: a",
        "Sent: b",
        "2012",
        "12:30",
        "<blockquote>",
        "<div class=gmail_quote>",
        "<br class=x>",
        "</p>",
        "<!--",
        "-->",
        "(http",
        "a",
        "\u{0}",
        "\t",
        "> ",
    ];
    for seed in 1..40u64 {
        let garbage = noise(seed, 20_000, &alphabet);
        let _ = from_text(&garbage);
        let _ = from_html(&garbage);
    }
    let huge = noise(7, 3 << 20, &alphabet);
    let text = from_text(&huge);
    assert!(text.len() <= MAX_TEXT_BYTES);
    let _ = from_html(&huge);
    // One enormous line of multi-byte characters: the cap must land on a char boundary.
    let line = "é".repeat(3 << 20);
    assert!(from_text(&line).len() <= MAX_TEXT_BYTES);
    assert!(from_html(&line).len() <= MAX_HTML_BYTES);
    let brackets = "<".repeat(3 << 20);
    let _ = from_html(&brackets);
    let _ = from_text(&brackets);
}

/// Real and deliberately broken mail from the other corpora: whatever comes out, nothing panics.
#[test]
fn other_corpora_never_panic() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpora");
    // Each folder with the least it holds (corpora/README.md): a missing or thinned corpus fails.
    let dirs = [
        ("cpython-email", 48),
        ("mime-edge-cases/rfc", 10),
        ("mime-edge-cases/malformed", 23),
        ("mime-edge-cases/thirdparty", 20),
    ];
    let mut bodies = 0;
    for (dir, at_least) in dirs {
        let path = format!("{root}/{dir}");
        let entries = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut seen = 0;
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
            let Some(message) = mail_parser::MessageParser::default().parse(&raw) else {
                continue;
            };
            for i in 0..message.text_body.len() {
                let _ = from_text(&message.body_text(i).unwrap_or_default());
                bodies += 1;
            }
            for i in 0..message.html_body.len() {
                let _ = from_html(&message.body_html(i).unwrap_or_default());
                bodies += 1;
            }
        }
        assert!(
            seen >= at_least,
            "{path}: {seen} messages, expected at least {at_least}"
        );
    }
    // Most of these messages have a body: a run that reached none read nothing.
    assert!(bodies >= 80, "only {bodies} bodies run through from_text/from_html");
    eprintln!("other corpora: {bodies} bodies run through from_text/from_html");
}
#[test]
fn verbless_attributions_and_separator_remnants_go() {
    // The whole table of layouts runs through the server (tests/real_world/replies.rs).
    for (input, want) in [
        (
            "Thanks.\n\n30.09.2017, 18.30, \"Jane Doe\" <jane@customer.example>:\n> old text\n",
            "Thanks.",
        ),
        (
            "Tak.\n\n-------- Oprindelig besked --------\nFra: Jane <jane@customer.example>\nEmne: Hej\n\ngammel\n",
            "Tak.",
        ),
        (
            "Done.\n\n-------------------------\n*From:* Jane <jane@customer.example>\n*Sent:* Monday\n*To:* a@b.example\n*Subject:* Hi\n\nold\n",
            "Done.",
        ),
    ] {
        assert_eq!(super::from_text(input), want, "{input:?}");
    }
}

#[test]
fn header_blocks_are_found_by_their_colons_and_need_a_date_or_address_without_a_subject() {
    for (input, want) in [
        // Full-width colons (Chinese and Japanese Outlook), a timestamp as the block's evidence.
        (
            "好的。\n\n发件人：王小明 <wang@customer.example>\n发送时间：2024年12月2日 14:05\n收件人：支持\n\n旧的内容\n",
            "好的。",
        ),
        // No subject: the date on the block's second line is what makes it mail.
        (
            "Fine.\n\nFrom: Jane\nSent: Monday, December 2, 2024 14:05\n\nold text\n",
            "Fine.",
        ),
        // No subject, no timestamp, no address: a booking, kept whole.
        (
            "Booking:\nDate: 12 March\nFrom: London\nTo: Paris\n",
            "Booking:\nDate: 12 March\nFrom: London\nTo: Paris",
        ),
    ] {
        assert_eq!(super::from_text(input), want, "{input:?}");
    }
}
