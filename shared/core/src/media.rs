//! What happens when an upload lands, on both hosts: the container's header is read
//! through [`Blobs::read_range`] (file reads locally, ranged `GetObject`s on S3), and
//! the video becomes ready with its metadata or rejected with a reason. A poster is
//! checked by its first bytes the same way.

use crate::domain::{
    MediaInfo, Poster, PosterType, Timestamp, Video, VideoContentType, VideoId, VideoStatus,
};
use crate::ports::{Blobs, Videos};
use anyhow::Context;
use reel_media::poster::{self, PosterError};
pub use reel_media::ReadStats;
use reel_media::{CappedSource, ProbeError, Rejection, READ_CAP};
use std::sync::Arc;

/// What became of a landed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Ready(MediaInfo),
    Rejected(Rejection),
    /// The video was deleted, or its author's account deleted or disabled, before its
    /// bytes landed: the bytes were removed.
    Gone,
}

/// Reads the header of the video's object (`size` bytes) with bounded ranged reads.
/// `Err` only when the store failed (try again); a file that is not a video Reel
/// serves is `Ok(Err(rejection))`.
pub async fn probe_object(
    blobs: Arc<dyn Blobs>,
    video: VideoId,
    size: u64,
) -> anyhow::Result<(Result<MediaInfo, Rejection>, ReadStats)> {
    let handle = tokio::runtime::Handle::current();
    // The parsers are synchronous (`Read + Seek`): they run on the blocking pool, each
    // range they need fetched by the store's async read.
    tokio::task::spawn_blocking(move || {
        let fetch = |offset: u64, len: usize| {
            handle
                .block_on(blobs.read_range(&video, offset, len as u64))
                .map_err(std::io::Error::other)
        };
        let mut source = CappedSource::new(fetch, size, READ_CAP);
        let outcome = reel_media::probe(&mut source);
        let stats = source.stats();
        match outcome {
            Ok(info) => Ok((Ok(info), stats)),
            Err(ProbeError::Rejected(why)) => Ok((Err(why), stats)),
            Err(ProbeError::Read(e)) => Err(anyhow::Error::new(e).context("reading the header")),
        }
    })
    .await
    .context("the header probe's task")?
}

/// `video` as [`settle_upload`] left it in the store, its `size` bytes of `content_type`
/// settled as `settled` says: what a caller that read it before shows without reading
/// it again.
pub fn as_settled(
    mut video: Video,
    size: u64,
    content_type: &VideoContentType,
    settled: &Settled,
) -> Video {
    match settled {
        Settled::Ready(media) => {
            video.status = VideoStatus::Ready;
            video.media = Some(media.clone());
        }
        Settled::Rejected(why) => {
            video.status = VideoStatus::Rejected;
            video.reason = Some(why.reason());
        }
        Settled::Gone => return video,
    }
    video.size = size;
    video.content_type = Some(content_type.as_str().to_owned());
    video
}

/// The video's bytes (`size` of them, uploaded as `content_type`) have landed: reads
/// what they are and records it. Idempotent: a repeat finds the same and records it
/// again.
pub async fn settle_upload(
    videos: &dyn Videos,
    blobs: Arc<dyn Blobs>,
    video: &VideoId,
    size: u64,
    content_type: &VideoContentType,
    now: Timestamp,
) -> anyhow::Result<Settled> {
    let (outcome, stats) = probe_object(blobs.clone(), *video, size).await?;
    tracing::debug!(%video, requests = stats.requests, bytes = stats.bytes, "header read");
    let (recorded, settled) = match outcome {
        Ok(info) => {
            let ready = videos.mark_ready(video, size, content_type, &info).await;
            (
                ready.context("marking the video ready")?,
                Settled::Ready(info),
            )
        }
        Err(why) => {
            let rejected = videos.mark_rejected(video, size, &why.reason(), now).await;
            tracing::info!(%video, reason = %why, "upload rejected; its bytes go to the deletion pipeline");
            (
                rejected.context("marking the video rejected")?,
                Settled::Rejected(why),
            )
        }
    };
    if !recorded {
        // Nothing would ever remove these bytes: remove them now.
        blobs
            .delete(video)
            .await
            .context("removing the bytes of a gone video")?;
        return Ok(Settled::Gone);
    }
    Ok(settled)
}

/// A poster has landed in the object store, granted at `granted_at` for the type
/// `granted_type` (when the grant is still known): its first bytes must be a JPEG or
/// WebP image of that type and of sane dimensions, or it is removed. Returns the
/// check's failure, if any.
pub async fn settle_poster(
    videos: &dyn Videos,
    blobs: &dyn Blobs,
    video: &VideoId,
    granted_at: Timestamp,
    granted_type: Option<PosterType>,
) -> anyhow::Result<Option<PosterError>> {
    let head = blobs
        .read_poster_head(video, poster::HEADER_BYTES as u64)
        .await
        .context("reading the poster's header")?;
    let Some(head) = head else {
        return Ok(Some(PosterError::NotAnImage));
    };
    let checked = poster::inspect(&head).and_then(|(found, _, _)| match granted_type {
        Some(granted) if granted != found => Err(PosterError::WrongType),
        _ => Ok(found),
    });
    let content_type = match checked {
        Ok(content_type) => content_type,
        Err(why) => {
            tracing::info!(%video, reason = %why, "poster refused and removed");
            blobs
                .delete_poster(video)
                .await
                .context("removing a bad poster")?;
            return Ok(Some(why));
        }
    };
    let poster = Poster {
        content_type,
        at: granted_at,
    };
    if !videos
        .set_poster(video, &poster)
        .await
        .context("recording the poster")?
    {
        blobs
            .delete_poster(video)
            .await
            .context("removing a gone video's poster")?;
    }
    Ok(None)
}
