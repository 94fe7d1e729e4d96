//! The `comments` Lambda function: comments on videos.
//! Everything but start-up lives in the library crates under `shared/`; see API.md
//! for the routes.

use reel_http::function_routes;
use reel_lambda::AwsFunction;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    reel_lambda::run_http(function_routes::comments(), AwsFunction::metadata_state).await
}
