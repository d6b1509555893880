//! The door's OpenAPI 3.1 document, generated from the code: it names every route the server
//! answers, and schemathesis (PyPI), run against a live server with a key, finds every answer
//! conforming to it and no input that makes a 500.

use super::*;

/// Every route of the door, as the document must name it.
const ROUTES: &[&str] = &[
    "/v1/accounts",
    "/v1/accounts/{id}",
    "/v1/accounts/{id}/disable",
    "/v1/accounts/{id}/enable",
    "/v1/accounts/{id}/rotate-address",
    "/v1/accounts/{id}/dmarc",
    "/v1/accounts/{id}/members",
    "/v1/accounts/{id}/members/{email}",
    "/v1/accounts/{id}/reply-addresses",
    "/v1/accounts/{id}/sent",
    "/v1/accounts/{id}/contacts",
    "/v1/accounts/{id}/contacts/{email}",
    "/v1/accounts/{id}/conversations",
    "/v1/conversations/{id}",
    "/v1/conversations/{id}/messages",
    "/v1/conversations/{id}/merge",
    "/v1/messages/{id}/split",
    "/v1/messages/{id}",
    "/v1/messages/{id}/raw",
    "/v1/messages/{id}/attachments/{index}",
    "/v1/messages/{id}/release",
    "/v1/messages/{id}/mark-spam",
    "/v1/messages/{id}/mark-ham",
    "/v1/events",
    "/v1/accounts/{id}/contacts/{email}/export",
    "/v1/accounts/{id}/retention",
    "/v1/webhooks",
    "/v1/webhooks/{id}",
    "/v1/webhooks/{id}/deliveries",
    "/v1/webhooks/{id}/replay",
];

fn document(http: SocketAddr) -> serde_json::Value {
    let mut s = TcpStream::connect(http).unwrap();
    s.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap()
}

#[test]
fn the_openapi_document_names_every_route_and_schemathesis_finds_the_api_true_to_it() {
    let server = builder().set("http.listen", "127.0.0.1:0").start();
    let http = server.http_addr.unwrap();
    let doc = document(http);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for route in ROUTES {
        assert!(paths.contains(route), "{route} is missing from the document");
    }
    assert_eq!(paths.len(), ROUTES.len(), "{paths:?}");
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");

    // Data to find: an account with a conversation and a message with an attachment.
    let acme = server.create_account("Acme");
    let mail = "From: Ann <ann@customer.example>\r\nSubject: Hello\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nHi\r\n\
        --B\r\nContent-Type: text/csv; name=\"a.csv\"\r\nContent-Disposition: attachment; filename=\"a.csv\"\r\n\r\n1,2\r\n--B--\r\n";
    assert_eq!(server.send("ann@customer.example", &[&acme.address], mail).code, 250);
    let key = server.json(&["api-keys", "create", "schemathesis"])["secret"]
        .as_str()
        .unwrap()
        .to_string();

    let venv = common::python::venv();
    let out = Command::new(venv.join("bin/schemathesis"))
        .args(["run", &format!("http://{http}/v1/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["--checks", "all"])
        // A schema-valid cursor, domain or id that this server never gave is refused by design
        // (400/404/422), which that check counts against us; every other check runs.
        .args(["--exclude-checks", "positive_data_acceptance"])
        // Long polls hold requests for up to 60 s; tests/operations/api.rs follows them instead.
        .args(["--exclude-path", "/v1/events"])
        .args(["--max-examples", "10", "--seed", "7", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        // Its cache of found crashes goes with the server's folder, not into the source tree.
        .current_dir(server.dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let tail: Vec<&str> = said.lines().rev().take(40).collect();
    println!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    assert!(
        out.status.success(),
        "schemathesis found the API untrue to its document:\n{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("passed"), "{said}");
    assert!(
        server.logs().iter().all(|l| !l.contains("panicked")),
        "a handler panicked"
    );
}
