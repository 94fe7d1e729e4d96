//! `stream` feature: redirect to a short-lived URL the object store serves with `Range`.

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, AuthUser, Origin};
use super::state::AppState;
use super::videos::existing_video;
use crate::domain::{Timestamp, VideoStatus};
use crate::metrics::{self, Metric};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().route("/videos/{vid}", get(stream_video))
}

/// Watch a ready video: 307 to a presigned URL (GET and HEAD).
#[utoipa::path(get, path = "/videos/{vid}", tag = "stream",
    params(("vid" = String, Path)),
    security(("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 307, description = "Redirect to a short-lived URL serving the bytes with Range support",
            headers(("Location" = String))),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 404, description = "`005` unknown or not ready", body = ErrorBody),
        (status = 429, description = "`008` stream concurrency limit reached (on the byte endpoint)", body = ErrorBody),
    ))]
pub async fn stream_video(
    State(state): State<AppState>,
    _me: AuthUser,
    ApiPath(vid): ApiPath<String>,
    origin: Origin,
) -> Result<Response, ApiError> {
    let video = existing_video(&state, &vid).await?;
    if video.status != VideoStatus::Ready {
        return Err(ApiError::NotFound("video"));
    }
    let target = state
        .blob_urls()?
        .presign_get(
            &origin.0,
            &video.id,
            video.content_type.as_deref(),
            Timestamp::now(),
        )
        .await
        .map_err(ApiError::Internal)?;
    let location = HeaderValue::from_str(&target.url).map_err(|e| ApiError::Internal(e.into()))?;
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
