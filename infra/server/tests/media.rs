//! What an upload is, end to end against the real `reel` binary on both backends: the
//! media fixtures (made with ffmpeg, `scripts/make-media-fixtures.sh`) uploaded as a
//! browser would, the metadata read from their headers, rejected files, and posters.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod support;
use support::{Api, Server, Store};

fn fixtures(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

fn table() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures("media").join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn media_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("webm") => "video/webm",
        Some("mov") => "video/quicktime",
        _ => "video/mp4",
    }
}

/// Grants an upload of `bytes` as `content_type` and PUTs them as a browser would.
async fn upload_as(api: &Api, sid: &str, vid: &str, bytes: Vec<u8>, content_type: &str) {
    let body = json!({"size": bytes.len(), "content_type": content_type});
    let (status, grant) = api.post(&format!("/upload/{vid}"), Some(sid), body).await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    assert_eq!(api.put(&grant, bytes).await, StatusCode::OK);
}

/// The video's info once it is no longer pending (the AWS host settles it on a read).
async fn settled(api: &Api, sid: &str, vid: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, info) = api.get(&format!("/videos/{vid}/info"), sid).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        if info["status"] != "pending" || Instant::now() > deadline {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn every_fixture_is_read_and_shown_as_its_table_says(store: Store) {
    let server = Server::start(&store, &["--deletion-interval", "1"]);
    let api = Api::new(&server);
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let mut rejected = Vec::new();
    for (name, expected) in table() {
        let vid = api.create_video(&alice, "alice", &name).await;
        let bytes = std::fs::read(fixtures("media").join(&name)).unwrap();
        upload_as(&api, &alice, &vid, bytes, media_type(&name)).await;
        let info = settled(&api, &alice, &vid).await;
        let reel = &expected["reel"];
        assert_eq!(info["status"], reel["status"], "{name}: {info}");
        if reel["status"] == "ready" {
            assert_eq!(info["duration_ms"], expected["duration_ms"], "{name}");
            assert_eq!(info["width"], expected["width"], "{name}");
            assert_eq!(info["height"], expected["height"], "{name}");
            assert_eq!(info["video_codec"], reel["video_codec"], "{name}");
            assert_eq!(info["audio_codec"], reel["audio_codec"], "{name}");
            let faststart = expected.get("faststart").cloned().unwrap_or(json!(true));
            assert_eq!(info["faststart"], faststart, "{name}");
            assert_eq!(info["reason"], Value::Null);
        } else {
            assert_eq!(info["reason"], reel["reason"], "{name}");
            assert_eq!(info["duration_ms"], Value::Null);
            rejected.push(vid);
        }
    }
    // A rejected upload is never streamed, is listed to its owner alone, and is theirs
    // to delete.
    let (_, mine) = api.get("/user/alice/videos?limit=100", &alice).await;
    let (_, theirs) = api.get("/user/alice/videos?limit=100", &bob).await;
    let ids = |page: &Value| -> Vec<String> {
        page["videos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for vid in &rejected {
        let (status, _) = api.get(&format!("/videos/{vid}"), &alice).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(ids(&mine).contains(vid));
        assert!(!ids(&theirs).contains(vid));
        let (status, _) = api.get(&format!("/videos/{vid}/info"), &bob).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api.get(&format!("/videos/{vid}/comments"), &bob).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(ids(&theirs).len(), ids(&mine).len() - rejected.len());
    // Its bytes go through the deletion pipeline while the item stays.
    if !store.env.is_empty() {
        let host = store.aws_host().await;
        for vid in &rejected {
            let id = reel_core::domain::VideoId::parse(vid).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while host.adapters.blobs.head(&id).await.unwrap().is_some() {
                assert!(
                    Instant::now() < deadline,
                    "the rejected bytes of {vid} are still there"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    } else {
        let deadline = Instant::now() + Duration::from_secs(30);
        while rejected
            .iter()
            .any(|vid| store.path().join("blobs").join(vid).exists())
        {
            assert!(
                Instant::now() < deadline,
                "rejected bytes are still on disk"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let (status, info) = api
        .get(&format!("/videos/{}/info", rejected[0]), &alice)
        .await;
    assert_eq!(
        (status, &info["status"]),
        (StatusCode::OK, &json!("rejected"))
    );
    for vid in &rejected {
        let (status, _) = api
            .call(
                reqwest::Method::DELETE,
                &format!("/user/alice/videos/{vid}"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_is_read_and_shown_as_its_table_says_locally() {
    every_fixture_is_read_and_shown_as_its_table_says(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_is_read_and_shown_as_its_table_says_on_aws() {
    every_fixture_is_read_and_shown_as_its_table_says(Store::aws()).await;
}

/// Grants a poster upload and PUTs `bytes`; the PUT's status.
async fn put_poster(
    api: &Api,
    sid: &str,
    vid: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> StatusCode {
    let body = json!({"size": bytes.len(), "content_type": content_type});
    let (status, grant) = api
        .post(&format!("/upload/{vid}/poster"), Some(sid), body)
        .await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    assert_eq!(grant["method"], "PUT");
    assert_eq!(
        grant["headers"]["content-type"]
            .as_str()
            .or(grant["headers"]["Content-Type"].as_str()),
        Some(content_type)
    );
    api.put(&grant, bytes).await
}

async fn posters_are_checked_signed_stably_and_replaceable(store: Store) {
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let vid = api.create_video(&alice, "alice", "Clip").await;
    support::Api::upload(&api, &alice, &vid, support::MP4.to_vec()).await;
    assert_eq!(settled(&api, &alice, &vid).await["poster_url"], Value::Null);
    let webp = std::fs::read(fixtures("posters").join("poster.webp")).unwrap();
    let jpeg = std::fs::read(fixtures("posters").join("poster.jpg")).unwrap();

    // Refused before any byte: someone else's video, a type that is not a poster's, too big.
    let poster = |size: usize, ct: &str| json!({"size": size, "content_type": ct});
    let path = format!("/upload/{vid}/poster");
    assert_eq!(
        api.post(&path, Some(&bob), poster(10, "image/webp"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = api.post(&path, Some(&alice), poster(10, "image/png")).await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, &json!("010"))
    );
    let (status, body) = api
        .post(
            &path,
            Some(&alice),
            poster(2 * 1024 * 1024 + 1, "image/jpeg"),
        )
        .await;
    assert_eq!(
        (status, &body["error_code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("009"))
    );

    // A JPEG sent as WebP is not taken: refused on landing (locally, at once; on S3,
    // removed when it is checked).
    let status = put_poster(&api, &alice, &vid, jpeg.clone(), "image/webp").await;
    assert!(
        status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::OK,
        "{status}"
    );
    assert_eq!(settled(&api, &alice, &vid).await["poster_url"], Value::Null);

    assert_eq!(
        put_poster(&api, &alice, &vid, webp.clone(), "image/webp").await,
        StatusCode::OK
    );
    let first = settled(&api, &alice, &vid).await["poster_url"]
        .as_str()
        .expect("a poster URL")
        .to_owned();
    // The same URL on every read within the hour (so the browser's cache serves it), in
    // listings too, for anyone who may see the video.
    assert_eq!(settled(&api, &bob, &vid).await["poster_url"], json!(first));
    let (_, list) = api.get("/user/alice/videos", &bob).await;
    assert_eq!(list["videos"][0]["poster_url"], json!(first));
    let (status, headers, body) = api.fetch(&first, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, webp);
    assert_eq!(headers["content-type"], "image/webp");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(cache.contains("max-age="), "{cache}");

    // Replaced: another URL, the new image.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        put_poster(&api, &alice, &vid, jpeg.clone(), "image/jpeg").await,
        StatusCode::OK
    );
    let second = settled(&api, &alice, &vid).await["poster_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let (status, headers, body) = api.fetch(&second, None).await;
    assert_eq!((status, body), (StatusCode::OK, jpeg));
    assert_eq!(headers["content-type"], "image/jpeg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posters_are_checked_signed_stably_and_replaceable_locally() {
    posters_are_checked_signed_stably_and_replaceable(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posters_are_checked_signed_stably_and_replaceable_on_aws() {
    posters_are_checked_signed_stably_and_replaceable(Store::aws()).await;
}
