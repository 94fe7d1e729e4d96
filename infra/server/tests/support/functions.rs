//! The six HTTP Lambda functions as their binaries build them, for tests that serve a
//! function's events or requests without its process (`functions/<name>/src/main.rs`
//! each call `reel_lambda::serve_metadata`, `serve_objects` or `serve_uploads` with the
//! same routes).

use axum::Router;
use reel_http::function_routes;
use reel_lambda::{http_app, AwsFunction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Users,
    Sessions,
    /// Video metadata, poster grants and part URLs (signed offline).
    Videos,
    /// Upload grants and the multipart calls to S3.
    Uploads,
    Comments,
    Stream,
    /// Pages, static assets and the OpenAPI document.
    Web,
}

impl Function {
    /// What the function's binary serves: its routes, with the state it builds (only
    /// the byte-moving functions sign object-store URLs).
    pub fn app(self, aws: &AwsFunction) -> Router {
        let metadata = || aws.metadata_state().unwrap();
        let objects = || aws.object_state().unwrap();
        match self {
            Function::Users => http_app(function_routes::users(), metadata()),
            Function::Sessions => http_app(function_routes::sessions(), metadata()),
            Function::Videos => http_app(function_routes::videos(), objects()),
            Function::Uploads => http_app(function_routes::uploads(), aws.upload_state().unwrap()),
            Function::Comments => http_app(function_routes::comments(), metadata()),
            Function::Stream => http_app(function_routes::stream(), objects()),
            Function::Web => http_app(function_routes::web(), objects()),
        }
    }
}
