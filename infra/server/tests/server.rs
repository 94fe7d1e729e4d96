//! Black-box tests: the real `reel` binary on a free loopback port with a temporary
//! data directory, driven over HTTP like any client would. The API tests run on both
//! backends: embedded storage, and `--backend aws --provision` against a moto server.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{Api, Server, Store, MP4};

fn seconds_of(comment: &Value) -> i64 {
    let t = comment["time"].as_str().unwrap();
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_survives_a_restart() {
    the_whole_journey(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_survives_a_restart_on_aws() {
    the_whole_journey(Store::aws()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_videos_upload_url_cannot_replace_its_bytes() {
    replaying_an_upload_url(Store::local(), StatusCode::CONFLICT).await;
}

/// S3 refuses the signed conditional write (`If-None-Match: *`) once the object exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_videos_upload_url_cannot_replace_its_bytes_on_aws() {
    replaying_an_upload_url(Store::aws(), StatusCode::PRECONDITION_FAILED).await;
}

async fn replaying_an_upload_url(dir: Store, refused: StatusCode) {
    let server = Server::start(&dir, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let vid = api.create_video(&sid, "alice", "Holiday").await;
    let grant = api.grant_upload(&sid, &vid, MP4.len()).await;
    assert_eq!(api.put(&grant, MP4.to_vec()).await, StatusCode::OK);
    let (_, info) = api.get(&format!("/videos/{vid}/info"), &sid).await;
    assert_eq!(info["status"], "ready");

    let forged = vec![0u8; MP4.len()];
    assert_eq!(
        api.put(&grant, forged).await,
        refused,
        "the replay is refused"
    );
    let url = api.blob_url(&sid, &vid).await;
    let (status, _, body) = api.fetch(&url, None).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, MP4),
        "the bytes are the first upload's"
    );
}

async fn the_whole_journey(dir: Store) {
    let server = Server::start(&dir, &[]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let vid = api.create_video(&sid, "alice", "Holiday").await;
    let second = api.create_video(&sid, "alice", "Second").await;
    api.upload(&sid, &vid, MP4.to_vec()).await;
    let (_, info) = api.get(&format!("/videos/{vid}/info"), &sid).await;
    assert_eq!(
        (info["status"].as_str(), info["size"].as_u64()),
        (Some("ready"), Some(MP4.len() as u64))
    );

    let url = api.blob_url(&sid, &vid).await;
    let (status, headers, body) = api.fetch(&url, None).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, MP4));
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    let (status, headers, body) = api.fetch(&url, Some("bytes=1000-4999")).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &MP4[1000..5000])
    );
    assert_eq!(
        headers[header::CONTENT_RANGE],
        format!("bytes 1000-4999/{}", MP4.len())
    );
    let (status, _, body) = api.fetch(&url, Some("bytes=-500")).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &MP4[MP4.len() - 500..])
    );

    // Comments in three separate seconds, to test the from/to window for real.
    let mut posted = Vec::new();
    for group in [2, 2, 1] {
        for _ in 0..group {
            let n = posted.len();
            let (status, c) = api
                .post(
                    &format!("/videos/{vid}/comments"),
                    Some(&sid),
                    json!({"content": format!("comment {n}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
            posted.push(c);
        }
        let last = seconds_of(posted.last().unwrap());
        while time::OffsetDateTime::now_utc().unix_timestamp() <= last {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let ids = |list: &[Value]| {
        list.iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let newest_first: Vec<String> = ids(&posted).into_iter().rev().collect();
    assert_eq!(
        ids(&api.all_comments(&sid, &vid, "", 2).await),
        newest_first,
        "pages of 2 hold each comment once, newest first"
    );
    // Expected from the comments' own times: a group of two can straddle a second.
    let first_second = seconds_of(&posted[0]);
    let newest_first_where = |keep: &dyn Fn(i64) -> bool| -> Vec<String> {
        ids(&posted)
            .into_iter()
            .zip(posted.iter().map(seconds_of))
            .rev()
            .filter(|(_, second)| keep(*second))
            .map(|(id, _)| id)
            .collect()
    };
    let later = newest_first_where(&|s| s > first_second);
    assert!(later.len() >= 3, "the groups are in later seconds");
    let after_first = api
        .all_comments(&sid, &vid, &format!("&from={first_second}"), 50)
        .await;
    assert_eq!(ids(&after_first), later, "from is exclusive");
    let up_to_first = api
        .all_comments(&sid, &vid, &format!("&to={first_second}"), 50)
        .await;
    assert_eq!(
        ids(&up_to_first),
        newest_first_where(&|s| s <= first_second),
        "to is inclusive"
    );
    let (_, none) = api.get(&format!("/videos/{second}/comments"), &sid).await;
    assert_eq!(none["comments"], json!([]), "an empty list is [] not null");
    let (_, page) = api.get("/user/alice/videos?limit=1", &sid).await;
    assert_eq!(page["videos"][0]["id"], second.as_str(), "newest first");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page) = api
        .get(&format!("/user/alice/videos?limit=1&cursor={cursor}"), &sid)
        .await;
    assert_eq!(
        (page["videos"][0]["id"].as_str(), &page["next_cursor"]),
        (Some(vid.as_str()), &Value::Null)
    );

    // Everything acknowledged is still there after a restart on the same data dir.
    let old_base = server.base.clone();
    server.stop();
    let server = Server::start(&dir, &[]);
    let api = Api::new(&server);
    let url = url.replace(&old_base, &server.base); // a new port, the same signed path
    let (status, _) = api.get("/user/alice", &sid).await;
    assert_eq!(status, StatusCode::OK, "the session survives");
    let (_, list) = api.get("/user/alice/videos", &sid).await;
    assert_eq!(list["videos"].as_array().unwrap().len(), 2);
    assert_eq!(
        ids(&api.all_comments(&sid, &vid, "", 50).await),
        newest_first
    );
    assert_eq!(
        api.fetch(&url, None).await.2,
        MP4,
        "URLs signed before the restart still work"
    );
    let fresh = api.blob_url(&sid, &vid).await;
    assert_eq!(api.fetch(&fresh, Some("bytes=0-99")).await.2, &MP4[..100]);

    // Deleting hides the video everywhere at once.
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/user/alice/videos/{vid}"),
            Some(&sid),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        format!("/videos/{vid}/info"),
        format!("/videos/{vid}/comments"),
        format!("/videos/{vid}"),
    ] {
        let (status, body) = api.get(&path, &sid).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (StatusCode::NOT_FOUND, Some("005")),
            "{path}"
        );
    }
    let (_, list) = api.get("/user/alice/videos", &sid).await;
    assert_eq!(list["videos"].as_array().unwrap().len(), 1);
    server.stop();
}

/// Sends a GET on a raw connection and reads only the status line and headers: a client
/// that is slow to read its body, holding its slot.
async fn slow_reader(url: &str) -> (u16, TcpStream) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut conn = TcpStream::connect(host).await.unwrap();
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            conn.read(&mut byte).await.unwrap(),
            1,
            "connection closed early"
        );
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head[9..12]).parse().unwrap();
    (status, conn)
}

/// A store whose server runs with these `REEL_*` settings.
fn local_with(settings: &[(&str, &str)]) -> Store {
    let mut store = Store::local();
    store
        .env
        .extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    store
}

/// Reads until the server closes the connection (EOF or reset); what it sent before.
async fn until_closed(conn: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return seen,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
}

/// Slow-header ("slowloris") connections are closed once the header-read timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_heads_are_cut_off() {
    let store = local_with(&[("REEL_HEADER_READ_TIMEOUT_SECS", "1")]);
    let server = Server::start(&store, &[]);
    let host = server.base.strip_prefix("http://").unwrap().to_owned();
    let mut conns = Vec::new();
    for _ in 0..20 {
        let mut conn = TcpStream::connect(&host).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        conns.push(conn);
    }
    let started = Instant::now();
    for conn in &mut conns {
        let sent = until_closed(conn, Duration::from_secs(10)).await;
        let text = String::from_utf8_lossy(&sent);
        assert!(
            sent.is_empty() || text.starts_with("HTTP/1.1 408"),
            "closed without an answer, or with 408: {text}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server itself is fine.
    let (status, _) = Api::new(&server)
        .call(reqwest::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A client that starts a stream and stops reading loses its response, and its stream
/// slot, once the connection has been idle for the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_loses_its_stream_slot() {
    let store = local_with(&[("REEL_IDLE_TIMEOUT_SECS", "1")]);
    let server = Server::start(&store, &["--stream-concurrency", "1"]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let vid = api.create_video(&sid, "alice", "Long").await;
    // Far more than the loopback socket buffers hold, so the response cannot complete.
    let file = support::padded_mp4(64 << 20);
    api.upload(&sid, &vid, file.clone()).await;
    let url = api.blob_url(&sid, &vid).await;
    let (status, stalled) = slow_reader(&url).await;
    assert_eq!(status, 200);
    let (status, _, _) = api.fetch(&url, Some("bytes=0-9")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the stalled reader holds the slot"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _, body) = api.fetch(&url, Some("bytes=0-9")).await;
        if status == StatusCode::PARTIAL_CONTENT {
            assert_eq!(body, file[..10]);
            break;
        }
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            Instant::now() < deadline,
            "the stalled reader kept its slot"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stalled);
}

/// Connections beyond the cap wait (in the listen backlog) until one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let store = local_with(&[("REEL_MAX_CONNECTIONS", "2")]);
    let server = Server::start(&store, &[]);
    let host = server.base.strip_prefix("http://").unwrap().to_owned();
    let held: Vec<TcpStream> =
        futures_util::future::join_all((0..2).map(|_| TcpStream::connect(host.clone())))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let url = format!("{}/healthz", server.base);
    assert!(
        client.get(&url).send().await.is_err(),
        "a third connection is not served while two are open"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.get(&url).send().await {
            Ok(res) => {
                assert_eq!(res.status(), StatusCode::OK);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still not served: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_limiter_refuses_exactly_the_surplus_and_frees_slots() {
    const LIMIT: usize = 4;
    let dir = Store::local();
    let server = Server::start(&dir, &["--stream-concurrency", &LIMIT.to_string()]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let vid = api.create_video(&sid, "alice", "big").await;
    // Large enough that no response can finish into the socket buffers.
    let big = support::padded_mp4(48 << 20);
    api.upload(&sid, &vid, big).await;
    let url = api.blob_url(&sid, &vid).await;

    let readers = futures_util::future::join_all((0..2 * LIMIT).map(|_| slow_reader(&url))).await;
    let ok = readers.iter().filter(|(s, _)| *s == 200).count();
    let refused = readers.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!(
        (ok, refused),
        (LIMIT, LIMIT),
        "exactly the surplus is refused"
    );
    let (status, _, body) = api.fetch(&url, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error_code"],
        "008"
    );

    drop(readers); // the clients go away mid-body
                   // The server notices a closed connection on its next write, so give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = futures_util::future::join_all((0..LIMIT).map(|_| slow_reader(&url))).await;
        let all_served = again.iter().all(|(s, _)| *s == 200);
        drop(again);
        if all_served {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slots did not come back after the clients left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And those slots come back too: a normal request is served again.
    loop {
        let (status, _, body) = api.fetch(&url, Some("bytes=0-9")).await;
        if status == StatusCode::PARTIAL_CONTENT {
            assert_eq!(body.len(), 10);
            break;
        }
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            Instant::now() < deadline,
            "slots did not come back after the clients left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_limits_over_the_wire() {
    errors_and_limits(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_limits_over_the_wire_on_aws() {
    errors_and_limits(Store::aws()).await;
}

async fn errors_and_limits(dir: Store) {
    let server = Server::start(&dir, &[]);
    let api = Api::new(&server);
    let res = api
        .http
        .get(format!("{}/no/such/route", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/json; charset=utf-8"
    );
    assert!(res.headers().contains_key("x-request-id"));
    let sid = api.sign_up("alice").await;
    let big = json!({"name": "x".repeat(70 * 1024)});
    let (status, body) = api.post("/user/alice/videos", Some(&sid), big).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("009"))
    );
    let cookie_only = api
        .http
        .post(format!("{}/user/alice/videos", api.base))
        .header(header::COOKIE, format!("session={sid}"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_only.status(), StatusCode::UNAUTHORIZED);
    let (status, health) = api.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));
    let (_, doc) = api
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    server.stop();
}

/// Counts rows in the server's database (opened read-only beside the running server).
fn count(data_dir: &Path, sql: &str) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        data_dir.join("reel.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn blob_files(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("blobs")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_survive_a_crash_mid_pipeline() {
    use futures_util::StreamExt;
    const N: usize = 1000;
    let dir = Store::local();
    let server = Server::start(&dir, &["--deletion-interval", "1"]);
    let api = Api::new(&server);
    let sid = api.sign_up("alice").await;
    let kept = api.create_video(&sid, "alice", "keep me").await;
    api.upload(&sid, &kept, MP4.to_vec()).await;
    api.post(
        &format!("/videos/{kept}/comments"),
        Some(&sid),
        json!({"content": "stays"}),
    )
    .await;

    let api_ref = &api;
    let sid_ref = sid.as_str();
    let videos: Vec<String> = futures_util::stream::iter(0..N)
        .map(|i| async move {
            let vid = api_ref
                .create_video(sid_ref, "alice", &format!("v{i}"))
                .await;
            api_ref.upload(sid_ref, &vid, MP4.to_vec()).await;
            if i % 10 == 0 {
                api_ref
                    .post(
                        &format!("/videos/{vid}/comments"),
                        Some(sid_ref),
                        json!({"content": "bye"}),
                    )
                    .await;
            }
            vid
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(blob_files(dir.path()), N + 1);
    futures_util::stream::iter(&videos)
        .for_each_concurrent(16, |vid| async move {
            let (status, _) = api_ref
                .call(
                    reqwest::Method::DELETE,
                    &format!("/user/alice/videos/{vid}"),
                    Some(sid_ref),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        })
        .await;

    // Crash once the pipeline is under way, but before it is done.
    let deadline = Instant::now() + Duration::from_secs(60);
    let remaining_at_crash = loop {
        let remaining = count(dir.path(), "SELECT COUNT(*) FROM deletion_records");
        if remaining < N as i64 {
            break remaining;
        }
        assert!(Instant::now() < deadline, "the pipeline never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    server.crash();
    assert!(remaining_at_crash > 0, "crashed mid-pipeline");

    // After a restart every deletion completes; nothing else is touched.
    let server = Server::start(&dir, &["--deletion-interval", "1"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(dir.path(), "SELECT COUNT(*) FROM deletion_records") > 0 {
        assert!(
            Instant::now() < deadline,
            "deletions did not complete after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        blob_files(dir.path()),
        1,
        "only the kept video's bytes remain"
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM comments"), 1);
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM dead_letters"), 0);
    let api = Api::new(&server);
    let url = api.blob_url(&sid, &kept).await;
    assert_eq!(api.fetch(&url, None).await.2, MP4);
    server.stop();
}

/// The pipeline on the AWS backend: deleted videos (one by one, and a whole account)
/// lose their object, comments and record; a kept video loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_complete_on_aws() {
    use reel_core::domain::{Limit, Timestamp, VideoId};
    use reel_core::ports::{Comments, Deletions, Queue, TimeWindow};
    let store = Store::aws();
    let server = Server::start(&store, &["--deletion-interval", "1"]);
    let api = Api::new(&server);
    let alice = api.sign_up("alice").await;
    let bob = api.sign_up("bob").await;
    let mut doomed = Vec::new();
    let mut kept = String::new();
    for (i, (sid, owner)) in [
        (&alice, "alice"),
        (&alice, "alice"),
        (&alice, "alice"),
        (&bob, "bob"),
    ]
    .into_iter()
    .enumerate()
    {
        let vid = api.create_video(sid, owner, &format!("v{i}")).await;
        api.upload(sid, &vid, MP4.to_vec()).await;
        for n in 0..3 {
            let path = format!("/videos/{vid}/comments");
            let (status, _) = api
                .post(&path, Some(sid), json!({"content": format!("c{n}")}))
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        if i == 0 {
            kept = vid
        } else {
            doomed.push(vid)
        }
    }
    for vid in &doomed[..2] {
        let path = format!("/user/alice/videos/{vid}");
        let (status, _) = api
            .call(reqwest::Method::DELETE, &path, Some(&alice), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            "/user/bob",
            Some(&bob),
            Some(json!({"pwd": "password1"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let aws = store.aws_host().await;
    let a = &aws.adapters;
    let everything = Limit::parse("100").unwrap();
    // Done when no record is left and every doomed object is gone: bob's video gets
    // its record only when a dispatcher pass sweeps his account, which may come after
    // alice's records are already done.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let records = a
            .deletions
            .list(Timestamp::from_micros(i64::MAX), None, everything)
            .await
            .unwrap();
        let mut objects_left = 0;
        for vid in &doomed {
            let vid = VideoId::parse(vid).unwrap();
            objects_left += usize::from(a.blobs.head(&vid).await.unwrap().is_some());
        }
        if records.is_empty() && objects_left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "deletions did not complete");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let comments_of = |vid: VideoId| async move {
        a.comments
            .list(&vid, TimeWindow::default(), None, everything)
            .await
            .unwrap()
            .items
            .len()
    };
    for vid in &doomed {
        let vid = VideoId::parse(vid).unwrap();
        assert_eq!(a.blobs.head(&vid).await.unwrap(), None, "object removed");
        assert_eq!(comments_of(vid).await, 0, "comments removed");
    }
    let kept = VideoId::parse(&kept).unwrap();
    assert!(a.blobs.head(&kept).await.unwrap().is_some());
    assert_eq!(comments_of(kept).await, 3);
    assert_eq!(a.queue.depth().await.unwrap().dead_letters, 0);
    server.stop();
}
