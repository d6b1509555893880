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
