//! The AWS host: the same routers and jobs on DynamoDB, S3 and SQS. Every Lambda
//! function builds one of these at init; `reel serve --backend aws` runs the whole site
//! on it in one process (against AWS or an emulator such as moto).

use crate::adapters::aws::{
    load_sdk_config, provision, AwsAdapters, AwsClients, AwsSettings, SqsQueue,
};
use crate::aws_function::AwsFunction;
use crate::config::Config;
use crate::http::AppState;
use crate::jobs::{Dispatcher, Worker};
use crate::local_host::Site;
use crate::ports::Queue;
use crate::signing::Signer;
use anyhow::Context;
use std::sync::Arc;

/// How long the in-process worker's receive waits for a message.
const WORKER_LONG_POLL_SECS: u8 = 2;

#[derive(Clone)]
pub struct AwsHost {
    pub sdk: aws_config::SdkConfig,
    pub clients: AwsClients,
    pub settings: AwsSettings,
    pub adapters: AwsAdapters,
    pub config: Arc<Config>,
}

impl AwsHost {
    /// Clients from the environment's SDK configuration, resources from `REEL_*`.
    pub async fn from_env(config: &Config) -> anyhow::Result<Self> {
        let sdk = load_sdk_config().await;
        Self::new(&sdk, AwsSettings::from_env(), config)
    }

    pub fn new(
        sdk: &aws_config::SdkConfig,
        settings: AwsSettings,
        config: &Config,
    ) -> anyhow::Result<Self> {
        let clients = AwsClients::new(sdk);
        let adapters = AwsAdapters::new(sdk, &clients, &settings, config)?;
        Ok(Self {
            sdk: sdk.clone(),
            clients,
            settings,
            adapters,
            config: Arc::new(config.clone()),
        })
    }

    /// One Lambda function's view of the same resources: what its binary builds at init.
    pub fn function(&self) -> AwsFunction {
        AwsFunction::new(self.sdk.clone(), self.settings.clone(), &self.config)
    }

    /// What the HTTP handlers need. Cursors are signed with `REEL_CURSOR_KEY`, which
    /// every function shares, so a cursor from one instance works on any other.
    pub fn state(&self) -> anyhow::Result<AppState> {
        let key = self
            .config
            .cursor_key
            .context("REEL_CURSOR_KEY (32 bytes, base64) is required on AWS")?;
        let a = &self.adapters;
        Ok(AppState {
            users: a.users.clone(),
            sessions: a.sessions.clone(),
            videos: a.videos.clone(),
            comments: a.comments.clone(),
            blob_urls: Some(a.urls.clone()),
            config: self.config.clone(),
            cursors: Signer::new(key),
        })
    }

    /// Creates whatever table, bucket and queue is missing.
    pub async fn provision(&self) -> anyhow::Result<()> {
        provision(&self.clients, &self.settings, &self.config).await
    }

    /// The operator commands' ports (`reel deletions ...`, `reel users ...`).
    pub fn operations(&self) -> crate::ops::Operations {
        let a = &self.adapters;
        crate::ops::Operations {
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
            self.config.deletion_grace_secs,
        )
    }

    pub fn worker(&self) -> Worker {
        let a = &self.adapters;
        Worker::new(a.blobs.clone(), a.comments.clone(), a.deletions.clone())
    }

    /// The whole site in one process, with a worker long-polling the SQS queue.
    pub fn site(&self) -> anyhow::Result<Site> {
        let queue: Arc<dyn Queue> = Arc::new(
            SqsQueue::new(self.clients.sqs.clone(), &self.settings)
                .long_polling(WORKER_LONG_POLL_SECS),
        );
        Ok(Site {
            app: crate::http::site_app(self.state()?, None),
            dispatcher: self.dispatcher(),
            worker: self.worker(),
            queue,
        })
    }
}
