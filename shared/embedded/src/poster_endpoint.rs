//! Posters on the local byte endpoint: `PUT` stores one through a URL signed for its
//! exact size and type, once its header proves it is that kind of image; `GET` serves
//! it through the hour-long URL listings carry, cached by the browser as long.

use crate::endpoint::{check_url, header_value, require_signed_type, BlobEndpoint};
use crate::BlobQuery;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reel_core::domain::{Poster, PosterType, Timestamp};
use reel_http::error::ApiError;
use reel_media::poster::{self, PosterError};

fn forbidden() -> ApiError {
    ApiError::Forbidden("the URL's signature does not match")
}

pub(crate) async fn upload(
    State(endpoint): State<BlobEndpoint>,
    Path(vid): Path<String>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (video, query) = check_url(&endpoint, &vid, query, "poster-put")?;
    let (Some(size), Some(ct), Some(at)) = (query.size, query.ct.as_deref(), query.v) else {
        return Err(forbidden());
    };
    let content_type = PosterType::parse(ct).ok_or_else(forbidden)?;
    require_signed_type(&headers, ct)?;
    let bytes = read_exactly(body, size.min(poster::MAX_BYTES)).await?;
    let head = &bytes[..bytes.len().min(poster::HEADER_BYTES)];
    poster::check(head, content_type).map_err(|e| match e {
        PosterError::BadDimensions => {
            ApiError::bad_request("the image's dimensions are out of range")
        }
        _ => ApiError::UnsupportedMediaType("the body is not an image of the signed type"),
    })?;
    if endpoint.videos.get(&video).await?.is_none() {
        return Err(ApiError::NotFound("video"));
    }
    endpoint
        .blobs
        .write_poster(&video, bytes)
        .await
        .map_err(ApiError::Internal)?;
    let poster = Poster {
        content_type,
        at: Timestamp::from_micros(at),
    };
    if !endpoint.videos.set_poster(&video, &poster).await? {
        // Deleted meanwhile: the poster goes with it.
        use reel_core::ports::Blobs;
        endpoint.blobs.delete_poster(&video).await?;
        return Err(ApiError::NotFound("video"));
    }
    tracing::info!(%video, bytes = size, "poster stored");
    Ok(StatusCode::OK.into_response())
}

/// The body, which must be exactly `size` bytes (held in memory: at most 2 MiB).
async fn read_exactly(body: Body, size: u64) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("the upload was interrupted"))?;
        if (bytes.len() + chunk.len()) as u64 > size {
            return Err(ApiError::PayloadTooLarge(
                "the body is larger than the signed size",
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    if (bytes.len() as u64) < size {
        return Err(ApiError::bad_request(
            "the body is shorter than the signed size",
        ));
    }
    Ok(bytes.freeze())
}

pub(crate) async fn serve(
    State(endpoint): State<BlobEndpoint>,
    Path(vid): Path<String>,
    query: Result<Query<BlobQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (video, query) = check_url(&endpoint, &vid, query, "poster-get")?;
    let live = endpoint.videos.get(&video).await?.and_then(|v| v.poster);
    let Some(live) = live else {
        return Err(ApiError::NotFound("poster"));
    };
    let etag = format!("\"{video}-{}\"", live.at.as_micros());
    // As long as the URL lasts: the URL changes when the poster does.
    let max_age = (query.exp - endpoint.clock.now().unix_seconds()).max(0);
    let cache = format!("private, max-age={max_age}, immutable");
    let common = [
        (header::ETAG, header_value(&etag)?),
        (header::CACHE_CONTROL, header_value(&cache)?),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let Some(bytes) = endpoint
        .blobs
        .read_poster(&video)
        .await
        .map_err(ApiError::Internal)?
    else {
        return Err(ApiError::NotFound("poster"));
    };
    let content_type = header_value(live.content_type.as_str())?;
    Ok((
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, content_type)],
        bytes,
    )
        .into_response())
}
