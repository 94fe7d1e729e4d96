//! The EMF metrics at their call sites: requests through the Lambda functions' app
//! (`function_app`) on the embedded adapters, and a deletion worker batch, checked
//! against the process-wide totals `reel_core::metrics::total` keeps.
//!
//! One test in its own binary: the totals are process-wide, so exact counts need
//! nothing else counting beside them.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use reel_core::clock::SystemClock;
use reel_core::domain::{VideoContentType, VideoId};
use reel_core::jobs::Worker;
use reel_core::metrics::{total, Metric};
use reel_core::ports::{QueueMessage, Videos};
use reel_core::settings::Settings;
use reel_embedded::{LocalBlobs, SqliteStore};
use reel_http::{api_router, function_app, function_routes, site_app, UploadState};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

/// The embedded adapters and the handlers' state, on a temporary data directory, with
/// a sign-in throttle of 3.
struct Fixture {
    state: UploadState,
    store: Arc<SqliteStore>,
    blobs: Arc<LocalBlobs>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Settings::default();
    config.server.data_dir = dir.path().to_owned();
    config.api.sign_in_max_failures = 3.try_into().unwrap();
    let e = reel_server::site::embedded(&config, Arc::new(SystemClock)).unwrap();
    Fixture {
        state: e.state,
        store: e.store,
        blobs: e.blobs,
        _dir: dir,
    }
}

/// Every metric's total, to compare with after a step.
#[derive(Clone, Copy)]
struct Totals([u64; Metric::ALL.len()]);

impl Totals {
    fn now() -> Self {
        Totals(Metric::ALL.map(total))
    }

    /// Asserts that since `self` exactly `expected` changed, by those amounts.
    #[track_caller]
    fn assert_since(&self, step: &str, expected: &[(Metric, u64)]) {
        let now = Totals::now();
        for (i, metric) in Metric::ALL.iter().enumerate() {
            let want = expected
                .iter()
                .find(|(m, _)| m == metric)
                .map_or(0, |(_, n)| *n);
            assert_eq!(now.0[i] - self.0[i], want, "{step}: {metric:?}");
        }
    }
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    sid: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "reel.test")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(sid) = sid {
        request = request.header("x-session-id", sid);
    }
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn each_metric_is_counted_where_it_happens_and_only_there() {
    use Metric::*;
    let f = fixture();
    // Every API feature (users, sessions, videos and uploads, comments, stream).
    let app = function_app(api_router(), f.state.clone());
    let creds = json!({"user_name": "alice", "pwd": "correct horse"});

    let t = Totals::now();
    let (status, reply) = call(&app, Method::POST, "/user", None, creds.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let sid = reply["session_id"].as_str().unwrap().to_owned();
    t.assert_since("sign-up", &[(SignUps, 1), (Latency, 1)]);

    let t = Totals::now();
    let (status, _) = call(&app, Method::POST, "/user", None, creds.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    t.assert_since("taken name", &[(Latency, 1)]);

    let t = Totals::now();
    let (status, _) = call(&app, Method::POST, "/user/alice", None, creds.clone()).await;
    assert_eq!(status, StatusCode::OK);
    t.assert_since("sign-in", &[(Latency, 1)]);

    // Wrong password, unknown user, impossible password: each a failure (the first two
    // also count towards the throttle; the limit here is 3).
    let t = Totals::now();
    for (name, pwd) in [
        ("alice", "wrong horse"),
        ("nobody", "correct horse"),
        ("alice", "short"),
    ] {
        let (status, _) = call(
            &app,
            Method::POST,
            &format!("/user/{name}"),
            None,
            json!({"user_name": name, "pwd": pwd}),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} {pwd}");
    }
    t.assert_since("failed sign-ins", &[(SignInFailures, 3), (Latency, 3)]);

    let t = Totals::now();
    let (status, _) = call(&app, Method::POST, "/user/bob", None, creds.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.assert_since("body and path disagree", &[(Latency, 1)]);

    let t = Totals::now();
    for _ in 0..2 {
        let body = json!({"user_name": "alice", "pwd": "wrong horse"});
        call(&app, Method::POST, "/user/alice", None, body).await;
    }
    let body = json!({"user_name": "alice", "pwd": "wrong horse"});
    let (status, _) = call(&app, Method::POST, "/user/alice", None, body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    t.assert_since(
        "two more failures, then throttled",
        &[(SignInFailures, 2), (Latency, 3)],
    );

    let (status, video) = call(
        &app,
        Method::POST,
        "/user/alice/videos",
        Some(&sid),
        json!({"name": "Holiday"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let vid = video["id"].as_str().unwrap().to_owned();

    let t = Totals::now();
    let upload = format!("/upload/{vid}");
    let grant = json!({"size": 1000, "content_type": "video/mp4"});
    let (status, _) = call(&app, Method::POST, &upload, Some(&sid), grant).await;
    assert_eq!(status, StatusCode::OK);
    let zero = json!({"size": 0, "content_type": "video/mp4"});
    let (status, _) = call(&app, Method::POST, &upload, Some(&sid), zero).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.assert_since(
        "upload grant, refused grant",
        &[(UploadGrants, 1), (Latency, 2)],
    );

    let t = Totals::now();
    let watch = format!("/videos/{vid}");
    let (status, _) = call(&app, Method::GET, &watch, Some(&sid), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "still pending");
    let id = VideoId::parse(&vid).unwrap();
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    assert!(f
        .store
        .mark_ready(&id, 1000, &mp4, &reel_core::domain::MediaInfo::default())
        .await
        .unwrap());
    let (status, _) = call(&app, Method::GET, &watch, Some(&sid), Value::Null).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    t.assert_since(
        "pending, then a redirect",
        &[(StreamRedirects, 1), (Latency, 2)],
    );

    let t = Totals::now();
    let comments = format!("/videos/{vid}/comments");
    let (status, _) = call(
        &app,
        Method::POST,
        &comments,
        Some(&sid),
        json!({"content": "nice"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &app,
        Method::POST,
        &comments,
        Some(&sid),
        json!({"content": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.assert_since("comment, refused comment", &[(Comments, 1), (Latency, 2)]);

    let t = Totals::now();
    let (status, _) = call(&app, Method::GET, "/no/such/route", None, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Method::GET, "/healthz", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    t.assert_since("unknown route, health", &[(Latency, 2)]);

    // The local server's app records no latency (its request log line has it).
    let site = site_app(f.state.clone(), axum::Router::new());
    let t = Totals::now();
    let (status, _) = call(&site, Method::GET, "/healthz", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    t.assert_since("site app", &[]);

    // A worker batch: two deletions done, one malformed message failed.
    let worker = Worker::new(f.blobs.clone(), f.store.clone(), f.store.clone());
    let message = |body: String| QueueMessage {
        ack_handle: body.clone(),
        body,
        receive_count: 1,
    };
    let batch = [
        message(VideoId::new().to_string()),
        message("not a video id".into()),
        message(VideoId::new().to_string()),
    ];
    let t = Totals::now();
    let outcome = worker.process_batch(&batch).await;
    assert_eq!((outcome.done.len(), outcome.failed.len()), (2, 1));
    t.assert_since("worker batch", &[(DeletionsDone, 2), (DeletionsFailed, 1)]);
}

/// Set in the child process of the test below: it emits instead of checking.
const CHILD: &str = "REEL_METRICS_TEST_CHILD";

/// What this test, re-run as a child process with the metrics environment set
/// ([`emit_to_stdout`]), writes, end to end: the environment read, one whole line per
/// metric on standard output, the route as a property.
#[test]
fn metrics_are_emf_lines_on_stdout_when_a_namespace_is_set() {
    if std::env::var_os(CHILD).is_some() {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(emit_to_stdout());
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "metrics_are_emf_lines_on_stdout_when_a_namespace_is_set",
            "--quiet",
        ])
        .env(CHILD, "1")
        .env("REEL_METRICS_NAMESPACE", "Reel-test")
        .env("REEL_FUNCTION", "users")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // libtest's own output (`--quiet`: only before and after the test's) is not JSON;
    // every line that mentions `_aws` must be one whole document.
    let docs: Vec<Value> = stdout
        .lines()
        .filter(|line| line.contains("_aws"))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for doc in &docs {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Reel-test");
        let dimensions = if doc.get("Latency").is_some() {
            json!([["Function"], ["Function", "Route"]])
        } else {
            json!([["Function"]])
        };
        assert_eq!(directive["Dimensions"], dimensions);
        assert_eq!(doc["Function"], "users");
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
    let named = |name: &'static str| docs.iter().filter(move |d| d.get(name).is_some());
    assert_eq!(
        named("Comments").count(),
        8 * 100,
        "concurrent lines, none lost or torn"
    );
    let sign_ups: Vec<_> = named("SignUps").collect();
    assert_eq!(sign_ups.len(), 1);
    assert_eq!(sign_ups[0]["SignUps"], 1);
    let latencies: Vec<_> = named("Latency").collect();
    assert_eq!(latencies.len(), 2, "{latencies:?}");
    assert_eq!(latencies[0]["Route"], "/user");
    assert_eq!(latencies[0]["Status"], 201);
    assert_eq!(latencies[0]["RequestId"].as_str().unwrap().len(), 36);
    assert!(latencies[0]["Latency"].as_f64().unwrap() > 0.0);
    assert_eq!(latencies[1]["Route"], "unmatched");
    assert_eq!(latencies[1]["Status"], 404);
    let unit = |d: &Value| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].clone();
    assert_eq!(
        unit(latencies[0]),
        json!({"Name": "Latency", "Unit": "Milliseconds"})
    );
    assert_eq!(
        unit(sign_ups[0]),
        json!({"Name": "SignUps", "Unit": "Count"})
    );
}

/// The child's part: a sign-up, an unknown route and 800 counts from 8 threads, with
/// the metrics printed (only ever in the child, whose counts nothing else checks).
async fn emit_to_stdout() {
    // What every host does at start-up (telemetry::init): the namespace from REEL_*.
    reel_core::metrics::init(&Settings::from_env().unwrap().metrics);
    let f = fixture();
    let app = function_app(function_routes::users(), f.state.bytes.app.clone());
    let creds = json!({"user_name": "alice", "pwd": "correct horse"});
    let (status, _) = call(&app, Method::POST, "/user", None, creds).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&app, Method::GET, "/nowhere", None, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..100 {
                    reel_core::metrics::count(Metric::Comments, 1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}
