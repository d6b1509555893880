//! The door's writes over real HTTP: accounts administered (create, disable, enable,
//! rotate-address, dmarc), members, reply addresses, sent messages and webhook endpoints, each
//! checked by what the SMTP side then does; who may do what (403 for an account key, 404 for
//! another account's), and every refusal a JSON error.

use super::*;
use serde_json::{Value, json};

/// One request; the status and the JSON body (Null when there is none).
fn call(http: SocketAddr, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn key(server: &Server, account: Option<i64>) -> String {
    server.api_key("test", account).1
}

/// The reply to RCPT TO:<address> on a fresh session.
fn rcpt(server: &Server, address: &str) -> u16 {
    let mut c = server.connect();
    c.ehlo();
    c.cmd("MAIL FROM:<someone@sender.example>");
    let code = c.cmd(&format!("RCPT TO:<{address}>")).code;
    c.quit();
    code
}

on_both_backends! {
    fn accounts_are_administered_through_the_api(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let platform = key(&server, None);

        let (code, acme) = call(http, "POST", "/v1/accounts", &platform, Some(json!({"name": "Acme"})));
        assert_eq!(code, 201, "{acme}");
        let id = acme["id"].as_i64().unwrap();
        let address = acme["address"].as_str().unwrap().to_string();
        assert!(address.ends_with("@inbox.localhost"), "{address}");
        let listed = server.json(&["accounts", "list"]);
        let cli = listed.as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
        assert_eq!(&acme, cli, "the CLI's shape");
        server.settle();
        assert_eq!(rcpt(&server, &address), 250);

        // An account key manages its own account's members, not the account's life.
        let own = key(&server, Some(id));
        let (code, body) = call(http, "POST", &format!("/v1/accounts/{id}/disable"), &own, None);
        assert_eq!((code, body["error"]["code"].as_str()), (403, Some("forbidden")));
        assert_eq!(call(http, "POST", "/v1/accounts", &own, Some(json!({"name": "Mine"}))).0, 403);

        let (code, disabled) = call(http, "POST", &format!("/v1/accounts/{id}/disable"), &platform, None);
        assert_eq!((code, &disabled["enabled"]), (200, &json!(false)));
        server.settle();
        assert_eq!(rcpt(&server, &address), 550);
        call(http, "POST", &format!("/v1/accounts/{id}/enable"), &platform, None);
        server.settle();
        assert_eq!(rcpt(&server, &address), 250);

        let (_, rotated) = call(http, "POST", &format!("/v1/accounts/{id}/rotate-address"), &platform, None);
        let new_address = rotated["address"].as_str().unwrap().to_string();
        assert_ne!(new_address, address);
        server.settle();
        assert_eq!(rcpt(&server, &address), 550, "the retired address stops routing");
        assert_eq!(rcpt(&server, &new_address), 250);

        let (_, dmarc) = call(http, "POST", &format!("/v1/accounts/{id}/dmarc"), &platform, Some(json!({"action": "reject"})));
        assert_eq!(dmarc["dmarc_reject"], "reject");
        let (code, body) = call(http, "POST", &format!("/v1/accounts/{id}/dmarc"), &platform, Some(json!({"action": "maybe"})));
        assert_eq!((code, body["error"]["code"].as_str()), (422, Some("bad_action")));
        assert_eq!(call(http, "POST", "/v1/accounts/999/disable", &platform, None).0, 404);
        let (code, body) = call(http, "POST", "/v1/accounts", &platform, Some(json!({"name": "X", "domain": "elsewhere.example"})));
        assert_eq!((code, body["error"]["code"].as_str()), (422, Some("bad_domain")));
        let (code, body) = call(http, "POST", "/v1/accounts", &platform, Some(json!({"nom": "X"})));
        assert!((400..500).contains(&code) && body["error"]["code"].is_string(), "{code} {body}");

        // Members: added (201, then 200), listed, removed (204, then 404); a bad address is 422.
        let members = format!("/v1/accounts/{id}/members");
        assert_eq!(call(http, "POST", &members, &own, Some(json!({"email": "Agent@Company.example"}))).0, 201);
        assert_eq!(call(http, "POST", &members, &own, Some(json!({"email": "agent@company.example"}))).0, 200);
        let (_, list) = call(http, "GET", &members, &own, None);
        assert_eq!(list["data"], json!(["Agent@company.example"]));
        call(http, "POST", &members, &own, Some(json!({"email": "second@company.example"})));
        let (_, first) = call(http, "GET", &format!("{members}?limit=1"), &own, None);
        assert_eq!(first["data"], json!(["Agent@company.example"]));
        let cursor = first["next_cursor"].as_str().unwrap().to_string();
        let (_, second) = call(http, "GET", &format!("{members}?limit=1&cursor={cursor}"), &own, None);
        assert_eq!((&second["data"], &second["next_cursor"]), (&json!(["second@company.example"]), &Value::Null));
        call(http, "DELETE", &format!("{members}/second@company.example"), &own, None);
        assert_eq!(call(http, "POST", &members, &own, Some(json!({"email": "not an address"}))).0, 422);
        assert_eq!(call(http, "DELETE", &format!("{members}/agent@company.example"), &own, None).0, 204);
        assert_eq!(call(http, "DELETE", &format!("{members}/agent@company.example"), &own, None).0, 404);
        // Another account's members are not this key's to see.
        let globex = server.create_account("Globex");
        assert_eq!(call(http, "GET", &format!("/v1/accounts/{}/members", globex.id), &own, None).0, 404);

        // A minted reply address routes a reply into the contact's conversation, with its campaign.
        let (code, minted) = call(
            http,
            "POST",
            &format!("/v1/accounts/{id}/reply-addresses"),
            &own,
            Some(json!({"contact": "carol@customer.example", "campaign_id": "spring-sale"})),
        );
        assert_eq!(code, 201, "{minted}");
        let reply_to = minted["address"].as_str().unwrap();
        let reply = server.send(
            "carol@customer.example",
            &[reply_to],
            &message(&[("From", "carol@customer.example"), ("Subject", "Re: Spring sale")], "Yes please"),
        );
        assert_eq!(reply.code, 250, "{reply:?}");
        let conversations = server.conversations(id);
        assert_eq!(conversations[0]["campaign_id"], "spring-sale");
        assert_eq!(conversations[0]["contact_email"], "carol@customer.example");

        // A registered sent message.
        let (code, sent) = call(
            http,
            "POST",
            &format!("/v1/accounts/{id}/sent"),
            &own,
            Some(json!({"message_id": "<out-1@platform.example>", "contact_email": "dan@customer.example", "automation_id": "welcome"})),
        );
        assert_eq!((code, &sent["message_id"]), (201, &json!("out-1@platform.example")));
        assert_eq!(server.count("SELECT count(*) FROM sent_messages WHERE automation_id = 'welcome'"), 1);
    }

    fn webhook_endpoints_are_managed_through_the_api(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let platform = key(&server, None);
        let acme_key = key(&server, Some(acme.id));
        let globex_key = key(&server, Some(globex.id));

        // An account key's endpoint is its account's.
        let (code, made) = call(
            http,
            "POST",
            "/v1/webhooks",
            &acme_key,
            Some(json!({"url": "https://hooks.acme.example/inbound", "events": ["message.received"]})),
        );
        assert_eq!(code, 201, "{made}");
        assert_eq!(made["account_id"], acme.id);
        assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
        let endpoint = made["id"].as_i64().unwrap();
        let (code, _) = call(http, "POST", "/v1/webhooks", &acme_key, Some(json!({"url": "https://x.example/", "account_id": globex.id})));
        assert_eq!(code, 404, "another account's");
        for (url, why) in [("http://127.0.0.1:8080/", "allow_private"), ("ftp://x.example/", "http and https")] {
            let (code, body) = call(http, "POST", "/v1/webhooks", &platform, Some(json!({"url": url})));
            assert_eq!((code, body["error"]["code"].as_str()), (422, Some("bad_endpoint")), "{url}");
            assert!(body["error"]["message"].as_str().unwrap().contains(why), "{body}");
        }
        let (code, body) = call(http, "POST", "/v1/webhooks", &platform, Some(json!({"url": "https://x.example/", "events": ["nope"]})));
        assert!(code == 422 && body["error"]["message"].as_str().unwrap().contains("unknown event type"));

        // Listed for the platform and the account, not for another account; the secret is not shown again.
        let (_, all) = call(http, "GET", "/v1/webhooks", &platform, None);
        assert_eq!(all["data"].as_array().unwrap().len(), 1);
        assert!(all["data"][0].get("secret").is_none());
        assert_eq!(call(http, "GET", "/v1/webhooks", &acme_key, None).1["data"].as_array().unwrap().len(), 1);
        assert_eq!(call(http, "GET", "/v1/webhooks", &globex_key, None).1["data"], json!([]));
        assert_eq!(call(http, "GET", &format!("/v1/webhooks/{endpoint}"), &globex_key, None).0, 404);
        let cli = server.json(&["webhooks", "list"]);
        assert_eq!(all["data"], cli, "the CLI's shape");

        // Deliveries are listed (none yet: the endpoint is on the Internet and nothing arrived).
        let (code, list) = call(http, "GET", &format!("/v1/webhooks/{endpoint}/deliveries?status=failed"), &acme_key, None);
        assert_eq!((code, &list["data"]), (200, &json!([])));
        assert_eq!(call(http, "GET", &format!("/v1/webhooks/{endpoint}/deliveries?status=odd"), &acme_key, None).0, 400);
        let (code, replayed) = call(http, "POST", &format!("/v1/webhooks/{endpoint}/replay"), &acme_key, Some(json!({"since": 0})));
        assert_eq!((code, &replayed["due_again"]), (200, &json!(0)));

        assert_eq!(call(http, "DELETE", &format!("/v1/webhooks/{endpoint}"), &globex_key, None).0, 404);
        assert_eq!(call(http, "DELETE", &format!("/v1/webhooks/{endpoint}"), &acme_key, None).0, 204);
        assert_eq!(call(http, "GET", &format!("/v1/webhooks/{endpoint}"), &platform, None).0, 404);
    }
}

/// A multipart message with one text part and the given attachments (name, type, bytes).
fn with_attachments(from: &str, subject: &str, parts: &[(&str, &str, &[u8])]) -> String {
    use base64::Engine;
    let mut m = format!(
        "From: {from}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
         --XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
    );
    for (name, ctype, bytes) in parts {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        m.push_str(&format!(
            "--XX\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ));
    }
    m.push_str("--XX--\r\n");
    m
}

fn get_bytes(http: SocketAddr, path: &str, key: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer to {path}: {} bytes", out.len()));
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    (head[9..12].parse().unwrap(), head, out[split + 4..].to_vec())
}

on_both_backends! {
    fn attachments_are_downloaded_and_conversations_filtered(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.unwrap();
        let acme = server.create_account("Acme");
        let own = key(&server, Some(acme.id));
        let pdf: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let png: Vec<u8> = (0..500u32).map(|i| (i % 256) as u8).collect();
        // A large message too: its listing came from the MIME scan, not mail-parser.
        let big: Vec<u8> = (0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let small = with_attachments("ann@customer.example", "Two files", &[("a.pdf", "application/pdf", &pdf), ("b.png", "image/png", &png)]);
        let large = with_attachments("ben@customer.example", "A big one", &[("notes.txt", "text/plain", b"short"), ("video.bin", "application/octet-stream", &big)]);
        for (from, m) in [("ann@customer.example", &small), ("ben@customer.example", &large)] {
            assert_eq!(server.send(from, &[&acme.address], m).code, 250);
        }
        let ids: Vec<i64> = server
            .texts("SELECT CAST(id AS TEXT) FROM messages ORDER BY id")
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        for (id, index, want, ctype) in [
            (ids[0], 0, &pdf[..], "application/pdf"),
            (ids[0], 1, &png[..], "image/png"),
            (ids[1], 0, &b"short"[..], "text/plain"),
            (ids[1], 1, &big[..], "application/octet-stream"),
        ] {
            let (code, head, body) = get_bytes(http, &format!("/v1/messages/{id}/attachments/{index}"), &own);
            assert_eq!(code, 200, "{head}");
            assert!(head.to_ascii_lowercase().contains(&format!("content-type: {ctype}")), "{head}");
            assert!(head.contains("attachment; filename="), "{head}");
            assert!(body == want, "message {id} attachment {index}: {} bytes, wanted {}", body.len(), want.len());
        }
        assert_eq!(call(http, "GET", &format!("/v1/messages/{}/attachments/2", ids[0]), &own, None).0, 404);
        let other = server.create_account("Other");
        let other_key = key(&server, Some(other.id));
        assert_eq!(call(http, "GET", &format!("/v1/messages/{}/attachments/0", ids[0]), &other_key, None).0, 404);

        // Conversations by kind and by activity.
        let bounce = "From: MAILER-DAEMON@mx.example\r\nTo: x\r\nSubject: Undelivered Mail Returned to Sender\r\n\
            Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n\
            --R\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; ann@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--R--\r\n";
        server.send("", &[&acme.address], bounce);
        let path = format!("/v1/accounts/{}/conversations", acme.id);
        let (_, all) = call(http, "GET", &path, &own, None);
        let (_, messages) = call(http, "GET", &format!("{path}?kind=message"), &own, None);
        assert_eq!(messages["data"].as_array().unwrap().len(), 2, "{messages}");
        assert!(all["data"].as_array().unwrap().len() >= 2);
        let (_, future) = call(http, "GET", &format!("{path}?since=2999-01-01T00:00:00Z"), &own, None);
        assert_eq!(future["data"], json!([]));
        let (_, past) = call(http, "GET", &format!("{path}?since=2000-01-01T00:00:00Z&kind=message"), &own, None);
        assert_eq!(past["data"], messages["data"]);
        let (code, body) = call(http, "GET", &format!("{path}?kind=junk"), &own, None);
        assert_eq!((code, body["error"]["code"].as_str()), (400, Some("bad_kind")));
        let (code, body) = call(http, "GET", &format!("{path}?since=yesterday"), &own, None);
        assert_eq!((code, body["error"]["code"].as_str()), (400, Some("bad_since")));
    }
}
