//! Multipart uploads against the real binary (API.md, "Multipart uploads"): a 200 MiB
//! file in 8 MiB parts sent out of order, one part twice, completions with a part
//! missing or a wrong ETag refused with nothing assembled, then the whole file stored
//! byte for byte; abort, a second upload, and deleting a pending video's upload. On
//! embedded storage, and a smaller file through the AWS backend on moto.

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod support;
use support::{Api, Server, Store};

const MIB: usize = 1 << 20;

/// `store`, with files over 1 MiB sent in parts (small files test the protocol fast)
/// and deletions carried out a second after they are asked for.
fn in_parts_over_1_mib(mut store: Store) -> Store {
    for (k, v) in [
        ("REEL_MULTIPART_THRESHOLD_BYTES", MIB.to_string()),
        ("REEL_DELETION_GRACE_SECS", "1".to_owned()),
    ] {
        store.env.push((k.to_owned(), v));
    }
    store
}

/// Waits until `gone` says so (the deletion pipeline runs every few seconds).
async fn eventually<F, Fut>(what: &str, mut gone: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !gone().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A multipart upload of `file` begun for a new video of alice's.
struct Upload {
    vid: String,
    upload_id: String,
    part_size: usize,
    part_count: u64,
}

async fn begin(api: &Api, sid: &str, file: &[u8]) -> Upload {
    let vid = api.create_video(sid, "alice", "big").await;
    let plan = api.grant_upload(sid, &vid, file.len()).await;
    Upload {
        vid,
        upload_id: plan["upload_id"].as_str().expect("a multipart plan").into(),
        part_size: plan["part_size"].as_u64().unwrap() as usize,
        part_count: plan["part_count"].as_u64().unwrap(),
    }
}

/// Signed URLs of `numbers`, by part number.
async fn sign(api: &Api, sid: &str, up: &Upload, numbers: &[u64]) -> Vec<Value> {
    let (status, body) = api
        .post(
            &format!("/upload/{}/parts", up.vid),
            Some(sid),
            json!({"upload_id": up.upload_id, "part_numbers": numbers}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["parts"].as_array().unwrap().clone()
}

/// PUTs `bytes` to a part's URL; its ETag.
async fn put_part(api: &Api, url: &Value, bytes: Vec<u8>) -> String {
    let mut put = api.http.put(url["url"].as_str().unwrap()).body(bytes);
    for (k, v) in url["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    let reply = put.send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    reply.headers()["etag"].to_str().unwrap().to_owned()
}

fn part_of(file: &[u8], up: &Upload, n: u64) -> Vec<u8> {
    let start = (n as usize - 1) * up.part_size;
    file[start..(start + up.part_size).min(file.len())].to_vec()
}

async fn listed(api: &Api, sid: &str, up: &Upload) -> (StatusCode, Value) {
    let path = format!("/upload/{}/parts?upload_id={}", up.vid, up.upload_id);
    api.get(&path, sid).await
}

async fn complete(
    api: &Api,
    sid: &str,
    up: &Upload,
    parts: &[(u64, String)],
) -> (StatusCode, Value) {
    let parts: Vec<Value> = parts
        .iter()
        .map(|(n, etag)| json!({"part_number": n, "etag": etag}))
        .collect();
    api.post(
        &format!("/upload/{}/complete", up.vid),
        Some(sid),
        json!({"upload_id": up.upload_id, "parts": parts}),
    )
    .await
}

/// The SHA-256 of what the video's stream URL serves, read as it arrives.
async fn stored_digest(api: &Api, sid: &str, vid: &str) -> Vec<u8> {
    let url = api.blob_url(sid, vid).await;
    let reply = api.http.get(url).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let mut hash = Sha256::new();
    let mut body = reply.bytes_stream();
    while let Some(chunk) = body.next().await {
        hash.update(chunk.unwrap());
    }
    hash.finalize().to_vec()
}

/// The whole protocol on one server with a `size`-byte file.
async fn a_large_file_arrives_whole_in_parts(store: &Store, size: usize) {
    let server = Server::start(store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let file = reel_testkit::media::padded_mp4(size);
    let up = begin(&api, &sid, &file).await;
    assert_eq!(up.part_size, 8 * MIB);
    assert_eq!(up.part_count, size.div_ceil(8 * MIB) as u64);
    // One upload at a time.
    let (status, again) = api
        .post(
            &format!("/upload/{}", up.vid),
            Some(&sid),
            json!({"size": size, "content_type": "video/mp4"}),
        )
        .await;
    assert_eq!(
        (status, &again["error_code"]),
        (StatusCode::CONFLICT, &json!("006"))
    );

    // Every part, the last first and the rest interleaved, four at a time; part 2 is
    // first sent with other bytes, then again with its own.
    let numbers: Vec<u64> = (1..=up.part_count).collect();
    let urls = sign(&api, &sid, &up, &numbers).await;
    assert_eq!(urls.len(), numbers.len());
    let mut order: Vec<u64> = numbers.iter().rev().step_by(2).copied().collect();
    order.extend(numbers.iter().rev().skip(1).step_by(2));
    let wrong = vec![0xAB; up.part_size];
    put_part(&api, &urls[1], wrong).await;
    let (api_ref, urls_ref, file_ref, up_ref) = (&api, &urls, &file, &up);
    let mut etags: Vec<(u64, String)> = futures_util::stream::iter(order)
        .map(|n| async move {
            let bytes = part_of(file_ref, up_ref, n);
            (n, put_part(api_ref, &urls_ref[n as usize - 1], bytes).await)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    etags.sort();

    let (status, stored) = listed(&api, &sid, &up).await;
    assert_eq!(status, StatusCode::OK);
    let stored = stored["parts"].as_array().unwrap();
    assert_eq!(stored.len() as u64, up.part_count);
    for ((n, etag), part) in etags.iter().zip(stored) {
        assert_eq!(part["part_number"], *n);
        assert_eq!(part["etag"], etag.as_str());
        assert_eq!(part["size"], part_of(&file, &up, *n).len());
    }

    // Refused, nothing assembled: a part missing, a wrong ETag, parts out of order.
    let middle = up.part_count / 2 + 1;
    let missing: Vec<_> = etags
        .iter()
        .filter(|(n, _)| *n != middle)
        .cloned()
        .collect();
    let mut wrong_etag = etags.clone();
    wrong_etag[middle as usize - 1].1 = format!("\"{}\"", "0".repeat(32));
    let mut out_of_order = etags.clone();
    out_of_order.swap(0, 1);
    for bad in [missing, wrong_etag, out_of_order] {
        let (status, body) = complete(&api, &sid, &up, &bad).await;
        assert_eq!(
            (status, &body["error_code"]),
            (StatusCode::BAD_REQUEST, &json!("001")),
            "{body}"
        );
    }
    let (_, info) = api.get(&format!("/videos/{}/info", up.vid), &sid).await;
    assert_eq!(info["status"], "pending");

    let (status, video) = complete(&api, &sid, &up, &etags).await;
    assert_eq!(status, StatusCode::OK, "{video}");
    assert_eq!(
        (&video["status"], &video["size"]),
        (&json!("ready"), &json!(size))
    );
    assert_eq!(
        stored_digest(&api, &sid, &up.vid).await,
        Sha256::digest(&file).to_vec()
    );
    // Its bytes are in: no more parts.
    assert_eq!(listed(&api, &sid, &up).await.0, StatusCode::CONFLICT);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_file_arrives_whole_in_8_mib_parts() {
    a_large_file_arrives_whole_in_parts(&Store::local(), 200 * MIB + 12345).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_a_file_arrives_whole_in_parts() {
    a_large_file_arrives_whole_in_parts(&in_parts_over_1_mib(Store::aws()), 20 * MIB + 12345).await;
}

/// Abort, a new upload after it, and a deleted pending video's parts gone with it
/// (by the deletion pipeline, with its bytes).
async fn uploads_are_aborted_and_go_with_their_video(store: &Store) -> (Server, Upload) {
    let server = Server::start(store, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let file = reel_testkit::media::padded_mp4(9 * MIB);
    let up = begin(&api, &sid, &file).await;
    let urls = sign(&api, &sid, &up, &[2]).await;
    put_part(&api, &urls[0], part_of(&file, &up, 2)).await;
    let abort = |up: &Upload| {
        let path = format!("{}/upload/{}?upload_id={}", api.base, up.vid, up.upload_id);
        api.http
            .delete(path)
            .header("x-session-id", sid.clone())
            .send()
    };
    assert_eq!(abort(&up).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(listed(&api, &sid, &up).await.0, StatusCode::NOT_FOUND);
    assert_eq!(abort(&up).await.unwrap().status(), StatusCode::NOT_FOUND);
    // Aborted, the video takes a new upload.
    let plan = api.grant_upload(&sid, &up.vid, file.len()).await;
    let next = Upload {
        vid: up.vid.clone(),
        upload_id: plan["upload_id"].as_str().unwrap().into(),
        ..up
    };
    let urls = sign(&api, &sid, &next, &[1]).await;
    put_part(&api, &urls[0], part_of(&file, &next, 1)).await;
    let gone = api
        .http
        .delete(format!("{}/user/alice/videos/{}", api.base, next.vid))
        .header("x-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    (server, next)
}

#[tokio::test]
async fn uploads_are_aborted_and_go_with_their_video_locally() {
    let store = in_parts_over_1_mib(Store::local());
    let (server, up) = uploads_are_aborted_and_go_with_their_video(&store).await;
    let parts = store.path().join("uploads").join(&up.vid);
    eventually("the deleted video's parts are gone", || async {
        !parts.exists()
    })
    .await;
    server.stop();
}

#[tokio::test]
async fn uploads_are_aborted_and_go_with_their_video_on_s3() {
    let store = in_parts_over_1_mib(Store::aws());
    let (server, up) = uploads_are_aborted_and_go_with_their_video(&store).await;
    let host = store.aws_host().await;
    let (s3, bucket) = (&host.clients.s3, &host.config.aws.bucket);
    eventually("the deleted video's upload is aborted", || async {
        let listed = s3.list_multipart_uploads().bucket(bucket);
        let listed = listed.prefix(format!("videos/{}", up.vid)).send().await;
        listed.unwrap().uploads().is_empty()
    })
    .await;
    server.stop();
}
