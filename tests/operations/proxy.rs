//! The PROXY protocol, believed only from trusted proxies.

use super::*;

fn proxy_v2(src: [u8; 4], port: u16) -> Vec<u8> {
    let mut v = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v.extend_from_slice(&[0x21, 0x11, 0, 12]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&[10, 0, 0, 1]);
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&25u16.to_be_bytes());
    v
}

#[test]
fn proxy_protocol_is_believed_only_from_trusted_proxies() {
    let server = builder()
        .set("server.proxy_protocol", true)
        .set(
            "server.proxy_trusted_networks",
            toml::Value::Array(vec!["127.0.0.1/32".into()]),
        )
        .set("limits.max_connections_per_ip", 1)
        .start();
    let acme = server.create_account("Acme");
    let client_ip = |subject: &str| -> String {
        server.envelopes(&format!("subject = '{subject}'"))[0]["client_ip"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // v1 from the trusted load balancer: the real client is 203.0.113.9.
    let mut s = connect_from("127.0.0.1", server.addr);
    s.write_all(b"PROXY TCP4 203.0.113.9 10.0.0.1 40001 25\r\n").unwrap();
    assert!(read_reply_line(&mut s).starts_with("220 "));
    assert!(deliver_raw(&mut s, &acme.address, "via v1").starts_with("250 2.0.0"));
    assert_eq!(client_ip("via v1"), "203.0.113.9");
    let raw: Vec<u8> = server.first_raw();
    assert!(
        String::from_utf8_lossy(&raw).contains("([203.0.113.9])"),
        "the Received header names the real client"
    );

    // v2, another real client; limits count real addresses (one connection each here).
    let mut s2 = connect_from("127.0.0.1", server.addr);
    s2.write_all(&proxy_v2([198, 51, 100, 7], 40002)).unwrap();
    assert!(read_reply_line(&mut s2).starts_with("220 "));
    assert!(deliver_raw(&mut s2, &acme.address, "via v2").starts_with("250 2.0.0"));
    assert_eq!(client_ip("via v2"), "198.51.100.7");
    let mut s3 = connect_from("127.0.0.1", server.addr);
    s3.write_all(&proxy_v2([198, 51, 100, 7], 40003)).unwrap();
    let refused = read_reply_line(&mut s3);
    assert!(
        refused.starts_with("421 4.7.0"),
        "the second connection of 198.51.100.7: {refused}"
    );
    drop((s, s2, s3));

    // From an untrusted address the header is not believed: it is just an unknown command.
    let mut u = connect_from("127.0.0.2", server.addr);
    assert!(
        read_reply_line(&mut u).starts_with("220 "),
        "a direct client gets the greeting at once"
    );
    u.write_all(b"PROXY TCP4 192.0.2.1 10.0.0.1 40004 25\r\n").unwrap();
    assert!(read_reply_line(&mut u).starts_with("500 5.5.1"));
    assert!(deliver_raw(&mut u, &acme.address, "untrusted").starts_with("250 2.0.0"));
    assert_eq!(client_ip("untrusted"), "127.0.0.2");
    let mut u2 = connect_from("127.0.0.2", server.addr);
    u2.write_all(&proxy_v2([192, 0, 2, 1], 40005)).unwrap();
    let greeting = read_reply_line(&mut u2);
    assert!(
        greeting.starts_with("220 ") || greeting.starts_with("421 "),
        "{greeting}"
    );
    let envelopes = server.envelopes("true");
    assert_eq!(envelopes.len(), 3, "{envelopes:?}");
    assert!(
        envelopes.iter().all(|e| !e.to_string().contains("192.0.2.1")),
        "{envelopes:?}"
    );
}
