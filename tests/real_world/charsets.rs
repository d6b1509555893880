//! Legacy charsets as real mail carries them: raw 8-bit header bytes in GBK or Shift_JIS with no
//! label, bodies with no charset or an unknown one, all stored as the text they are (no U+FFFD).

use super::*;

fn encode(encoding: &'static encoding_rs::Encoding, text: &str) -> Vec<u8> {
    encoding.encode(text).0.into_owned()
}

#[test]
fn unlabelled_and_mislabelled_text_is_decoded_by_the_guess() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();

    // GBK bytes straight in the Subject and the From name, and a GB2312 body under a label nobody
    // registered.
    let subject = "关于订单的问题，请尽快回复";
    let body = "您好，我想查询一下我的订单状态，谢谢。";
    let mut raw = b"From: ".to_vec();
    raw.extend(encode(encoding_rs::GBK, "王小明"));
    raw.extend_from_slice(b" <wang@customer.example>\r\nSubject: ");
    raw.extend(encode(encoding_rs::GBK, subject));
    raw.extend_from_slice(b"\r\nMessage-ID: <gbk@customer.example>\r\nMIME-Version: 1.0\r\n");
    raw.extend_from_slice(b"Content-Type: text/plain; charset=iso-gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    raw.extend(encode(encoding_rs::GBK, body));
    raw.extend_from_slice(b"\r\n");
    let m = server
        .deliver_and_show(&mut c, "wang@customer.example", &[&acme.address], &raw)
        .unwrap();
    assert_eq!(m["subject"], subject, "{m}");
    assert_eq!(m["from_name"], "王小明", "{m}");
    assert_eq!(m["text"].as_str().unwrap().trim(), body, "{m}");

    // Shift_JIS with no charset at all.
    let body = "ご注文ありがとうございます。発送は明日になります。";
    let mut raw = b"From: tanaka@customer.example\r\nSubject: order\r\nMessage-ID: <sjis@customer.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        .to_vec();
    raw.extend(encode(encoding_rs::SHIFT_JIS, body));
    raw.extend_from_slice(b"\r\n");
    let m = server
        .deliver_and_show(&mut c, "tanaka@customer.example", &[&acme.address], &raw)
        .unwrap();
    assert_eq!(m["text"].as_str().unwrap().trim(), body, "{m}");
    assert_eq!(m["reply_text"].as_str().unwrap().trim(), body);

    // A label that decodes cleanly is kept as declared.
    let raw = b"From: anna@customer.example\r\nSubject: caf\xe9\r\nMessage-ID: <latin1@customer.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Un caf\xe9 cr\xe8me, s'il vous pla\xeet.\r\n";
    let m = server
        .deliver_and_show(&mut c, "anna@customer.example", &[&acme.address], raw)
        .unwrap();
    assert_eq!(m["text"].as_str().unwrap().trim(), "Un café crème, s'il vous plaît.");
    // Nothing stored carries a replacement character.
    let replaced = server
        .count("SELECT count(*) FROM messages WHERE instr(text, '\u{FFFD}') > 0 OR instr(subject, '\u{FFFD}') > 0");
    assert_eq!(replaced, 0);
}

/// The three ways real mail still went wrong: a Shift_JIS display name in raw 8-bit header bytes,
/// a UTF-8 body labelled Latin-1, and GB2312-labelled text that is really GBK or GB18030 (in a
/// body and in an encoded word). Browsers read GB2312 as GBK (WHATWG), and a label whose reading
/// breaks is not believed.
#[test]
fn labels_that_lie_and_raw_header_bytes_read_as_browsers_read_them() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();

    let mut raw = b"From: ".to_vec();
    raw.extend(encode(encoding_rs::SHIFT_JIS, "山田太郎"));
    raw.extend_from_slice(b" <yamada@customer.example>\r\nSubject: ");
    raw.extend(encode(encoding_rs::SHIFT_JIS, "見積もりのお願い"));
    raw.extend_from_slice(b"\r\nMessage-ID: <sjis-name@customer.example>\r\nMIME-Version: 1.0\r\n");
    raw.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n");
    let m = server
        .deliver_and_show(&mut c, "yamada@customer.example", &[&acme.address], &raw)
        .unwrap();
    assert_eq!(m["from_name"], "山田太郎", "{m}");
    assert_eq!(m["subject"], "見積もりのお願い", "{m}");
    let contact = server
        .contacts(acme.id)
        .into_iter()
        .find(|c| c["email"] == "yamada@customer.example")
        .unwrap();
    assert_eq!(contact["name"], "山田太郎");

    let raw = "From: jorg@customer.example\r\nSubject: Umlaute\r\nMessage-ID: <mislabel@customer.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Grüße aus Köln: äöü ÄÖÜ ß.\r\n";
    let m = server
        .deliver_and_show(&mut c, "jorg@customer.example", &[&acme.address], raw.as_bytes())
        .unwrap();
    assert_eq!(
        m["text"].as_str().unwrap().trim(),
        "Grüße aus Köln: äöü ÄÖÜ ß.",
        "not Ã¤Ã¶Ã¼: {m}"
    );

    // 镕 and 喆 are GBK, not GB2312; 𠀀 and € need GB18030's four-byte and GBK's one-byte forms.
    let text = "朱镕基和张喆的订单，价格100€，附件见𠀀。";
    let gb = encode(encoding_rs::GB18030, text);
    let mut raw = b"From: zhang@customer.example\r\nSubject: =?gb2312?B?".to_vec();
    raw.extend_from_slice(base64(&encode(encoding_rs::GBK, "张喆的订单")).as_bytes());
    raw.extend_from_slice(b"?=\r\nMessage-ID: <gbk-label@customer.example>\r\nMIME-Version: 1.0\r\n");
    raw.extend_from_slice(b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    raw.extend(gb);
    raw.extend_from_slice(b"\r\n");
    let m = server
        .deliver_and_show(&mut c, "zhang@customer.example", &[&acme.address], &raw)
        .unwrap();
    assert_eq!(m["subject"], "张喆的订单", "{m}");
    assert_eq!(m["text"].as_str().unwrap().trim(), text, "{m}");

    // A utf-8 label over Latin-1 bytes is not believed: the guess reads them.
    let raw = b"From: anne@customer.example\r\nSubject: x\r\nMessage-ID: <liar@customer.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Je voudrais un caf\xe9 cr\xe8me et une cr\xeape, merci beaucoup.\r\n";
    let m = server
        .deliver_and_show(&mut c, "anne@customer.example", &[&acme.address], raw)
        .unwrap();
    assert_eq!(
        m["text"].as_str().unwrap().trim(),
        "Je voudrais un café crème et une crêpe, merci beaucoup."
    );
    let replaced = server
        .count("SELECT count(*) FROM messages WHERE instr(text, '\u{FFFD}') > 0 OR instr(subject, '\u{FFFD}') > 0 OR instr(from_name, '\u{FFFD}') > 0");
    assert_eq!(replaced, 0);
}
