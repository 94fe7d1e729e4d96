//! One SDK configuration per process, loaded at init.

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The standard loader (region, credentials and endpoint overrides such as
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` from the environment) with one
/// HTTPS client on rustls + ring: the SDK's default client uses aws-lc-rs, whose entropy
/// self-test costs tens of milliseconds at every cold start. Credentials resolve lazily,
/// on first use.
pub fn sdk_config_loader() -> ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http)
}

/// The configuration from the environment, as every function and `reel serve --backend
/// aws` use it.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    sdk_config_loader().load().await
}

/// A configuration for an AWS emulator (moto) at `endpoint`, with its dummy region and
/// credentials, independent of the environment (tests run in parallel in one process).
pub async fn emulator_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "emulator");
    sdk_config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}
