//! The HTTP functions' start, the same for all six: each binary names its routes and
//! the state they need, and this does the rest.

use crate::AwsFunction;
use axum::extract::{FromRef, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use lambda_http::request::RequestContext;
use reel_http::extract::PeerAddr;
use reel_http::{function_app, AppState, ByteState, UploadState};
use std::convert::Infallible;
use tower::{Service, ServiceExt};

/// Serves an HTTP function whose routes move no bytes (users, sessions, comments, web).
pub async fn serve_metadata(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    run_http(routes, AwsFunction::metadata_state).await
}

/// Serves an HTTP function whose routes sign object-store URLs (videos, stream, web).
///
/// These two are not generic, so the binaries share their one compiled copy of the
/// HTTP stack instead of each compiling its own (measured: seconds per binary).
pub async fn serve_objects(routes: Router<ByteState>) -> Result<(), lambda_http::Error> {
    run_http(routes, AwsFunction::object_state).await
}

/// [`serve_objects`] for the function whose routes call S3's multipart uploads (uploads).
pub async fn serve_uploads(routes: Router<UploadState>) -> Result<(), lambda_http::Error> {
    run_http(routes, AwsFunction::upload_state).await
}

/// Serves one HTTP function: settings from the environment, logging, the clients its
/// routes use (built once per instance, from `state`), then `lambda_http`'s loop.
/// Nothing is sent to AWS before the first event: the first request opens the DynamoDB
/// connection. (A warm-up thread used to open it at init. On one CPU, and a Lambda
/// function at 256-512 MB gets less than one, its certificate parsing doubled
/// start-to-ready, 1.75 to 3.77 ms; and a cold start's event is waiting by then anyway.)
async fn run_http<S>(
    routes: Router<S>,
    state: impl FnOnce(&AwsFunction) -> anyhow::Result<S>,
) -> Result<(), lambda_http::Error>
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    let aws = AwsFunction::init().await?;
    let state = state(&aws)?;
    lambda_http::run(for_gateway(http_app(routes, state))).await
}

/// The app's replies as API Gateway takes them, for `lambda_http::run`: what
/// `lambda_http` would do with an axum reply itself, minus decoding charsets. Its own
/// conversion reads a textual reply's `charset` and decodes it with `encoding_rs`, whose
/// tables and code (~0.17 MB) every HTTP function carried for replies that are all UTF-8.
pub fn for_gateway(
    app: Router,
) -> impl Service<lambda_http::Request, Response = GatewayReply, Error = Infallible, Future: Send>
       + Clone
       + Send {
    ServiceExt::<lambda_http::Request>::and_then(app, |reply: Response| async move {
        Ok(GatewayReply::of(reply).await)
    })
}

/// A reply whose body is already what API Gateway is sent: text, base64 or nothing.
pub struct GatewayReply(axum::http::Response<lambda_http::Body>);

impl GatewayReply {
    /// Text when the reply is textual (as `lambda_http` decides: a text, JSON, XML or
    /// JavaScript type, or no type; never with a `Content-Encoding`) and UTF-8; else the
    /// bytes, which go base64-encoded.
    async fn of(reply: Response) -> Self {
        let (parts, body) = reply.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(e) => {
                // A body that fails midway (a stream's error): the reply is cut short.
                tracing::error!(cause = %e, "reading a reply's body");
                Default::default()
            }
        };
        let body = if bytes.is_empty() {
            lambda_http::Body::Empty
        } else if is_textual(&parts.headers) {
            match String::from_utf8(bytes.into()) {
                Ok(text) => lambda_http::Body::Text(text),
                Err(e) => lambda_http::Body::Binary(e.into_bytes()),
            }
        } else {
            lambda_http::Body::Binary(bytes.into())
        };
        GatewayReply(axum::http::Response::from_parts(parts, body))
    }
}

impl lambda_http::IntoResponse for GatewayReply {
    fn into_response(
        self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send>,
    > {
        Box::pin(std::future::ready(self.0))
    }
}

/// `lambda_http`'s rule for a body sent as text rather than base64.
fn is_textual(headers: &axum::http::HeaderMap) -> bool {
    if headers.contains_key(axum::http::header::CONTENT_ENCODING) {
        return false;
    }
    let Some(content_type) = headers.get(axum::http::header::CONTENT_TYPE) else {
        return true;
    };
    let content_type = content_type.to_str().unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    [
        "text",
        "application/json",
        "application/javascript",
        "application/xml",
    ]
    .iter()
    .any(|prefix| content_type.starts_with(prefix))
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
}

/// What an HTTP function serves: the function's app ([`function_app`]) with the client's
/// address taken from API Gateway's request context.
pub fn http_app<S>(routes: Router<S>, state: S) -> Router
where
    S: Clone + Send + Sync + 'static,
    AppState: FromRef<S>,
{
    function_app(routes, state).layer(axum::middleware::from_fn(peer_from_gateway))
}

/// API Gateway's `requestContext.http.sourceIp` (which API Gateway sets itself) as the
/// request's [`PeerAddr`], the address sign-in throttling counts under.
async fn peer_from_gateway(mut request: Request, next: Next) -> Response {
    let source_ip = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = source_ip {
        request.extensions_mut().insert(PeerAddr(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::GatewayReply;
    use axum::body::Body;
    use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
    use axum::response::Response;

    async fn converted(
        reply: axum::http::response::Builder,
        body: &'static [u8],
    ) -> lambda_http::Body {
        let reply: Response = reply.body(Body::from(body)).unwrap();
        GatewayReply::of(reply).await.0.into_body()
    }

    #[tokio::test]
    async fn text_goes_as_text_and_the_rest_as_bytes() {
        use lambda_http::Body::{Binary, Empty, Text};
        let typed = |t: &str| Response::builder().header(CONTENT_TYPE, t);
        let json = converted(typed("application/json"), b"{\"a\":1}").await;
        assert_eq!(json, Text("{\"a\":1}".into()));
        let html = converted(typed("text/html; charset=utf-8"), "é".as_bytes()).await;
        assert_eq!(html, Text("é".into()));
        let problem = converted(typed("application/problem+json"), b"{}").await;
        assert_eq!(problem, Text("{}".into()));
        let untyped = converted(Response::builder(), b"plain").await;
        assert_eq!(untyped, Text("plain".into()));
        let png = converted(typed("image/png"), b"\x89PNG").await;
        assert_eq!(png, Binary(b"\x89PNG".to_vec()));
        let gzipped = typed("text/css").header(CONTENT_ENCODING, "gzip");
        assert_eq!(
            converted(gzipped, b"\x1f\x8b").await,
            Binary(b"\x1f\x8b".to_vec())
        );
        let not_utf8 = converted(typed("text/plain"), b"\xff\xfe").await;
        assert_eq!(not_utf8, Binary(b"\xff\xfe".to_vec()));
        assert_eq!(converted(typed("application/json"), b"").await, Empty);
    }
}
