//! The writes of `/v1/accounts`: what `inboxd accounts`, `reply-address` and `register-sent` do,
//! over HTTP. Creating an account and changing one's life (disable, enable, rotate-address,
//! dmarc) take the platform's key (an account key hears 403); an account key manages its own
//! account's members, reply addresses and sent messages.

use super::{ApiError, ApiState, Key, Page, PlatformKey, doc, error, not_found, paged, refused, with};
use crate::mail::{DmarcAction, TokenOrigin, normalize_email};
use crate::store::accounts::{self, Account};
use crate::store::{members, sent};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/accounts", post(create))
        .route("/v1/accounts/{id}/disable", post(disable))
        .route("/v1/accounts/{id}/enable", post(enable))
        .route("/v1/accounts/{id}/rotate-address", post(rotate_address))
        .route("/v1/accounts/{id}/dmarc", post(dmarc))
        .route("/v1/accounts/{id}/members", get(members).post(add_member))
        .route("/v1/accounts/{id}/members/{email}", delete(remove_member))
        .route("/v1/accounts/{id}/reply-addresses", post(mint_reply_address))
        .route("/v1/accounts/{id}/sent", post(register_sent))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAccount {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: String,
    /// One of `server.domains` (default: the first).
    domain: Option<String>,
}

/// `POST /v1/accounts {"name", "domain"?}`: 201 with the account and its unique address.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = NewAccount,
    responses((status = 201, description = "The new account with its unique address", body = Account), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn create(
    State(state): State<ApiState>,
    _: PlatformKey,
    Json(body): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.len() > 200 {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_name",
            "name is 1 to 200 characters",
        ));
    }
    let domain = our_domain(&state, body.domain)?;
    let account = with(&state.db, move |c| {
        Box::pin(async move { accounts::create(c, &name, &domain).await })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// The account after a platform-only change, or 404.
fn changed(found: Option<Account>) -> Result<Json<Account>, ApiError> {
    found.map(Json).ok_or_else(|| not_found("no such account"))
}

#[utoipa::path(post, path = "/v1/accounts/{id}/disable", tag = "accounts", params(("id" = i64, Path, description = "The account")),
    responses((status = 200, description = "The account, refusing mail", body = Account), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn disable(
    State(state): State<ApiState>,
    _: PlatformKey,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    let found = with(&state.db, move |c| Box::pin(accounts::set_enabled(c, id, false))).await?;
    changed(found)
}

#[utoipa::path(post, path = "/v1/accounts/{id}/enable", tag = "accounts", params(("id" = i64, Path, description = "The account")),
    responses((status = 200, description = "The account, taking mail", body = Account), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn enable(
    State(state): State<ApiState>,
    _: PlatformKey,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    let found = with(&state.db, move |c| Box::pin(accounts::set_enabled(c, id, true))).await?;
    changed(found)
}

/// A new unique address; the old one is retired and stops routing.
#[utoipa::path(post, path = "/v1/accounts/{id}/rotate-address", tag = "accounts", params(("id" = i64, Path, description = "The account")),
    responses((status = 200, description = "The account with its new address", body = Account), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn rotate_address(
    State(state): State<ApiState>,
    _: PlatformKey,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    let found = with(&state.db, move |c| Box::pin(accounts::rotate_address(c, id))).await?;
    changed(found)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Dmarc {
    /// `reject`, `accept`, or `default` (the server's `auth.dmarc_reject`).
    #[schema(pattern = "^(reject|accept|default)$")]
    action: String,
}

#[utoipa::path(post, path = "/v1/accounts/{id}/dmarc", tag = "accounts", params(("id" = i64, Path, description = "The account")), request_body = Dmarc,
    responses((status = 200, description = "The account", body = Account), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn dmarc(
    State(state): State<ApiState>,
    _: PlatformKey,
    Path(id): Path<i64>,
    Json(body): Json<Dmarc>,
) -> Result<Json<Account>, ApiError> {
    let action = match body.action.as_str() {
        "reject" => Some(DmarcAction::Reject),
        "accept" => Some(DmarcAction::Accept),
        "default" => None,
        _ => {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_action",
                "action is reject, accept or default",
            ));
        }
    };
    let found = with(&state.db, move |c| Box::pin(accounts::set_dmarc_reject(c, id, action))).await?;
    changed(found)
}

#[utoipa::path(get, path = "/v1/accounts/{id}/members", tag = "accounts", params(("id" = i64, Path, description = "The account"), Page),
    responses((status = 200, description = "The agents' addresses, in address order", body = doc::Paged<String>), doc::Refusals))]
pub(super) async fn members(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
    Query(query): Query<Page>,
) -> Result<Json<doc::Paged<String>>, ApiError> {
    key.account(&state.db, id).await?;
    let page = query.page::<String>()?;
    Ok(paged(
        with(&state.db, move |c| {
            Box::pin(async move { members::list(c, id, &page).await })
        })
        .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Member {
    #[schema(format = Email)]
    email: String,
}

/// The domain asked for (default: the first of `server.domains`), if it is one of ours.
fn our_domain(state: &ApiState, asked: Option<String>) -> Result<String, ApiError> {
    let domain = asked.unwrap_or_else(|| state.domain.clone());
    if !state.replies.is_our_domain(&domain) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_domain",
            format!("`{domain}` is not one of the configured domains (server.domains)"),
        ));
    }
    Ok(domain)
}

/// An address to check as valid, or the 422 that says it is not one.
fn address(email: &str) -> Result<String, ApiError> {
    normalize_email(email).ok_or_else(|| {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_address",
            format!("`{email}` is not an address"),
        )
    })
}

/// Adds an agent's personal address (mail it forwards is read as forwarded): 201, or 200 when it
/// was there already.
#[utoipa::path(post, path = "/v1/accounts/{id}/members", tag = "accounts", params(("id" = i64, Path, description = "The account")), request_body = Member,
    responses((status = 201, description = "Added", body = MemberAdded), (status = 200, description = "It was there already", body = MemberAdded), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn add_member(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
    Json(body): Json<Member>,
) -> Result<(StatusCode, Json<MemberAdded>), ApiError> {
    key.account(&state.db, id).await?;
    let email = address(&body.email)?;
    let shown = email.clone();
    let added = with(&state.db, move |c| {
        Box::pin(async move { members::add(c, id, &email).await })
    })
    .await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(MemberAdded {
            account_id: id,
            email: shown,
        }),
    ))
}

#[utoipa::path(delete, path = "/v1/accounts/{id}/members/{email}", tag = "accounts", params(("id" = i64, Path, description = "The account"), ("email" = String, Path, description = "The agent's address")),
    responses((status = 204, description = "Removed"), doc::Refusals))]
pub(super) async fn remove_member(
    State(state): State<ApiState>,
    key: Key,
    Path((id, email)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    key.account(&state.db, id).await?;
    let removed = with(&state.db, move |c| {
        Box::pin(async move { members::remove(c, id, &email).await })
    })
    .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("no such member"))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReplyAddress {
    /// The contact the platform writes to.
    #[schema(format = Email)]
    contact: String,
    campaign_id: Option<String>,
    automation_id: Option<String>,
    /// One of `server.domains` (default: the first).
    domain: Option<String>,
}

/// Mints the signed reply address the platform puts in Reply-To: a reply to it lands in this
/// account's conversation with the contact, tagged with the campaign or automation.
#[utoipa::path(post, path = "/v1/accounts/{id}/reply-addresses", tag = "accounts", params(("id" = i64, Path, description = "The account")), request_body = ReplyAddress,
    responses((status = 201, description = "The signed reply address", body = Minted), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn mint_reply_address(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
    Json(body): Json<ReplyAddress>,
) -> Result<(StatusCode, Json<Minted>), ApiError> {
    key.account(&state.db, id).await?;
    address(&body.contact)?;
    let domain = our_domain(&state, body.domain)?;
    let origin = match (&body.campaign_id, &body.automation_id) {
        (Some(c), _) => TokenOrigin::Campaign(c.clone()),
        (None, Some(a)) => TokenOrigin::Automation(a.clone()),
        (None, None) => TokenOrigin::None,
    };
    let minted = state.replies.mint_reply_address(&domain, id, &body.contact, origin);
    Ok((
        StatusCode::CREATED,
        Json(Minted {
            address: minted,
            account_id: id,
            contact: body.contact,
            campaign_id: body.campaign_id,
            automation_id: body.automation_id,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Sent {
    #[schema(min_length = 1, max_length = 998)]
    message_id: String,
    #[schema(format = Email)]
    contact_email: String,
    campaign_id: Option<String>,
    automation_id: Option<String>,
    /// Addresses the message copied: a reply from one of them joins the contact's conversation.
    #[serde(default)]
    #[schema(max_items = 100)]
    cc: Vec<String>,
}

/// Records a message the platform sent, so a reply threading on its Message-ID finds the
/// contact's conversation.
#[utoipa::path(post, path = "/v1/accounts/{id}/sent", tag = "accounts", params(("id" = i64, Path, description = "The account")), request_body = Sent,
    responses((status = 201, description = "Recorded", body = SentRecorded), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn register_sent(
    State(state): State<ApiState>,
    key: Key,
    Path(id): Path<i64>,
    Json(body): Json<Sent>,
) -> Result<(StatusCode, Json<SentRecorded>), ApiError> {
    key.account(&state.db, id).await?;
    address(&body.contact_email)?;
    if body.cc.len() > 100 {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_cc",
            "cc names at most 100 addresses",
        ));
    }
    for copied in &body.cc {
        address(copied)?;
    }
    let message_id = body.message_id.trim().trim_matches(['<', '>']).trim().to_string();
    if message_id.is_empty() || message_id.len() > 998 {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_message_id",
            "message_id is the Message-ID the platform sent (1 to 998 characters)",
        ));
    }
    let shown = message_id.clone();
    with(&state.db, move |c| {
        Box::pin(async move {
            sent::register(
                c,
                id,
                &message_id,
                &body.contact_email,
                body.campaign_id.as_deref(),
                body.automation_id.as_deref(),
                &body.cc,
            )
            .await
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(SentRecorded {
            registered: true,
            account_id: id,
            message_id: shown,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MemberAdded {
    account_id: i64,
    email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Minted {
    address: String,
    account_id: i64,
    contact: String,
    campaign_id: Option<String>,
    automation_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SentRecorded {
    registered: bool,
    account_id: i64,
    message_id: String,
}
