//! Videos that turn `ready` as soon as their bytes are in S3, whoever looks first.
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
    Limit, Page, Timestamp, UserId, Video, VideoContentType, VideoId, VideoStatus,
};
use reel_core::ports::{Blobs, PendingUsage, SortKey, StoreResult, Videos};
use std::sync::Arc;

pub struct ConfirmingVideos {
    inner: Arc<DynamoVideos>,
    blobs: Arc<S3Blobs>,
}

impl ConfirmingVideos {
    pub fn new(inner: Arc<DynamoVideos>, blobs: Arc<S3Blobs>) -> Self {
        Self { inner, blobs }
    }

    /// Marks the video ready if its object exists; returns whether it is ready now.
    /// An object of a type that is not `video/*` is left alone (the signed upload makes
    /// that impossible, so it would not be ours).
    pub async fn confirm(&self, id: &VideoId) -> anyhow::Result<Option<(u64, VideoContentType)>> {
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
        if !self.inner.mark_ready(id, info.size, &content_type).await? {
            // The video was deleted, or its author's account deleted or disabled, before
            // its bytes landed (an upload URL outlives both): nothing would ever remove
            // this object, so remove it now.
            tracing::info!(%id, "object of a deleted video or account, or a disabled one, removed");
            self.blobs.delete(id).await?;
            return Ok(None);
        }
        Ok(Some((info.size, content_type)))
    }

    async fn confirmed(&self, mut video: Video) -> anyhow::Result<Video> {
        if video.status == VideoStatus::Pending {
            if let Some((size, content_type)) = self.confirm(&video.id).await? {
                video.status = VideoStatus::Ready;
                video.size = size;
                video.content_type = Some(content_type.as_str().to_owned());
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

    async fn list_by_author(
        &self,
        author: &UserId,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let page = self.inner.list_by_author(author, after, limit).await?;
        let items =
            futures_util::future::try_join_all(page.items.into_iter().map(|v| self.confirmed(v)))
                .await?;
        Ok(Page {
            items,
            next: page.next,
        })
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

    async fn mark_ready(
        &self,
        id: &VideoId,
        size: u64,
        content_type: &VideoContentType,
    ) -> StoreResult<bool> {
        self.inner.mark_ready(id, size, content_type).await
    }

    async fn delete(&self, video: &Video, now: Timestamp) -> StoreResult<bool> {
        self.inner.delete(video, now).await
    }
}
