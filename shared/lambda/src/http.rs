//! The HTTP functions' start, the same for all six: each binary names its routes and
//! the state they need, and this does the rest.

use crate::AwsFunction;
use axum::extract::{FromRef, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use lambda_http::request::RequestContext;
use reel_http::extract::PeerAddr;
use reel_http::{function_app, AppState, ByteState};

/// Serves an HTTP function whose routes move no bytes (users, sessions, comments, web).
pub async fn serve_metadata(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    run_http(routes, AwsFunction::metadata_state).await
}

/// Serves an HTTP function whose routes sign object-store URLs (videos, stream).
///
/// These two are not generic, so the binaries share their one compiled copy of the
/// HTTP stack instead of each compiling its own (measured: seconds per binary).
pub async fn serve_objects(routes: Router<ByteState>) -> Result<(), lambda_http::Error> {
    run_http(routes, AwsFunction::object_state).await
}

/// Serves one HTTP function: settings from the environment, logging, the clients its
/// routes use (built once per instance, from `state`), then `lambda_http`'s loop. The
/// DynamoDB connection opens while the runtime polls for the first event.
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
    aws.warm_up();
    lambda_http::run(http_app(routes, state)).await
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
