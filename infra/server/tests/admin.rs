//! The operator's commands, black-box: the real `reel` binary run as an operator would,
//! beside a running server or on its stored data, on both backends. Each checks what the
//! command prints, its exit code, and what it changed.

use reel_core::domain::{Timestamp, UserId, UserName, Video, VideoId, VideoName};
use reel_core::ports::{Queue, Videos};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

mod support;
use support::{Api, Server, Store};

/// What a command did.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(store: &Store, args: &[&str]) -> Ran {
    let out = store.reel(args);
    Ran {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `reel deletions status`, as `name -> count` from its `name: count  (meaning)` lines.
fn deletion_status(store: &Store) -> BTreeMap<String, u64> {
    let ran = run(store, &["deletions", "status"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    ran.stdout
        .lines()
        .map(|line| {
            let (name, rest) = line.split_once(": ").expect("name: count");
            let count = rest.split_whitespace().next().unwrap().parse().unwrap();
            (name.to_owned(), count)
        })
        .collect()
}

fn expected_status(
    pending: u64,
    in_flight: u64,
    dead: u64,
    unfinished: u64,
) -> BTreeMap<String, u64> {
    BTreeMap::from(
        [
            ("pending", pending),
            ("in flight", in_flight),
            ("dead letters", dead),
            ("unfinished deletions", unfinished),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_signs_them_out_and_refuses_sign_in() {
    disabling(Store::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_signs_them_out_and_refuses_sign_in_on_aws() {
    disabling(Store::aws()).await;
}

async fn disabling(store: Store) {
    let server = Server::start(&store, &[]);
    let api = Api::new(&server);
    let credentials = json!({"user_name": "alice", "pwd": "password1"});
    let first = api.sign_up("alice").await;
    let (status, body) = api.post("/user/alice", None, credentials.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["session_id"].as_str().unwrap().to_owned();
    let bob = api.sign_up("bob").await;

    let ran = run(&store, &["users", "disable", "alice"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        "disabled alice: 2 session(s) signed out; sign-in is refused until `reel users enable alice`\n"
    );
    for sid in [&first, &second] {
        let (status, body) = api.get("/user/bob", sid).await;
        assert_eq!(
            (status, &body["error_code"]),
            (StatusCode::UNAUTHORIZED, &json!("002"))
        );
    }
    let (status, body) = api.get("/user/alice", &bob).await;
    assert_eq!(status, StatusCode::OK, "others keep their sessions: {body}");
    let (status, body) = api.post("/user/alice", None, credentials.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": "this account is disabled", "error_code": "002"})
    );
    let wrong = json!({"user_name": "alice", "pwd": "not-her-password"});
    let (status, body) = api.post("/user/alice", None, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"], "user authentication failed",
        "a wrong password learns nothing"
    );

    let ran = run(&store, &["users", "enable", "alice"]);
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (0, "enabled alice: sign-in is allowed again\n")
    );
    let (status, body) = api.post("/user/alice", None, credentials).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["session_id"].is_string());
}

#[tokio::test]
async fn user_commands_refuse_unknown_users_and_bad_names() {
    let store = Store::local();
    let server = Server::start(&store, &[]);
    Api::new(&server).sign_up("alice").await;

    let ran = run(&store, &["users", "disable", "nobody"]);
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (3, "", "error: no user named nobody\n")
    );
    let ran = run(&store, &["users", "enable", "no such name!"]);
    assert_eq!((ran.code, ran.stdout.as_str()), (2, ""));
    assert!(
        ran.stderr
            .starts_with("error: \"no such name!\" is not a user name: "),
        "{}",
        ran.stderr
    );
}

#[test]
fn commands_on_a_directory_without_data_fail_and_create_nothing() {
    let store = Store::local();
    let ran = run(&store, &["deletions", "status"]);
    assert_eq!((ran.code, ran.stdout.as_str()), (1, ""));
    assert_eq!(
        ran.stderr,
        format!(
            "error: no Reel database at {} (set --data-dir or REEL_DATA_DIR to the server's data directory)\n",
            store.path().join("reel.db").display()
        )
    );
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_status_and_redrive() {
    let store = Store::local();
    let db = reel_embedded::SqliteStore::open(&store.path().join("reel.db")).unwrap();
    let queue = Arc::new(reel_embedded::SqliteQueue::new(db.clone(), 2));
    status_and_redrive(&store, queue, Arc::new(db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_status_and_redrive_on_aws() {
    let store = Store::aws();
    let host = store.aws_host().await;
    host.provision().await.unwrap();
    let a = host.adapters;
    status_and_redrive(&store, a.queue, a.videos).await;
}

/// Puts the pipeline in a known state behind the command's back — one dead letter, one
/// message in flight, one waiting, one unfinished deletion — then reads and redrives it.
async fn status_and_redrive(store: &Store, queue: Arc<dyn Queue>, videos: Arc<dyn Videos>) {
    assert_eq!(deletion_status(store), expected_status(0, 0, 0, 0));
    let ran = run(store, &["deletions", "redrive"]);
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (0, "no dead letters: nothing to redrive\n")
    );

    queue.send_batch(&[VideoId::new()]).await.unwrap();
    for _ in 0..10 {
        if queue.receive(10, 0).await.unwrap().is_empty() {
            break;
        }
    }
    assert_eq!(queue.depth().await.unwrap().dead_letters, 1, "exhausted");
    queue.send_batch(&[VideoId::new()]).await.unwrap();
    assert_eq!(queue.receive(1, 300).await.unwrap().len(), 1);
    queue.send_batch(&[VideoId::new()]).await.unwrap();
    let video = Video::new_pending(
        VideoId::new(),
        UserId::new(),
        UserName::parse("alice").unwrap(),
        VideoName::parse("clip").unwrap(),
        Timestamp::now(),
    );
    videos.create(&video).await.unwrap();
    assert!(videos.delete(&video, Timestamp::now()).await.unwrap());
    assert_eq!(deletion_status(store), expected_status(1, 1, 1, 1));

    let ran = run(store, &["deletions", "redrive"]);
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (0, "redrove 1 dead letter(s) into the deletion queue\n"),
        "{}",
        ran.stderr
    );
    assert_eq!(deletion_status(store), expected_status(2, 1, 0, 1));
}
