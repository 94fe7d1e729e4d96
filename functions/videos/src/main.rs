//! The `videos` Lambda function: video metadata, listings, deletion and upload grants.
//! Everything but start-up lives in the `reel` library; see API.md for the routes.

use reel::aws_host::AwsHost;
use reel::config::Config;
use reel::http::{function_app, Function};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    reel::telemetry::init(config.log_json);
    // Clients are built once per instance; the DynamoDB connection opens meanwhile.
    let aws = AwsHost::from_env(&config).await;
    aws.warm_up();
    lambda_http::run(function_app(Function::Videos, aws.state()?)).await
}
