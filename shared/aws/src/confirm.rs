//! Videos that turn `ready` (or `rejected`) as soon as their bytes are in S3, whoever
//! looks first; and posters checked as soon as they land.
//!
//! In AWS the `video-events` function marks a video ready from the S3 notification; that
//! notification can lag, and an emulator (moto) sends none at all. So a read that finds
//! a pending video asks S3 whether the object has landed, and records it if so. Both
//! paths are idempotent. Only pending videos cost a `HeadObject`. A confirmed object
//! loses its pending tag, so the bucket's lifecycle rule no longer expires it.

use super::blobs::S3Blobs;
use super::videos::DynamoVideos;
use async_trait::async_trait;
use reel_core::domain::{
    Audience, Limit, MediaInfo, MultipartUpload, Page, Poster, Timestamp, UploadId, UserId, Video,
    VideoChanges, VideoContentType, VideoId, VideoStatus,
};
use reel_core::media::{as_settled, settle_poster, settle_upload, Settled};
use reel_core::ports::{BeginMultipart, Blobs, PendingUsage, SortKey, StoreResult, Videos};
use std::sync::Arc;

/// What [`ConfirmingVideos::confirm`] found and made of a landed object.
#[derive(Debug)]
pub struct Confirmed {
    pub size: u64,
    pub content_type: VideoContentType,
    pub settled: Settled,
}

pub struct ConfirmingVideos {
    inner: Arc<DynamoVideos>,
    blobs: Arc<S3Blobs>,
    /// How long a poster upload URL lasts: a grant older than that cannot land any more,
    /// so reads stop looking for its poster.
    poster_window_secs: i64,
}

impl ConfirmingVideos {
    pub fn new(inner: Arc<DynamoVideos>, blobs: Arc<S3Blobs>, poster_window_secs: i64) -> Self {
        Self {
            inner,
            blobs,
            poster_window_secs,
        }
    }

    /// Settles the video if its object exists: ready with what its header says, or
    /// rejected. `None` while there is no object. An object of a type that is not
    /// `video/*` is left alone (the signed upload makes that impossible, so it would
    /// not be ours).
    pub async fn confirm(&self, id: &VideoId) -> anyhow::Result<Option<Confirmed>> {
        let Some(info) = self.blobs.head(id).await? else {
            return Ok(None);
        };
        let Some(content_type) = info
            .content_type
            .as_deref()
            .and_then(|ct| VideoContentType::parse(ct).ok())
        else {
            tracing::warn!(%id, content_type = ?info.content_type, "object is not a video; left pending");
            return Ok(None);
        };
        // The tag goes first: a failure after it leaves the video pending, to be
        // confirmed again; the other way round could leave a ready video's bytes
        // tagged for expiry.
        self.blobs.clear_pending_tag(id).await?;
        let blobs: Arc<dyn Blobs> = self.blobs.clone();
        let now = Timestamp::now();
        let settled = settle_upload(
            self.inner.as_ref(),
            blobs,
            id,
            info.size,
            &content_type,
            now,
        )
        .await?;
        Ok(Some(Confirmed {
            size: info.size,
            content_type,
            settled,
        }))
    }

    /// A poster object has landed: checked, and recorded under the grant's time (the
    /// one pending, else now).
    pub async fn confirm_poster(&self, id: &VideoId) -> anyhow::Result<()> {
        let Some(video) = self.inner.get(id).await? else {
            self.blobs.delete_poster(id).await?;
            return Ok(());
        };
        let granted = video.poster_pending;
        let at = granted.map_or_else(Timestamp::now, |p| p.at);
        let granted_type = granted.map(|p| p.content_type);
        settle_poster(
            self.inner.as_ref(),
            self.blobs.as_ref(),
            id,
            at,
            granted_type,
        )
        .await?;
        Ok(())
    }

    async fn confirmed(&self, mut video: Video) -> anyhow::Result<Video> {
        if video.status == VideoStatus::Pending {
            if let Some(c) = self.confirm(&video.id).await? {
                video = as_settled(video, c.size, &c.content_type, &c.settled);
            }
        }
        let now = Timestamp::now();
        let awaited = video
            .poster_pending
            .filter(|p| now.unix_seconds() - p.at.unix_seconds() <= self.poster_window_secs);
        if let Some(pending) = awaited {
            // No S3 events reach this host: a poster granted lately may have landed.
            // A poster object older than the grant is the one it replaces: not yet.
            let landed = self.blobs.poster_modified(&video.id).await?;
            let fresh = landed.is_some_and(|at| at.unix_seconds() >= pending.at.unix_seconds());
            let granted_type = Some(pending.content_type);
            let (videos, blobs) = (self.inner.as_ref(), self.blobs.as_ref());
            if fresh
                && settle_poster(videos, blobs, &video.id, pending.at, granted_type)
                    .await?
                    .is_none()
            {
                if let Some(refreshed) = self.inner.get(&video.id).await? {
                    video.poster = refreshed.poster;
                    video.poster_pending = refreshed.poster_pending;
                }
            }
        }
        Ok(video)
    }
}

#[async_trait]
impl Videos for ConfirmingVideos {
    async fn create(&self, video: &Video) -> StoreResult<()> {
        self.inner.create(video).await
    }

    async fn get(&self, id: &VideoId) -> StoreResult<Option<Video>> {
        match self.inner.get(id).await? {
            Some(video) => Ok(Some(self.confirmed(video).await?)),
            None => Ok(None),
        }
    }

    async fn current(&self, video: Video) -> StoreResult<Video> {
        Ok(self.confirmed(video).await?)
    }

    /// Confirms what the list holds; for anyone but the owner that is ready videos
    /// alone, so a landed upload shows to others once its owner's read confirmed it.
    async fn list_by_author(
        &self,
        author: &UserId,
        audience: Audience,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let page = self
            .inner
            .list_by_author(author, audience, after, limit)
            .await?;
        let items =
            futures_util::future::try_join_all(page.items.into_iter().map(|v| self.confirmed(v)))
                .await?;
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// Ready videos only: nothing to confirm.
    async fn list_feed(
        &self,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        self.inner.list_feed(after, limit).await
    }

    async fn update_details(
        &self,
        video: &Video,
        changes: &VideoChanges,
    ) -> StoreResult<Option<Video>> {
        self.inner.update_details(video, changes).await
    }

    async fn pending_usage(
        &self,
        author: &UserId,
        except: Option<&VideoId>,
    ) -> StoreResult<PendingUsage> {
        self.inner.pending_usage(author, except).await
    }

    async fn record_grant(&self, video: &VideoId, size: u64) -> StoreResult<bool> {
        self.inner.record_grant(video, size).await
    }

    async fn begin_multipart(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        now: Timestamp,
    ) -> StoreResult<BeginMultipart> {
        self.inner.begin_multipart(video, upload, now).await
    }

    async fn end_multipart(&self, video: &VideoId, upload: &UploadId) -> StoreResult<bool> {
        self.inner.end_multipart(video, upload).await
    }

    async fn mark_ready(
        &self,
        id: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        media: &MediaInfo,
    ) -> StoreResult<bool> {
        self.inner.mark_ready(id, size, content_type, media).await
    }

    async fn mark_rejected(
        &self,
        id: &VideoId,
        size: u64,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.inner.mark_rejected(id, size, reason, now).await
    }

    async fn grant_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool> {
        self.inner.grant_poster(id, poster).await
    }

    async fn set_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool> {
        self.inner.set_poster(id, poster).await
    }

    async fn delete(&self, video: &Video, now: Timestamp) -> StoreResult<bool> {
        self.inner.delete(video, now).await
    }
}
