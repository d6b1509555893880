//! RFC 3030 and header corners over TCP: DATA after BDAT, BINARYMIME, a chunk larger than the
//! limit, two Message-IDs, Authentication-Results claiming our domains, and exact attachment sizes
//! above the parse window.

use super::*;

#[test]
fn data_after_bdat_is_refused_and_the_chunks_stay() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<jane@customer.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    let head = "From: jane@customer.example\r\nSubject: chunks\r\n";
    c.write(format!("BDAT {}\r\n{head}", head.len()).as_bytes());
    c.reply().expect(250, "2.0.0");
    c.cmd("DATA").expect(503, "5.5.1");
    let rest = "Message-ID: <chunks@customer.example>\r\n\r\nBoth chunks.\r\n";
    c.write(format!("BDAT {} LAST\r\n{rest}", rest.len()).as_bytes());
    c.reply().expect(250, "2.0.0");
    let raw: Vec<u8> = server.first_raw();
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.ends_with(&format!("{head}{rest}")), "{raw}");
}

#[test]
fn binarymime_is_refused_since_it_is_not_advertised() {
    let server = start();
    let mut c = server.connect();
    let ehlo = c.ehlo();
    assert!(!ehlo.text().contains("BINARYMIME"), "{ehlo:?}");
    c.cmd("MAIL FROM:<a@b.example> BODY=BINARYMIME").expect(555, "5.5.4");
    c.cmd("MAIL FROM:<a@b.example> BODY=8BITMIME").expect(250, "2.1.0");
}

#[test]
fn a_bdat_chunk_over_the_limit_is_refused_at_once_and_the_session_closes() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<a@b.example>").expect(250, "2.1.0");
    c.cmd(&format!("RCPT TO:<{}>", acme.address)).expect(250, "2.1.5");
    let started = Instant::now();
    c.cmd("BDAT 99999999999 LAST").expect(552, "5.3.4");
    assert!(started.elapsed() < Duration::from_secs(5), "answered at once");
    assert!(c.is_closed(), "the chunk cannot be skipped: the session ends");
    assert_eq!(server.count("SELECT count(*) FROM messages"), 0);
}

#[test]
fn two_message_ids_take_the_first_and_flag_the_message() {
    let server = start();
    let acme = server.create_account("Acme");
    let mut c = server.connect();
    c.ehlo();
    let message = "From: jane@customer.example\r\nMessage-ID: <first@customer.example>\r\n\
                   Message-ID: <second@customer.example>\r\nSubject: twice\r\n\r\nHello.\r\n";
    let m = server
        .deliver_and_show(&mut c, "jane@customer.example", &[&acme.address], message.as_bytes())
        .expect("stored");
    assert_eq!(m["message_id"], "first@customer.example", "{m}");
    assert!(
        m["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "multiple_message_ids"),
        "{m}"
    );
}

#[test]
fn results_claiming_our_domains_or_their_subdomains_are_removed() {
    let server = start();
    let acme = server.create_account("Acme");
    let message = "Authentication-Results: inbox.localhost; dmarc=pass header.from=bank.example\r\n\
                   Authentication-Results: relay.inbox.localhost; spf=pass\r\n\
                   Authentication-Results: mx.test.example; dkim=pass\r\n\
                   Authentication-Results: other.example; spf=fail\r\n\
                   From: ceo@bank.example\r\nSubject: trust me\r\n\r\nPay now.\r\n";
    server
        .send("a@b.example", &[&acme.address], message)
        .expect(250, "2.0.0");
    let raw: Vec<u8> = server.first_raw();
    let raw = String::from_utf8(raw).unwrap();
    for forged in [
        "inbox.localhost; dmarc=pass",
        "relay.inbox.localhost;",
        "mx.test.example; dkim=pass",
    ] {
        assert!(!raw.contains(forged), "{forged} survived: {raw}");
    }
    assert!(raw.contains("Authentication-Results: other.example; spf=fail"), "{raw}");
    assert!(
        raw.contains("Authentication-Results: mx.test.example;\r\n"),
        "our own header: {raw}"
    );
}

#[test]
fn attachment_sizes_above_the_parse_window_are_the_decoded_size() {
    let server = start();
    let acme = server.create_account("Acme");
    // 4,500,001 bytes: not a multiple of 3, so the base64 ends in padding.
    let len = 4_500_001;
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let message = format!(
        "From: jane@customer.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n\
         Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        base64(&data)
    );
    assert!(message.len() > 4 * 1024 * 1024, "the large-message path");
    let mut c = server.connect();
    c.ehlo();
    let m = server
        .deliver_and_show(&mut c, "jane@customer.example", &[&acme.address], message.as_bytes())
        .expect("stored");
    let attachment = &m["attachments"][0];
    assert_eq!(attachment["filename"], "data.bin", "{m}");
    assert_eq!(attachment["size"], len, "{attachment}");
}
