//! The inbox application's REST door under `/v1`: JSON over the HTTP server of `http`, read from
//! the store, every request authenticated by an API key (`Authorization: Bearer <key>`).
//!
//! Rules: no key or an unknown or revoked one is `401`; a resource of an account the key does not
//! see is `404`, exactly as a missing one (existence is not leaked). Lists are cursor-paginated:
//! `limit` (default 50, at most 500) and `cursor`, answered `{"data": [...], "next_cursor": …}`.
//! SQLite work runs on the blocking pool, PostgreSQL's on the pool's connections; neither blocks
//! the async workers. Today: `/v1/accounts`,
//! `/v1/accounts/{id}`, its `contacts` (and one by address, with its conversations) and
//! `conversations` (filter `contact`), `/v1/conversations/{id}` (with its messages),
//! `/v1/messages/{id}` and its `raw` bytes (`message/rfc822`), and `/v1/events` (the event log after
//! a cursor, long-polled with `wait`: [`long_poll_routes`], outside the door's usual answer limit).

mod accounts;
mod doc;
mod review;
mod webhooks;

use crate::mail::Kind;
use crate::store::BoxFuture;
pub use crate::store::Db;
use crate::store::keys::{self, Scope};
use crate::store::sql::Conn;
use crate::store::{StoreError, read};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::time::Duration;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// Runs `work` on the store, a failure of the database answered 503.
pub(crate) async fn with<T: Send + 'static>(
    db: &Db,
    work: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
) -> Result<T, ApiError> {
    db.run(work).await.map_err(|e| {
        tracing::error!(error = %e, "api: database");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database did not answer; try again",
        )
    })
}

/// A refused request: its status and `{"error": {"code", "message"}}`, the one shape of every error
/// of the door.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: std::borrow::Cow<'static, str>,
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

pub fn error(status: StatusCode, code: &'static str, message: &'static str) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

/// An error whose sentence says what was wrong with this request's input.
pub fn refused(status: StatusCode, code: &'static str, message: String) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

/// The door's state: the store, and what the writes need besides it.
#[derive(Clone)]
pub struct ApiState {
    pub db: Db,
    /// `[webhooks] allow_private`: endpoints on internal addresses are accepted.
    pub allow_private: bool,
    /// Mints reply addresses (`POST /v1/accounts/{id}/reply-addresses`) with the server's key.
    pub replies: std::sync::Arc<crate::routing::Router>,
    /// The domain of new accounts and reply addresses when none is asked for (`server.domains[0]`).
    pub domain: String,
    /// People's decisions: release, mark spam, mark ham.
    pub review: std::sync::Arc<crate::review::Review>,
}

impl axum::extract::FromRef<ApiState> for Db {
    fn from_ref(state: &ApiState) -> Db {
        state.db.clone()
    }
}

pub fn routes() -> Router<ApiState> {
    Router::new()
        .merge(accounts::routes())
        .merge(webhooks::routes())
        .merge(review::routes())
        .route("/v1/openapi.json", get(doc::openapi))
        .route("/v1/accounts", get(list_accounts))
        .route("/v1/accounts/{id}", get(show_account))
        .route("/v1/accounts/{id}/contacts", get(list_contacts))
        .route("/v1/accounts/{id}/contacts/{email}", get(show_contact))
        .route("/v1/accounts/{id}/conversations", get(list_conversations))
        .route("/v1/conversations/{id}", get(show_conversation))
        .route("/v1/messages/{id}", get(show_message).delete(review::delete_message))
        .route("/v1/messages/{id}/raw", get(raw_message))
        .route("/v1/messages/{id}/attachments/{index}", get(attachment))
}

/// The longest `wait` of `GET /v1/events`.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often a waiting `GET /v1/events` looks for new events (they may come from any host).
const POLL_EVERY: Duration = Duration::from_millis(250);

/// The routes that may hold a request open up to [`MAX_WAIT`].
pub fn long_poll_routes() -> Router<ApiState> {
    Router::new().route("/v1/events", get(list_events))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// The cursor: the last event id seen (none for the start).
    since: Option<String>,
    /// Seconds to wait for a first event when there is none yet (0 to 60).
    #[param(minimum = 0, maximum = 60)]
    wait: Option<u64>,
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

/// `GET /v1/events?since=CURSOR&wait=SECS&limit=N`: the events after the cursor (an event id; none
/// for all), oldest first, only the key's account's for an account key. With `wait`, an empty answer
/// waits up to that many seconds for the first new one. `next_cursor` is always the cursor to pass
/// next (the last event's id, or the one given when nothing came). The ids follow commit order on
/// both backends, so a follower never skips an event (docs/SCHEMA.md).
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "Events after the cursor, oldest first; `next_cursor` is the one to pass next", body = doc::Paged<read::Event>), doc::Refusals))]
async fn list_events(
    State(db): State<Db>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(&db, &headers).await?;
    let since = Page {
        limit: query.limit,
        cursor: query.since,
    };
    let (limit, after) = (since.limit()? as i64, since.after()?);
    let wait = Duration::from_secs(query.wait.unwrap_or(0));
    if wait > MAX_WAIT {
        return Err(error(StatusCode::BAD_REQUEST, "bad_wait", "wait is 0 to 60 seconds"));
    }
    let account = match scope {
        Scope::Platform => None,
        Scope::Account(id) => Some(id),
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let events = with(&db, move |c| Box::pin(read::events(c, after, account, limit))).await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = events.last().map_or(after, |e| e.id);
            let body = serde_json::json!({"data": events, "next_cursor": next.to_string()});
            return Ok(Json(body).into_response());
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - tokio::time::Instant::now())).await;
    }
}

/// One page of `items` (in the order given) after the cursor: `{"data", "next_cursor"}`. The cursor
/// is the last item's key, so a page never repeats or skips an item that existed when it was read.
pub(crate) fn page<T: serde::Serialize>(
    items: Vec<T>,
    key: impl Fn(&T) -> i64,
    page: &Page,
) -> Result<Response, ApiError> {
    let (limit, after) = (page.limit()?, page.after()?);
    let mut rest = items.into_iter().skip_while(|item| after != 0 && key(item) != after);
    if after != 0 && rest.next().is_none() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            "the cursor is not one this server gave",
        ));
    }
    let mut data: Vec<T> = rest.take(limit + 1).collect();
    let more = data.len() > limit;
    data.truncate(limit);
    let next = if more {
        data.last().map(|item| key(item).to_string())
    } else {
        None
    };
    Ok(Json(serde_json::json!({"data": data, "next_cursor": next})).into_response())
}

/// The 404 of a resource the key does not see or that does not exist (the same answer for both).
pub(crate) fn not_found(what: &'static str) -> ApiError {
    error(StatusCode::NOT_FOUND, "not_found", what)
}

/// The key's scope, and that it sees `account_id` (404 otherwise).
pub(crate) async fn account_scope(db: &Db, headers: &HeaderMap, account_id: i64) -> Result<(), ApiError> {
    let scope = scope(db, headers).await?;
    if !scope.sees(account_id) {
        return Err(not_found("no such account"));
    }
    match with(db, move |c| Box::pin(read::account(c, account_id))).await? {
        Some(_) => Ok(()),
        None => Err(not_found("no such account")),
    }
}

#[utoipa::path(get, path = "/v1/accounts/{id}/contacts", tag = "contacts", params(("id" = i64, Path, description = "The account"), Page),
    responses((status = 200, description = "The account's contacts", body = doc::Paged<read::Contact>), doc::Refusals))]
async fn list_contacts(
    State(db): State<Db>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<Page>,
) -> Result<Response, ApiError> {
    account_scope(&db, &headers, id).await?;
    let contacts = with(&db, move |c| Box::pin(read::contacts(c, id))).await?;
    page(contacts, |c| c.id, &query)
}

#[utoipa::path(get, path = "/v1/accounts/{id}/contacts/{email}", tag = "contacts",
    params(("id" = i64, Path, description = "The account"), ("email" = String, Path, description = "The contact's address")),
    responses((status = 200, description = "The contact with its conversations", body = read::ContactDetail), doc::Refusals))]
async fn show_contact(
    State(db): State<Db>,
    headers: HeaderMap,
    Path((id, email)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    account_scope(&db, &headers, id).await?;
    match with(&db, move |c| {
        Box::pin(async move { read::contact_detail(c, id, &email).await })
    })
    .await?
    {
        Some(detail) => Ok(Json(detail).into_response()),
        None => Err(not_found("no such contact")),
    }
}

/// The conversation list's query: a contact filter and the page (serde's flatten does not mix
/// with query strings' numbers, so the page's fields are spelled out).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConversationQuery {
    /// Only this contact's (an address).
    contact: Option<String>,
    /// Only conversations holding a message of this kind.
    // The kinds of `mail::Kind::ALL` (a unit test keeps the two the same).
    #[param(pattern = "^(message|forward|auto_reply|bounce|feedback|system|bulk|spam)$")]
    kind: Option<String>,
    /// Only conversations active at or after this RFC 3339 time.
    #[param(format = DateTime)]
    since: Option<String>,
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/accounts/{id}/conversations", tag = "conversations",
    params(("id" = i64, Path, description = "The account"), ConversationQuery),
    responses((status = 200, description = "Conversations, newest activity first", body = doc::Paged<read::Conversation>), doc::Refusals))]
async fn list_conversations(
    State(db): State<Db>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<ConversationQuery>,
) -> Result<Response, ApiError> {
    account_scope(&db, &headers, id).await?;
    if let Some(kind) = &query.kind
        && !Kind::ALL.iter().any(|k| k.as_str() == kind)
    {
        let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "bad_kind",
            format!("unknown kind `{kind}` ({})", known.join(", ")),
        ));
    }
    let since = match &query.since {
        Some(text) => match mail_parser::DateTime::parse_rfc3339(text) {
            Some(t) => Some(crate::time::rfc3339(t.to_timestamp())),
            None => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "bad_since",
                    "since is an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
                ));
            }
        },
        None => None,
    };
    let (contact, kind) = (query.contact.clone(), query.kind.clone());
    let list = with(&db, move |c| {
        Box::pin(async move {
            let contact_id = match contact {
                Some(email) => match read::contact_by_email(c, id, &email).await? {
                    Some(contact) => Some(contact.id),
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            read::conversations_where(c, id, contact_id, kind.as_deref(), since.as_deref()).await
        })
    })
    .await?;
    let query_page = Page {
        limit: query.limit,
        cursor: query.cursor,
    };
    page(list, |c| c.id, &query_page)
}

#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "The conversation")),
    responses((status = 200, description = "The conversation with its messages, oldest first", body = read::ConversationDetail), doc::Refusals))]
async fn show_conversation(
    State(db): State<Db>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let scope = scope(&db, &headers).await?;
    match with(&db, move |c| Box::pin(read::conversation_detail(c, id))).await? {
        Some(detail) if scope.sees(detail.conversation.account_id) => Ok(Json(detail).into_response()),
        _ => Err(not_found("no such conversation")),
    }
}

#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = i64, Path, description = "The message")),
    responses((status = 200, description = "The message", body = read::Message), doc::Refusals))]
async fn show_message(State(db): State<Db>, headers: HeaderMap, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let scope = scope(&db, &headers).await?;
    match with(&db, move |c| Box::pin(read::message(c, id))).await? {
        Some(message) if scope.sees(message.account_id) => Ok(Json(message).into_response()),
        _ => Err(not_found("no such message")),
    }
}

#[utoipa::path(get, path = "/v1/messages/{id}/raw", tag = "messages", params(("id" = i64, Path, description = "The message")),
    responses((status = 200, description = "The message's bytes as received, after our Received header", content_type = "message/rfc822", body = Vec<u8>), doc::Refusals))]
async fn raw_message(State(db): State<Db>, headers: HeaderMap, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let scope = scope(&db, &headers).await?;
    let found = with(&db, move |c| {
        Box::pin(async move {
            match read::message(c, id).await? {
                Some(message) if scope.sees(message.account_id) => read::message_raw(c, id).await,
                _ => Ok(None),
            }
        })
    })
    .await?;
    match found {
        Some(raw) => Ok(([(header::CONTENT_TYPE, "message/rfc822")], raw).into_response()),
        None => Err(not_found("no such message")),
    }
}

/// `GET /v1/messages/{id}/attachments/{index}`: the attachment's decoded bytes, with its type, as a
/// download (`Content-Disposition: attachment`, never rendered by a browser on our origin).
#[utoipa::path(get, path = "/v1/messages/{id}/attachments/{index}", tag = "messages",
    params(("id" = i64, Path, description = "The message"), ("index" = usize, Path, description = "The attachment's place in the message's `attachments`")),
    responses((status = 200, description = "The attachment's decoded bytes, in its own content type, as a download", content_type = "application/octet-stream", body = Vec<u8>), doc::Refusals))]
async fn attachment(
    State(db): State<Db>,
    headers: HeaderMap,
    Path((id, index)): Path<(i64, usize)>,
) -> Result<Response, ApiError> {
    let scope = scope(&db, &headers).await?;
    attachment_download(&db, scope, id, index).await
}

/// Message `id`'s attachment `index` as a download, when `scope` sees the message (the API's and
/// the web inbox's).
pub(crate) async fn attachment_download(db: &Db, scope: Scope, id: i64, index: usize) -> Result<Response, ApiError> {
    let found = with(db, move |c| {
        Box::pin(async move {
            match read::message(c, id).await? {
                Some(message) if scope.sees(message.account_id) => {
                    Ok(read::message_raw(c, id).await?.map(|raw| (message.attachments, raw)))
                }
                _ => Ok(None),
            }
        })
    })
    .await?;
    let Some((listing, raw)) = found else {
        return Err(not_found("no such message"));
    };
    let list: Vec<crate::mail::Attachment> = serde_json::from_value(listing).unwrap_or_default();
    let Some(listed) = list.get(index).cloned() else {
        return Err(not_found("no such attachment"));
    };
    // Decoding a large message is CPU work: off the async workers.
    let bytes = tokio::task::spawn_blocking(move || crate::ingest::attachment::bytes(&raw, &list, index))
        .await
        .ok()
        .flatten();
    let Some(bytes) = bytes else {
        return Err(not_found("no such attachment"));
    };
    let name: String = listed
        .filename
        .unwrap_or_else(|| format!("attachment-{index}"))
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A type as the listing has it, if it is a well-formed one (it came from the sender).
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let content_type = match listed.content_type.split_once('/') {
        Some((main, sub)) if token(main) && token(sub) => listed.content_type,
        _ => "application/octet-stream".to_string(),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The key's scope, or the 401 that says why there is none.
pub(crate) async fn scope(db: &Db, headers: &HeaderMap) -> Result<Scope, ApiError> {
    let unauthorized = |message: &'static str| error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("an API key is needed: Authorization: Bearer <key>"));
    };
    let Some(secret) = value.strip_prefix("Bearer ").map(str::trim) else {
        return Err(unauthorized("the Authorization header must be `Bearer <key>`"));
    };
    let secret = secret.to_string();
    match with(db, move |c| {
        Box::pin(async move { keys::authenticate(c, &secret).await })
    })
    .await?
    {
        Some(scope) => Ok(scope),
        None => Err(unauthorized("the API key is not valid")),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub(crate) limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
}

impl Page {
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(n),
            _ => Err(error(StatusCode::BAD_REQUEST, "bad_limit", "limit is 1 to 500")),
        }
    }

    /// The id the previous page ended at (the cursor is opaque to clients).
    pub(crate) fn after(&self) -> Result<i64, ApiError> {
        match self.cursor.as_deref().map(str::trim) {
            // `cursor=` (empty) is no cursor: the first page.
            None | Some("") => Ok(0),
            Some(c) => c.parse().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "bad_cursor",
                    "the cursor is not one this server gave",
                )
            }),
        }
    }
}

#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(Page),
    responses((status = 200, description = "The accounts the key sees", body = doc::Paged<read::Account>), doc::Refusals))]
async fn list_accounts(
    State(db): State<Db>,
    headers: HeaderMap,
    Query(query): Query<Page>,
) -> Result<Response, ApiError> {
    let scope = scope(&db, &headers).await?;
    let accounts = with(&db, |c| Box::pin(read::accounts(c))).await?;
    let visible: Vec<read::Account> = accounts.into_iter().filter(|a| scope.sees(a.id)).collect();
    page(visible, |a| a.id, &query)
}

#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path, description = "The account")),
    responses((status = 200, description = "The account with its members and notices", body = read::AccountDetail), doc::Refusals))]
async fn show_account(State(db): State<Db>, headers: HeaderMap, Path(id): Path<i64>) -> Result<Response, ApiError> {
    {
        let scope = scope(&db, &headers).await?;
        if !scope.sees(id) {
            return Err(not_found("no such account"));
        }
        match with(&db, move |c| Box::pin(read::account_detail(c, id))).await? {
            Some(account) => Ok(Json(account).into_response()),
            None => Err(not_found("no such account")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_kinds_are_the_kinds() {
        let doc = serde_json::to_value(<ConversationQuery as utoipa::IntoParams>::into_params(|| None)).unwrap();
        let pattern = doc
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "kind")
            .and_then(|p| p["schema"]["pattern"].as_str())
            .unwrap()
            .to_string();
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(pattern, format!("^({})$", kinds.join("|")));
    }
}
