//! The accuracy report (ACCURACY.md): how often the original sender of an agent's forward and the
//! new text of a reply come out right, per client family and per language, through the server.
//!
//! `cargo test --test real_world accuracy -- --nocapture` prints the table. Each class must stay at
//! every case right: a regression fails here.

use super::forwards::OUTLOOK_2019_ATTRIBUTIONS;
use super::replies::REPLY_LAYOUTS;
use super::*;

#[derive(Default)]
struct Tally(BTreeMap<String, (usize, usize)>);

impl Tally {
    fn add(&mut self, class: &str, right: bool) {
        let entry = self.0.entry(class.to_string()).or_default();
        entry.1 += 1;
        entry.0 += usize::from(right);
    }

    fn print(&self, title: &str) -> (usize, usize) {
        println!("{title}");
        let (mut right, mut all) = (0, 0);
        for (class, (r, n)) in &self.0 {
            println!("  {class:<24} {r:>3}/{n:<3}");
            right += r;
            all += n;
        }
        println!(
            "  {:<24} {right:>3}/{all:<3} ({:.1} %)",
            "all",
            100.0 * right as f64 / all.max(1) as f64
        );
        (right, all)
    }
}

#[test]
fn accuracy_per_client_family_and_language() {
    let server = start();
    let acme = server.create_account("Acme");
    assert!(
        server
            .cli(&["members", "add", &acme.id.to_string(), AGENT])
            .status
            .success()
    );
    let mut c = server.connect();
    c.ehlo();

    // Forwards: the hand-written client fixtures (family_language.eml), Outlook 2019's attribution
    // layout in its 17 languages, and full-width-colon header blocks.
    let (mut by_family, mut by_language) = (Tally::default(), Tally::default());
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("forwards/expected.json")).unwrap()).unwrap();
    for (file, want) in &expected {
        let Some(from) = want["from_email"].as_str() else {
            continue;
        };
        let bytes = std::fs::read(fixture(&format!("forwards/{file}"))).unwrap();
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&acme.address], &bytes)
            .unwrap();
        let right = m["original"]["from_email"] == from;
        let mut parts = file.trim_end_matches(".eml").split('_');
        by_family.add(parts.next().unwrap(), right);
        by_language.add(parts.next().unwrap_or("en"), right);
    }
    for (language, attribution) in OUTLOOK_2019_ATTRIBUTIONS {
        let body = format!("See below.\r\n\r\n{attribution}\r\n\r\n    Where is my order?\r\n");
        let message = mail(
            AGENT,
            "FW: Order",
            &[("Message-ID", &format!("<acc-{language}@agency.example>"))],
            &body,
        );
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&acme.address], message.as_bytes())
            .unwrap();
        let right = m["original"]["from_email"] == "jana@customer.example";
        by_family.add("outlook2019", right);
        by_language.add(language, right);
    }
    for (language, block) in [
        (
            "ja",
            "---------- Forwarded message ---------\r\n送信元：山田 太郎 <taro@customer.example>\r\n日付：2021年10月28日 12:46\r\n件名：見積もり\r\n",
        ),
        (
            "zh",
            "-------- 转发的邮件 --------\r\n发件人：王小明 <taro@customer.example>\r\n时间：2021年10月28日 12:46\r\n主题：报价\r\n",
        ),
        (
            "en",
            "---------- Forwarded message ----------\r\nFrom：Taro <taro@customer.example>\r\nSubject：Pricing\r\n",
        ),
    ] {
        let message = mail(
            AGENT,
            "Fwd: quote",
            &[("Message-ID", &format!("<fw-{language}@agency.example>"))],
            &format!("FYI\r\n\r\n{block}\r\nThe original.\r\n"),
        );
        let m = server
            .deliver_and_show(&mut c, AGENT, &[&acme.address], message.as_bytes())
            .unwrap();
        let right = m["original"]["from_email"] == "taro@customer.example";
        by_family.add("full-width colons", right);
        by_language.add(language, right);
    }
    let (f_right, f_all) = by_family.print("forwards: the original sender, per client family");
    by_language.print("forwards: the original sender, per language");

    // Reply text: talon's three corpora and the layouts of replies people write.
    let mut replies = Tally::default();
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(corpus("talon/text_quotations_cases.json")).unwrap()).unwrap();
    for (i, case) in cases.iter().enumerate() {
        let message = format!(
            "From: alex@x.example\r\nSubject: case {i}\r\nMessage-ID: <acc-case-{i}@x.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(case["input"].as_str().unwrap().as_bytes())
        );
        let m = server
            .deliver_and_read(&mut c, "x@y.example", &[&acme.address], message.as_bytes())
            .unwrap();
        let got = match m["signature"].as_str() {
            Some(s) => format!("{}\n\n{s}", m["reply_text"].as_str().unwrap_or("")),
            None => m["reply_text"].as_str().unwrap_or("").to_string(),
        };
        replies.add(
            "talon quotation cases",
            norm(&got) == norm(case["expected"].as_str().unwrap()),
        );
    }
    for (i, (body, new_text, _)) in REPLY_LAYOUTS.iter().enumerate() {
        let message = mail(
            "jane@customer.example",
            "Re: x",
            &[("Message-ID", &format!("<acc-layout-{i}@c.example>"))],
            &body.replace('\n', "\r\n"),
        );
        let m = server
            .deliver_and_show(&mut c, "jane@customer.example", &[&acme.address], message.as_bytes())
            .unwrap();
        replies.add(
            "layouts (attribution, signature, separators, footers)",
            m["reply_text"] == *new_text,
        );
    }
    let (r_right, r_all) = replies.print("reply text: exactly the new text");

    // Replies in many languages (`languages.rs`): per class of layout and per language.
    let (mut by_class, mut by_tongue) = (Tally::default(), Tally::default());
    let wrong: Vec<String> = super::replies::wrong_language_cases(&server, &acme.address)
        .1
        .into_iter()
        .map(|(case, _)| case)
        .collect();
    for (i, case) in super::languages::cases().iter().enumerate() {
        let right = !wrong.iter().any(|w| w.starts_with(&format!("#{i} ")));
        by_class.add(case.class, right);
        by_tongue.add(case.language, right);
    }
    let (l_right, l_all) = by_class.print("replies in many languages, per class");
    by_tongue.print("replies in many languages, per language");
    assert_eq!(l_right, l_all, "every generated case right");
    assert!(l_all >= 500, "the generated set is all there: {l_all}");

    assert_eq!((f_right, r_right), (f_all, r_all), "every case right");
    assert!(
        f_all >= 56 && r_all >= 81,
        "the fixture sets are all there: {f_all} forwards, {r_all} replies"
    );
}

fn norm(s: &str) -> String {
    s.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}
