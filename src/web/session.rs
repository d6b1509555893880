//! Signing in and out of the web inbox, and what every other page checks first: the session
//! cookie (`HttpOnly`, `SameSite=Strict`, `Secure` over TLS, scoped to `/inbox`), and on every
//! form post the session's CSRF token (compared in constant time).

use super::{PageError, WebState, layout, with};
use crate::store::sessions::{self, Session};
use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

pub const SESSION_COOKIE: &str = "inboxd_session";
/// A session lasts twelve hours.
const SESSION_SECS: i64 = 12 * 3600;

/// A request with a live session.
pub struct Signed {
    pub session: Session,
    pub token: String,
}

impl Signed {
    /// The form's CSRF token matches the session's, or the post is refused (403).
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        let (a, b) = (self.session.csrf.as_bytes(), sent.as_bytes());
        let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(PageError::forbidden(
                "This form was not sent from the inbox's own page (its CSRF token is missing or wrong). Reload the page and try again.",
            ))
        }
    }
}

/// The session cookie's value in a request, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

impl FromRequestParts<WebState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(Redirect::to("/inbox/sign-in").into_response());
        };
        let lookup = token.clone();
        let found = with(&state.db, move |c| {
            Box::pin(async move { sessions::find(c, &lookup).await })
        })
        .await
        .map_err(IntoResponse::into_response)?;
        match found {
            Some(session) => Ok(Signed { session, token }),
            None => Err(Redirect::to("/inbox/sign-in").into_response()),
        }
    }
}

fn cookie(token: &str, max_age: i64, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/inbox; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("inboxd_session=; Path=/inbox; Max-Age=0"))
}

/// `GET /inbox/sign-in`
pub async fn sign_in_page() -> Response {
    form(StatusCode::OK, None)
}

fn form(status: StatusCode, problem: Option<&str>) -> Response {
    let body = html! {
        section.signin {
            h1 { "Sign in to inboxd" }
            p { "Use an API key: a platform key shows every account, an account key that account. Create one with "
                code { "inboxd api-keys create NAME [--account ID]" } "." }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            form method="post" action="/inbox/sign-in" {
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="current-password" required autofocus;
                button type="submit" { "Sign in" }
            }
        }
    };
    layout::bare(status, "Sign in", body)
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    key: String,
}

/// `POST /inbox/sign-in`
pub async fn sign_in(State(state): State<WebState>, Form(input): Form<SignIn>) -> Response {
    let secret = input.key.trim().to_string();
    if secret.is_empty() || secret.len() > 200 {
        return form(StatusCode::UNAUTHORIZED, Some("That is not an API key."));
    }
    let signed = with(&state.db, move |c| {
        Box::pin(async move { sessions::sign_in(c, &secret, SESSION_SECS).await })
    })
    .await;
    match signed {
        Ok(Some((token, _))) => {
            let mut response = Redirect::to("/inbox").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(&token, SESSION_SECS, state.tls));
            response
        }
        Ok(None) => form(
            StatusCode::UNAUTHORIZED,
            Some("That key is not valid (wrong, or revoked)."),
        ),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /inbox/sign-out`
pub async fn sign_out(State(state): State<WebState>, signed: Signed, Form(input): Form<CsrfOnly>) -> Response {
    if let Err(refused) = signed.check_csrf(&input.csrf) {
        return refused.into_response();
    }
    let token = signed.token.clone();
    if let Err(e) = with(&state.db, move |c| {
        Box::pin(async move { sessions::sign_out(c, &token).await })
    })
    .await
    {
        return e.into_response();
    }
    let mut response = Redirect::to("/inbox/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, state.tls));
    response
}
