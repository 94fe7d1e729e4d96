//! The AWS adapters: DynamoDB for metadata, S3 for video bytes, SQS for the deletion
//! queue. They pass the same contract suite as the embedded ones (`infra/server/tests/contract.rs`,
//! on a moto server).
//!
//! # Tables (names are `{prefix}-{table}`; definitions in [`schema`])
//!
//! | table | key | indexes | what it answers |
//! |---|---|---|---|
//! | `users` | `user_name` (S) | – | sign-up uniqueness: `PutItem` with `attribute_not_exists(user_name)`; `GetItem` by name |
//! | `sessions` | `session_digest` (S) | `by_user`: `user_id` (keys only) | by the SHA-256 of the session id, in one `BatchGetItem` with the account the id names (and the path's user or video), so every request checks the account in its one read (see `sessions.rs`); expiry checked on read (TTL deletion is lazy) and native TTL on `ttl`; disabling and the sweep of deleted accounts query `by_user` to delete the items |
//! | `sign_in_failures` | `subject` (S) = name + NUL + client address, `at_id` (S) = `window#` + the throttling window's zero-padded start (micros) | – | one attempt counter per (name, client, window): a reservation is `UpdateItem ADD attempts :1` on condition `attempts < :max`, a right password gives it back with `ADD -1`; native TTL on `ttl` (a day) |
//! | `videos` | `video_id` (S) | `by_author`: `author_id` (S) + `created` (N), all attributes | `GetItem`; an author's videos newest first: `Query` on `by_author`, `ScanIndexForward=false`, cursors from the last key (`LastEvaluatedKey`: `author_id`, `created`, `video_id`) |
//! | `comments` | `video_id` (S), `sort` (S) = zero-padded micros `#` comment id | `by_comment`: `comment_id` (S), all attributes | a video's comments by time: `Query video_id = :v AND sort BETWEEN :from AND :to`, newest first; a comment by id on `by_comment` |
//! | `deletions` | `video_id` (S) | – | pending records: `Scan` with a filter on `dispatched` (the table only holds outstanding deletions, so it stays small); `UpdateItem` marks dispatch, only if the record still exists |
//!
//! Deleting a video removes its item and puts its deletion record in one
//! `TransactWriteItems`, conditional on the video existing, so it vanishes from every
//! read at once and the pipeline is certain to remove its bytes and comments.
//!
//! # Objects and queue
//! Video bytes are the S3 object `videos/{video id}` (the prefix S3 notifications filter
//! on). Deletions go through an SQS queue whose redrive policy moves a message to its
//! dead-letter queue after the configured number of receives.

mod blobs;
pub mod bucket;
mod comments;
mod confirm;
mod deletions;
pub mod dynamo;
mod http_client;
mod multipart;
mod provision;
mod queue;
pub mod schema;
mod sdk;
mod sessions;
mod urls;
mod users;
mod videos;

pub use blobs::{object_key, poster_key, video_of_key, video_of_poster_key, S3Blobs, PENDING_TAG};
pub use comments::DynamoComments;
pub use confirm::{Confirmed, ConfirmingVideos};
pub use deletions::DynamoDeletions;
pub use multipart::S3Multipart;
pub use provision::provision;
pub use queue::SqsQueue;
pub use sdk::{emulator_sdk_config, function_sdk_config, load_sdk_config, sdk_config_loader};
pub use sessions::DynamoSessions;
pub use urls::S3Urls;
pub use users::DynamoUsers;
pub use videos::DynamoVideos;

use std::sync::Arc;

pub use reel_core::settings::AwsSettings;

/// The three SDK clients, built once per process and shared by every adapter.
#[derive(Clone)]
pub struct AwsClients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Whether S3 is reached over TLS (AWS always is; an emulator may not be), which
    /// decides whether provisioning can give the bucket its TLS-only policy.
    pub s3_over_tls: bool,
}

impl AwsClients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamo: aws_sdk_dynamodb::Client::new(sdk),
            s3: s3_client(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            s3_over_tls: s3_endpoint_override(sdk).is_none_or(|e| e.starts_with("https://")),
        }
    }
}

/// The S3 client, path-style when an endpoint is overridden (an emulator has no wildcard
/// DNS for virtual-hosted buckets).
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(s3_endpoint_override(sdk).is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The endpoint S3 is reached at instead of AWS's: `AWS_ENDPOINT_URL_S3`, else the
/// configuration's (`AWS_ENDPOINT_URL`), as the SDK resolves them. The client and the
/// URL signer ([`S3Urls`]) both address S3 by it.
fn s3_endpoint_override(sdk: &aws_config::SdkConfig) -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL_S3")
        .ok()
        .filter(|e| !e.is_empty())
        .or_else(|| sdk.endpoint_url().map(str::to_owned))
}

/// Every AWS adapter, sharing the clients.
#[derive(Clone)]
pub struct AwsAdapters {
    pub users: Arc<DynamoUsers>,
    pub sessions: Arc<DynamoSessions>,
    pub videos: Arc<ConfirmingVideos>,
    pub comments: Arc<DynamoComments>,
    pub deletions: Arc<DynamoDeletions>,
    pub blobs: Arc<S3Blobs>,
    pub urls: Arc<S3Urls>,
    pub multipart: Arc<S3Multipart>,
    pub queue: Arc<SqsQueue>,
}

impl AwsAdapters {
    /// Fails without a region or credentials provider (URLs cannot be signed).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        clients: &AwsClients,
        config: &reel_core::settings::Settings,
    ) -> anyhow::Result<Self> {
        let settings = &config.aws;
        let dynamo = dynamo::Tables::new(clients.dynamo.clone(), settings);
        let blobs = Arc::new(S3Blobs::new(clients.s3.clone(), &settings.bucket));
        let videos = Arc::new(ConfirmingVideos::new(
            Arc::new(DynamoVideos::new(dynamo.clone())),
            blobs.clone(),
            config.api.upload_url_ttl.as_secs() as i64,
        ));
        Ok(Self {
            users: Arc::new(DynamoUsers::new(dynamo.clone())),
            sessions: Arc::new(DynamoSessions::new(dynamo.clone())),
            multipart: Arc::new(S3Multipart::new(blobs.clone(), videos.clone())),
            videos,
            comments: Arc::new(DynamoComments::new(dynamo.clone())),
            deletions: Arc::new(DynamoDeletions::new(dynamo)),
            blobs,
            urls: Arc::new(S3Urls::configured(sdk, config)?),
            queue: Arc::new(SqsQueue::new(clients.sqs.clone(), settings)),
        })
    }
}
