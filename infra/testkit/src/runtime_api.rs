//! A Lambda Runtime API emulator (version 2018-06-01) for tests and benchmarks.
//!
//! [`LambdaProcess::spawn`] serves `/2018-06-01/runtime/invocation/next`, `.../response`,
//! `.../error` and `/2018-06-01/runtime/init/error` on a free loopback port, starts a
//! compiled function binary with `AWS_LAMBDA_RUNTIME_API` pointing at it, and hands it
//! events one at a time, as Lambda does. It also records when the function first asked
//! for work (its start-to-ready time) and reads its peak memory.

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path as FsPath;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, Notify};

const PREFIX: &str = "/2018-06-01/runtime";
/// How long one invocation may take before `invoke` gives up.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the function answered.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// `/error` or `/init/error`: the error type and the JSON body.
    Error {
        error_type: String,
        body: Value,
    },
}

/// An invocation the function reported as failed, or that never completed.
#[derive(Debug, thiserror::Error)]
#[error("invocation failed: {error_type}: {body}")]
pub struct InvocationError {
    pub error_type: String,
    pub body: Value,
}

struct Pending {
    id: String,
    event: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Outcome>>,
}

/// A function binary running under the emulator; killed when dropped.
pub struct LambdaProcess {
    shared: Arc<Shared>,
    api: std::net::SocketAddr,
    child: Child,
    spawned: Instant,
    server: tokio::task::JoinHandle<()>,
}

impl LambdaProcess {
    /// Starts the emulator, then `binary` with the environment Lambda gives a function
    /// (overridable through `env`). The child's stderr is inherited, so test output shows
    /// its logs.
    pub async fn spawn(binary: &FsPath, env: &[(String, String)]) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".into());
        let spawned = Instant::now();
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]emulator")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", "us-east-1")
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self {
            shared,
            api: addr,
            child,
            spawned,
            server,
        })
    }

    /// Hands the function one event and waits for its answer.
    pub async fn invoke(
        &mut self,
        event: &Value,
    ) -> anyhow::Result<Result<Bytes, InvocationError>> {
        let id = uuid::Uuid::new_v4().to_string();
        let (done, answer) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), done);
        self.shared.queue.lock().unwrap().push_back(Pending {
            id: id.clone(),
            event: serde_json::to_vec(event)?,
        });
        self.shared.queued.notify_one();
        let outcome = tokio::select! {
            answer = tokio::time::timeout(INVOKE_TIMEOUT, answer) => answer,
            status = self.child.wait() => bail!("the function exited during an invocation: {status:?}"),
        };
        let outcome = match outcome {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => bail!("the invocation was dropped"),
            Err(_) => bail!("no answer within {INVOKE_TIMEOUT:?}"),
        };
        Ok(match outcome {
            Outcome::Response(body) => Ok(body),
            Outcome::Error { error_type, body } => Err(InvocationError { error_type, body }),
        })
    }

    /// Invokes and parses a successful answer as JSON.
    pub async fn invoke_json(&mut self, event: &Value) -> anyhow::Result<Value> {
        let body = self.invoke(event).await?.map_err(anyhow::Error::new)?;
        serde_json::from_slice(&body).context("the function's answer is not JSON")
    }

    /// Waits until the function asks for its first event, or reports an init error.
    pub async fn wait_ready(&mut self) -> anyhow::Result<Duration> {
        let deadline = Instant::now() + INVOKE_TIMEOUT;
        loop {
            if let Some(ready) = self.ready_after() {
                return Ok(ready);
            }
            if let Some(Outcome::Error { error_type, body }) =
                &*self.shared.init_error.lock().unwrap()
            {
                bail!("init error {error_type}: {body}");
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the function exited before polling for work: {status}");
            }
            if Instant::now() > deadline {
                bail!("the function never polled for work");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// Time from starting the process to its first `/next` request.
    pub fn ready_after(&self) -> Option<Duration> {
        let first = *self.shared.first_poll.lock().unwrap();
        first.map(|at| at - self.spawned)
    }

    /// The error the function reported through `/init/error`, if any.
    pub fn init_error(&self) -> Option<String> {
        match &*self.shared.init_error.lock().unwrap() {
            Some(Outcome::Error { error_type, body }) => Some(format!("{error_type}: {body}")),
            _ => None,
        }
    }

    /// Where the emulated Runtime API listens (`AWS_LAMBDA_RUNTIME_API`).
    pub fn api_address(&self) -> std::net::SocketAddr {
        self.api
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the function and waits until it is gone (its memory unmapped), so that
    /// whatever runs next does not share the machine with its teardown.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("killing the function")
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.pid().context("the function has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in /proc/PID/status")
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/invocation/next"), get(next))
        .route(
            &format!("{PREFIX}/invocation/{{id}}/response"),
            post(response),
        )
        .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
        .route(&format!("{PREFIX}/init/error"), post(init_error))
        .with_state(shared)
}

/// Long-polls for the next event, as the real API does.
async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    loop {
        let notified = shared.queued.notified();
        if let Some(p) = shared.queue.lock().unwrap().pop_front() {
            let deadline = std::time::SystemTime::now() + INVOKE_TIMEOUT;
            let deadline_ms = deadline
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            let headers = [
                ("lambda-runtime-aws-request-id", p.id),
                ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:emulated".into(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
                        .into(),
                ),
                ("content-type", "application/json".into()),
            ];
            return (headers, p.event).into_response();
        }
        notified.await;
    }
}

fn complete(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    match shared.waiting.lock().unwrap().remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
        )
            .into_response(),
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    complete(&shared, &id, Outcome::Response(body))
}

fn error_outcome(headers: &HeaderMap, body: &Bytes) -> Outcome {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned();
    let body = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    Outcome::Error { error_type, body }
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    complete(&shared, &id, error_outcome(&headers, &body))
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    *shared.init_error.lock().unwrap() = Some(error_outcome(&headers, &body));
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
