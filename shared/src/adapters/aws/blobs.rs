//! Video bytes in S3, moved by clients themselves through presigned URLs: a PUT whose
//! signature covers the content length and type (S3 refuses any other size or type),
//! and a short-lived GET that S3 serves with `Range` support.

use crate::domain::{Timestamp, VideoContentType, VideoId};
use crate::ports::{Blobs, PresignedRequest};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::{Duration, SystemTime};

pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
    upload_ttl_secs: i64,
    stream_ttl_secs: i64,
}

/// The object key of a video's bytes.
pub fn object_key(video: &VideoId) -> String {
    format!("videos/{video}")
}

/// The video an object key names, if it is one of ours.
pub fn video_of_key(key: &str) -> Option<VideoId> {
    VideoId::parse(key.strip_prefix("videos/")?).ok()
}

/// What S3 says about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

impl S3Blobs {
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: &str,
        upload_ttl_secs: i64,
        stream_ttl_secs: i64,
    ) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            upload_ttl_secs,
            stream_ttl_secs,
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

    /// One `DeleteObjects` call (up to 1,000 keys); the videos whose object S3 reports
    /// as not deleted.
    async fn delete_objects(&self, videos: &[VideoId]) -> anyhow::Result<Vec<VideoId>> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let objects = videos
            .iter()
            .map(|v| ObjectIdentifier::builder().key(object_key(v)).build())
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()?,
            )
            .send()
            .await
            .context("deleting objects")?;
        Ok(out
            .errors()
            .iter()
            .filter_map(|e| video_of_key(e.key()?))
            .collect())
    }
}

fn presigning(now: Timestamp, ttl_secs: i64) -> anyhow::Result<PresigningConfig> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_micros(now.as_micros().max(0) as u64);
    Ok(PresigningConfig::builder()
        .start_time(start)
        .expires_in(Duration::from_secs(ttl_secs.max(1) as u64))
        .build()?)
}

/// The presigned request as the API hands it out. `content-length` is signed but left
/// out of the headers: HTTP clients set it from the body (browsers refuse to set it).
fn to_request(
    presigned: aws_sdk_s3::presigning::PresignedRequest,
    now: Timestamp,
    ttl_secs: i64,
) -> PresignedRequest {
    let headers = presigned
        .headers()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("host")
        })
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    PresignedRequest {
        url: presigned.uri().to_owned(),
        headers,
        expires: now.plus_seconds(ttl_secs),
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn presign_put(
        &self,
        _origin: &str,
        video: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        now: Timestamp,
    ) -> anyhow::Result<PresignedRequest> {
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(object_key(video))
            .content_length(i64::try_from(size)?)
            .content_type(content_type.as_str())
            .presigned(presigning(now, self.upload_ttl_secs)?)
            .await
            .context("presigning an upload")?;
        Ok(to_request(presigned, now, self.upload_ttl_secs))
    }

    async fn presign_get(
        &self,
        _origin: &str,
        video: &VideoId,
        content_type: Option<&str>,
        now: Timestamp,
    ) -> anyhow::Result<PresignedRequest> {
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object_key(video))
            .set_response_content_type(content_type.map(str::to_owned))
            .presigned(presigning(now, self.stream_ttl_secs)?)
            .await
            .context("presigning a download")?;
        Ok(to_request(presigned, now, self.stream_ttl_secs))
    }

    async fn delete(&self, video: &VideoId) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(object_key(video))
            .send()
            .await
            .context("deleting an object")?;
        Ok(())
    }

    async fn delete_many(&self, videos: &[VideoId]) -> Vec<VideoId> {
        let mut failed = Vec::new();
        for chunk in videos.chunks(1000) {
            match self.delete_objects(chunk).await {
                Ok(refused) => failed.extend(refused),
                Err(e) => {
                    tracing::warn!(cause = format!("{e:#}"), "DeleteObjects failed");
                    failed.extend_from_slice(chunk);
                }
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// moto accepts tampered and expired URLs, so what S3 would enforce is checked on
    /// the URLs themselves (presigning is offline: no request is sent).
    fn blobs() -> S3Blobs {
        let credentials =
            aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .credentials_provider(credentials)
            .build();
        S3Blobs::new(
            aws_sdk_s3::Client::from_conf(config),
            "reel-videos",
            3600,
            300,
        )
    }

    fn query(url: &str, name: &str) -> String {
        let query = url.split_once('?').expect("a query string").1;
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("{name} missing from {url}"))
            .1
    }

    #[tokio::test]
    async fn uploads_sign_the_length_and_type() {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let mp4 = VideoContentType::parse("video/mp4").unwrap();
        let put = blobs()
            .presign_put("", &vid, 17957, &mp4, now)
            .await
            .unwrap();
        assert!(put.url.contains(&format!("videos/{vid}")));
        assert_eq!(query(&put.url, "X-Amz-Expires"), "3600");
        assert_eq!(query(&put.url, "X-Amz-Date"), "20270115T080000Z");
        let signed = query(&put.url, "X-Amz-SignedHeaders");
        let signed: Vec<&str> = signed.split(';').collect();
        assert!(signed.contains(&"content-length"), "{signed:?}");
        assert!(signed.contains(&"content-type"), "{signed:?}");
        assert_eq!(
            put.headers,
            vec![("content-type".into(), "video/mp4".into())]
        );
        assert_eq!(put.expires, now.plus_seconds(3600));
    }

    #[tokio::test]
    async fn streams_get_a_short_lived_url() {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let get = blobs()
            .presign_get("", &vid, Some("video/mp4"), now)
            .await
            .unwrap();
        assert_eq!(query(&get.url, "X-Amz-Expires"), "300");
        assert_eq!(query(&get.url, "response-content-type"), "video/mp4");
        assert_eq!(query(&get.url, "X-Amz-SignedHeaders"), "host");
        assert!(get.headers.is_empty());
        assert_eq!(get.expires, now.plus_seconds(300));
    }

    #[test]
    fn object_keys_round_trip() {
        let vid = VideoId::new();
        assert_eq!(video_of_key(&object_key(&vid)), Some(vid));
        assert_eq!(video_of_key("other/x"), None);
        assert_eq!(video_of_key("videos/../etc"), None);
    }
}
