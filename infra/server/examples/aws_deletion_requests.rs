//! Counts the AWS API requests the deletion pipeline makes per deleted video, on a moto
//! server whose request log is the counter. A benchmark, not a test:
//! `cargo run --release -p reel-server --example aws_deletion_requests [VIDEOS] [COMMENTS]`
//! (moto from the project's .venv; the test command installs it).

use reel_aws::{emulator_sdk_config, object_key};
use reel_core::domain::*;
use reel_core::ports::{Comments, Queue, Videos};
use reel_server::aws::AwsHost;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let videos = args.next().transpose()?.unwrap_or(100);
    let comments = args.next().transpose()?.unwrap_or(3);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = std::env::temp_dir().join(format!("moto-{port}.log"));
    let exe = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/moto_server");
    let mut moto = Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let sdk = emulator_sdk_config(&format!("http://127.0.0.1:{port}")).await;
    let host = AwsHost::new(&sdk, &reel_core::settings::Settings::default())?;
    host.provision().await?;
    for video in &seed(&host, videos, comments).await? {
        host.adapters.videos.delete(video, Timestamp::now()).await?;
    }

    let before = requests(&log)?;
    host.dispatcher().run_once(Timestamp::now()).await?;
    let dispatched = requests(&log)?;
    let worker = host.worker();
    loop {
        let batch = host.adapters.queue.receive(10, 30).await?;
        if batch.is_empty() {
            break;
        }
        for ack_handle in worker.process_batch(&batch).await.done {
            host.adapters.queue.ack(&ack_handle).await?;
        }
    }
    let after = requests(&log)?;
    moto.kill()?;
    let per = |n: usize| n as f64 / videos as f64;
    println!("{videos} videos with {comments} comments each:");
    println!(
        "  dispatcher: {} requests ({:.2} per video)",
        dispatched - before,
        per(dispatched - before)
    );
    println!(
        "  worker (incl. receive/ack): {} requests ({:.2} per video)",
        after - dispatched,
        per(after - dispatched)
    );
    println!(
        "  total: {:.2} AWS requests per deleted video",
        per(after - before)
    );
    Ok(())
}

async fn seed(host: &AwsHost, videos: usize, comments: usize) -> anyhow::Result<Vec<Video>> {
    let author = UserId::new();
    let mut made = Vec::new();
    for i in 0..videos {
        let mut video = Video::new_pending(
            VideoId::new(),
            author,
            UserName::parse("alice")?,
            VideoName::parse(&format!("v{i}"))?,
            Timestamp::now(),
        );
        video.status = VideoStatus::Ready;
        video.size = 5;
        video.content_type = Some("video/mp4".into());
        host.adapters.videos.create(&video).await?;
        host.clients
            .s3
            .put_object()
            .bucket(host.adapters.blobs.bucket())
            .key(object_key(&video.id))
            .body(b"bytes".to_vec().into())
            .send()
            .await?;
        for n in 0..comments {
            let comment = Comment {
                id: CommentId::new(),
                video_id: video.id,
                author_id: author,
                author: UserName::parse("alice")?,
                content: CommentContent::parse(&format!("c{n}"))?,
                time: Timestamp::now(),
            };
            host.adapters.comments.create(&comment).await?;
        }
        made.push(video);
    }
    Ok(made)
}

/// Requests moto has logged so far (one access-log line each).
fn requests(log: &std::path::Path) -> anyhow::Result<usize> {
    let lines = BufReader::new(std::fs::File::open(log)?).lines();
    Ok(lines
        .map_while(Result::ok)
        .filter(|l| {
            l.contains("\"GET ")
                || l.contains("\"POST ")
                || l.contains("\"PUT ")
                || l.contains("\"DELETE ")
                || l.contains("\"HEAD ")
        })
        .count())
}
