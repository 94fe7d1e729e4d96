//! Every file under `events/` fed through the real Lambda path into the function it
//! belongs to, on AWS adapters over moto: API Gateway HTTP API v2 requests go through
//! `lambda_http`'s own deserialisation and response conversion (its `Adapter`, as
//! `lambda_http::run` uses it) into `function_app`; the S3, SQS and EventBridge events
//! into the handlers of `video-events`, `deletion-worker` and `deletion-dispatcher`.
//! Each file gets freshly seeded state (the fixtures in `events/README.md`).

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use reel::adapters::aws::{emulator_sdk_config, object_key, AwsSettings, PENDING_TAG};
use reel::aws_host::AwsHost;
use reel::domain::*;
use reel::http::{function_app, Function};
use reel::lambda::{EventBridgeEvent, S3Event, SqsEvent};
use reel::ports::{Queue, Session, TimeWindow};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const MP4: &[u8] = include_bytes!("fixtures/sample.mp4");
const PASSWORD: &str = "correct horse battery";
const ALICE: &str = "11111111-1111-4111-8111-111111111111";
const BOB: &str = "44444444-4444-4444-8444-444444444444";
const CAROL: &str = "77777777-7777-4777-8777-777777777777";
const VIDEO: &str = "22222222-2222-4222-8222-222222222222";
const PENDING_VIDEO: &str = "55555555-5555-4555-8555-555555555555";
const COMMENT: &str = "33333333-3333-4333-8333-333333333333";
const SESSIONS: [(&str, &str); 3] = [
    ("alice", "YWxpY2Utc2Vzc2lvbi1maXh0dXJlLTAwMDAwMDAwMDA"),
    ("bob", "Ym9iLXNlc3Npb24tZml4dHVyZS0wMDAwMDAwMDAwMDA"),
    ("carol", "Y2Fyb2wtc2Vzc2lvbi1maXh0dXJlLTAwMDAwMDAwMDA"),
];

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An AWS host on tables, bucket and queues of its own on the shared moto server.
async fn fresh_host() -> AwsHost {
    let moto = reel_testkit::moto::shared();
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let settings = AwsSettings {
        table_prefix: format!("t{tag}"),
        bucket: format!("b{tag}"),
        queue_name: format!("q{tag}"),
    };
    let config = reel::config::Config {
        cursor_key: Some([7; 32]),
        ..Default::default()
    };
    let host = AwsHost::new(
        &emulator_sdk_config(&moto.endpoint).await,
        settings,
        &config,
    )
    .unwrap();
    host.provision().await.unwrap();
    host
}

fn user(id: &str, name: &str, hash: &PasswordHash) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        name: UserName::parse(name).unwrap(),
        password_hash: hash.clone(),
        created: Timestamp::from_unix_seconds(1_790_000_000),
    }
}

fn video(id: &str, owner: &User, name: &str) -> Video {
    Video {
        id: VideoId::parse(id).unwrap(),
        author_id: owner.id,
        author: owner.name.clone(),
        name: VideoName::parse(name).unwrap(),
        created: Timestamp::from_unix_seconds(1_790_000_100),
        status: VideoStatus::Pending,
        size: 0,
        content_type: None,
    }
}

/// alice, bob and carol with their sessions; alice's ready video with bob's comment,
/// and alice's pending video.
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
        reel::ports::Users::create(&*a.users, person).await.unwrap();
        let session = Session {
            user_id: person.id,
            user_name: person.name.clone(),
            expires: Timestamp::now().plus_seconds(3600),
        };
        reel::ports::Sessions::create(&*a.sessions, &SessionId::parse(sid).unwrap(), &session)
            .await
            .unwrap();
    }
    let ready = video(VIDEO, &people[0], "Holiday");
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    use reel::ports::{Comments, Videos};
    a.videos.create(&ready).await.unwrap();
    a.videos
        .mark_ready(&ready.id, MP4.len() as u64, &mp4)
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
    host
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
    let aws = host.function();
    let state = if function.serves_bytes() {
        aws.object_state()
    } else {
        aws.metadata_state()
    };
    let mut adapter = Adapter::from(function_app(function.router(), state.unwrap()));
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
        "sign-up" | "sign-in" => assert_eq!(body["session_id"].as_str().unwrap().len(), 43),
        "get-user" => assert_eq!(body["user_name"], "bob"),
        "create-video" => assert_eq!(body["status"], "pending"),
        "list-videos" => {
            assert_eq!(body["videos"].as_array().unwrap().len(), 2);
            assert!(body.get("next_cursor").is_some());
        }
        "video-info" => assert_eq!(
            (body["id"].as_str(), body["size"].as_u64()),
            (Some(VIDEO), Some(MP4.len() as u64))
        ),
        "grant-upload" => {
            assert_eq!(body["method"], "PUT");
            assert!(body["url"].as_str().unwrap().contains(PENDING_VIDEO));
        }
        "stream-video" | "stream-with-cookie" => {
            assert!(header("location").contains(&object_key(&VideoId::parse(VIDEO).unwrap())))
        }
        "post-comment" => assert_eq!(body["content"], "Lovely <b>light</b>!"),
        "list-comments" => assert_eq!(body["comments"][0]["id"], COMMENT),
        "openapi" => assert!(body["openapi"].as_str().unwrap().starts_with("3.1")),
        "healthz" => assert_eq!(body["status"], "ok"),
        "home" | "userhome" | "watch" => assert!(header("content-type").starts_with("text/html")),
        "home-signed-in-redirects" | "userhome-not-signed-in" | "watch-not-signed-in" => {
            assert!(!header("location").is_empty())
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http_event_gets_the_answer_its_name_promises() {
    for (function, path) in http_event_files() {
        let event = read_json(&path);
        let host = seeded_host().await;
        let reply = invoke(function_of(&function), &host, &event).await;
        let name = path.file_name().unwrap().to_str().unwrap();
        let (status, code) = expectation(&path);
        let raw = reply["body"].as_str().unwrap_or("");
        assert_eq!(reply["statusCode"], status, "{function}/{name}: {raw}");
        let body: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        match code {
            Some(code) => assert_eq!(body["error_code"], code.as_str(), "{function}/{name}"),
            None => check_success_body(name.split('.').next().unwrap(), &reply, &body),
        }
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
    use reel::ports::Videos;
    let host = fresh_host().await;
    let alice = user(ALICE, "alice", &PasswordHash::from_stored("x".into()));
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
        reel::lambda::on_objects_created(&host.function().confirming_videos(), s3)
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
    use reel::ports::BlobUrls;
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    let grant = host
        .adapters
        .urls
        .presign_put("", video, MP4.len() as u64, &mp4, Timestamp::now())
        .await
        .unwrap();
    let mut put = reqwest::Client::new().put(&grant.url).body(MP4.to_vec());
    for (name, value) in &grant.headers {
        put = put.header(name, value);
    }
    let status = put.send().await.unwrap().status();
    assert!(status.is_success(), "the presigned PUT answered {status}");
}

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
    use reel::ports::{Comments, Videos};
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
            .delete(&v.id, Timestamp::now())
            .await
            .unwrap());
        ids.push(v.id);
    }
    ids
}

#[tokio::test]
async fn an_sqs_batch_deletes_everything_and_reports_only_bad_items() {
    use reel::ports::{Comments, Deletions};
    let host = fresh_host().await;
    let mut event = read_json(&events_dir().join("sqs-deletion-batch.json"));
    let ids = doomed_videos(&host, &event).await;
    event["Records"][1]["body"] = "not a video id".into();
    let sqs: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    let response = reel::lambda::on_deletion_batch(&host.function().worker(), sqs).await;
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
        reel::lambda::on_schedule(&host.function().dispatcher())
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
        reel::lambda::on_schedule(&host.function().dispatcher())
            .await
            .unwrap(),
        0,
        "not again within the grace period"
    );
}
