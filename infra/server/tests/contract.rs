//! The ports' contract: one suite, run against every adapter set. The embedded adapters
//! run it here; the AWS adapters (on a moto server) run the same functions.

use reel_aws::{provision, AwsAdapters, AwsClients};
use reel_core::domain::*;
use reel_core::ports::*;
use reel_core::signing::Signer;
use reel_embedded::{load_or_create_key, LocalBlobs, SqliteQueue, SqliteStore};
use std::sync::Arc;

pub struct Ports {
    pub users: Arc<dyn Users>,
    pub sessions: Arc<dyn Sessions>,
    pub videos: Arc<dyn Videos>,
    pub comments: Arc<dyn Comments>,
    pub deletions: Arc<dyn Deletions>,
    pub blobs: Arc<dyn Blobs>,
    pub blob_urls: Arc<dyn BlobUrls>,
    /// Configured with a maximum of `MAX_RECEIVES` receives before the dead-letter queue.
    pub queue: Arc<dyn Queue>,
    /// Stores an object as a client's upload would (a video's bytes, or with `true` its
    /// poster): the object store's own write, which no port has.
    pub put_object: PutObject,
    pub multipart: Arc<dyn MultipartStore>,
    /// Stores a part as a client would: on S3 a PUT to the URL `blob_urls` signs for
    /// it; locally what the byte endpoint does with such a PUT. Returns its ETag.
    pub put_part: PutPart,
    _keep: Box<dyn std::any::Any + Send>,
}

type PutPart = Box<
    dyn Fn(
            VideoId,
            UploadId,
            PartNumber,
            Vec<u8>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>
        + Send
        + Sync,
>;

type PutObject = Box<
    dyn Fn(
            VideoId,
            Vec<u8>,
            bool,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

async fn local_ports() -> Ports {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("reel.db")).unwrap());
    let key = load_or_create_key(dir.path()).unwrap();
    let blobs = Arc::new(LocalBlobs::open(dir.path(), Signer::new(key), 60, 60).unwrap());
    let multipart = Arc::new(reel_embedded::LocalMultipart {
        blobs: blobs.clone(),
        videos: store.clone(),
        uploading: Default::default(),
        clock: Arc::new(reel_core::clock::SystemClock),
    });
    let part_blobs = blobs.clone();
    Ports {
        multipart,
        put_part: Box::new(move |video, upload, part, bytes| {
            let blobs = part_blobs.clone();
            Box::pin(async move {
                let len = bytes.len() as u64;
                let body = futures_util::stream::iter([Ok::<_, std::io::Error>(
                    bytes::Bytes::from(bytes),
                )]);
                blobs
                    .write_part(&video, &upload, part, len, body)
                    .await
                    .unwrap()
                    .expect("the upload exists")
            })
        }),
        users: store.clone(),
        sessions: store.clone(),
        videos: store.clone(),
        comments: store.clone(),
        deletions: store.clone(),
        blobs: blobs.clone(),
        blob_urls: blobs.clone(),
        queue: Arc::new(SqliteQueue::new((*store).clone(), MAX_RECEIVES)),
        put_object: Box::new(move |video, bytes, poster| {
            let blobs = blobs.clone();
            Box::pin(async move {
                if poster {
                    blobs.write_poster(&video, bytes.into()).await.unwrap();
                } else {
                    let len = bytes.len() as u64;
                    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(
                        bytes::Bytes::from(bytes),
                    )]);
                    blobs.write(&video, body, len).await.unwrap();
                }
            })
        }),
        _keep: Box::new(dir),
    }
}

#[path = "support/aws.rs"]
mod aws_support;

/// The AWS adapters on the shared moto server, on tables, bucket and queues of their own.
async fn aws_ports() -> Ports {
    let mut config = aws_support::settings();
    config.deletion.queue_max_receives = MAX_RECEIVES.try_into().unwrap();
    config.api.upload_url_ttl = std::time::Duration::from_secs(60);
    config.api.stream_url_ttl = std::time::Duration::from_secs(60);
    let sdk = aws_support::moto_sdk().await;
    let clients = AwsClients::new(&sdk);
    provision(&clients, &config).await.unwrap();
    let aws = AwsAdapters::new(&sdk, &clients, &config).unwrap();
    let urls = aws.urls.clone();
    Ports {
        multipart: aws.multipart,
        put_part: Box::new(move |video, upload, part, bytes| {
            let urls = urls.clone();
            Box::pin(async move {
                let len = bytes.len() as u64;
                let signed = urls
                    .presign_part(&video, &upload, part, len, Timestamp::now())
                    .await
                    .unwrap();
                let reply = reqwest::Client::new()
                    .put(&signed.url)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                assert!(reply.status().is_success(), "{}", reply.status());
                reply.headers()["etag"].to_str().unwrap().to_owned()
            })
        }),
        users: aws.users,
        sessions: aws.sessions,
        videos: aws.videos,
        comments: aws.comments,
        deletions: aws.deletions,
        blobs: aws.blobs,
        blob_urls: aws.urls,
        queue: aws.queue,
        put_object: Box::new(move |video, bytes, poster| {
            let (s3, bucket) = (clients.s3.clone(), config.aws.bucket.clone());
            Box::pin(async move {
                let key = if poster {
                    reel_aws::poster_key(&video)
                } else {
                    reel_aws::object_key(&video)
                };
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(bytes.into())
                    .send()
                    .await
                    .unwrap();
            })
        }),
        _keep: Box::new(()),
    }
}

const MAX_RECEIVES: u32 = 3;

/// A `dispatched_before` that includes every pending record.
fn any_time() -> Timestamp {
    Timestamp::from_micros(i64::MAX)
}

fn user(name: &str) -> User {
    User {
        id: UserId::new(),
        name: UserName::parse(name).unwrap(),
        password_hash: PasswordHash::from_stored("$argon2id$stub".into()),
        created: Timestamp::now(),
        disabled: false,
    }
}

fn video(author: &User, name: &str, at: Timestamp) -> Video {
    Video::new_pending(
        VideoId::new(),
        author.id,
        author.name.clone(),
        VideoName::parse(name).unwrap(),
        at,
    )
}

fn comment(video: &Video, author: &User, text: &str, at: Timestamp) -> Comment {
    Comment {
        id: CommentId::new(),
        video_id: video.id,
        author_id: author.id,
        author: author.name.clone(),
        content: CommentContent::parse(text).unwrap(),
        time: at,
    }
}

fn limit(n: u32) -> Limit {
    Limit::parse(&n.to_string()).unwrap()
}

pub async fn user_names_are_unique(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let again = user("alice");
    assert!(matches!(
        p.users.create(&again).await,
        Err(StoreError::Conflict)
    ));
    let found = p.users.by_name(&alice.name).await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.password_hash),
        (alice.id, alice.password_hash)
    );
    assert!(p
        .users
        .by_name(&UserName::parse("nobody").unwrap())
        .await
        .unwrap()
        .is_none());
}

pub async fn sessions_expire_and_end(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let now = Timestamp::now();
    let (live, stale) = (
        SessionId::generate_for(&alice.name),
        SessionId::generate_for(&alice.name),
    );
    let session = |expires| Session {
        user_id: alice.id,
        user_name: alice.name.clone(),
        expires,
    };
    p.sessions
        .create(&live, &session(now.plus_seconds(60)))
        .await
        .unwrap();
    p.sessions
        .create(&stale, &session(now.plus_seconds(-1)))
        .await
        .unwrap();
    assert_eq!(
        p.sessions.get(&live, now).await.unwrap().unwrap().user_id,
        alice.id
    );
    assert!(
        p.sessions.get(&stale, now).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        p.sessions
            .get(&live, now.plus_seconds(61))
            .await
            .unwrap()
            .is_none(),
        "checked on read"
    );
    assert!(p
        .sessions
        .get(&SessionId::generate_for(&alice.name), now)
        .await
        .unwrap()
        .is_none());
    p.sessions.delete(&live).await.unwrap();
    assert!(p.sessions.get(&live, now).await.unwrap().is_none());
}

/// Attempts count per (name, client) and window; a released attempt no longer counts.
pub async fn sign_in_attempts_are_reserved_per_pair_and_window(p: Ports) {
    let (alice, bob) = (
        UserName::parse("alice").unwrap(),
        UserName::parse("bob").unwrap(),
    );
    let w0 = Window::containing(Timestamp::from_unix_seconds(9_000), 900);
    let w1 = Window::containing(Timestamp::from_unix_seconds(9_900), 900);
    let reserve = |name: &UserName, client: &'static str, window: Window| {
        let (sessions, name) = (p.sessions.clone(), name.clone());
        async move {
            sessions
                .reserve_attempt(&name, client, window, window.start.plus_seconds(1), 3)
                .await
                .unwrap()
        }
    };
    let mut taken = Vec::new();
    for _ in 0..3 {
        taken.push(
            reserve(&alice, "1.2.3.4", w0)
                .await
                .expect("under the limit"),
        );
    }
    assert_eq!(
        reserve(&alice, "1.2.3.4", w0).await,
        None,
        "the fourth is refused"
    );
    assert!(
        reserve(&alice, "5.6.7.8", w0).await.is_some(),
        "another address"
    );
    assert!(reserve(&bob, "1.2.3.4", w0).await.is_some(), "another name");
    assert!(
        reserve(&alice, "1.2.3.4", w1).await.is_some(),
        "the next window"
    );
    p.sessions.release_attempt(&taken[0]).await.unwrap();
    assert!(
        reserve(&alice, "1.2.3.4", w0).await.is_some(),
        "a released attempt is free again"
    );
    assert_eq!(reserve(&alice, "1.2.3.4", w0).await, None);
}

/// 60 reservations at once for one pair: exactly the limit succeed.
pub async fn parallel_reservations_never_exceed_the_limit(p: Ports) {
    let name = UserName::parse("alice").unwrap();
    let window = Window::containing(Timestamp::now(), 900);
    let now = window.start.plus_seconds(1);
    let tries = (0..60).map(|_| {
        let (sessions, name) = (p.sessions.clone(), name.clone());
        tokio::spawn(async move {
            sessions
                .reserve_attempt(&name, "1.2.3.4", window, now, 10)
                .await
                .unwrap()
        })
    });
    let results = futures_util::future::join_all(tries).await;
    let granted = results
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_some())
        .count();
    assert_eq!(granted, 10);
}

/// A session is bound to its account's id: deleting the account, re-creating the name,
/// or disabling the account ends it, though its row may linger.
pub async fn sessions_end_with_their_account(p: Ports) {
    session_ends_with_its_account(p, SessionId::generate_for).await;
}

/// The same, for a session whose id was issued before ids named their user (the store
/// reads its account apart).
pub async fn sessions_with_ids_that_name_no_account_end_with_it_too(p: Ports) {
    session_ends_with_its_account(p, |_| legacy_session_id()).await;
}

async fn session_ends_with_its_account(p: Ports, new_id: impl Fn(&UserName) -> SessionId) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let now = Timestamp::now();
    let session = Session {
        user_id: alice.id,
        user_name: alice.name.clone(),
        expires: now.plus_seconds(600),
    };
    let id = new_id(&alice.name);
    p.sessions.create(&id, &session).await.unwrap();
    assert!(p.sessions.get(&id, now).await.unwrap().is_some());

    // Disabled after the session was made (as a racing sign-in would leave it).
    p.users.set_disabled(&alice.name, true).await.unwrap();
    p.sessions.create(&id, &session).await.unwrap();
    assert!(
        p.sessions.get(&id, now).await.unwrap().is_none(),
        "disabled"
    );
    p.users.set_disabled(&alice.name, false).await.unwrap();
    assert!(
        p.sessions.get(&id, now).await.unwrap().is_some(),
        "enabled again"
    );

    // Deleted, then the name taken by someone else: the old session is not theirs.
    p.users.delete_account(&alice, now, None).await.unwrap();
    p.sessions.create(&id, &session).await.unwrap();
    assert!(p.sessions.get(&id, now).await.unwrap().is_none(), "deleted");
    let newcomer = user("alice");
    p.users.create(&newcomer).await.unwrap();
    assert!(
        p.sessions.get(&id, now).await.unwrap().is_none(),
        "the name's new owner is another account"
    );
}

/// A session id as issued before ids named their user: 32 random bytes alone.
fn legacy_session_id() -> SessionId {
    use base64::Engine;
    let mut random = [0u8; 32];
    random[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    random[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    SessionId::parse(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)).unwrap()
}

pub async fn videos_list_newest_first_in_pages(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    let t0 = Timestamp::from_unix_seconds(1_000_000);
    let mut made = Vec::new();
    for i in 0..5 {
        let v = video(&alice, &format!("v{i}"), t0.plus_seconds(i));
        p.videos.create(&v).await.unwrap();
        made.push(v.id);
    }
    // Same instant: the id breaks the tie, and paging must neither skip nor repeat.
    let twin = video(&alice, "twin", t0.plus_seconds(2));
    p.videos.create(&twin).await.unwrap();
    made.push(twin.id);
    p.videos.create(&video(&bob, "bob's", t0)).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = p
            .videos
            .list_by_author(&alice.id, Audience::Owner, after.as_ref(), limit(2))
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|v| (v.created, v.id)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "every video exactly once");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.to_string().cmp(&a.1.to_string())));
    assert_eq!(seen, sorted, "newest first");
    let all = p
        .videos
        .list_by_author(&alice.id, Audience::Owner, None, limit(100))
        .await
        .unwrap();
    assert_eq!((all.items.len(), all.next), (6, None));
    let none = p
        .videos
        .list_by_author(&UserId::new(), Audience::Owner, None, limit(10))
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

/// A video of `author` made `created` at `at`, with `visibility`, and made ready unless
/// `ready` is false.
async fn shared_video(
    p: &Ports,
    author: &User,
    name: &str,
    at: Timestamp,
    visibility: Visibility,
    ready: bool,
) -> Video {
    let mut v = video(author, name, at);
    v.visibility = visibility;
    p.videos.create(&v).await.unwrap();
    if ready {
        let mp4 = VideoContentType::parse("video/mp4").unwrap();
        assert!(p
            .videos
            .mark_ready(&v.id, 10, &mp4, &MediaInfo::default())
            .await
            .unwrap());
    }
    p.videos.get(&v.id).await.unwrap().unwrap()
}

/// Every page of a list, followed to its end (a store that filters after reading may
/// give short pages), as names.
async fn whole_list<F, Fut>(mut page: F) -> Vec<String>
where
    F: FnMut(Option<SortKey>) -> Fut,
    Fut: std::future::Future<Output = Page<Video, SortKey>>,
{
    let mut names = Vec::new();
    let mut after = None;
    for _ in 0..50 {
        let got = page(after.clone()).await;
        names.extend(got.items.iter().map(|v| v.name.as_str().to_owned()));
        match got.next {
            Some(next) => after = Some(next),
            None => return names,
        }
    }
    panic!("a list that never ends");
}

async fn feed_names(p: &Ports) -> Vec<String> {
    whole_list(|after| async move { p.videos.list_feed(after.as_ref(), limit(2)).await.unwrap() })
        .await
}

/// The feed holds every author's ready public videos and nothing else, newest first
/// in pages; it follows edits, readiness, deletions and account deletions at once.
pub async fn the_feed_holds_ready_public_videos_newest_first(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let t = Timestamp::now();
    use Visibility::*;
    shared_video(&p, &alice, "a1", t.plus_seconds(1), Public, true).await;
    shared_video(&p, &bob, "b2", t.plus_seconds(2), Public, true).await;
    let a3 = shared_video(&p, &alice, "a3", t.plus_seconds(3), Public, true).await;
    let pending = shared_video(&p, &alice, "pending", t.plus_seconds(4), Public, false).await;
    let internal = shared_video(&p, &alice, "internal", t.plus_seconds(5), Internal, true).await;
    shared_video(&p, &alice, "unlisted", t.plus_seconds(6), Unlisted, true).await;
    shared_video(&p, &alice, "private", t.plus_seconds(7), Private, true).await;
    assert_eq!(feed_names(&p).await, ["a3", "b2", "a1"]);

    // A public video joins when its bytes land; an edit moves a video in or out.
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    assert!(p
        .videos
        .mark_ready(&pending.id, 10, &mp4, &MediaInfo::default())
        .await
        .unwrap());
    let publish = VideoChanges {
        visibility: Some(Public),
        ..Default::default()
    };
    let edited = p.videos.update_details(&internal, &publish).await.unwrap();
    assert_eq!(edited.map(|v| v.visibility), Some(Public));
    let hide = VideoChanges {
        visibility: Some(Private),
        ..Default::default()
    };
    p.videos.update_details(&a3, &hide).await.unwrap().unwrap();
    assert_eq!(feed_names(&p).await, ["internal", "pending", "b2", "a1"]);

    // Deleting a video, or its author's account, takes it out at once.
    let pending = p.videos.get(&pending.id).await.unwrap().unwrap();
    assert!(p.videos.delete(&pending, Timestamp::now()).await.unwrap());
    p.users
        .delete_account(&bob, Timestamp::now(), None)
        .await
        .unwrap();
    assert_eq!(feed_names(&p).await, ["internal", "a1"]);
}

/// An author's list as each audience sees it ([`Audience::shows`]): everything for the
/// owner; ready public and internal videos for another signed-in user; ready public
/// ones for anyone else.
pub async fn author_lists_show_each_audience_its_videos(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let t = Timestamp::now();
    use Visibility::*;
    for (i, (name, visibility, ready)) in [
        ("public", Public, true),
        ("unlisted", Unlisted, true),
        ("internal", Internal, true),
        ("private", Private, true),
        ("public-pending", Public, false),
        ("internal-2", Internal, true),
    ]
    .into_iter()
    .enumerate()
    {
        shared_video(
            &p,
            &alice,
            name,
            t.plus_seconds(i as i64),
            visibility,
            ready,
        )
        .await;
    }
    let list = |audience| {
        let (p, alice) = (&p, &alice);
        whole_list(move |after| async move {
            p.videos
                .list_by_author(&alice.id, audience, after.as_ref(), limit(2))
                .await
                .unwrap()
        })
    };
    assert_eq!(
        list(Audience::Owner).await,
        [
            "internal-2",
            "public-pending",
            "private",
            "internal",
            "unlisted",
            "public"
        ]
    );
    assert_eq!(
        list(Audience::SignedIn).await,
        ["internal-2", "internal", "public"]
    );
    assert_eq!(list(Audience::Anonymous).await, ["public"]);
    // Filtered or not, a page is full when there is enough to fill it.
    let first = p
        .videos
        .list_by_author(&alice.id, Audience::SignedIn, None, limit(2))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
}

/// An edit changes exactly the fields it names, and reads see it at once.
pub async fn edits_change_name_description_and_visibility(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let v = video(&alice, "clip", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    let got = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(
        (got.description.as_str(), got.visibility),
        ("", Visibility::Internal)
    );
    let changes = VideoChanges {
        name: Some(VideoName::parse("Holiday").unwrap()),
        description: Some(VideoDescription::parse("Day one.\nDay two.").unwrap()),
        visibility: None,
    };
    let edited = p
        .videos
        .update_details(&got, &changes)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            edited.name.as_str(),
            edited.description.as_str(),
            edited.visibility
        ),
        ("Holiday", "Day one.\nDay two.", Visibility::Internal)
    );
    let read = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(
        (read.name.as_str(), read.description.as_str()),
        ("Holiday", "Day one.\nDay two.")
    );
    let unlist = VideoChanges {
        visibility: Some(Visibility::Unlisted),
        ..Default::default()
    };
    let edited = p
        .videos
        .update_details(&read, &unlist)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (edited.name.as_str(), edited.visibility),
        ("Holiday", Visibility::Unlisted)
    );
    assert!(p.videos.delete(&edited, Timestamp::now()).await.unwrap());
    assert!(p
        .videos
        .update_details(&edited, &unlist)
        .await
        .unwrap()
        .is_none());
}

/// Upload URLs outlive accounts: bytes that land for a disabled account, for a deleted
/// one, or for a video whose author's name now belongs to a new account, make nothing
/// ready (issue 22, finding 7).
pub async fn bytes_of_a_disabled_or_deleted_account_make_nothing_ready(p: Ports) {
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let v = video(&alice, "clip", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    p.users.set_disabled(&alice.name, true).await.unwrap();
    assert!(
        !p.videos
            .mark_ready(&v.id, 10, &mp4, &reel_core::domain::MediaInfo::default())
            .await
            .unwrap(),
        "disabled"
    );
    let got = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(got.status, VideoStatus::Pending);
    p.users.set_disabled(&alice.name, false).await.unwrap();
    let w = video(&alice, "after", Timestamp::now());
    p.videos.create(&w).await.unwrap();
    assert!(
        p.videos
            .mark_ready(&w.id, 10, &mp4, &reel_core::domain::MediaInfo::default())
            .await
            .unwrap(),
        "enabled again"
    );

    // Deleted, and the name taken by someone else: the bytes are still not theirs.
    let bob = user("bob");
    p.users.create(&bob).await.unwrap();
    let b = video(&bob, "clip", Timestamp::now());
    p.videos.create(&b).await.unwrap();
    p.users
        .delete_account(&bob, Timestamp::now(), None)
        .await
        .unwrap();
    let new_bob = user("bob");
    p.users.create(&new_bob).await.unwrap();
    assert!(
        !p.videos
            .mark_ready(&b.id, 10, &mp4, &reel_core::domain::MediaInfo::default())
            .await
            .unwrap(),
        "deleted"
    );
}

/// What the per-user upload quotas count: an author's pending videos and the bytes
/// granted for them; a new grant replaces the video's earlier one; a video that turns
/// ready or is deleted leaves the count; another author's are not counted.
pub async fn pending_videos_and_their_grants_are_counted(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let usage = |videos, granted_bytes| PendingUsage {
        videos,
        granted_bytes,
    };
    let vs: Vec<Video> = (0..3)
        .map(|i| video(&alice, &format!("v{i}"), Timestamp::now()))
        .collect();
    for v in &vs {
        p.videos.create(v).await.unwrap();
    }
    p.videos
        .create(&video(&bob, "his", Timestamp::now()))
        .await
        .unwrap();
    assert_eq!(
        p.videos.pending_usage(&alice.id, None).await.unwrap(),
        usage(3, 0)
    );
    assert!(p.videos.record_grant(&vs[0].id, 100).await.unwrap());
    assert!(p.videos.record_grant(&vs[1].id, 50).await.unwrap());
    assert!(
        p.videos.record_grant(&vs[0].id, 70).await.unwrap(),
        "replaced"
    );
    assert_eq!(
        p.videos.pending_usage(&alice.id, None).await.unwrap(),
        usage(3, 120)
    );
    let except = p
        .videos
        .pending_usage(&alice.id, Some(&vs[0].id))
        .await
        .unwrap();
    assert_eq!(except, usage(2, 50));
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    assert!(p
        .videos
        .mark_ready(
            &vs[1].id,
            50,
            &mp4,
            &reel_core::domain::MediaInfo::default()
        )
        .await
        .unwrap());
    assert!(
        !p.videos.record_grant(&vs[1].id, 10).await.unwrap(),
        "ready: no grant"
    );
    assert!(p.videos.delete(&vs[2], Timestamp::now()).await.unwrap());
    assert!(
        !p.videos.record_grant(&vs[2].id, 10).await.unwrap(),
        "deleted: none"
    );
    assert_eq!(
        p.videos.pending_usage(&alice.id, None).await.unwrap(),
        usage(1, 70)
    );
    assert_eq!(
        p.videos.pending_usage(&bob.id, None).await.unwrap(),
        usage(1, 0)
    );
}

pub async fn videos_turn_ready_and_deleting_hides_and_records(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let v = video(&alice, "clip", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    let got = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.size, got.name.as_str()),
        (VideoStatus::Pending, 0, "clip")
    );
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    assert!(p
        .videos
        .mark_ready(&v.id, 1234, &mp4, &reel_core::domain::MediaInfo::default())
        .await
        .unwrap());
    let got = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.size, got.content_type.as_deref()),
        (VideoStatus::Ready, 1234, Some("video/mp4"))
    );

    let now = Timestamp::now();
    assert!(p.videos.delete(&v, now).await.unwrap());
    assert!(p.videos.get(&v.id).await.unwrap().is_none());
    assert!(p
        .videos
        .list_by_author(&alice.id, Audience::Owner, None, limit(10))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(
        !p.videos.delete(&v, now).await.unwrap(),
        "second delete finds nothing"
    );
    assert!(
        !p.videos
            .mark_ready(&v.id, 1, &mp4, &reel_core::domain::MediaInfo::default())
            .await
            .unwrap(),
        "a deleted video stays deleted"
    );
    let records = p.deletions.list(any_time(), None, limit(10)).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].video_id, records[0].author_id),
        (v.id, alice.id)
    );
    p.deletions.remove(&v.id).await.unwrap();
    assert!(p
        .deletions
        .list(any_time(), None, limit(10))
        .await
        .unwrap()
        .is_empty());
}

/// Records come in the store's own stable order (SQLite: by id; DynamoDB: scan order),
/// and paging with `after` neither skips nor repeats one.
pub async fn deletion_records_page_without_gaps(p: Ports) {
    let alice = user("alice");
    let mut ids = Vec::new();
    for i in 0..5 {
        let v = video(&alice, &format!("v{i}"), Timestamp::now());
        p.videos.create(&v).await.unwrap();
        p.videos.delete(&v, Timestamp::now()).await.unwrap();
        ids.push(v.id);
    }
    ids.sort_by_key(|id| id.to_string());
    let first = p.deletions.list(any_time(), None, limit(3)).await.unwrap();
    let rest = p
        .deletions
        .list(any_time(), Some(&first[2].video_id), limit(3))
        .await
        .unwrap();
    let mut listed: Vec<_> = first.iter().chain(&rest).map(|r| r.video_id).collect();
    assert_eq!(listed.len(), 5, "no repeats");
    listed.sort_by_key(|id| id.to_string());
    assert_eq!(listed, ids);
}

pub async fn comments_list_by_window_newest_first(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    let v = video(&alice, "clip", Timestamp::now());
    let other = video(&alice, "other", Timestamp::now());
    // Comments at 100.0 s, 100.5 s, 101.0 s, 102.999 s, 103.0 s.
    let micros = [
        100_000_000,
        100_500_000,
        101_000_000,
        102_999_000,
        103_000_000,
    ];
    let mut made = Vec::new();
    for (i, m) in micros.iter().enumerate() {
        let c = comment(
            &v,
            if i % 2 == 0 { &alice } else { &bob },
            &format!("c{i}"),
            Timestamp::from_micros(*m),
        );
        p.comments.create(&c).await.unwrap();
        made.push(c);
    }
    p.comments
        .create(&comment(
            &other,
            &bob,
            "elsewhere",
            Timestamp::from_micros(101_000_000),
        ))
        .await
        .unwrap();
    let texts = |page: &Page<Comment, SortKey>| {
        page.items
            .iter()
            .map(|c| c.content.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let all = p
        .comments
        .list(&v.id, TimeWindow::default(), None, limit(50))
        .await
        .unwrap();
    assert_eq!(texts(&all), ["c4", "c3", "c2", "c1", "c0"]);
    // from exclusive, to inclusive, at whole seconds: (100, 102] holds 101.0 and 102.999.
    let window = TimeWindow {
        from: Some(100),
        to: Some(102),
    };
    let some = p
        .comments
        .list(&v.id, window, None, limit(50))
        .await
        .unwrap();
    assert_eq!(texts(&some), ["c3", "c2"]);
    let up_to_100 = TimeWindow {
        from: None,
        to: Some(100),
    };
    assert_eq!(
        texts(
            &p.comments
                .list(&v.id, up_to_100, None, limit(50))
                .await
                .unwrap()
        ),
        ["c1", "c0"]
    );

    let first = p
        .comments
        .list(&v.id, TimeWindow::default(), None, limit(2))
        .await
        .unwrap();
    assert_eq!(texts(&first), ["c4", "c3"]);
    let second = p
        .comments
        .list(&v.id, TimeWindow::default(), first.next.as_ref(), limit(2))
        .await
        .unwrap();
    assert_eq!(texts(&second), ["c2", "c1"]);
    let third = p
        .comments
        .list(&v.id, TimeWindow::default(), second.next.as_ref(), limit(2))
        .await
        .unwrap();
    assert_eq!((texts(&third), third.next), (vec!["c0".to_owned()], None));

    let got = p.comments.get(&made[1].id).await.unwrap().unwrap();
    assert_eq!(
        (got.author_id, got.video_id, got.time),
        (bob.id, v.id, made[1].time)
    );
    assert!(p.comments.delete(&made[1]).await.unwrap());
    assert!(!p.comments.delete(&made[1]).await.unwrap());
    assert!(p.comments.get(&made[1].id).await.unwrap().is_none());
}

pub async fn deleting_an_account_schedules_its_videos(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let (a1, a2, b1) = (
        video(&alice, "a1", Timestamp::now()),
        video(&alice, "a2", Timestamp::now()),
        video(&bob, "b1", Timestamp::now()),
    );
    for v in [&a1, &a2, &b1] {
        p.videos.create(v).await.unwrap();
    }
    let sid = SessionId::generate_for(&alice.name);
    let session = Session {
        user_id: alice.id,
        user_name: alice.name.clone(),
        expires: Timestamp::now().plus_seconds(60),
    };
    p.sessions.create(&sid, &session).await.unwrap();

    let now = Timestamp::now();
    let mut scheduled = p.users.delete_account(&alice, now, None).await.unwrap();
    assert!(p.users.by_name(&alice.name).await.unwrap().is_none());
    assert!(
        p.sessions.get(&sid, now).await.unwrap().is_none(),
        "its sessions end at once"
    );
    // The videos are hidden by the deletion (which returns their ids) or by the sweep:
    // each once.
    let swept = p.deletions.sweep_deleted_accounts(now).await.unwrap();
    assert_eq!(scheduled.len() as u64 + swept, 2);
    if !scheduled.is_empty() {
        scheduled.sort_by_key(|v| v.to_string());
        let mut expected = vec![a1.id, a2.id];
        expected.sort_by_key(|v| v.to_string());
        assert_eq!(scheduled, expected);
    }
    assert!(p.videos.get(&a1.id).await.unwrap().is_none());
    assert!(
        p.videos.get(&b1.id).await.unwrap().is_some(),
        "other users untouched"
    );
    let records: Vec<_> = p
        .deletions
        .list(any_time(), None, limit(10))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.video_id)
        .collect();
    assert_eq!(records.len(), 2);
    assert!(records.contains(&a1.id) && records.contains(&a2.id));
}

async fn read(
    p: &Ports,
    now: Timestamp,
    id: &SessionId,
    item: PathItem<'_>,
) -> (Option<Session>, Found) {
    p.sessions.get_with(id, now, item).await.unwrap()
}

/// A session and the path's user or video, read together: each as its own read would
/// find it, whatever the other turns out to be.
pub async fn sessions_are_read_with_the_paths_user_or_video(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let now = Timestamp::now();
    let clip = video(&bob, "clip", now);
    p.videos.create(&clip).await.unwrap();
    let (live, stale) = (
        SessionId::generate_for(&alice.name),
        SessionId::generate_for(&alice.name),
    );
    let session = |expires| Session {
        user_id: alice.id,
        user_name: alice.name.clone(),
        expires,
    };
    p.sessions
        .create(&live, &session(now.plus_seconds(60)))
        .await
        .unwrap();
    p.sessions
        .create(&stale, &session(now.plus_seconds(-1)))
        .await
        .unwrap();
    let nothing = VideoId::new();

    let (me, found) = read(&p, now, &live, PathItem::User(&bob.name)).await;
    assert_eq!(me.unwrap().user_id, alice.id);
    assert!(matches!(found, Found::User(Some(u)) if u.id == bob.id));
    let (me, found) = read(&p, now, &live, PathItem::Video(&clip.id)).await;
    assert_eq!(me.unwrap().user_name, alice.name);
    assert!(matches!(found, Found::Video(Some(v)) if v.id == clip.id && v.author_id == bob.id));
    let (me, found) = read(&p, now, &live, PathItem::Video(&nothing)).await;
    assert!(me.is_some());
    assert!(matches!(found, Found::Video(None)), "unknown video");

    let (me, found) = read(&p, now, &stale, PathItem::User(&bob.name)).await;
    assert!(me.is_none(), "expired");
    assert!(
        matches!(found, Found::User(Some(_))),
        "the path is read all the same"
    );
    let (me, found) = read(
        &p,
        now,
        &SessionId::generate_for(&alice.name),
        PathItem::Video(&clip.id),
    )
    .await;
    assert!(me.is_none(), "unknown session");
    assert!(matches!(found, Found::Video(Some(_))));

    // A session written while its account was disabled (a sign-in racing the switch):
    // refused both when the path names its own account and when it names another thing.
    p.users.set_disabled(&alice.name, true).await.unwrap();
    let racing = SessionId::generate_for(&alice.name);
    p.sessions
        .create(&racing, &session(now.plus_seconds(60)))
        .await
        .unwrap();
    let (me, found) = read(&p, now, &racing, PathItem::User(&alice.name)).await;
    assert!(me.is_none(), "disabled, path on its own account");
    assert!(matches!(found, Found::User(Some(u)) if u.disabled));
    assert!(read(&p, now, &racing, PathItem::Video(&clip.id))
        .await
        .0
        .is_none());
    p.users.set_disabled(&alice.name, false).await.unwrap();
    assert!(read(&p, now, &racing, PathItem::User(&alice.name))
        .await
        .0
        .is_some());
    assert!(read(&p, now, &racing, PathItem::Video(&clip.id))
        .await
        .0
        .is_some());

    assert!(p.videos.delete(&clip, now).await.unwrap());
    let (_, found) = read(&p, now, &live, PathItem::Video(&clip.id)).await;
    assert!(matches!(found, Found::Video(None)), "deleted video");
}

/// A right password gives its reserved attempt back in the same write as its effect:
/// the session of a sign-in, or the deletion of the account.
pub async fn a_right_password_gives_its_attempt_back(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let now = Timestamp::now();
    let window = Window::containing(now, 900);
    let reserve = || {
        let (sessions, name) = (p.sessions.clone(), alice.name.clone());
        async move {
            sessions
                .reserve_attempt(&name, "1.2.3.4", window, now, 2)
                .await
                .unwrap()
        }
    };
    let first = reserve().await.unwrap();
    let _second = reserve().await.unwrap();
    assert_eq!(reserve().await, None, "both attempts counted");
    let id = SessionId::generate_for(&alice.name);
    let session = Session {
        user_id: alice.id,
        user_name: alice.name.clone(),
        expires: now.plus_seconds(60),
    };
    p.sessions
        .create_releasing(&id, &session, &first)
        .await
        .unwrap();
    assert!(p.sessions.get(&id, now).await.unwrap().is_some());
    let third = reserve().await.expect("the released attempt is free again");
    assert_eq!(reserve().await, None);

    // The account's deletion gives its attempt back too.
    p.users
        .delete_account(&alice, now, Some(&third))
        .await
        .unwrap();
    assert!(p.users.by_name(&alice.name).await.unwrap().is_none());
    assert!(p.sessions.get(&id, now).await.unwrap().is_none());
    assert!(reserve().await.is_some(), "released with the deletion");

    // A session whose account check fails (here: no account) still gives it back.
    let bob = user("bob");
    let held = p
        .sessions
        .reserve_attempt(&bob.name, "1.2.3.4", window, now, 1)
        .await
        .unwrap()
        .unwrap();
    let orphan = Session {
        user_id: bob.id,
        user_name: bob.name.clone(),
        expires: now.plus_seconds(60),
    };
    let orphan_id = SessionId::generate_for(&bob.name);
    p.sessions
        .create_releasing(&orphan_id, &orphan, &held)
        .await
        .unwrap();
    assert!(p.sessions.get(&orphan_id, now).await.unwrap().is_none());
    let again = p
        .sessions
        .reserve_attempt(&bob.name, "1.2.3.4", window, now, 1)
        .await
        .unwrap();
    assert!(again.is_some(), "released though its session serves nobody");
}

/// An account with more sessions and videos than one DynamoDB transaction holds (100
/// items) is deleted whole all the same.
pub async fn a_large_account_is_deleted_whole(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let now = Timestamp::now();
    let mut videos = Vec::new();
    for i in 0..45 {
        let v = video(&alice, &format!("v{i}"), now.plus_seconds(i));
        p.videos.create(&v).await.unwrap();
        videos.push(v);
    }
    let sessions: Vec<SessionId> = (0..12)
        .map(|_| SessionId::generate_for(&alice.name))
        .collect();
    for id in &sessions {
        let session = Session {
            user_id: alice.id,
            user_name: alice.name.clone(),
            expires: now.plus_seconds(600),
        };
        p.sessions.create(id, &session).await.unwrap();
    }
    let bobs = video(&bob, "bob's", now);
    p.videos.create(&bobs).await.unwrap();

    let scheduled = p.users.delete_account(&alice, now, None).await.unwrap();
    assert!(p.users.by_name(&alice.name).await.unwrap().is_none());
    for id in &sessions {
        assert!(
            p.sessions.get(id, now).await.unwrap().is_none(),
            "ended at once"
        );
    }
    // Hidden by the deletion itself, or (AWS) by the dispatcher's next sweep.
    let swept = p.deletions.sweep_deleted_accounts(now).await.unwrap();
    assert_eq!(
        scheduled.len() as u64 + swept,
        45,
        "each video scheduled once"
    );
    for v in &videos {
        assert!(p.videos.get(&v.id).await.unwrap().is_none());
    }
    assert!(p.videos.get(&bobs.id).await.unwrap().is_some());
    assert_eq!(p.deletions.count().await.unwrap(), 45);
}

/// The sweep hides every video of a deleted account: those its deletion left to the
/// sweep (AWS), and one written after the deletion looked (by a request in flight, or
/// missed by an eventually consistent index). The account is forgotten after a sweep
/// that finds nothing once the deletion has settled.
pub async fn videos_of_a_deleted_account_are_swept(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let early = video(&alice, "early", Timestamp::now());
    p.videos.create(&early).await.unwrap();
    let deleted = Timestamp::now();
    let scheduled = p.users.delete_account(&alice, deleted, None).await.unwrap();
    let late = video(&alice, "late", Timestamp::now());
    p.videos.create(&late).await.unwrap();

    let sweep = |settled_before: Timestamp| p.deletions.sweep_deleted_accounts(settled_before);
    let swept = sweep(deleted).await.unwrap();
    assert_eq!(scheduled.len() as u64 + swept, 2, "both, once each");
    assert!(p.videos.get(&early.id).await.unwrap().is_none());
    assert!(p.videos.get(&late.id).await.unwrap().is_none());
    let mut recorded: Vec<_> = p
        .deletions
        .list(any_time(), None, limit(10))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.video_id, r.author_id))
        .collect();
    recorded.sort_by_key(|(v, _)| v.to_string());
    let mut expected = vec![(early.id, alice.id), (late.id, alice.id)];
    expected.sort_by_key(|(v, _)| v.to_string());
    assert_eq!(recorded, expected);
    assert_eq!(p.deletions.count().await.unwrap(), 2);

    // Not settled: a sweep that finds nothing keeps the account, so a video written
    // later still is found.
    assert_eq!(sweep(deleted).await.unwrap(), 0);
    let later = video(&alice, "later", Timestamp::now());
    p.videos.create(&later).await.unwrap();
    assert_eq!(sweep(deleted).await.unwrap(), 1);
    assert!(p.videos.get(&later.id).await.unwrap().is_none());

    // Settled: this sweep finds nothing, so the account is forgotten.
    let settled = deleted.plus_seconds(1);
    assert_eq!(sweep(settled).await.unwrap(), 0);
    let after_forgetting = video(&alice, "unrelated", Timestamp::now());
    p.videos.create(&after_forgetting).await.unwrap();
    assert_eq!(sweep(settled).await.unwrap(), 0);
    assert!(p.videos.get(&after_forgetting.id).await.unwrap().is_some());
}

/// A deleted account's comments go with it (issue 22, finding 8): left under its name,
/// they would read as written by whoever takes the name next. The embedded store
/// deletes them with the account, AWS's sweep within one pass; a comment posted by a
/// request in flight during the deletion is swept too. Others' comments stay.
pub async fn a_deleted_accounts_comments_go_with_it(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let v = video(&alice, "clip", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    let at = |s: i64| Timestamp::from_unix_seconds(1_800_000_000 + s);
    let kept = comment(&v, &alice, "mine", at(1));
    p.comments.create(&kept).await.unwrap();
    for i in 0..30 {
        let c = comment(&v, &bob, &format!("bob {i}"), at(2 + i));
        p.comments.create(&c).await.unwrap();
    }
    let deleted = Timestamp::now();
    p.users.delete_account(&bob, deleted, None).await.unwrap();
    let late = comment(&v, &bob, "in flight", at(100));
    p.comments.create(&late).await.unwrap();
    p.deletions.sweep_deleted_accounts(deleted).await.unwrap();

    let listed = p
        .comments
        .list(&v.id, TimeWindow::default(), None, limit(100))
        .await
        .unwrap();
    let ids: Vec<_> = listed.items.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![kept.id], "only alice's comment is left");
}

pub async fn blob_urls_are_presigned(p: Ports) {
    let vid = VideoId::new();
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    let now = Timestamp::now();
    let put = p.blob_urls.presign_put(&vid, 42, &mp4, now).await.unwrap();
    let path_of = |url: &str| url.split('?').next().unwrap().to_owned();
    assert!(
        path_of(&put.url).ends_with(&format!("/{vid}")),
        "{}",
        put.url
    );
    assert!(put.expires > now);
    assert!(put
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "video/mp4"));
    let get = p
        .blob_urls
        .presign_get(&vid, Some("video/mp4"), None, now)
        .await
        .unwrap();
    assert!(
        path_of(&get.url).ends_with(&format!("/{vid}")),
        "{}",
        get.url
    );
    assert!(get.expires > now);
    p.blobs.delete(&vid).await.unwrap(); // a missing object is success
}

pub async fn media_facts_and_rejections_are_stored(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let (good, bad) = (
        video(&alice, "good", Timestamp::now()),
        video(&alice, "bad", Timestamp::now().plus_seconds(1)),
    );
    p.videos.create(&good).await.unwrap();
    p.videos.create(&bad).await.unwrap();
    let facts = MediaInfo {
        duration_ms: Some(187_000),
        width: Some(1920),
        height: Some(1080),
        video_codec: Some("avc1.64001f".into()),
        audio_codec: None,
        faststart: false,
    };
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    assert!(p
        .videos
        .mark_ready(&good.id, 5000, &mp4, &facts)
        .await
        .unwrap());
    let stored = p.videos.get(&good.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.media, stored.reason),
        (VideoStatus::Ready, Some(facts.clone()), None)
    );

    let now = Timestamp::now();
    assert!(p
        .videos
        .mark_rejected(&bad.id, 55, "not a video file", now)
        .await
        .unwrap());
    let stored = p.videos.get(&bad.id).await.unwrap().unwrap();
    assert_eq!(stored.status, VideoStatus::Rejected);
    assert_eq!(
        (stored.size, stored.reason.as_deref()),
        (55, Some("not a video file"))
    );
    // Its bytes are the deletion pipeline's; the video stays listed (to its owner).
    let due = p.deletions.list(any_time(), None, limit(10)).await.unwrap();
    assert_eq!(
        due.iter().map(|r| r.video_id).collect::<Vec<_>>(),
        vec![bad.id]
    );
    let listed = p
        .videos
        .list_by_author(&alice.id, Audience::Owner, None, limit(10))
        .await
        .unwrap();
    let listed: Vec<_> = listed.items.iter().map(|v| (v.id, v.status)).collect();
    assert_eq!(
        listed,
        vec![
            (bad.id, VideoStatus::Rejected),
            (good.id, VideoStatus::Ready)
        ]
    );
    // Deleted by its owner: gone, its deletion still recorded once.
    assert!(p.videos.delete(&stored, now).await.unwrap());
    assert!(p.videos.get(&bad.id).await.unwrap().is_none());
    assert_eq!(
        p.deletions
            .list(any_time(), None, limit(10))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(!p
        .videos
        .mark_rejected(&bad.id, 55, "truncated file", now)
        .await
        .unwrap());
}

pub async fn posters_are_granted_then_set(p: Ports) {
    let alice = user("alice");
    let v = video(&alice, "with a poster", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    let first = Poster {
        content_type: PosterType::Webp,
        at: Timestamp::from_micros(1_000_000),
    };
    let second = Poster {
        content_type: PosterType::Jpeg,
        at: Timestamp::from_micros(2_000_000),
    };
    assert!(p.videos.grant_poster(&v.id, &first).await.unwrap());
    let stored = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!((stored.poster, stored.poster_pending), (None, Some(first)));
    assert!(p.videos.set_poster(&v.id, &first).await.unwrap());
    let stored = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!((stored.poster, stored.poster_pending), (Some(first), None));
    // A newer grant pending while an older poster lands: the grant stays pending.
    assert!(p.videos.grant_poster(&v.id, &second).await.unwrap());
    assert!(p.videos.set_poster(&v.id, &first).await.unwrap());
    let stored = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.poster, stored.poster_pending),
        (Some(first), Some(second))
    );
    assert!(p.videos.set_poster(&v.id, &second).await.unwrap());
    let stored = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!((stored.poster, stored.poster_pending), (Some(second), None));
    let nobody = VideoId::new();
    assert!(!p.videos.grant_poster(&nobody, &first).await.unwrap());
    assert!(!p.videos.set_poster(&nobody, &first).await.unwrap());
    // Poster URLs are signed offline, the same within the hour, another for another poster.
    let now = Timestamp::now();
    let url = p.blob_urls.poster_url(&v.id, &second, now).await.unwrap();
    assert_eq!(
        url,
        p.blob_urls
            .poster_url(&v.id, &second, now.plus_seconds(1))
            .await
            .unwrap()
    );
    assert_ne!(
        url,
        p.blob_urls.poster_url(&v.id, &first, now).await.unwrap()
    );
    let put = p
        .blob_urls
        .presign_poster_put(&v.id, 4490, PosterType::Webp, now)
        .await
        .unwrap();
    assert!(put
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "image/webp"));
}

pub async fn objects_are_read_in_ranges_and_deleted_with_their_poster(p: Ports) {
    let vid = VideoId::new();
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    (p.put_object)(vid, bytes.clone(), false).await;
    (p.put_object)(vid, b"poster bytes".to_vec(), true).await;
    assert_eq!(
        p.blobs.read_range(&vid, 10, 20).await.unwrap(),
        bytes[10..30]
    );
    assert_eq!(
        p.blobs.read_range(&vid, 99_990, 100).await.unwrap(),
        bytes[99_990..]
    );
    assert_eq!(
        p.blobs.read_range(&vid, 200_000, 10).await.unwrap(),
        Vec::<u8>::new()
    );
    assert_eq!(
        p.blobs.read_poster_head(&vid, 6).await.unwrap().as_deref(),
        Some(&b"poster"[..])
    );
    p.blobs.delete(&vid).await.unwrap();
    assert!(
        p.blobs.read_range(&vid, 0, 10).await.is_err(),
        "the object is gone"
    );
    assert_eq!(
        p.blobs.read_poster_head(&vid, 6).await.unwrap(),
        None,
        "its poster too"
    );
    (p.put_object)(vid, b"another".to_vec(), true).await;
    p.blobs.delete_poster(&vid).await.unwrap();
    assert_eq!(p.blobs.read_poster_head(&vid, 6).await.unwrap(), None);
    p.blobs.delete_poster(&vid).await.unwrap(); // a missing poster is success
}

pub async fn deletion_records_track_dispatch(p: Ports) {
    let alice = user("alice");
    let mut ids = Vec::new();
    for i in 0..3 {
        let v = video(&alice, &format!("v{i}"), Timestamp::now());
        p.videos.create(&v).await.unwrap();
        p.videos.delete(&v, Timestamp::now()).await.unwrap();
        ids.push(v.id);
    }
    let t = Timestamp::from_unix_seconds(5_000_000_000);
    p.deletions.mark_dispatched(&ids[..2], t).await.unwrap();
    let due = p.deletions.list(t, None, limit(10)).await.unwrap();
    assert_eq!(
        due.iter().map(|r| r.video_id).collect::<Vec<_>>(),
        vec![ids[2]],
        "dispatched ones wait out the grace"
    );
    let later = p
        .deletions
        .list(t.plus_seconds(1), None, limit(10))
        .await
        .unwrap();
    assert_eq!(later.len(), 3);
    assert!(later.iter().filter(|r| r.dispatched == Some(t)).count() == 2);
}

pub async fn a_videos_comments_are_deleted_in_bulk(p: Ports) {
    let alice = user("alice");
    let (v, other) = (
        video(&alice, "v", Timestamp::now()),
        video(&alice, "other", Timestamp::now()),
    );
    for i in 0..1200 {
        p.comments
            .create(&comment(
                &v,
                &alice,
                &format!("c{i}"),
                Timestamp::from_micros(i),
            ))
            .await
            .unwrap();
    }
    let keep = comment(&other, &alice, "keep", Timestamp::now());
    p.comments.create(&keep).await.unwrap();
    assert_eq!(p.comments.delete_all_of_video(&v.id).await.unwrap(), 1200);
    assert_eq!(
        p.comments.delete_all_of_video(&v.id).await.unwrap(),
        0,
        "repeating is harmless"
    );
    assert!(p
        .comments
        .list(&v.id, TimeWindow::default(), None, limit(10))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(
        p.comments.get(&keep.id).await.unwrap().is_some(),
        "other videos untouched"
    );
}

pub async fn the_queue_has_sqs_semantics(p: Ports) {
    let ids: Vec<VideoId> = (0..3).map(|_| VideoId::new()).collect();
    p.queue.send_batch(&ids).await.unwrap();
    assert!(
        p.queue
            .send_batch(&(0..11).map(|_| VideoId::new()).collect::<Vec<_>>())
            .await
            .is_err(),
        "10 at most"
    );
    let first = p.queue.receive(10, 60).await.unwrap();
    let mut bodies: Vec<_> = first.iter().map(|m| m.body.clone()).collect();
    bodies.sort();
    let mut expected: Vec<_> = ids.iter().map(|v| v.to_string()).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    assert!(first.iter().all(|m| m.receive_count == 1));
    assert!(
        p.queue.receive(10, 60).await.unwrap().is_empty(),
        "received messages are hidden"
    );
    p.queue.ack(&first[0].ack_handle).await.unwrap();

    // A second queue state: the other two come back once their visibility lapses.
    let ids: Vec<VideoId> = (0..2).map(|_| VideoId::new()).collect();
    p.queue.send_batch(&ids).await.unwrap();
    let mut delivered = p.queue.receive(10, 0).await.unwrap();
    assert_eq!(delivered.len(), 2);
    for round in 2..=MAX_RECEIVES {
        let again = p.queue.receive(10, 0).await.unwrap();
        assert_eq!(again.len(), 2, "redelivered in round {round}");
        assert!(again.iter().all(|m| m.receive_count == round));
        delivered = again;
    }
    p.queue.ack(&delivered[0].ack_handle).await.unwrap();
    assert!(
        p.queue.receive(10, 0).await.unwrap().is_empty(),
        "exhausted: moved to the dead-letter queue"
    );
    assert_eq!(p.queue.depth().await.unwrap().dead_letters, 1);
}

/// Dead letters: counted by `depth`, and `redrive` sends them back with a fresh receive
/// count, leaving the dead-letter queue empty.
pub async fn dead_letters_are_counted_and_redriven(p: Ports) {
    assert_eq!(p.queue.depth().await.unwrap(), QueueDepth::default());
    assert_eq!(p.queue.redrive().await.unwrap(), 0, "nothing to redrive");
    let poison = VideoId::new();
    p.queue.send_batch(&[poison]).await.unwrap();
    for _ in 0..MAX_RECEIVES {
        assert_eq!(p.queue.receive(10, 0).await.unwrap().len(), 1);
    }
    assert!(p.queue.receive(10, 0).await.unwrap().is_empty(), "dead");
    let held = VideoId::new();
    p.queue.send_batch(&[held]).await.unwrap();
    let taken = p.queue.receive(1, 60).await.unwrap();
    assert_eq!(taken[0].body, held.to_string());
    p.queue.send_batch(&[VideoId::new()]).await.unwrap();
    assert_eq!(
        p.queue.depth().await.unwrap(),
        QueueDepth {
            waiting: 1,
            in_flight: 1,
            dead_letters: 1
        }
    );

    assert_eq!(p.queue.redrive().await.unwrap(), 1);
    assert_eq!(p.queue.depth().await.unwrap().dead_letters, 0);
    let back = p.queue.receive(10, 60).await.unwrap();
    let poisoned: Vec<_> = back
        .iter()
        .filter(|m| m.body == poison.to_string())
        .collect();
    assert_eq!(poisoned.len(), 1, "the dead letter is back: {back:?}");
    assert_eq!(
        poisoned[0].receive_count, 1,
        "its receive count starts afresh"
    );
}

/// Unfinished deletions are counted until their records are removed.
pub async fn unfinished_deletions_are_counted(p: Ports) {
    assert_eq!(p.deletions.count().await.unwrap(), 0);
    let alice = user("alice");
    let now = Timestamp::now();
    let videos = [video(&alice, "one", now), video(&alice, "two", now)];
    for v in &videos {
        p.videos.create(v).await.unwrap();
        assert!(p.videos.delete(v, Timestamp::now()).await.unwrap());
    }
    assert_eq!(p.deletions.count().await.unwrap(), 2);
    p.deletions.remove(&videos[0].id).await.unwrap();
    assert_eq!(p.deletions.count().await.unwrap(), 1);
}

/// Disabling an account ends its sessions (and no one else's) and is visible on the user;
/// enabling clears it. An unknown name changes nothing.
pub async fn disabling_an_account_ends_its_sessions(p: Ports) {
    let (alice, bob) = (user("alice"), user("bob"));
    p.users.create(&alice).await.unwrap();
    p.users.create(&bob).await.unwrap();
    let now = Timestamp::now();
    let session_of = |u: &User| Session {
        user_id: u.id,
        user_name: u.name.clone(),
        expires: now.plus_seconds(600),
    };
    let alices = [
        SessionId::generate_for(&alice.name),
        SessionId::generate_for(&alice.name),
    ];
    for id in &alices {
        p.sessions.create(id, &session_of(&alice)).await.unwrap();
    }
    let bobs = SessionId::generate_for(&bob.name);
    p.sessions.create(&bobs, &session_of(&bob)).await.unwrap();

    assert_eq!(
        p.users.set_disabled(&alice.name, true).await.unwrap(),
        Some(2)
    );
    assert!(
        p.users
            .by_name(&alice.name)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    for id in &alices {
        assert!(p.sessions.get(id, now).await.unwrap().is_none());
    }
    assert!(p.sessions.get(&bobs, now).await.unwrap().is_some());
    assert!(!p.users.by_name(&bob.name).await.unwrap().unwrap().disabled);

    assert_eq!(
        p.users.set_disabled(&alice.name, false).await.unwrap(),
        Some(0)
    );
    assert!(
        !p.users
            .by_name(&alice.name)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let nobody = UserName::parse("nobody").unwrap();
    assert_eq!(p.users.set_disabled(&nobody, true).await.unwrap(), None);
    assert!(p.users.by_name(&nobody).await.unwrap().is_none());
}

fn md5_etag(bytes: &[u8]) -> String {
    use md5::Digest;
    format!("\"{}\"", hex::encode(md5::Md5::digest(bytes)))
}

/// A multipart upload of `video` begun in storage and recorded on the video.
async fn begin_upload(p: &Ports, video: &Video, size: u64, now: Timestamp) -> MultipartUpload {
    let mp4 = VideoContentType::parse("video/mp4").unwrap();
    let id = p.multipart.create(&video.id, &mp4).await.unwrap();
    let upload = MultipartUpload {
        id,
        plan: PartPlan::for_size(size).unwrap(),
        content_type: mp4,
        expires: MultipartUpload::expiry_from(now),
    };
    assert_eq!(
        p.videos
            .begin_multipart(&video.id, &upload, now)
            .await
            .unwrap(),
        BeginMultipart::Begun
    );
    upload
}

pub async fn multipart_uploads_list_their_parts_and_complete_whole(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let v = video(&alice, "big", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    let bytes = reel_testkit::media::padded_mp4((8 << 20) + 4321);
    let now = Timestamp::now();
    let upload = begin_upload(&p, &v, bytes.len() as u64, now).await;
    assert_eq!(upload.plan.part_count(), 2);
    let usage = p.videos.pending_usage(&alice.id, None).await.unwrap();
    assert_eq!(
        usage.granted_bytes,
        bytes.len() as u64,
        "beginning notes the grant"
    );
    // One upload at a time: another is refused while this one is in progress.
    let mut other = upload.clone();
    other.id = UploadId::parse("another-upload").unwrap();
    assert_eq!(
        p.videos.begin_multipart(&v.id, &other, now).await.unwrap(),
        BeginMultipart::InProgress
    );
    assert_eq!(
        p.videos.get(&v.id).await.unwrap().unwrap().upload,
        Some(upload.clone())
    );
    assert_eq!(
        p.multipart.list_parts(&v.id, &upload.id).await.unwrap(),
        Some(vec![])
    );

    // Out of order, and part 1 sent twice (first with other bytes): the last one counts.
    let (one, two) = bytes.split_at(8 << 20);
    let part = |n| upload.plan.part(n).unwrap();
    let etag2 = (p.put_part)(v.id, upload.id.clone(), part(2), two.to_vec()).await;
    let wrong = vec![7u8; one.len()];
    let stale = (p.put_part)(v.id, upload.id.clone(), part(1), wrong).await;
    let etag1 = (p.put_part)(v.id, upload.id.clone(), part(1), one.to_vec()).await;
    assert_ne!(stale, etag1);
    assert!(
        same_etag(&etag1, &md5_etag(one)),
        "the ETag is the part's MD5"
    );
    let listed = p
        .multipart
        .list_parts(&v.id, &upload.id)
        .await
        .unwrap()
        .unwrap();
    let summary: Vec<(u64, bool, u64)> = listed
        .iter()
        .map(|s| {
            (
                s.number,
                same_etag(&s.etag, if s.number == 1 { &etag1 } else { &etag2 }),
                s.size,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(1, true, one.len() as u64), (2, true, two.len() as u64)]
    );
    let unknown = UploadId::parse("0123456789abcdef0123456789abcdef").unwrap();
    assert_eq!(p.multipart.list_parts(&v.id, &unknown).await.unwrap(), None);

    let named = [(part(1), etag1), (part(2), etag2)];
    let settled = p.multipart.complete(&v.id, &upload, &named).await.unwrap();
    assert!(
        matches!(settled, Some(reel_core::media::Settled::Ready(_))),
        "{settled:?}"
    );
    let ready = p.videos.get(&v.id).await.unwrap().unwrap();
    assert_eq!(
        (ready.status, ready.size),
        (VideoStatus::Ready, bytes.len() as u64)
    );
    let stored = p
        .blobs
        .read_range(&v.id, 0, bytes.len() as u64 + 10)
        .await
        .unwrap();
    assert!(stored == bytes, "the object is the parts in order");
    // Completed: the upload is no more.
    assert_eq!(
        p.multipart.list_parts(&v.id, &upload.id).await.unwrap(),
        None
    );
    // A ready video begins no upload.
    let again = MultipartUpload {
        id: UploadId::parse("late").unwrap(),
        ..upload
    };
    assert_eq!(
        p.videos.begin_multipart(&v.id, &again, now).await.unwrap(),
        BeginMultipart::NotPending
    );
}

pub async fn multipart_uploads_abort_and_expire(p: Ports) {
    let alice = user("alice");
    p.users.create(&alice).await.unwrap();
    let v = video(&alice, "big", Timestamp::now());
    p.videos.create(&v).await.unwrap();
    let now = Timestamp::now();
    let size = (8 << 20) + 1;
    let upload = begin_upload(&p, &v, size, now).await;
    let part = upload.plan.part(2).unwrap();
    (p.put_part)(v.id, upload.id.clone(), part, vec![1]).await;
    assert!(p.videos.end_multipart(&v.id, &upload.id).await.unwrap());
    assert!(
        !p.videos.end_multipart(&v.id, &upload.id).await.unwrap(),
        "once"
    );
    p.multipart.abort(&v.id, &upload.id).await.unwrap();
    p.multipart.abort(&v.id, &upload.id).await.unwrap();
    assert_eq!(
        p.multipart.list_parts(&v.id, &upload.id).await.unwrap(),
        None
    );
    assert_eq!(p.videos.get(&v.id).await.unwrap().unwrap().upload, None);

    // An upload past its expiry no longer blocks the next.
    let short = MultipartUpload {
        expires: now.plus_seconds(10),
        ..begin_upload(&p, &v, size, now).await
    };
    let video = p.videos.get(&v.id).await.unwrap().unwrap();
    assert!(video.upload.unwrap().in_progress(now));
    let later = now.plus_seconds(MULTIPART_LIFETIME_SECS + 1);
    let next = MultipartUpload {
        id: UploadId::parse("next").unwrap(),
        ..short
    };
    assert_eq!(
        p.videos.begin_multipart(&v.id, &next, later).await.unwrap(),
        BeginMultipart::Begun
    );
}

/// One `#[tokio::test]` per contract check, for an adapter set built by `$ports`.
macro_rules! contract_suite {
    ($module:ident, $ports:expr) => {
        mod $module {
            use super::*;
            contract_suite!(@tests $ports; user_names_are_unique, sessions_expire_and_end,
                sign_in_attempts_are_reserved_per_pair_and_window,
                sessions_end_with_their_account,
                the_feed_holds_ready_public_videos_newest_first,
                author_lists_show_each_audience_its_videos,
                edits_change_name_description_and_visibility,
                sessions_with_ids_that_name_no_account_end_with_it_too,
                videos_list_newest_first_in_pages,
                videos_turn_ready_and_deleting_hides_and_records, deletion_records_page_without_gaps,
                bytes_of_a_disabled_or_deleted_account_make_nothing_ready,
                pending_videos_and_their_grants_are_counted,
                comments_list_by_window_newest_first, deleting_an_account_schedules_its_videos,
                videos_of_a_deleted_account_are_swept, a_deleted_accounts_comments_go_with_it,
                blob_urls_are_presigned, deletion_records_track_dispatch,
                media_facts_and_rejections_are_stored, posters_are_granted_then_set,
                objects_are_read_in_ranges_and_deleted_with_their_poster,
                a_videos_comments_are_deleted_in_bulk, the_queue_has_sqs_semantics,
                dead_letters_are_counted_and_redriven, unfinished_deletions_are_counted,
                disabling_an_account_ends_its_sessions,
                sessions_are_read_with_the_paths_user_or_video,
                a_right_password_gives_its_attempt_back, a_large_account_is_deleted_whole,
                multipart_uploads_list_their_parts_and_complete_whole,
                multipart_uploads_abort_and_expire);
        }
    };
    (@tests $ports:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                super::$check($ports.await).await;
            }
        )*
    };
}

contract_suite!(local, local_ports());

/// Sixty reservations at once, on the embedded store only. On DynamoDB the bound is the
/// conditional write's atomicity, which moto does not reproduce (it serves concurrent
/// conditional writes of one item without isolation, and let 11 of 60 through about
/// one run in six): there, `sign_in_attempts_are_reserved_per_pair_and_window` checks
/// that the condition itself refuses the attempt past the limit.
#[tokio::test]
async fn local_parallel_reservations_never_exceed_the_limit() {
    parallel_reservations_never_exceed_the_limit(local_ports().await).await;
}

/// The embedded queue goes further than SQS promises: a receipt from an earlier delivery
/// acknowledges nothing (SQS documents that such a delete "succeeds" without deleting,
/// and moto deletes anyway, so this is not part of the shared contract).
#[tokio::test]
async fn local_stale_receipts_acknowledge_nothing() {
    let p = local_ports().await;
    p.queue.send_batch(&[VideoId::new()]).await.unwrap();
    let first = p.queue.receive(10, 0).await.unwrap();
    let second = p.queue.receive(10, 0).await.unwrap();
    assert_eq!((first.len(), second[0].receive_count), (1, 2));
    p.queue.ack(&first[0].ack_handle).await.unwrap();
    assert_eq!(
        p.queue.receive(10, 0).await.unwrap().len(),
        1,
        "still there"
    );
}
contract_suite!(aws, aws_ports());

/// `reel provision` configures the bucket as `template.yaml` does: CORS for the site's
/// own origin only (never `*`), the lifecycle rules, and the TLS-only policy.
#[tokio::test]
async fn aws_provisioning_configures_the_bucket_like_the_template() {
    use reel_aws::bucket;
    let mut config = aws_support::settings();
    config.api.public_url = Some("https://reel.example".into());
    let settings = &config.aws;
    let sdk = aws_support::moto_sdk().await;
    let clients = AwsClients::new(&sdk);
    provision(&clients, &config).await.unwrap();
    let s3 = &clients.s3;

    let cors = s3
        .get_bucket_cors()
        .bucket(&settings.bucket)
        .send()
        .await
        .unwrap();
    let rules = cors.cors_rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].allowed_origins(), ["https://reel.example"]);
    assert_eq!(rules[0].allowed_methods(), bucket::CORS_METHODS);
    assert_eq!(rules[0].allowed_headers(), bucket::CORS_ALLOWED_HEADERS);
    assert_eq!(rules[0].expose_headers(), bucket::CORS_EXPOSED_HEADERS);

    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&settings.bucket)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = lifecycle.rules().iter().filter_map(|r| r.id()).collect();
    assert_eq!(
        ids,
        [
            bucket::ABORT_INCOMPLETE_UPLOADS,
            bucket::EXPIRE_UNCONFIRMED_UPLOADS
        ]
    );
    let expiry = &lifecycle.rules()[1];
    assert_eq!(
        expiry.expiration().and_then(|e| e.days()),
        Some(bucket::UNCONFIRMED_UPLOAD_DAYS)
    );

    // moto on plain HTTP enforces bucket policies: the TLS-only one would refuse every
    // request, so provisioning leaves it out there (and sets it wherever S3 has TLS).
    assert!(!clients.s3_over_tls);
    assert!(s3
        .get_bucket_policy()
        .bucket(&settings.bucket)
        .send()
        .await
        .is_err());
    let policy: serde_json::Value =
        serde_json::from_str(&bucket::tls_only_policy(&settings.bucket)).unwrap();
    assert_eq!(
        policy["Statement"][0]["Sid"],
        bucket::DENY_INSECURE_TRANSPORT
    );
    assert_eq!(
        policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
    assert_eq!(
        policy["Statement"][0]["Resource"][1],
        format!("arn:aws:s3:::{}/*", settings.bucket)
    );
    // Provisioning again (an existing bucket) is harmless and keeps the settings.
    provision(&clients, &config).await.unwrap();
}

/// A table made by an earlier schema gains the indexes a later one added (here the
/// comments' `by_author`, which the deleted-account sweep reads) when provisioned.
#[tokio::test]
async fn aws_provisioning_adds_the_indexes_an_older_table_lacks() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let settings = aws_support::settings();
    let client = aws_sdk_dynamodb::Client::new(&aws_support::moto_sdk().await);
    let table = format!("{}-comments", settings.aws.table_prefix);
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let by_comment = GlobalSecondaryIndex::builder()
        .index_name("by_comment")
        .key_schema(key("comment_id", KeyType::Hash))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .unwrap();
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("video_id", KeyType::Hash))
        .key_schema(key("sort", KeyType::Range))
        .attribute_definitions(attribute("video_id"))
        .attribute_definitions(attribute("sort"))
        .attribute_definitions(attribute("comment_id"))
        .global_secondary_indexes(by_comment)
        .send()
        .await
        .unwrap();
    aws_support::provisioned_host(&settings).await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<String> = described
        .table
        .unwrap()
        .global_secondary_indexes
        .unwrap()
        .into_iter()
        .filter_map(|i| i.index_name)
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["by_author", "by_comment"]);
}
