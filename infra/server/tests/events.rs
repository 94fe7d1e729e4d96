//! Every file under `events/` fed through the real Lambda path into the function it
//! belongs to, on AWS adapters over moto: API Gateway HTTP API v2 requests go through
//! `lambda_http`'s own deserialisation and response conversion (its `Adapter`, as
//! `lambda_http::run` uses it) into `function_app`; the S3, SQS and EventBridge events
//! into the handlers of `video-events`, `deletion-worker` and `deletion-dispatcher`.
//! Each file gets freshly seeded state (the fixtures in `events/README.md`).

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use reel_aws::{object_key, PENDING_TAG};
use reel_core::domain::*;
use reel_core::settings::CursorKey;
use reel_server::aws::AwsHost;
#[path = "support/aws.rs"]
mod aws_support;
#[path = "support/functions.rs"]
mod functions;
use functions::Function;
use reel_core::ports::{Queue, Session, TimeWindow};
use reel_lambda::{EventBridgeEvent, S3Event, SqsEvent};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MP4: &[u8] = include_bytes!("fixtures/sample.mp4");
const PASSWORD: &str = "correct horse battery";
const ALICE: &str = "11111111-1111-4111-8111-111111111111";
const BOB: &str = "44444444-4444-4444-8444-444444444444";
const CAROL: &str = "77777777-7777-4777-8777-777777777777";
const VIDEO: &str = "22222222-2222-4222-8222-222222222222";
const PENDING_VIDEO: &str = "55555555-5555-4555-8555-555555555555";
/// alice's ready public video: the feed's one entry, readable without a session.
const PUBLIC_VIDEO: &str = "66666666-6666-4666-8666-666666666666";
const COMMENT: &str = "33333333-3333-4333-8333-333333333333";
/// alice's pending video "Big" with a multipart upload in progress: the sample MP4 in
/// one part (a plan of one 8 MiB part holding its 17,957 bytes), that part stored.
const UPLOADING_VIDEO: &str = "88888888-8888-4888-8888-888888888888";
/// What an event file writes where the upload in progress's id goes: S3 chooses it.
const UPLOAD_ID_PLACEHOLDER: &str = "{upload_id}";
const SESSIONS: [(&str, &str); 3] = [
    ("alice", "YWxpY2Utc2Vzc2lvbi1maXh0dXJlLTAwMDAwMDAwMDA.alice"),
    ("bob", "Ym9iLXNlc3Npb24tZml4dHVyZS0wMDAwMDAwMDAwMDA.bob"),
    ("carol", "Y2Fyb2wtc2Vzc2lvbi1maXh0dXJlLTAwMDAwMDAwMDA.carol"),
];

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An AWS host on tables, bucket and queues of its own on the shared moto server.
/// Its SDK clients send through [`recording_client`], so the IAM test can see what
/// each request touched.
async fn fresh_host() -> AwsHost {
    let mut config = aws_support::settings();
    config.api.cursor_key = Some(CursorKey([7; 32]));
    let sdk = aws_support::moto_sdk().await;
    let http = sdk
        .http_client()
        .expect("the SDK configuration has a client");
    let recording = aws_smithy_runtime_api::client::http::SharedHttpClient::new(
        recording_client::Recording(http),
    );
    let sdk = sdk.into_builder().http_client(recording).build();
    let host = AwsHost::new(&sdk, &config).unwrap();
    host.provision().await.unwrap();
    host
}

fn user(id: &str, name: &str, hash: &PasswordHash) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        name: UserName::parse(name).unwrap(),
        password_hash: hash.clone(),
        created: Timestamp::from_unix_seconds(1_790_000_000),
        disabled: false,
    }
}

fn video(id: &str, owner: &User, name: &str) -> Video {
    Video::new_pending(
        VideoId::parse(id).unwrap(),
        owner.id,
        owner.name.clone(),
        VideoName::parse(name).unwrap(),
        Timestamp::from_unix_seconds(1_790_000_100),
    )
}

/// alice, bob and carol with their sessions; alice's ready (internal) video with bob's
/// comment, her ready public video, her pending video, and her pending video with a
/// multipart upload in progress ([`UPLOADING_VIDEO`]).
async fn seeded_host() -> AwsHost {
    use std::sync::OnceLock;
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    let hash = HASH.get_or_init(|| Password::parse(PASSWORD).unwrap().hash().unwrap());
    let host = fresh_host().await;
    let a = &host.adapters;
    let people = [
        user(ALICE, "alice", hash),
        user(BOB, "bob", hash),
        user(CAROL, "carol", hash),
    ];
    for (person, (_, sid)) in people.iter().zip(SESSIONS) {
        reel_core::ports::Users::create(&*a.users, person)
            .await
            .unwrap();
        let session = Session {
            user_id: person.id,
            user_name: person.name.clone(),
            expires: Timestamp::now().plus_seconds(3600),
        };
        reel_core::ports::Sessions::create(&*a.sessions, &SessionId::parse(sid).unwrap(), &session)
            .await
            .unwrap();
    }
    let ready = video(VIDEO, &people[0], "Holiday");
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    use reel_core::ports::{Comments, Videos};
    a.videos.create(&ready).await.unwrap();
    a.videos
        .mark_ready(
            &ready.id,
            MP4.len() as u64,
            &mp4,
            &reel_core::domain::MediaInfo::default(),
        )
        .await
        .unwrap();
    let mut public = video(PUBLIC_VIDEO, &people[0], "Sunrise");
    public.visibility = Visibility::Public;
    a.videos.create(&public).await.unwrap();
    a.videos
        .mark_ready(
            &public.id,
            MP4.len() as u64,
            &mp4,
            &reel_core::domain::MediaInfo::default(),
        )
        .await
        .unwrap();
    a.videos
        .create(&video(PENDING_VIDEO, &people[0], "Soon"))
        .await
        .unwrap();
    let comment = Comment {
        id: CommentId::parse(COMMENT).unwrap(),
        video_id: ready.id,
        author_id: people[1].id,
        author: people[1].name.clone(),
        content: CommentContent::parse("Nice one").unwrap(),
        time: Timestamp::from_unix_seconds(1_790_000_200),
    };
    a.comments.create(&comment).await.unwrap();
    begin_upload_of_one_part(&host, &video(UPLOADING_VIDEO, &people[0], "Big")).await;
    host
}

/// `video` created, pending, with a multipart upload of the sample MP4 in progress, as
/// `POST /upload/{vid}` begins one (its grant recorded for the quota, S3's upload, the
/// video's record of it), and its one part PUT through the URL the videos function
/// signs for it, as a browser would.
async fn begin_upload_of_one_part(host: &AwsHost, video: &Video) -> MultipartUpload {
    use reel_core::ports::{BeginMultipart, BlobUrls, MultipartStore, Videos};
    let a = &host.adapters;
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    let size = MP4.len() as u64;
    a.videos.create(video).await.unwrap();
    assert!(a.videos.record_grant(&video.id, size).await.unwrap());
    let now = Timestamp::now();
    let upload = MultipartUpload {
        id: a.multipart.create(&video.id, &mp4).await.unwrap(),
        plan: PartPlan::for_size(size).unwrap(),
        content_type: mp4,
        expires: MultipartUpload::expiry_from(now),
    };
    assert_eq!(upload.plan.part_count(), 1);
    let begun = a.videos.begin_multipart(&video.id, &upload, now).await;
    assert!(matches!(begun.unwrap(), BeginMultipart::Begun));
    let part = PartNumber::signed(1);
    let url = a
        .urls
        .presign_part(&video.id, &upload.id, part, size, now)
        .await
        .unwrap();
    let etag = put_as_a_browser_would(url, MP4.to_vec()).await;
    assert!(same_etag(&etag, MP4_MD5), "{etag}");
    upload
}

/// The ETag S3 gives the sample MP4 (or a part holding all of it): its MD5.
const MP4_MD5: &str = "792b0fbb7b8bedc40a37bf3e536f4d7a";

/// An event file, with the seeded upload's id where it names [`UPLOAD_ID_PLACEHOLDER`]
/// (S3 chose it while `host` was seeded; its ids are query-string safe).
async fn load_event(host: &AwsHost, path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let text = if text.contains(UPLOAD_ID_PLACEHOLDER) {
        let id = VideoId::parse(UPLOADING_VIDEO).unwrap();
        let video = reel_core::ports::Videos::get(&*host.adapters.videos, &id)
            .await
            .unwrap()
            .expect("the seeded uploading video");
        let upload = video.upload.expect("its upload in progress");
        text.replace(UPLOAD_ID_PLACEHOLDER, upload.id.as_str())
    } else {
        text
    };
    let mut event: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The id's length is not the placeholder's: the body's length follows it.
    if let (Some(body), true) = (
        event["body"].as_str().map(str::len),
        event["headers"]["content-length"].is_string(),
    ) {
        event["headers"]["content-length"] = body.to_string().into();
    }
    event
}

/// `<case>.<status>[.<error code>].json` → (status, code).
fn expectation(path: &Path) -> (u16, Option<String>) {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let mut parts = stem.split('.').skip(1);
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .expect("status in the file name");
    (status, parts.next().map(str::to_owned))
}

fn function_of(dir: &str) -> Function {
    match dir {
        "users" => Function::Users,
        "sessions" => Function::Sessions,
        "videos" => Function::Videos,
        "uploads" => Function::Uploads,
        "comments" => Function::Comments,
        "stream" => Function::Stream,
        "web" => Function::Web,
        other => panic!("events/http/{other}: no such function"),
    }
}

/// Serves one event as Lambda would and returns the API Gateway v2 response as JSON.
async fn invoke(function: Function, host: &AwsHost, event: &Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event.clone()).unwrap();
    // The state the function's binary builds: only its own clients and adapters.
    let mut adapter = Adapter::from(reel_lambda::for_gateway(function.app(&host.function())));
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    serde_json::to_value(response).unwrap()
}

fn http_event_files() -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(events_dir().join("http")).unwrap() {
        let dir = dir.unwrap().path();
        let function = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let before = files.len();
        for file in std::fs::read_dir(&dir).unwrap() {
            files.push((function.clone(), file.unwrap().path()));
        }
        assert!(files.len() > before, "events/http/{function} is empty");
    }
    files.sort();
    files
}

/// What a success must contain, beyond its status.
fn check_success_body(case: &str, reply: &Value, body: &Value) {
    let header = |name: &str| reply["headers"][name].as_str().unwrap_or("").to_owned();
    match case {
        "sign-up" | "sign-in" => {
            let id = body["session_id"].as_str().unwrap();
            let (random, name) = id.split_once('.').expect("the id names its user");
            assert_eq!(random.len(), 43, "{id}");
            assert!(["alice", "dave"].contains(&name), "{id}");
        }
        "get-user" => assert_eq!(body["user_name"], "bob"),
        "create-video" => assert_eq!(body["status"], "pending"),
        // bob, signed in, sees alice's ready internal and public videos, not her
        // pending one.
        "list-videos" => {
            assert_eq!(body["videos"].as_array().unwrap().len(), 2);
            assert!(body.get("next_cursor").is_some());
        }
        // Without a session: her public video alone, shareable by a cache.
        "list-videos-anonymous" | "feed" => {
            let ids: Vec<&str> = body["videos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, [PUBLIC_VIDEO]);
            assert!(body.get("next_cursor").is_some());
            assert!(header("cache-control").starts_with("public"), "{reply}");
            assert!(!header("etag").is_empty());
        }
        "video-info-anonymous" => {
            assert_eq!(body["id"], PUBLIC_VIDEO);
            assert_eq!(body["visibility"], "public");
            assert!(header("cache-control").starts_with("public"), "{reply}");
        }
        "edit-video" => assert_eq!(
            (body["id"].as_str(), body["visibility"].as_str()),
            (Some(VIDEO), Some("public"))
        ),
        "video-info" => assert_eq!(
            (body["id"].as_str(), body["size"].as_u64()),
            (Some(VIDEO), Some(MP4.len() as u64))
        ),
        // 100,000,000 bytes: over the 64 MiB threshold, so a plan of 8 MiB parts.
        "begin-multipart-upload" => {
            assert!(!body["upload_id"].as_str().unwrap().is_empty(), "{body}");
            assert_eq!(body["part_size"], 8 << 20);
            assert_eq!(body["part_count"], 12);
            assert!(body.get("url").is_none(), "{body}");
        }
        "sign-parts" => {
            let parts = body["parts"].as_array().unwrap();
            assert_eq!(parts.len(), 1, "{body}");
            assert_eq!(parts[0]["part_number"], 1);
            assert_eq!(parts[0]["method"], "PUT");
            // Its length is signed (the browser sets the header from the body).
            let url_text = parts[0]["url"].as_str().unwrap();
            assert!(url_text.contains("content-length"), "{url_text}");
            let url = reqwest::Url::parse(parts[0]["url"].as_str().unwrap()).unwrap();
            let key = object_key(&VideoId::parse(UPLOADING_VIDEO).unwrap());
            assert!(url.path().ends_with(&format!("/{key}")), "{url}");
            let query: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
            assert_eq!(query.get("partNumber").map(String::as_str), Some("1"));
            assert!(query.contains_key("uploadId"), "{url}");
        }
        "list-parts" => {
            let parts = body["parts"].as_array().unwrap();
            assert_eq!(parts.len(), 1, "{body}");
            assert_eq!(parts[0]["part_number"], 1);
            assert_eq!(parts[0]["size"], MP4.len());
            assert!(same_etag(parts[0]["etag"].as_str().unwrap(), MP4_MD5));
        }
        // Assembled and settled before the answer: its header read, ready.
        "complete-upload" => {
            assert_eq!(body["id"], UPLOADING_VIDEO);
            assert_eq!(body["status"], "ready", "{body}");
            assert_eq!(body["size"], MP4.len());
        }
        "grant-upload" => {
            assert_eq!(body["method"], "PUT");
            let url = reqwest::Url::parse(body["url"].as_str().unwrap()).unwrap();
            let key = object_key(&VideoId::parse(PENDING_VIDEO).unwrap());
            assert!(url.path().ends_with(&format!("/{key}")), "{url}");
        }
        "stream-video" | "stream-with-cookie" | "stream-anonymous-public" => {
            let video = match case {
                "stream-anonymous-public" => PUBLIC_VIDEO,
                _ => VIDEO,
            };
            let url = reqwest::Url::parse(&header("location")).unwrap();
            let key = object_key(&VideoId::parse(video).unwrap());
            assert!(url.path().ends_with(&format!("/{key}")), "{url}");
        }
        "post-comment" => assert_eq!(body["content"], "Lovely <b>light</b>!"),
        "list-comments" => assert_eq!(body["comments"][0]["id"], COMMENT),
        "list-comments-anonymous" => {
            assert_eq!(body["comments"], serde_json::json!([]));
            assert!(header("cache-control").starts_with("public"), "{reply}");
        }
        "openapi" => assert!(body["openapi"].as_str().unwrap().starts_with("3.1")),
        "healthz" => assert_eq!(body["status"], "ok"),
        "home" | "userhome" | "watch" => assert!(header("content-type").starts_with("text/html")),
        // With a session: never shareable.
        "channel-signed-in" => {
            assert!(header("content-type").starts_with("text/html"));
            let cache = header("cache-control");
            assert!(
                cache.contains("private") || cache.contains("no-store"),
                "{cache}"
            );
        }
        // Pages anyone may see, without a session: shareable.
        "explore" | "channel" | "watch-anonymous" => {
            assert!(header("content-type").starts_with("text/html"));
            assert!(header("cache-control").starts_with("public"), "{reply}");
            let page = reply["body"].as_str().unwrap();
            assert!(page.contains("Sunrise"), "the public video is on the page");
            if case != "watch-anonymous" {
                assert!(!page.contains("Holiday"), "not the internal one");
            }
        }
        // The HTML 404 page (no error envelope, so no code in the file name).
        "channel-unknown" => assert!(header("content-type").starts_with("text/html")),
        "home-signed-in-redirects" | "userhome-not-signed-in" | "watch-not-signed-in" => {
            assert!(!header("location").is_empty())
        }
        _ => {}
    }
}

/// The reply is the one the event file's name promises: its status, and its error code
/// or the success body of its case.
fn check_reply(function: &str, path: &Path, reply: &Value) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let (status, code) = expectation(path);
    let raw = reply["body"].as_str().unwrap_or("");
    assert_eq!(reply["statusCode"], status, "{function}/{name}: {raw}");
    let body: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    match code {
        Some(code) => assert_eq!(body["error_code"], code.as_str(), "{function}/{name}"),
        None => check_success_body(name.split('.').next().unwrap(), reply, &body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http_event_gets_the_answer_its_name_promises() {
    for (function, path) in http_event_files() {
        let host = seeded_host().await;
        let event = load_event(&host, &path).await;
        let reply = invoke(function_of(&function), &host, &event).await;
        check_reply(&function, &path, &reply);
    }
}

/// A new route without an events file fails here: every operation of the OpenAPI
/// document and every page has at least one event.
#[tokio::test]
async fn every_route_has_events() {
    let covered: BTreeSet<String> = http_event_files()
        .iter()
        .map(|(_, path)| read_json(path)["routeKey"].as_str().unwrap().to_owned())
        .collect();
    let host = fresh_host().await;
    let openapi = read_json(&events_dir().join("http/web/openapi.200.json"));
    let reply = invoke(Function::Web, &host, &openapi).await;
    let doc: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    let mut routes: BTreeSet<String> = [
        "GET /",
        "GET /userhome",
        "GET /watch/{vid}",
        "GET /explore",
        "GET /u/{user_name}",
        "GET /static/{version}/{file}",
        "GET /healthz",
    ]
    .map(String::from)
    .into();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            routes.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let missing: Vec<_> = routes.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes without an events file: {missing:?}"
    );
}

async fn put_mp4(host: &AwsHost, video: &VideoId) {
    host.clients
        .s3
        .put_object()
        .bucket(host.adapters.blobs.bucket())
        .key(object_key(video))
        .content_type("video/mp4")
        .body(MP4.to_vec().into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_s3_object_created_event_makes_the_video_ready_once() {
    use reel_core::ports::Videos;
    let host = fresh_host().await;
    let alice = user(ALICE, "alice", &PasswordHash::from_stored("x".into()));
    reel_core::ports::Users::create(&*host.adapters.users, &alice)
        .await
        .unwrap();
    let v = video(VIDEO, &alice, "Holiday");
    // The inner table, not the confirming wrapper: only the event may make it ready.
    host.adapters.videos.create(&v).await.unwrap();
    upload_mp4_as_a_client_would(&host, &v.id).await;
    let pending = (PENDING_TAG.0.to_owned(), PENDING_TAG.1.to_owned());
    assert_eq!(object_tags(&host, &v.id).await, [pending]);
    let mut event: Value = read_json(&events_dir().join("s3-object-created.json"));
    event["Records"][0]["s3"]["bucket"]["name"] = host.adapters.blobs.bucket().into();
    for _ in 0..2 {
        let s3: S3Event = serde_json::from_value(event.clone()).unwrap();
        reel_lambda::on_objects_created(&host.function().confirming_videos(), s3)
            .await
            .unwrap();
        let ready = host.adapters.videos.get(&v.id).await.unwrap().unwrap();
        assert_eq!(
            (ready.status, ready.size),
            (VideoStatus::Ready, MP4.len() as u64)
        );
        assert_eq!(ready.content_type.as_deref(), Some("video/mp4"));
        // Confirmed bytes lose the tag the bucket's lifecycle rule expires.
        assert!(object_tags(&host, &v.id).await.is_empty());
    }
}

/// Through the presigned PUT, with exactly the headers the upload grant hands out.
async fn upload_mp4_as_a_client_would(host: &AwsHost, video: &VideoId) {
    upload_as_a_client_would(host, video, MP4.to_vec()).await;
}

/// `bytes` PUT as video/mp4 through the presigned URL the videos function would grant.
async fn upload_as_a_client_would(host: &AwsHost, video: &VideoId, bytes: Vec<u8>) {
    use reel_core::ports::BlobUrls;
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    let grant = host
        .adapters
        .urls
        .presign_put(video, bytes.len() as u64, &mp4, Timestamp::now())
        .await
        .unwrap();
    put_as_a_browser_would(grant, bytes).await;
}

/// `bytes` PUT as a WebP poster through the presigned URL a poster grant gives.
async fn upload_poster_as_a_client_would(host: &AwsHost, video: &VideoId, bytes: Vec<u8>) {
    use reel_core::ports::BlobUrls;
    let webp = reel_core::domain::PosterType::Webp;
    let grant = host
        .adapters
        .urls
        .presign_poster_put(video, bytes.len() as u64, webp, Timestamp::now())
        .await
        .unwrap();
    put_as_a_browser_would(grant, bytes).await;
}

/// The presigned PUT, with the grant's headers; the ETag S3 answers with.
async fn put_as_a_browser_would(
    grant: reel_core::ports::PresignedRequest,
    bytes: Vec<u8>,
) -> String {
    let mut put = reqwest::Client::new().put(&grant.url).body(bytes);
    for (name, value) in &grant.headers {
        put = put.header(name, value);
    }
    let reply = put.send().await.unwrap();
    let status = reply.status();
    assert!(status.is_success(), "the presigned PUT answered {status}");
    let etag = reply.headers().get("etag").and_then(|v| v.to_str().ok());
    etag.unwrap_or_default().to_owned()
}

/// The S3 notification of an upload to `key`, for this host's bucket.
fn s3_event(host: &AwsHost, file: &str, key: &str) -> S3Event {
    let mut event = read_json(&events_dir().join(file));
    event["Records"][0]["s3"]["bucket"]["name"] = host.adapters.blobs.bucket().into();
    event["Records"][0]["s3"]["object"]["key"] = key.into();
    serde_json::from_value(event).unwrap()
}

const POSTER_WEBP: &[u8] = include_bytes!("fixtures/posters/poster.webp");

async fn object_tags(host: &AwsHost, video: &VideoId) -> Vec<(String, String)> {
    let out = host
        .clients
        .s3
        .get_object_tagging()
        .bucket(host.adapters.blobs.bucket())
        .key(object_key(video))
        .send()
        .await
        .unwrap();
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// Videos named by the SQS event: hidden, with an object and two comments each.
async fn doomed_videos(host: &AwsHost, event: &Value) -> Vec<VideoId> {
    use reel_core::ports::{Comments, Videos};
    let alice = user(ALICE, "alice", &PasswordHash::from_stored("x".into()));
    let mut ids = Vec::new();
    for record in event["Records"].as_array().unwrap() {
        let v = video(record["body"].as_str().unwrap(), &alice, "gone soon");
        host.adapters.videos.create(&v).await.unwrap();
        put_mp4(host, &v.id).await;
        for n in 0..2 {
            let c = Comment {
                id: CommentId::new(),
                video_id: v.id,
                author_id: alice.id,
                author: alice.name.clone(),
                content: CommentContent::parse(&format!("c{n}")).unwrap(),
                time: Timestamp::now(),
            };
            host.adapters.comments.create(&c).await.unwrap();
        }
        assert!(host
            .adapters
            .videos
            .delete(&v, Timestamp::now())
            .await
            .unwrap());
        ids.push(v.id);
    }
    ids
}

#[tokio::test]
async fn an_sqs_batch_deletes_everything_and_reports_only_bad_items() {
    use reel_core::ports::{Comments, Deletions};
    let host = fresh_host().await;
    let mut event = read_json(&events_dir().join("sqs-deletion-batch.json"));
    let ids = doomed_videos(&host, &event).await;
    event["Records"][1]["body"] = "not a video id".into();
    let sqs: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    let response = reel_lambda::on_deletion_batch(&host.function().worker(), sqs).await;
    let response = serde_json::to_value(response).unwrap();
    assert_eq!(
        response["batchItemFailures"],
        serde_json::json!([{"itemIdentifier": event["Records"][1]["messageId"]}])
    );
    let everything = Limit::parse("100").unwrap();
    for (i, id) in ids.iter().enumerate() {
        let gone = i != 1;
        assert_eq!(
            host.adapters.blobs.head(id).await.unwrap().is_none(),
            gone,
            "object {i}"
        );
        let comments = host
            .adapters
            .comments
            .list(id, TimeWindow::default(), None, everything)
            .await
            .unwrap();
        assert_eq!(comments.items.is_empty(), gone, "comments {i}");
    }
    let records = host
        .adapters
        .deletions
        .list(Timestamp::from_micros(i64::MAX), None, everything)
        .await
        .unwrap();
    assert_eq!(
        records.iter().map(|r| r.video_id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
}

#[tokio::test]
async fn a_scheduled_event_dispatches_due_deletions_to_the_queue() {
    let host = fresh_host().await;
    let ids = doomed_videos(
        &host,
        &read_json(&events_dir().join("sqs-deletion-batch.json")),
    )
    .await;
    let _: EventBridgeEvent =
        serde_json::from_value(read_json(&events_dir().join("eventbridge-scheduled.json")))
            .unwrap();
    assert_eq!(
        reel_lambda::on_schedule(&host.function().dispatcher())
            .await
            .unwrap(),
        ids.len()
    );
    let received = host.adapters.queue.receive(10, 30).await.unwrap();
    let mut bodies: Vec<_> = received.iter().map(|m| m.body.clone()).collect();
    bodies.sort();
    assert_eq!(
        bodies,
        ids.iter().map(|v| v.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(
        reel_lambda::on_schedule(&host.function().dispatcher())
            .await
            .unwrap(),
        0,
        "not again within the grace period"
    );
}

// ---------- template.yaml against the code: IAM, routes ----------

/// An HTTP client that announces every request the SDK sends, as an `aws_request` event
/// inside the operation's span, before passing it on: the recorder reads from it which
/// table, index, bucket or queue the operation touched.
mod recording_client {
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

    #[derive(Debug)]
    pub struct Recording(pub SharedHttpClient);

    impl HttpClient for Recording {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(Connector(self.0.http_connector(settings, components)))
        }
    }

    #[derive(Debug)]
    struct Connector(SharedHttpConnector);

    impl HttpConnector for Connector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body = request
                .body()
                .bytes()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            // S3 wants s3:PutObjectTagging besides for an object tagged as it is written.
            let tagged = request.headers().get("x-amz-tagging").is_some();
            tracing::info!(target: "aws_request", uri = request.uri(), body = %body, tagged);
            self.0.call(request)
        }
    }
}

/// Records, per `iam_scope{function=...}` span, the IAM grants (action, resource) that
/// the AWS requests sent inside it needed: the SDK opens a `DynamoDB.PutItem`-style span
/// around every operation, and [`recording_client`] announces each request inside it.
mod recorder {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;
    use tracing::span::{Attributes, Id};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, Layer};
    use tracing_subscriber::registry::LookupSpan;

    /// function → {(action, resource)}
    pub static NEEDED: Mutex<BTreeMap<String, BTreeSet<(String, String)>>> =
        Mutex::new(BTreeMap::new());

    struct Scope(String);
    struct Operation(String, String);

    #[derive(Default)]
    struct Fields(BTreeMap<&'static str, String>);

    impl tracing::field::Visit for Fields {
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.insert(field.name(), value.to_owned());
        }
        fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
            self.0.insert(field.name(), value.to_string());
        }
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name(), format!("{value:?}"));
        }
    }

    pub struct Recorder;

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
            let Some(span) = ctx.span(id) else { return };
            let name = attrs.metadata().name();
            if name == "iam_scope" {
                let mut fields = Fields::default();
                attrs.record(&mut fields);
                if let Some(function) = fields.0.remove("function") {
                    span.extensions_mut().insert(Scope(function));
                }
                return;
            }
            if let Some((service, operation)) = name.split_once('.') {
                if ["DynamoDB", "S3", "SQS"].contains(&service) {
                    let operation = Operation(service.to_owned(), operation.to_owned());
                    span.extensions_mut().insert(operation);
                }
            }
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            if event.metadata().target() != "aws_request" {
                return;
            }
            let Some(scope) = ctx.event_scope(event) else {
                return;
            };
            let (mut function, mut operation) = (None, None);
            for span in scope {
                let extensions = span.extensions();
                if let (None, Some(op)) = (&operation, extensions.get::<Operation>()) {
                    operation = Some((op.0.clone(), op.1.clone()));
                }
                if let (None, Some(f)) = (&function, extensions.get::<Scope>()) {
                    function = Some(f.0.clone());
                }
            }
            let (Some(function), Some((service, operation))) = (function, operation) else {
                return;
            };
            let mut fields = Fields::default();
            event.record(&mut fields);
            let uri = fields.0.remove("uri").unwrap_or_default();
            let body = fields.0.remove("body").unwrap_or_default();
            let tagged = fields.0.remove("tagged").is_some_and(|t| t == "true");
            let grants = super::grants_needed(&service, &operation, &uri, &body, tagged);
            NEEDED
                .lock()
                .unwrap()
                .entry(function)
                .or_default()
                .extend(grants);
        }
    }

    pub fn install() {
        use tracing_subscriber::prelude::*;
        static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
        INSTALLED.get_or_init(|| {
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Recorder))
                .expect("no other subscriber in this test binary");
        });
    }
}

#[path = "support/cfn.rs"]
mod cfn;
use cfn::{template, untagged};

/// `video-events` → `VideoEventsFunction`.
fn resource_of(function: &str) -> String {
    let camel: String = function
        .split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect();
    format!("{camel}Function")
}

/// Resources named alike in the template and in a test's requests: `table/videos`,
/// `table/videos/index/by_author`, `bucket`, `bucket/videos/*`, `queue/deletions`.
fn table_resource(physical: &str, index: Option<&str>) -> String {
    // `{prefix}-{table}`; table names have no `-`.
    let (_, table) = physical.rsplit_once('-').unwrap();
    match index {
        Some(index) => format!("table/{table}/index/{index}"),
        None => format!("table/{table}"),
    }
}

fn queue_resource(physical: &str) -> String {
    if physical.ends_with("-dlq") {
        "queue/deletions-dlq".into()
    } else {
        "queue/deletions".into()
    }
}

/// The (action, resource) grants one request of `service`'s `operation` needs, read
/// from the request itself (table and index names in DynamoDB's and SQS's JSON bodies,
/// the bucket and key in S3's path-style URI, whether S3 is asked to tag the object).
fn grants_needed(
    service: &str,
    operation: &str,
    uri: &str,
    body: &str,
    tagged: bool,
) -> Vec<(String, String)> {
    let action = |name: &str| format!("{}:{name}", service.to_lowercase());
    let json = || -> Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{service}.{operation}: {e}"))
    };
    match service {
        "DynamoDB" => {
            let body = json();
            match operation {
                // Authorised by the actions of its items, on their tables.
                "TransactWriteItems" => body["TransactItems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| {
                        let (kind, detail) = item.as_object().unwrap().iter().next().unwrap();
                        let name = match kind.as_str() {
                            "ConditionCheck" => "ConditionCheckItem".to_owned(),
                            kind => format!("{kind}Item"),
                        };
                        let table = detail["TableName"].as_str().unwrap();
                        (action(&name), table_resource(table, None))
                    })
                    .collect(),
                "BatchWriteItem" | "BatchGetItem" => body["RequestItems"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|table| (action(operation), table_resource(table, None)))
                    .collect(),
                _ => {
                    let table = body["TableName"].as_str().unwrap();
                    let resource = table_resource(table, body["IndexName"].as_str());
                    vec![(action(operation), resource)]
                }
            }
        }
        "S3" => {
            // http://host:port/{bucket}[/{key}][?query]
            let path = uri.split_once("://").unwrap().1;
            let path = path.split_once('/').map_or("", |(_, p)| p);
            let path = path.split('?').next().unwrap();
            let key = path
                .split_once('/')
                .map(|(_, k)| k)
                .filter(|k| !k.is_empty());
            let (name, resource) = match (operation, key) {
                ("DeleteObjects", _) => {
                    assert!(
                        body.matches("<Key>").count() == body.matches("<Key>videos/").count(),
                        "{body}"
                    );
                    ("DeleteObject", "bucket/videos/*".to_owned())
                }
                // Without s3:ListBucket, S3 answers 403, not 404, for a missing object.
                ("HeadObject", Some(key)) => {
                    let object = format!("bucket/{}/*", key.split('/').next().unwrap());
                    return vec![
                        (action("GetObject"), object),
                        (action("ListBucket"), "bucket".to_owned()),
                    ];
                }
                (op, Some(key)) => {
                    // Multipart uploads are authorised as the object's PutObject, but
                    // for listing the parts and aborting (IAM's names).
                    let op = match op {
                        "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
                            "PutObject"
                        }
                        "ListParts" => "ListMultipartUploadParts",
                        op => op,
                    };
                    (op, format!("bucket/{}/*", key.split('/').next().unwrap()))
                }
                // IAM's name for listing a bucket's multipart uploads.
                ("ListMultipartUploads", None) => {
                    ("ListBucketMultipartUploads", "bucket".to_owned())
                }
                (op, None) => (op, "bucket".to_owned()),
            };
            let mut grants = vec![(action(name), resource.clone())];
            if tagged {
                grants.push((action("PutObjectTagging"), resource));
            }
            grants
        }
        "SQS" => {
            let body = json();
            let queue = body["QueueUrl"]
                .as_str()
                .map(|url| url.rsplit('/').next().unwrap())
                .or(body["QueueName"].as_str())
                .unwrap();
            let name = match operation {
                "SendMessageBatch" => "SendMessage",
                "DeleteMessageBatch" => "DeleteMessage",
                op => op,
            };
            vec![(action(name), queue_resource(queue))]
        }
        other => panic!("an unexpected service {other}"),
    }
}

/// A policy's `Resource` in the form [`table_resource`] gives: `!GetAtt X.Arn` and
/// `!Sub ${X.Arn}/index/...` resolve X's table or queue name, `!Sub arn:...:s3:::...`
/// is the bucket (with what follows its name).
fn template_resource(template: &serde_yaml::Value, value: &serde_yaml::Value) -> String {
    let text = untagged(value).as_str().unwrap();
    let named = |logical: &str| -> String {
        let properties = &template["Resources"][logical]["Properties"];
        let name = |key: &str| {
            let physical = untagged(&properties[key]).as_str()?;
            Some(physical.strip_prefix("reel-${Stage}-").unwrap().to_owned())
        };
        if let Some(table) = name("TableName") {
            format!("table/{table}")
        } else if let Some(queue) = name("QueueName") {
            format!("queue/{queue}")
        } else {
            panic!("{logical} is neither a table nor a queue")
        }
    };
    if let Some(rest) = text.strip_prefix("${") {
        let (attribute, suffix) = rest.split_once('}').unwrap();
        let logical = attribute.strip_suffix(".Arn").unwrap();
        format!("{}{suffix}", named(logical))
    } else if let Some((_, bucket)) = text.split_once(":s3:::") {
        let suffix = bucket.split_once("${AWS::Region}").unwrap().1;
        format!("bucket{suffix}")
    } else {
        named(text.strip_suffix(".Arn").unwrap())
    }
}

/// Every (action, resource) a function's inline policies allow.
fn granted(template: &serde_yaml::Value, function: &str) -> BTreeSet<(String, String)> {
    let resource = &template["Resources"][resource_of(function).as_str()];
    let list = |value: &serde_yaml::Value| -> Vec<serde_yaml::Value> {
        match untagged(value) {
            serde_yaml::Value::Sequence(list) => list.clone(),
            _ => vec![value.clone()],
        }
    };
    let mut grants = BTreeSet::new();
    for policy in resource["Properties"]["Policies"].as_sequence().unwrap() {
        for statement in policy["Statement"].as_sequence().unwrap() {
            assert_eq!(statement["Effect"], "Allow", "{function}");
            for action in list(&statement["Action"]) {
                for target in list(&statement["Resource"]) {
                    let target = template_resource(template, &target);
                    grants.insert((action.as_str().unwrap().to_owned(), target));
                }
            }
        }
    }
    grants
}

/// Grants a function holds without sending the request itself, and why.
fn granted_without_a_call(function: &str) -> Vec<(&'static str, &'static str)> {
    match function {
        // A session whose id names no account (issued before ids named their user) has
        // its account read apart (`DynamoSessions::account_is_live`). (videos and web
        // also read a user by name without a session, which their events exercise.)
        "users" | "comments" => vec![("dynamodb:GetItem", "table/users")],
        // Presigned URLs: S3 checks the signer's rights when the client uses them (a
        // multipart upload's parts, as PutObject; posters).
        "videos" => vec![
            ("s3:PutObject", "bucket/videos/*"),
            ("s3:PutObject", "bucket/posters/*"),
            ("s3:GetObject", "bucket/posters/*"),
        ],
        // A single PUT's URL, tagged pending; the video's poster URL in a completion's
        // answer; the account check of a session whose id names no account (as users
        // and comments); mark_rejected's deletion record, when a completed upload is not
        // a video (the events complete a real one).
        "uploads" => vec![
            ("s3:PutObject", "bucket/videos/*"),
            ("s3:PutObjectTagging", "bucket/videos/*"),
            ("s3:GetObject", "bucket/posters/*"),
            ("dynamodb:GetItem", "table/users"),
            ("dynamodb:PutItem", "table/deletions"),
        ],
        // The pages' poster URLs.
        "web" => vec![("s3:GetObject", "bucket/posters/*")],
        // AbortMultipartUpload only when a gone video had an upload in progress.
        "video-events" => vec![("s3:AbortMultipartUpload", "bucket/videos/*")],
        "stream" => vec![
            ("dynamodb:GetItem", "table/users"),
            ("s3:GetObject", "bucket/videos/*"),
        ],
        // Lambda's event source mapping polls and deletes with the function's role;
        // AbortMultipartUpload only when a deleted video had an upload in progress.
        "deletion-worker" => vec![
            ("s3:AbortMultipartUpload", "bucket/videos/*"),
            ("sqs:ReceiveMessage", "queue/deletions"),
            ("sqs:DeleteMessage", "queue/deletions"),
            ("sqs:GetQueueAttributes", "queue/deletions"),
        ],
        _ => vec![],
    }
}

use reel_testkit::binaries::FUNCTIONS;

/// Serves every event of every function with each AWS request recorded, then holds
/// each function's policy to them, resource by resource: every request is allowed on
/// the table, index, bucket prefix or queue it touched, and every grant is one some
/// request needs (or one of `granted_without_a_call`'s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_is_granted_exactly_what_its_code_calls() {
    use tracing::Instrument;
    recorder::install();
    let scope = |function: &str| tracing::info_span!("iam_scope", function = function);
    for (function, path) in http_event_files() {
        let host = seeded_host().await;
        let event = load_event(&host, &path).await;
        invoke(function_of(&function), &host, &event)
            .instrument(scope(&function))
            .await;
    }
    // uploads: a completion whose video was deleted meanwhile (after the route read it,
    // before it settles): S3 assembles the object, settling finds no video, and the
    // bytes and poster are removed at once (`settle_upload`'s `Gone`). One event cannot
    // interleave the two, so the function's multipart store is called as the route
    // calls it.
    let host = seeded_host().await;
    let uploading = VideoId::parse(UPLOADING_VIDEO).unwrap();
    let doomed = reel_core::ports::Videos::get(&*host.adapters.videos, &uploading)
        .await
        .unwrap()
        .unwrap();
    let upload = doomed.upload.clone().unwrap();
    reel_core::ports::Videos::delete(&*host.adapters.videos, &doomed, Timestamp::now())
        .await
        .unwrap();
    let parts = [(PartNumber::signed(1), MP4_MD5.to_owned())];
    let multipart = host.function().upload_state().unwrap().parts.0;
    let settled = multipart
        .complete(&uploading, &upload, &parts)
        .instrument(scope("uploads"))
        .await
        .unwrap();
    assert!(
        matches!(settled, Some(reel_core::media::Settled::Gone)),
        "{settled:?}"
    );
    assert!(host
        .adapters
        .blobs
        .head(&uploading)
        .await
        .unwrap()
        .is_none());
    // video-events: an upload lands; the notification confirms it.
    let host = fresh_host().await;
    let alice = user(ALICE, "alice", &PasswordHash::from_stored("x".into()));
    let v = video(VIDEO, &alice, "Holiday");
    reel_core::ports::Videos::create(&*host.adapters.videos, &v)
        .await
        .unwrap();
    upload_mp4_as_a_client_would(&host, &v.id).await;
    let mut created = read_json(&events_dir().join("s3-object-created.json"));
    created["Records"][0]["s3"]["bucket"]["name"] = host.adapters.blobs.bucket().into();
    let s3: S3Event = serde_json::from_value(created).unwrap();
    reel_lambda::on_objects_created(&host.function().confirming_videos(), s3)
        .instrument(scope("video-events"))
        .await
        .unwrap();
    // ...and the bytes of a video deleted before they landed are removed.
    let doomed = video(PENDING_VIDEO, &alice, "Gone");
    reel_core::ports::Videos::create(&*host.adapters.videos, &doomed)
        .await
        .unwrap();
    upload_mp4_as_a_client_would(&host, &doomed.id).await;
    reel_core::ports::Videos::delete(&*host.adapters.videos, &doomed, Timestamp::now())
        .await
        .unwrap();
    let mut late = read_json(&events_dir().join("s3-object-created.json"));
    late["Records"][0]["s3"]["bucket"]["name"] = host.adapters.blobs.bucket().into();
    late["Records"][0]["s3"]["object"]["key"] = object_key(&doomed.id).into();
    let s3: S3Event = serde_json::from_value(late).unwrap();
    reel_lambda::on_objects_created(&host.function().confirming_videos(), s3)
        .instrument(scope("video-events"))
        .await
        .unwrap();
    assert!(host
        .adapters
        .blobs
        .head(&doomed.id)
        .await
        .unwrap()
        .is_none());
    // ...a text file uploaded as a video is rejected, its bytes' deletion recorded...
    let text = video(&VideoId::new().to_string(), &alice, "Notes");
    reel_core::ports::Videos::create(&*host.adapters.videos, &text)
        .await
        .unwrap();
    upload_as_a_client_would(&host, &text.id, b"not a video at all".to_vec()).await;
    let s3 = s3_event(&host, "s3-object-created.json", &object_key(&text.id));
    reel_lambda::on_objects_created(&host.function().confirming_videos(), s3)
        .instrument(scope("video-events"))
        .await
        .unwrap();
    // ...and a poster lands: checked and recorded; one that is not an image, removed.
    let poster_key = reel_aws::poster_key(&v.id);
    upload_poster_as_a_client_would(&host, &v.id, POSTER_WEBP.to_vec()).await;
    let s3 = s3_event(&host, "s3-poster-created.json", &poster_key);
    reel_lambda::on_objects_created(&host.function().confirming_videos(), s3)
        .instrument(scope("video-events"))
        .await
        .unwrap();
    upload_poster_as_a_client_would(&host, &v.id, b"RIFF0000WEBPnope".to_vec()).await;
    let s3 = s3_event(&host, "s3-poster-created.json", &poster_key);
    reel_lambda::on_objects_created(&host.function().confirming_videos(), s3)
        .instrument(scope("video-events"))
        .await
        .unwrap();
    // deletion-dispatcher, then deletion-worker, on hidden videos; the dispatcher also
    // sweeps an account deleted long enough ago, with a session still to end and a
    // comment: its session and comment are deleted and its late video hidden on the
    // first tick, and the account forgotten on the second.
    let host = fresh_host().await;
    let batch = read_json(&events_dir().join("sqs-deletion-batch.json"));
    doomed_videos(&host, &batch).await;
    let carol = user(CAROL, "carol", &PasswordHash::from_stored("x".into()));
    reel_core::ports::Users::create(&*host.adapters.users, &carol)
        .await
        .unwrap();
    let carols_session = SessionId::parse(SESSIONS[2].1).unwrap();
    let session = Session {
        user_id: carol.id,
        user_name: carol.name.clone(),
        expires: Timestamp::now().plus_seconds(3600),
    };
    reel_core::ports::Sessions::create(&*host.adapters.sessions, &carols_session, &session)
        .await
        .unwrap();
    let long_ago = Timestamp::now().plus_seconds(-600);
    reel_core::ports::Users::delete_account(&*host.adapters.users, &carol, long_ago, None)
        .await
        .unwrap();
    let late = video(VIDEO, &carol, "late");
    reel_core::ports::Videos::create(&*host.adapters.videos, &late)
        .await
        .unwrap();
    let late_comment = Comment {
        id: CommentId::new(),
        video_id: late.id,
        author_id: carol.id,
        author: carol.name.clone(),
        content: CommentContent::parse("posted while she left").unwrap(),
        time: Timestamp::now(),
    };
    reel_core::ports::Comments::create(&*host.adapters.comments, &late_comment)
        .await
        .unwrap();
    for _ in 0..2 {
        reel_lambda::on_schedule(&host.function().dispatcher())
            .instrument(scope("deletion-dispatcher"))
            .await
            .unwrap();
    }
    assert!(
        reel_core::ports::Videos::get(&*host.adapters.videos, &late.id)
            .await
            .unwrap()
            .is_none()
    );
    let sessions = aws_sdk_dynamodb::Client::new(&aws_support::moto_sdk().await)
        .scan()
        .table_name(host.resources().table("sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.count, 0, "the sweep deleted the account's session");
    let carols = reel_core::ports::Comments::list(
        &*host.adapters.comments,
        &late.id,
        Default::default(),
        None,
        Limit::parse("10").unwrap(),
    )
    .await
    .unwrap();
    assert!(
        carols.items.is_empty(),
        "the sweep deleted the account's comment"
    );
    let sqs: SqsEvent = serde_json::from_value(batch).unwrap();
    reel_lambda::on_deletion_batch(&host.function().worker(), sqs)
        .instrument(scope("deletion-worker"))
        .await;

    let needed = recorder::NEEDED.lock().unwrap().clone();
    let template = template();
    let mut problems = Vec::new();
    for function in FUNCTIONS {
        let granted = granted(&template, function);
        let needs = needed.get(function).cloned().unwrap_or_default();
        let mut justified = needs.clone();
        justified.extend(
            granted_without_a_call(function)
                .into_iter()
                .map(|(a, r)| (a.to_owned(), r.to_owned())),
        );
        for (action, resource) in needs.difference(&granted) {
            problems.push(format!(
                "{function} calls {action} on {resource} without the grant"
            ));
        }
        for (action, resource) in granted.difference(&justified) {
            problems.push(format!(
                "{function} is granted {action} on {resource}, which no request needs"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}\nneeded: {needed:#?}");
}

/// (method, path) → function, from the functions' `HttpApi` events in the template.
fn template_routes(template: &serde_yaml::Value) -> BTreeMap<(String, String), String> {
    let mut routes = BTreeMap::new();
    for function in FUNCTIONS {
        let resource = &template["Resources"][resource_of(function).as_str()];
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let route = (
                event["Properties"]["Method"]
                    .as_str()
                    .unwrap()
                    .to_uppercase(),
                event["Properties"]["Path"].as_str().unwrap().to_owned(),
            );
            let previous = routes.insert(route.clone(), function.to_owned());
            assert!(previous.is_none(), "{route:?} is routed twice");
        }
    }
    routes
}

/// Whether the function's router has the route (anything but the fallback's 404 or a
/// 405 means it does). axum answers HEAD wherever it routes GET, and a HEAD reply has
/// no body to tell the fallback apart, so HEAD is asked as GET.
async fn serves(function: Function, host: &AwsHost, method: &str, path: &str) -> bool {
    use tower::ServiceExt;
    let method = if method == "HEAD" { "GET" } else { method };
    let concrete = path
        .replace("{user_name}", "alice")
        .replace("{vid}", VIDEO)
        .replace("{cid}", COMMENT)
        .replace("{version}", "0")
        .replace("{file}", "app.css");
    let request = axum::http::Request::builder()
        .method(method)
        .uri(concrete)
        .header("x-session-id", SESSIONS[0].1)
        .body(axum::body::Body::from("{}"))
        .unwrap();
    let response = function
        .app(&host.function())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let fallback =
        serde_json::from_slice::<Value>(&body).is_ok_and(|b| b["error"] == "route not found");
    status != axum::http::StatusCode::METHOD_NOT_ALLOWED && !(status == 404 && fallback)
}

/// Every route a function's router serves is routed to that function by the template,
/// and every route of the template is served by the function it names. `/healthz`,
/// which every function answers, is the web function's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_templates_routes_are_the_routers_routes() {
    let template = template();
    let routed = template_routes(&template);
    let host = seeded_host().await;
    let openapi = read_json(&events_dir().join("http/web/openapi.200.json"));
    let reply = invoke(Function::Web, &host, &openapi).await;
    let doc: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    let mut candidates: BTreeSet<(String, String)> = routed.keys().cloned().collect();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            candidates.insert((method.to_uppercase(), path.clone()));
        }
    }
    for page in [
        "/",
        "/userhome",
        "/watch/{vid}",
        "/explore",
        "/u/{user_name}",
        "/static/{version}/{file}",
    ] {
        candidates.insert(("GET".into(), page.into()));
    }
    candidates.insert(("HEAD".into(), "/videos/{vid}".into()));
    let functions = [
        Function::Users,
        Function::Sessions,
        Function::Videos,
        Function::Uploads,
        Function::Comments,
        Function::Stream,
        Function::Web,
    ];
    for (method, path) in &candidates {
        let mut owners = Vec::new();
        for f in functions {
            if serves(f, &host, method, path).await {
                owners.push(format!("{f:?}").to_lowercase());
            }
        }
        let in_template = routed.get(&(method.clone(), path.clone()));
        if path == "/healthz" {
            assert_eq!(owners.len(), functions.len(), "every function answers it");
            assert_eq!(in_template.map(String::as_str), Some("web"));
            continue;
        }
        assert_eq!(
            owners.iter().collect::<Vec<_>>(),
            in_template.into_iter().collect::<Vec<_>>(),
            "{method} {path}: served by {owners:?}, routed to {in_template:?}"
        );
    }
}

/// Every variable a function's code needs is set on it, and every `REEL_*` variable the
/// template sets is one the code reads (a misspelt name would silently default).
#[test]
fn every_function_gets_the_environment_its_code_reads() {
    let template = template();
    let global = &template["Globals"]["Function"]["Environment"]["Variables"];
    let sources: String = [
        "../../shared/core/src",
        "../../shared/aws/src",
        "../../shared/http/src",
        "../../shared/lambda/src",
    ]
    .iter()
    .flat_map(|dir| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path())
    })
    .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    .map(|p| std::fs::read_to_string(p).unwrap())
    .collect();
    for function in FUNCTIONS {
        let own = &template["Resources"][resource_of(function).as_str()]["Properties"]
            ["Environment"]["Variables"];
        let mut set = BTreeSet::new();
        for vars in [global, own] {
            if let Some(vars) = vars.as_mapping() {
                set.extend(vars.keys().map(|k| k.as_str().unwrap().to_owned()));
            }
        }
        let mut needed = vec![
            "REEL_TABLE_PREFIX",
            "REEL_FUNCTION",
            "REEL_METRICS_NAMESPACE",
            "REEL_LOG_FORMAT",
        ];
        let http = [
            "users", "sessions", "videos", "uploads", "comments", "stream", "web",
        ];
        if http.contains(&function) {
            needed.push("REEL_CURSOR_KEY");
        }
        let buckets = [
            "videos",
            "uploads",
            "stream",
            "video-events",
            "deletion-worker",
        ];
        if buckets.contains(&function) {
            needed.push("REEL_BUCKET");
        }
        if function == "deletion-dispatcher" {
            needed.push("REEL_DELETION_QUEUE");
        }
        for var in needed {
            assert!(set.contains(var), "{function} lacks {var}");
        }
        for var in set.iter().filter(|v| v.starts_with("REEL_")) {
            assert!(
                sources.contains(&format!("\"{var}\"")),
                "{function}: the code never reads {var}"
            );
        }
    }
}

// ---------- the same events through the real binaries, under the Runtime API ----------

/// What a function binary needs to reach `host`'s tables, bucket and queue on moto.
fn binary_env(host: &AwsHost) -> Vec<(String, String)> {
    let mut env = reel_testkit::moto::shared().env();
    env.extend(
        [
            ("REEL_TABLE_PREFIX", host.resources().table_prefix.clone()),
            ("REEL_BUCKET", host.resources().bucket.clone()),
            ("REEL_DELETION_QUEUE", host.resources().queue_name.clone()),
            // fresh_host's cursor key, [7; 32].
            (
                "REEL_CURSOR_KEY",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    env
}

async fn run_binary(function: &str, host: &AwsHost, event: &Value) -> Value {
    let binary = reel_testkit::binaries::binary(&format!("reel-{function}"));
    let mut process = reel_testkit::runtime_api::LambdaProcess::spawn(&binary, &binary_env(host))
        .await
        .unwrap();
    process.invoke_json(event).await.unwrap_or_else(|e| {
        panic!("{function} failed the event: {e:#}");
    })
}

/// Every file of `events/`, handed by the Runtime API emulator to the compiled binary
/// of its function (its own init, clients and `lambda_http`/`lambda_runtime` loop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_file_passes_through_its_function_binary() {
    // Four at a time: each file gets its own seeded resources on moto.
    use futures_util::StreamExt;
    futures_util::stream::iter(http_event_files())
        .for_each_concurrent(4, |(function, path)| async move {
            let host = seeded_host().await;
            let event = load_event(&host, &path).await;
            let reply = run_binary(&function, &host, &event).await;
            check_reply(&function, &path, &reply);
        })
        .await;

    // S3 ObjectCreated → video-events: the video turns ready.
    use reel_core::ports::Videos;
    let host = fresh_host().await;
    let alice = user(ALICE, "alice", &PasswordHash::from_stored("x".into()));
    reel_core::ports::Users::create(&*host.adapters.users, &alice)
        .await
        .unwrap();
    let v = video(VIDEO, &alice, "Holiday");
    host.adapters.videos.create(&v).await.unwrap();
    upload_mp4_as_a_client_would(&host, &v.id).await;
    let mut created = read_json(&events_dir().join("s3-object-created.json"));
    created["Records"][0]["s3"]["bucket"]["name"] = host.adapters.blobs.bucket().into();
    run_binary("video-events", &host, &created).await;
    let ready = host.adapters.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(ready.status, VideoStatus::Ready);

    // EventBridge tick → deletion-dispatcher; SQS batch → deletion-worker.
    let host = fresh_host().await;
    let mut batch = read_json(&events_dir().join("sqs-deletion-batch.json"));
    let ids = doomed_videos(&host, &batch).await;
    let tick = read_json(&events_dir().join("eventbridge-scheduled.json"));
    run_binary("deletion-dispatcher", &host, &tick).await;
    let queued = host.adapters.queue.receive(10, 30).await.unwrap();
    assert_eq!(queued.len(), ids.len());
    batch["Records"][1]["body"] = "not a video id".into();
    let answer = run_binary("deletion-worker", &host, &batch).await;
    assert_eq!(
        answer["batchItemFailures"],
        serde_json::json!([{"itemIdentifier": batch["Records"][1]["messageId"]}])
    );
    assert!(host.adapters.blobs.head(&ids[0]).await.unwrap().is_none());
}
