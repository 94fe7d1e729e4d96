//! One SDK configuration per process, loaded at init.

use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The standard loader (region, credentials and endpoint overrides such as
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` from the environment) with one
/// HTTPS client on rustls + ring: the SDK's default client uses aws-lc-rs, whose entropy
/// self-test costs tens of milliseconds at every cold start. Credentials resolve lazily,
/// on first use, and so do the TLS root certificates (see [`DeferredTrustStore`]).
pub fn sdk_config_loader() -> ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(DeferredTrustStore(https));
    environment_first(loader, |key| std::env::var(key).ok())
}

/// Region and credentials straight from the environment when it has them, as it always
/// does in Lambda. The default chains would pick the same values (the environment comes
/// first in both), but building them constructs an STS client for web-identity and
/// assume-role credentials, with its endpoint rules parsed: a third of a function's
/// start-up work, for a provider that is never asked.
fn environment_first(loader: ConfigLoader, env: impl Fn(&str) -> Option<String>) -> ConfigLoader {
    let region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    let loader = match region.filter(|r| !r.is_empty()) {
        Some(region) => loader.region(aws_config::Region::new(region)),
        None => loader,
    };
    let has_keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|key| env(key).is_some_and(|v| !v.is_empty()));
    if has_keys {
        loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
    } else {
        loader
    }
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

/// The smithy HTTPS client, minus its eager trust-store load.
///
/// The smithy client builds a TLS connector while each SDK client is *constructed*, so
/// the platform's root certificates (the bundle plus every file in `/etc/ssl/certs`,
/// a few hundred files) are read and parsed before a Lambda function can poll for its
/// first event: measured at ~4 ms of a ~6 ms cold start. Delegating everything but that
/// validation hook moves the load to the first request, which the functions make in a
/// background warm-up task (`AwsFunction::warm_up`) while the runtime already polls.
#[derive(Debug)]
struct DeferredTrustStore(SharedHttpClient);

impl HttpClient for DeferredTrustStore {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}
