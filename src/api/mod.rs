//! The inbox application's REST door under `/v1`: JSON over the HTTP server of `http`, read from
//! the store, every request authenticated by an API key (`Authorization: Bearer <key>`).
//!
//! Rules: no key or an unknown or revoked one is `401` ([`Key`], an extractor: no handler runs
//! without a valid key); a resource of an account the key does not see is `404`, exactly as a
//! missing one (existence is not leaked). Lists are keyset pages: `limit` (default 50, at most
//! 500) and `cursor` (opaque: the `next_cursor` of the page before), answered
//! `{"data": [...], "next_cursor": …}`; each page costs its own rows, however large the account.
//! SQLite work runs on the blocking pool, PostgreSQL's on the pool's connections; neither blocks
//! the async workers. Resources: `/v1/accounts` (and one, its contacts, its conversations with
//! filters and full-text search `q`), `/v1/conversations/{id}` (its latest messages) and its
//! `messages` (pages back through the rest), `/v1/messages/{id}` with its `raw` bytes and
//! attachments, and `/v1/events` (the event log after a cursor, long-polled with `wait`:
//! [`long_poll_routes`], outside the door's usual answer limit).

mod accounts;
mod doc;
mod lifecycle;
mod review;
mod threads;
mod webhooks;

use crate::mail::Kind;
pub use crate::store::Db;
use crate::store::accounts::{Account, AccountDetail};
use crate::store::contacts::{Contact, ContactDetail};
use crate::store::conversations::{ConversationDetail, ConversationFilter, Listed};
use crate::store::events::Event;
use crate::store::keys::{self, Scope};
use crate::store::messages::Message;
use crate::store::page::{self, At, Cursor};
use crate::store::search::Query as SearchQuery;
use crate::store::sql::Conn;
use crate::store::{BoxFuture, StoreError, contacts, conversations, events, messages, search};
use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::time::Duration;

/// Runs `work` on the store, a failure of the database answered 503.
pub(crate) async fn with<T: Send + 'static>(
    db: &Db,
    work: impl for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
) -> Result<T, ApiError> {
    db.run(work).await.map_err(unavailable)
}

/// A failure of the database, logged and answered 503: the request may be tried again.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "api: database");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the database did not answer; try again",
    )
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
    /// `[search] index`: messages a merge or a split moves are indexed anew.
    pub search_index: bool,
}

impl axum::extract::FromRef<ApiState> for Db {
    fn from_ref(state: &ApiState) -> Db {
        state.db.clone()
    }
}

/// The API key a request came with, as its scope: the platform (every account) or one account.
/// A request without a valid key is answered 401 before its handler runs.
#[derive(Debug, Clone, Copy)]
pub struct Key(pub Scope);

impl FromRequestParts<ApiState> for Key {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Key, ApiError> {
        let unauthorized = |message: &'static str| error(StatusCode::UNAUTHORIZED, "unauthorized", message);
        let Some(value) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Err(unauthorized("an API key is needed: Authorization: Bearer <key>"));
        };
        let Some(secret) = value.strip_prefix("Bearer ").map(str::trim) else {
            return Err(unauthorized("the Authorization header must be `Bearer <key>`"));
        };
        let secret = secret.to_string();
        match with(&state.db, move |c| {
            Box::pin(async move { keys::authenticate(c, &secret).await })
        })
        .await?
        {
            Some(scope) => Ok(Key(scope)),
            None => Err(unauthorized("the API key is not valid")),
        }
    }
}

impl Key {
    /// That the key sees account `id` and the account exists (404 otherwise, the same for both).
    pub(crate) async fn account(self, db: &Db, id: i64) -> Result<(), ApiError> {
        if !self.0.sees(id) {
            return Err(not_found("no such account"));
        }
        match with(db, move |c| Box::pin(crate::store::accounts::exists(c, id))).await? {
            true => Ok(()),
            false => Err(not_found("no such account")),
        }
    }
}

/// The platform's key: an account key is answered 403.
#[derive(Debug, Clone, Copy)]
pub struct PlatformKey;

impl FromRequestParts<ApiState> for PlatformKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<PlatformKey, ApiError> {
        match Key::from_request_parts(parts, state).await? {
            Key(Scope::Platform) => Ok(PlatformKey),
            Key(Scope::Account(_)) => Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this takes the platform's API key (one made without --account)",
            )),
        }
    }
}

pub fn routes() -> Router<ApiState> {
    Router::new()
        .merge(accounts::routes())
        .merge(webhooks::routes())
        .merge(review::routes())
        .merge(lifecycle::routes())
        .merge(threads::routes())
        .route("/v1/openapi.json", get(doc::openapi))
        .route("/v1/accounts", get(list_accounts))
        .route("/v1/accounts/{id}", get(show_account).delete(lifecycle::delete_account))
        .route("/v1/accounts/{id}/contacts", get(list_contacts))
        .route(
            "/v1/accounts/{id}/contacts/{email}",
            get(show_contact).delete(lifecycle::erase_contact),
        )
        .route("/v1/accounts/{id}/conversations", get(list_conversations))
        .route("/v1/conversations/{id}", get(show_conversation))
        .route("/v1/conversations/{id}/messages", get(conversation_messages))
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
    responses((status = 200, description = "Events after the cursor, oldest first; `next_cursor` is the one to pass next", body = doc::Paged<Event>), doc::Refusals))]
async fn list_events(
    State(db): State<Db>,
    Key(scope): Key,
    Query(query): Query<EventsQuery>,
) -> Result<Json<doc::Paged<Event>>, ApiError> {
    let limit = Page {
        limit: query.limit,
        cursor: None,
    }
    .limit()? as i64;
    let after: i64 = match query.since.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text.parse().map_err(|_| bad_cursor())?,
    };
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
        let list = with(&db, move |c| Box::pin(events::list(c, after, account, limit))).await?;
        if !list.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = list.last().map_or(after, |e| e.id);
            return Ok(Json(doc::Paged {
                data: list,
                next_cursor: Some(next.to_string()),
            }));
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - tokio::time::Instant::now())).await;
    }
}

/// A page of the store as the door answers it.
pub(crate) fn paged<T: utoipa::ToSchema, K: Cursor>(page: page::Paged<T, K>) -> Json<doc::Paged<T>> {
    Json(doc::Paged {
        data: page.items,
        next_cursor: page.next.map(|k| k.encode()),
    })
}

/// The 404 of a resource the key does not see or that does not exist (the same answer for both).
pub(crate) fn not_found(what: &'static str) -> ApiError {
    error(StatusCode::NOT_FOUND, "not_found", what)
}

fn bad_cursor() -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "bad_cursor",
        "the cursor is not one this server gave for this list",
    )
}

#[utoipa::path(get, path = "/v1/accounts/{id}/contacts", tag = "contacts", params(("id" = i64, Path, description = "The account"), Page),
    responses((status = 200, description = "The account's contacts, in the order they were created", body = doc::Paged<Contact>), doc::Refusals))]
async fn list_contacts(
    State(db): State<Db>,
    key: Key,
    Path(id): Path<i64>,
    Query(query): Query<Page>,
) -> Result<Json<doc::Paged<Contact>>, ApiError> {
    key.account(&db, id).await?;
    let page = query.page::<i64>()?;
    Ok(paged(
        with(&db, move |c| {
            Box::pin(async move { contacts::list(c, id, &page).await })
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/v1/accounts/{id}/contacts/{email}", tag = "contacts",
    params(("id" = i64, Path, description = "The account"), ("email" = String, Path, description = "The contact's address")),
    responses((status = 200, description = "The contact with the first page of its conversations", body = ContactDetail), doc::Refusals))]
async fn show_contact(
    State(db): State<Db>,
    key: Key,
    Path((id, email)): Path<(i64, String)>,
) -> Result<Json<ContactDetail>, ApiError> {
    key.account(&db, id).await?;
    with(&db, move |c| {
        Box::pin(async move { contacts::detail(c, id, &email).await })
    })
    .await?
    .map(Json)
    .ok_or_else(|| not_found("no such contact"))
}

/// The conversation list's query: filters, the search and the page (serde's flatten does not mix
/// with query strings' numbers, so the page's fields are spelled out).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConversationQuery {
    /// Only this contact's (an address).
    contact: Option<String>,
    /// Only conversations holding a message of this kind (with `q`: only matching messages of it).
    // The kinds of `mail::Kind::ALL` (a unit test keeps the two the same).
    #[param(pattern = "^(message|forward|auto_reply|bounce|feedback|system|bulk|spam)$")]
    kind: Option<String>,
    /// Only conversations active at or after this RFC 3339 time (with `q`: only messages received
    /// since).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Full-text search: every word must appear (subject, text, sender, contact), `"a phrase"` in
    /// order; accents and case do not matter. Each conversation found names its newest matching
    /// message and a snippet (`match`).
    #[param(max_length = 10000)]
    q: Option<String>,
    /// At most this many (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The longest search a request may ask (in characters); a person's query is far shorter.
const MAX_QUERY: usize = 10_000;

#[utoipa::path(get, path = "/v1/accounts/{id}/conversations", tag = "conversations",
    params(("id" = i64, Path, description = "The account"), ConversationQuery),
    responses((status = 200, description = "Conversations, newest activity first (with `q`: the newest match first, each with its `match`)", body = doc::Paged<Listed>), doc::Refusals))]
async fn list_conversations(
    State(db): State<Db>,
    key: Key,
    Path(id): Path<i64>,
    Query(query): Query<ConversationQuery>,
) -> Result<Json<doc::Paged<Listed>>, ApiError> {
    key.account(&db, id).await?;
    let kind = match &query.kind {
        Some(kind) => Some(Kind::from_name(kind).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            refused(
                StatusCode::BAD_REQUEST,
                "bad_kind",
                format!("unknown kind `{kind}` ({})", known.join(", ")),
            )
        })?),
        None => None,
    };
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
    let search = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) if q.chars().count() > MAX_QUERY => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_query",
                "the search is longer than 10,000 characters",
            ));
        }
        Some(q) => Some(SearchQuery::parse(q).map_err(|e| refused(StatusCode::BAD_REQUEST, "bad_query", e.0))?),
        None => None,
    };
    let page = Page {
        limit: query.limit,
        cursor: query.cursor,
    };
    let contact = query.contact.clone();
    let filter = ConversationFilter {
        contact: None,
        kind,
        since,
    };
    match search {
        Some(search) => {
            let page = page.page::<i64>()?;
            let found = with(&db, move |c| {
                Box::pin(async move {
                    let Some(filter) = with_contact(c, id, filter, contact).await? else {
                        return Ok(page::Paged {
                            items: Vec::new(),
                            next: None,
                        });
                    };
                    search::conversations(c, id, &filter, &search, &page).await
                })
            })
            .await?;
            Ok(paged(found))
        }
        None => {
            let page = page.page::<At>()?;
            let found = with(&db, move |c| {
                Box::pin(async move {
                    let Some(filter) = with_contact(c, id, filter, contact).await? else {
                        return Ok(page::Paged {
                            items: Vec::new(),
                            next: None,
                        });
                    };
                    Ok(conversations::list(c, id, &filter, &page).await?.map(Listed::from))
                })
            })
            .await?;
            Ok(paged(found))
        }
    }
}

/// `filter` narrowed to the contact with address `contact`; None when there is no such contact
/// (then nothing matches).
async fn with_contact(
    c: Conn<'_>,
    account: i64,
    mut filter: ConversationFilter,
    contact: Option<String>,
) -> Result<Option<ConversationFilter>, StoreError> {
    if let Some(email) = contact {
        match contacts::by_email(c, account, &email).await? {
            Some(found) => filter.contact = Some(found.id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

/// What a conversation's id answers with: the conversation, or where it was merged.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum ConversationAnswer {
    Conversation(Box<ConversationDetail>),
    Merged(crate::store::merge::MergedConversation),
}

#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "The conversation")),
    responses((status = 200, description = "The conversation with its participants and its latest 50 messages, oldest of them first (`messages_cursor` pages back through the older ones); for a conversation merged into another, `{id, account_id, merged_into, merged_at}`", body = ConversationAnswer), doc::Refusals))]
async fn show_conversation(
    State(db): State<Db>,
    Key(scope): Key,
    Path(id): Path<i64>,
) -> Result<Json<ConversationAnswer>, ApiError> {
    let found = with(&db, move |c| {
        Box::pin(async move {
            Ok(match conversations::detail(c, id).await? {
                Some(detail) => Some(ConversationAnswer::Conversation(Box::new(detail))),
                None => crate::store::merge::merged(c, id)
                    .await?
                    .map(ConversationAnswer::Merged),
            })
        })
    })
    .await?;
    match found {
        Some(ConversationAnswer::Conversation(d)) if scope.sees(d.conversation.account_id) => {
            Ok(Json(ConversationAnswer::Conversation(d)))
        }
        Some(ConversationAnswer::Merged(m)) if scope.sees(m.account_id) => Ok(Json(ConversationAnswer::Merged(m))),
        _ => Err(not_found("no such conversation")),
    }
}

/// `GET /v1/conversations/{id}/messages?cursor=&limit=`: the conversation's messages, newest first,
/// a page at a time (start from a conversation's `messages_cursor` to get the ones before its
/// latest).
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations", params(("id" = i64, Path, description = "The conversation"), Page),
    responses((status = 200, description = "The conversation's messages, newest first", body = doc::Paged<Message>), doc::Refusals))]
async fn conversation_messages(
    State(db): State<Db>,
    Key(scope): Key,
    Path(id): Path<i64>,
    Query(query): Query<Page>,
) -> Result<Json<doc::Paged<Message>>, ApiError> {
    let page = query.page::<i64>()?;
    let found = with(&db, move |c| {
        Box::pin(async move {
            // A merged conversation's messages are read where they went.
            let id = crate::store::merge::merged_into(c, id).await?.unwrap_or(id);
            match conversations::get(c, id).await? {
                Some(conversation) if scope.sees(conversation.account_id) => {
                    Ok(Some(messages::of_conversation(c, id, &page).await?))
                }
                _ => Ok(None),
            }
        })
    })
    .await?;
    found.map(paged).ok_or_else(|| not_found("no such conversation"))
}

#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messages", params(("id" = i64, Path, description = "The message")),
    responses((status = 200, description = "The message", body = Message), doc::Refusals))]
async fn show_message(State(db): State<Db>, Key(scope): Key, Path(id): Path<i64>) -> Result<Json<Message>, ApiError> {
    match with(&db, move |c| Box::pin(messages::get(c, id))).await? {
        Some(message) if scope.sees(message.account_id) => Ok(Json(message)),
        _ => Err(not_found("no such message")),
    }
}

#[utoipa::path(get, path = "/v1/messages/{id}/raw", tag = "messages", params(("id" = i64, Path, description = "The message")),
    responses((status = 200, description = "The message's bytes as received, after our Received header", content_type = "message/rfc822", body = Vec<u8>), doc::Refusals))]
async fn raw_message(State(db): State<Db>, Key(scope): Key, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let found = with(&db, move |c| {
        Box::pin(async move {
            match messages::account_of(c, id).await? {
                Some(account) if scope.sees(account) => messages::raw(c, id).await,
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
    Key(scope): Key,
    Path((id, index)): Path<(i64, usize)>,
) -> Result<Response, ApiError> {
    attachment_download(&db, scope, id, index).await
}

/// Message `id`'s attachment `index` as a download, when `scope` sees the message (the API's and
/// the web inbox's).
pub(crate) async fn attachment_download(db: &Db, scope: Scope, id: i64, index: usize) -> Result<Response, ApiError> {
    let found = with(db, move |c| {
        Box::pin(async move {
            match messages::get(c, id).await? {
                Some(message) if scope.sees(message.account_id) => {
                    Ok(messages::raw(c, id).await?.map(|raw| (message.attachments, raw)))
                }
                _ => Ok(None),
            }
        })
    })
    .await?;
    let Some((list, raw)) = found else {
        return Err(not_found("no such message"));
    };
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
        match self.limit.unwrap_or(page::DEFAULT_LIMIT) {
            n @ 1..=page::MAX_LIMIT => Ok(n),
            _ => Err(error(StatusCode::BAD_REQUEST, "bad_limit", "limit is 1 to 500")),
        }
    }

    /// The store's page: the limit, and where the cursor says the previous page ended.
    pub(crate) fn page<K: Cursor>(&self) -> Result<page::Page<K>, ApiError> {
        let after = match self.cursor.as_deref().map(str::trim) {
            // `cursor=` (empty) is no cursor: the first page.
            None | Some("") => None,
            Some(text) => Some(K::decode(text).ok_or_else(bad_cursor)?),
        };
        Ok(page::Page {
            after,
            limit: self.limit()?,
        })
    }
}

#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(Page),
    responses((status = 200, description = "The accounts the key sees", body = doc::Paged<Account>), doc::Refusals))]
async fn list_accounts(
    State(db): State<Db>,
    Key(scope): Key,
    Query(query): Query<Page>,
) -> Result<Json<doc::Paged<Account>>, ApiError> {
    let page = query.page::<i64>()?;
    let only = match scope {
        Scope::Platform => None,
        Scope::Account(id) => Some(id),
    };
    Ok(paged(
        with(&db, move |c| {
            Box::pin(async move { crate::store::accounts::list(c, only, &page).await })
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path, description = "The account")),
    responses((status = 200, description = "The account with its members and notices", body = AccountDetail), doc::Refusals))]
async fn show_account(
    State(db): State<Db>,
    Key(scope): Key,
    Path(id): Path<i64>,
) -> Result<Json<AccountDetail>, ApiError> {
    if !scope.sees(id) {
        return Err(not_found("no such account"));
    }
    with(&db, move |c| Box::pin(crate::store::accounts::detail(c, id)))
        .await?
        .map(Json)
        .ok_or_else(|| not_found("no such account"))
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
