//! How the video bucket is configured, as data: `reel provision` applies it, and a test
//! holds `template.yaml`'s `VideoBucket` and `VideoBucketPolicy` to it
//! (`tests/template.rs`), so a bucket made either way is the same bucket.

/// Browsers PUT uploads and GET (with `Range`) streams straight from the bucket.
pub const CORS_METHODS: [&str; 3] = ["GET", "HEAD", "PUT"];
/// What an upload grant asks the page to send, and what the player sends.
pub const CORS_ALLOWED_HEADERS: [&str; 5] = [
    "Content-Type",
    "If-None-Match",
    "Range",
    "If-Range",
    "x-amz-*",
];
pub const CORS_EXPOSED_HEADERS: [&str; 4] =
    ["Accept-Ranges", "Content-Range", "Content-Length", "ETag"];
pub const CORS_MAX_AGE_SECS: i32 = 3600;

/// Lifecycle rule: multipart uploads never completed are removed two days after they
/// began (`MULTIPART_LIFETIME_SECS`: then another upload of the video may begin).
pub const ABORT_INCOMPLETE_UPLOADS: &str = "AbortIncompleteUploads";
/// Lifecycle rule: objects still tagged `reel-state=pending` (their video was never
/// confirmed ready) expire after [`UNCONFIRMED_UPLOAD_DAYS`] (see `PENDING_TAG`).
pub const EXPIRE_UNCONFIRMED_UPLOADS: &str = "ExpireUnconfirmedUploads";
/// The template's `UnconfirmedUploadDays` default.
pub const UNCONFIRMED_UPLOAD_DAYS: i32 = 7;

/// The bucket policy's one statement: every request without TLS is denied.
pub const DENY_INSECURE_TRANSPORT: &str = "DenyInsecureTransport";

/// The bucket policy document for `bucket`.
pub fn tls_only_policy(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": DENY_INSECURE_TRANSPORT,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })
    .to_string()
}
