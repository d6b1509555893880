//! The web inbox: server-rendered pages over the same store as the API, under `/inbox`, for the
//! people who run inboxd and the account owners who set up forwarding. A door beside `cli` and
//! `api`: it reads the store and makes people's decisions through `review`.
//!
//! A person signs in with an API key (`session`): a platform key sees every account, an account
//! key its own (another account's pages are 404, as missing ones). Every page but the sign-in form
//! needs the session cookie; every form carries the session's CSRF token. Pages are maud templates
//! compiled into the binary (every dynamic string escaped), with the stylesheet inline under a
//! hash-pinned Content-Security-Policy and one small script (`/inbox/assets/app.js`, behind the
//! session too). A message's HTML body is never part of a page: it is served on its own URL under
//! `Content-Security-Policy: sandbox`, into a sandboxed iframe.

mod activity;
mod inbox;
mod layout;
mod quarantine;
mod session;

use crate::review::Review;
use crate::store::Db;
use crate::store::keys::Scope;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::sync::Arc;

pub use session::SESSION_COOKIE;

/// What the pages need.
#[derive(Clone)]
pub struct WebState {
    pub db: Db,
    pub review: Arc<Review>,
    /// Served over TLS (`[http] tls`): the session cookie is then `Secure`.
    pub tls: bool,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/inbox", get(home))
        .route("/inbox/", get(home))
        .route("/inbox/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/inbox/sign-out", post(session::sign_out))
        .route("/inbox/assets/app.js", get(layout::script))
        .route("/inbox/accounts", get(inbox::accounts))
        .route("/inbox/accounts/{id}", get(inbox::unified))
        .route("/inbox/accounts/{id}/contacts/{email}", get(inbox::contact))
        .route("/inbox/accounts/{id}/quarantine", get(quarantine::list))
        .route("/inbox/conversations/{id}", get(inbox::conversation))
        .route("/inbox/messages/{id}/raw", get(inbox::raw))
        .route("/inbox/messages/{id}/html", get(inbox::html_body))
        .route("/inbox/messages/{id}/attachments/{index}", get(inbox::attachment))
        .route("/inbox/messages/{id}/release", post(quarantine::release))
        .route("/inbox/messages/{id}/delete", post(quarantine::delete))
        .route("/inbox/activity", get(activity::page))
}

/// `/inbox`: the accounts for a platform key, the account's inbox for an account key.
async fn home(signed: session::Signed) -> Response {
    match signed.session.scope {
        Scope::Platform => Redirect::to("/inbox/accounts").into_response(),
        Scope::Account(id) => Redirect::to(&format!("/inbox/accounts/{id}")).into_response(),
    }
}

/// A page that could not be shown: its status and a sentence, as a page.
pub(crate) struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    fn not_found() -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            message: "There is no such page, or it belongs to another account.".into(),
        }
    }

    fn unavailable(e: impl std::fmt::Display) -> PageError {
        tracing::error!(error = %e, "web inbox: database");
        PageError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "The database did not answer. Try again in a moment.".into(),
        }
    }

    fn forbidden(message: &str) -> PageError {
        PageError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }
}

impl From<crate::api::ApiError> for PageError {
    fn from(e: crate::api::ApiError) -> PageError {
        PageError {
            status: e.status(),
            message: e.message().to_string(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        layout::error_page(self.status, &self.message)
    }
}

/// The page's database work; a failure is a 503 page.
async fn with<T: Send + 'static>(
    db: &Db,
    work: impl for<'c> FnOnce(
        crate::store::sql::Conn<'c>,
    ) -> crate::store::BoxFuture<'c, Result<T, crate::store::StoreError>>
    + Send
    + 'static,
) -> Result<T, PageError> {
    db.run(work).await.map_err(PageError::unavailable)
}

/// 404 unless the session sees `account_id` and the account exists; the account.
async fn account(
    state: &WebState,
    scope: Scope,
    account_id: i64,
) -> Result<crate::store::accounts::Account, PageError> {
    if !scope.sees(account_id) {
        return Err(PageError::not_found());
    }
    with(&state.db, move |c| Box::pin(crate::store::accounts::get(c, account_id)))
        .await?
        .ok_or_else(PageError::not_found)
}
