//! What the black-box tests share: a data store (a temporary directory, and for the AWS
//! backend moto and resources of the test's own), the real `reel` binary serving on a
//! free loopback port, and an HTTP client of it.
#![allow(dead_code)] // each test binary uses its own part

use reqwest::{header, redirect::Policy, Client, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod aws;

pub const MP4: &[u8] = reel_testkit::media::SAMPLE_MP4;
#[allow(unused_imports)]
pub use reel_testkit::media::padded_mp4;

/// Where a server keeps its data: a data directory, and for the AWS backend the
/// environment naming moto and this test's own tables, bucket and queues.
pub struct Store {
    pub dir: tempfile::TempDir,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Store {
    pub fn local() -> Self {
        Store {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn aws() -> Self {
        let own = aws::own_resources();
        let mut env = reel_testkit::moto::shared().env();
        env.extend(
            [
                ("REEL_TABLE_PREFIX", own.table_prefix),
                ("REEL_BUCKET", own.bucket),
                ("REEL_DELETION_QUEUE", own.queue_name),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        Store {
            dir: tempfile::tempdir().unwrap(),
            args: ["--backend", "aws", "--provision"]
                .map(String::from)
                .to_vec(),
            env,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs an operator command (`reel deletions status`, ...) on this store, as an
    /// operator would beside the running server; returns its output.
    pub fn reel(&self, args: &[&str]) -> std::process::Output {
        let backend = self.args.iter().filter(|a| *a != "--provision");
        Command::new(env!("CARGO_BIN_EXE_reel"))
            .args(args)
            .arg("--data-dir")
            .arg(self.path())
            .args(backend)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("the reel binary runs")
    }

    /// The AWS adapters on this store's resources, to look behind the server's back.
    pub async fn aws_host(&self) -> reel_server::aws::AwsHost {
        let var = |name: &str| {
            let (_, value) = self.env.iter().find(|(k, _)| k == name).unwrap();
            value.clone()
        };
        let settings = reel_core::settings::Settings {
            aws: reel_aws::AwsSettings {
                table_prefix: var("REEL_TABLE_PREFIX"),
                bucket: var("REEL_BUCKET"),
                queue_name: var("REEL_DELETION_QUEUE"),
            },
            ..Default::default()
        };
        let sdk = reel_aws::emulator_sdk_config(&var("AWS_ENDPOINT_URL")).await;
        reel_server::aws::AwsHost::new(&sdk, &settings).unwrap()
    }
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(store: &Store, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reel"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(store.path())
            .args(&store.args)
            .args(extra)
            .envs(store.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the reel binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, base }
    }

    /// SIGTERM, as a service manager would, and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "graceful shutdown exits 0, got {status}");
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Server {
    /// `kill -9`: no shutdown, no flushing, as in a crash.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of one server: no automatic redirects, so the 307 can be checked.
pub struct Api {
    pub http: Client,
    pub base: String,
}

impl Api {
    pub fn new(server: &Server) -> Self {
        let http = Client::builder().redirect(Policy::none()).build().unwrap();
        Api {
            http,
            base: server.base.clone(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        sid: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(sid) = sid {
            req = req.header("x-session-id", sid);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let bytes = res.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str, sid: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(sid), None).await
    }

    pub async fn post(&self, path: &str, sid: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, sid, Some(body))
            .await
    }

    pub async fn sign_up(&self, name: &str) -> String {
        let (status, body) = self
            .post(
                "/user",
                None,
                json!({"user_name": name, "pwd": "password1"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        body["session_id"].as_str().unwrap().to_owned()
    }

    pub async fn create_video(&self, sid: &str, owner: &str, name: &str) -> String {
        let (status, body) = self
            .post(
                &format!("/user/{owner}/videos"),
                Some(sid),
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        body["id"].as_str().unwrap().to_owned()
    }

    /// Grants an upload and PUTs `bytes` to the signed URL with the granted headers.
    pub async fn upload(&self, sid: &str, vid: &str, bytes: Vec<u8>) {
        let grant = self.grant_upload(sid, vid, bytes.len()).await;
        assert_eq!(self.put(&grant, bytes).await, StatusCode::OK);
    }

    /// An upload grant for `size` bytes of video/mp4.
    pub async fn grant_upload(&self, sid: &str, vid: &str, size: usize) -> Value {
        let (status, grant) = self
            .post(
                &format!("/upload/{vid}"),
                Some(sid),
                json!({"size": size, "content_type": "video/mp4"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{grant}");
        grant
    }

    /// PUTs `bytes` to a granted URL with the granted headers, as a browser would.
    pub async fn put(&self, grant: &Value, bytes: Vec<u8>) -> StatusCode {
        let mut put = self.http.put(grant["url"].as_str().unwrap()).body(bytes);
        for (k, v) in grant["headers"].as_object().unwrap() {
            put = put.header(k.as_str(), v.as_str().unwrap());
        }
        put.send().await.unwrap().status()
    }

    /// Follows `GET /videos/{vid}` to its signed byte URL.
    pub async fn blob_url(&self, sid: &str, vid: &str) -> String {
        let res = self
            .http
            .get(format!("{}/videos/{vid}", self.base))
            .header("x-session-id", sid)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
        res.headers()[header::LOCATION].to_str().unwrap().to_owned()
    }

    pub async fn fetch(
        &self,
        url: &str,
        range: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.http.get(url);
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        let res = req.send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.bytes().await.unwrap().to_vec())
    }

    /// Every comment of a video, following cursors `limit` at a time.
    pub async fn all_comments(&self, sid: &str, vid: &str, query: &str, limit: u32) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, page) = self
                .get(
                    &format!("/videos/{vid}/comments?limit={limit}{query}{cursor}"),
                    sid,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let items = page["comments"].as_array().expect("comments is an array");
            assert!(items.len() <= limit as usize);
            out.extend(items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return out,
            }
        }
    }
}
