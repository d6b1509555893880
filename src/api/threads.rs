//! The agent's threading tools over HTTP, as `inboxd conversations merge` and `inboxd messages
//! split` do them: `POST /v1/conversations/{id}/merge {"into": ID}` and `POST
//! /v1/messages/{id}/split`. Each is one transaction (`store::merge`); a refusal moves nothing.

use super::{ApiError, ApiState, Key, doc, refused, unavailable};
use crate::store::keys::Scope;
use crate::store::merge::{self, Merged, Refusal, Split};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/conversations/{id}/merge", post(merge_conversation))
        .route("/v1/messages/{id}/split", post(split_message))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MergeInto {
    /// The conversation that takes the messages (one that was itself merged is followed to where
    /// it went).
    into: i64,
}

/// The account a key narrows the tools to.
fn account_of(scope: Scope) -> Option<i64> {
    match scope {
        Scope::Platform => None,
        Scope::Account(own) => Some(own),
    }
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::NotFound(why) => refused(StatusCode::NOT_FOUND, "not_found", why),
        Refusal::Invalid(why) => refused(StatusCode::BAD_REQUEST, "invalid", why),
        Refusal::Conflict(why) => refused(StatusCode::CONFLICT, "conflict", why),
    }
}

/// Merges the conversation into another of the same account: its messages move, its participants
/// join, and its id answers with `merged_into` from then on; `conversation.merged` is sent.
#[utoipa::path(post, path = "/v1/conversations/{id}/merge", tag = "conversations", params(("id" = i64, Path, description = "The conversation to merge")),
    request_body = MergeInto,
    responses((status = 200, description = "Merged", body = Merged),
        (status = 409, description = "The conversation was merged already (the message says into which)", body = doc::ErrorBody),
        doc::Refusals, doc::BodyRefusals))]
pub(super) async fn merge_conversation(
    State(state): State<ApiState>,
    Key(scope): Key,
    Path(id): Path<i64>,
    Json(body): Json<MergeInto>,
) -> Result<Json<Merged>, ApiError> {
    let (account, index) = (account_of(scope), state.search_index);
    let done = state
        .db
        .transaction(move |c| Box::pin(async move { merge::merge(c, id, body.into, account, index).await }))
        .await
        .map_err(unavailable)?;
    done.map(Json).map_err(refusal)
}

/// Splits the message and the later ones of its sender in its conversation off into a new
/// conversation of that sender's; `conversation.split` is sent. Merging it back restores the
/// conversation.
#[utoipa::path(post, path = "/v1/messages/{id}/split", tag = "conversations", params(("id" = i64, Path, description = "The message to split at")),
    responses((status = 200, description = "Split", body = Split), doc::Refusals))]
pub(super) async fn split_message(
    State(state): State<ApiState>,
    Key(scope): Key,
    Path(id): Path<i64>,
) -> Result<Json<Split>, ApiError> {
    let (account, index) = (account_of(scope), state.search_index);
    let done = state
        .db
        .transaction(move |c| Box::pin(async move { merge::split(c, id, account, index).await }))
        .await
        .map_err(unavailable)?;
    done.map(Json).map_err(refusal)
}
