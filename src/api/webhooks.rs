//! `/v1/webhooks`: the endpoints events are posted to, their deliveries, and replays, as the CLI's
//! `inboxd webhooks` has them. A platform key sees every endpoint; an account key only its
//! account's, and what it adds is its account's.

use super::{ApiError, ApiState, Key, Page, doc, not_found, paged, refused, with};
use crate::store::keys::Scope;
use crate::store::webhooks as outbox;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/webhooks", get(list).post(create))
        .route("/v1/webhooks/{id}", get(show).delete(remove))
        .route("/v1/webhooks/{id}/deliveries", get(deliveries))
        .route("/v1/webhooks/{id}/replay", post(replay))
}

/// The endpoint, if the key sees it (404 otherwise, as for one that does not exist).
async fn visible(state: &ApiState, Key(scope): Key, id: i64) -> Result<outbox::Endpoint, ApiError> {
    match with(&state.db, move |c| Box::pin(outbox::endpoint(c, id))).await? {
        Some(e) if e.account_id.is_some_and(|a| scope.sees(a)) || matches!(scope, Scope::Platform) => Ok(e),
        _ => Err(not_found("no such webhook endpoint")),
    }
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(Page),
    responses((status = 200, description = "The endpoints the key sees, without secrets", body = doc::Paged<outbox::Endpoint>), doc::Refusals))]
pub(super) async fn list(
    State(state): State<ApiState>,
    Key(scope): Key,
    Query(query): Query<Page>,
) -> Result<Json<doc::Paged<outbox::Endpoint>>, ApiError> {
    let account = match scope {
        Scope::Platform => None,
        Scope::Account(id) => Some(id),
    };
    let page = query.page::<i64>()?;
    Ok(paged(
        with(&state.db, move |c| {
            Box::pin(async move { outbox::endpoints(c, account, &page).await })
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path, description = "The endpoint")),
    responses((status = 200, description = "The endpoint", body = outbox::Endpoint), doc::Refusals))]
pub(super) async fn show(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
) -> Result<Json<outbox::Endpoint>, ApiError> {
    Ok(Json(visible(&state, key, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewEndpoint {
    /// An http or https URL (not on an internal address unless `[webhooks] allow_private`).
    #[schema(format = "uri")]
    url: String,
    account_id: Option<i64>,
    /// The event types it receives (default: all).
    #[schema(value_type = Option<Vec<EventType>>)]
    events: Option<Vec<String>>,
}

/// The event types of the log (`store::webhooks::EVENT_TYPES`), as the document names them.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) enum EventType {
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "message.quarantined")]
    MessageQuarantined,
    #[serde(rename = "contact.created")]
    ContactCreated,
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "conversation.merged")]
    ConversationMerged,
    #[serde(rename = "conversation.split")]
    ConversationSplit,
    #[serde(rename = "contact.bouncing")]
    ContactBouncing,
    #[serde(rename = "contact.deleted")]
    ContactDeleted,
    #[serde(rename = "contact.erased")]
    ContactErased,
    #[serde(rename = "conversation.deleted")]
    ConversationDeleted,
    #[serde(rename = "account.deleted")]
    AccountDeleted,
}

/// `POST /v1/webhooks {"url", "account_id"?, "events"?}`: 201 with the endpoint and its signing
/// `secret` (shown this once).
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    responses((status = 201, description = "The endpoint, with its signing `secret` (shown this once)", body = EndpointMade), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn create(
    State(state): State<ApiState>,
    Key(scope): Key,
    Json(body): Json<NewEndpoint>,
) -> Result<(StatusCode, Json<EndpointMade>), ApiError> {
    let account = match (scope, body.account_id) {
        (Scope::Platform, account) => account,
        (Scope::Account(own), None) => Some(own),
        (Scope::Account(own), Some(asked)) if asked == own => Some(own),
        (Scope::Account(_), Some(_)) => return Err(not_found("no such account")),
    };
    let allow_private = state.allow_private;
    let added = with(&state.db, move |c| {
        Box::pin(async move {
            crate::webhooks::add_endpoint(c, account, &body.url, body.events.as_deref(), allow_private).await
        })
    })
    .await?;
    match added {
        Ok((endpoint, secret)) => Ok((StatusCode::CREATED, Json(EndpointMade { endpoint, secret }))),
        Err(why) if why.starts_with("no account") => Err(not_found("no such account")),
        Err(why) => Err(refused(StatusCode::UNPROCESSABLE_ENTITY, "bad_endpoint", why)),
    }
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path, description = "The endpoint")),
    responses((status = 204, description = "Removed, with its deliveries"), doc::Refusals))]
pub(super) async fn remove(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    visible(&state, key, id).await?;
    with(&state.db, move |c| Box::pin(outbox::remove_endpoint(c, id))).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`.
    #[param(pattern = "^(pending|delivered|failed)$")]
    status: Option<String>,
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// An endpoint's deliveries, newest first: `?status=pending|delivered|failed`, paginated.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path, description = "The endpoint"), DeliveriesQuery),
    responses((status = 200, description = "Deliveries, newest first", body = doc::Paged<outbox::Delivery>), doc::Refusals))]
pub(super) async fn deliveries(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<doc::Paged<outbox::Delivery>>, ApiError> {
    visible(&state, key, id).await?;
    if let Some(s) = &query.status
        && !["pending", "delivered", "failed"].contains(&s.as_str())
    {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "bad_status",
            format!("unknown status `{s}` (pending, delivered, failed)"),
        ));
    }
    let page = Page {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page::<i64>()?;
    let status = query.status;
    Ok(paged(
        with(&state.db, move |c| {
            Box::pin(async move { outbox::deliveries(c, Some(id), status.as_deref(), &page).await })
        })
        .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Replay {
    /// An event id: every event after it is sent again.
    #[schema(minimum = 0)]
    since: i64,
}

/// `POST /v1/webhooks/{id}/replay {"since": EVENT_ID}`: every event after it is sent again (and
/// the endpoint enabled again).
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks", params(("id" = i64, Path, description = "The endpoint")), request_body = Replay,
    responses((status = 200, description = "How many deliveries are due again", body = Replayed), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn replay(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
    Json(body): Json<Replay>,
) -> Result<Json<Replayed>, ApiError> {
    visible(&state, key, id).await?;
    if body.since < 0 {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            "since is an event id (0 or more)".into(),
        ));
    }
    let again = with(&state.db, move |c| {
        Box::pin(outbox::replay(c, id, body.since, crate::time::unix_millis()))
    })
    .await?;
    Ok(Json(Replayed {
        endpoint_id: id,
        since: body.since,
        due_again: again,
    }))
}

/// An endpoint as added: its fields and its signing secret.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct EndpointMade {
    #[serde(flatten)]
    endpoint: outbox::Endpoint,
    /// `whsec_…`: verify each request's `webhook-signature` with it (Standard Webhooks).
    secret: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Replayed {
    endpoint_id: i64,
    since: i64,
    due_again: u64,
}
