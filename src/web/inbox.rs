//! The reading pages: the accounts (platform key), an account's unified inbox, a conversation, a
//! contact with its Conversations tab, and a message's raw bytes, HTML body and attachments.

use super::layout::{badge, page, short_time};
use super::session::Signed;
use super::{PageError, WebState, account, with};
use crate::mail::Kind;
use crate::store::accounts::{self, Notice};
use crate::store::conversations::{self, ConversationFilter, Listed};
use crate::store::keys::Scope;
use crate::store::messages::{self, Message};
use crate::store::page::{At, Cursor, Page, Paged};
use crate::store::search::{self, Query as SearchQuery};
use crate::store::{StoreError, contacts, merge, participants};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// Rows on one page (accounts, conversations, a contact's conversations).
const PAGE_SIZE: usize = 50;

#[derive(Deserialize, Default)]
pub struct CursorQuery {
    cursor: Option<String>,
}

/// `GET /inbox/accounts`: the accounts with their address (a copy button), state, counts and
/// notices, forwarding confirmations first and prominent; a page at a time (a platform has tens
/// of thousands), each count read from the counts the commit keeps.
pub async fn accounts(
    State(state): State<WebState>,
    signed: Signed,
    Query(query): Query<CursorQuery>,
) -> Result<Response, PageError> {
    if signed.session.scope != Scope::Platform {
        return Err(PageError::not_found());
    }
    let wanted = Page {
        after: query.cursor.as_deref().and_then(i64::decode),
        limit: PAGE_SIZE,
    };
    let (listed, counts, notices) = with(&state.db, move |c| {
        Box::pin(async move {
            let listed = accounts::list(c, None, &wanted).await?;
            let ids: Vec<i64> = listed.items.iter().map(|a| a.id).collect();
            let counts = accounts::counts_of(c, &ids).await?;
            let notices = accounts::notices_of(c, &ids).await?;
            Ok((listed, counts, notices))
        })
    })
    .await?;
    let next = listed.next.map(|n| n.encode());
    let body = html! {
        h1 { "Accounts" }
        ul.list {
            @for a in &listed.items {
                @let counted = counts.get(&a.id).copied().unwrap_or_default();
                li {
                    div.row {
                        a.grow href={ "/inbox/accounts/" (a.id) } { strong { (a.name) } }
                        @if a.enabled { span.badge.pass { "enabled" } } @else { span.badge.fail { "disabled" } }
                        span.muted { (counted.messages) " messages · " a href={ "/inbox/accounts/" (a.id) "/quarantine" } { (counted.quarantined) " in quarantine" } }
                    }
                    div.row {
                        span.address #{ "address-" (a.id) } { (a.address) }
                        button type="button" data-copy=(a.address) aria-controls={ "address-" (a.id) } { "Copy" }
                    }
                    @for n in notices.get(&a.id).into_iter().flatten().take(5) {
                        (notice(n))
                    }
                }
            }
        }
        @if let Some(next) = &next {
            nav.pager aria-label="Pages" { a href={ "/inbox/accounts?cursor=" (next) } rel="next" { "More accounts" } }
        }
    };
    Ok(page(&signed, "Accounts", body))
}

fn notice(n: &Notice) -> Markup {
    html! {
        div.card.notice role="note" {
            strong { "Forwarding confirmation" @if let Some(p) = &n.provider { " from " (p) } }
            @if let Some(by) = &n.requested_by { span.muted { " for " (by) } }
            @if let Some(code) = &n.code { div { "Code: " span.code { (code) } } }
            @if let Some(link) = &n.link { div { "Link: " a href=(link) rel="noreferrer noopener" target="_blank" { (link) } } }
            div.muted { (short_time(&n.created_at)) " · " a href={ "/inbox/messages/" (n.message_id) "/raw" } { "the message" } }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    kind: Option<String>,
    contact: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

/// `GET /inbox/accounts/{id}`: conversations, newest activity first, filtered by kind and contact,
/// or found by full-text search (newest match first, with a snippet), a page at a time.
pub async fn unified(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let account = account(&state, signed.session.scope, id).await?;
    let kind = query
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .and_then(Kind::from_name);
    let contact = query.contact.clone().filter(|c| !c.trim().is_empty());
    let text = query.q.clone().unwrap_or_default().trim().to_string();
    // A search that has nothing to look for shows a sentence, never an error page.
    let (search, search_problem) = match text.as_str() {
        "" => (None, None),
        q if q.chars().count() > 10_000 => (None, Some("The search is longer than 10,000 characters.".to_string())),
        q => match SearchQuery::parse(q) {
            Ok(parsed) => (Some(parsed), None),
            Err(e) => (None, Some(format!("Nothing to search for: {}.", e.0))),
        },
    };
    let first = query.cursor.as_deref().is_none_or(str::is_empty);
    let searching = search.is_some();
    let cursor = query.cursor.clone();
    let contact_q = contact.clone();
    let problem = search_problem.is_some();
    let (rows, next, summaries): (Vec<Listed>, Option<String>, _) = with(&state.db, move |c| {
        Box::pin(async move {
            let empty = || (Vec::new(), None, Default::default());
            if problem {
                return Ok(empty());
            }
            let mut filter = ConversationFilter {
                contact: None,
                kind,
                since: None,
            };
            if let Some(email) = &contact_q {
                match contacts::by_email(c, id, email).await? {
                    Some(found) => filter.contact = Some(found.id),
                    None => return Ok(empty()),
                }
            }
            let (rows, next) = match &search {
                Some(search) => {
                    let wanted = Page {
                        after: cursor.as_deref().and_then(i64::decode),
                        limit: PAGE_SIZE,
                    };
                    let found = search::conversations(c, id, &filter, search, &wanted).await?;
                    (found.items, found.next.map(|n| n.encode()))
                }
                None => {
                    let wanted = Page {
                        after: cursor.as_deref().and_then(At::decode),
                        limit: PAGE_SIZE,
                    };
                    let found: Paged<Listed, At> =
                        conversations::list(c, id, &filter, &wanted).await?.map(Listed::from);
                    (found.items, found.next.map(|n| n.encode()))
                }
            };
            let ids: Vec<i64> = rows.iter().map(|l| l.conversation.id).collect();
            let summaries = conversations::summaries(c, &ids).await?;
            Ok::<_, StoreError>((rows, next, summaries))
        })
    })
    .await?;
    let keep = |cursor: Option<&str>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(k) = kind {
            q.append_pair("kind", k.as_str());
        }
        if let Some(c) = &contact {
            q.append_pair("contact", c);
        }
        if !text.is_empty() {
            q.append_pair("q", &text);
        }
        if let Some(cursor) = cursor {
            q.append_pair("cursor", cursor);
        }
        format!("/inbox/accounts/{id}?{}", q.finish())
    };
    let body = html! {
        h1 { (account.name) ": inbox" }
        p.muted { "Mail to " span.address { (account.address) } " · "
            a href={ "/inbox/accounts/" (id) "/quarantine" } { "quarantine" } }
        form.filters method="get" action={ "/inbox/accounts/" (id) } role="search" {
            label { "Search" input type="search" name="q" value=[query.q.as_deref()] placeholder="words, \"a phrase\", an address"; }
            label { "Kind"
                select name="kind" {
                    option value="" { "all" }
                    @for k in Kind::ALL.iter().filter(|k| !matches!(k, Kind::Spam | Kind::System)) {
                        option value=(k.as_str()) selected[kind == Some(*k)] { (k.as_str().replace('_', "-")) }
                    }
                }
            }
            label { "Contact" input type="email" name="contact" value=[contact.as_deref()] placeholder="address"; }
            button type="submit" { "Filter" }
            @if kind.is_some() || contact.is_some() || !text.is_empty() {
                a href={ "/inbox/accounts/" (id) } { "Clear" }
            }
        }
        @if let Some(problem) = &search_problem { p.card role="status" { (problem) } }
        @if rows.is_empty() && search_problem.is_none() {
            p.card { "No conversations" @if first && kind.is_none() && contact.is_none() && !searching { " yet. Mail to the address above appears here." } @else { " match." } }
        }
        ul.list #conversations {
            @for listed in &rows {
                @let conv = &listed.conversation;
                @let summary = summaries.get(&conv.id).cloned().unwrap_or_default();
                li {
                    div.row {
                        a.grow href={ "/inbox/conversations/" (conv.id) } { strong { (subject_or_none(&conv.subject)) } }
                        span.muted { (short_time(&conv.last_message_at)) }
                    }
                    div.row {
                        a href={ "/inbox/accounts/" (id) "/contacts/" (urlencode(&conv.contact_email)) } { (conv.contact_email) }
                        span.muted { (messages_count(conv.message_count)) }
                        @for k in summary.kinds.iter().filter(|k| **k != Kind::Message) { (badge(k.as_str())) }
                        @if summary.suspicious { (badge("suspicious")) }
                    }
                    @if let Some(found) = &listed.found {
                        div.preview.match data-message=(found.message_id) { (found.snippet) }
                    } @else if !summary.preview.is_empty() {
                        div.preview { (summary.preview) }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if !first { a href=(keep(None)) { "First page" } }
            @if let Some(next) = &next { a href=(keep(Some(next))) rel="next" { "Older conversations" } }
        }
    };
    Ok(page(&signed, &format!("{}: inbox", account.name), body))
}

fn subject_or_none(subject: &str) -> &str {
    if subject.trim().is_empty() {
        "(no subject)"
    } else {
        subject
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /inbox/conversations/{id}`: its latest messages, oldest of them first, and a link to the
/// ones before (`?cursor=`: the page of messages older than the ones shown).
pub async fn conversation(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
    Query(query): Query<CursorQuery>,
) -> Result<Response, PageError> {
    let before = query.cursor.as_deref().and_then(i64::decode);
    let scope = signed.session.scope;
    let found = with(&state.db, move |c| {
        Box::pin(async move {
            let Some(conv) = conversations::get(c, id).await? else {
                // A merged conversation's page is its target's.
                return Ok(match merge::merged(c, id).await? {
                    Some(m) if scope.sees(m.account_id) => Some(Err(m.merged_into)),
                    _ => None,
                });
            };
            if !scope.sees(conv.account_id) {
                return Ok(None);
            }
            let participants = participants::of_conversation(c, id).await?;
            let wanted = Page {
                after: before,
                limit: conversations::MESSAGES_SHOWN,
            };
            let latest = messages::of_conversation(c, id, &wanted).await?;
            let mut shown = latest.items;
            shown.reverse();
            Ok(Some(Ok((conv, participants, shown, latest.next))))
        })
    })
    .await?
    .ok_or_else(PageError::not_found)?;
    let (conv, participants, shown, older) = match found {
        Ok(found) => found,
        Err(target) => return Ok(Redirect::to(&format!("/inbox/conversations/{target}")).into_response()),
    };
    let body = html! {
        p { a href={ "/inbox/accounts/" (conv.account_id) } { "← Inbox" } }
        h1 { (subject_or_none(&conv.subject)) }
        p.muted {
            "With " a href={ "/inbox/accounts/" (conv.account_id) "/contacts/" (urlencode(&conv.contact_email)) } { (conv.contact_email) }
            " · " (messages_count(conv.message_count)) " · started " (short_time(&conv.created_at))
        }
        @if participants.len() > 1 {
            ul.participants aria-label="Participants" {
                @for p in &participants {
                    li {
                        @if let Some(name) = &p.name { (name) " " }
                        span.muted { "<" (p.email) ">" }
                        @if p.role != "contact" { " " (badge(&p.role)) }
                    }
                }
            }
        }
        @if let Some(older) = older {
            nav.pager aria-label="Earlier messages" { a #show-older href={ "/inbox/conversations/" (conv.id) "?cursor=" (older.encode()) } { "Show older messages" } }
        }
        @for m in &shown { (message(m)) }
        @if before.is_some() {
            nav.pager aria-label="Later messages" { a href={ "/inbox/conversations/" (conv.id) } { "Latest messages" } }
        }
    };
    Ok(page(&signed, subject_or_none(&conv.subject), body))
}

fn message(m: &Message) -> Markup {
    let text = m.text.as_deref().unwrap_or("");
    let new_text = m.reply_text.as_deref().unwrap_or(text);
    let quoted = quoted_history(text, new_text, m.signature.as_deref());
    html! {
        article.card id={ "message-" (m.id) } {
            div.row {
                strong.grow {
                    @if let Some(name) = &m.from_name { (name) " " }
                    span.muted { "<" (m.from_email.as_deref().unwrap_or("unknown sender")) ">" }
                }
                span.muted { (short_time(&m.received_at)) }
            }
            div.row {
                @if m.kind != Kind::Message { (badge(m.kind.as_str())) }
                @for f in &m.flags { (badge(f.as_str())) }
                (auth(&m.auth))
            }
            div.new-text { (new_text.trim()) }
            @if let Some(sig) = m.signature.as_deref().filter(|s| !s.trim().is_empty()) {
                details.signature { summary { "Signature" } pre { (sig) } }
            }
            @if let Some(quoted) = quoted {
                details.quoted { summary { "Show quoted text" } pre { (quoted) } }
            }
            @if m.html.is_some() {
                details.html { summary { "HTML version" }
                    iframe.html-body sandbox="" referrerpolicy="no-referrer" loading="lazy"
                        title="The message's HTML version (scripts, forms and remote content off)"
                        src={ "/inbox/messages/" (m.id) "/html" } {}
                }
            }
            @if !m.attachments.is_empty() {
                ul.attachments {
                    @for (i, a) in m.attachments.iter().enumerate() {
                        li { a href={ "/inbox/messages/" (m.id) "/attachments/" (i) } download {
                            (a.filename.as_deref().unwrap_or("attachment")) }
                            span.muted { " " (a.content_type) " · " (a.size) " bytes" } }
                    }
                }
            }
            p { a href={ "/inbox/messages/" (m.id) "/raw" } { "Raw message" } }
        }
    }
}

/// What the text holds besides its new part and its signature (the quoted history), if anything.
fn quoted_history<'a>(text: &'a str, new_text: &str, signature: Option<&str>) -> Option<&'a str> {
    let mut rest = text.trim();
    if let Some(after) = rest.strip_prefix(new_text.trim()) {
        rest = after.trim();
    }
    if let Some(sig) = signature.map(str::trim).filter(|s| !s.is_empty())
        && let Some(before) = rest.strip_suffix(sig)
    {
        rest = before.trim();
    }
    let sig_only = signature.is_some_and(|s| s.trim() == rest);
    (!rest.is_empty() && rest != new_text.trim() && !sig_only).then_some(rest)
}

/// "1 message", "2 messages".
pub fn messages_count(n: i64) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// The authentication verdicts as badges (`SPF pass`, `DKIM fail`, …).
fn auth(auth: &Option<crate::mail::AuthResult>) -> Markup {
    let Some(auth) = auth else {
        return html! {};
    };
    html! {
        @for (name, result) in [("SPF", &auth.spf), ("DKIM", &auth.dkim), ("DMARC", &auth.dmarc), ("ARC", &auth.arc)] {
            @if !result.is_empty() && result != "none" {
                span class={ "badge " (if result == "pass" { "pass" } else { "fail" }) } { (name) " " (result) }
            }
        }
    }
}

/// `GET /inbox/accounts/{id}/contacts/{email}`: the contact and its Conversations tab, a page at
/// a time.
pub async fn contact(
    State(state): State<WebState>,
    signed: Signed,
    Path((id, email)): Path<(i64, String)>,
    Query(query): Query<CursorQuery>,
) -> Result<Response, PageError> {
    account(&state, signed.session.scope, id).await?;
    let wanted = Page {
        after: query.cursor.as_deref().and_then(At::decode),
        limit: PAGE_SIZE,
    };
    let shown_email = email.clone();
    let (k, list) = with(&state.db, move |c| {
        Box::pin(async move {
            let Some(contact) = contacts::by_email(c, id, &email).await? else {
                return Ok(None);
            };
            let filter = ConversationFilter {
                contact: Some(contact.id),
                ..ConversationFilter::default()
            };
            let list = conversations::list(c, id, &filter, &wanted).await?;
            Ok(Some((contact, list)))
        })
    })
    .await?
    .ok_or_else(PageError::not_found)?;
    let next = list.next.map(|n| n.encode());
    let body = html! {
        p { a href={ "/inbox/accounts/" (id) } { "← Inbox" } }
        h1 { (k.name.as_deref().unwrap_or(&k.email)) }
        dl.facts.card {
            dt { "Name" } dd { (k.name.as_deref().unwrap_or("—")) }
            dt { "Address" } dd.address { (k.email) }
            dt { "Opt-in" } dd #opt-in { @if k.opt_in { "yes" } @else { "no" } }
            dt { "Lists" } dd #lists { @if k.lists.is_empty() { "none" } @else { (k.lists.join(", ")) } }
            dt { "Mail status" } dd { (k.email_status) }
            dt { "Source" } dd { (k.source) @if !k.verified { " " (badge("suspicious")) } }
            dt { "Created" } dd { (short_time(&k.created_at)) }
        }
        nav.tabs aria-label="Contact" { span.active { "Conversations" } }
        ul.list #contact-conversations {
            @for conv in &list.items {
                li { div.row {
                    a.grow href={ "/inbox/conversations/" (conv.id) } { (subject_or_none(&conv.subject)) }
                    span.muted { (messages_count(conv.message_count)) " · " (short_time(&conv.last_message_at)) }
                } }
            }
        }
        @if let Some(next) = &next {
            nav.pager aria-label="Pages" { a href={ "/inbox/accounts/" (id) "/contacts/" (urlencode(&shown_email)) "?cursor=" (next) } rel="next" { "Older conversations" } }
        }
    };
    Ok(page(&signed, &k.email, body))
}

/// The message, when the session sees its account.
async fn visible_message(state: &WebState, scope: Scope, id: i64) -> Result<Message, PageError> {
    with(&state.db, move |c| Box::pin(messages::get(c, id)))
        .await?
        .filter(|m| scope.sees(m.account_id))
        .ok_or_else(PageError::not_found)
}

/// `GET /inbox/messages/{id}/raw`: the bytes as received, as plain text.
pub async fn raw(State(state): State<WebState>, signed: Signed, Path(id): Path<i64>) -> Result<Response, PageError> {
    visible_message(&state, signed.session.scope, id).await?;
    let raw = with(&state.db, move |c| Box::pin(messages::raw(c, id)))
        .await?
        .ok_or_else(PageError::not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'"),
        ],
        String::from_utf8_lossy(&raw).into_owned(),
    )
        .into_response())
}

/// `GET /inbox/messages/{id}/html`: the HTML body on its own, sandboxed by its policy (no script,
/// no form, no remote image: `default-src 'none'`), for the conversation page's sandboxed iframe.
pub async fn html_body(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let m = visible_message(&state, signed.session.scope, id).await?;
    let body = m.html.ok_or_else(PageError::not_found)?;
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    Ok(response)
}

/// `GET /inbox/messages/{id}/attachments/{index}`: a download, as the API serves it.
pub async fn attachment(
    State(state): State<WebState>,
    signed: Signed,
    Path((id, index)): Path<(i64, usize)>,
) -> Result<Response, PageError> {
    Ok(crate::api::attachment_download(&state.db, signed.session.scope, id, index).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quoted_history_is_what_is_neither_new_nor_signature() {
        let text = "Thanks!\n\nOn Mon, Ann wrote:\n> Hello\n\n-- \nBob";
        assert_eq!(
            quoted_history(text, "Thanks!", Some("-- \nBob")),
            Some("On Mon, Ann wrote:\n> Hello")
        );
        assert_eq!(quoted_history("Thanks!", "Thanks!", None), None);
        assert_eq!(quoted_history("Thanks!\n-- \nBob", "Thanks!", Some("-- \nBob")), None);
    }
}
