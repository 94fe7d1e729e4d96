//! Video bytes in S3: what the site itself asks of the bucket (an object's size and type,
//! its pending tag, deletions). Clients move the bytes themselves through the presigned
//! URLs of [`super::S3Urls`].

use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::VideoId;
use reel_core::ports::{Blobs, StoreResult};

pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// The object key of a video's bytes.
pub fn object_key(video: &VideoId) -> String {
    format!("videos/{video}")
}

/// The video an object key names, if it is one of ours.
pub fn video_of_key(key: &str) -> Option<VideoId> {
    VideoId::parse(key.strip_prefix("videos/")?).ok()
}

/// The object tag every upload carries until its video is marked ready. A bucket
/// lifecycle rule (`template.yaml`) expires objects still tagged after some days: bytes
/// whose video never turned ready (its notification lost, its video deleted meanwhile)
/// cannot pile up unseen.
pub const PENDING_TAG: (&str, &str) = ("reel-state", "pending");

/// What S3 says about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

impl S3Blobs {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The stored object's size and type, or `None` if there is none (yet).
    pub async fn head(&self, video: &VideoId) -> anyhow::Result<Option<ObjectInfo>> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(object_key(video))
            .send()
            .await;
        match out {
            Ok(o) => Ok(Some(ObjectInfo {
                size: o.content_length.unwrap_or(0).max(0) as u64,
                content_type: o.content_type,
            })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(e).context("reading an object's metadata"),
        }
    }

    /// Removes the [`PENDING_TAG`] of a video whose object is confirmed (idempotent:
    /// deleting absent tags succeeds).
    pub async fn clear_pending_tag(&self, video: &VideoId) -> anyhow::Result<()> {
        self.client
            .delete_object_tagging()
            .bucket(&self.bucket)
            .key(object_key(video))
            .send()
            .await
            .context("removing an object's pending tag")?;
        Ok(())
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn delete(&self, video: &VideoId) -> StoreResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(object_key(video))
            .send()
            .await
            .context("deleting an object")?;
        Ok(())
    }
    // `delete_many` deletes one by one, concurrently (the port's own): S3's bulk
    // `DeleteObjects` requires a request checksum, and the SDK's checksum code links
    // `crc-fast`, whose tables for every CRC variant it knows weighed 0.66 MB of the
    // deletion worker's 6.7 MB. S3 does not charge for DELETE requests.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_round_trip() {
        let vid = VideoId::new();
        assert_eq!(video_of_key(&object_key(&vid)), Some(vid));
        assert_eq!(video_of_key("other/x"), None);
        assert_eq!(video_of_key("videos/../etc"), None);
    }
}
