//! The inbox application's door under `/v1`, over real HTTP: API keys, 401 and 404, pagination.

use super::*;

fn get(http: SocketAddr, path: &str, key: Option<&str>) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (code, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

fn create_key(server: &Server, name: &str, account: Option<i64>) -> (i64, String) {
    server.api_key(name, account)
}

on_both_backends! {
    fn api_keys_scope_what_a_request_sees(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.expect("http listener");
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let (_, platform) = create_key(&server, "platform", None);
        let (acme_key_id, acme_key) = create_key(&server, "acme app", Some(acme.id));

        // No key, a malformed header, an unknown key: 401 with a JSON error.
        for key in [None, Some("not-a-key"), Some("inboxd_0000")] {
            let (code, body) = get(http, "/v1/accounts", key);
            assert_eq!(code, 401, "{key:?}");
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        }
        // The platform key sees every account, a page at a time.
        let (code, page) = get(http, "/v1/accounts?limit=1", Some(&platform));
        assert_eq!(code, 200, "{page}");
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        assert_eq!(page["data"][0]["id"], acme.id);
        let cursor = page["next_cursor"].as_str().expect("a next page").to_string();
        let (_, next) = get(http, &format!("/v1/accounts?limit=1&cursor={cursor}"), Some(&platform));
        assert_eq!(next["data"][0]["id"], globex.id);
        assert_eq!(next["next_cursor"], serde_json::Value::Null);
        let (code, shown) = get(http, &format!("/v1/accounts/{}", globex.id), Some(&platform));
        assert_eq!((code, shown["address"].as_str()), (200, Some(globex.address.as_str())));
        // The same shape as the CLI's --json.
        let cli = server.json(&["accounts", "show", &globex.id.to_string()]);
        assert_eq!(shown, cli);
        // An account key sees its own account only; another's is 404, as a missing one is.
        let (_, own) = get(http, "/v1/accounts", Some(&acme_key));
        let ids: Vec<i64> = own["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![acme.id]);
        let (code, body) = get(http, &format!("/v1/accounts/{}", globex.id), Some(&acme_key));
        assert_eq!((code, body["error"]["code"].as_str()), (404, Some("not_found")));
        assert_eq!(get(http, "/v1/accounts/999", Some(&acme_key)).0, 404);
        assert_eq!(get(http, "/v1/accounts?limit=501", Some(&platform)).0, 400);
        // The secret is kept only as a hash, and a revoked key is refused at once.
        let stored: Vec<String> = server.texts("SELECT key_hash FROM api_keys");
        assert!(stored.iter().all(|h| h.len() == 64 && !h.contains("inboxd_")));
        let listed = server.json(&["api-keys", "list"]);
        assert!(listed.as_array().unwrap().iter().all(|k| k.get("secret").is_none()));
        assert!(
            server
                .cli(&["api-keys", "revoke", &acme_key_id.to_string()])
                .status
                .success()
        );
        assert_eq!(get(http, "/v1/accounts", Some(&acme_key)).0, 401);
    }
}

on_both_backends! {
    fn contacts_conversations_and_messages_are_read_in_the_cli_shapes(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.expect("http listener");
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let (_, acme_key) = create_key(&server, "acme app", Some(acme.id));
        for (from, subject) in [("jane@customer.example", "Order"), ("bob@customer.example", "Refund")] {
            server
                .send(
                    from,
                    &[&acme.address],
                    &message(&[("From", from), ("Subject", subject)], "Hello.\r\n"),
                )
                .expect(250, "2.0.0");
        }
        server
            .send(
                "eve@other.example",
                &[&globex.address],
                &message(&[("From", "eve@other.example")], "x\r\n"),
            )
            .expect(250, "2.0.0");
        let acme_id = acme.id.to_string();

        let (code, contacts) = get(
            http,
            &format!("/v1/accounts/{acme_id}/contacts?limit=1"),
            Some(&acme_key),
        );
        assert_eq!(code, 200, "{contacts}");
        assert_eq!(contacts["data"].as_array().unwrap().len(), 1);
        let cursor = contacts["next_cursor"].as_str().expect("a second page").to_string();
        let (_, rest) = get(
            http,
            &format!("/v1/accounts/{acme_id}/contacts?cursor={cursor}"),
            Some(&acme_key),
        );
        assert_eq!(rest["data"].as_array().unwrap().len(), 1);
        assert_eq!(rest["next_cursor"], serde_json::Value::Null);

        let (code, jane) = get(
            http,
            &format!("/v1/accounts/{acme_id}/contacts/jane@customer.example"),
            Some(&acme_key),
        );
        assert_eq!(code, 200);
        assert_eq!(
            jane,
            server.json(&["contacts", "show", "--account", &acme_id, "jane@customer.example"])
        );
        assert_eq!(jane["opt_in"], false);

        let (_, conversations) = get(
            http,
            &format!("/v1/accounts/{acme_id}/conversations?contact=jane@customer.example"),
            Some(&acme_key),
        );
        let list = conversations["data"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        let conversation_id = list[0]["id"].as_i64().unwrap();
        let (code, conversation) = get(http, &format!("/v1/conversations/{conversation_id}"), Some(&acme_key));
        assert_eq!(code, 200);
        assert_eq!(
            conversation,
            server.json(&["conversations", "show", &conversation_id.to_string()])
        );
        let message_id = conversation["messages"][0]["id"].as_i64().unwrap();
        let (code, m) = get(http, &format!("/v1/messages/{message_id}"), Some(&acme_key));
        assert_eq!((code, m["subject"].as_str()), (200, Some("Order")));
        assert_eq!(m, server.json(&["messages", "show", &message_id.to_string()]));

        // The raw bytes, as received.
        let mut s = TcpStream::connect(http).unwrap();
        s.write_all(format!("GET /v1/messages/{message_id}/raw HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {acme_key}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.to_ascii_lowercase().contains("content-type: message/rfc822"));
        assert!(out.contains("Subject: Order"));

        // Another account's conversation and message are 404 for this key, as a missing one is.
        let globex_conversation = server.conversations(globex.id)[0]["id"].as_i64().unwrap();
        assert_eq!(
            get(
                http,
                &format!("/v1/conversations/{globex_conversation}"),
                Some(&acme_key)
            )
            .0,
            404
        );
        assert_eq!(
            get(http, &format!("/v1/accounts/{}/contacts", globex.id), Some(&acme_key)).0,
            404
        );
        assert_eq!(get(http, "/v1/messages/999999", Some(&acme_key)).0, 404);
    }
}

#[test]
fn every_refusal_of_the_door_is_a_json_error() {
    let server = builder().set("http.listen", "127.0.0.1:0").start();
    let http = server.http_addr.expect("http listener");
    let (_, key) = create_key(&server, "platform", None);
    let send = |request: String| -> (u16, serde_json::Value) {
        let mut s = TcpStream::connect(http).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let code = out[9..12].parse().unwrap();
        let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        (code, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
    };
    let auth = format!("Authorization: Bearer {key}\r\nConnection: close\r\n");
    for (request, status, code) in [
        (
            format!("GET /v1/accounts/not-a-number HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            400,
            "bad_request",
        ),
        (
            format!("GET /v1/accounts?limit=many HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            400,
            "bad_request",
        ),
        (
            format!("DELETE /v1/accounts HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            405,
            "method_not_allowed",
        ),
        (
            format!("POST /v1/accounts HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 1000000\r\n\r\n"),
            413,
            "body_too_large",
        ),
    ] {
        let (got, body) = send(request.clone());
        assert_eq!(got, status, "{request:?}: {body}");
        assert_eq!(body["error"]["code"], code, "{request:?}: {body}");
        assert!(body["error"]["message"].is_string());
    }
    // The operator's probe keeps its plain text.
    let (code, _) = send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
    assert_eq!(code, 200);
}

on_both_backends! {
    fn events_are_followed_by_cursor_and_long_polled(backend: Backend) {
        let server = builder_on(backend).set("http.listen", "127.0.0.1:0").start();
        let http = server.http_addr.expect("http listener");
        let acme = server.create_account("Acme");
        let globex = server.create_account("Globex");
        let (_, platform) = create_key(&server, "platform", None);
        let (_, globex_key) = create_key(&server, "globex app", Some(globex.id));
        let mail = |subject: &str| {
            format!("From: Jane <jane@customer.example>\r\nSubject: {subject}\r\n\r\nhello\r\n")
        };
        assert_eq!(server.send("jane@customer.example", &[&acme.address], &mail("One")).code, 250);

        let (code, first) = get(http, "/v1/events", Some(&platform));
        assert_eq!(code, 200, "{first}");
        let types: Vec<&str> = first["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["contact.created", "conversation.created", "message.received"]);
        let cursor = first["next_cursor"].as_str().unwrap().to_string();
        assert_eq!(cursor, first["data"][2]["id"].to_string());
        // Nothing new: an empty page that keeps the cursor.
        let (code, empty) = get(http, &format!("/v1/events?since={cursor}"), Some(&platform));
        assert_eq!((code, empty["data"].as_array().unwrap().len()), (200, 0));
        assert_eq!(empty["next_cursor"], cursor.as_str());
        // An account's key sees only its account's events.
        let (_, theirs) = get(http, "/v1/events", Some(&globex_key));
        assert_eq!(theirs["data"].as_array().unwrap().len(), 0, "{theirs}");

        // A long poll answers as soon as an event is committed.
        let waiting = std::thread::spawn({
            let (platform, cursor) = (platform.clone(), cursor.clone());
            move || {
                let asked = Instant::now();
                let answer = get(http, &format!("/v1/events?since={cursor}&wait=20"), Some(&platform));
                (answer, asked.elapsed())
            }
        });
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(server.send("jane@customer.example", &[&acme.address], &mail("Two")).code, 250);
        let ((code, woken), waited) = waiting.join().unwrap();
        assert_eq!(code, 200, "{woken}");
        assert!(!woken["data"].as_array().unwrap().is_empty(), "{woken}");
        assert!(woken["data"][0]["id"].as_i64().unwrap() > cursor.parse::<i64>().unwrap());
        assert!(waited >= Duration::from_millis(600), "it waited for the event: {waited:?}");
        assert!(waited < Duration::from_secs(10), "it answered when the event came: {waited:?}");

        // Refusals are JSON errors.
        let (code, bad) = get(http, "/v1/events?wait=61", Some(&platform));
        assert_eq!((code, bad["error"]["code"].as_str()), (400, Some("bad_wait")));
        let (code, bad) = get(http, "/v1/events?since=abc", Some(&platform));
        assert_eq!((code, bad["error"]["code"].as_str()), (400, Some("bad_cursor")));
        let (code, _) = get(http, "/v1/events", None);
        assert_eq!(code, 401);
    }
}
