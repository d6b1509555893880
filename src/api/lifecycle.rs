//! The data's life over HTTP, as `inboxd contacts erase`, `contacts export`, `accounts
//! set-retention` and `accounts delete` do it: `DELETE /v1/accounts/{id}/contacts/{email}`
//! (erasure; the platform's key or the account's), `GET /v1/accounts/{id}/contacts/{email}/export`
//! (a zip, streamed), `POST /v1/accounts/{id}/retention` and `DELETE /v1/accounts/{id}` (the
//! platform's key; a disabled account only).

use super::{ApiError, ApiState, Key, PlatformKey, doc, error, not_found, unavailable, with};
use crate::config::MAX_RETENTION_DAYS;
use crate::export::{self, ExportError};
use crate::store::account_deletion::{self, Refused};
use crate::store::accounts::{self, Account};
use crate::store::erasure::{self, Erased};
use crate::store::keys;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/accounts/{id}/contacts/{email}/export", get(export_contact))
        .route("/v1/accounts/{id}/retention", post(retention))
}

/// What `DELETE /v1/accounts/{id}/contacts/{email}` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErasedAnswer {
    pub erased: Erased,
}

/// Erases the contact and all of its mail (GDPR Art. 17): see `store::erasure`. The erasure log
/// names the API key that asked.
#[utoipa::path(delete, path = "/v1/accounts/{id}/contacts/{email}", tag = "contacts",
    params(("id" = i64, Path, description = "The account"), ("email" = String, Path, description = "The contact's address")),
    responses((status = 200, description = "What was erased", body = ErasedAnswer), doc::Refusals))]
pub(super) async fn erase_contact(
    State(state): State<ApiState>,
    key: Key,
    headers: HeaderMap,
    Path((id, email)): Path<(i64, String)>,
) -> Result<Json<ErasedAnswer>, ApiError> {
    key.account(&state.db, id).await?;
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let begun = with(&state.db, move |c| {
        Box::pin(async move {
            let name = keys::name_of(c, &secret).await?.unwrap_or_default();
            erasure::begin(c, id, &email, &format!("api:{name}")).await
        })
    })
    .await?;
    let Some(erasure_id) = begun else {
        return Err(not_found("no such contact"));
    };
    // Its own task: the erasure goes on to its end if the client goes away.
    let db = state.db.clone();
    let erased = tokio::spawn(async move { erasure::run(&db, erasure_id).await })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
    Ok(Json(ErasedAnswer { erased }))
}

/// A contact's data as one zip (`contact.json`, `messages/<id>.eml`), streamed.
#[utoipa::path(get, path = "/v1/accounts/{id}/contacts/{email}/export", tag = "contacts",
    params(("id" = i64, Path, description = "The account"), ("email" = String, Path, description = "The contact's address")),
    responses((status = 200, description = "The contact, its conversations and messages (contact.json) and each message as received (messages/<id>.eml)", content_type = "application/zip", body = Vec<u8>), doc::Refusals))]
pub(super) async fn export_contact(
    State(state): State<ApiState>,
    key: Key,
    Path((id, email)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    key.account(&state.db, id).await?;
    // An unnamed file: written whole (a zip's directory comes last), then read out a chunk at a
    // time; it goes with its last descriptor.
    let mut file = unnamed_file().map_err(unavailable)?;
    let written = export::contact(&state.db, id, &email, std::io::BufWriter::new(&mut file)).await;
    match written {
        Ok(_) => {}
        Err(ExportError::NoContact) => return Err(not_found("no such contact")),
        Err(ExportError::Store(e)) => return Err(unavailable(e)),
        Err(ExportError::Write(e)) => return Err(unavailable(e)),
    }
    file.seek(SeekFrom::Start(0)).map_err(unavailable)?;
    let length = file.metadata().map_err(unavailable)?.len();
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut chunk = vec![0u8; 256 * 1024];
            let n = file.read(&mut chunk)?;
            chunk.truncate(n);
            Ok::<_, std::io::Error>((chunk, file))
        })
        .await;
        match read {
            Ok(Ok((chunk, _))) if chunk.is_empty() => None,
            Ok(Ok((chunk, file))) => Some((Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    let name = format!("contact-{id}.zip");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// A file in the temporary folder whose name is gone at once (owner-only while it had one).
fn unnamed_file() -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(std::io::Error::other)?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = std::env::temp_dir().join(format!("inboxd-export-{name}"));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Retention {
    /// Days a conversation is kept after its last message (0 keeps forever); null for the
    /// server's `[retention] days`.
    #[schema(minimum = 0, maximum = 36500)]
    days: Option<i64>,
}

#[utoipa::path(post, path = "/v1/accounts/{id}/retention", tag = "accounts", params(("id" = i64, Path, description = "The account")), request_body = Retention,
    responses((status = 200, description = "The account", body = Account), doc::Refusals, doc::BodyRefusals))]
pub(super) async fn retention(
    State(state): State<ApiState>,
    _: PlatformKey,
    Path(id): Path<i64>,
    Json(body): Json<Retention>,
) -> Result<Json<Account>, ApiError> {
    if body
        .days
        .is_some_and(|d| !(0..=i64::from(MAX_RETENTION_DAYS)).contains(&d))
    {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_days",
            "days is 0 (keep forever) to 36500, or null for the server's default",
        ));
    }
    let days = body.days;
    with(&state.db, move |c| Box::pin(accounts::set_retention(c, id, days)))
        .await?
        .map(Json)
        .ok_or_else(|| not_found("no such account"))
}

/// What `DELETE /v1/accounts/{id}` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeletedAnswer {
    /// The account deleted.
    pub deleted: i64,
}

/// Deletes a disabled account and everything of it (see `store::account_deletion`).
#[utoipa::path(delete, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path, description = "The account")),
    responses((status = 200, description = "The account and all of its data are gone", body = DeletedAnswer),
        (status = 409, description = "The account is enabled: disable it first", body = doc::ErrorBody), doc::Refusals))]
pub(super) async fn delete_account(
    State(state): State<ApiState>,
    _: PlatformKey,
    Path(id): Path<i64>,
) -> Result<Json<DeletedAnswer>, ApiError> {
    // Its own task: the deletion goes on to its end if the client goes away.
    let db = state.db.clone();
    let deleted = tokio::spawn(async move { account_deletion::delete(&db, id).await })
        .await
        .map_err(unavailable)?;
    match deleted {
        Ok(()) => Ok(Json(DeletedAnswer { deleted: id })),
        Err(Refused::NotFound) => Err(not_found("no such account")),
        Err(Refused::Enabled) => Err(error(
            StatusCode::CONFLICT,
            "account_enabled",
            "the account is enabled: disable it first (POST /v1/accounts/{id}/disable)",
        )),
        Err(Refused::Store(e)) => Err(unavailable(e)),
    }
}
