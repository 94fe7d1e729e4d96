//! `uploads` feature: hand out a URL the client PUTs the video's bytes to, straight into
//! the object store (S3 presigned PUT; locally, the signed blob endpoint).

use crate::dto::{PosterUploadRequest, UploadAnswer, UploadGrant, UploadRequest};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, AuthVideo, Origin};
use crate::reply::Reply;
use crate::state::{AppState, BlobUrlSigner, PartStore};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use reel_core::domain::{Poster, PosterType, UploadPlan, VideoContentType, VideoStatus};
use reel_core::metrics::{self, Metric};
use reel_core::ports::PresignedRequest;

/// Every upload route: grants, posters and multipart uploads (the local site).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
    PartStore: axum::extract::FromRef<S>,
{
    grant_router()
        .merge(poster_router())
        .merge(crate::multipart::signing_router())
        .merge(crate::multipart::storage_router())
}

/// `POST /upload/{vid}`: a signed PUT, or a multipart upload begun in storage (so it
/// needs the store's multipart client: on AWS the `uploads` function).
pub fn grant_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
    PartStore: axum::extract::FromRef<S>,
{
    Router::new().route("/upload/{vid}", post(grant_upload))
}

/// `POST /upload/{vid}/poster`: signing only.
pub fn poster_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
{
    Router::new().route("/upload/{vid}/poster", post(grant_poster_upload))
}

/// Get a URL to upload a pending video's bytes to, or (above the single-PUT threshold)
/// begin a multipart upload.
#[utoipa::path(post, path = "/upload/{vid}", tag = "uploads",
    params(("vid" = String, Path)), request_body = UploadRequest,
    security(("session_header" = [])),
    responses(
        (status = 200, description = "Up to the single-PUT threshold (`REEL_MULTIPART_THRESHOLD_BYTES`, 64 MiB by default): send exactly `size` bytes to `url` with `headers`. Above it: a multipart plan; ask `/upload/{vid}/parts` for the parts' URLs", body = UploadAnswer),
        (status = 400, description = "`001` malformed body or zero size", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video", body = ErrorBody),
        (status = 409, description = "`006` the video is already ready, or a multipart upload of it is in progress", body = ErrorBody),
        (status = 413, description = "`009` size over the maximum, or over the user's quota of bytes granted and not yet received (`REEL_MAX_PENDING_UPLOAD_BYTES`)", body = ErrorBody),
        (status = 415, description = "`010` not a video/* type", body = ErrorBody),
    ))]
pub async fn grant_upload(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    State(parts): State<PartStore>,
    AuthVideo { me, video }: AuthVideo,
    origin: Origin,
    ApiJson(body): ApiJson<UploadRequest>,
) -> Result<Reply<UploadAnswer>, ApiError> {
    if video.author_id != me.id {
        return Err(ApiError::Forbidden(
            "only the owner may upload a video's bytes",
        ));
    }
    if video.status != VideoStatus::Pending {
        return Err(ApiError::Conflict(
            "the video's bytes have already been uploaded",
        ));
    }
    if body.size == 0 {
        return Err(ApiError::bad_request("size must be at least 1 byte"));
    }
    if body.size > state.config.api.max_upload_bytes.get() {
        return Err(ApiError::PayloadTooLarge(
            "size is over the maximum upload size",
        ));
    }
    let content_type = VideoContentType::parse(&body.content_type)
        .map_err(|_| ApiError::UnsupportedMediaType("content_type must be video/*"))?;
    let threshold = state.config.api.multipart_threshold_bytes.get();
    let plan = UploadPlan::for_size(body.size, threshold).ok_or(ApiError::PayloadTooLarge(
        "size is over the largest upload storage takes",
    ))?;
    let answer = match plan {
        UploadPlan::Single => {
            if !crate::quota::reserve_upload(&state, &me.id, &video.id, body.size).await? {
                // Its bytes landed, or it was deleted, since it was read.
                return Err(ApiError::Conflict(
                    "the video is no longer waiting for its bytes",
                ));
            }
            let request = urls
                .presign_put(&video.id, body.size, &content_type, state.clock.now())
                .await?;
            metrics::count(Metric::UploadGrants, 1);
            UploadAnswer::Single(grant(request, &origin))
        }
        UploadPlan::Multipart(plan) => {
            crate::quota::check_room_for_upload(&state, &me.id, &video.id, body.size).await?;
            let begun = crate::multipart::begin(&state, &parts, &video, plan, content_type);
            UploadAnswer::Multipart(begun.await?)
        }
    };
    Ok(Reply(StatusCode::OK, answer))
}

fn grant(request: PresignedRequest, origin: &Origin) -> UploadGrant {
    UploadGrant {
        url: origin.resolve(request.url),
        method: "PUT".into(),
        headers: request.headers.into_iter().collect(),
        expires_at: request.expires.rfc3339(),
    }
}

/// Get a URL to upload a video's poster image to (a new one replaces the old).
#[utoipa::path(post, path = "/upload/{vid}/poster", tag = "uploads",
    params(("vid" = String, Path)), request_body = PosterUploadRequest,
    security(("session_header" = [])),
    responses(
        (status = 200, description = "Send exactly `size` bytes to `url` with `headers`; the image's header (type, dimensions) is checked when it lands", body = UploadGrant),
        (status = 400, description = "`001` malformed body or zero size", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video", body = ErrorBody),
        (status = 409, description = "`006` the video was rejected", body = ErrorBody),
        (status = 413, description = "`009` over 2 MiB", body = ErrorBody),
        (status = 415, description = "`010` not image/webp or image/jpeg", body = ErrorBody),
    ))]
pub async fn grant_poster_upload(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    AuthVideo { me, video }: AuthVideo,
    origin: Origin,
    ApiJson(body): ApiJson<PosterUploadRequest>,
) -> Result<Reply<UploadGrant>, ApiError> {
    if video.author_id != me.id {
        return Err(ApiError::Forbidden(
            "only the owner may set a video's poster",
        ));
    }
    if video.status == VideoStatus::Rejected {
        return Err(ApiError::Conflict("the video was rejected"));
    }
    if body.size == 0 {
        return Err(ApiError::bad_request("size must be at least 1 byte"));
    }
    if body.size > reel_media::poster::MAX_BYTES {
        return Err(ApiError::PayloadTooLarge("a poster is at most 2 MiB"));
    }
    let content_type = PosterType::parse(&body.content_type).ok_or(
        ApiError::UnsupportedMediaType("content_type must be image/webp or image/jpeg"),
    )?;
    let now = state.clock.now();
    let poster = Poster {
        content_type,
        at: now,
    };
    if !state.videos.grant_poster(&video.id, &poster).await? {
        return Err(ApiError::NotFound("video"));
    }
    let request = urls
        .presign_poster_put(&video.id, body.size, content_type, now)
        .await?;
    Ok(Reply(StatusCode::OK, grant(request, &origin)))
}
