//! The OpenAPI 3.1 document of the door, generated from the handlers' annotations and the JSON
//! types themselves (utoipa), served at `GET /v1/openapi.json` without a key.

use super::{accounts, lifecycle, review, threads, webhooks};
use crate::store::webhooks as outbox;
use crate::store::{contacts, conversations, events, messages, senders};
use axum::Json;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `{"error": {"code", "message"}}`: the one shape of every refusal.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable word: `unauthorized`, `not_found`, `bad_cursor`, …
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// A page of a list: the items, and the cursor of the next page (null on the last).
#[derive(Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The refusals any request may meet.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Refusals {
    /// The query, the path or the body does not parse.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No API key, or one that is unknown or revoked.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Not there, or not the key's to see.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The request line is longer than the door reads (about 400 KB); nothing was looked at.
    #[response(status = 414)]
    UriTooLong,
    /// The database did not answer in time.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The refusals of a request with a JSON body, besides [`Refusals`].
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyRefusals {
    /// The key may not do this (an account key, where the platform's is needed).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// The body is larger than 64 KiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not `application/json`.
    #[response(status = 415)]
    NotJson(ErrorBody),
    /// The body parses but says something impossible.
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "inboxd", description = "The inbox application's door: accounts, contacts, conversations, messages, events and webhooks."),
    paths(
        super::list_accounts,
        super::show_account,
        super::list_contacts,
        super::show_contact,
        super::list_conversations,
        super::show_conversation,
        super::conversation_messages,
        super::show_message,
        super::raw_message,
        super::attachment,
        super::list_events,
        accounts::create,
        accounts::disable,
        accounts::enable,
        accounts::rotate_address,
        accounts::dmarc,
        accounts::members,
        accounts::add_member,
        accounts::remove_member,
        accounts::mint_reply_address,
        accounts::register_sent,
        webhooks::list,
        webhooks::create,
        webhooks::show,
        webhooks::remove,
        webhooks::deliveries,
        webhooks::replay,
        review::release,
        review::mark_spam,
        review::mark_ham,
        review::delete_message,
        lifecycle::erase_contact,
        lifecycle::export_contact,
        lifecycle::retention,
        lifecycle::delete_account,
        threads::merge_conversation,
        threads::split_message,
    ),
    components(schemas(
        ErrorBody,
        crate::store::accounts::Account,
        crate::store::accounts::AccountDetail,
        contacts::Contact,
        contacts::ContactDetail,
        conversations::Conversation,
        conversations::ConversationDetail,
        conversations::Listed,
        conversations::Found,
        messages::Message,
        events::Event,
        crate::store::accounts::Notice,
        outbox::Endpoint,
        outbox::Delivery,
        review::Decision,
        senders::SenderRuleEntry,
        lifecycle::ErasedAnswer,
        lifecycle::DeletedAnswer,
        lifecycle::Retention,
        crate::store::erasure::Erased,
        crate::store::participants::Participant,
        crate::store::merge::Merged,
        crate::store::merge::Split,
        crate::store::merge::MergedConversation,
        super::ConversationAnswer,
        threads::MergeInto,
    )),
    modifiers(&BearerKey),
    security(("api_key" = [])),
)]
pub struct Doc;

/// `GET /v1/openapi.json`
pub async fn openapi() -> impl IntoResponse {
    Json(Doc::openapi())
}
