//! The pages' server side: redirects, escaping, security headers, embedded assets.
//! (What the pages do in a browser is tested with Playwright: infra/server/tests/browser.)

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use reel_core::clock::SystemClock;
use reel_core::settings::Settings;
use serde_json::json;
use std::sync::Arc;
use tower::ServiceExt;

struct Site {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Settings::default();
        config.server.data_dir = dir.path().to_owned();
        Self {
            router: reel_server::site::build_site(&config, Arc::new(SystemClock))
                .unwrap()
                .app,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> (Response<()>, String) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let text = String::from_utf8_lossy(&body.collect().await.unwrap().to_bytes()).into_owned();
        (Response::from_parts(parts, ()), text)
    }

    async fn page(&self, uri: &str, session: Option<&str>) -> (Response<()>, String) {
        let mut req = Request::get(uri).header(header::HOST, "reel.test");
        if let Some(sid) = session {
            req = req.header(header::COOKIE, format!("session={sid}"));
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(
        &self,
        uri: &str,
        session: Option<&str>,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let mut req = Request::post(uri)
            .header(header::HOST, "reel.test")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(sid) = session {
            req = req.header("x-session-id", sid);
        }
        let (_, text) = self
            .send(req.body(Body::from(body.to_string())).unwrap())
            .await;
        serde_json::from_str(&text).unwrap()
    }

    async fn sign_up(&self, name: &str) -> String {
        let r = self
            .post(
                "/user",
                None,
                json!({"user_name": name, "pwd": "password1"}),
            )
            .await;
        r["session_id"].as_str().unwrap().to_owned()
    }
}

fn location(res: &Response<()>) -> &str {
    res.headers()[header::LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn pages_redirect_by_sign_in_state() {
    let site = Site::new();
    let (res, html) = site.page("/", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(html.contains("<form"), "the sign-in page has forms");
    let (_, html) = site.page("/?next=/%0A/evil.example", None).await;
    let next = html
        .split_once("data-next=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.replace("&#x2f;", "/"));
    assert_eq!(
        next.as_deref(),
        Some("/userhome"),
        "the sign-in page's script is handed only a safe path"
    );
    let (res, _) = site.page("/userhome", None).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::FOUND, "/"));
    let vid = uuid::Uuid::new_v4();
    // No such video: the 404 page for anyone (an internal video sends a visitor without
    // a session to sign in first: tests/visibility.rs).
    let (res, _) = site.page(&format!("/watch/{vid}"), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let sid = site.sign_up("alice").await;
    let (res, _) = site.page("/", Some(&sid)).await;
    assert_eq!(location(&res), "/userhome");
    let (res, _) = site.page("/?next=/watch/abc", Some(&sid)).await;
    assert_eq!(location(&res), "/watch/abc");
    let (res, _) = site.page("/?next=//evil.example/", Some(&sid)).await;
    assert_eq!(location(&res), "/userhome", "no open redirect");
    // Browsers drop tab, CR and LF inside a URL: `/<TAB>/evil.example` is `//evil.example`.
    for evil in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D/evil.example",
        "/%5Cevil.example",
    ] {
        let (res, _) = site.page(&format!("/?next={evil}"), Some(&sid)).await;
        assert_eq!(
            location(&res),
            "/userhome",
            "no open redirect through {evil}"
        );
    }
    let (res, html) = site.page("/userhome", Some(&sid)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(html.contains("alice"));
    assert!(
        html.contains(&format!(r#"<meta name="reel-session" content="{sid}">"#)),
        "scripts get the session from a meta tag"
    );
    let (res, _) = site.page(&format!("/watch/{vid}"), Some(&sid)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn user_strings_are_escaped() {
    let site = Site::new();
    let sid = site.sign_up("alice").await;
    let evil = "<img src=x onerror=alert(1)>";
    let video = site
        .post("/user/alice/videos", Some(&sid), json!({"name": evil}))
        .await;
    let (res, html) = site
        .page(
            &format!("/watch/{}", video["id"].as_str().unwrap()),
            Some(&sid),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains(evil));
}

#[tokio::test]
async fn pages_carry_strict_security_headers() {
    let site = Site::new();
    let (res, html) = site.page("/", None).await;
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(res.headers()[header::REFERRER_POLICY], "same-origin");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    assert!(
        !html.contains("<script>") && !html.contains(" onclick="),
        "no inline script"
    );
}

#[tokio::test]
async fn assets_are_embedded_versioned_and_cached_for_long() {
    let site = Site::new();
    let (_, html) = site.page("/", None).await;
    let start = html.find("/static/").expect("the page links its assets");
    let href: String = html[start..].chars().take_while(|c| *c != '"').collect();
    assert!(
        href.ends_with(".css") || href.ends_with(".js") || href.ends_with(".svg"),
        "{href}"
    );
    let (res, body) = site.page(&href, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!body.is_empty());
    assert_eq!(
        res.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let stale = href.replacen("/static/", "/static/0", 1);
    assert_eq!(
        site.page(&stale, None).await.0.status(),
        StatusCode::NOT_FOUND
    );
    let (res, _) = site
        .page(
            &href.replace(href.rsplit('/').next().unwrap(), "nope.js"),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
