//! The operator's window: `/healthz` and `/metrics` (Prometheus text format), on axum over hyper's
//! HTTP/1.1, plain or with the SMTP side's TLS certificate (`[http] tls = true`).
//!
//! Off by default; when on, keep it on loopback or a management network. Every connection is
//! bounded: request headers must arrive within [`HEADER_TIMEOUT`] (a slow client is dropped), a
//! request is answered within [`REQUEST_TIMEOUT`] (the work that goes through a person's or an
//! account's whole history within [`LONG_WORK_TIMEOUT`]), bodies are capped at [`MAX_BODY`], and a panic
//! in a handler answers 500 with a JSON error instead of taking the process down. Errors are JSON:
//! `{"error": {"code": "...", "message": "..."}}`.

use crate::api::{self, ApiState, error};
use crate::metrics::METRICS;
use crate::smtp::Context;
use crate::store::MailStore;
use crate::web::WebState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// A request's headers must have arrived by then.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request is answered by then (the database check has its own, shorter bound).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// An export, an erasure or an account's deletion is answered by then: they go through all of a
/// contact's or an account's mail (a 2 GiB export took 16–23 s here, an erasure of 10,000 messages
/// 5–7 s), and an erasure or a deletion goes on to its end even when its request is given up.
const LONG_WORK_TIMEOUT: Duration = Duration::from_secs(3600);
/// The database must answer `/healthz`'s write probe by then.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Request bodies larger than this are refused (413).
const MAX_BODY: usize = 64 * 1024;

/// What `/healthz` checks besides the database: that the SMTP listeners are up.
pub struct Health {
    pub store: Arc<dyn MailStore>,
    pub listening: AtomicBool,
}

/// The routes with their bounds, ready to serve: the operator's two, the API's under `/v1`, and
/// the web inbox under `/inbox`.
pub fn router(health: Arc<Health>, api: ApiState, web: WebState) -> Router {
    let operator = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(health);
    let answered_at_once = Router::new()
        .merge(operator)
        .merge(api::routes().with_state(api.clone()))
        .merge(crate::web::routes().with_state(web))
        .layer(axum::middleware::from_fn(answered_in_time));
    // A long poll may wait up to its `wait`, and then answers as any request does.
    let long_polls = api::long_poll_routes()
        .with_state(api)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            api::MAX_WAIT + REQUEST_TIMEOUT,
        ));
    Router::new()
        .merge(answered_at_once)
        .merge(long_polls)
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("an HTTP handler panicked");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed on this request",
            )
            .into_response()
        }))
        // Outermost, so that every error below it (the bounds included) leaves as JSON.
        .layer(axum::middleware::from_fn(json_errors))
}

/// Answers 503 when the handler has not answered within the time its work is allowed.
async fn answered_in_time(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let allowed = if long_work(request.method(), request.uri().path()) {
        LONG_WORK_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    match tokio::time::timeout(allowed, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request was not answered in time; try again",
        )
        .into_response(),
    }
}

/// Whether a request is one of the long ones: `GET /v1/accounts/{id}/contacts/{email}/export`,
/// `DELETE /v1/accounts/{id}/contacts/{email}` or `DELETE /v1/accounts/{id}`.
fn long_work(method: &axum::http::Method, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        (method, segments.as_slice()),
        (&axum::http::Method::GET, ["v1", "accounts", _, "contacts", _, "export"])
            | (&axum::http::Method::DELETE, ["v1", "accounts", _, "contacts", _])
            | (&axum::http::Method::DELETE, ["v1", "accounts", _])
    )
}

/// Serves until shutdown; with TLS when `[http] tls` is on (the certificate of `[tls]`, reloaded
/// with it on SIGHUP).
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<Context>,
    health: Arc<Health>,
    api: ApiState,
    mut shutdown: watch::Receiver<bool>,
) {
    let web = WebState {
        db: api.db.clone(),
        review: Arc::clone(&api.review),
        tls: ctx.config.http.tls,
    };
    let app = router(health, api, web);
    let tls = ctx.config.http.tls;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let service = TowerToHyperService::new(app.clone());
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let served = match (tls, ctx.tls.as_ref()) {
                (true, Some(settings)) => {
                    match tokio::time::timeout(HEADER_TIMEOUT, settings.acceptor().accept(stream)).await {
                        Ok(Ok(tls_stream)) => http.serve_connection(TokioIo::new(tls_stream), service).await,
                        _ => {
                            tracing::info!(peer = %peer.ip(), "http TLS handshake failed");
                            return;
                        }
                    }
                }
                _ => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(e) = served {
                tracing::debug!(peer = %peer.ip(), error = %e, "http connection ended");
            }
        });
    }
}

/// The errors the framework answers itself (a path or query that does not parse, a method a route
/// does not take, a body over the cap, a timeout) get the door's one error shape too. The operator's
/// `/healthz` keeps its plain-text answers, which probes match on.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let probe = request.uri().path() == "/healthz";
    let response = next.run(request).await;
    if probe {
        return response;
    }
    let status = response.status();
    // JSON errors are the API's; HTML ones are the web inbox's pages.
    let shaped = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/json") || v.starts_with(b"text/html")
    });
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::NOT_FOUND => "not_found",
        _ if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    let message = status.canonical_reason().unwrap_or("error").to_string();
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    let mut json = (status, axum::Json(body)).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        json.headers_mut().insert(header::ALLOW, allow.clone());
    }
    json
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such resource").into_response()
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        METRICS.render(),
    )
        .into_response()
}

async fn healthz(State(health): State<Arc<Health>>) -> Response {
    let text =
        |status: StatusCode, body: String| (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response();
    if !health.listening.load(Ordering::Relaxed) {
        return text(StatusCode::SERVICE_UNAVAILABLE, "smtp listeners are not up\n".into());
    }
    match tokio::time::timeout(PING_TIMEOUT, health.store.ping()).await {
        Ok(Ok(())) => text(StatusCode::OK, "ok\n".into()),
        Ok(Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, format!("database not writable: {e}\n")),
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "database did not answer\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::long_work;
    use axum::http::Method;

    #[test]
    fn exports_erasures_and_account_deletions_are_the_long_work() {
        assert!(long_work(
            &Method::GET,
            "/v1/accounts/7/contacts/jane%40x.example/export"
        ));
        assert!(long_work(&Method::DELETE, "/v1/accounts/7/contacts/jane%40x.example"));
        assert!(long_work(&Method::DELETE, "/v1/accounts/7"));
        assert!(!long_work(&Method::GET, "/v1/accounts/7/contacts/jane%40x.example"));
        assert!(!long_work(&Method::GET, "/v1/accounts/7"));
        assert!(!long_work(&Method::DELETE, "/v1/messages/7"));
        assert!(!long_work(&Method::GET, "/v1/accounts/7/conversations"));
        assert!(!long_work(
            &Method::POST,
            "/v1/accounts/7/contacts/jane%40x.example/export"
        ));
    }
}
