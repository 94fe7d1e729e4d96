//! The `uploads` Lambda function: upload grants, and multipart uploads begun, listed,
//! completed and aborted in S3, the one HTTP function that carries an S3 client.
//! Everything but start-up lives in the library crates under `shared/`; see API.md
//! for the routes.

use reel_http::function_routes;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    reel_lambda::serve_uploads(function_routes::uploads()).await
}
