//! The README's inner loop, run as written: `cargo lambda watch --env-file
//! functions/moto.env` serving the functions against moto, `curl`-like requests through
//! `/lambda-url/<function>/`, and `cargo lambda invoke <function> --data-file events/...`
//! for an HTTP, an EventBridge, an SQS and an S3 event. The only changes to the README's
//! commands: moto's port and the resource names are this test's own, and the watch
//! server listens on a free port.
//!
//! cargo-lambda comes from the project's `.venv-deploy` (`. scripts/deploy-tools.sh`,
//! which the test command runs); without it the test fails saying so.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `cargo` with the pinned cargo-lambda first on PATH, at the workspace root, without
/// the variables cargo sets for this test (they would make the nested builds' build
/// scripts run again).
fn cargo() -> Command {
    let venv = root().join(".venv-deploy/bin");
    assert!(
        venv.join("cargo-lambda").is_file(),
        "cargo-lambda is missing from {}: run `. scripts/deploy-tools.sh` (installs the pinned aws-sam-cli, cargo-lambda and ziglang)",
        venv.display()
    );
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", venv.display()));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let keep = ["CARGO_HOME", "CARGO_TARGET_DIR"].contains(&key.as_str());
        if (key.starts_with("CARGO_") && !keep) || key == "OUT_DIR" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `functions/moto.env` with this test's moto endpoint and resource names.
fn env_file(dir: &Path, moto: &str, tag: &str) -> (PathBuf, Vec<(String, String)>) {
    let documented = std::fs::read_to_string(root().join("functions/moto.env")).unwrap();
    let overrides = [
        ("AWS_ENDPOINT_URL", moto.to_owned()),
        ("REEL_TABLE_PREFIX", format!("t{tag}")),
        ("REEL_BUCKET", format!("b{tag}")),
        ("REEL_DELETION_QUEUE", format!("q{tag}")),
    ];
    let mut vars = Vec::new();
    for line in documented.lines() {
        let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) else {
            continue;
        };
        let value = overrides
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(value.to_owned(), |(_, v)| v.clone());
        vars.push((key.to_owned(), value));
    }
    for (key, _) in &overrides {
        assert!(
            vars.iter().any(|(k, _)| k == key),
            "functions/moto.env sets {key}"
        );
    }
    let path = dir.join("moto.env");
    let text: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&path, text).unwrap();
    (path, vars)
}

/// `cargo lambda watch` in its own process group, so that stopping it stops the
/// `cargo run` and function processes it started.
struct Watch {
    child: Child,
    base: String,
}

impl Watch {
    fn start(env_file: &Path) -> Self {
        let port = free_port();
        let child = cargo()
            .args(["lambda", "watch", "--ignore-changes", "--env-file"])
            .arg(env_file)
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("cargo lambda watch starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Watch {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// `cargo lambda invoke FUNCTION --data-file FILE`, its JSON answer.
    fn invoke(&self, function: &str, data_file: &str) -> Value {
        let port = self.base.rsplit(':').next().unwrap();
        let out = cargo()
            .args(["lambda", "invoke", function, "--data-file", data_file])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port", port])
            .args(["--output-format", "json"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !stdout.contains("Error"),
            "cargo lambda invoke {function} --data-file {data_file}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `reel ARGS` (the local binary) with the functions' environment.
fn reel(vars: &[(String, String)], args: &[&str]) -> Output {
    let out = Command::new(reel_testkit::binaries::binary("reel"))
        .args(args)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reel {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `reel deletions status --backend aws`, as `name -> count`.
fn deletion_counts(vars: &[(String, String)]) -> Vec<(String, u64)> {
    let out = reel(vars, &["deletions", "status", "--backend", "aws"]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (name, rest) = l.split_once(": ").unwrap();
            (
                name.to_owned(),
                rest.split_whitespace().next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn counts(pending: u64, unfinished: u64) -> Vec<(String, u64)> {
    [
        ("pending", pending),
        ("in flight", 0),
        ("dead letters", 0),
        ("unfinished deletions", unfinished),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_cargo_lambda_commands_serve_and_invoke_the_functions() {
    let moto = reel_testkit::moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let (env_file, vars) = env_file(dir.path(), &moto.endpoint, tag);
    reel(&vars, &["provision"]);
    let watch = Watch::start(&env_file);
    let http = reqwest::Client::new();
    // The first request to a function builds it (already built by `reel` above, so
    // cargo only checks), then starts it.
    let url =
        |function: &str, path: &str| format!("{}/lambda-url/reel-{function}{path}", watch.base);

    let res = http
        .post(url("users", "/user"))
        .json(&json!({"user_name": "alice", "pwd": "password1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let sid = res.json::<Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = http
        .get(url("users", "/user/alice"))
        .header("x-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["user_name"], "alice");

    let res = http
        .post(url("videos", "/user/alice/videos"))
        .header("x-session-id", &sid)
        .json(&json!({"name": "clip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let vid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = http
        .delete(url("videos", &format!("/user/alice/videos/{vid}")))
        .header("x-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(deletion_counts(&vars), counts(0, 1));

    // EventBridge: the dispatcher sends the deletion to the queue and says how many.
    let answer = watch.invoke(
        "reel-deletion-dispatcher",
        "events/eventbridge-scheduled.json",
    );
    assert_eq!(answer, json!(1));
    assert_eq!(deletion_counts(&vars), counts(1, 1));
    // SQS: the worker deletes the batch's videos (unknown ones are already done).
    let answer = watch.invoke("reel-deletion-worker", "events/sqs-deletion-batch.json");
    assert_eq!(answer, json!({"batchItemFailures": []}));
    // S3: an object for a video that does not exist is not an error.
    let answer = watch.invoke("reel-video-events", "events/s3-object-created.json");
    assert_eq!(answer, Value::Null);
    // HTTP, as API Gateway would send it: a sign-up.
    let answer = watch.invoke("reel-users", "events/http/users/sign-up.201.json");
    assert_eq!(answer["statusCode"], 201, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["success"], true);
}
