//! The web inbox in a real browser: a real `inboxd serve` (SQLite, a real rspamd for the
//! quarantine) with its HTTP door on loopback, and Debian's headless chromium driven by
//! playwright-core (`tests/web/e2e.cjs`; `scripts/test.sh` installs chromium and the npm package under
//! `target/web-test`, and this test does so too when they are missing). Screenshots of each page
//! land in `target/web-screenshots/` (the test's artifacts). Also, without a browser: what every
//! page is sent with, and that nothing under `/inbox` but the sign-in form answers without a session.

mod common;

use common::rspamd::{GTUBE_ADD_HEADER, GTUBE_REJECT, Rspamd};
use common::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLAYWRIGHT: &str = "playwright-core@1.65.1";

/// Where playwright-core is (installed from npm on first use).
fn node_modules() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-test");
    let modules = dir.join("node_modules");
    if !modules.join("playwright-core").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new(tools::require("npm"))
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(PLAYWRIGHT)
            .status()
            .expect("npm starts");
        assert!(status.success(), "npm install {PLAYWRIGHT}");
    }
    modules
}

fn chromium() -> PathBuf {
    tools::require("chromium")
}

/// A GET, with the session cookie when given: the status, the head and the body.
fn get(http: SocketAddr, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    let answer = http::request(http, "GET", path, &headers, "");
    (answer.code, answer.head, answer.body)
}

#[test]
fn the_web_inbox_in_a_real_browser() {
    // What the browser run needs, before anything starts.
    let (node, chromium, node_modules) = (tools::require("node"), chromium(), node_modules());
    let rspamd = Rspamd::start();
    let server = builder()
        .set("spam.rspamd_url", rspamd.url())
        .set("http.listen", "127.0.0.1:0")
        .start();
    let http = server.http_addr.unwrap();
    let (acme, other) = (server.create_account("Acme"), server.create_account("Other"));
    let (platform, acme_key) = (server.api_key("web", None).1, server.api_key("web", Some(acme.id)).1);

    // A forwarding confirmation, a quarantined message, a subject with markup, a refused spam.
    let confirmation = message(
        &[
            ("From", "Gmail Team <forwarding-noreply@google.com>"),
            ("To", &acme.address),
            (
                "Subject",
                "(#468201937) Gmail Forwarding Confirmation - Receive Mail from agent.smith@gmail.com",
            ),
        ],
        "agent.smith@gmail.com has requested to automatically forward mail to your email\r\naddress x@inbox.localhost.\r\nConfirmation code: 468201937\r\n\r\nTo allow agent.smith@gmail.com to automatically forward mail to your address,\r\nplease click the link below to confirm the request:\r\n\r\nhttps://mail-settings.google.com/mail/vf-%5BANGjdJ9abc%5D-xyz\r\n",
    );
    server
        .send("bounce@google.com", &[&acme.address], &confirmation)
        .expect(250, "2.0.0");
    let held = message(
        &[
            ("From", "Billing <billing@vendor.example>"),
            ("To", &acme.address),
            ("Subject", "Your invoice is overdue"),
        ],
        GTUBE_ADD_HEADER,
    );
    server
        .send("billing@vendor.example", &[&acme.address], &held)
        .expect(250, "2.0.0");
    let held_id = server.json(&["quarantine", "list", "--account", &acme.id.to_string()])[0]["id"]
        .as_i64()
        .unwrap();
    let markup = "<script>alert(1)</script> <b>bold</b> offer";
    let marked = message(
        &[
            ("From", "Mallory <mallory@evil.example>"),
            ("To", &acme.address),
            ("Subject", markup),
        ],
        "<img src=x onerror=alert(2)> hello",
    );
    server
        .send("mallory@evil.example", &[&acme.address], &marked)
        .expect(250, "2.0.0");
    let refused = message(&[("From", "x@spam.example"), ("Subject", "Cheap")], GTUBE_REJECT);
    assert_eq!(server.send("x@spam.example", &[&acme.address], &refused).code, 550);

    // Without a browser: nothing under /inbox answers without a session but the sign-in form.
    for path in [
        "/inbox",
        "/inbox/accounts",
        "/inbox/assets/app.js",
        "/inbox/activity",
        "/inbox/conversations/1",
    ] {
        let (code, head, _) = get(http, path, None);
        assert_eq!(code, 303, "{path}: {head}");
        assert!(head.to_lowercase().contains("location: /inbox/sign-in"), "{head}");
    }
    let (code, head, body) = get(http, "/inbox/sign-in", None);
    assert_eq!(code, 200);
    let head = head.to_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'; style-src 'sha256-"),
        "{head}"
    );
    assert!(
        head.contains("frame-ancestors 'none'") && head.contains("x-content-type-options: nosniff"),
        "{head}"
    );
    assert!(
        body.contains("<form method=\"post\" action=\"/inbox/sign-in\">"),
        "{body}"
    );

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let smtp = server.addr;
    let out = Command::new(node)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/e2e.cjs"))
        .env("NODE_PATH", node_modules)
        .env("BASE", format!("http://{http}"))
        .env("SMTP", smtp.to_string())
        .env("CHROMIUM", chromium)
        .env("SHOTS", &shots)
        .env("PLATFORM_KEY", &platform)
        .env("ACME_KEY", &acme_key)
        .env("ACME_ID", acme.id.to_string())
        .env("ACME_ADDRESS", &acme.address)
        .env("OTHER_ID", other.id.to_string())
        .env("HELD_ID", held_id.to_string())
        .env("MARKUP_SUBJECT", markup)
        .output()
        .expect("node starts");
    let said = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser run failed:\n{said}\n{err}");
    assert!(said.contains("all ok"), "{said}");

    // What the browser did is in the store: the released message made its contact then.
    let contacts: Vec<String> = server
        .contacts(acme.id)
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect();
    assert!(contacts.contains(&"billing@vendor.example".to_string()), "{contacts:?}");
    assert!(contacts.contains(&"dana@customer.example".to_string()), "{contacts:?}");
    assert_eq!(server.count("SELECT count(*) FROM messages WHERE kind = 'spam'"), 0);
    assert_eq!(
        server.count("SELECT count(*) FROM web_sessions"),
        1,
        "the signed-out session is gone; the account key's lives"
    );
    for page in [
        "sign-in",
        "accounts",
        "inbox",
        "conversation",
        "contact",
        "quarantine",
        "activity",
        "inbox-360-dark",
    ] {
        let file = shots.join(format!("{page}.png"));
        assert!(
            std::fs::metadata(&file).is_ok_and(|m| m.len() > 1000),
            "{}",
            file.display()
        );
    }
}

/// Signs in over plain HTTP (the form post a browser makes); the session cookie's `name=value`.
fn sign_in(http: SocketAddr, key: &str) -> String {
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let answer = http::request(http, "POST", "/inbox/sign-in", &form, &format!("key={key}"));
    assert_eq!(answer.code, 303, "{}", answer.head);
    let line = answer
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no session cookie: {}", answer.head));
    assert!(line.starts_with("inboxd_session="), "{line}");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict") && !line.contains("Secure"),
        "{line}"
    );
    line.split(';').next().unwrap().to_string()
}

#[test]
fn the_inbox_pages_by_cursor_and_serves_bodies_and_attachments_safely() {
    let server = builder().set("http.listen", "127.0.0.1:0").start();
    let http = server.http_addr.unwrap();
    let acme = server.create_account("Acme");
    let (key_id, key) = server.api_key("web", Some(acme.id));
    let mut c = server.connect();
    c.ehlo();
    for n in 0..55 {
        let from = format!("customer{n}@example.org");
        let m = message(&[("From", &from), ("Subject", &format!("Question {n}"))], "Hello");
        c.transaction(&from, &[&acme.address], m.as_bytes())
            .expect(250, "2.0.0");
    }
    let html = "From: Ann <ann@customer.example>\r\nSubject: Styled\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n\
        <p>Hi <script>alert(1)</script></p>\r\n--B\r\nContent-Type: text/csv; name=\"a.csv\"\r\n\
        Content-Disposition: attachment; filename=\"a.csv\"\r\n\r\n1,2\r\n--B--\r\n";
    c.transaction("ann@customer.example", &[&acme.address], html.as_bytes())
        .expect(250, "2.0.0");
    c.quit();
    let cookie = sign_in(http, &key);

    // 56 conversations: a page of 50, then 6 after the cursor of the last one shown.
    let (code, _, first) = get(http, &format!("/inbox/accounts/{}", acme.id), Some(&cookie));
    assert_eq!(code, 200);
    assert_eq!(first.matches("href=\"/inbox/conversations/").count(), 50);
    let next = first
        .split("href=\"")
        .find(|s| s.contains("cursor="))
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .expect("a link to the next page");
    let (code, _, second) = get(http, &next, Some(&cookie));
    assert_eq!(code, 200);
    assert_eq!(second.matches("href=\"/inbox/conversations/").count(), 6);
    assert!(
        second.contains("Question 0") && !second.contains("rel=\"next\""),
        "the oldest, and no further page"
    );
    let (code, _, searched) = get(
        http,
        &format!("/inbox/accounts/{}?q=customer54", acme.id),
        Some(&cookie),
    );
    assert_eq!(code, 200);
    assert_eq!(searched.matches("href=\"/inbox/conversations/").count(), 1);

    // The HTML body: only in a sandboxed iframe, served under a sandboxing policy of its own.
    let id = server.count("SELECT id FROM messages WHERE subject = 'Styled'");
    let conversation = server.count("SELECT conversation_id FROM messages WHERE subject = 'Styled'");
    let (_, _, page) = get(http, &format!("/inbox/conversations/{conversation}"), Some(&cookie));
    assert!(page.contains("<iframe class=\"html-body\" sandbox=\"\""), "{page}");
    assert!(!page.contains("<script>alert"), "the body is never part of the page");
    let (code, head, body) = get(http, &format!("/inbox/messages/{id}/html"), Some(&cookie));
    assert_eq!(code, 200);
    assert!(
        head.to_lowercase()
            .contains("content-security-policy: sandbox; default-src 'none'"),
        "{head}"
    );
    assert!(body.contains("<p>Hi"), "{body}");
    // The attachment: a download.
    let (code, head, body) = get(http, &format!("/inbox/messages/{id}/attachments/0"), Some(&cookie));
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("attachment; filename=\"a.csv\""), "{head}");
    assert_eq!(body.trim(), "1,2");
    // Another key's session sees none of it.
    let other = server.create_account("Other");
    let (_, other_key) = server.api_key("o", Some(other.id));
    let theirs = sign_in(http, &other_key);
    for path in [
        format!("/inbox/messages/{id}/html"),
        format!("/inbox/messages/{id}/attachments/0"),
        format!("/inbox/messages/{id}/raw"),
        format!("/inbox/conversations/{conversation}"),
    ] {
        assert_eq!(get(http, &path, Some(&theirs)).0, 404, "{path}");
    }
    // A revoked key ends its sessions at once.
    assert!(
        server
            .cli(&["api-keys", "revoke", &key_id.to_string()])
            .status
            .success()
    );
    assert_eq!(get(http, &format!("/inbox/accounts/{}", acme.id), Some(&cookie)).0, 303);
}

#[test]
fn the_conversation_page_lists_its_participants_and_a_merged_one_leads_to_its_target() {
    let server = builder().set("http.listen", "127.0.0.1:0").start();
    let http = server.http_addr.unwrap();
    let acme = server.create_account("Acme");
    let (_, key) = server.api_key("web", Some(acme.id));
    let first = message(
        &[
            ("From", "Alice <alice@customer.example>"),
            ("Cc", "Bob <bob@customer.example>"),
            ("Subject", "Order"),
            ("Message-ID", "<w1@customer.example>"),
        ],
        "Where is it?",
    );
    server
        .send("alice@customer.example", &[&acme.address], &first)
        .expect(250, "2.0.0");
    let other = message(&[("From", "carol@customer.example"), ("Subject", "Other")], "Hi");
    server
        .send("carol@customer.example", &[&acme.address], &other)
        .expect(250, "2.0.0");
    let list = server.conversations(acme.id);
    let id_of = |who: &str| {
        list.iter().find(|c| c["contact_email"] == who).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (alices, carols) = (id_of("alice@customer.example"), id_of("carol@customer.example"));
    let cookie = sign_in(http, &key);
    let (code, _, page) = get(http, &format!("/inbox/conversations/{alices}"), Some(&cookie));
    assert_eq!(code, 200);
    let participants = page
        .split("aria-label=\"Participants\"")
        .nth(1)
        .expect("a participants list");
    assert!(participants.contains("alice@customer.example"), "{page}");
    assert!(
        participants.contains("bob@customer.example") && participants.contains(">cc<"),
        "{page}"
    );
    server.json(&[
        "conversations",
        "merge",
        &carols.to_string(),
        "--into",
        &alices.to_string(),
    ]);
    let (code, head, _) = get(http, &format!("/inbox/conversations/{carols}"), Some(&cookie));
    assert!((300..400).contains(&code), "{head}");
    assert!(
        head.to_lowercase()
            .contains(&format!("location: /inbox/conversations/{alices}")),
        "{head}"
    );
}
