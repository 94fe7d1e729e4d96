//! Multipart uploads in S3: begun, listed, completed and aborted here with the SDK (the
//! parts themselves go from the client to S3 by URLs signed offline, `S3Urls`). A
//! completed upload is confirmed at once, as a read confirms a single PUT that landed
//! ([`ConfirmingVideos::confirm`]): its header read, the video ready or rejected, before
//! `complete` answers. The `ObjectCreated:CompleteMultipartUpload` notification that
//! follows finds it settled (confirming is idempotent).

use super::blobs::{object_key, S3Blobs, PENDING_TAG};
use super::confirm::ConfirmingVideos;
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use reel_core::domain::{
    MultipartUpload, PartNumber, StoredPart, UploadId, VideoContentType, VideoId,
};
use reel_core::media::Settled;
use reel_core::ports::{MultipartStore, StoreResult};
use std::sync::Arc;

/// S3's answer when an upload id names no upload in progress.
fn no_such_upload<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("NoSuchUpload")
}

pub struct S3Multipart {
    blobs: Arc<S3Blobs>,
    confirming: Arc<ConfirmingVideos>,
}

impl S3Multipart {
    pub fn new(blobs: Arc<S3Blobs>, confirming: Arc<ConfirmingVideos>) -> Self {
        Self { blobs, confirming }
    }
}

/// S3 numbers parts with an `i32`; plans never pass 10,000.
fn part_i32(n: u64) -> anyhow::Result<i32> {
    i32::try_from(n).context("a part number beyond S3's range")
}

#[async_trait]
impl MultipartStore for S3Multipart {
    /// The object gets its type and the pending tag now, as a single PUT's URL signs
    /// them: the bucket's lifecycle rule then treats both alike.
    async fn create(
        &self,
        video: &VideoId,
        content_type: &VideoContentType,
    ) -> StoreResult<UploadId> {
        let out = self
            .blobs
            .client
            .create_multipart_upload()
            .bucket(&self.blobs.bucket)
            .key(object_key(video))
            .content_type(content_type.as_str())
            .tagging(format!("{}={}", PENDING_TAG.0, PENDING_TAG.1))
            .send()
            .await
            .context("beginning a multipart upload")?;
        let id = out.upload_id().context("S3 gave no upload id")?;
        Ok(UploadId::parse(id).context("S3's upload id")?)
    }

    /// Every page of `ListParts` (1,000 parts each).
    async fn list_parts(
        &self,
        video: &VideoId,
        upload: &UploadId,
    ) -> StoreResult<Option<Vec<StoredPart>>> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .blobs
                .client
                .list_parts()
                .bucket(&self.blobs.bucket)
                .key(object_key(video))
                .upload_id(upload.as_str())
                .set_part_number_marker(marker.take())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) if no_such_upload(&e) => return Ok(None),
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context("listing an upload's parts")
                        .into())
                }
            };
            for part in out.parts() {
                let (Some(number), Some(etag)) = (part.part_number(), part.e_tag()) else {
                    continue;
                };
                parts.push(StoredPart {
                    number: u64::try_from(number).context("a part number from S3")?,
                    etag: etag.to_owned(),
                    size: u64::try_from(part.size().unwrap_or(0)).unwrap_or(0),
                });
            }
            match out.next_part_number_marker() {
                Some(next) if out.is_truncated() == Some(true) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(Some(parts))
    }

    async fn complete(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        parts: &[(PartNumber, String)],
    ) -> StoreResult<Option<Settled>> {
        let completed = parts
            .iter()
            .map(|(number, etag)| {
                Ok(CompletedPart::builder()
                    .part_number(part_i32(number.get())?)
                    .e_tag(etag)
                    .build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let out = self
            .blobs
            .client
            .complete_multipart_upload()
            .bucket(&self.blobs.bucket)
            .key(object_key(video))
            .upload_id(upload.id.as_str())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await;
        match out {
            Ok(_) => {}
            // Completed already (a repeat after an answer that was lost, or a failure
            // after S3 assembled it): the object is there, and settling is idempotent.
            Err(e) if no_such_upload(&e) => {
                return Ok(self.confirming.confirm(video).await?.map(|c| c.settled))
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context("completing a multipart upload")
                    .into())
            }
        }
        let confirmed = self
            .confirming
            .confirm(video)
            .await?
            .context("the completed object is not there")?;
        Ok(Some(confirmed.settled))
    }

    async fn abort(&self, video: &VideoId, upload: &UploadId) -> StoreResult<()> {
        let out = self
            .blobs
            .client
            .abort_multipart_upload()
            .bucket(&self.blobs.bucket)
            .key(object_key(video))
            .upload_id(upload.as_str())
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if no_such_upload(&e) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e)
                .context("aborting a multipart upload")
                .into()),
        }
    }
}
