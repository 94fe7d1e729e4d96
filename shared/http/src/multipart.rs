//! Multipart uploads (API.md, "Multipart uploads"): a video above the single-PUT
//! threshold is sent in parts, straight to the object store by signed URLs, any number
//! in parallel, resumable from what storage already holds, then assembled.
//! `POST /upload/{vid}` begins one ([`begin`], called by `uploads::grant_upload`).

use crate::dto::{
    CompleteRequest, MultipartPlan, PartUrl, PartUrls, PartsRequest, StoredPartView, StoredParts,
    UploadIdQuery, VideoView,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, AuthVideo, Origin};
use crate::reply::Reply;
use crate::state::{AppState, BlobUrlSigner, PartStore};
use crate::views::VideoViews;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use reel_core::domain::{
    check_completion, MultipartUpload, PartPlan, Timestamp, UploadId, Video, VideoContentType,
    VideoId, VideoStatus,
};
use reel_core::media::{as_settled, Settled};
use reel_core::metrics::{self, Metric};
use reel_core::ports::BeginMultipart;

/// A completion names every part (up to 10,000, some 75 bytes each in JSON): more
/// than the API's usual 64 KiB.
const COMPLETE_BODY_LIMIT: usize = 1 << 20;

/// Signing part URLs: offline work, no call to storage (on AWS the `videos` function,
/// which carries no S3 client).
pub fn signing_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
{
    Router::new().route("/upload/{vid}/parts", post(sign_parts))
}

/// The calls to storage's multipart uploads: list, complete, abort (on AWS the
/// `uploads` function, with the S3 client).
pub fn storage_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
    PartStore: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/upload/{vid}", axum::routing::delete(abort_upload))
        .route("/upload/{vid}/parts", get(list_parts))
        .route(
            "/upload/{vid}/complete",
            post(complete_upload).layer(DefaultBodyLimit::max(COMPLETE_BODY_LIMIT)),
        )
}

/// Begins a multipart upload of `plan.size()` bytes for the owner's pending `video`:
/// storage's upload first, then the video's record of it, which refuses a second one
/// while the first is in progress (that storage upload is then discarded).
pub(crate) async fn begin(
    state: &AppState,
    parts: &PartStore,
    video: &Video,
    plan: PartPlan,
    content_type: VideoContentType,
) -> Result<MultipartPlan, ApiError> {
    let now = state.clock.now();
    if video.upload.as_ref().is_some_and(|u| u.in_progress(now)) {
        return Err(in_progress());
    }
    let id = parts.0.create(&video.id, &content_type).await?;
    let upload = MultipartUpload {
        id,
        plan,
        content_type,
        expires: MultipartUpload::expiry_from(now),
    };
    let begun = state.videos.begin_multipart(&video.id, &upload, now).await;
    match begun {
        Ok(BeginMultipart::Begun) => {
            metrics::count(Metric::UploadGrants, 1);
            Ok(MultipartPlan {
                upload_id: upload.id.to_string(),
                part_size: plan.part_size(),
                part_count: plan.part_count(),
                expires_at: upload.expires.rfc3339(),
            })
        }
        refused => {
            discard(parts, &video.id, &upload.id).await;
            match refused? {
                BeginMultipart::InProgress => Err(in_progress()),
                _ => Err(ApiError::Conflict(
                    "the video is no longer waiting for its bytes",
                )),
            }
        }
    }
}

/// Discards an upload nobody will finish (a refused begin), best effort: should it
/// fail, the parts go two days after the upload began (the bucket's lifecycle rule on
/// S3, the embedded store's sweep).
async fn discard(parts: &PartStore, video: &VideoId, upload: &UploadId) {
    if let Err(e) = parts.0.abort(video, upload).await {
        tracing::warn!(%video, cause = format!("{e:#}"), "discarding an upload failed");
    }
}

fn in_progress() -> ApiError {
    ApiError::Conflict("an upload of this video is already in progress")
}

/// The owner's pending video's upload in progress named `raw`: 403 for anyone else,
/// 409 once the video's bytes are in, 404 for any other id (unknown, aborted,
/// completed, expired).
fn upload_of(
    me: &reel_core::domain::UserId,
    video: &Video,
    raw: &str,
    now: Timestamp,
) -> Result<MultipartUpload, ApiError> {
    if video.author_id != *me {
        return Err(ApiError::Forbidden(
            "only the owner may upload a video's bytes",
        ));
    }
    if video.status != VideoStatus::Pending {
        return Err(ApiError::Conflict(
            "the video's bytes have already been uploaded",
        ));
    }
    let unknown = || ApiError::NotFound("upload");
    let id = UploadId::parse(raw).map_err(|_| unknown())?;
    video
        .upload
        .clone()
        .filter(|u| u.id == id && u.in_progress(now))
        .ok_or_else(unknown)
}

/// Get signed URLs for parts of a multipart upload.
#[utoipa::path(post, path = "/upload/{vid}/parts", tag = "uploads",
    params(("vid" = String, Path)), request_body = PartsRequest,
    security(("session_header" = [])),
    responses(
        (status = 200, description = "PUT each part's exact bytes to its `url` with its `headers`; the reply's `ETag` header is the part's", body = PartUrls),
        (status = 400, description = "`001` malformed body; 0 or over 100 part numbers, one outside the plan or named twice", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video, or no such upload in progress", body = ErrorBody),
        (status = 409, description = "`006` the video's bytes are already in", body = ErrorBody),
    ))]
pub async fn sign_parts(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    AuthVideo { me, video }: AuthVideo,
    origin: Origin,
    ApiJson(body): ApiJson<PartsRequest>,
) -> Result<Reply<PartUrls>, ApiError> {
    let now = state.clock.now();
    let upload = upload_of(&me.id, &video, &body.upload_id, now)?;
    let numbers = upload.plan.parts(&body.part_numbers)?;
    let mut parts = Vec::with_capacity(numbers.len());
    for number in numbers {
        let len = upload.plan.part_len(number);
        let signed = urls
            .presign_part(&video.id, &upload.id, number, len, now)
            .await?;
        parts.push(PartUrl {
            part_number: number.get(),
            url: origin.resolve(signed.url),
            method: "PUT".into(),
            headers: signed.headers.into_iter().collect(),
            expires_at: signed.expires.rfc3339(),
        });
    }
    Ok(Reply(StatusCode::OK, PartUrls { parts }))
}

/// List the parts storage holds of a multipart upload: what resuming starts from.
#[utoipa::path(get, path = "/upload/{vid}/parts", tag = "uploads",
    params(("vid" = String, Path), UploadIdQuery),
    security(("session_header" = [])),
    responses(
        (status = 200, body = StoredParts),
        (status = 400, description = "`001` no `upload_id`", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video, or no such upload in progress", body = ErrorBody),
        (status = 409, description = "`006` the video's bytes are already in", body = ErrorBody),
    ))]
pub async fn list_parts(
    State(state): State<AppState>,
    State(parts): State<PartStore>,
    AuthVideo { me, video }: AuthVideo,
    ApiQuery(query): ApiQuery<UploadIdQuery>,
) -> Result<Reply<StoredParts>, ApiError> {
    let upload = upload_of(&me.id, &video, &query.upload_id, state.clock.now())?;
    let stored = parts
        .0
        .list_parts(&video.id, &upload.id)
        .await?
        .ok_or(ApiError::NotFound("upload"))?;
    let parts = stored
        .into_iter()
        .map(|p| StoredPartView {
            part_number: p.number,
            etag: p.etag,
            size: p.size,
        })
        .collect();
    Ok(Reply(StatusCode::OK, StoredParts { parts }))
}

/// Assemble a multipart upload's parts into the video: it then continues as after a
/// single PUT (its header read, ready or rejected).
#[utoipa::path(post, path = "/upload/{vid}/complete", tag = "uploads",
    params(("vid" = String, Path)), request_body = CompleteRequest,
    security(("session_header" = [])),
    responses(
        (status = 200, description = "The video, with its bytes in", body = VideoView),
        (status = 400, description = "`001` malformed body; a part missing, named twice or out of order, a wrong ETag, or parts that are not the declared size (nothing is assembled)", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video, or no such upload in progress", body = ErrorBody),
        (status = 409, description = "`006` the video's bytes are already in, or are being written", body = ErrorBody),
        (status = 413, description = "`009` a body over 1 MiB (10,000 parts take about 750 KB)", body = ErrorBody),
    ))]
pub async fn complete_upload(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    State(parts): State<PartStore>,
    AuthVideo { me, video }: AuthVideo,
    origin: Origin,
    ApiJson(body): ApiJson<CompleteRequest>,
) -> Result<Reply<VideoView>, ApiError> {
    let upload = upload_of(&me.id, &video, &body.upload_id, state.clock.now())?;
    let named: Vec<(u64, String)> = body
        .parts
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    let stored = parts
        .0
        .list_parts(&video.id, &upload.id)
        .await?
        .ok_or(ApiError::NotFound("upload"))?;
    check_completion(&upload.plan, &named, &stored).map_err(ApiError::bad_request)?;
    let numbered: Vec<_> = named
        .into_iter()
        .map(|(n, etag)| Ok((upload.plan.part(n)?, etag)))
        .collect::<Result<_, reel_core::domain::ParseError>>()?;
    let settled = parts
        .0
        .complete(&video.id, &upload, &numbered)
        .await?
        .ok_or(ApiError::NotFound("upload"))?;
    if settled == Settled::Gone {
        return Err(ApiError::NotFound("video"));
    }
    let video = as_settled(video, upload.plan.size(), &upload.content_type, &settled);
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    Ok(Reply(StatusCode::OK, views.of(video).await?))
}

/// Abort a multipart upload: its parts are discarded.
#[utoipa::path(delete, path = "/upload/{vid}", tag = "uploads",
    params(("vid" = String, Path), UploadIdQuery),
    security(("session_header" = [])),
    responses(
        (status = 204, description = "Aborted; its parts are gone"),
        (status = 400, description = "`001` no `upload_id`", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video, or no such upload in progress", body = ErrorBody),
        (status = 409, description = "`006` the video's bytes are already in", body = ErrorBody),
    ))]
pub async fn abort_upload(
    State(state): State<AppState>,
    State(parts): State<PartStore>,
    AuthVideo { me, video }: AuthVideo,
    ApiQuery(query): ApiQuery<UploadIdQuery>,
) -> Result<StatusCode, ApiError> {
    let upload = upload_of(&me.id, &video, &query.upload_id, state.clock.now())?;
    // The record first: should the discarding fail, a new upload may still begin (the
    // parts left behind are swept after two days).
    state.videos.end_multipart(&video.id, &upload.id).await?;
    parts.0.abort(&video.id, &upload.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
