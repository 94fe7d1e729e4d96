//! The Runtime API emulator with real function binaries: a hello-world `lambda_http`
//! function, and Reel's HTTP functions end to end against moto.

use reel_testkit::runtime_api::LambdaProcess;
use serde_json::{json, Value};
use std::path::PathBuf;

/// An API Gateway HTTP API (payload v2) request event.
fn http_event(method: &str, path: &str, session: Option<&str>, body: Option<Value>) -> Value {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = json!({
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "runtime-api-test",
        "x-forwarded-proto": "https",
        "content-type": "application/json",
    });
    if let Some(sid) = session {
        headers["x-session-id"] = json!(sid);
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "runtime-api-test"
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:03:00:00 +0000",
            "timeEpoch": 1_795_575_600_000u64
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
}

/// (status, JSON body or Null, headers) of an HTTP function's answer.
/// PUTs `bytes` to a granting reply's URL with its headers, as a browser would.
async fn put_as_granted(granted: &Value, bytes: &'static [u8]) {
    let (status, grant, _) = reply(granted);
    assert_eq!(status, 200, "{grant}");
    let mut put = reqwest::Client::new()
        .put(grant["url"].as_str().unwrap())
        .body(bytes);
    for (name, value) in grant["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    assert_eq!(put.send().await.unwrap().status(), 200);
}

fn reply(answer: &Value) -> (u64, Value, Value) {
    let body = answer["body"].as_str().unwrap_or("");
    (
        answer["statusCode"].as_u64().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
        answer["headers"].clone(),
    )
}

fn hello() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hello-lambda"))
}

#[tokio::test]
async fn invocations_go_through_next_and_response_in_turn() {
    let mut f = LambdaProcess::spawn(&hello(), &[]).await.unwrap();
    assert!(f.wait_ready().await.unwrap() > std::time::Duration::ZERO);
    for _ in 0..3 {
        let answer = f
            .invoke_json(&http_event("GET", "/", None, None))
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], 200);
        assert_eq!(answer["body"], "hello");
    }
    assert!(f.peak_rss_kib().unwrap() > 0);
}

#[tokio::test]
async fn a_handler_error_comes_back_through_the_error_endpoint() {
    let mut f = LambdaProcess::spawn(&hello(), &[]).await.unwrap();
    let failed = f
        .invoke(&json!({"not": "an API Gateway event"}))
        .await
        .unwrap();
    let error = failed.expect_err("an event lambda_http cannot read is an error");
    assert!(!error.error_type.is_empty(), "{error}");
    // The function carries on with the next event.
    let answer = f
        .invoke_json(&http_event("GET", "/", None, None))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200);
}

#[tokio::test]
async fn unknown_request_ids_and_init_errors_are_answered_like_lambda() {
    // A function that does not start (no cursor key) never polls, and says why.
    let mut f = LambdaProcess::spawn(&function("reel-users"), &[])
        .await
        .unwrap();
    let failed = f
        .wait_ready()
        .await
        .expect_err("a misconfigured function never gets ready");
    assert!(failed.to_string().contains("exited"), "{failed}");

    let f = LambdaProcess::spawn(&hello(), &[]).await.unwrap();
    let api = f.api_address();
    let client = reqwest::Client::new();
    let unknown = client
        .post(format!(
            "http://{api}/2018-06-01/runtime/invocation/nope/response"
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let init = client
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("lambda-runtime-function-error-type", "Runtime.ConfigError")
        .body(r#"{"errorMessage":"bad config","errorType":"ConfigError"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 202);
    assert!(f.init_error().unwrap().contains("Runtime.ConfigError"));
}

fn function(name: &str) -> PathBuf {
    reel_testkit::binaries::binary(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_functions_work_end_to_end_on_moto() {
    let moto = reel_testkit::moto::shared();
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let mut env = moto.env();
    env.extend(
        [
            ("REEL_TABLE_PREFIX", format!("t{tag}")),
            ("REEL_BUCKET", format!("b{tag}")),
            ("REEL_DELETION_QUEUE", format!("q{tag}")),
            (
                "REEL_CURSOR_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let provision = std::process::Command::new(function("reel-users").with_file_name("reel"))
        .arg("provision")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status();
    assert!(provision.unwrap().success(), "reel provision failed");
    let spawn = |name: &'static str| {
        let env = env.clone();
        async move { LambdaProcess::spawn(&function(name), &env).await.unwrap() }
    };
    let (mut users, mut sessions, mut videos, mut comments, mut stream, mut video_events) = (
        spawn("reel-users").await,
        spawn("reel-sessions").await,
        spawn("reel-videos").await,
        spawn("reel-comments").await,
        spawn("reel-stream").await,
        spawn("reel-video-events").await,
    );
    // Upload grants (and multipart uploads' calls to S3) are the uploads function's.
    let mut uploads = spawn("reel-uploads").await;
    let credentials = json!({"user_name": "alice", "pwd": "correct horse"});

    let signed_up = users
        .invoke_json(&http_event(
            "POST",
            "/user",
            None,
            Some(credentials.clone()),
        ))
        .await
        .unwrap();
    assert_eq!(reply(&signed_up).0, 201, "{signed_up}");
    let signed_in = sessions
        .invoke_json(&http_event("POST", "/user/alice", None, Some(credentials)))
        .await
        .unwrap();
    let (status, body, _) = reply(&signed_in);
    assert_eq!(status, 200, "{signed_in}");
    let sid = body["session_id"].as_str().unwrap().to_owned();

    let created = videos
        .invoke_json(&http_event(
            "POST",
            "/user/alice/videos",
            Some(&sid),
            Some(json!({"name": "Holiday"})),
        ))
        .await
        .unwrap();
    let (status, video, _) = reply(&created);
    assert_eq!(
        (status, video["status"].as_str()),
        (201, Some("pending")),
        "{created}"
    );
    let vid = video["id"].as_str().unwrap().to_owned();
    let listed = videos
        .invoke_json(&http_event(
            "GET",
            "/user/alice/videos?limit=10",
            Some(&sid),
            None,
        ))
        .await
        .unwrap();
    let (status, list, _) = reply(&listed);
    assert_eq!(
        (status, list["videos"][0]["id"].as_str()),
        (200, Some(vid.as_str()))
    );

    let commented = comments
        .invoke_json(&http_event(
            "POST",
            &format!("/videos/{vid}/comments"),
            Some(&sid),
            Some(json!({"content": "first!"})),
        ))
        .await
        .unwrap();
    assert_eq!(reply(&commented).0, 201, "{commented}");
    let listed = comments
        .invoke_json(&http_event(
            "GET",
            &format!("/videos/{vid}/comments"),
            Some(&sid),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(reply(&listed).1["comments"][0]["content"], "first!");

    // Upload through the presigned URL with the grant's headers; S3's ObjectCreated
    // notification reaches video-events (moto sends none: the test delivers it), and the
    // stream function then redirects to S3.
    const MP4: &[u8] = include_bytes!("../../server/tests/fixtures/sample.mp4");
    let grant = uploads
        .invoke_json(&http_event(
            "POST",
            &format!("/upload/{vid}"),
            Some(&sid),
            Some(json!({"size": MP4.len(), "content_type": "video/mp4"})),
        ))
        .await
        .unwrap();
    put_as_granted(&grant, MP4).await;
    let mut created: Value =
        serde_json::from_str(include_str!("../../../events/s3-object-created.json")).unwrap();
    created["Records"][0]["s3"]["bucket"]["name"] = format!("b{tag}").into();
    created["Records"][0]["s3"]["object"]["key"] = format!("videos/{vid}").into();
    created["Records"][0]["s3"]["object"]["size"] = MP4.len().into();
    video_events.invoke_json(&created).await.unwrap();
    let info = videos
        .invoke_json(&http_event(
            "GET",
            &format!("/videos/{vid}/info"),
            Some(&sid),
            None,
        ))
        .await
        .unwrap();
    let (status, info, _) = reply(&info);
    assert_eq!(
        (status, info["status"].as_str(), info["size"].as_u64()),
        (200, Some("ready"), Some(MP4.len() as u64)),
        "{info}"
    );
    // What video-events read of its header (ranged GetObjects).
    assert_eq!(
        (
            info["duration_ms"].as_u64(),
            info["video_codec"].as_str(),
            info["faststart"].as_bool()
        ),
        (Some(4000), Some("avc1.64000c"), Some(true)),
        "{info}"
    );

    // A poster: granted by videos, PUT to S3, checked by video-events on its notification,
    // then signed into the video's info.
    const POSTER: &[u8] = include_bytes!("../../server/tests/fixtures/posters/poster.webp");
    let grant = videos
        .invoke_json(&http_event(
            "POST",
            &format!("/upload/{vid}/poster"),
            Some(&sid),
            Some(json!({"size": POSTER.len(), "content_type": "image/webp"})),
        ))
        .await
        .unwrap();
    put_as_granted(&grant, POSTER).await;
    let mut landed: Value =
        serde_json::from_str(include_str!("../../../events/s3-poster-created.json")).unwrap();
    landed["Records"][0]["s3"]["bucket"]["name"] = format!("b{tag}").into();
    landed["Records"][0]["s3"]["object"]["key"] = format!("posters/{vid}").into();
    video_events.invoke_json(&landed).await.unwrap();
    let info = videos
        .invoke_json(&http_event(
            "GET",
            &format!("/videos/{vid}/info"),
            Some(&sid),
            None,
        ))
        .await
        .unwrap();
    let poster_url = reply(&info).1["poster_url"]
        .as_str()
        .expect("a poster URL")
        .to_owned();
    let poster = reqwest::get(&poster_url).await.unwrap();
    assert_eq!(poster.status(), 200);
    assert_eq!(poster.headers()["content-type"], "image/webp");
    assert_eq!(poster.bytes().await.unwrap(), POSTER);
    let redirected = stream
        .invoke_json(&http_event(
            "GET",
            &format!("/videos/{vid}"),
            Some(&sid),
            None,
        ))
        .await
        .unwrap();
    let (status, _, headers) = reply(&redirected);
    assert_eq!(status, 307, "{redirected}");
    let location = headers["location"].as_str().unwrap();
    assert!(
        location.starts_with(&moto.endpoint) && location.contains(&vid),
        "{location}"
    );
    let bytes = reqwest::Client::new()
        .get(location)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.status(), 206);
    assert_eq!(&bytes.bytes().await.unwrap()[..], &MP4[..100]);
}
