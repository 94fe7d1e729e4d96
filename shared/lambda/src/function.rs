//! What one Lambda function builds at init: the SDK configuration once, the DynamoDB
//! client every function uses, and then only the other clients and adapters its own code
//! calls, so its binary links (and its cold start builds) nothing else. Only the
//! functions that call S3 (`uploads`, for multipart uploads; `video-events`;
//! `deletion-worker`) carry the S3 SDK, the heaviest of the three; the videos, stream
//! and page routes only sign URLs ([`S3Urls`]).
//! `AwsHost` is the whole-site counterpart, for `reel serve --backend aws`.

use anyhow::Context;
use reel_aws::dynamo::Tables;
use reel_aws::{
    function_sdk_config, s3_client, ConfirmingVideos, DynamoComments, DynamoDeletions,
    DynamoSessions, DynamoUsers, DynamoVideos, S3Blobs, S3Multipart, S3Urls, SqsQueue,
};
use reel_core::clock::SystemClock;
use reel_core::jobs::{Dispatcher, Worker};
use reel_core::settings::Settings;
use reel_core::signing::Signer;
use reel_http::{AppState, ByteState, UploadState};
use std::sync::Arc;

pub struct AwsFunction {
    sdk: aws_config::SdkConfig,
    config: Arc<Settings>,
    tables: Tables,
}

impl AwsFunction {
    /// What every function does first: its settings from the environment, logging
    /// (and metrics) as they say, and the SDK configuration.
    pub async fn init() -> anyhow::Result<Self> {
        let settings = Settings::from_env()?;
        reel_core::telemetry::init(&settings);
        Ok(Self::new(function_sdk_config()?, &settings))
    }

    pub fn new(sdk: aws_config::SdkConfig, settings: &Settings) -> Self {
        let tables = Tables::new(aws_sdk_dynamodb::Client::new(&sdk), &settings.aws);
        Self {
            sdk,
            config: Arc::new(settings.clone()),
            tables,
        }
    }

    /// The handlers' state for a function whose routes move no bytes (users, sessions,
    /// comments, web). Videos read as the table has them: `video-events` marks them
    /// ready when S3 reports their object.
    pub fn metadata_state(&self) -> anyhow::Result<AppState> {
        self.state()
    }

    /// The handlers' state for the functions that sign object-store URLs (videos,
    /// stream, and web, whose pages show posters): with presigned URLs to the bucket.
    pub fn object_state(&self) -> anyhow::Result<ByteState> {
        let urls = S3Urls::configured(&self.sdk, &self.config)?;
        Ok(ByteState::new(self.state()?, Arc::new(urls)))
    }

    /// The handlers' state for the uploads function, whose routes also begin, list,
    /// complete and abort multipart uploads: with the S3 client for those.
    pub fn upload_state(&self) -> anyhow::Result<UploadState> {
        let parts = S3Multipart::new(self.blobs(), Arc::new(self.confirming_videos()));
        Ok(UploadState::new(self.object_state()?, Arc::new(parts)))
    }

    fn state(&self) -> anyhow::Result<AppState> {
        let key = self
            .config
            .api
            .cursor_key
            .context("REEL_CURSOR_KEY (32 bytes, base64) is required on AWS")?;
        Ok(AppState {
            users: Arc::new(DynamoUsers::new(self.tables.clone())),
            sessions: Arc::new(DynamoSessions::new(self.tables.clone())),
            videos: Arc::new(DynamoVideos::new(self.tables.clone())),
            comments: Arc::new(DynamoComments::new(self.tables.clone())),
            config: self.config.clone(),
            cursors: Signer::new(key.0),
            clock: Arc::new(SystemClock),
        })
    }

    fn blobs(&self) -> Arc<S3Blobs> {
        Arc::new(S3Blobs::new(s3_client(&self.sdk), &self.config.aws.bucket))
    }

    /// For `video-events`: videos that turn ready when their object is confirmed.
    pub fn confirming_videos(&self) -> ConfirmingVideos {
        let videos = Arc::new(DynamoVideos::new(self.tables.clone()));
        let poster_window = self.config.api.upload_url_ttl.as_secs() as i64;
        ConfirmingVideos::new(videos, self.blobs(), poster_window)
    }

    /// For `deletion-dispatcher`: pending records to the SQS queue.
    pub fn dispatcher(&self) -> Dispatcher {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        Dispatcher::new(
            Arc::new(DynamoDeletions::new(self.tables.clone())),
            Arc::new(SqsQueue::new(sqs, &self.config.aws)),
            self.config.deletion.grace.as_secs() as i64,
        )
    }

    /// For `deletion-worker`: objects, comments, then records. Lambda's SQS event source
    /// receives and acknowledges, so the worker needs no SQS client of its own.
    pub fn worker(&self) -> Worker {
        Worker::new(
            self.blobs(),
            Arc::new(DynamoComments::new(self.tables.clone())),
            Arc::new(DynamoDeletions::new(self.tables.clone())),
        )
    }
}
