//! The quarantine page of an account: held messages with their score and symbols, and the Release
//! and Delete buttons (posts with the session's CSRF token), made through `review` as the CLI's.

use super::layout::{page, short_time};
use super::session::{CsrfOnly, Signed};
use super::{PageError, WebState, account, with};
use crate::mail::Kind;
use crate::review::{Released, ReviewError};
use crate::store::messages::{self, Message};
use crate::store::page::{Cursor, Page};
use crate::store::quarantine;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

/// Held messages on one page (newest first).
const SHOWN: usize = 50;

#[derive(serde::Deserialize, Default)]
pub struct QuarantineQuery {
    cursor: Option<String>,
}

/// `GET /inbox/accounts/{id}/quarantine`
pub async fn list(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
    Query(query): Query<QuarantineQuery>,
) -> Result<Response, PageError> {
    let account = account(&state, signed.session.scope, id).await?;
    let wanted = Page {
        after: query.cursor.as_deref().and_then(i64::decode),
        limit: SHOWN,
    };
    let paged = with(&state.db, move |c| {
        Box::pin(async move { messages::list(c, id, Some(Kind::Spam), &wanted).await })
    })
    .await?;
    let held = paged.items;
    let next = paged.next.map(|n| n.encode());
    let csrf = &signed.session.csrf;
    let body = html! {
        p { a href={ "/inbox/accounts/" (id) } { "← Inbox" } }
        h1 { (account.name) ": quarantine" }
        p.muted { "Mail the spam filter held: no contact was made and no conversation joined. Release files a message as if it had just arrived." }
        @if held.is_empty() { p.card { "Nothing is held." } }
        ul.list #quarantine {
            @for m in &held {
                @let score = m.spam.as_ref().map(|v| v.score);
                @let symbols: Vec<&str> = m.spam.as_ref().map(|v| v.symbols.iter().map(String::as_str).collect()).unwrap_or_default();
                li id={ "held-" (m.id) } {
                    div.row {
                        strong.grow { (m.subject.as_deref().unwrap_or("(no subject)")) }
                        span.muted { (short_time(&m.received_at)) }
                    }
                    div.row {
                        span.address { (m.from_email.as_deref().unwrap_or("unknown sender")) }
                        @if let Some(score) = score {
                            span.badge.spam { "score " (format!("{score:.1}")) " / " (format!("{:.1}", m.spam.as_ref().map_or(0.0, |v| v.required))) }
                        }
                        span.muted { (m.spam.as_ref().map_or("", |v| v.action.as_str())) }
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
        @if let Some(next) = &next {
            nav.pager aria-label="Pages" { a href={ "/inbox/accounts/" (id) "/quarantine?cursor=" (next) } rel="next" { "Older" } }
        }
    };
    Ok(page(&signed, &format!("{}: quarantine", account.name), body))
}

/// The quarantined message, when the session sees it.
async fn held(state: &WebState, signed: &Signed, id: i64) -> Result<Message, PageError> {
    let scope = signed.session.scope;
    with(&state.db, move |c| Box::pin(messages::get(c, id)))
        .await?
        .filter(|m| scope.sees(m.account_id) && m.kind == Kind::Spam)
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
    let conversation = with(&state.db, move |c| Box::pin(messages::get(c, filed)))
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
    with(&state.db, move |c| Box::pin(quarantine::delete(c, id))).await?;
    Ok(Redirect::to(&format!("/inbox/accounts/{}/quarantine", m.account_id)).into_response())
}
