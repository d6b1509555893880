//! People's decisions over HTTP, as `inboxd quarantine release`, `quarantine delete` and
//! `messages mark-spam` / `mark-ham` make them: `POST /v1/messages/{id}/release`, `DELETE
//! /v1/messages/{id}` (quarantined messages only), `POST /v1/messages/{id}/mark-spam` and
//! `/mark-ham`. The key must see the message's account (404 otherwise).

use super::{ApiError, ApiState, Key, doc, error, not_found, with};
use crate::mail::Kind;
use crate::review::{Marked, Released, Review, ReviewError};
use crate::spam::Learned;
use crate::store::messages::{self, Message};
use crate::store::quarantine::{self, MarkedSpam};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Serialize;
use std::sync::Arc;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/messages/{id}/release", post(release))
        .route("/v1/messages/{id}/mark-spam", post(mark_spam))
        .route("/v1/messages/{id}/mark-ham", post(mark_ham))
}

/// What a decision did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// `released`, `already_released`, `moved_to_quarantine`, `already_quarantined` or `learned`.
    pub result: &'static str,
    /// The message filed by a release (or by the earlier release).
    pub message_id: Option<i64>,
    /// rspamd's answer: `learned`, `already_learned`, or null without a controller.
    pub learned: Option<&'static str>,
    /// The contact deleted because only this message had made it.
    pub contact_deleted: Option<i64>,
}

/// The key sees message `id`'s account, or 404.
async fn visible(state: &ApiState, Key(scope): Key, id: i64) -> Result<Message, ApiError> {
    match with(&state.db, move |c| Box::pin(messages::get(c, id))).await? {
        Some(message) if scope.sees(message.account_id) => Ok(message),
        _ => Err(not_found("no such message")),
    }
}

fn refusal(e: ReviewError) -> ApiError {
    match e {
        ReviewError::NotFound => not_found("no such message"),
        ReviewError::NotQuarantined => error(
            StatusCode::CONFLICT,
            "not_quarantined",
            "the message is not in the quarantine",
        ),
        ReviewError::Unreadable(why) => {
            tracing::error!(error = %why, "api: a quarantined message cannot be filed again");
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable",
                "the stored message cannot be filed again",
            )
        }
        ReviewError::Learn(why) => {
            tracing::warn!(error = %why, "api: rspamd did not learn");
            error(
                StatusCode::BAD_GATEWAY,
                "rspamd_unavailable",
                "rspamd's controller did not learn the message; nothing was changed",
            )
        }
        ReviewError::Store(e) => super::unavailable(e),
    }
}

/// Database work of a decision, with its own error.
async fn decide<T: Send + 'static>(
    state: &ApiState,
    work: impl for<'c> FnOnce(
        Arc<Review>,
        crate::store::sql::Conn<'c>,
    ) -> crate::store::BoxFuture<'c, Result<T, ReviewError>>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let review = Arc::clone(&state.review);
    let outcome = with(&state.db, move |c| Box::pin(async move { Ok(work(review, c).await) })).await?;
    outcome.map_err(refusal)
}

fn learned(l: Option<Learned>) -> Option<&'static str> {
    l.map(|l| match l {
        Learned::Learned => "learned",
        Learned::AlreadyLearned => "already_learned",
    })
}

fn released(r: Released, learned_as: Option<&'static str>) -> Decision {
    match r {
        Released::Filed { message_id } => Decision {
            result: "released",
            message_id: Some(message_id),
            learned: learned_as,
            contact_deleted: None,
        },
        Released::AlreadyReleased { message_id } => Decision {
            result: "already_released",
            message_id,
            learned: learned_as,
            contact_deleted: None,
        },
    }
}

#[utoipa::path(post, path = "/v1/messages/{id}/release", tag = "quarantine", params(("id" = i64, Path, description = "The quarantined message")),
    responses((status = 200, description = "Filed as new mail (once: a second release says `already_released`)", body = Decision), doc::Refusals))]
pub(super) async fn release(
    State(state): State<ApiState>,
    Key(scope): Key,
    Path(id): Path<i64>,
) -> Result<Json<Decision>, ApiError> {
    // A released message's row is gone: the key must then see the message it became.
    let account = with(&state.db, move |c| {
        Box::pin(async move {
            let id = match quarantine::released_as(c, id).await? {
                Some(new) => new,
                None => id,
            };
            messages::account_of(c, id).await
        })
    })
    .await?;
    if !account.is_some_and(|a| scope.sees(a)) {
        return Err(not_found("no such message"));
    }
    let done = decide(&state, move |review, c| {
        Box::pin(async move { review.release(c, id).await })
    })
    .await?;
    Ok(Json(released(done, None)))
}

#[utoipa::path(post, path = "/v1/messages/{id}/mark-spam", tag = "quarantine", params(("id" = i64, Path, description = "The message")),
    responses((status = 200, description = "rspamd taught; the message moved to the quarantine", body = Decision), doc::Refusals))]
pub(super) async fn mark_spam(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
) -> Result<Json<Decision>, ApiError> {
    mark(state, key, id, true).await
}

#[utoipa::path(post, path = "/v1/messages/{id}/mark-ham", tag = "quarantine", params(("id" = i64, Path, description = "The message")),
    responses((status = 200, description = "rspamd taught; a quarantined message released", body = Decision), doc::Refusals))]
pub(super) async fn mark_ham(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
) -> Result<Json<Decision>, ApiError> {
    mark(state, key, id, false).await
}

async fn mark(state: ApiState, key: Key, id: i64, spam: bool) -> Result<Json<Decision>, ApiError> {
    visible(&state, key, id).await?;
    let lesson = decide(&state, move |review, c| {
        Box::pin(async move { review.lesson(c, id).await })
    })
    .await?;
    let taught = state.review.teach(lesson, spam).await.map_err(refusal)?;
    let marked: Marked = decide(&state, move |review, c| {
        Box::pin(async move {
            if spam {
                review.mark_spam(c, id, taught).await
            } else {
                review.mark_ham(c, id, taught).await
            }
        })
    })
    .await?;
    let learned_as = learned(marked.learned);
    let decision = match (marked.moved, marked.released) {
        (Some(MarkedSpam::Moved { contact_deleted }), _) => Decision {
            result: "moved_to_quarantine",
            message_id: Some(id),
            learned: learned_as,
            contact_deleted,
        },
        (Some(_), _) => Decision {
            result: "already_quarantined",
            message_id: Some(id),
            learned: learned_as,
            contact_deleted: None,
        },
        (None, Some(r)) => released(r, learned_as),
        (None, None) => Decision {
            result: "learned",
            message_id: Some(id),
            learned: learned_as,
            contact_deleted: None,
        },
    };
    Ok(Json(decision))
}

#[utoipa::path(delete, path = "/v1/messages/{id}", tag = "quarantine", params(("id" = i64, Path, description = "The quarantined message")),
    responses((status = 204, description = "Deleted for good"), (status = 409, description = "Not in the quarantine (only quarantined mail is deleted)", body = doc::ErrorBody), doc::Refusals))]
pub(super) async fn delete_message(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let message = visible(&state, key, id).await?;
    if message.kind != Kind::Spam {
        return Err(refusal(ReviewError::NotQuarantined));
    }
    match with(&state.db, move |c| Box::pin(quarantine::delete(c, id))).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(refusal(ReviewError::NotQuarantined)),
    }
}
