//! The `deletion-dispatcher` Lambda function: on its EventBridge schedule, sends every
//! due deletion record to the SQS queue in batches of 10 (`reel_core::jobs::Dispatcher`).

use lambda_runtime::{service_fn, LambdaEvent};
use reel_core::config::Config;
use reel_lambda::AwsFunction;
use reel_lambda::EventBridgeEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env()?;
    reel_core::telemetry::init(config.log_json);
    let aws = AwsFunction::from_env(&config).await;
    let dispatcher = &aws.dispatcher();
    // The DynamoDB connection opens while the runtime polls for the first event.
    aws.warm_up();
    lambda_runtime::run(service_fn(|_: LambdaEvent<EventBridgeEvent>| async move {
        reel_lambda::on_schedule(dispatcher)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
