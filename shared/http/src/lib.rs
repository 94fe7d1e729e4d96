//! The HTTP layer: one `router()` per feature, shared extractors and errors, and the
//! layers every host applies. Lambda functions serve one feature's router; the local
//! server merges them all ([`site_app`]).

pub mod cache;
pub mod comments;
pub mod cursor;
pub mod dto;
pub mod error;
pub mod extract;
pub mod health;
pub mod multipart;
pub mod openapi;
mod passwords;
pub mod proxy;
mod quota;
pub mod reply;
pub mod sessions;
mod state;
pub mod stream;
mod throttle;
pub mod uploads;
pub mod users;
pub mod videos;
pub mod views;
pub mod web;

pub use state::{AppState, BlobUrlSigner, ByteState, PartStore, UploadState};

use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath};
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use reel_core::metrics;
use std::time::{Duration, Instant};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// JSON routes refuse bodies over this (413 `009`).
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// Every API feature's router, merged (what the local server serves besides bytes).
pub fn api_router() -> Router<UploadState> {
    Router::new()
        .merge(users::router())
        .merge(sessions::router())
        .merge(videos::router())
        .merge(uploads::router())
        .merge(stream::router())
        .merge(comments::router())
}

/// Body limit and timeout for JSON API routes (not for byte transfers, which may be
/// long and large).
pub fn api_limits<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    timeout: Duration,
) -> Router<S> {
    router
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

/// Request ids, one log line per request, and JSON replies for unknown routes and
/// methods. Applied by every host to its finished router.
pub fn with_common_layers(router: Router) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "unmatched".to_owned());
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route)
        })
        .on_request(())
        .on_failure(())
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(tower_http::LatencyUnit::Millis),
        );
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn(cache::cache_rules))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(CatchPanicLayer::custom(panic_reply)),
        )
}

/// The whole site in one process: every API router, health, OpenAPI, pages, and the
/// host's own `bytes` routes (the embedded byte endpoint; none on S3, where clients
/// move bytes to S3 directly), all under the common layers.
pub fn site_app(state: UploadState, bytes: Router) -> Router {
    let timeout = state.bytes.app.config.api.request_timeout;
    let api = api_limits(api_router(), timeout)
        .merge(health::router())
        .merge(openapi::router())
        .merge(web::router())
        .with_state(state);
    with_common_layers(api.merge(bytes))
}

/// Each HTTP function's routes, one plain function per binary: a binary that names only
/// its own links no other feature's handlers, templates or assets. The functions that
/// move bytes (videos, stream) need a [`ByteState`]; the others an [`AppState`].
pub mod function_routes {
    use super::*;

    pub fn users() -> Router<AppState> {
        users::router()
    }
    pub fn sessions() -> Router<AppState> {
        sessions::router()
    }
    /// Video metadata, poster grants and multipart uploads' part URLs: signing only.
    pub fn videos() -> Router<ByteState> {
        videos::router()
            .merge(uploads::poster_router())
            .merge(multipart::signing_router())
    }
    /// Upload grants (a multipart upload begins in storage) and the multipart calls to
    /// storage: the one HTTP function with an S3 client.
    pub fn uploads() -> Router<UploadState> {
        uploads::grant_router().merge(multipart::storage_router())
    }
    pub fn comments() -> Router<AppState> {
        comments::router()
    }
    pub fn stream() -> Router<ByteState> {
        stream::router()
    }
    /// Pages, static assets and the OpenAPI document.
    pub fn web() -> Router<ByteState> {
        web::router().merge(openapi::router())
    }
}

/// One function's app: its feature's routes, health, and the same limits and layers as
/// the local server, so a route answers alike on both hosts; outermost, the `Latency`
/// metric of every request (only here: the local server has its request log line).
/// With `REEL_ORIGIN_SECRET`, only requests through the CloudFront distribution pass
/// (see [`proxy`]).
pub fn function_app<S>(feature: Router<S>, state: S) -> Router
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    let config = AppState::from_ref(&state).config;
    let timeout = config.api.request_timeout;
    let origin_secret: Option<std::sync::Arc<str>> = config.api.origin_secret().map(Into::into);
    let mut app = api_limits(feature, timeout)
        .merge(health::router())
        .with_state(state);
    if let Some(secret) = origin_secret {
        app = app.layer(axum::middleware::from_fn_with_state(
            secret,
            proxy::require_origin_secret,
        ));
    }
    with_common_layers(app).layer(axum::middleware::from_fn(latency_metric))
}

/// Emits [`metrics::Metric::Latency`]: the time to the response's head (a body is not
/// waited for), with the route template, status and `x-request-id` as properties.
async fn latency_metric(
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let ms = started.elapsed().as_micros() as f64 / 1000.0;
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    metrics::latency(
        ms,
        route.as_deref().unwrap_or("unmatched"),
        response.status().as_u16(),
        request_id,
    );
    response
}

/// A handler panic becomes a 500 `004` in the envelope (and one error log line), not a
/// dropped connection.
fn panic_reply(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    axum::response::IntoResponse::into_response(error::ApiError::Internal(anyhow::anyhow!(
        "handler panicked: {message}"
    )))
}
