//! The `video-events` Lambda function: an S3 `ObjectCreated` notification turns the
//! video `ready` with its size (idempotent; see `reel_lambda::on_objects_created`).

use lambda_runtime::{service_fn, LambdaEvent};
use reel_lambda::AwsFunction;
use reel_lambda::S3Event;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let aws = AwsFunction::init().await?;
    let videos = &aws.confirming_videos();
    lambda_runtime::run(service_fn(|event: LambdaEvent<S3Event>| async move {
        reel_lambda::on_objects_created(videos, event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
