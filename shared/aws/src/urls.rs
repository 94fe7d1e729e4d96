//! Presigned S3 URLs, signed offline with `aws-sigv4`: the signer the S3 SDK's own
//! `presigned()` runs, with the same settings (single URI encoding, no path
//! normalisation, `UNSIGNED-PAYLOAD`, the `x-id` operation parameter). The tests check
//! that the URLs are identical, signature included, to the SDK's.
//!
//! Why not the SDK here: presigning makes no call to S3, yet `aws-sdk-s3` brings its
//! endpoint rules, checksum interceptors and 650 KB of CRC tables into every binary that
//! names it. The upload and stream functions only sign URLs, and without it they stay
//! within the 8 MB function budget. Everything that does call S3 (heads, tags,
//! deletions) still goes through the SDK (`S3Blobs`).
//!
//! Addressing is S3's: virtual-hosted `https://{bucket}.s3.{region}.{suffix}/{key}` on
//! AWS (path-style for bucket names with dots, which TLS wildcards cannot cover), and
//! path-style `{endpoint}/{bucket}/{key}` under an endpoint override (an emulator).

use super::blobs::{object_key, poster_key, PENDING_TAG};
use anyhow::Context;
use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::identity::Identity;
use reel_core::domain::{
    PartNumber, Poster, PosterType, Timestamp, UploadId, UserId, VideoContentType, VideoId,
};
use reel_core::ports::{poster_url_expiry, BlobUrls, PresignedRequest, StoreResult};
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Cached credentials are refreshed this long before they expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);

pub struct S3Urls {
    credentials: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
    region: String,
    /// Everything before the object key: `https://bucket.s3.region.amazonaws.com`, or
    /// `http://127.0.0.1:5000/bucket` under an endpoint override.
    base: String,
    upload_ttl_secs: i64,
    stream_ttl_secs: i64,
}

impl S3Urls {
    /// Region, credentials and endpoint override from the SDK configuration (per-service
    /// `AWS_ENDPOINT_URL_S3` first, as the SDK does).
    pub fn configured(
        sdk: &aws_config::SdkConfig,
        config: &reel_core::settings::Settings,
    ) -> anyhow::Result<Self> {
        let settings = &config.aws;
        let region = sdk
            .region()
            .context("no AWS region is configured (AWS_REGION)")?
            .to_string();
        let credentials = sdk
            .credentials_provider()
            .context("no AWS credentials provider is configured")?;
        let endpoint = super::s3_endpoint_override(sdk);
        Ok(Self {
            credentials,
            cached: Mutex::new(None),
            base: base_url(endpoint.as_deref(), &settings.bucket, &region),
            region,
            upload_ttl_secs: config.api.upload_url_ttl.as_secs() as i64,
            stream_ttl_secs: config.api.stream_url_ttl.as_secs() as i64,
        })
    }

    /// The provider's credentials, cached until shortly before they expire (the
    /// environment's never do; role credentials elsewhere are refreshed).
    async fn credentials(&self) -> anyhow::Result<Credentials> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN)
        };
        if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .context("loading AWS credentials to sign a URL")?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Signs `method` on the object at `key` with `query` and `headers`, valid for
    /// `ttl_secs` from `now`.
    async fn presign(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: Vec<(&'static str, String)>,
        now: Timestamp,
        ttl_secs: i64,
    ) -> anyhow::Result<PresignedRequest> {
        let mut url = format!("{}/{key}?", self.base);
        url.push_str(&serde_urlencoded::to_string(query)?);
        let identity = Identity::from(self.credentials().await?);
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(ttl_secs.max(1) as u64));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(start_time(now))
            .settings(settings)
            .build()?
            .into();
        let signable = SignableRequest::new(
            method,
            url.as_str(),
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::UnsignedPayload,
        )?;
        let (instructions, _) = sign(signable, &params)
            .context("signing an S3 URL")?
            .into_parts();
        for (name, value) in instructions.params() {
            url.push('&');
            url.push_str(&serde_urlencoded::to_string([(name, value.as_ref())])?);
        }
        Ok(PresignedRequest {
            url,
            // `content-length` is signed but left out: HTTP clients set it from the
            // body (browsers refuse to set it).
            headers: headers
                .into_iter()
                .filter(|(name, _)| *name != "content-length")
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            expires: now.plus_seconds(ttl_secs),
        })
    }
}

/// Signing time: the request's `now`, to the second (as S3 reads `X-Amz-Date`).
fn start_time(now: Timestamp) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(now.as_micros().max(0) as u64)
}

/// See the module docs for the addressing rules.
fn base_url(endpoint: Option<&str>, bucket: &str, region: &str) -> String {
    if let Some(endpoint) = endpoint {
        return format!("{}/{bucket}", endpoint.trim_end_matches('/'));
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    if bucket.contains('.') {
        format!("https://s3.{region}.{suffix}/{bucket}")
    } else {
        format!("https://{bucket}.s3.{region}.{suffix}")
    }
}

#[async_trait]
impl BlobUrls for S3Urls {
    async fn presign_put(
        &self,
        video: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        // Signed, so S3 itself refuses another size or type, an untagged upload, and
        // (a conditional write: `If-None-Match: *`) any PUT once the object exists, so a
        // replayed URL cannot replace the bytes of a video that is ready.
        let headers = vec![
            ("content-length", size.to_string()),
            ("content-type", content_type.as_str().to_owned()),
            ("if-none-match", "*".to_owned()),
            (
                "x-amz-tagging",
                format!("{}={}", PENDING_TAG.0, PENDING_TAG.1),
            ),
        ];
        let query = [("x-id", "PutObject")];
        Ok(self
            .presign(
                "PUT",
                &object_key(video),
                &query,
                headers,
                now,
                self.upload_ttl_secs,
            )
            .await?)
    }

    /// The same URL whoever asks (`viewer` is not S3's to check): valid until it
    /// expires, whatever happens to the video meanwhile.
    async fn presign_get(
        &self,
        video: &VideoId,
        content_type: Option<&str>,
        _viewer: Option<&UserId>,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let mut query = vec![("x-id", "GetObject")];
        query.extend(content_type.map(|ct| ("response-content-type", ct)));
        let key = object_key(video);
        Ok(self
            .presign("GET", &key, &query, Vec::new(), now, self.stream_ttl_secs)
            .await?)
    }

    /// `UploadPart`, signed for the part's exact length (S3 refuses another); no type,
    /// tag or condition: the upload's `CreateMultipartUpload` set those for the object.
    async fn presign_part(
        &self,
        video: &VideoId,
        upload: &UploadId,
        part: PartNumber,
        len: u64,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let number = part.get().to_string();
        let query = [
            ("x-id", "UploadPart"),
            ("partNumber", number.as_str()),
            ("uploadId", upload.as_str()),
        ];
        let headers = vec![("content-length", len.to_string())];
        let key = object_key(video);
        Ok(self
            .presign("PUT", &key, &query, headers, now, self.upload_ttl_secs)
            .await?)
    }

    /// Signed for its length and type; a new poster replaces the old (no conditional
    /// write, no pending tag: the deletion worker removes posters with their video).
    async fn presign_poster_put(
        &self,
        video: &VideoId,
        size: u64,
        content_type: PosterType,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let headers = vec![
            ("content-length", size.to_string()),
            ("content-type", content_type.as_str().to_owned()),
        ];
        let query = [("x-id", "PutObject")];
        let key = poster_key(video);
        Ok(self
            .presign("PUT", &key, &query, headers, now, self.upload_ttl_secs)
            .await?)
    }

    /// Signed as if at a time that only changes hourly (or when the poster does), so
    /// every listing within the hour carries the same URL and the browser's cached
    /// image serves them all; S3 answers it with a `Cache-Control` for that long.
    async fn poster_url(
        &self,
        video: &VideoId,
        poster: &Poster,
        now: Timestamp,
    ) -> StoreResult<String> {
        let (signed_at, ttl) = poster_signing_window(now, poster);
        // No spaces: a query value's space has two encodings, and a signature only one.
        let cache = format!("private,max-age={ttl},immutable");
        let query = [
            ("response-cache-control", cache.as_str()),
            ("response-content-type", poster.content_type.as_str()),
            ("x-id", "GetObject"),
        ];
        let key = poster_key(video);
        let signed = self
            .presign("GET", &key, &query, Vec::new(), signed_at, ttl)
            .await?;
        Ok(signed.url)
    }
}

/// When a poster URL is signed and for how long: it ends at [`poster_url_expiry`] and
/// starts two hours before (or at the poster's grant, if later): both change only
/// hourly, and never lie in the future (S3 refuses a URL signed ahead of its clock).
fn poster_signing_window(now: Timestamp, poster: &Poster) -> (Timestamp, i64) {
    let expires = poster_url_expiry(now).unix_seconds();
    let start = (expires - 7200)
        .max(poster.at.unix_seconds())
        .min(now.unix_seconds());
    (Timestamp::from_unix_seconds(start), expires - start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const NOW: i64 = 1_800_000_000;

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    fn urls(endpoint: Option<&str>, bucket: &str, token: Option<&str>) -> S3Urls {
        S3Urls {
            credentials: SharedCredentialsProvider::new(credentials(token)),
            cached: Mutex::new(None),
            base: base_url(endpoint, bucket, "eu-west-1"),
            region: "eu-west-1".into(),
            upload_ttl_secs: 3600,
            stream_ttl_secs: 300,
        }
    }

    /// The SDK's presigning for the same inputs: the reference these URLs must equal.
    fn sdk_client(endpoint: Option<&str>, token: Option<&str>) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .credentials_provider(credentials(token));
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    fn sdk_presigning(ttl: u64) -> aws_sdk_s3::presigning::PresigningConfig {
        aws_sdk_s3::presigning::PresigningConfig::builder()
            .start_time(start_time(Timestamp::from_unix_seconds(NOW)))
            .expires_in(Duration::from_secs(ttl))
            .build()
            .unwrap()
    }

    /// Base URL and query parameters (order-free).
    fn parts(url: &str) -> (String, BTreeMap<String, String>) {
        let (base, query) = url.split_once('?').expect("a query string");
        let params = serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap();
        (base.to_owned(), params.into_iter().collect())
    }

    async fn assert_same_put(endpoint: Option<&str>, bucket: &str, token: Option<&str>) {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(NOW);
        let mp4 = VideoContentType::parse("video/mp4").unwrap();
        let ours = urls(endpoint, bucket, token)
            .presign_put(&vid, 17957, &mp4, now)
            .await
            .unwrap();
        let sdk = sdk_client(endpoint, token)
            .put_object()
            .bucket(bucket)
            .key(object_key(&vid))
            .content_length(17957)
            .content_type("video/mp4")
            .if_none_match("*")
            .tagging("reel-state=pending")
            .presigned(sdk_presigning(3600))
            .await
            .unwrap();
        assert_eq!(parts(&ours.url), parts(sdk.uri()));
        let mut sdk_headers: Vec<(String, String)> = sdk
            .headers()
            .filter(|(name, _)| *name != "content-length")
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        sdk_headers.sort();
        let mut our_headers = ours.headers.clone();
        our_headers.sort();
        assert_eq!(our_headers, sdk_headers);
    }

    async fn assert_same_get(endpoint: Option<&str>, bucket: &str, token: Option<&str>) {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(NOW);
        let ours = urls(endpoint, bucket, token)
            .presign_get(&vid, Some("video/mp4"), None, now)
            .await
            .unwrap();
        let sdk = sdk_client(endpoint, token)
            .get_object()
            .bucket(bucket)
            .key(object_key(&vid))
            .response_content_type("video/mp4")
            .presigned(sdk_presigning(300))
            .await
            .unwrap();
        assert_eq!(parts(&ours.url), parts(sdk.uri()));
        assert!(ours.headers.is_empty());
    }

    #[tokio::test]
    async fn uploads_are_signed_exactly_as_the_sdk_signs_them() {
        assert_same_put(None, "reel-videos", None).await;
        assert_same_put(None, "reel-videos", Some("session-token")).await;
        assert_same_put(Some("http://127.0.0.1:5000"), "reel-videos", None).await;
    }

    #[tokio::test]
    async fn parts_are_signed_exactly_as_the_sdk_signs_them() {
        for (endpoint, token) in [
            (None, Some("session-token")),
            (Some("http://127.0.0.1:5000"), None),
        ] {
            let vid = VideoId::new();
            let now = Timestamp::from_unix_seconds(NOW);
            let upload = UploadId::parse("VXBsb2FkIElEIGZvciA2aWJ+d2l0aCBzeW1ib2xzLg--").unwrap();
            let ours = urls(endpoint, "reel-videos", token)
                .presign_part(&vid, &upload, PartNumber::signed(7), 8 << 20, now)
                .await
                .unwrap();
            let sdk = sdk_client(endpoint, token)
                .upload_part()
                .bucket("reel-videos")
                .key(object_key(&vid))
                .upload_id(upload.as_str())
                .part_number(7)
                .content_length(8 << 20)
                .presigned(sdk_presigning(3600))
                .await
                .unwrap();
            assert_eq!(parts(&ours.url), parts(sdk.uri()));
            let (_, query) = parts(&ours.url);
            assert_eq!(query["X-Amz-SignedHeaders"], "content-length;host");
            assert!(ours.headers.is_empty());
        }
    }

    #[tokio::test]
    async fn posters_are_signed_exactly_as_the_sdk_signs_them() {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(NOW);
        let poster = Poster {
            content_type: PosterType::Webp,
            at: Timestamp::from_unix_seconds(NOW - 100),
        };
        let ours = urls(None, "reel-videos", Some("session-token"))
            .poster_url(&vid, &poster, now)
            .await
            .unwrap();
        let (signed_at, ttl) = poster_signing_window(now, &poster);
        let presigning = aws_sdk_s3::presigning::PresigningConfig::builder()
            .start_time(start_time(signed_at))
            .expires_in(Duration::from_secs(ttl as u64))
            .build()
            .unwrap();
        let sdk = sdk_client(None, Some("session-token"))
            .get_object()
            .bucket("reel-videos")
            .key(poster_key(&vid))
            .response_cache_control(format!("private,max-age={ttl},immutable"))
            .response_content_type("image/webp")
            .presigned(presigning)
            .await
            .unwrap();
        assert_eq!(parts(&ours), parts(sdk.uri()));
    }

    #[test]
    fn a_poster_url_is_the_same_all_hour_and_never_signed_ahead() {
        let poster = Poster {
            content_type: PosterType::Jpeg,
            at: Timestamp::from_unix_seconds(1_000),
        };
        let hour = 1_800_000_000; // a full hour (500,000 h)
        let a = poster_signing_window(Timestamp::from_unix_seconds(hour + 60), &poster);
        let b = poster_signing_window(Timestamp::from_unix_seconds(hour + 2000), &poster);
        assert_eq!(a, b);
        let (start, ttl) = a;
        assert!(start.unix_seconds() <= hour + 60);
        assert_eq!(start.unix_seconds() + ttl, hour + 3600);
        // Past the 50th minute the window moves on (at least ten minutes must be left).
        let c = poster_signing_window(Timestamp::from_unix_seconds(hour + 3100), &poster);
        assert_ne!(a, c);
        // A poster granted a moment ago: signed at its grant, not before it.
        let fresh = Poster {
            at: Timestamp::from_unix_seconds(hour + 30),
            ..poster
        };
        let (start, _) = poster_signing_window(Timestamp::from_unix_seconds(hour + 60), &fresh);
        assert_eq!(start.unix_seconds(), hour + 30);
    }

    #[tokio::test]
    async fn streams_are_signed_exactly_as_the_sdk_signs_them() {
        assert_same_get(None, "reel-videos", None).await;
        assert_same_get(None, "reel-videos", Some("session-token")).await;
        assert_same_get(Some("http://127.0.0.1:5000/"), "reel-videos", None).await;
    }

    /// moto accepts tampered and expired URLs, so what S3 would enforce is checked on
    /// the URLs themselves.
    #[tokio::test]
    async fn uploads_sign_the_length_type_tag_and_no_overwrite() {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(NOW);
        let mp4 = VideoContentType::parse("video/mp4").unwrap();
        let put = urls(None, "reel-videos", None)
            .presign_put(&vid, 17957, &mp4, now)
            .await
            .unwrap();
        let (base, query) = parts(&put.url);
        assert_eq!(
            base,
            format!("https://reel-videos.s3.eu-west-1.amazonaws.com/videos/{vid}")
        );
        assert_eq!(query["X-Amz-Expires"], "3600");
        assert_eq!(query["X-Amz-Date"], "20270115T080000Z");
        assert_eq!(
            query["X-Amz-SignedHeaders"],
            "content-length;content-type;host;if-none-match;x-amz-tagging"
        );
        assert_eq!(
            put.headers,
            vec![
                ("content-type".into(), "video/mp4".into()),
                ("if-none-match".into(), "*".into()),
                ("x-amz-tagging".into(), "reel-state=pending".into()),
            ]
        );
        assert_eq!(put.expires, now.plus_seconds(3600));
    }

    #[tokio::test]
    async fn streams_get_a_short_lived_url() {
        let vid = VideoId::new();
        let now = Timestamp::from_unix_seconds(NOW);
        let get = urls(None, "reel-videos", None)
            .presign_get(&vid, Some("video/mp4"), None, now)
            .await
            .unwrap();
        let (_, query) = parts(&get.url);
        assert_eq!(query["X-Amz-Expires"], "300");
        assert_eq!(query["response-content-type"], "video/mp4");
        assert_eq!(query["X-Amz-SignedHeaders"], "host");
        assert_eq!(get.expires, now.plus_seconds(300));
    }

    #[test]
    fn addressing_follows_s3s_rules() {
        let base = |e, b, r| base_url(e, b, r);
        assert_eq!(
            base(None, "v", "us-east-1"),
            "https://v.s3.us-east-1.amazonaws.com"
        );
        assert_eq!(
            base(None, "v", "cn-north-1"),
            "https://v.s3.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            base(None, "my.videos", "eu-west-1"),
            "https://s3.eu-west-1.amazonaws.com/my.videos"
        );
        assert_eq!(
            base(Some("http://127.0.0.1:5000/"), "v", "us-east-1"),
            "http://127.0.0.1:5000/v"
        );
    }
}
