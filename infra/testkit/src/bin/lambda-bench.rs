//! Measures Lambda function binaries under the Runtime API emulator, beside a
//! hello-world baseline measured in the same run (absolute times drift between machines):
//! stripped size, start-to-ready (process start to first `/next`, median of 20 fresh
//! starts, and its ratio to the baseline's), warm invocation latency (median and p99)
//! and peak RSS after the warm invocations. A tool, not a test:
//! `scripts/bench-functions.sh` runs it.
//!
//! The starts are taken in 5 rounds; in each, every binary starts 5 times back to back,
//! each process killed and reaped before the next starts, and the first of the 5 is not
//! counted. Back to back, a binary's starts find the CPU's caches warm with it, as the
//! issue's figures were taken (in rounds of one start each, or after pauses, every start
//! measured slower and the larger binaries' more: a ratio depends on how warm the caches
//! are). The rounds spread a moment of load on the machine over every binary instead of
//! over one binary's twenty, and reaping keeps one start's teardown out of the next.
//!
//! Usage: lambda-bench EVENT.json NAME=BINARY[@EVENT.json]... (the first pair is the
//! baseline; a binary's own event replaces the default one, for functions that are not
//! HTTP). An HTTP answer must be a 200; any other answer must not be an error.
//! Variables named AWS_* and REEL_* are passed on to the functions.

use anyhow::{bail, Context};
use reel_testkit::runtime_api::LambdaProcess;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;
/// Counted starts per binary and round, after one that warms the caches.
const STARTS_PER_ROUND: usize = 4;
const WARM_INVOCATIONS: usize = 1000;

struct Row {
    name: String,
    size: u64,
    ready: Duration,
    warm_median: Duration,
    warm_p99: Duration,
    rss_kib: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let event_path = args
        .next()
        .context("usage: lambda-bench EVENT.json NAME=BINARY...")?;
    let event = read_event(&event_path)?;
    let functions: Vec<(String, PathBuf, serde_json::Value)> = args
        .map(|a| {
            let Some((name, spec)) = a.split_once('=') else {
                bail!("expected NAME=BINARY[@EVENT.json], got {a}");
            };
            Ok(match spec.split_once('@') {
                Some((path, own)) => (name.to_owned(), PathBuf::from(path), read_event(own)?),
                None => (name.to_owned(), PathBuf::from(spec), event.clone()),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if functions.is_empty() {
        bail!("no function to measure");
    }
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("REEL_"))
        .collect();
    for (_, path, _) in &functions {
        if !path.is_file() {
            bail!("{} is missing: build it first", path.display());
        }
    }
    eprintln!("starting each binary {ROUNDS} x (1 + {STARTS_PER_ROUND}) times");
    let mut starts = vec![Vec::new(); functions.len()];
    for _ in 0..ROUNDS {
        for ((_, path, _), times) in functions.iter().zip(&mut starts) {
            for counted in [false].into_iter().chain([true; STARTS_PER_ROUND]) {
                let mut f = LambdaProcess::spawn(path, &env).await?;
                let ready = f.wait_ready().await?;
                f.stop().await?;
                if counted {
                    times.push(ready);
                }
            }
        }
    }
    let mut rows = Vec::new();
    for ((name, path, event), mut times) in functions.iter().zip(starts) {
        eprintln!("invoking {name} ({})", path.display());
        let ready = percentile(&mut times, 50);
        let sorted: Vec<String> = times.iter().map(|t| format!("{:.2}", ms(*t))).collect();
        eprintln!("{name} starts, sorted (ms): {}", sorted.join(" "));
        rows.push(measure(name, path, ready, &env, event).await?);
    }
    print_table(&rows);
    Ok(())
}

/// The row of a binary whose median start-to-ready is `ready`: its size, and its warm
/// latency and peak memory over invocations of one process.
async fn measure(
    name: &str,
    path: &PathBuf,
    ready: Duration,
    env: &[(String, String)],
    event: &serde_json::Value,
) -> anyhow::Result<Row> {
    let size = std::fs::metadata(path)?.len();
    let mut f = LambdaProcess::spawn(path, env).await?;
    f.wait_ready().await?;
    let mut warm = Vec::with_capacity(WARM_INVOCATIONS);
    for _ in 0..WARM_INVOCATIONS {
        let started = Instant::now();
        let answer = f.invoke_json(event).await?;
        warm.push(started.elapsed());
        if answer.get("statusCode").is_some_and(|s| s != 200) {
            bail!("{name} answered {answer}");
        }
    }
    Ok(Row {
        name: name.to_owned(),
        size,
        ready,
        warm_median: percentile(&mut warm, 50),
        warm_p99: percentile(&mut warm, 99),
        rss_kib: f.peak_rss_kib()?,
    })
}

fn read_event(path: &str) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{path} is not JSON"))
}

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    samples[(samples.len() - 1) * p / 100]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_table(rows: &[Row]) {
    let base = &rows[0];
    println!("| binary | size (MB) | start-to-ready median (ms) | ÷ {} | warm median (ms) | warm p99 (ms) | peak RSS (MiB) |", base.name);
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} |",
            r.name,
            r.size as f64 / 1_000_000.0,
            ms(r.ready),
            ms(r.ready) / ms(base.ready),
            ms(r.warm_median),
            ms(r.warm_p99),
            r.rss_kib as f64 / 1024.0
        );
    }
}
