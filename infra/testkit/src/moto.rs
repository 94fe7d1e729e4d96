//! A moto server (DynamoDB, S3 and SQS emulator) on a free loopback port.
//!
//! The test command installs moto into the project's ignored `.venv`; `REEL_MOTO_SERVER`
//! names another `moto_server` executable. One server is started per test process and
//! shared by its tests (each test uses its own table prefix, bucket and queue names).
//! It is started through `sh` reading the test's stdin pipe, so it stops when the test
//! process ends, however it ends.

use anyhow::{bail, Context};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    _child: Child,
}

/// Region and credentials moto accepts (any would do; these say what they are).
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";

/// The process-wide moto server, started on first use. Panics with what to install when
/// moto is missing: a test that needs it must fail, not skip.
pub fn shared() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e:#}")))
}

impl Moto {
    /// The standard AWS variables that point a process (a function binary, the server)
    /// at this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_REGION", REGION),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Starts a new server and waits until it answers.
    pub fn start() -> anyhow::Result<Self> {
        Self::spawn("/dev/null")
    }

    /// Starts a new server of the caller's own whose access log (stderr: one line per
    /// request, written before the reply) goes to `log`, so a test can count the
    /// requests it makes; waits until it answers. Dropping it stops the server (its
    /// `sh` reads end of input).
    pub fn start_logging_to(log: &std::path::Path) -> anyhow::Result<Self> {
        let log = log.to_str().context("a log path in UTF-8")?;
        anyhow::ensure!(!log.contains('"'), "a log path without quotes");
        Self::spawn(log)
    }

    fn spawn(log: &str) -> anyhow::Result<Self> {
        let command = moto_command()?;
        let port = free_port()?;
        // `read` returns when our end of the pipe closes (this process exited), then the
        // server is killed: no orphan outlives the tests.
        let script = format!(
            "{command} -H 127.0.0.1 -p {port} >/dev/null 2>\"{log}\" & pid=$!; echo started; read _; kill $pid"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting moto_server through sh")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        wait_until_listening(port, &mut child)?;
        Ok(Self {
            endpoint,
            _child: child,
        })
    }
}

/// The shell words that run the server: `REEL_MOTO_SERVER`, or the venv's Python
/// running `scripts/moto_server.py` (moto_server with a fix to its S3 ListParts reply).
fn moto_command() -> anyhow::Result<String> {
    if let Some(path) = std::env::var_os("REEL_MOTO_SERVER") {
        return Ok(format!("\"{}\"", PathBuf::from(path).display()));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = root.join(".venv/bin/moto_server");
    if !exe.exists() {
        bail!(
            "moto is required for the AWS adapter tests and was not found at {}.\n\
             Install it with: python3 -m venv .venv && .venv/bin/pip install 'moto[server]'\n\
             (`bash scripts/test.sh` does this), or set REEL_MOTO_SERVER to a moto_server.",
            exe.display()
        );
    }
    let python = root.join(".venv/bin/python");
    let script = root.join("scripts/moto_server.py");
    Ok(format!("\"{}\" \"{}\"", python.display(), script.display()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_until_listening(port: u16, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("moto_server exited before listening ({status})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("moto_server did not listen on port {port} within 60 s")
}
