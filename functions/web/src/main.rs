//! The `web` Lambda function: pages, static assets and the OpenAPI document.
//! Everything but start-up lives in the `reel` library; see API.md for the routes.

use reel::aws_function::AwsFunction;
use reel::config::Config;
use reel::http::{function_app, function_routes};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = Config::from_env()?;
    reel::telemetry::init(config.log_json);
    // Clients are built once per instance, only those this function's routes use; the
    // DynamoDB connection opens while the runtime polls for the first event.
    let aws = AwsFunction::from_env(&config).await;
    let state = aws.metadata_state()?;
    aws.warm_up();
    lambda_http::run(function_app(function_routes::web(), state)).await
}
