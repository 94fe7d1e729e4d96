//! Benchmark (not a test): 10,000 video deletions through the embedded pipeline, from
//! the dispatcher's first pass to the last worker acknowledgement, with the local server's
//! settings (SQLite WAL with synchronous=FULL, batches of 10 processed concurrently).
//!
//! Run: `cargo run --release -p reel-server --example deletion_bench [-- COUNT]`

use reel_core::domain::*;
use reel_core::jobs::{Dispatcher, Worker};
use reel_core::ports::{Comments, Deletions, Queue, Users, Videos};
use reel_core::signing::Signer;
use reel_embedded::{load_or_create_key, LocalBlobs, SqliteQueue, SqliteStore};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("reel.db"))?);
    let blobs = Arc::new(LocalBlobs::open(
        dir.path(),
        Signer::new(load_or_create_key(dir.path())?),
        60,
        60,
    )?);
    let queue = Arc::new(SqliteQueue::new((*store).clone(), 5));
    let author = (UserId::new(), UserName::parse("bench")?);
    // Bytes make a video ready only while its author's account is live.
    let account = User {
        id: author.0,
        name: author.1.clone(),
        password_hash: PasswordHash::from_stored("$argon2id$bench".into()),
        created: Timestamp::now(),
        disabled: false,
    };
    Users::create(&*store, &account).await?;
    let mp4 = VideoContentType::parse("video/mp4")?;

    let setup = Instant::now();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let video = Video::new_pending(
            VideoId::new(),
            author.0,
            author.1.clone(),
            VideoName::parse(&format!("video {i}"))?,
            Timestamp::now(),
        );
        Videos::create(&*store, &video).await?;
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![
                7u8;
                1024
            ]))]);
        blobs.write(&video.id, body, 1024).await?;
        store
            .mark_ready(
                &video.id,
                1024,
                &mp4,
                &reel_core::domain::MediaInfo::default(),
            )
            .await?;
        for c in 0..2 {
            let comment = Comment {
                id: CommentId::new(),
                video_id: video.id,
                author_id: author.0,
                author: author.1.clone(),
                content: CommentContent::parse(&format!("comment {c}"))?,
                time: Timestamp::now(),
            };
            Comments::create(&*store, &comment).await?;
        }
        Videos::delete(&*store, &video, Timestamp::now()).await?;
        ids.push(video.id);
    }
    println!(
        "setup: {count} videos (1 KiB object, 2 comments each) deleted by users in {:.1?}",
        setup.elapsed()
    );

    let dispatcher = Dispatcher::new(store.clone(), queue.clone(), 600);
    let worker = Worker::new(blobs.clone(), store.clone(), store.clone());
    let started = Instant::now();
    let sent = dispatcher.run_once(Timestamp::now()).await?;
    let dispatched = started.elapsed();
    let mut batches = 0;
    loop {
        let batch = queue.receive(10, 30).await?;
        if batch.is_empty() {
            break;
        }
        let outcome = worker.process_batch(&batch).await;
        anyhow::ensure!(outcome.failed.is_empty(), "deletions failed");
        for ack_handle in &outcome.done {
            queue.ack(ack_handle).await?;
        }
        batches += 1;
    }
    let total = started.elapsed();
    let left = Deletions::list(
        &*store,
        Timestamp::from_micros(i64::MAX),
        None,
        Limit::parse("1")?,
    )
    .await?;
    anyhow::ensure!(
        left.is_empty() && std::fs::read_dir(dir.path().join("blobs"))?.count() == 0,
        "leftovers"
    );
    println!("dispatch: {sent} records sent in batches of 10 in {dispatched:.1?}");
    println!(
        "pipeline: {count} deletions ({batches} batches) in {total:.2?} = {:.0} deletions/s, {:.2} ms each",
        count as f64 / total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / count as f64
    );
    Ok(())
}
