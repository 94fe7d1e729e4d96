//! The `deletion-worker` Lambda function: for each SQS message (a video id) removes the
//! object, the comments and the record; failures go back as batch item failures.

use lambda_runtime::{service_fn, LambdaEvent};
use reel_lambda::AwsFunction;
use reel_lambda::{SqsBatchResponse, SqsEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = AwsFunction::init().await?;
    let worker = &aws.worker();
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(
            reel_lambda::on_deletion_batch(worker, event.payload).await,
        )
    }))
    .await
}
