//! The `videos` Lambda function: video metadata, listings, deletion, poster grants and
//! multipart uploads' part URLs (signed offline: it carries no S3 client).
//! Everything but start-up lives in the library crates under `shared/`; see API.md
//! for the routes.

use reel_http::function_routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    reel_lambda::serve_objects(function_routes::videos()).await
}
