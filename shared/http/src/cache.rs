//! Who may keep a reply (API.md, "Visibility, channels and the feed"): a reply that does
//! not depend on a session — an anonymous read of the feed, a channel, a public or
//! unlisted video's info, comments or page — is marked [`Shareable`] by its handler,
//! and leaves as `Cache-Control: public, max-age=60` with an `ETag` (answering a
//! matching `If-None-Match` with 304). Any reply to a request that presents a session,
//! valid or not, is never `public`: a CDN in front (the template's CloudFront
//! distribution) may then keep exactly the anonymous replies.

use crate::extract::{carries_session, AuthUser};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// How long anyone in between may keep an anonymous reply without asking again.
pub const MAX_AGE_SECS: u32 = 60;

/// Replies larger than this are never buffered to compute an `ETag` (none is: pages
/// and list pages are tens of KiB at most); they go out without shared caching.
const MAX_SHARED_BYTES: usize = 4 * 1024 * 1024;

/// A response extension: this reply is the same for every anonymous caller.
#[derive(Debug, Clone, Copy)]
pub struct Shareable;

/// `reply`, marked [`Shareable`]: the same for every caller without a session.
pub fn shared(reply: impl IntoResponse) -> Response {
    let mut response = reply.into_response();
    response.extensions_mut().insert(Shareable);
    response
}

/// `reply`, [`shared`] when there is no signed-in `viewer` (a reply to a signed-in
/// user may show them what only they can see).
pub fn shared_if_anonymous(reply: impl IntoResponse, viewer: Option<&AuthUser>) -> Response {
    match viewer {
        None => shared(reply),
        Some(_) => reply.into_response(),
    }
}

/// Middleware applying the rules above to every reply.
pub async fn cache_rules(request: Request, next: Next) -> Response {
    let with_session = carries_session(request.headers());
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    // A HEAD reply reaches this layer without its body (the router drops it), so its
    // bytes cannot give the GET's ETag: it is left unshared.
    let head = request.method() == axum::http::Method::HEAD;
    let response = next.run(request).await;
    if with_session {
        return private(response);
    }
    let shareable = response.extensions().get::<Shareable>().is_some();
    if shareable && !head && response.status() == StatusCode::OK {
        return public(response, if_none_match.as_ref()).await;
    }
    response
}

/// A reply to a request with a session: its `public` made `private` (a static asset
/// stays cacheable by the browser), and `private, no-store` when it said nothing.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let said = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let value = match said {
        Some(v) if v.contains("public") => v.replace("public", "private"),
        Some(_) => return response,
        None => "private, no-store".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

/// A shareable reply: `public`, with the strong `ETag` of its bytes; 304 without a body
/// when the client already holds them.
async fn public(response: Response, if_none_match: Option<&HeaderValue>) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_SHARED_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(cause = %e, "reading a reply to share");
            return crate::error::ApiError::Internal(anyhow::anyhow!("reading a reply: {e}"))
                .into_response();
        }
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let headers = &mut parts.headers;
    set_shared_headers(headers, &etag);
    if if_none_match.is_some_and(|v| matches(v, &etag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn set_shared_headers(headers: &mut HeaderMap, etag: &str) {
    let cache = format!("public, max-age={MAX_AGE_SECS}");
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&cache).expect("a valid header"),
    );
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(etag).expect("hex in quotes is a valid header"),
    );
    // A shared cache that keys on the URL alone must not give this reply to a
    // signed-in request (it would not leak, but would show the wrong page).
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Cookie, X-Session-Id"),
    );
}

/// Whether `If-None-Match` names `etag` (a list of tags, weak or strong, or `*`).
fn matches(if_none_match: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = if_none_match.to_str() else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_weak_and_strong_tags() {
        let etag = "\"abc\"";
        for header in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            assert!(matches(&HeaderValue::from_static(header), etag), "{header}");
        }
        for header in ["\"abd\"", "abc", ""] {
            assert!(
                !matches(&HeaderValue::from_static(header), etag),
                "{header}"
            );
        }
    }

    #[test]
    fn a_reply_to_a_session_is_never_public() {
        let mut r = Response::new(Body::empty());
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        let r = private(r);
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "private, max-age=31536000, immutable"
        );
        let r = private(Response::new(Body::empty()));
        assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    }
}
