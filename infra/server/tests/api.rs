//! Router tests: the whole API on the embedded adapters, driven with `oneshot` (no
//! network), covering each route's success and the error codes it can return.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use reel_core::clock::Clock;
use reel_core::settings::Settings;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

#[path = "support/clock.rs"]
mod clock;
use clock::ManualClock;

const MP4: &[u8] = include_bytes!("fixtures/sample.mp4");

struct App {
    router: Router,
    /// The site's clock: tests move it instead of sleeping.
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts an error reply: status, envelope code, exact content type.
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.json()["error_code"], code);
        assert!(self.json()["error"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
    }
}

/// A request under construction.
struct Call {
    builder: axum::http::request::Builder,
    body: Body,
}

impl Call {
    fn new(method: Method, uri: &str) -> Self {
        Self {
            builder: Request::builder()
                .method(method)
                .uri(uri)
                .header(header::HOST, "reel.test"),
            body: Body::empty(),
        }
    }
    fn session(mut self, sid: &str) -> Self {
        self.builder = self.builder.header("x-session-id", sid);
        self
    }
    fn header(mut self, k: &str, v: &str) -> Self {
        self.builder = self.builder.header(k, v);
        self
    }
    fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.builder = self.builder.extension(value);
        self
    }
    fn json(mut self, v: Value) -> Self {
        self.builder = self
            .builder
            .header(header::CONTENT_TYPE, "application/json");
        self.body = Body::from(v.to_string());
        self
    }
    fn raw(mut self, bytes: impl Into<Body>) -> Self {
        self.body = bytes.into();
        self
    }
    fn client_ip(mut self, ip: [u8; 4]) -> Self {
        self.builder = self
            .builder
            .extension(ConnectInfo(SocketAddr::from((ip, 40000))));
        self
    }
}

impl App {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Settings::default();
        config.server.data_dir = dir.path().to_owned();
        tweak(&mut config);
        let clock = ManualClock::starting_now();
        let site = reel_server::site::build_site(&config, Arc::new(clock.clone())).unwrap();
        Self {
            router: site.app,
            clock,
            _dir: dir,
        }
    }

    async fn send(&self, call: Call) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(call.builder.body(call.body).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes().to_vec();
        assert!(
            parts.headers.contains_key("x-request-id"),
            "every reply carries x-request-id"
        );
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    async fn sign_up(&self, name: &str) -> String {
        let r = self
            .send(
                Call::new(Method::POST, "/user")
                    .json(json!({"user_name": name, "pwd": "password1"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        r.json()["session_id"].as_str().unwrap().to_owned()
    }

    async fn user_id(&self, sid: &str, name: &str) -> String {
        let r = self
            .send(Call::new(Method::GET, &format!("/user/{name}")).session(sid))
            .await;
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn create_video(&self, sid: &str, owner: &str, name: &str) -> Value {
        let r = self
            .send(
                Call::new(Method::POST, &format!("/user/{owner}/videos"))
                    .session(sid)
                    .json(json!({"name": name})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{:?}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }

    /// A video whose bytes have landed: others may read it (a pending one is its
    /// owner's alone).
    async fn ready_video(&self, sid: &str, owner: &str, name: &str) -> Value {
        let video = self.create_video(sid, owner, name).await;
        let vid = id(&video);
        let put = self
            .upload(sid, &vid, reel_testkit::media::SAMPLE_MP4)
            .await;
        assert_eq!(put.status, StatusCode::OK);
        video
    }

    /// Grants an upload of `size` bytes of video/mp4; the path of its signed URL.
    async fn grant_path(&self, sid: &str, vid: &str, size: usize) -> String {
        let grant = self
            .send(
                Call::new(Method::POST, &format!("/upload/{vid}"))
                    .session(sid)
                    .json(json!({"size": size, "content_type": "video/mp4"})),
            )
            .await;
        assert_eq!(grant.status, StatusCode::OK);
        path_of(grant.json()["url"].as_str().unwrap()).to_owned()
    }

    /// Grants an upload and PUTs `bytes` through the local blob endpoint.
    async fn upload(&self, sid: &str, vid: &str, bytes: &'static [u8]) -> Reply {
        let url = self.grant_path(sid, vid, bytes.len()).await;
        self.send(
            Call::new(Method::PUT, &url)
                .header("content-type", "video/mp4")
                .raw(bytes),
        )
        .await
    }

    async fn comment(&self, sid: &str, vid: &str, text: &str) -> Reply {
        self.send(
            Call::new(Method::POST, &format!("/videos/{vid}/comments"))
                .session(sid)
                .json(json!({"content": text})),
        )
        .await
    }
}

/// The path and query of an absolute URL the server handed out.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").unwrap().1;
    &rest[rest.find('/').unwrap()..]
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

// ---------- users ----------

#[tokio::test]
async fn sign_up_creates_a_session_and_sets_the_cookie() {
    let app = App::new();
    let r = app
        .send(
            Call::new(Method::POST, "/user")
                .json(json!({"user_name": "alice", "pwd": "password1", "extra": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "application/json; charset=utf-8"
    );
    let body = r.json();
    assert_eq!(body["success"], true);
    let sid = body["session_id"].as_str().unwrap();
    assert!(sid.len() >= 22);
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie::Cookie::parse(cookie).unwrap();
    assert_eq!(
        (
            cookie.name_value(),
            cookie.http_only(),
            cookie.same_site(),
            cookie.path(),
            cookie.max_age().map(|age| age.whole_seconds()),
        ),
        (
            ("session", sid),
            Some(true),
            Some(cookie::SameSite::Lax),
            Some("/"),
            Some(30 * 24 * 3600),
        )
    );
    assert_ne!(
        cookie.secure(),
        Some(true),
        "plain HTTP gets no Secure flag"
    );
    let me = app
        .send(Call::new(Method::GET, "/user/alice").session(sid))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["user_name"], "alice");
    assert!(me.json()["create_time"].as_str().unwrap().ends_with('Z'));
}

/// `X-Forwarded-Proto: https` from a trusted proxy makes the cookie `Secure` (and the
/// URLs handed out https); from anyone else it is ignored (issue 22, finding 10).
#[tokio::test]
async fn x_forwarded_proto_is_believed_only_from_a_trusted_proxy() {
    let app = App::with(|s| {
        s.api.trusted_proxies = reel_core::domain::TrustedProxies::parse("10.0.0.0/8").unwrap()
    });
    let sign_up = |peer: &str, name: &str| {
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        Call::new(Method::POST, "/user")
            .header("x-forwarded-proto", "https")
            .extension(axum::extract::ConnectInfo(peer))
            .json(json!({"user_name": name, "pwd": "password1"}))
    };
    let secure = |r: &Reply| {
        r.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    };
    let proxied = app.send(sign_up("10.1.2.3:5000", "alice")).await;
    assert!(secure(&proxied), "from the trusted proxy");
    let stranger = app.send(sign_up("203.0.113.9:5000", "bob")).await;
    assert!(!secure(&stranger), "from a stranger the header is ignored");
    let no_peer = app
        .send(
            Call::new(Method::POST, "/user")
                .header("x-forwarded-proto", "https")
                .json(json!({"user_name": "carol", "pwd": "password1"})),
        )
        .await;
    assert!(!secure(&no_peer), "nor from an unknown peer");
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_taken_names() {
    let app = App::new();
    app.sign_up("alice").await;
    let taken = app
        .send(
            Call::new(Method::POST, "/user")
                .json(json!({"user_name": "alice", "pwd": "password2"})),
        )
        .await;
    taken.assert_error(StatusCode::CONFLICT, "006");
    for body in [
        json!({"user_name": "al", "pwd": "password1"}),
        json!({"user_name": "al ice", "pwd": "password1"}),
        json!({"user_name": "bob", "pwd": "short"}),
        json!({"user_name": "bob"}),
        json!({"user_name": 5, "pwd": "password1"}),
        json!(["bob", "password1"]),
    ] {
        app.send(Call::new(Method::POST, "/user").json(body))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "001");
    }
    let malformed = app
        .send(Call::new(Method::POST, "/user").raw("{not json"))
        .await;
    malformed.assert_error(StatusCode::BAD_REQUEST, "001");
    let huge = json!({"user_name": "bob", "pwd": "password1", "pad": "x".repeat(70 * 1024)});
    app.send(Call::new(Method::POST, "/user").json(huge))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "009");
}

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = App::new();
    let r = app
        .send(
            Call::new(Method::POST, "/user")
                .header("sec-fetch-site", "cross-site")
                .json(json!({"user_name": "bob", "pwd": "password1"})),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "007");
}

#[tokio::test]
async fn get_user_needs_a_session_and_finds_users() {
    let app = App::new();
    let sid = app.sign_up("alice").await;
    app.sign_up("bob").await;
    assert_eq!(
        app.send(Call::new(Method::GET, "/user/bob").session(&sid))
            .await
            .json()["user_name"],
        "bob"
    );
    app.send(Call::new(Method::GET, "/user/nobody").session(&sid))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(Call::new(Method::GET, "/user/x").session(&sid))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(Call::new(Method::GET, "/user/bob"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    let bogus = "A".repeat(43);
    app.send(Call::new(Method::GET, "/user/bob").session(&bogus))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(Call::new(Method::GET, "/user/bob").session("garbage"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    let by_cookie = app
        .send(
            Call::new(Method::GET, "/user/bob")
                .header("cookie", &format!("theme=dark; session={sid}")),
        )
        .await;
    assert_eq!(
        by_cookie.status,
        StatusCode::OK,
        "a cookie authenticates GET"
    );
}

#[tokio::test]
async fn deleting_an_account_needs_the_owner_and_the_password() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let video = app.create_video(&alice, "alice", "mine").await;
    let del = |sid: &str, who: &str, pwd: &str| {
        Call::new(Method::DELETE, &format!("/user/{who}"))
            .session(sid)
            .json(json!({"pwd": pwd}))
    };
    app.send(del(&bob, "alice", "password1"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(del(&alice, "alice", "wrong-password"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(Call::new(Method::DELETE, "/user/alice").json(json!({"pwd": "password1"})))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(
        Call::new(Method::DELETE, "/user/alice")
            .session(&alice)
            .json(json!({})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "001");
    let ok = app.send(del(&alice, "alice", "password1")).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert!(ok.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    app.send(Call::new(Method::GET, "/user/bob").session(&alice))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(Call::new(Method::GET, "/user/alice").session(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    let info = app
        .send(Call::new(Method::GET, &format!("/videos/{}/info", id(&video))).session(&bob))
        .await;
    info.assert_error(StatusCode::NOT_FOUND, "005");
    // The name is free again.
    app.sign_up("alice").await;
}

// ---------- sessions ----------

#[tokio::test]
async fn sign_in_and_sign_out() {
    let app = App::new();
    app.sign_up("alice").await;
    let sign_in =
        |name: &str, body: Value| Call::new(Method::POST, &format!("/user/{name}")).json(body);
    let r = app
        .send(sign_in(
            "alice",
            json!({"user_name": "alice", "pwd": "password1"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["success"], true);
    let sid = r.json()["session_id"].as_str().unwrap().to_owned();
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .starts_with(&format!("session={sid}")));

    app.send(sign_in(
        "alice",
        json!({"user_name": "alice", "pwd": "password2"}),
    ))
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(sign_in(
        "nobody",
        json!({"user_name": "nobody", "pwd": "password1"}),
    ))
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(sign_in(
        "alice",
        json!({"user_name": "bob", "pwd": "password1"}),
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "001");
    app.send(sign_in("alice", json!({"user_name": "alice"})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");

    let bob = app.sign_up("bob").await;
    let out = |sid: &str, name: &str| {
        Call::new(Method::DELETE, &format!("/user/{name}/session")).session(sid)
    };
    app.send(out(&bob, "alice"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(Call::new(Method::DELETE, "/user/alice/session"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    assert_eq!(
        app.send(out(&sid, "alice")).await.status,
        StatusCode::NO_CONTENT
    );
    app.send(Call::new(Method::GET, "/user/alice").session(&sid))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    assert_eq!(
        app.send(Call::new(Method::GET, "/user/alice").session(&bob))
            .await
            .status,
        StatusCode::OK,
        "other sessions live on"
    );
}

#[test]
fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
    let clock = ManualClock::starting_now();
    let shared = clock.clone();
    let start = clock.now();
    assert_eq!(clock.now(), start);
    shared.advance(Duration::from_secs(90));
    assert_eq!(clock.now(), start.plus_seconds(90));
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    let app = App::with(|c| c.api.session_ttl = Duration::from_secs(1));
    let sid = app.sign_up("alice").await;
    assert_eq!(
        app.send(Call::new(Method::GET, "/user/alice").session(&sid))
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(Duration::from_millis(1100));
    app.send(Call::new(Method::GET, "/user/alice").session(&sid))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_name_and_address() {
    let app = App::new();
    app.sign_up("alice").await;
    let attempt = |pwd: &str, ip: [u8; 4]| {
        Call::new(Method::POST, "/user/alice")
            .client_ip(ip)
            .json(json!({"user_name": "alice", "pwd": pwd}))
    };
    let attacker = [10, 0, 0, 66];
    for _ in 0..10 {
        app.send(attempt("wrong-password", attacker))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "002");
    }
    app.send(attempt("wrong-password", attacker))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "008");
    app.send(attempt("password1", attacker))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "008");
    // The real user, elsewhere, is not locked out.
    assert_eq!(
        app.send(attempt("password1", [10, 0, 0, 7])).await.status,
        StatusCode::OK
    );
}

/// 60 wrong guesses at once, from one address: the attempt is reserved before the
/// password is checked, so no more than the limit (10) are ever verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_guesses_verify_at_most_the_limit() {
    let app = App::new();
    app.sign_up("alice").await;
    let guess = || {
        Call::new(Method::POST, "/user/alice")
            .client_ip([10, 0, 0, 66])
            .json(json!({"user_name": "alice", "pwd": "wrong-password"}))
    };
    let replies = futures_util::future::join_all((0..60).map(|_| app.send(guess()))).await;
    let count = |status| replies.iter().filter(|r| r.status == status).count();
    assert_eq!(
        (
            count(StatusCode::UNAUTHORIZED),
            count(StatusCode::TOO_MANY_REQUESTS)
        ),
        (10, 50)
    );
    for refused in replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
    {
        refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "008");
    }
}

/// Account deletion checks the password under the sign-in throttle: a stolen session is
/// no unlimited password oracle.
#[tokio::test]
async fn account_deletion_password_checks_are_throttled() {
    let app = App::new();
    let sid = app.sign_up("alice").await;
    let delete = |pwd: &str, ip: [u8; 4]| {
        Call::new(Method::DELETE, "/user/alice")
            .session(&sid)
            .client_ip(ip)
            .json(json!({"pwd": pwd}))
    };
    let thief = [10, 0, 0, 66];
    for _ in 0..10 {
        app.send(delete("wrong-password", thief))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "002");
    }
    for pwd in ["wrong-password", "password1"] {
        app.send(delete(pwd, thief))
            .await
            .assert_error(StatusCode::TOO_MANY_REQUESTS, "008");
    }
    assert_eq!(
        app.send(delete("password1", [10, 0, 0, 7])).await.status,
        StatusCode::NO_CONTENT,
        "the owner, elsewhere, still can"
    );
}

// ---------- videos ----------

#[tokio::test]
async fn creating_videos_is_for_the_owner_only() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let alice_id = app.user_id(&alice, "alice").await;
    let v = app.create_video(&alice, "alice", "  Holiday  ").await;
    assert_eq!(
        (v["name"].as_str(), v["status"].as_str(), v["size"].as_u64()),
        (Some("Holiday"), Some("pending"), Some(0))
    );
    assert_eq!(
        (v["author"].as_str(), v["author_id"].as_str()),
        (Some("alice"), Some(alice_id.as_str()))
    );
    let created = app.clock.now();
    assert_eq!(
        (v["display_ctime"].as_str(), v["create_time"].as_str()),
        (
            Some(created.display().as_str()),
            Some(created.rfc3339().as_str())
        )
    );
    assert!(v["id"].as_str().unwrap().len() >= 32);

    let post = |sid: &str, owner: &str, body: Value| {
        Call::new(Method::POST, &format!("/user/{owner}/videos"))
            .session(sid)
            .json(body)
    };
    app.send(post(&bob, "alice", json!({"name": "x"})))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(post(
        &bob,
        "bob",
        json!({"name": "x", "author_id": alice_id}),
    ))
    .await
    .assert_error(StatusCode::FORBIDDEN, "007");
    let own_id = app.user_id(&bob, "bob").await;
    assert_eq!(
        app.send(post(&bob, "bob", json!({"name": "x", "author_id": own_id})))
            .await
            .status,
        StatusCode::CREATED
    );
    app.send(post(&alice, "alice", json!({"name": ""})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    app.send(post(&alice, "alice", json!({"name": "x".repeat(201)})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    // A right-to-left override would show "clip\u{202E}4pm.exe" as "clipexe.mp4".
    let disguised = app
        .send(post(
            &alice,
            "alice",
            json!({"name": "clip\u{202E}4pm.exe"}),
        ))
        .await;
    disguised.assert_error(StatusCode::BAD_REQUEST, "001");
    assert_eq!(
        disguised.json()["error"],
        "name must not contain invisible formatting characters (such as bidirectional overrides)"
    );
    app.send(post(&alice, "alice", json!({})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    // A cookie alone does not authorise a state change (CSRF).
    let by_cookie = Call::new(Method::POST, "/user/alice/videos")
        .header("cookie", &format!("session={alice}"))
        .json(json!({"name": "x"}));
    app.send(by_cookie)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    // X-User-Name is never identity.
    let spoofed = post(&bob, "alice", json!({"name": "x"})).header("x-user-name", "alice");
    app.send(spoofed)
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    let spoofed_ok = post(&bob, "bob", json!({"name": "x"})).header("x-user-name", "alice");
    assert_eq!(app.send(spoofed_ok).await.json()["author"], "bob");
}

#[tokio::test]
async fn listing_videos_pages_newest_first() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let empty = app
        .send(Call::new(Method::GET, "/user/alice/videos").session(&bob))
        .await;
    assert_eq!(
        empty.json(),
        json!({"videos": [], "next_cursor": null}),
        "lists are [] not null"
    );
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(id(&app
            .ready_video(&alice, "alice", &format!("v{i}"))
            .await));
        app.clock.advance(Duration::from_millis(1));
    }
    made.reverse();
    let mut seen = Vec::new();
    let mut uri = "/user/alice/videos?limit=2".to_owned();
    loop {
        let page = app
            .send(Call::new(Method::GET, &uri).session(&bob))
            .await
            .json();
        let videos = page["videos"].as_array().unwrap();
        assert!(videos.len() <= 2);
        seen.extend(videos.iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/user/alice/videos?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let all = app
        .send(
            Call::new(Method::GET, "/user/alice/videos")
                .header("cookie", &format!("session={bob}")),
        )
        .await;
    assert_eq!(all.json()["videos"].as_array().unwrap().len(), 5);

    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?cursor=bogus",
        "?cursor=YWJj.ZGVm",
    ] {
        let r = app
            .send(Call::new(Method::GET, &format!("/user/alice/videos{bad}")).session(&bob))
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "001");
    }
    // A cursor from one user's list is no good for another's.
    let page = app
        .send(Call::new(Method::GET, "/user/alice/videos?limit=1").session(&bob))
        .await
        .json();
    let cursor = page["next_cursor"].as_str().unwrap();
    let r = app
        .send(Call::new(Method::GET, &format!("/user/bob/videos?cursor={cursor}")).session(&bob))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "001");
    app.send(Call::new(Method::GET, "/user/nobody/videos").session(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    // Without a session: her public videos alone (these are internal).
    let anonymous = app.send(Call::new(Method::GET, "/user/alice/videos")).await;
    assert_eq!(anonymous.json(), json!({"videos": [], "next_cursor": null}));
}

#[tokio::test]
async fn video_info_and_deletion() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let v = id(&app.ready_video(&alice, "alice", "clip").await);
    let bobs = id(&app.ready_video(&bob, "bob", "bob's").await);
    let info = app
        .send(Call::new(Method::GET, &format!("/videos/{v}/info")).session(&bob))
        .await;
    assert_eq!(
        (info.status, info.json()["name"].as_str()),
        (StatusCode::OK, Some("clip"))
    );
    for missing in [
        uuid::Uuid::new_v4().to_string(),
        "not-an-id".to_owned(),
        "..".to_owned(),
    ] {
        let r = app
            .send(Call::new(Method::GET, &format!("/videos/{missing}/info")).session(&bob))
            .await;
        r.assert_error(StatusCode::NOT_FOUND, "005");
    }
    app.send(Call::new(Method::GET, &format!("/videos/{v}/info")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");

    let del = |sid: &str, owner: &str, vid: &str| {
        Call::new(Method::DELETE, &format!("/user/{owner}/videos/{vid}")).session(sid)
    };
    app.send(del(&bob, "alice", &v))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(del(&bob, "bob", &v))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(del(&alice, "alice", &uuid::Uuid::new_v4().to_string()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(
        Call::new(Method::DELETE, &format!("/user/alice/videos/{v}"))
            .header("cookie", &format!("session={alice}")),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "002");
    assert_eq!(
        app.send(del(&alice, "alice", &v)).await.status,
        StatusCode::NO_CONTENT
    );
    app.send(Call::new(Method::GET, &format!("/videos/{v}/info")).session(&alice))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(del(&alice, "alice", &v))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    let list = app
        .send(Call::new(Method::GET, "/user/alice/videos").session(&alice))
        .await
        .json();
    assert_eq!(list["videos"], json!([]));
    let still = app
        .send(Call::new(Method::GET, &format!("/videos/{bobs}/info")).session(&alice))
        .await;
    assert_eq!(still.status, StatusCode::OK);
}

// ---------- uploads and streaming ----------

#[tokio::test]
async fn upload_grants_check_owner_state_size_and_type() {
    let app = App::with(|c| c.api.max_upload_bytes = 1_000_000.try_into().unwrap());
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    let grant = |sid: &str, vid: &str, body: Value| {
        Call::new(Method::POST, &format!("/upload/{vid}"))
            .session(sid)
            .json(body)
    };
    let ok = app
        .send(grant(
            &alice,
            &v,
            json!({"size": 10, "content_type": "video/webm"}),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let g = ok.json();
    assert_eq!(g["method"], "PUT");
    assert_eq!(g["headers"]["Content-Type"], "video/webm");
    assert!(g["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://reel.test/blobs/{v}?")));
    assert!(g["expires_at"].as_str().unwrap().ends_with('Z'));

    // Someone else's pending video is theirs alone: as if there were none.
    app.send(grant(
        &bob,
        &v,
        json!({"size": 10, "content_type": "video/mp4"}),
    ))
    .await
    .assert_error(StatusCode::NOT_FOUND, "005");
    let unknown = uuid::Uuid::new_v4().to_string();
    app.send(grant(
        &alice,
        &unknown,
        json!({"size": 10, "content_type": "video/mp4"}),
    ))
    .await
    .assert_error(StatusCode::NOT_FOUND, "005");
    for (body, status, code) in [
        (
            json!({"size": 1_000_001, "content_type": "video/mp4"}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "009",
        ),
        (
            json!({"size": 10, "content_type": "image/png"}),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "010",
        ),
        (
            json!({"size": 0, "content_type": "video/mp4"}),
            StatusCode::BAD_REQUEST,
            "001",
        ),
        (
            json!({"size": -1, "content_type": "video/mp4"}),
            StatusCode::BAD_REQUEST,
            "001",
        ),
        (
            json!({"size": 10.5, "content_type": "video/mp4"}),
            StatusCode::BAD_REQUEST,
            "001",
        ),
        (
            json!({"size": 1e20, "content_type": "video/mp4"}),
            StatusCode::BAD_REQUEST,
            "001",
        ),
        (
            json!({"content_type": "video/mp4"}),
            StatusCode::BAD_REQUEST,
            "001",
        ),
    ] {
        app.send(grant(&alice, &v, body))
            .await
            .assert_error(status, code);
    }
    let cookie_only = Call::new(Method::POST, &format!("/upload/{v}"))
        .header("cookie", &format!("session={alice}"))
        .json(json!({"size": 10, "content_type": "video/mp4"}));
    app.send(cookie_only)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");

    assert_eq!(app.upload(&alice, &v, MP4).await.status, StatusCode::OK);
    let info = app
        .send(Call::new(Method::GET, &format!("/videos/{v}/info")).session(&alice))
        .await
        .json();
    assert_eq!(
        (info["status"].as_str(), info["size"].as_u64()),
        (Some("ready"), Some(MP4.len() as u64))
    );
    app.send(grant(
        &alice,
        &v,
        json!({"size": 10, "content_type": "video/mp4"}),
    ))
    .await
    .assert_error(StatusCode::CONFLICT, "006");
}

/// JSON Schema's `integer` is any whole number: `10.0` is 10 bytes.
#[tokio::test]
async fn an_upload_size_written_as_a_whole_float_is_accepted() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    let reply = app
        .send(
            Call::new(Method::POST, &format!("/upload/{v}"))
                .session(&alice)
                .json(json!({"size": 10.0, "content_type": "video/mp4"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let url = reqwest::Url::parse(reply.json()["url"].as_str().unwrap()).unwrap();
    let size = url.query_pairs().find(|(k, _)| k == "size").map(|(_, v)| v);
    assert_eq!(size.as_deref(), Some("10"), "{url}");
}

#[tokio::test]
async fn the_upload_endpoint_enforces_the_signed_request() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    let url = app.grant_path(&alice, &v, 8).await;
    let put = |url: &str, ct: &str, body: &'static [u8]| {
        Call::new(Method::PUT, url)
            .header("content-type", ct)
            .raw(body)
    };
    app.send(put(&url, "video/webm", b"12345678"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(put(&url, "video/mp4", b"123456789"))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "009");
    app.send(put(&url, "video/mp4", b"1234567"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    let tampered = url.replace("size=8", "size=9");
    app.send(put(&tampered, "video/mp4", b"123456789"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    app.send(put(&format!("/blobs/{v}"), "video/mp4", b"12345678"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    let pending = app
        .send(Call::new(Method::GET, &format!("/videos/{v}/info")).session(&alice))
        .await
        .json();
    assert_eq!(
        pending["status"], "pending",
        "refused uploads change nothing"
    );
    assert_eq!(
        app.send(put(&url, "video/mp4", b"12345678")).await.status,
        StatusCode::OK
    );
    app.send(put(&url, "video/mp4", b"12345678"))
        .await
        .assert_error(StatusCode::CONFLICT, "006");
}

#[tokio::test]
async fn expired_upload_urls_are_refused() {
    let app = App::with(|c| c.api.upload_url_ttl = Duration::from_secs(1));
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    let url = app.grant_path(&alice, &v, 3).await;
    app.clock.advance(Duration::from_millis(2100));
    let r = app
        .send(
            Call::new(Method::PUT, &url)
                .header("content-type", "video/mp4")
                .raw(&b"abc"[..]),
        )
        .await;
    r.assert_error(StatusCode::FORBIDDEN, "007");
}

#[tokio::test]
async fn streaming_redirects_to_a_signed_url_that_serves_ranges() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    app.send(Call::new(Method::GET, &format!("/videos/{v}")).session(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.upload(&alice, &v, MP4).await;
    let redirect = app
        .send(
            Call::new(Method::GET, &format!("/videos/{v}"))
                .header("cookie", &format!("session={bob}")),
        )
        .await;
    assert_eq!(redirect.status, StatusCode::TEMPORARY_REDIRECT);
    let location = redirect.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let blob = path_of(&location).to_owned();
    let head = app
        .send(Call::new(Method::HEAD, &format!("/videos/{v}")).session(&bob))
        .await;
    assert_eq!(head.status, StatusCode::TEMPORARY_REDIRECT);
    app.send(Call::new(Method::GET, &format!("/videos/{v}")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
    app.send(Call::new(Method::GET, &format!("/videos/{}", uuid::Uuid::new_v4())).session(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");

    let whole = app.send(Call::new(Method::GET, &blob)).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body, MP4);
    assert_eq!(whole.headers[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(whole.headers[header::ACCEPT_RANGES], "bytes");
    let etag = whole.headers[header::ETAG].to_str().unwrap().to_owned();

    let part = app
        .send(Call::new(Method::GET, &blob).header("range", "bytes=100-199"))
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, &MP4[100..200]);
    assert_eq!(
        part.headers[header::CONTENT_RANGE],
        format!("bytes 100-199/{}", MP4.len())
    );
    let suffix = app
        .send(Call::new(Method::GET, &blob).header("range", "bytes=-10"))
        .await;
    assert_eq!(suffix.body, &MP4[MP4.len() - 10..]);
    // A suffix longer than the file is the whole file (RFC 9110 §14.1.2), not a 416.
    let long_suffix = app
        .send(Call::new(Method::GET, &blob).header("range", "bytes=-99999999"))
        .await;
    assert_eq!(long_suffix.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(long_suffix.body, MP4);
    assert_eq!(
        long_suffix.headers[header::CONTENT_RANGE],
        format!("bytes 0-{}/{}", MP4.len() - 1, MP4.len())
    );
    let open = app
        .send(Call::new(Method::GET, &blob).header("range", &format!("bytes={}-", MP4.len() - 5)))
        .await;
    assert_eq!(open.body, &MP4[MP4.len() - 5..]);
    let beyond = app
        .send(Call::new(Method::GET, &blob).header("range", &format!("bytes={}-", MP4.len())))
        .await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.headers[header::CONTENT_RANGE],
        format!("bytes */{}", MP4.len())
    );
    let garbage = app
        .send(Call::new(Method::GET, &blob).header("range", "pages=1-2"))
        .await;
    assert_eq!(
        (garbage.status, garbage.body.len()),
        (StatusCode::OK, MP4.len()),
        "invalid Range is ignored"
    );
    let fresh = app
        .send(
            Call::new(Method::GET, &blob)
                .header("range", "bytes=0-9")
                .header("if-range", &etag),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::PARTIAL_CONTENT);
    let stale = app
        .send(
            Call::new(Method::GET, &blob)
                .header("range", "bytes=0-9")
                .header("if-range", "\"other\""),
        )
        .await;
    assert_eq!(
        (stale.status, stale.body.len()),
        (StatusCode::OK, MP4.len())
    );
    let cached = app
        .send(Call::new(Method::GET, &blob).header("if-none-match", &etag))
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let head = app.send(Call::new(Method::HEAD, &blob)).await;
    assert_eq!((head.status, head.body.len()), (StatusCode::OK, 0));
    assert_eq!(head.headers[header::CONTENT_LENGTH], MP4.len().to_string());

    let tampered = blob.replace("sig=", "sig=A");
    app.send(Call::new(Method::GET, &tampered))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    let as_upload = blob.replace("op=get", "op=put");
    app.send(Call::new(Method::GET, &as_upload))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
}

#[tokio::test]
async fn the_stream_limiter_refuses_when_full_and_frees_on_drop() {
    let app = App::with(|c| c.server.stream_concurrency = 2.try_into().unwrap());
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    app.upload(&alice, &v, MP4).await;
    let redirect = app
        .send(Call::new(Method::GET, &format!("/videos/{v}")).session(&alice))
        .await;
    let blob = path_of(redirect.headers[header::LOCATION].to_str().unwrap()).to_owned();
    let open = || {
        app.router
            .clone()
            .oneshot(Request::get(&blob).body(Body::empty()).unwrap())
    };
    // Responses whose bodies are not yet consumed hold their slots.
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    app.send(Call::new(Method::GET, &blob))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "008");
    drop(first); // a client going away
    let third = open().await.unwrap();
    assert_eq!(third.status(), StatusCode::OK);
    let body = third.into_body().collect().await.unwrap().to_bytes(); // a response ending
    assert_eq!(body.len(), MP4.len());
    drop(second);
    assert_eq!(
        app.send(Call::new(Method::GET, &blob)).await.status,
        StatusCode::OK
    );
}

/// Deleting a video hides its bytes at once, even from a signed URL handed out before
/// (the file itself waits for the deletion worker).
#[tokio::test]
async fn a_deleted_videos_signed_url_serves_nothing() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    app.upload(&alice, &v, MP4).await;
    let redirect = app
        .send(Call::new(Method::GET, &format!("/videos/{v}")).session(&alice))
        .await;
    let blob = path_of(redirect.headers[header::LOCATION].to_str().unwrap()).to_owned();
    assert_eq!(
        app.send(Call::new(Method::GET, &blob)).await.status,
        StatusCode::OK
    );
    let deleted = app
        .send(Call::new(Method::DELETE, &format!("/user/alice/videos/{v}")).session(&alice))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.send(Call::new(Method::GET, &blob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(Call::new(Method::GET, &blob).header("range", "bytes=0-9"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
}

/// One PUT per video at a time: a second one while the first is still receiving bytes
/// is refused at once (409) instead of staging another full copy.
#[tokio::test]
async fn parallel_puts_of_one_upload_url_are_refused() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    let url = app.grant_path(&alice, &v, MP4.len()).await;
    let (feed, chunks) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let slow_body = Body::from_stream(tokio_stream_of(chunks));
    let first = tokio::spawn(
        app.router.clone().oneshot(
            Request::put(&url)
                .header("content-type", "video/mp4")
                .body(slow_body)
                .unwrap(),
        ),
    );
    // The channel holds one chunk: once the second is accepted, the handler has taken
    // the first, so it is receiving bytes, under its claim on the video.
    feed.send(Ok(MP4[..1000].to_vec())).await.unwrap();
    feed.send(Ok(MP4[1000..2000].to_vec())).await.unwrap();
    let second = app
        .send(
            Call::new(Method::PUT, &url)
                .header("content-type", "video/mp4")
                .raw(MP4),
        )
        .await;
    second.assert_error(StatusCode::CONFLICT, "006");
    assert_eq!(
        second.json()["error"],
        "an upload of this video is already in progress"
    );
    feed.send(Ok(MP4[2000..].to_vec())).await.unwrap();
    drop(feed);
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    app.send(
        Call::new(Method::PUT, &url)
            .header("content-type", "video/mp4")
            .raw(MP4),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "006");
}

/// A receiver as a stream of body chunks.
fn tokio_stream_of(
    mut chunks: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| chunks.poll_recv(cx))
}

// ---------- multipart uploads ----------

/// A multipart upload of `size` bytes begun on alice's new video (files over 1 MiB go
/// in parts on this app): the video's id and the plan.
async fn begin_multipart(app: &App, sid: &str, size: usize) -> (String, Value) {
    let vid = id(&app.create_video(sid, "alice", "big").await);
    let plan = app
        .send(
            Call::new(Method::POST, &format!("/upload/{vid}"))
                .session(sid)
                .json(json!({"size": size, "content_type": "video/mp4"})),
        )
        .await;
    assert_eq!(plan.status, StatusCode::OK);
    (vid, plan.json())
}

fn in_parts_over_1_mib() -> App {
    App::with(|c| c.api.multipart_threshold_bytes = (1 << 20).try_into().unwrap())
}

#[tokio::test]
async fn multipart_plans_and_part_urls_check_their_numbers_and_owner() {
    let app = in_parts_over_1_mib();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let size = 20 * (1 << 20) + 3;
    let (vid, plan) = begin_multipart(&app, &alice, size).await;
    assert_eq!(
        (plan["part_size"].as_u64(), plan["part_count"].as_u64()),
        (Some(8 << 20), Some(3))
    );
    assert!(plan["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(plan.get("url").is_none());
    let upload_id = plan["upload_id"].as_str().unwrap();
    let parts = |sid: &str, numbers: Value| {
        Call::new(Method::POST, &format!("/upload/{vid}/parts"))
            .session(sid)
            .json(json!({"upload_id": upload_id, "part_numbers": numbers}))
    };
    let signed = app.send(parts(&alice, json!([3, 1]))).await;
    assert_eq!(signed.status, StatusCode::OK);
    let signed = signed.json();
    let urls = signed["parts"].as_array().unwrap();
    assert_eq!(
        urls.iter()
            .map(|p| p["part_number"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(urls[0]["method"], "PUT");
    assert!(urls[0]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://reel.test/blobs/{vid}?")));
    for bad in [
        json!([]),
        json!([0]),
        json!([4]),
        json!([1, 1]),
        json!((1..=101).collect::<Vec<_>>()),
    ] {
        app.send(parts(&alice, bad))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "001");
    }
    // Another user cannot see a pending video at all; no session is 401.
    app.send(parts(&bob, json!([1])))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(
        Call::new(Method::POST, &format!("/upload/{vid}/parts"))
            .json(json!({"upload_id": upload_id, "part_numbers": [1]})),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "002");
    let unknown = Call::new(Method::POST, &format!("/upload/{vid}/parts"))
        .session(&alice)
        .json(json!({"upload_id": "0123456789abcdef0123456789abcdef", "part_numbers": [1]}));
    app.send(unknown)
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    let listing = |upload: &str| {
        Call::new(
            Method::GET,
            &format!("/upload/{vid}/parts?upload_id={upload}"),
        )
        .session(&alice)
    };
    assert_eq!(
        app.send(listing(upload_id)).await.json(),
        json!({"parts": []})
    );
    app.send(listing("nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(Call::new(Method::GET, &format!("/upload/{vid}/parts")).session(&alice))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    // A second upload while this one is in progress.
    app.send(
        Call::new(Method::POST, &format!("/upload/{vid}"))
            .session(&alice)
            .json(json!({"size": size, "content_type": "video/mp4"})),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "006");
    // Two days on, the upload is abandoned: its id is unknown and a new one may begin.
    app.clock.advance(Duration::from_secs(2 * 24 * 3600 + 1));
    app.send(listing(upload_id))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    let again = app
        .send(
            Call::new(Method::POST, &format!("/upload/{vid}"))
                .session(&alice)
                .json(json!({"size": size, "content_type": "video/mp4"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_ne!(again.json()["upload_id"], upload_id);
}

#[tokio::test]
async fn part_urls_take_exactly_their_part_and_completion_checks_every_part() {
    let app = in_parts_over_1_mib();
    let alice = app.sign_up("alice").await;
    let file = reel_testkit::media::padded_mp4((8 << 20) + 1000);
    let (vid, plan) = begin_multipart(&app, &alice, file.len()).await;
    let upload_id = plan["upload_id"].as_str().unwrap().to_owned();
    let signed = app
        .send(
            Call::new(Method::POST, &format!("/upload/{vid}/parts"))
                .session(&alice)
                .json(json!({"upload_id": upload_id, "part_numbers": [1, 2]})),
        )
        .await
        .json();
    let url = |n: usize| path_of(signed["parts"][n - 1]["url"].as_str().unwrap()).to_owned();
    let (one, two) = file.split_at(8 << 20);
    let put = |path: String, bytes: Vec<u8>| Call::new(Method::PUT, &path).raw(bytes);
    app.send(put(url(2), vec![0; two.len() + 1]))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "009");
    app.send(put(url(2), vec![0; two.len() - 1]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    let tampered = url(2).replace("part=2", "part=1");
    app.send(put(tampered, two.to_vec()))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    let stored = app.send(put(url(2), two.to_vec())).await;
    assert_eq!(stored.status, StatusCode::OK);
    let etag2 = stored.headers[header::ETAG].to_str().unwrap().to_owned();
    let complete = |parts: Value| {
        Call::new(Method::POST, &format!("/upload/{vid}/complete"))
            .session(&alice)
            .json(json!({"upload_id": upload_id, "parts": parts}))
    };
    // Part 1 is not stored yet.
    app.send(complete(
        json!([{"part_number": 1, "etag": "\"x\""}, {"part_number": 2, "etag": etag2}]),
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "001");
    let etag1 = app.send(put(url(1), one.to_vec())).await.headers[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    app.send(complete(
        json!([{"part_number": 1, "etag": etag2}, {"part_number": 2, "etag": etag2}]),
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "001");
    app.send(complete(
        json!([{"part_number": 2, "etag": etag2}, {"part_number": 1, "etag": etag1}]),
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "001");
    let done = app
        .send(complete(
            json!([{"part_number": 1, "etag": etag1}, {"part_number": 2, "etag": etag2}]),
        ))
        .await;
    assert_eq!(
        done.status,
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(&done.body)
    );
    assert_eq!(
        (&done.json()["status"], &done.json()["size"]),
        (&json!("ready"), &json!(file.len()))
    );
    assert!(
        done.json()["duration_ms"].as_u64().is_some(),
        "its header was read"
    );
    // Done: the same again is 409, as is any part or abort now.
    app.send(complete(
        json!([{"part_number": 1, "etag": etag1}, {"part_number": 2, "etag": etag2}]),
    ))
    .await
    .assert_error(StatusCode::CONFLICT, "006");
    app.send(put(url(1), one.to_vec()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(
        Call::new(
            Method::DELETE,
            &format!("/upload/{vid}?upload_id={upload_id}"),
        )
        .session(&alice),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "006");
}

#[tokio::test]
async fn an_aborted_upload_takes_no_more_parts() {
    let app = in_parts_over_1_mib();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let (vid, plan) = begin_multipart(&app, &alice, 9 << 20).await;
    let upload_id = plan["upload_id"].as_str().unwrap();
    let signed = app
        .send(
            Call::new(Method::POST, &format!("/upload/{vid}/parts"))
                .session(&alice)
                .json(json!({"upload_id": upload_id, "part_numbers": [2]})),
        )
        .await
        .json();
    let url = path_of(signed["parts"][0]["url"].as_str().unwrap()).to_owned();
    let abort = |sid: &str| {
        Call::new(
            Method::DELETE,
            &format!("/upload/{vid}?upload_id={upload_id}"),
        )
        .session(sid)
    };
    app.send(abort(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    assert_eq!(app.send(abort(&alice)).await.status, StatusCode::NO_CONTENT);
    app.send(abort(&alice))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(Call::new(Method::PUT, &url).raw(vec![0; 1 << 20]))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
}

// ---------- comments ----------

#[tokio::test]
async fn comments_are_posted_listed_and_deleted_by_the_right_people() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let v = id(&app.ready_video(&alice, "alice", "clip").await);
    let empty = app
        .send(Call::new(Method::GET, &format!("/videos/{v}/comments")).session(&bob))
        .await;
    assert_eq!(empty.json(), json!({"comments": [], "next_cursor": null}));

    let c = app.comment(&bob, &v, "  <script>alert(1)</script>  ").await;
    assert_eq!(c.status, StatusCode::CREATED);
    let c = c.json();
    assert_eq!(
        (
            c["content"].as_str(),
            c["author"].as_str(),
            c["video_id"].as_str()
        ),
        (
            Some("<script>alert(1)</script>"),
            Some("bob"),
            Some(v.as_str())
        )
    );
    assert!(c["time"].as_str().unwrap().ends_with('Z'));
    let bob_id = c["author_id"].as_str().unwrap().to_owned();
    let alice_id = app.user_id(&alice, "alice").await;

    app.comment(&bob, &v, "   ")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    app.comment(&bob, &v, &"x".repeat(2001))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    app.comment(&bob, &v, "nice \u{2067}video\u{2069}")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    app.comment(&bob, &uuid::Uuid::new_v4().to_string(), "hi")
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    let forged = Call::new(Method::POST, &format!("/videos/{v}/comments"))
        .session(&bob)
        .json(json!({"content": "hi", "author_id": alice_id}));
    app.send(forged)
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    let own = Call::new(Method::POST, &format!("/videos/{v}/comments"))
        .session(&bob)
        .json(json!({"content": "hi", "author_id": bob_id}));
    assert_eq!(app.send(own).await.status, StatusCode::CREATED);
    let cookie_only = Call::new(Method::POST, &format!("/videos/{v}/comments"))
        .header("cookie", &format!("session={bob}"))
        .json(json!({"content": "hi"}));
    app.send(cookie_only)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");

    let by_carol = id(&app.comment(&carol, &v, "carol's").await.json());
    let by_bob = c["id"].as_str().unwrap().to_owned();
    let del = |sid: &str, cid: &str| {
        Call::new(Method::DELETE, &format!("/videos/{v}/comments/{cid}")).session(sid)
    };
    app.send(del(&carol, &by_bob))
        .await
        .assert_error(StatusCode::FORBIDDEN, "007");
    assert_eq!(
        app.send(del(&bob, &by_bob)).await.status,
        StatusCode::NO_CONTENT,
        "its author"
    );
    assert_eq!(
        app.send(del(&alice, &by_carol)).await.status,
        StatusCode::NO_CONTENT,
        "the video's owner"
    );
    app.send(del(&alice, &by_carol))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(del(&alice, "nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    // A comment is only reachable under its own video.
    let other = id(&app.create_video(&alice, "alice", "other").await);
    let last = app
        .send(Call::new(Method::GET, &format!("/videos/{v}/comments")).session(&bob))
        .await
        .json();
    let remaining = id(&last["comments"][0]);
    let wrong_video = Call::new(
        Method::DELETE,
        &format!("/videos/{other}/comments/{remaining}"),
    )
    .session(&bob);
    app.send(wrong_video)
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");

    // Every comment route answers 404 once the video is deleted.
    app.send(Call::new(Method::DELETE, &format!("/user/alice/videos/{v}")).session(&alice))
        .await;
    app.send(Call::new(Method::GET, &format!("/videos/{v}/comments")).session(&bob))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.comment(&bob, &v, "late")
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(del(&bob, &remaining))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
}

#[tokio::test]
async fn comment_lists_filter_by_time_and_page() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.ready_video(&alice, "alice", "clip").await);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(id(&app.comment(&alice, &v, &format!("c{i}")).await.json()));
        app.clock.advance(Duration::from_millis(1));
    }
    made.reverse();
    let list =
        |q: &str| Call::new(Method::GET, &format!("/videos/{v}/comments{q}")).session(&alice);
    let mut seen = Vec::new();
    let mut q = "?limit=2".to_owned();
    loop {
        let page = app.send(list(&q)).await.json();
        seen.extend(page["comments"].as_array().unwrap().iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => q = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, made, "newest first, each once");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        app.send(list(&format!("?from={}", now + 5))).await.json()["comments"],
        json!([])
    );
    assert_eq!(
        app.send(list(&format!("?to={}", now - 5))).await.json()["comments"],
        json!([])
    );
    let window = app
        .send(list(&format!("?from={}&to={}", now - 5, now + 5)))
        .await
        .json();
    assert_eq!(window["comments"].as_array().unwrap().len(), 5);
    for bad in ["?from=abc", "?to=-1", "?limit=0", "?cursor=zzz"] {
        app.send(list(bad))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "001");
    }
    // A cursor is bound to its window.
    let page = app.send(list("?limit=1")).await.json();
    let cursor = page["next_cursor"].as_str().unwrap();
    app.send(list(&format!("?limit=1&from=1&cursor={cursor}")))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "001");
    app.send(Call::new(Method::GET, &format!("/videos/{v}/comments")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "002");
}

// ---------- the rest ----------

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = App::new();
    app.send(Call::new(Method::GET, "/nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "005");
    app.send(Call::new(Method::PUT, "/user"))
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "001");
    app.send(Call::new(Method::PATCH, "/videos/x/comments"))
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "001");
}

#[tokio::test]
async fn health_and_openapi() {
    let app = App::new();
    let health = app.send(Call::new(Method::GET, "/healthz")).await;
    assert_eq!(
        (health.status, health.json()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let doc = app.send(Call::new(Method::GET, "/openapi.json")).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json()["openapi"].as_str().unwrap().starts_with("3.1"));
}

/// Every operation the OpenAPI document lists is a real route (not the 404 fallback or
/// a 405), and every route of the contract is documented.
#[tokio::test]
async fn the_openapi_document_matches_the_routers() {
    let app = App::new();
    let doc = app
        .send(Call::new(Method::GET, "/openapi.json"))
        .await
        .json();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path
                .replace("{user_name}", "alice")
                .replace("{vid}", &uuid::Uuid::new_v4().to_string())
                .replace("{cid}", "c");
            let r = app
                .send(Call::new(method.to_uppercase().parse().unwrap(), &concrete).json(json!({})))
                .await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if r.status == StatusCode::NOT_FOUND {
                assert_ne!(
                    r.json()["error"],
                    "route not found",
                    "{method} {path} is not routed"
                );
            }
        }
    }
    documented.sort();
    let mut contract = vec![
        "POST /user",
        "GET /user/{user_name}",
        "DELETE /user/{user_name}",
        "POST /user/{user_name}",
        "DELETE /user/{user_name}/session",
        "POST /user/{user_name}/videos",
        "GET /user/{user_name}/videos",
        "GET /videos",
        "GET /videos/{vid}/info",
        "PATCH /videos/{vid}",
        "DELETE /user/{user_name}/videos/{vid}",
        "POST /upload/{vid}",
        "POST /upload/{vid}/parts",
        "GET /upload/{vid}/parts",
        "POST /upload/{vid}/complete",
        "DELETE /upload/{vid}",
        "POST /upload/{vid}/poster",
        "GET /videos/{vid}",
        "POST /videos/{vid}/comments",
        "GET /videos/{vid}/comments",
        "DELETE /videos/{vid}/comments/{cid}",
        "GET /healthz",
        "GET /openapi.json",
    ];
    contract.sort();
    assert_eq!(documented, contract);
    for schema in [
        "ErrorBody",
        "VideoView",
        "CommentView",
        "UploadGrant",
        "SessionCreated",
        "UserView",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

// ---------- failures inside ----------

#[tokio::test]
async fn database_failures_are_500_003_without_internals() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    let db = rusqlite::Connection::open(app._dir.path().join("reel.db")).unwrap();
    db.execute_batch("DROP TABLE comments").unwrap();
    let r = app.comment(&alice, &v, "hello").await;
    r.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "003");
    let text = String::from_utf8_lossy(&r.body).to_lowercase();
    for leak in ["sql", "table", "comments", "rusqlite"] {
        assert!(!text.contains(leak), "leaks {leak}: {text}");
    }
}

#[tokio::test]
async fn storage_failures_are_500_004_and_lose_nothing() {
    let app = App::new();
    let alice = app.sign_up("alice").await;
    let v = id(&app.create_video(&alice, "alice", "clip").await);
    std::fs::remove_dir_all(app._dir.path().join("tmp")).unwrap();
    let r = app.upload(&alice, &v, MP4).await;
    r.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "004");
    assert!(!String::from_utf8_lossy(&r.body).contains("tmp"));
    let info = app
        .send(Call::new(Method::GET, &format!("/videos/{v}/info")).session(&alice))
        .await
        .json();
    assert_eq!(
        info["status"], "pending",
        "a failed upload leaves the video pending, to retry"
    );
    std::fs::create_dir(app._dir.path().join("tmp")).unwrap();
    assert_eq!(
        app.upload(&alice, &v, MP4).await.status,
        StatusCode::OK,
        "and the retry works"
    );
}
