//! The frame every page shares (navigation, sign-out form, the inline stylesheet) and the headers
//! every page is sent with: a Content-Security-Policy that allows our own script file and exactly
//! our stylesheet (by its hash), no framing by others, no referrer, no sniffing, no caching.

use super::session::Signed;
use crate::store::keys::Scope;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::sync::OnceLock;

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// The page's Content-Security-Policy, with the inline stylesheet's hash.
fn policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        format!(
            "default-src 'none'; script-src 'self'; style-src 'sha256-{hash}'; img-src 'self' data:; \
             frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// `markup` as an HTML response with the page headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(policy()) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · inboxd" }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// A page of a signed-in person: the navigation, then `body`.
pub fn page(signed: &Signed, title: &str, body: Markup) -> Response {
    let session = &signed.session;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/inbox" { "inboxd" }
                    nav aria-label="Main" {
                        @match session.scope {
                            Scope::Platform => {
                                a href="/inbox/accounts" { "Accounts" }
                                a href="/inbox/activity" { "Activity" }
                            }
                            Scope::Account(id) => {
                                a href={ "/inbox/accounts/" (id) } { "Inbox" }
                                a href={ "/inbox/accounts/" (id) "/quarantine" } { "Quarantine" }
                            }
                        }
                    }
                    span.muted { "Key: " (session.key_name) }
                    form method="post" action="/inbox/sign-out" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main #main { (body) }
                script src="/inbox/assets/app.js" {}
            }
        }
    };
    respond(StatusCode::OK, markup)
}

/// A page outside a session (the sign-in form, errors).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main #main { (body) } }
        }
    };
    respond(status, markup)
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    bare(
        status,
        title,
        html! {
            section.card {
                h1 { (status.as_u16()) " " (title) }
                p { (message) }
                p { a href="/inbox" { "Back to the inbox" } }
            }
        },
    )
}

/// `GET /inbox/assets/app.js` (a session is needed, as for every page).
pub async fn script(_signed: Signed) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The badge of a message kind or flag.
pub fn badge(label: &str) -> Markup {
    let text = label.replace('_', "-");
    html! { span class={ "badge " (label) } { (text) } }
}

/// The time part of an RFC 3339 stamp, shortened for lists (`2026-12-01 14:03`).
pub fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replacen('T', " ", 1)
}
