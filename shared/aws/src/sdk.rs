//! One SDK configuration per process, loaded at init.

use crate::http_client::Http1Client;
use anyhow::Context;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::time::Duration;

/// The HTTP client every SDK client of the process shares (see [`Http1Client`]).
fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(Http1Client::default())
}

/// The configuration of a Lambda function, from its environment alone: Lambda always
/// sets the region (`AWS_REGION`) and the role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and an emulator is named by
/// `AWS_ENDPOINT_URL`. Built without `aws-config`'s loader, so that the loader, its
/// credential and region chains, its profile-file parser and their STS client are not
/// linked into the function binaries at all (measured in the README). The settings the
/// loader would add are the SDK's defaults here too: standard retries (3 attempts) and
/// a 3.1 s connect timeout.
pub fn function_sdk_config() -> anyhow::Result<SdkConfig> {
    function_sdk_config_from(|key| std::env::var(key).ok())
}

fn function_sdk_config_from(env: impl Fn(&str) -> Option<String>) -> anyhow::Result<SdkConfig> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .context("AWS_REGION is not set (Lambda sets it)")?;
    let key = var("AWS_ACCESS_KEY_ID").context("AWS_ACCESS_KEY_ID is not set (Lambda sets it)")?;
    let secret = var("AWS_SECRET_ACCESS_KEY")
        .context("AWS_SECRET_ACCESS_KEY is not set (Lambda sets it)")?;
    let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "Lambda");
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client())
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .time_source(SharedTimeSource::default())
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(3100))
                .build(),
        );
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    Ok(config.build())
}

/// The standard loader (region, credentials and endpoint overrides such as
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` from the environment) with one
/// HTTP client of our own ([`Http1Client`]): the SDK's default client uses aws-lc-rs,
/// whose entropy self-test costs tens of milliseconds at every cold start. Credentials
/// resolve lazily, on first use, and so do the TLS root certificates.
pub fn sdk_config_loader() -> ConfigLoader {
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
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

#[cfg(test)]
mod tests {
    use super::function_sdk_config_from;
    use std::collections::HashMap;

    fn config_of(vars: &[(&str, &str)]) -> anyhow::Result<aws_config::SdkConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        function_sdk_config_from(|key| vars.get(key).cloned())
    }

    #[tokio::test]
    async fn a_functions_configuration_comes_from_lambdas_environment() {
        let config = config_of(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ])
        .unwrap();
        assert_eq!(config.region().unwrap().as_ref(), "eu-west-1");
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        use aws_credential_types::provider::ProvideCredentials;
        let credentials = config
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "AKID");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
        assert!(config.retry_config().unwrap().max_attempts() == 3);
    }

    #[test]
    fn a_missing_region_or_key_is_named() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        let error = config_of(&keys).unwrap_err().to_string();
        assert!(error.contains("AWS_REGION"), "{error}");
        let error = config_of(&[("AWS_DEFAULT_REGION", "us-east-1"), keys[0]])
            .unwrap_err()
            .to_string();
        assert!(error.contains("AWS_SECRET_ACCESS_KEY"), "{error}");
        assert!(config_of(&[("AWS_DEFAULT_REGION", "us-east-1"), keys[0], keys[1]]).is_ok());
    }
}
