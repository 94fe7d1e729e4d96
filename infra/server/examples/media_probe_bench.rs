//! What reading an upload's header costs: a 1 GiB MP4 with its `moov` at the end (the
//! fixture's `moov` after a 1 GiB `mdat`), probed through the port the hosts use
//! (`reel_core::media::probe_object` over `Blobs::read_range`) on the embedded store
//! and on S3 (moto); the baseline in the same run is reading the whole file once.
//! A benchmark, not a test:
//! `cargo run --release -p reel-server --example media_probe_bench [RUNS]`
//! (moto from the project's .venv; the test command installs it).

use reel_aws::emulator_sdk_config;
use reel_core::domain::VideoId;
use reel_core::ports::Blobs;
use reel_server::aws::AwsHost;
use std::io::{Read, Seek, SeekFrom, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MDAT: u64 = 1 << 30;

/// ftyp, a 1 GiB `mdat` (64-bit size; its bytes a hole in the file), then the fixture's `moov`.
fn moov_last_file(path: &std::path::Path) -> anyhow::Result<u64> {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/h264-aac-moov-last.mp4"
    ))?;
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= fixture.len() {
        let size = u32::from_be_bytes(fixture[at..at + 4].try_into()?) as usize;
        boxes.push((
            fixture[at + 4..at + 8].to_vec(),
            fixture[at..at + size].to_vec(),
        ));
        at += size;
    }
    let find = |kind: &[u8]| {
        boxes
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, b)| b.clone())
    };
    let (ftyp, moov) = (find(b"ftyp").unwrap(), find(b"moov").unwrap());
    let mut file = std::fs::File::create(path)?;
    file.write_all(&ftyp)?;
    file.write_all(&1u32.to_be_bytes())?;
    file.write_all(b"mdat")?;
    file.write_all(&MDAT.to_be_bytes())?;
    file.seek(SeekFrom::Start(ftyp.len() as u64 + MDAT))?;
    file.write_all(&moov)?;
    file.sync_all()?;
    Ok(ftyp.len() as u64 + MDAT + moov.len() as u64)
}

/// The median of `runs` probes, and the last probe's reads.
async fn probe(
    blobs: Arc<dyn Blobs>,
    video: VideoId,
    size: u64,
    runs: usize,
) -> anyhow::Result<(Duration, reel_core::media::ReadStats)> {
    let mut times = Vec::new();
    let mut stats = Default::default();
    for _ in 0..runs {
        let started = Instant::now();
        let (outcome, read) = reel_core::media::probe_object(blobs.clone(), video, size).await?;
        times.push(started.elapsed());
        anyhow::ensure!(outcome.is_ok(), "the file did not probe: {outcome:?}");
        stats = read;
    }
    times.sort();
    Ok((times[times.len() / 2], stats))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let dir = tempfile::tempdir()?;
    let key = reel_embedded::load_or_create_key(dir.path())?;
    let local = Arc::new(reel_embedded::LocalBlobs::open(
        dir.path(),
        reel_core::signing::Signer::new(key),
        60,
        60,
    )?);
    let video = VideoId::new();
    let size = moov_last_file(&dir.path().join("blobs").join(video.to_string()))?;

    // Baseline: reading the whole object once (what a parser without ranged reads does).
    let started = Instant::now();
    let mut whole = std::fs::File::open(dir.path().join("blobs").join(video.to_string()))?;
    let mut buf = vec![0; 1 << 20];
    while whole.read(&mut buf)? > 0 {}
    let baseline = started.elapsed();

    let (local_time, local_reads) = probe(local, video, size, runs).await?;
    println!("1 GiB MP4, moov at the end ({size} bytes), median of {runs}:");
    println!(
        "  embedded: {local_time:?}, {} reads, {} bytes read",
        local_reads.requests, local_reads.bytes
    );
    println!(
        "  baseline, reading the whole file once: {baseline:?} (ratio {:.0}x)",
        baseline.as_secs_f64() / local_time.as_secs_f64()
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let exe = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/moto_server");
    let mut moto = Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let sdk = emulator_sdk_config(&format!("http://127.0.0.1:{port}")).await;
    let host = AwsHost::new(&sdk, &reel_core::settings::Settings::default())?;
    host.provision().await?;
    let body = aws_sdk_s3::primitives::ByteStream::from_path(
        dir.path().join("blobs").join(video.to_string()),
    )
    .await?;
    host.clients
        .s3
        .put_object()
        .bucket(host.adapters.blobs.bucket())
        .key(reel_aws::object_key(&video))
        .body(body)
        .send()
        .await?;
    let (s3_time, s3_reads) = probe(host.adapters.blobs.clone(), video, size, runs).await?;
    println!(
        "  S3 on moto: {s3_time:?}, {} ranged GetObject requests, {} bytes read",
        s3_reads.requests, s3_reads.bytes
    );
    moto.kill()?;
    Ok(())
}
