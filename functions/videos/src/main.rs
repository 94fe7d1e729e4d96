//! The `videos` Lambda function: video metadata, listings, deletion and upload grants.
//! Everything but start-up lives in the library crates under `shared/`; see API.md
//! for the routes.

use reel_http::function_routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    reel_lambda::serve_uploads(function_routes::videos()).await
}
