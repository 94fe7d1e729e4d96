//! Narrow async traits the HTTP layer and the jobs talk to. Each has two real adapters:
//! embedded (SQLite + files, `reel-embedded`) and AWS (DynamoDB, S3, SQS, `reel-aws`).
//! Every adapter passes the same contract suite (`infra/server/tests/contract.rs`).

use crate::domain::{
    Audience, Comment, CommentId, DeletionRecord, Limit, MediaInfo, MultipartUpload, Page,
    PartNumber, Poster, PosterType, SessionId, StoredPart, Timestamp, UploadId, User, UserId,
    UserName, Video, VideoChanges, VideoContentType, VideoId, Window,
};
use crate::media::Settled;
use async_trait::async_trait;

/// What a store's failure means to its caller: the four cases the HTTP layer answers
/// differently (`From<StoreError> for ApiError` in reel-http maps them, once).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The operation needs an item that does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness condition refused the write (e.g. the user name is taken).
    #[error("already exists")]
    Conflict,
    /// The store is there but cannot serve now (SQLite busy past its timeout; the
    /// network to the service timed out or was refused): retrying later may succeed.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug, corrupt data, a refused request.
    #[error(transparent)]
    Other(anyhow::Error),
}

/// What every port method returns.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<anyhow::Error> for StoreError {
    /// An adapter's failure, with its context. A timed-out or refused connection
    /// anywhere in its causes makes it [`StoreError::Unavailable`]; the rest is `Other`.
    fn from(error: anyhow::Error) -> Self {
        let unreachable = error.chain().any(|cause| {
            cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
                use std::io::ErrorKind::*;
                matches!(
                    io.kind(),
                    TimedOut | ConnectionRefused | ConnectionReset | ConnectionAborted
                )
            })
        });
        if unreachable {
            StoreError::Unavailable(error)
        } else {
            StoreError::Other(error)
        }
    }
}

/// Position in a newest-first listing: the item's time and id (the tie-breaker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub at: Timestamp,
    pub id: String,
}

#[async_trait]
pub trait Users: Send + Sync {
    /// Fails with `Conflict` when the name is taken.
    async fn create(&self, user: &User) -> StoreResult<()>;
    async fn by_name(&self, name: &UserName) -> StoreResult<Option<User>>;
    /// Deletes the account, ends its sessions at once, and schedules every video of the
    /// user for deletion: hidden with its deletion record written here (returning their
    /// ids), or by the next [`Deletions::sweep_deleted_accounts`] (returning none: a
    /// store where finding them here costs more than its budget allows). `attempt`, the
    /// password check that allowed it, is given back ([`Sessions::release_attempt`]) in
    /// the same atomic step. Interrupted, it leaves the user in place so that repeating
    /// the request finishes it.
    async fn delete_account(
        &self,
        user: &User,
        now: Timestamp,
        attempt: Option<&Attempt>,
    ) -> StoreResult<Vec<VideoId>>;
    /// An operator's switch (`reel users disable|enable`): a disabled account's sign-ins
    /// are refused. Disabling also ends every session of the account; returns how many,
    /// or `None` when there is no such user.
    async fn set_disabled(&self, name: &UserName, disabled: bool) -> StoreResult<Option<u64>>;
}

/// A live session: who it belongs to and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: UserId,
    pub user_name: UserName,
    pub expires: Timestamp,
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create(&self, id: &SessionId, session: &Session) -> StoreResult<()>;
    /// `None` for unknown and for expired sessions (expiry is checked on every read), and
    /// for a session whose account is gone, was made anew under the same name (another
    /// id), or is disabled: a session is bound to its user's id, checked on every read.
    async fn get(&self, id: &SessionId, now: Timestamp) -> StoreResult<Option<Session>>;
    /// [`Sessions::get`] and the item the request's path names, read together: one
    /// round trip where the store has one (a `BatchGetItem` in DynamoDB), so that
    /// authenticating and finding the path's user or video cost a single request.
    /// The path's item is read whatever the session turns out to be.
    async fn get_with(
        &self,
        id: &SessionId,
        now: Timestamp,
        item: PathItem<'_>,
    ) -> StoreResult<(Option<Session>, Found)>;
    /// [`Sessions::create`] for a sign-in: the session, and the reserved attempt given
    /// back ([`Sessions::release_attempt`]) in the same atomic write.
    async fn create_releasing(
        &self,
        id: &SessionId,
        session: &Session,
        attempt: &Attempt,
    ) -> StoreResult<()>;
    async fn delete(&self, id: &SessionId) -> StoreResult<()>;
    /// Reserves one password check of `name` from `client` at `now`, in the throttling
    /// `window` that holds it: the attempt is counted as a failure at once, in the same
    /// atomic step that checks the count, so parallel guesses cannot all slip under the
    /// limit. `None` when `max` attempts are already counted in the window (throttled).
    /// A check that succeeds gives its attempt back ([`Sessions::release_attempt`]).
    async fn reserve_attempt(
        &self,
        name: &UserName,
        client: &str,
        window: Window,
        now: Timestamp,
        max: u32,
    ) -> StoreResult<Option<Attempt>>;
    /// Uncounts a reserved attempt whose password was right.
    async fn release_attempt(&self, attempt: &Attempt) -> StoreResult<()>;
}

/// What a request's path names, read with its session ([`Sessions::get_with`]).
#[derive(Debug, Clone, Copy)]
pub enum PathItem<'a> {
    User(&'a UserName),
    Video(&'a VideoId),
}

/// The path's item as [`Sessions::get_with`] found it: the variant of the [`PathItem`]
/// asked for, `None` when there is no such user or video (a deleted video included).
// One per request, moved once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Found {
    User(Option<User>),
    Video(Option<Video>),
}

/// A reserved password check ([`Sessions::reserve_attempt`]), as the store names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub name: UserName,
    pub client: String,
    /// The store's handle on the reservation.
    pub token: String,
}

/// One user's videos waiting for their bytes (see [`Videos::pending_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingUsage {
    pub videos: u64,
    pub granted_bytes: u64,
}

#[async_trait]
pub trait Videos: Send + Sync {
    async fn create(&self, video: &Video) -> StoreResult<()>;
    /// `None` for unknown and for deleted videos.
    async fn get(&self, id: &VideoId) -> StoreResult<Option<Video>>;
    /// The author's videos `audience` may see in that list ([`Audience::shows`]),
    /// newest first, starting after `after`. A store that filters after reading (a
    /// DynamoDB `FilterExpression`) may return a page shorter than `limit` with a
    /// `next` that continues it.
    async fn list_by_author(
        &self,
        author: &UserId,
        audience: Audience,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>>;
    /// The feed: every author's ready public videos ([`Video::in_feed`]), newest first,
    /// starting after `after`, read from an index that holds only those (its cost
    /// does not grow with other videos); none of a deleted account's, even before the
    /// deletion sweep has hidden them.
    async fn list_feed(
        &self,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>>;
    /// Changes name, description and visibility of `video` (as the caller read it),
    /// keeping the feed index in step with the result at once. Returns the video as
    /// it now is, `None` if it is gone.
    async fn update_details(
        &self,
        video: &Video,
        changes: &VideoChanges,
    ) -> StoreResult<Option<Video>>;
    /// The video as it stands now, given as another read found it (the path's video
    /// read with the session, [`Sessions::get_with`]): a store whose reads confirm
    /// pending uploads (the one-process AWS site, which gets no S3 events) does it here
    /// too. Others have nothing to add.
    async fn current(&self, video: Video) -> StoreResult<Video> {
        Ok(video)
    }
    /// The author's videos still waiting for their bytes, and the bytes granted for
    /// them (by [`Videos::record_grant`]), `except`'s not counted: what the per-user
    /// upload quotas are checked against.
    async fn pending_usage(
        &self,
        author: &UserId,
        except: Option<&VideoId>,
    ) -> StoreResult<PendingUsage>;
    /// Notes the size of the upload just granted for a pending video (a new grant
    /// replaces an earlier one's). `false` if the video is gone or no longer pending.
    async fn record_grant(&self, video: &VideoId, size: u64) -> StoreResult<bool>;
    /// Notes the multipart upload begun for a pending video's bytes, unless another is
    /// in progress at `now` ([`MultipartUpload::in_progress`]): one at a time per video.
    /// Its size is noted as the video's grant in the same write ([`Videos::record_grant`]).
    async fn begin_multipart(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        now: Timestamp,
    ) -> StoreResult<BeginMultipart>;
    /// Forgets the video's multipart upload if it is `upload` (it was aborted).
    /// `false` if it was not.
    async fn end_multipart(&self, video: &VideoId, upload: &UploadId) -> StoreResult<bool>;
    /// Records that the bytes have landed and what their container says. `false` if
    /// the video no longer exists, or its author's account was deleted or is disabled
    /// (upload URLs outlive both: such bytes must not make a video ready; the caller
    /// removes them).
    async fn mark_ready(
        &self,
        id: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        media: &MediaInfo,
    ) -> StoreResult<bool>;
    /// Records that the bytes that landed are not a video Reel serves, with the reason
    /// its owner is shown, and writes a deletion record for the bytes, atomically: the
    /// deletion pipeline removes them while the video stays listed (to its owner) as
    /// rejected until deleted. `false` if the video no longer exists.
    async fn mark_rejected(
        &self,
        id: &VideoId,
        size: u64,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Notes a poster upload just granted (`poster_pending`). `false` if the video is gone.
    async fn grant_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool>;
    /// Makes a landed, checked poster the video's poster (clearing `poster_pending` if
    /// it is this one). `false` if the video is gone.
    async fn set_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool>;
    /// Hides the video from every read and writes its deletion record, atomically.
    /// `video` is the video as the caller read it: its id and author are what a store
    /// needs, so none reads it again. `false` if it did not exist (or was already deleted).
    async fn delete(&self, video: &Video, now: Timestamp) -> StoreResult<bool>;
}

/// What [`Videos::begin_multipart`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginMultipart {
    Begun,
    /// Another upload of the video is in progress.
    InProgress,
    /// The video is gone or no longer pending.
    NotPending,
}

/// Which comments of a video to list: Unix seconds, `from` exclusive, `to` inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[async_trait]
pub trait Comments: Send + Sync {
    async fn create(&self, comment: &Comment) -> StoreResult<()>;
    async fn get(&self, id: &CommentId) -> StoreResult<Option<Comment>>;
    /// The video's comments in the window, newest first, starting after `after`.
    async fn list(
        &self,
        video: &VideoId,
        window: TimeWindow,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Comment, SortKey>>;
    /// `comment` is the comment as the caller read it: its id, video and time are what a
    /// store needs to find it, so none reads it again. `false` if there was no such comment.
    async fn delete(&self, comment: &Comment) -> StoreResult<bool>;
    /// Deletes every comment of the video, in batches; returns how many were deleted.
    /// Repeating it is harmless.
    async fn delete_all_of_video(&self, video: &VideoId) -> StoreResult<u64>;
}

#[async_trait]
pub trait Deletions: Send + Sync {
    /// Pending deletion records in the store's own stable order, starting after `after`: those never
    /// dispatched, and those last dispatched before `dispatched_before` (pass a time in
    /// the future for every record).
    async fn list(
        &self,
        dispatched_before: Timestamp,
        after: Option<&VideoId>,
        limit: Limit,
    ) -> StoreResult<Vec<DeletionRecord>>;
    /// Notes that these records were sent to the queue at `at`.
    async fn mark_dispatched(&self, videos: &[VideoId], at: Timestamp) -> StoreResult<()>;
    /// Removes the record once its video's bytes and comments are gone.
    async fn remove(&self, video: &VideoId) -> StoreResult<()>;
    /// How many deletions are requested and not yet finished (`reel deletions status`).
    async fn count(&self) -> StoreResult<u64>;
    /// Looks for videos of every deleted account: those its deletion left to the sweep, a
    /// video a request in flight made during the deletion, or one an eventually
    /// consistent index had not shown, is hidden and its deletion recorded now. An
    /// account is forgotten once a sweep finds none after `settled_before` (a time no
    /// request begun before the deletion can still be running at, and any index has
    /// caught up by). Returns the videos found.
    async fn sweep_deleted_accounts(&self, settled_before: Timestamp) -> StoreResult<u64>;
}

/// One message taken from the deletion queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// What acknowledges this delivery, and only this one (a later delivery has
    /// another): SQS's receipt handle; the embedded queue's message id and receive
    /// count; in a Lambda SQS batch, the message id that a batch item failure names.
    pub ack_handle: String,
    /// The video id to delete, as sent; a worker must cope with a malformed one.
    pub body: String,
    /// How many times the message has been delivered, this time included.
    pub receive_count: u32,
}

/// How many messages a queue holds, by state (SQS's approximate counts on AWS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Visible: waiting for a worker to receive them.
    pub waiting: u64,
    /// Received and hidden: a worker has them and has not acknowledged them yet.
    pub in_flight: u64,
    /// In the dead-letter queue: they failed every allowed receive.
    pub dead_letters: u64,
}

/// The deletion queue, with SQS semantics: a received message is hidden for a visibility
/// timeout and comes back unless acknowledged; after the queue's maximum number of
/// receives it moves to a dead-letter queue instead.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends up to 10 video ids as one batch.
    async fn send_batch(&self, videos: &[VideoId]) -> StoreResult<()>;
    /// Up to `max` (≤ 10) visible messages, each then hidden for `visibility_secs`.
    async fn receive(&self, max: u32, visibility_secs: i64) -> StoreResult<Vec<QueueMessage>>;
    /// Deletes a delivered message for good.
    async fn ack(&self, ack_handle: &str) -> StoreResult<()>;
    /// The queue's messages by state.
    async fn depth(&self) -> StoreResult<QueueDepth>;
    /// Moves every dead letter back to the queue, its receive count starting afresh (after
    /// the cause is fixed: `reel deletions redrive`). Returns how many moved. At least
    /// once: a message may come back twice, which the idempotent worker tolerates.
    async fn redrive(&self) -> StoreResult<u64>;
}

/// A request the client makes itself, straight to the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// Absolute (S3's own URL), or a path on the site itself starting with `/` (the
    /// embedded byte endpoint), which the HTTP layer makes absolute with the origin the
    /// client used: a store need not know how the site is reached.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires: Timestamp,
}

/// Signed URLs for clients to move a video's bytes themselves. Signing is offline work
/// (no call to the store), which is what lets the byte-serving Lambda functions carry no
/// object-store client at all.
#[async_trait]
pub trait BlobUrls: Send + Sync {
    /// A URL to PUT exactly `size` bytes of `content_type` as the video's object.
    async fn presign_put(
        &self,
        video: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest>;
    /// A short-lived URL that serves the object with `Range` support, for `viewer`
    /// (`None`: an anonymous caller). A store that serves the bytes itself (the embedded
    /// byte endpoint) signs the viewer into the URL and asks the access decision again
    /// on every request, so an edit that hides the video takes effect at once there;
    /// S3 cannot, and its URL lasts until it expires (`REEL_STREAM_URL_TTL_SECS`).
    async fn presign_get(
        &self,
        video: &VideoId,
        content_type: Option<&str>,
        viewer: Option<&UserId>,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest>;
    /// A URL to PUT part `part` of the multipart upload `upload`: exactly `len` bytes.
    async fn presign_part(
        &self,
        video: &VideoId,
        upload: &UploadId,
        part: PartNumber,
        len: u64,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest>;
    /// A URL to PUT exactly `size` bytes of `content_type` as the video's poster.
    async fn presign_poster_put(
        &self,
        video: &VideoId,
        size: u64,
        content_type: PosterType,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest>;
    /// The poster's URL: the same for every request within an hour (its expiry rounded
    /// up to [`poster_url_expiry`]), so that browsers cache the image, and another for
    /// a poster that replaced it (it carries `poster.at`).
    async fn poster_url(
        &self,
        video: &VideoId,
        poster: &Poster,
        now: Timestamp,
    ) -> StoreResult<String>;
}

/// Multipart uploads of videos' bytes (API.md, "Multipart uploads"): clients PUT the
/// parts by signed URLs ([`BlobUrls::presign_part`]); the store begins, lists,
/// assembles and discards them.
#[async_trait]
pub trait MultipartStore: Send + Sync {
    /// Begins a multipart upload of the video's object, of `content_type`.
    async fn create(
        &self,
        video: &VideoId,
        content_type: &VideoContentType,
    ) -> StoreResult<UploadId>;
    /// The parts stored so far, ascending; `None` when there is no such upload (never
    /// begun, aborted, completed or expired).
    async fn list_parts(
        &self,
        video: &VideoId,
        upload: &UploadId,
    ) -> StoreResult<Option<Vec<StoredPart>>>;
    /// Assembles the parts (each named once, ascending, with the ETag storage gave
    /// it, already checked against [`MultipartStore::list_parts`]) into the video's
    /// object, all or nothing, and settles the video as after a single PUT: ready with
    /// its metadata, or rejected. `None` when there is no such upload.
    async fn complete(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        parts: &[(PartNumber, String)],
    ) -> StoreResult<Option<Settled>>;
    /// Discards the upload and its parts; an unknown upload is success.
    async fn abort(&self, video: &VideoId, upload: &UploadId) -> StoreResult<()>;
}

/// How long poster URLs last: until the end of the next full hour at least ten minutes
/// away. Every URL signed within one hour is then the same, and a browser's cache of
/// the image stays valid as long as the URL does.
pub fn poster_url_expiry(now: Timestamp) -> Timestamp {
    const HOUR: i64 = 3600;
    let at_least = now.unix_seconds() + 600;
    let bucket_end = (at_least + HOUR - 1).div_euclid(HOUR) * HOUR;
    Timestamp::from_unix_seconds(bucket_end)
}

/// The stored objects themselves: read in ranges to learn what they are, and removed
/// by the deletion pipeline.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Up to `len` bytes of the video's object from `offset` (fewer at its end; none
    /// past it).
    async fn read_range(&self, video: &VideoId, offset: u64, len: u64) -> StoreResult<Vec<u8>>;
    /// The first `len` bytes of the video's poster (fewer if it is shorter); `None`
    /// when there is no poster object.
    async fn read_poster_head(&self, video: &VideoId, len: u64) -> StoreResult<Option<Vec<u8>>>;
    /// Removes a poster that failed its check; a missing object is success.
    async fn delete_poster(&self, video: &VideoId) -> StoreResult<()>;
    /// Removes the object and its poster; a missing object is success.
    async fn delete(&self, video: &VideoId) -> StoreResult<()>;
    /// Removes several objects, concurrently; returns those that could not be removed.
    async fn delete_many(&self, videos: &[VideoId]) -> Vec<VideoId> {
        let results = futures_util::future::join_all(videos.iter().map(|v| async move {
            match self.delete(v).await {
                Ok(()) => None,
                Err(e) => {
                    tracing::warn!(video = %v, cause = format!("{e:#}"), "deleting an object failed");
                    Some(*v)
                }
            }
        }))
        .await;
        results.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;
    use anyhow::Context;
    use std::io;

    #[test]
    fn a_timed_out_or_refused_connection_is_unavailable_and_the_rest_is_other() {
        for kind in [io::ErrorKind::TimedOut, io::ErrorKind::ConnectionRefused] {
            let failed: Result<(), _> = Err(io::Error::from(kind));
            let error = StoreError::from(failed.context("GetItem on users").unwrap_err());
            assert!(matches!(error, StoreError::Unavailable(_)), "{kind:?}");
        }
        let denied: Result<(), _> = Err(io::Error::from(io::ErrorKind::PermissionDenied));
        let error = StoreError::from(denied.context("opening").unwrap_err());
        assert!(matches!(error, StoreError::Other(_)));
        let error = StoreError::from(anyhow::anyhow!("an item without its key"));
        assert!(matches!(error, StoreError::Other(_)));
    }
}
