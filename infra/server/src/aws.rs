//! The whole site on AWS: the same routers and jobs on DynamoDB, S3 and SQS, in one
//! process (`reel serve --backend aws`, against AWS or an emulator such as moto). Each
//! Lambda function builds only its own part ([`reel_lambda::AwsFunction`]).

use crate::site::Site;
use anyhow::Context;
use reel_aws::{load_sdk_config, provision, AwsAdapters, AwsClients, AwsSettings, SqsQueue};
use reel_core::clock::SystemClock;
use reel_core::jobs::{Dispatcher, Worker};
use reel_core::ports::Queue;
use reel_core::settings::Settings;
use reel_core::signing::Signer;
use reel_http::{AppState, ByteState, UploadState};
use reel_lambda::AwsFunction;
use std::sync::Arc;

/// How long the in-process worker's receive waits for a message.
const WORKER_LONG_POLL_SECS: u8 = 2;

#[derive(Clone)]
pub struct AwsHost {
    pub sdk: aws_config::SdkConfig,
    pub clients: AwsClients,
    pub adapters: AwsAdapters,
    /// The resources are `config.aws`.
    pub config: Arc<Settings>,
}

impl AwsHost {
    /// Clients from the environment's SDK configuration, resources from `settings`.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let sdk = load_sdk_config().await;
        Self::new(&sdk, settings)
    }

    pub fn new(sdk: &aws_config::SdkConfig, settings: &Settings) -> anyhow::Result<Self> {
        let clients = AwsClients::new(sdk);
        let adapters = AwsAdapters::new(sdk, &clients, settings)?;
        Ok(Self {
            sdk: sdk.clone(),
            clients,
            adapters,
            config: Arc::new(settings.clone()),
        })
    }

    /// The AWS resources it uses.
    pub fn resources(&self) -> &AwsSettings {
        &self.config.aws
    }

    /// One Lambda function's view of the same resources: what its binary builds at init.
    pub fn function(&self) -> AwsFunction {
        AwsFunction::new(self.sdk.clone(), &self.config)
    }

    /// What the HTTP handlers need. Cursors are signed with `REEL_CURSOR_KEY`, which
    /// every function shares, so a cursor from one instance works on any other.
    pub fn state(&self) -> anyhow::Result<UploadState> {
        let key = self
            .config
            .api
            .cursor_key
            .context("REEL_CURSOR_KEY (32 bytes, base64) is required on AWS")?;
        let a = &self.adapters;
        let app = AppState {
            users: a.users.clone(),
            sessions: a.sessions.clone(),
            videos: a.videos.clone(),
            comments: a.comments.clone(),
            config: self.config.clone(),
            cursors: Signer::new(key.0),
            clock: Arc::new(SystemClock),
        };
        Ok(UploadState::new(
            ByteState::new(app, a.urls.clone()),
            a.multipart.clone(),
        ))
    }

    /// Creates whatever table, bucket and queue is missing.
    pub async fn provision(&self) -> anyhow::Result<()> {
        provision(&self.clients, &self.config).await
    }

    /// The operator commands' ports (`reel deletions ...`, `reel users ...`).
    pub fn operations(&self) -> reel_core::ops::Operations {
        let a = &self.adapters;
        reel_core::ops::Operations {
            users: a.users.clone(),
            deletions: a.deletions.clone(),
            queue: a.queue.clone(),
        }
    }

    pub fn dispatcher(&self) -> Dispatcher {
        let a = &self.adapters;
        Dispatcher::new(
            a.deletions.clone(),
            a.queue.clone(),
            self.config.deletion.grace.as_secs() as i64,
        )
    }

    pub fn worker(&self) -> Worker {
        let a = &self.adapters;
        Worker::new(a.blobs.clone(), a.comments.clone(), a.deletions.clone())
    }

    /// The whole site in one process, with a worker long-polling the SQS queue.
    pub fn site(&self) -> anyhow::Result<Site> {
        let queue: Arc<dyn Queue> = Arc::new(
            SqsQueue::new(self.clients.sqs.clone(), &self.config.aws)
                .long_polling(WORKER_LONG_POLL_SECS),
        );
        Ok(Site {
            app: reel_http::site_app(self.state()?, axum::Router::new()),
            dispatcher: self.dispatcher(),
            worker: self.worker(),
            queue,
            uploads: None,
        })
    }
}
