//! The `deletion-dispatcher` Lambda function: on its EventBridge schedule, sends every
//! due deletion record to the SQS queue in batches of 10 (`reel_core::jobs::Dispatcher`).

use lambda_runtime::{service_fn, LambdaEvent};
use reel_lambda::AwsFunction;
use reel_lambda::EventBridgeEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = AwsFunction::init().await?;
    let dispatcher = &aws.dispatcher();
    lambda_runtime::run(service_fn(|_: LambdaEvent<EventBridgeEvent>| async move {
        reel_lambda::on_schedule(dispatcher)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
