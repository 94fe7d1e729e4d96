//! A bounded mixed workload against a running `reel serve` (scripts/soak.sh starts one):
//! `--connections` workers for `--seconds`, each cycling through a flood of sign-ins
//! with random names, listings, comments, uploads (deleted again, so storage stays
//! bounded) and ranged streams. Every `--sample-secs` it samples the server's RSS and
//! open file descriptors (`--pid`). Prints each sample, then a summary: requests by
//! status class, transport errors, latency p50/p99/max, and whether RSS or descriptors
//! grew after the first minute. Exits non-zero on any 5xx or transport error.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    base: String,
    connections: usize,
    seconds: u64,
    pid: u32,
    sample_secs: u64,
}

fn args() -> Args {
    let mut a = Args {
        base: String::new(),
        connections: 64,
        seconds: 600,
        pid: 0,
        sample_secs: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => a.base = value,
            "--connections" => a.connections = value.parse().unwrap(),
            "--seconds" => a.seconds = value.parse().unwrap(),
            "--pid" => a.pid = value.parse().unwrap(),
            "--sample-secs" => a.sample_secs = value.parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !a.base.is_empty() && a.pid != 0,
        "usage: reel-soak --base URL --pid PID [--connections 64] [--seconds 600]"
    );
    a
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
}

impl Counts {
    fn note(&self, status: Result<StatusCode, reqwest::Error>) {
        let counter = match status {
            Ok(s) if s.is_server_error() => {
                eprintln!("5xx: {s}");
                &self.server_errors
            }
            Ok(s) if s.is_client_error() => &self.client_errors,
            Ok(_) => &self.ok,
            Err(e) => {
                eprintln!("transport error: {e}");
                &self.transport_errors
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One worker's own account, video and session.
struct Worker {
    http: Client,
    base: String,
    name: String,
    sid: String,
    vid: String,
}

impl Worker {
    async fn new(http: Client, base: &str, n: usize) -> Self {
        let name = format!(
            "soak{n}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let res = http
            .post(format!("{base}/user"))
            .json(&json!({"user_name": name, "pwd": "correct horse"}))
            .send()
            .await
            .unwrap();
        let sid = res.json::<Value>().await.unwrap()["session_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut w = Worker {
            http,
            base: base.to_owned(),
            name,
            sid,
            vid: String::new(),
        };
        w.vid = w.upload().await.expect("seed upload");
        w
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a video and uploads 64 KiB to it (a real MP4, padded); its id.
    async fn upload(&self) -> Result<String, reqwest::Error> {
        let v: Value = self
            .http
            .post(self.url(&format!("/user/{}/videos", self.name)))
            .header("x-session-id", &self.sid)
            .json(&json!({"name": "soak"}))
            .send()
            .await?
            .json()
            .await?;
        let vid = v["id"].as_str().unwrap_or_default().to_owned();
        let bytes = reel_testkit::media::padded_mp4(64 << 10);
        let grant: Value = self
            .http
            .post(self.url(&format!("/upload/{vid}")))
            .header("x-session-id", &self.sid)
            .json(&json!({"size": bytes.len(), "content_type": "video/mp4"}))
            .send()
            .await?
            .json()
            .await?;
        let mut put = self
            .http
            .put(grant["url"].as_str().unwrap_or_default())
            .body(bytes);
        for (k, v) in grant["headers"].as_object().into_iter().flatten() {
            put = put.header(k.as_str(), v.as_str().unwrap_or_default());
        }
        put.send().await?.error_for_status()?;
        Ok(vid)
    }

    async fn step(&self, n: u64, counts: &Counts) {
        let status = match n % 6 {
            0 => {
                let stranger = format!("x{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
                self.http
                    .post(self.url(&format!("/user/{stranger}")))
                    .json(&json!({"user_name": stranger, "pwd": "wrong password"}))
                    .send()
                    .await
                    .map(|r| r.status())
            }
            1 => self
                .http
                .get(self.url(&format!("/user/{}/videos?limit=20", self.name)))
                .header("x-session-id", &self.sid)
                .send()
                .await
                .map(|r| r.status()),
            2 => self
                .http
                .post(self.url(&format!("/videos/{}/comments", self.vid)))
                .header("x-session-id", &self.sid)
                .json(&json!({"content": "a soak-test comment of about sixty bytes, give or take"}))
                .send()
                .await
                .map(|r| r.status()),
            3 => self
                .http
                .get(self.url(&format!("/videos/{}/comments?limit=50", self.vid)))
                .header("x-session-id", &self.sid)
                .send()
                .await
                .map(|r| r.status()),
            4 => self.stream().await,
            _ => match self.upload().await {
                Ok(vid) => self
                    .http
                    .delete(self.url(&format!("/user/{}/videos/{vid}", self.name)))
                    .header("x-session-id", &self.sid)
                    .send()
                    .await
                    .map(|r| r.status()),
                Err(e) => Err(e),
            },
        };
        counts.note(status);
    }

    /// The redirect, then a 64 KiB range of the bytes, read to the end.
    async fn stream(&self) -> Result<StatusCode, reqwest::Error> {
        let res = self
            .http
            .get(self.url(&format!("/videos/{}", self.vid)))
            .header("x-session-id", &self.sid)
            .header("range", "bytes=0-65535")
            .send()
            .await?;
        let status = res.status();
        res.bytes().await?;
        Ok(status)
    }
}

/// (RSS in KiB, open descriptors) of a process.
fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let a = args();
    let http = Client::builder()
        .pool_max_idle_per_host(a.connections)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut workers = Vec::new();
    for n in 0..a.connections {
        workers.push(Arc::new(Worker::new(http.clone(), &a.base, n).await));
    }
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.seconds);
    let tasks: Vec<_> = workers
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let counts = counts.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = i as u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    w.step(n, &counts).await;
                    latencies.push(t.elapsed().as_micros() as u64);
                    n += 1;
                }
                latencies
            })
        })
        .collect();

    println!("| t (s) | RSS (MiB) | open fds | requests so far |");
    println!("|---|---|---|---|");
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(a.sample_secs)).await;
        let (rss, fds) = sample(a.pid);
        let t = started.elapsed().as_secs();
        let done: u64 = [
            &counts.ok,
            &counts.client_errors,
            &counts.server_errors,
            &counts.transport_errors,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum();
        println!("| {t} | {:.1} | {fds} | {done} |", rss as f64 / 1024.0);
        samples.push((t, rss, fds));
    }
    let mut latencies: Vec<u64> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    latencies.sort_unstable();
    let after_first_minute: Vec<_> = samples.iter().filter(|(t, _, _)| *t >= 60).collect();
    let growth = match (
        after_first_minute.first(),
        after_first_minute
            .iter()
            .map(|s| (s.1, s.2))
            .reduce(|a, b| (a.0.max(b.0), a.1.max(b.1))),
    ) {
        (Some(first), Some((max_rss, max_fds))) => format!(
            "after the first minute: RSS {:.1} → max {:.1} MiB, fds {} → max {}",
            first.1 as f64 / 1024.0,
            max_rss as f64 / 1024.0,
            first.2,
            max_fds
        ),
        _ => "run shorter than a minute: no growth figure".to_owned(),
    };
    let c = |x: &AtomicU64| x.load(Ordering::Relaxed);
    println!();
    println!(
        "requests {} in {} s ({:.0}/s): 2xx/3xx {}, 4xx {}, 5xx {}, transport errors {}",
        latencies.len(),
        a.seconds,
        latencies.len() as f64 / a.seconds as f64,
        c(&counts.ok),
        c(&counts.client_errors),
        c(&counts.server_errors),
        c(&counts.transport_errors)
    );
    println!(
        "latency ms: p50 {:.2}, p99 {:.2}, max {:.2}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!("{growth}");
    if c(&counts.server_errors) > 0 || c(&counts.transport_errors) > 0 {
        std::process::exit(1);
    }
}
