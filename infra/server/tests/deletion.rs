//! The deletion pipeline on both hosts' adapters: dispatcher → queue → worker, on the
//! embedded store (durable SQLite queue) and on AWS's (DynamoDB, S3, SQS on moto, with
//! the worker fed the messages it receives from the moto queue).

use async_trait::async_trait;
use reel_aws::S3Blobs;
use reel_core::domain::*;
use reel_core::jobs::{Dispatcher, Worker};
use reel_core::ports::*;
use reel_core::signing::Signer;
use reel_embedded::{load_or_create_key, LocalBlobs, SqliteQueue, SqliteStore};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[path = "support/aws.rs"]
mod aws_support;

/// A blob store that fails to delete the objects of chosen videos (fault injection).
struct FailingBlobs {
    inner: Arc<dyn Blobs>,
    fail_for: Mutex<HashSet<VideoId>>,
}

#[async_trait]
impl Blobs for FailingBlobs {
    async fn read_range(&self, video: &VideoId, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        self.inner.read_range(video, offset, len).await
    }
    async fn read_poster_head(&self, video: &VideoId, len: u64) -> StoreResult<Option<Vec<u8>>> {
        self.inner.read_poster_head(video, len).await
    }
    async fn delete_poster(&self, video: &VideoId) -> StoreResult<()> {
        self.inner.delete_poster(video).await
    }
    async fn delete(&self, video: &VideoId) -> StoreResult<()> {
        if self.fail_for.lock().unwrap().contains(video) {
            let injected = anyhow::anyhow!("injected failure deleting {video}");
            return Err(StoreError::Other(injected));
        }
        self.inner.delete(video).await
    }
}

/// Deletion records whose sweep of deleted accounts fails (fault injection); the rest
/// is the store's own.
struct FailingSweep(Arc<dyn Deletions>);

#[async_trait]
impl Deletions for FailingSweep {
    async fn list(
        &self,
        due_before: Timestamp,
        after: Option<&VideoId>,
        limit: Limit,
    ) -> StoreResult<Vec<DeletionRecord>> {
        self.0.list(due_before, after, limit).await
    }
    async fn mark_dispatched(&self, videos: &[VideoId], at: Timestamp) -> StoreResult<()> {
        self.0.mark_dispatched(videos, at).await
    }
    async fn remove(&self, video: &VideoId) -> StoreResult<()> {
        self.0.remove(video).await
    }
    async fn count(&self) -> StoreResult<u64> {
        self.0.count().await
    }
    async fn sweep_deleted_accounts(&self, _settled_before: Timestamp) -> StoreResult<u64> {
        Err(StoreError::Other(anyhow::anyhow!("injected sweep failure")))
    }
}

/// Writing and finding objects behind the adapters' back, per store.
#[async_trait]
trait Objects: Send + Sync {
    async fn put(&self, video: &VideoId, bytes: &'static [u8]);
    async fn exists(&self, video: &VideoId) -> bool;
}

#[async_trait]
impl Objects for LocalBlobs {
    async fn put(&self, video: &VideoId, bytes: &'static [u8]) {
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(bytes))]);
        self.write(video, body, bytes.len() as u64).await.unwrap();
    }
    async fn exists(&self, video: &VideoId) -> bool {
        self.open_for_read(video).await.unwrap().is_some()
    }
}

/// S3 through the SDK, the way a client's presigned PUT would land.
struct S3Objects {
    client: aws_sdk_s3::Client,
    blobs: Arc<S3Blobs>,
}

#[async_trait]
impl Objects for S3Objects {
    async fn put(&self, video: &VideoId, bytes: &'static [u8]) {
        self.client
            .put_object()
            .bucket(self.blobs.bucket())
            .key(reel_aws::object_key(video))
            .content_type("video/mp4")
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap();
    }
    async fn exists(&self, video: &VideoId) -> bool {
        self.blobs.head(video).await.unwrap().is_some()
    }
}

struct Fixture {
    users: Arc<dyn Users>,
    videos: Arc<dyn Videos>,
    comments: Arc<dyn Comments>,
    deletions: Arc<dyn Deletions>,
    objects: Arc<dyn Objects>,
    blobs: Arc<FailingBlobs>,
    queue: Arc<dyn Queue>,
    dispatcher: Dispatcher,
    worker: Worker,
    author: User,
    _keep: Box<dyn std::any::Any + Send>,
}

const MAX_RECEIVES: u32 = 3;
const GRACE: i64 = 600;

fn author() -> User {
    User {
        id: UserId::new(),
        name: UserName::parse("alice").unwrap(),
        password_hash: PasswordHash::from_stored("x".into()),
        created: Timestamp::now(),
        disabled: false,
    }
}

impl Fixture {
    async fn local() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("reel.db")).unwrap());
        let key = load_or_create_key(dir.path()).unwrap();
        let local_blobs = Arc::new(LocalBlobs::open(dir.path(), Signer::new(key), 60, 60).unwrap());
        let blobs = Arc::new(FailingBlobs {
            inner: local_blobs.clone(),
            fail_for: Mutex::default(),
        });
        let queue = Arc::new(SqliteQueue::new((*store).clone(), MAX_RECEIVES));
        let fixture = Self {
            users: store.clone(),
            videos: store.clone(),
            comments: store.clone(),
            deletions: store.clone(),
            objects: local_blobs,
            dispatcher: Dispatcher::new(store.clone(), queue.clone(), GRACE),
            worker: Worker::new(blobs.clone(), store.clone(), store.clone()),
            blobs,
            queue,
            author: author(),
            _keep: Box::new(dir),
        };
        fixture.with_author().await
    }

    async fn aws() -> Self {
        let mut config = aws_support::settings();
        config.deletion.queue_max_receives = MAX_RECEIVES.try_into().unwrap();
        config.deletion.grace = std::time::Duration::from_secs(GRACE as u64);
        let host = aws_support::provisioned_host(&config).await;
        let a = host.adapters.clone();
        let blobs = Arc::new(FailingBlobs {
            inner: a.blobs.clone(),
            fail_for: Mutex::default(),
        });
        let fixture = Self {
            users: a.users.clone(),
            videos: a.videos.clone(),
            comments: a.comments.clone(),
            deletions: a.deletions.clone(),
            objects: Arc::new(S3Objects {
                client: host.clients.s3.clone(),
                blobs: a.blobs.clone(),
            }),
            dispatcher: host.dispatcher(),
            worker: Worker::new(blobs.clone(), a.comments.clone(), a.deletions.clone()),
            blobs,
            queue: a.queue.clone(),
            author: author(),
            _keep: Box::new(()),
        };
        fixture.with_author().await
    }

    /// The author's account: bytes make a video ready only while it is live.
    async fn with_author(self) -> Self {
        self.users.create(&self.author).await.unwrap();
        self
    }

    /// Deletes the video as the API does: the video read, then deleted.
    async fn delete_video(&self, id: &VideoId) -> bool {
        let video = self
            .videos
            .get(id)
            .await
            .unwrap()
            .expect("the video exists");
        self.videos.delete(&video, Timestamp::now()).await.unwrap()
    }

    /// A ready video with stored bytes and `comments` comments.
    async fn video_with_comments(&self, comments: usize) -> VideoId {
        let video = Video::new_pending(
            VideoId::new(),
            self.author.id,
            self.author.name.clone(),
            VideoName::parse("clip").unwrap(),
            Timestamp::now(),
        );
        self.videos.create(&video).await.unwrap();
        self.objects.put(&video.id, b"video bytes").await;
        let mp4 = VideoContentType::parse("video/mp4").unwrap();
        self.videos
            .mark_ready(
                &video.id,
                11,
                &mp4,
                &reel_core::domain::MediaInfo::default(),
            )
            .await
            .unwrap();
        for i in 0..comments {
            let c = Comment {
                id: CommentId::new(),
                video_id: video.id,
                author_id: self.author.id,
                author: self.author.name.clone(),
                content: CommentContent::parse(&format!("comment {i}")).unwrap(),
                time: Timestamp::now(),
            };
            self.comments.create(&c).await.unwrap();
        }
        video.id
    }

    async fn leftovers(&self, video: &VideoId) -> (bool, usize, bool) {
        let blob = self.objects.exists(video).await;
        let comments = self
            .comments
            .list(
                video,
                TimeWindow::default(),
                None,
                Limit::parse("100").unwrap(),
            )
            .await
            .unwrap()
            .items
            .len();
        let far = Timestamp::from_micros(i64::MAX);
        let record = self
            .deletions
            .list(far, None, Limit::parse("100").unwrap())
            .await
            .unwrap()
            .iter()
            .any(|r| &r.video_id == video);
        (blob, comments, record)
    }

    /// Receives and processes until the queue has nothing visible (visibility 0, so
    /// failures come straight back), as the worker loop would.
    async fn drain(&self) -> usize {
        let mut rounds = 0;
        loop {
            let batch = self.queue.receive(10, 0).await.unwrap();
            if batch.is_empty() {
                return rounds;
            }
            let outcome = self.worker.process_batch(&batch).await;
            for ack_handle in &outcome.done {
                self.queue.ack(ack_handle).await.unwrap();
            }
            rounds += 1;
            assert!(rounds < 100, "the queue never drained");
        }
    }
}

async fn deleted_videos_leave_nothing_behind_and_others_are_untouched(f: Fixture) {
    let mut doomed = Vec::new();
    for _ in 0..25 {
        doomed.push(f.video_with_comments(3).await);
    }
    let kept = f.video_with_comments(2).await;
    for v in &doomed {
        assert!(f.delete_video(v).await);
    }
    let now = Timestamp::now();
    assert_eq!(
        f.dispatcher.run_once(now).await.unwrap(),
        25,
        "batches of 10, 10, 5"
    );
    assert_eq!(
        f.dispatcher.run_once(now).await.unwrap(),
        0,
        "nothing is re-sent within the grace period"
    );
    f.drain().await;
    for v in &doomed {
        assert_eq!(f.leftovers(v).await, (false, 0, false), "{v}");
    }
    assert_eq!(f.leftovers(&kept).await, (true, 2, false));
    assert_eq!(f.queue.depth().await.unwrap().dead_letters, 0);
}

async fn a_failing_deletion_is_retried_then_dead_lettered_while_the_rest_completes(f: Fixture) {
    let mut videos = Vec::new();
    for _ in 0..5 {
        let v = f.video_with_comments(2).await;
        f.delete_video(&v).await;
        videos.push(v);
    }
    let poisoned = videos[2];
    f.blobs.fail_for.lock().unwrap().insert(poisoned);
    f.dispatcher.run_once(Timestamp::now()).await.unwrap();

    let first = f.queue.receive(10, 0).await.unwrap();
    let outcome = f.worker.process_batch(&first).await;
    let failed: Vec<_> = first
        .iter()
        .filter(|m| outcome.failed.contains(&m.ack_handle))
        .map(|m| m.body.clone())
        .collect();
    assert_eq!(
        failed,
        vec![poisoned.to_string()],
        "only the failing item is reported"
    );
    assert_eq!(outcome.done.len(), 4);
    for ack_handle in &outcome.done {
        f.queue.ack(ack_handle).await.unwrap();
    }
    let rounds = f.drain().await;
    assert_eq!(
        rounds as u32,
        MAX_RECEIVES - 1,
        "retried until the maximum number of receives"
    );
    assert_eq!(
        f.queue.depth().await.unwrap().dead_letters,
        1,
        "then dead-lettered"
    );
    for v in videos.iter().filter(|v| **v != poisoned) {
        assert_eq!(f.leftovers(v).await, (false, 0, false));
    }
    // Nothing of the poisoned video was lost: its record waits, and once the cause is
    // fixed a dispatch after the grace period finishes the job.
    assert_eq!(f.leftovers(&poisoned).await, (true, 2, true));
    f.blobs.fail_for.lock().unwrap().clear();
    let later = Timestamp::now().plus_seconds(GRACE + 1);
    assert_eq!(f.dispatcher.run_once(later).await.unwrap(), 1);
    f.drain().await;
    assert_eq!(f.leftovers(&poisoned).await, (false, 0, false));
}

/// The sweep of deleted accounts failing (on AWS: a missing grant, a throttled index)
/// must not stall every other deletion: the due records are sent, then the pass fails.
async fn a_failing_sweep_does_not_hold_up_the_dispatch(f: Fixture) {
    let v = f.video_with_comments(1).await;
    f.delete_video(&v).await;
    let failing = Arc::new(FailingSweep(f.deletions.clone()));
    let dispatcher = Dispatcher::new(failing, f.queue.clone(), GRACE);
    let error = dispatcher.run_once(Timestamp::now()).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("injected sweep failure"),
        "{error:#}"
    );
    assert_eq!(f.drain().await, 1, "the due deletion was sent anyway");
    assert_eq!(f.leftovers(&v).await, (false, 0, false));
}

async fn the_worker_is_idempotent_and_refuses_malformed_messages(f: Fixture) {
    let v = f.video_with_comments(4).await;
    f.delete_video(&v).await;
    // A partial earlier run: the object is already gone, comments and record remain.
    f.blobs.delete(&v).await.unwrap();
    f.worker.delete_video(&v).await.unwrap();
    assert_eq!(f.leftovers(&v).await, (false, 0, false));
    f.worker.delete_video(&v).await.unwrap();
    let junk = QueueMessage {
        ack_handle: "1:1".into(),
        body: "../../etc/passwd".into(),
        receive_count: 1,
    };
    let outcome = f.worker.process_batch(&[junk]).await;
    assert_eq!((outcome.done.len(), outcome.failed.len()), (0, 1));
}

async fn deleting_an_account_runs_its_videos_through_the_pipeline(f: Fixture) {
    let videos = [
        f.video_with_comments(1).await,
        f.video_with_comments(1).await,
    ];
    f.users
        .delete_account(&f.author, Timestamp::now(), None)
        .await
        .unwrap();
    f.dispatcher.run_once(Timestamp::now()).await.unwrap();
    f.drain().await;
    for v in &videos {
        assert_eq!(f.leftovers(v).await, (false, 0, false));
    }
}

/// Every check above, once per host's adapters.
macro_rules! pipeline_suite {
    ($module:ident, $fixture:expr) => {
        mod $module {
            use super::*;
            pipeline_suite!(@tests $fixture; deleted_videos_leave_nothing_behind_and_others_are_untouched,
                a_failing_deletion_is_retried_then_dead_lettered_while_the_rest_completes,
                the_worker_is_idempotent_and_refuses_malformed_messages,
                a_failing_sweep_does_not_hold_up_the_dispatch,
                deleting_an_account_runs_its_videos_through_the_pipeline);
        }
    };
    (@tests $fixture:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                super::$check($fixture.await).await;
            }
        )*
    };
}

pipeline_suite!(local, Fixture::local());
pipeline_suite!(aws, Fixture::aws());
