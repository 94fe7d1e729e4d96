//! `kill -9` in the middle of parallel uploads and comment posts (embedded storage):
//! after a restart every acknowledged write is there byte for byte, no half-written
//! upload made its video `ready`, and the partial uploads in `tmp/` are gone. The same
//! in the middle of a multipart upload's parts, and of its completion.

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod support;
use support::{Api, Server, Store};

const UPLOADS: usize = 50;
const COMMENTS: usize = 1000;
/// Each upload sends this many chunks with a pause between, so that uploads are still
/// arriving when the server is killed.
const CHUNKS: usize = 16;
const CHUNK: usize = 16 << 10;

/// The bytes of upload `i`: a real MP4 whose padding is distinct per video, so a mix-up
/// shows.
fn video_bytes(i: usize) -> Vec<u8> {
    let mut file = support::padded_mp4(CHUNKS * CHUNK);
    let padding = support::MP4.len() + 8;
    for (n, byte) in file.iter_mut().enumerate().skip(padding) {
        *byte = (n.wrapping_mul(31) ^ i) as u8;
    }
    file
}

/// PUTs `bytes` to a granted URL a chunk at a time; `None` when the connection failed
/// (the server died), else the status.
async fn slow_put(api: &Api, grant: &Value, bytes: Vec<u8>) -> Option<StatusCode> {
    let chunks =
        futures_util::stream::iter(bytes.chunks(CHUNK).map(<[u8]>::to_vec).collect::<Vec<_>>())
            .then(|chunk| async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, std::io::Error>(chunk)
            });
    let mut put = api
        .http
        .put(grant["url"].as_str().unwrap())
        .body(reqwest::Body::wrap_stream(chunks));
    for (k, v) in grant["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    put.send().await.ok().map(|res| res.status())
}

/// Posts a comment; the created comment when the server acknowledged it.
async fn post_comment(api: &Api, sid: &str, vid: &str, content: &str) -> Option<Value> {
    let res = api
        .http
        .post(format!("{}/videos/{vid}/comments", api.base))
        .header("x-session-id", sid)
        .json(&json!({ "content": content }))
        .send()
        .await
        .ok()?;
    if res.status() != StatusCode::CREATED {
        return None;
    }
    res.json().await.ok()
}

/// What the clients saw acknowledged before the crash.
#[derive(Default)]
struct Acknowledged {
    uploads: Mutex<Vec<usize>>,
    comments: Mutex<HashMap<String, String>>,
    upload_count: AtomicUsize,
    comment_count: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_uploads_and_comments_survive_kill_9() {
    let mut store = Store::local();
    // Many uploads of one account in flight at once: more than the default quota.
    store
        .env
        .push(("REEL_MAX_PENDING_VIDEOS".into(), "1000".into()));
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let talked_about = api.create_video(&sid, "alice", "talked about").await;
    let mut videos = Vec::new();
    for i in 0..UPLOADS {
        let vid = api.create_video(&sid, "alice", &format!("v{i}")).await;
        let grant = api.grant_upload(&sid, &vid, CHUNKS * CHUNK).await;
        videos.push((vid, grant));
    }

    let acked = Acknowledged::default();
    let (api_ref, sid_ref, acked_ref, videos_ref) = (&api, sid.as_str(), &acked, &videos);
    let uploads = futures_util::stream::iter(0..UPLOADS).for_each_concurrent(10, |i| async move {
        if slow_put(api_ref, &videos_ref[i].1, video_bytes(i)).await == Some(StatusCode::OK) {
            acked_ref.uploads.lock().unwrap().push(i);
            acked_ref.upload_count.fetch_add(1, SeqCst);
        }
    });
    let talked_about = talked_about.as_str();
    let comments = futures_util::stream::iter(0..COMMENTS).for_each_concurrent(8, |i| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let content = format!("comment {i}");
        if let Some(c) = post_comment(api_ref, sid_ref, talked_about, &content).await {
            assert_eq!(c["content"], content.as_str());
            let id = c["id"].as_str().unwrap().to_owned();
            acked_ref.comments.lock().unwrap().insert(id, content);
            acked_ref.comment_count.fetch_add(1, SeqCst);
        }
    });
    let killer = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        while acked.upload_count.load(SeqCst) < 15 || acked.comment_count.load(SeqCst) < 100 {
            assert!(Instant::now() < deadline, "the writes never got going");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.crash();
    };
    tokio::join!(uploads, comments, killer);

    let uploaded = acked.uploads.into_inner().unwrap();
    let commented = acked.comments.into_inner().unwrap();
    assert!(
        uploaded.len() < UPLOADS && commented.len() < COMMENTS,
        "killed in the middle: {} uploads and {} comments acknowledged",
        uploaded.len(),
        commented.len()
    );

    let partial = std::fs::read_dir(store.path().join("tmp")).unwrap().count();
    eprintln!(
        "killed with {} of {UPLOADS} uploads and {} of {COMMENTS} comments acknowledged, \
         {partial} partial uploads in tmp/",
        uploaded.len(),
        commented.len()
    );
    assert!(partial > 0, "killed while uploads were arriving");
    let server = Server::start(&store, &[]);
    let tmp = std::fs::read_dir(store.path().join("tmp")).unwrap().count();
    assert_eq!(tmp, 0, "partial uploads are removed on start");
    let api = Api::new(&server);
    for (i, (vid, _)) in videos.iter().enumerate() {
        let (status, info) = api.get(&format!("/videos/{vid}/info"), &sid).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        if uploaded.contains(&i) {
            assert_eq!(info["status"], "ready", "acknowledged upload {i}");
        }
        if info["status"] == "ready" {
            let url = api.blob_url(&sid, vid).await;
            let (status, _, body) = api.fetch(&url, None).await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                body == video_bytes(i),
                "video {i} is ready with other bytes"
            );
        } else {
            assert_eq!(info["status"], "pending", "video {i}");
        }
    }
    let stored: HashMap<String, String> = api
        .all_comments(&sid, talked_about, "", 100)
        .await
        .into_iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap().to_owned();
            (text("id"), text("content"))
        })
        .collect();
    for (id, content) in &commented {
        assert_eq!(stored.get(id), Some(content), "acknowledged comment {id}");
    }
    for content in stored.values() {
        let n: usize = content.strip_prefix("comment ").unwrap().parse().unwrap();
        assert!(n < COMMENTS, "{content}");
    }
    server.stop();
}

/// Parts of this size: each PUT sends [`PART_CHUNKS`] chunks with a pause between, so
/// parts are arriving when the server is killed.
const PART: usize = 8 << 20;
const PART_CHUNKS: usize = 32;
const PARTS: usize = 12;

/// A part's bytes from a multipart plan's file.
fn part_bytes(file: &[u8], n: usize) -> &[u8] {
    &file[(n - 1) * PART..(n * PART).min(file.len())]
}

/// PUTs a part slowly; its ETag when the server acknowledged it.
async fn slow_part_put(api: &Api, url: &Value, bytes: Vec<u8>) -> Option<String> {
    let chunk = bytes.len().div_ceil(PART_CHUNKS);
    let chunks =
        futures_util::stream::iter(bytes.chunks(chunk).map(<[u8]>::to_vec).collect::<Vec<_>>())
            .then(|chunk| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, std::io::Error>(chunk)
            });
    let reply = api
        .http
        .put(url["url"].as_str().unwrap())
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .ok()?;
    (reply.status() == StatusCode::OK).then(|| reply.headers()["etag"].to_str().unwrap().to_owned())
}

fn md5_etag(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(bytes)))
}

/// Begins a multipart upload of `file` for a new video; its id and upload id.
async fn begin_multipart(api: &Api, sid: &str, file: &[u8]) -> (String, String) {
    let vid = api.create_video(sid, "alice", "big").await;
    let plan = api.grant_upload(sid, &vid, file.len()).await;
    assert_eq!(plan["part_size"], PART);
    (vid, plan["upload_id"].as_str().unwrap().to_owned())
}

async fn part_urls(api: &Api, sid: &str, vid: &str, upload: &str, numbers: &[usize]) -> Vec<Value> {
    let (status, body) = api
        .post(
            &format!("/upload/{vid}/parts"),
            Some(sid),
            json!({"upload_id": upload, "part_numbers": numbers}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["parts"].as_array().unwrap().clone()
}

/// PUTs parts `numbers` of `file`, one after the other, each acknowledged.
async fn put_parts(api: &Api, sid: &str, vid: &str, upload: &str, file: &[u8], numbers: &[usize]) {
    for (n, url) in numbers
        .iter()
        .zip(part_urls(api, sid, vid, upload, numbers).await)
    {
        let put = api
            .http
            .put(url["url"].as_str().unwrap())
            .body(part_bytes(file, *n).to_vec());
        assert_eq!(put.send().await.unwrap().status(), StatusCode::OK);
    }
}

async fn stored_parts(api: &Api, sid: &str, vid: &str, upload: &str) -> Vec<Value> {
    let (status, body) = api
        .get(&format!("/upload/{vid}/parts?upload_id={upload}"), sid)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["parts"].as_array().unwrap().clone()
}

async fn complete_with(
    api: &Api,
    sid: &str,
    vid: &str,
    upload: &str,
    parts: &[Value],
) -> Option<StatusCode> {
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| json!({"part_number": p["part_number"], "etag": p["etag"]}))
        .collect();
    let reply = api
        .http
        .post(format!("{}/upload/{vid}/complete", api.base))
        .header("x-session-id", sid)
        .json(&json!({"upload_id": upload, "parts": parts}))
        .send()
        .await
        .ok()?;
    Some(reply.status())
}

/// The server, with files over 1 MiB sent in parts.
fn multipart_server(store: &Store) -> Server {
    Server::start(store, &["--multipart-threshold-bytes", "1048576"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_survives_kill_9() {
    let store = Store::local();
    let server = multipart_server(&store);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let file = support::padded_mp4(PARTS * PART - 4321);
    let (vid, upload) = begin_multipart(&api, &sid, &file).await;
    let numbers: Vec<usize> = (1..=PARTS).collect();
    let urls = part_urls(&api, &sid, &vid, &upload, &numbers).await;

    // Parts arriving four at a time; the server is killed once three are acknowledged.
    let acked: Mutex<Vec<(usize, String)>> = Mutex::default();
    let (api_ref, file_ref, urls_ref, acked_ref) = (&api, &file, &urls, &acked);
    let puts = futures_util::stream::iter(numbers.clone()).for_each_concurrent(4, |n| async move {
        let bytes = part_bytes(file_ref, n).to_vec();
        if let Some(etag) = slow_part_put(api_ref, &urls_ref[n - 1], bytes).await {
            acked_ref.lock().unwrap().push((n, etag));
        }
    });
    let killer = async {
        let deadline = Instant::now() + Duration::from_secs(120);
        while acked.lock().unwrap().len() < 3 {
            assert!(Instant::now() < deadline, "the parts never got going");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.crash();
    };
    tokio::join!(puts, killer);
    let acked = acked.into_inner().unwrap();
    assert!(
        acked.len() < PARTS,
        "killed in the middle: {} parts acknowledged",
        acked.len()
    );

    // The parts listed are exactly complete ones: every acknowledged part, and any
    // other only whole (its PUT finished as the server died).
    let server = multipart_server(&store);
    let api = Api::new(&server);
    let listed = stored_parts(&api, &sid, &vid, &upload).await;
    eprintln!(
        "killed with {} parts acknowledged, {} listed after the restart",
        acked.len(),
        listed.len()
    );
    for (n, etag) in &acked {
        assert!(
            listed
                .iter()
                .any(|p| p["part_number"] == *n && p["etag"] == etag.as_str()),
            "acknowledged part {n} is listed"
        );
    }
    for part in &listed {
        let n = part["part_number"].as_u64().unwrap() as usize;
        let bytes = part_bytes(&file, n);
        assert_eq!(part["size"], bytes.len(), "part {n} is whole");
        assert_eq!(
            part["etag"],
            md5_etag(bytes).as_str(),
            "part {n} is its bytes"
        );
    }

    // Resumed: the missing parts, then the whole file.
    let missing: Vec<usize> = numbers
        .iter()
        .copied()
        .filter(|n| !listed.iter().any(|p| p["part_number"] == *n))
        .collect();
    put_parts(&api, &sid, &vid, &upload, &file, &missing).await;
    let all = stored_parts(&api, &sid, &vid, &upload).await;
    assert_eq!(
        complete_with(&api, &sid, &vid, &upload, &all).await,
        Some(StatusCode::OK)
    );
    let (_, _, stored) = api.fetch(&api.blob_url(&sid, &vid).await, None).await;
    assert!(stored == file, "the resumed upload is the file");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_killed_midway_happened_whole_or_not_at_all() {
    let store = Store::local();
    let server = multipart_server(&store);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let file = support::padded_mp4(PARTS * PART);
    let (vid, upload) = begin_multipart(&api, &sid, &file).await;
    let numbers: Vec<usize> = (1..=PARTS).collect();
    put_parts(&api, &sid, &vid, &upload, &file, &numbers).await;
    let all = stored_parts(&api, &sid, &vid, &upload).await;
    // Killed while it assembles 96 MiB (the request is in; its answer is not).
    let completing = complete_with(&api, &sid, &vid, &upload, &all);
    let killer = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        server.crash();
    };
    let (answer, ()) = tokio::join!(completing, killer);

    let server = multipart_server(&store);
    let api = Api::new(&server);
    let (_, info) = api.get(&format!("/videos/{vid}/info"), &sid).await;
    eprintln!(
        "completion answered {answer:?} before the kill; after the restart the video is {}",
        info["status"]
    );
    if answer == Some(StatusCode::OK) {
        assert_eq!(info["status"], "ready", "an acknowledged completion stays");
    }
    if info["status"] == "pending" {
        // Not at all: the parts are all there, and completing again assembles them.
        assert_eq!(stored_parts(&api, &sid, &vid, &upload).await, all);
        assert_eq!(
            complete_with(&api, &sid, &vid, &upload, &all).await,
            Some(StatusCode::OK)
        );
    }
    let (_, _, stored) = api.fetch(&api.blob_url(&sid, &vid).await, None).await;
    assert!(stored == file, "whole: the object is the file");
    assert_eq!(
        std::fs::read_dir(store.path().join("tmp")).unwrap().count(),
        0
    );
    server.stop();
}
