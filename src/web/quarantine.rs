//! The quarantine page of an account: held messages with their score and symbols, and the Release
//! and Delete buttons (posts with the session's CSRF token), made through `review` as the CLI's.

use super::layout::{page, short_time};
use super::session::{CsrfOnly, Signed};
use super::{PageError, WebState, account, with};
use crate::review::{Released, ReviewError};
use crate::store::{admin, read};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

/// The most held messages one page lists (newest first).
const SHOWN: i64 = 200;

/// `GET /inbox/accounts/{id}/quarantine`
pub async fn list(State(state): State<WebState>, signed: Signed, Path(id): Path<i64>) -> Result<Response, PageError> {
    let account = account(&state, signed.session.scope, id).await?;
    let held = with(&state.db, move |c| Box::pin(read::messages(c, id, Some("spam"), SHOWN))).await?;
    let csrf = &signed.session.csrf;
    let body = html! {
        p { a href={ "/inbox/accounts/" (id) } { "← Inbox" } }
        h1 { (account.name) ": quarantine" }
        p.muted { "Mail the spam filter held: no contact was made and no conversation joined. Release files a message as if it had just arrived." }
        @if held.is_empty() { p.card { "Nothing is held." } }
        ul.list #quarantine {
            @for m in &held {
                @let score = m.spam["score"].as_f64();
                @let symbols: Vec<&str> = m.spam["symbols"].as_array().map(|s| s.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
                li id={ "held-" (m.id) } {
                    div.row {
                        strong.grow { (m.subject.as_deref().unwrap_or("(no subject)")) }
                        span.muted { (short_time(&m.received_at)) }
                    }
                    div.row {
                        span.address { (m.from_email.as_deref().unwrap_or("unknown sender")) }
                        @if let Some(score) = score {
                            span.badge.spam { "score " (format!("{score:.1}")) " / " (format!("{:.1}", m.spam["required"].as_f64().unwrap_or(0.0))) }
                        }
                        span.muted { (m.spam["action"].as_str().unwrap_or("")) }
                    }
                    @if !symbols.is_empty() { div.preview { "Symbols: " (symbols.join(", ")) } }
                    div.row {
                        form.inline method="post" action={ "/inbox/messages/" (m.id) "/release" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button.primary type="submit" { "Release" }
                        }
                        form.inline method="post" action={ "/inbox/messages/" (m.id) "/delete" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button.danger type="submit" { "Delete" }
                        }
                        a href={ "/inbox/messages/" (m.id) "/raw" } { "Raw message" }
                    }
                }
            }
        }
    };
    Ok(page(&signed, &format!("{}: quarantine", account.name), body))
}

/// The quarantined message, when the session sees it.
async fn held(state: &WebState, signed: &Signed, id: i64) -> Result<read::Message, PageError> {
    let scope = signed.session.scope;
    with(&state.db, move |c| Box::pin(read::message(c, id)))
        .await?
        .filter(|m| scope.sees(m.account_id) && m.kind == "spam")
        .ok_or_else(PageError::not_found)
}

/// `POST /inbox/messages/{id}/release`: filed as new mail; on to its conversation.
pub async fn release(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    signed.check_csrf(&form.csrf)?;
    let m = held(&state, &signed, id).await?;
    let review = std::sync::Arc::clone(&state.review);
    let released = with(&state.db, move |c| {
        Box::pin(async move { Ok(review.release(c, id).await) })
    })
    .await?
    .map_err(|e| match e {
        ReviewError::NotFound | ReviewError::NotQuarantined => PageError::not_found(),
        other => PageError::unavailable(other),
    })?;
    let filed = match released {
        Released::Filed { message_id }
        | Released::AlreadyReleased {
            message_id: Some(message_id),
        } => message_id,
        Released::AlreadyReleased { message_id: None } => {
            return Ok(Redirect::to(&format!("/inbox/accounts/{}/quarantine", m.account_id)).into_response());
        }
    };
    let conversation = with(&state.db, move |c| Box::pin(read::message(c, filed)))
        .await?
        .and_then(|m| m.conversation_id);
    Ok(match conversation {
        Some(conversation) => Redirect::to(&format!("/inbox/conversations/{conversation}")).into_response(),
        None => Redirect::to(&format!("/inbox/accounts/{}", m.account_id)).into_response(),
    })
}

/// `POST /inbox/messages/{id}/delete`: gone for good; back to the quarantine.
pub async fn delete(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    signed.check_csrf(&form.csrf)?;
    let m = held(&state, &signed, id).await?;
    with(&state.db, move |c| Box::pin(admin::delete_message(c, id))).await?;
    Ok(Redirect::to(&format!("/inbox/accounts/{}/quarantine", m.account_id)).into_response())
}
