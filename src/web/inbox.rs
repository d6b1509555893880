//! The reading pages: the accounts (platform key), an account's unified inbox, a conversation, a
//! contact with its Conversations tab, and a message's raw bytes, HTML body and attachments.

use super::layout::{badge, page, short_time};
use super::session::Signed;
use super::{PageError, WebState, account, with};
use crate::mail::Kind;
use crate::store::keys::Scope;
use crate::store::read::{self, Conversation, Message};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

/// Conversations on one page of the inbox.
const PAGE_SIZE: usize = 50;

/// `GET /inbox/accounts`: every account with its address (a copy button), state, counts and
/// notices, forwarding confirmations first and prominent.
pub async fn accounts(State(state): State<WebState>, signed: Signed) -> Result<Response, PageError> {
    if signed.session.scope != Scope::Platform {
        return Err(PageError::not_found());
    }
    let (accounts, counts, notices) = with(&state.db, |c| {
        Box::pin(async move {
            let accounts = read::accounts(c).await?;
            let counts = read::message_counts(c).await?;
            let notices = read::notices_by_account(c).await?;
            Ok((accounts, counts, notices))
        })
    })
    .await?;
    let body = html! {
        h1 { "Accounts" }
        ul.list {
            @for a in &accounts {
                @let (total, spam) = counts.get(&a.id).copied().unwrap_or((0, 0));
                li {
                    div.row {
                        a.grow href={ "/inbox/accounts/" (a.id) } { strong { (a.name) } }
                        @if a.enabled { span.badge.pass { "enabled" } } @else { span.badge.fail { "disabled" } }
                        span.muted { (total - spam) " messages · " a href={ "/inbox/accounts/" (a.id) "/quarantine" } { (spam) " in quarantine" } }
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
    };
    Ok(page(&signed, "Accounts", body))
}

fn notice(n: &read::Notice) -> Markup {
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
/// searched by subject or address, a page at a time (the API's cursors: the last id shown).
pub async fn unified(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let account = account(&state, signed.session.scope, id).await?;
    let kind = query
        .kind
        .clone()
        .filter(|k| !k.is_empty() && Kind::ALL.iter().any(|known| known.as_str() == k));
    let contact = query.contact.clone().filter(|c| !c.trim().is_empty());
    let search = query.q.clone().unwrap_or_default().trim().to_lowercase();
    let after: i64 = query.cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
    let (kind_q, contact_q) = (kind.clone(), contact.clone());
    let (rows, summaries) = with(&state.db, move |c| {
        Box::pin(async move {
            let contact_id = match &contact_q {
                Some(email) => match read::contact_by_email(c, id, email).await? {
                    Some(contact) => Some(contact.id),
                    None => return Ok((Vec::new(), Default::default())),
                },
                None => None,
            };
            let all = read::conversations_where(c, id, contact_id, kind_q.as_deref(), None).await?;
            let matching: Vec<Conversation> = all
                .into_iter()
                .filter(|conv| {
                    search.is_empty()
                        || conv.subject.to_lowercase().contains(&search)
                        || conv.contact_email.to_lowercase().contains(&search)
                })
                .collect();
            let mut rest = matching.into_iter().skip_while(|conv| after != 0 && conv.id != after);
            if after != 0 {
                rest.next();
            }
            let page: Vec<Conversation> = rest.take(PAGE_SIZE + 1).collect();
            let ids: Vec<i64> = page.iter().map(|conv| conv.id).collect();
            let summaries = read::conversation_summaries(c, &ids).await?;
            Ok((page, summaries))
        })
    })
    .await?;
    let more = rows.len() > PAGE_SIZE;
    let rows = &rows[..rows.len().min(PAGE_SIZE)];
    let next = more.then(|| rows.last().map(|c| c.id)).flatten();
    let keep = |cursor: Option<i64>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(k) = &kind {
            q.append_pair("kind", k);
        }
        if let Some(c) = &contact {
            q.append_pair("contact", c);
        }
        if let Some(s) = query.q.as_deref().filter(|s| !s.is_empty()) {
            q.append_pair("q", s);
        }
        if let Some(cursor) = cursor {
            q.append_pair("cursor", &cursor.to_string());
        }
        format!("/inbox/accounts/{id}?{}", q.finish())
    };
    let body = html! {
        h1 { (account.name) ": inbox" }
        p.muted { "Mail to " span.address { (account.address) } " · "
            a href={ "/inbox/accounts/" (id) "/quarantine" } { "quarantine" } }
        form.filters method="get" action={ "/inbox/accounts/" (id) } role="search" {
            label { "Search subject or address" input type="search" name="q" value=[query.q.as_deref()]; }
            label { "Kind"
                select name="kind" {
                    option value="" { "all" }
                    @for k in Kind::ALL.iter().filter(|k| !matches!(k, Kind::Spam | Kind::System)) {
                        option value=(k.as_str()) selected[kind.as_deref() == Some(k.as_str())] { (k.as_str().replace('_', "-")) }
                    }
                }
            }
            label { "Contact" input type="email" name="contact" value=[contact.as_deref()] placeholder="address"; }
            button type="submit" { "Filter" }
            @if kind.is_some() || contact.is_some() || !query.q.as_deref().unwrap_or("").is_empty() {
                a href={ "/inbox/accounts/" (id) } { "Clear" }
            }
        }
        @if rows.is_empty() {
            p.card { "No conversations" @if after == 0 && kind.is_none() && contact.is_none() { " yet. Mail to the address above appears here." } @else { " match." } }
        }
        ul.list #conversations {
            @for conv in rows {
                @let summary = summaries.get(&conv.id).cloned().unwrap_or_default();
                li {
                    div.row {
                        a.grow href={ "/inbox/conversations/" (conv.id) } { strong { (subject_or_none(&conv.subject)) } }
                        span.muted { (short_time(&conv.last_message_at)) }
                    }
                    div.row {
                        a href={ "/inbox/accounts/" (id) "/contacts/" (urlencode(&conv.contact_email)) } { (conv.contact_email) }
                        span.muted { (messages(conv.message_count)) }
                        @for k in summary.kinds.iter().filter(|k| k.as_str() != "message") { (badge(k)) }
                        @if summary.suspicious { (badge("suspicious")) }
                    }
                    @if !summary.preview.is_empty() { div.preview { (summary.preview) } }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if after != 0 { a href=(keep(None)) { "First page" } }
            @if let Some(next) = next { a href=(keep(Some(next))) rel="next" { "Older conversations" } }
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

/// `GET /inbox/conversations/{id}`: its messages oldest first.
pub async fn conversation(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let detail = with(&state.db, move |c| Box::pin(read::conversation_detail(c, id)))
        .await?
        .filter(|d| signed.session.scope.sees(d.conversation.account_id))
        .ok_or_else(PageError::not_found)?;
    let conv = &detail.conversation;
    let body = html! {
        p { a href={ "/inbox/accounts/" (conv.account_id) } { "← Inbox" } }
        h1 { (subject_or_none(&conv.subject)) }
        p.muted {
            "With " a href={ "/inbox/accounts/" (conv.account_id) "/contacts/" (urlencode(&conv.contact_email)) } { (conv.contact_email) }
            " · " (messages(conv.message_count)) " · started " (short_time(&conv.created_at))
        }
        @for m in &detail.messages { (message(m)) }
    };
    Ok(page(&signed, subject_or_none(&conv.subject), body))
}

fn message(m: &Message) -> Markup {
    let text = m.text.as_deref().unwrap_or("");
    let new_text = m.reply_text.as_deref().unwrap_or(text);
    let quoted = quoted_history(text, new_text, m.signature.as_deref());
    let flags: Vec<&str> = m
        .flags
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let attachments = m.attachments.as_array().cloned().unwrap_or_default();
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
                @if m.kind != "message" { (badge(&m.kind)) }
                @for f in &flags { (badge(f)) }
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
            @if !attachments.is_empty() {
                ul.attachments {
                    @for (i, a) in attachments.iter().enumerate() {
                        li { a href={ "/inbox/messages/" (m.id) "/attachments/" (i) } download {
                            (a["filename"].as_str().unwrap_or("attachment")) }
                            span.muted { " " (a["content_type"].as_str().unwrap_or("")) " · " (a["size"].as_i64().unwrap_or(0)) " bytes" } }
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
pub fn messages(n: i64) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// The authentication verdicts as badges (`SPF pass`, `DKIM fail`, …).
fn auth(auth: &Value) -> Markup {
    html! {
        @for (name, key) in [("SPF", "spf"), ("DKIM", "dkim"), ("DMARC", "dmarc"), ("ARC", "arc")] {
            @if let Some(result) = auth[key].as_str().filter(|r| *r != "none") {
                span class={ "badge " (if result == "pass" { "pass" } else { "fail" }) } { (name) " " (result) }
            }
        }
    }
}

/// `GET /inbox/accounts/{id}/contacts/{email}`: the contact and its Conversations tab.
pub async fn contact(
    State(state): State<WebState>,
    signed: Signed,
    Path((id, email)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    account(&state, signed.session.scope, id).await?;
    let detail = with(&state.db, move |c| {
        Box::pin(async move { read::contact_detail(c, id, &email).await })
    })
    .await?
    .ok_or_else(PageError::not_found)?;
    let k = &detail.contact;
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
            @for conv in &detail.conversations {
                li { div.row {
                    a.grow href={ "/inbox/conversations/" (conv.id) } { (subject_or_none(&conv.subject)) }
                    span.muted { (messages(conv.message_count)) " · " (short_time(&conv.last_message_at)) }
                } }
            }
        }
    };
    Ok(page(&signed, &k.email, body))
}

/// The message, when the session sees its account.
async fn visible_message(state: &WebState, scope: Scope, id: i64) -> Result<Message, PageError> {
    with(&state.db, move |c| Box::pin(read::message(c, id)))
        .await?
        .filter(|m| scope.sees(m.account_id))
        .ok_or_else(PageError::not_found)
}

/// `GET /inbox/messages/{id}/raw`: the bytes as received, as plain text.
pub async fn raw(State(state): State<WebState>, signed: Signed, Path(id): Path<i64>) -> Result<Response, PageError> {
    visible_message(&state, signed.session.scope, id).await?;
    let raw = with(&state.db, move |c| Box::pin(read::message_raw(c, id)))
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
