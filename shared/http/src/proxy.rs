//! Requests through the template's optional CloudFront distribution (the one that
//! carries the WAF rate-based rule). Behind it, API Gateway's source address is a
//! CloudFront server and its `Host` the execute-api name, so the viewer's address
//! (`CloudFront-Viewer-Address`) and host (`X-Forwarded-Host`, set by the
//! distribution's viewer-request function) are taken from headers — but only from a
//! request that carries the origin secret CloudFront adds, and every other request is
//! refused, so nobody can go around the WAF or forge those headers.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The header CloudFront adds with `REEL_ORIGIN_SECRET`.
pub const SECRET_HEADER: &str = "x-reel-origin-secret";

/// The viewer as CloudFront saw it, for a request that proved it came through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The viewer's IP address.
    pub addr: Option<String>,
    /// The host name the viewer asked for.
    pub host: Option<String>,
}

/// Middleware: refuses (403 `007`) a request without the origin secret, and records the
/// [`Viewer`] of one with it.
pub async fn require_origin_secret(
    State(secret): State<Arc<str>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Computed in a block: nothing borrowed from the request (whose body is not Sync)
    // may live across the await below.
    let viewer = {
        let headers = request.headers();
        let presented = headers
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(presented.ct_eq(secret.as_bytes())) {
            return ApiError::Forbidden("requests must come through the site's address")
                .into_response();
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Viewer {
            addr: header("cloudfront-viewer-address").and_then(viewer_ip),
            host: header("x-forwarded-host")
                .filter(|h| is_host(h))
                .map(str::to_owned),
        }
    };
    request.extensions_mut().insert(viewer);
    next.run(request).await
}

/// The address part of `CloudFront-Viewer-Address` (`198.51.100.10:46532`, or an IPv6
/// address followed by `:port`).
fn viewer_ip(value: &str) -> Option<String> {
    let (ip, _port) = value.rsplit_once(':')?;
    ip.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// A host name with an optional port, nothing that could break out of a URL.
pub(super) fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_addresses_lose_their_port() {
        assert_eq!(
            viewer_ip("198.51.100.10:46532").as_deref(),
            Some("198.51.100.10")
        );
        assert_eq!(
            viewer_ip("2001:db8:85a3::8a2e:370:7334:46532").as_deref(),
            Some("2001:db8:85a3::8a2e:370:7334")
        );
        assert_eq!(viewer_ip("not an address:1"), None);
        assert_eq!(viewer_ip("198.51.100.10"), None);
    }
}
