//! The moto set-up every AWS test shares, written once: settings naming tables, a
//! bucket and queues of the test's own on the shared moto server (so tests run in
//! parallel without seeing each other's data), and an AWS host provisioned on them.
#![allow(dead_code)] // each test binary uses its own part

use reel_core::settings::{AwsSettings, Settings};
use reel_server::aws::AwsHost;

/// Table, bucket and queue names no other test uses.
pub fn own_resources() -> AwsSettings {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
    AwsSettings {
        table_prefix: format!("t{tag}"),
        bucket: format!("b{tag}"),
        queue_name: format!("q{tag}"),
    }
}

/// The defaults, on resources of the test's own.
pub fn settings() -> Settings {
    Settings {
        aws: own_resources(),
        ..Settings::default()
    }
}

/// The SDK configuration that reaches the shared moto server.
pub async fn moto_sdk() -> aws_config::SdkConfig {
    reel_aws::emulator_sdk_config(&reel_testkit::moto::shared().endpoint).await
}

/// An AWS host on `settings`' resources, which it has just created on moto.
pub async fn provisioned_host(settings: &Settings) -> AwsHost {
    let host = AwsHost::new(&moto_sdk().await, settings).unwrap();
    host.provision().await.unwrap();
    host
}
