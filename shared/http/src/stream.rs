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
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [
            (header::LOCATION, location),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
    )
        .into_response())
}
