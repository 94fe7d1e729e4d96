//! `stream` feature: redirect to a short-lived URL the object store serves with `Range`.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Origin, ReadableVideo};
use crate::state::{AppState, BlobUrlSigner};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use reel_core::domain::VideoStatus;
use reel_core::metrics::{self, Metric};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
{
    Router::new().route("/videos/{vid}", get(stream_video))
}

/// Who may keep the redirect. The one given without a session (a public or unlisted
/// video) is the same for every anonymous viewer: a cache may share it, for at most a
/// minute and half the URL's life, so what it hands out is valid for a while yet. One
/// given to a session may name its viewer (the embedded endpoint's URLs do): never.
fn redirect_cache(anonymous: bool, url_ttl_secs: u64) -> HeaderValue {
    let shared_secs = crate::cache::MAX_AGE_SECS.min((url_ttl_secs / 2) as u32);
    if anonymous && shared_secs > 0 {
        HeaderValue::from_str(&format!("public, max-age={shared_secs}")).expect("a valid header")
    } else {
        HeaderValue::from_static("private, no-store")
    }
}

/// Watch a ready video the caller may read: 307 to a presigned URL (GET and HEAD).
#[utoipa::path(get, path = "/videos/{vid}", tag = "stream",
    params(("vid" = String, Path)),
    security((), ("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 307, description = "Redirect to a short-lived URL serving the bytes with Range support",
            headers(("Location" = String))),
        (status = 401, description = "`002` an internal video, without a session", body = ErrorBody),
        (status = 404, description = "`005` unknown, not ready, or not the caller's to read", body = ErrorBody),
        (status = 429, description = "`008` stream concurrency limit reached (on the byte endpoint)", body = ErrorBody),
    ))]
pub async fn stream_video(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    ReadableVideo { video, viewer }: ReadableVideo,
    origin: Origin,
) -> Result<Response, ApiError> {
    if video.status != VideoStatus::Ready {
        return Err(ApiError::NotFound("video"));
    }
    let target = urls
        .presign_get(
            &video.id,
            video.content_type.as_deref(),
            viewer.as_ref().map(|u| &u.id),
            state.clock.now(),
        )
        .await?;
    let location = HeaderValue::from_str(&origin.resolve(target.url))
        .map_err(|e| ApiError::Internal(e.into()))?;
    metrics::count(Metric::StreamRedirects, 1);
    let ttl = state.config.api.stream_url_ttl.as_secs();
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, redirect_cache(viewer.is_none(), ttl)),
        ],
    )
        .into_response())
}
