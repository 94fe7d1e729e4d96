//! A Lambda function behind the template's optional CloudFront distribution and WAF
//! (`REEL_ORIGIN_SECRET` set): requests without the secret are refused, and with it the
//! viewer's address keys the sign-in throttle and the viewer's host builds the origin.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use reel_core::clock::SystemClock;
use reel_core::settings::Settings;
use reel_http::{function_app, function_routes};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// The users and sessions functions' routes, on embedded storage, behind the secret.
fn app(dir: &tempfile::TempDir) -> Router {
    let mut settings = Settings::default();
    settings.server.data_dir = dir.path().to_owned();
    settings.api.origin_secret = Some(SECRET.to_owned());
    let embedded = reel_server::site::embedded(&settings, Arc::new(SystemClock)).unwrap();
    let routes = function_routes::users().merge(function_routes::sessions());
    function_app(routes, embedded.state.bytes.app)
}

/// Sends `body` to `path` as CloudFront would for a viewer at `viewer` (IPv4 and port),
/// with `secret` as the origin secret header.
async fn send(
    app: &Router,
    path: &str,
    secret: Option<&str>,
    viewer: &str,
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "abc123.execute-api.us-east-1.amazonaws.com")
        .header(header::CONTENT_TYPE, "application/json")
        .header("cloudfront-viewer-address", viewer)
        .header("x-forwarded-host", "reel.example.com");
    if let Some(secret) = secret {
        request = request.header(reel_http::proxy::SECRET_HEADER, secret);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, json)
}

/// Signs `alice` up through CloudFront; the reply's headers.
async fn sign_up(app: &Router) -> axum::http::HeaderMap {
    let (status, headers, body) = send(
        app,
        "/user",
        Some(SECRET),
        "198.51.100.1:1",
        credentials("password1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    headers
}

fn credentials(pwd: &str) -> Value {
    json!({"user_name": "alice", "pwd": pwd})
}

#[tokio::test]
async fn requests_without_the_origin_secret_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir);
    for secret in [None, Some("wrong"), Some(&SECRET[1..])] {
        let (status, _, body) = send(
            &app,
            "/user",
            secret,
            "198.51.100.1:1",
            credentials("password1"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{secret:?}");
        assert_eq!(body["error_code"], "007");
    }
    sign_up(&app).await;
}

/// Every viewer reaches API Gateway from a few CloudFront addresses: the throttle must
/// count failures per viewer, or one attacker would lock everyone out.
#[tokio::test]
async fn sign_in_failures_count_per_viewer_address() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir);
    let headers = sign_up(&app).await;
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("; Secure"),
        "the viewer's origin is https: {cookie}"
    );

    let attacker = "203.0.113.9:50000";
    for _ in 0..10 {
        let (status, _, _) = send(
            &app,
            "/user/alice",
            Some(SECRET),
            attacker,
            credentials("wrong-password"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, body) = send(
        &app,
        "/user/alice",
        Some(SECRET),
        attacker,
        credentials("wrong-password"),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("008"))
    );
    let (status, _, _) = send(
        &app,
        "/user/alice",
        Some(SECRET),
        "2001:db8::7:443",
        credentials("password1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "another viewer is not locked out");
}
