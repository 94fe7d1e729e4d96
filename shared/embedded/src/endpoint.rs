//! The local byte endpoint, the embedded stand-in for S3: `PUT` stores an upload and
//! `GET`/`HEAD` serve it with full `Range` support, both only through URLs signed by
//! `LocalBlobs`. Byte-serving is guarded by a non-blocking connection limiter.

use crate::{BlobQuery, LocalBlobs, UploadError, UrlError};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use http_range_header::StartPosition;
use reel_core::clock::Clock;
use reel_core::domain::{
    Access, PartNumber, UploadId, UserId, Video, VideoContentType, VideoId, VideoStatus, Viewer,
};
use reel_core::media::{settle_upload, Settled};
use reel_core::ports::{Blobs, Videos};
use reel_http::error::ApiError;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How much of a file is read per chunk: bounds memory per response (two chunks: at the
/// default 64 streams, 32 MiB in all).
const CHUNK: usize = 256 * 1024;

#[derive(Clone)]
pub struct BlobEndpoint {
    pub blobs: Arc<LocalBlobs>,
    pub videos: Arc<dyn Videos>,
    /// One permit per response being served; `try_acquire` so a full limiter answers
    /// 429 at once instead of queueing. The permit lives in the response body, so it is
    /// freed when the body ends or the client disconnects (the body is dropped).
    pub limiter: Arc<Semaphore>,
    /// Videos whose bytes are being received: one PUT at a time per video, so parallel
    /// replays of one URL cannot each stage a full copy.
    pub uploading: Arc<Mutex<HashSet<VideoId>>>,
    /// What signed URLs' expiry is checked against.
    pub clock: Arc<dyn Clock>,
}

/// A video's claim on [`BlobEndpoint::uploading`], released when dropped (the upload
/// finished, failed, or its client went away).
pub(crate) struct UploadClaim {
    uploading: Arc<Mutex<HashSet<VideoId>>>,
    video: VideoId,
}

impl UploadClaim {
    pub(crate) fn take(uploading: &Arc<Mutex<HashSet<VideoId>>>, video: VideoId) -> Option<Self> {
        let mut set = uploading.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(video).then(|| Self {
            uploading: uploading.clone(),
            video,
        })
    }
}

impl Drop for UploadClaim {
    fn drop(&mut self) {
        let mut set = self.uploading.lock().unwrap_or_else(|e| e.into_inner());
        set.remove(&self.video);
    }
}

pub fn router(endpoint: BlobEndpoint) -> Router {
    Router::new()
        .route("/blobs/{vid}", get(serve).put(upload))
        .route(
            "/blobs/{vid}/poster",
            get(crate::poster_endpoint::serve).put(crate::poster_endpoint::upload),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(endpoint)
}

pub(crate) fn check_url(
    endpoint: &BlobEndpoint,
    vid: &str,
    query: Result<Query<BlobQuery>, QueryRejection>,
    op: &str,
) -> Result<(VideoId, BlobQuery), ApiError> {
    let forbidden = || ApiError::Forbidden("the URL's signature does not match");
    let Query(query) = query.map_err(|_| forbidden())?;
    let video = VideoId::parse(vid).map_err(|_| forbidden())?;
    endpoint
        .blobs
        .verify(&video, &query, endpoint.clock.now())
        .map_err(|e| match e {
            UrlError::BadSignature => forbidden(),
            UrlError::Expired => ApiError::Forbidden("the URL has expired"),
        })?;
    if query.op != op {
        return Err(forbidden());
    }
    Ok((video, query))
}

/// Whether the viewer a stream URL was granted to may still read `video`. A URL
/// without one (issued before URLs named their viewer) counts as anonymous.
fn url_may_read(video: &Video, query: &BlobQuery) -> bool {
    let id = match query.who.as_deref() {
        None | Some(crate::blobs::ANONYMOUS) => None,
        Some(raw) => match UserId::parse(raw) {
            Ok(id) => Some(id),
            Err(_) => return false,
        },
    };
    let viewer = match &id {
        Some(id) => Viewer::SignedIn(id),
        None => Viewer::Anonymous,
    };
    video.exposure().access(viewer) == Access::Read
}

async fn serve(
    State(endpoint): State<BlobEndpoint>,
    Path(vid): Path<String>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (video, query) = check_url(&endpoint, &vid, query, "get")?;
    // A deleted video's bytes are gone at once for every URL, though the file waits for
    // the deletion worker; so are those of a video whose visibility no longer lets the
    // URL's viewer read it (the one access decision, asked again here).
    match endpoint.videos.get(&video).await? {
        Some(v) if v.status == VideoStatus::Ready && url_may_read(&v, &query) => {}
        _ => return Err(ApiError::NotFound("video")),
    }
    let permit =
        endpoint.limiter.clone().try_acquire_owned().map_err(|_| {
            ApiError::TooManyRequests("too many streams at once; try again shortly")
        })?;
    let Some(blob) = endpoint
        .blobs
        .open_for_read(&video)
        .await
        .map_err(ApiError::Internal)?
    else {
        return Err(ApiError::NotFound("video"));
    };
    let mtime = blob
        .modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let etag = format!("\"{:x}-{:x}\"", blob.len, mtime);
    let mut response_headers = HeaderMap::new();
    let content_type = query.ct.as_deref().unwrap_or("application/octet-stream");
    response_headers.insert(header::CONTENT_TYPE, header_value(content_type)?);
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(header::ETAG, header_value(&etag)?);
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=600"),
    );

    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }

    let (status, start, len) = match requested_range(&headers, &etag, blob.len) {
        RangeAnswer::Whole => (StatusCode::OK, 0, blob.len),
        RangeAnswer::Part { start, end } => {
            let value = format!("bytes {start}-{end}/{}", blob.len);
            response_headers.insert(header::CONTENT_RANGE, header_value(&value)?);
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeAnswer::Unsatisfiable => {
            let value = format!("bytes */{}", blob.len);
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [
                    (header::CONTENT_RANGE, header_value(&value)?),
                    (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
                ],
            )
                .into_response());
        }
    };
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let stream = file_chunks(blob.file, start, len).map(move |chunk| {
        let _held_until_the_body_is_dropped = &permit;
        chunk
    });
    Ok((status, response_headers, Body::from_stream(stream)).into_response())
}

/// `len` bytes of `file` from `start`, in chunks of [`CHUNK`]: one blocking task reads
/// them with positioned reads and hands each to the body through a channel of one, so
/// a response costs one trip to the blocking pool, not one per chunk, and a slow client
/// holds at most two chunks (one waiting, one being read). The task ends at the end of
/// the range, at a read error (which ends the body), or when the body is dropped (the
/// client went away).
fn file_chunks(
    file: std::fs::File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    use std::os::unix::fs::FileExt;
    let (chunks, mut received) = tokio::sync::mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        let end = start.saturating_add(len);
        let mut at = start;
        while at < end {
            let size = (end - at).min(CHUNK as u64) as usize;
            let mut buf = vec![0; size];
            let read = file.read_exact_at(&mut buf, at).map(|()| Bytes::from(buf));
            let failed = read.is_err();
            if chunks.blocking_send(read).is_err() || failed {
                return;
            }
            at += size as u64;
        }
    });
    futures_util::stream::poll_fn(move |cx| received.poll_recv(cx))
}

pub(crate) fn header_value(s: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(s).map_err(|e| ApiError::Internal(e.into()))
}

enum RangeAnswer {
    Whole,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// RFC 9110: a syntactically invalid `Range`, or one with a stale `If-Range`, is ignored
/// (whole body); one range that cannot be satisfied is 416. Several ranges are answered
/// with the whole body, which the RFC allows. A suffix longer than the file means the
/// whole file (§14.1.2), as a 206.
fn requested_range(headers: &HeaderMap, etag: &str, len: u64) -> RangeAnswer {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeAnswer::Whole;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        if if_range.as_bytes() != etag.as_bytes() {
            return RangeAnswer::Whole;
        }
    }
    let Ok(mut parsed) = http_range_header::parse_range_header(range) else {
        return RangeAnswer::Whole;
    };
    for r in &mut parsed.ranges {
        match r.start {
            StartPosition::FromLast(suffix) if suffix > len && len > 0 => {
                r.start = StartPosition::FromLast(len);
            }
            _ => {}
        }
    }
    match parsed.validate(len) {
        Ok(ranges) if ranges.len() == 1 => RangeAnswer::Part {
            start: *ranges[0].start(),
            end: *ranges[0].end(),
        },
        Ok(_) => RangeAnswer::Whole,
        Err(_) => RangeAnswer::Unsatisfiable,
    }
}

/// An upload's failure, as the client is told it.
fn upload_error(e: UploadError) -> ApiError {
    match e {
        UploadError::TooLarge => {
            ApiError::PayloadTooLarge("the body is larger than the signed size")
        }
        UploadError::TooShort => ApiError::bad_request("the body is shorter than the signed size"),
        UploadError::Interrupted(_) => ApiError::bad_request("the upload was interrupted"),
        UploadError::StorageLow(_) => {
            tracing::warn!("an upload was refused: the disk is down to its free-space floor");
            ApiError::StorageLow
        }
        UploadError::Io(e) => ApiError::Internal(e),
    }
}

/// The request's `Content-Type` must be the one its URL signs (as S3 checks).
pub(crate) fn require_signed_type(headers: &HeaderMap, signed: &str) -> Result<(), ApiError> {
    let sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if sent != Some(signed) {
        return Err(ApiError::Forbidden(
            "Content-Type must be exactly the signed one",
        ));
    }
    Ok(())
}

/// The body of a PUT, ended where its URL's expiry (`exp`, Unix seconds) passes: the
/// expiry holds during the transfer too. The flag says whether that is what ended it.
fn until_expiry(
    body: Body,
    exp: i64,
    now: reel_core::domain::Timestamp,
) -> (
    impl futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
    Arc<AtomicBool>,
) {
    let left = exp.saturating_sub(now.unix_seconds()).max(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(left as u64);
    let expired = Arc::new(AtomicBool::new(false));
    let body = body.into_data_stream().take_until(Box::pin({
        let expired = expired.clone();
        async move {
            tokio::time::sleep_until(deadline).await;
            expired.store(true, Ordering::SeqCst);
        }
    }));
    (body, expired)
}

/// A transfer's failure, as the client is told it: a body cut short by the URL's
/// expiry says so.
fn transfer_error(e: UploadError, expired: &AtomicBool) -> ApiError {
    match e {
        UploadError::TooShort if expired.load(Ordering::SeqCst) => {
            ApiError::Forbidden("the URL expired during the transfer")
        }
        other => upload_error(other),
    }
}

/// `Content-Length`, when sent, must be the signed size: refused before any byte is read.
fn require_signed_length(headers: &HeaderMap, size: u64) -> Result<(), ApiError> {
    let Some(declared) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(());
    };
    if declared > size {
        return Err(ApiError::PayloadTooLarge(
            "Content-Length is over the signed size",
        ));
    }
    if declared < size {
        return Err(ApiError::bad_request(
            "Content-Length is under the signed size",
        ));
    }
    Ok(())
}

async fn upload(
    State(endpoint): State<BlobEndpoint>,
    Path(vid): Path<String>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if query.as_ref().is_ok_and(|q| q.op == "part") {
        return upload_part(endpoint, vid, query, headers, body).await;
    }
    let (video, query) = check_url(&endpoint, &vid, query, "put")?;
    let (Some(size), Some(ct)) = (query.size, query.ct.as_deref()) else {
        return Err(ApiError::Forbidden("the URL's signature does not match"));
    };
    let content_type = VideoContentType::parse(ct)
        .map_err(|_| ApiError::UnsupportedMediaType("not a video type"))?;
    require_signed_type(&headers, ct)?;
    require_signed_length(&headers, size)?;
    let Some(_claim) = UploadClaim::take(&endpoint.uploading, video) else {
        return Err(ApiError::Conflict(
            "an upload of this video is already in progress",
        ));
    };
    // Checked under the claim: no other PUT of this video can turn it ready meanwhile,
    // so a ready video's bytes are never replaced.
    let current = endpoint.videos.get(&video).await?;
    match current {
        None => return Err(ApiError::NotFound("video")),
        Some(v) if v.status != VideoStatus::Pending => {
            return Err(ApiError::Conflict(
                "the video's bytes have already been uploaded",
            ))
        }
        Some(_) => {}
    }
    let _room = endpoint.blobs.reserve_room(size).map_err(upload_error)?;
    let (body, expired) = until_expiry(body, query.exp, endpoint.clock.now());
    let written = endpoint
        .blobs
        .write(&video, body, size)
        .await
        .map_err(|e| transfer_error(e, &expired))?;
    let blobs: Arc<dyn Blobs> = endpoint.blobs.clone();
    let now = endpoint.clock.now();
    let settled = settle_upload(
        endpoint.videos.as_ref(),
        blobs,
        &video,
        written,
        &content_type,
        now,
    )
    .await
    .map_err(ApiError::Internal)?;
    match settled {
        // Deleted while uploading: the bytes are gone with it.
        Settled::Gone => return Err(ApiError::NotFound("video")),
        Settled::Ready(_) => {
            tracing::info!(video = %video, bytes = written, "upload stored");
            // Embedded storage's counterpart of `video-events` making a video ready.
            reel_core::metrics::count(reel_core::metrics::Metric::UploadsCompleted, 1);
        }
        Settled::Rejected(_) => {}
    }
    let etag = format!("\"{video}-{written:x}\"");
    Ok((StatusCode::OK, [(header::ETAG, header_value(&etag)?)]).into_response())
}

/// PUT of one part of a multipart upload (`op=part`): the video must still be pending
/// with this upload in progress; the part is synced before the 200, whose `ETag` is its
/// MD5 (as S3 answers `UploadPart`).
async fn upload_part(
    endpoint: BlobEndpoint,
    vid: String,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (video, query) = check_url(&endpoint, &vid, query, "part")?;
    let forbidden = || ApiError::Forbidden("the URL's signature does not match");
    let (Some(len), Some(number), Some(upload)) = (query.size, query.part, query.upload.as_deref())
    else {
        return Err(forbidden());
    };
    let upload = UploadId::parse(upload).map_err(|_| forbidden())?;
    require_signed_length(&headers, len)?;
    let now = endpoint.clock.now();
    let in_progress = endpoint.videos.get(&video).await?.is_some_and(|v| {
        let this = |u: &reel_core::domain::MultipartUpload| u.id == upload && u.in_progress(now);
        v.status == VideoStatus::Pending && v.upload.as_ref().is_some_and(this)
    });
    if !in_progress {
        return Err(ApiError::NotFound("upload"));
    }
    let part = PartNumber::signed(number);
    let _room = endpoint.blobs.reserve_room(len).map_err(upload_error)?;
    let (body, expired) = until_expiry(body, query.exp, endpoint.clock.now());
    let etag = endpoint
        .blobs
        .write_part(&video, &upload, part, len, body)
        .await
        .map_err(|e| transfer_error(e, &expired))?
        .ok_or(ApiError::NotFound("upload"))?;
    Ok((StatusCode::OK, [(header::ETAG, header_value(&etag)?)]).into_response())
}

#[cfg(test)]
mod tests {
    use super::{file_chunks, CHUNK};
    use futures_util::StreamExt;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[tokio::test]
    async fn a_range_arrives_whole_in_chunks() {
        let bytes: Vec<u8> = (0..(CHUNK * 2 + 1000)).map(|i| (i % 251) as u8).collect();
        let start = 100;
        let len = CHUNK as u64 + 500;
        let chunks: Vec<_> = file_chunks(file_of(&bytes), start, len)
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [CHUNK, 500]
        );
        assert_eq!(chunks.concat(), bytes[100..100 + CHUNK + 500]);
        let whole: Vec<_> = file_chunks(file_of(&bytes), 0, bytes.len() as u64)
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(whole.concat(), bytes);
    }

    #[tokio::test]
    async fn a_short_file_ends_the_body_with_an_error() {
        let mut chunks = file_chunks(file_of(b"only this"), 0, 100);
        assert!(chunks.next().await.unwrap().is_err());
        assert!(chunks.next().await.is_none());
    }
}
