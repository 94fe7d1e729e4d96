//! The Lambda host: what each function builds at init ([`AwsFunction`]: the SDK
//! configuration, then only the clients and adapters its own code calls), the HTTP
//! functions' start ([`serve_metadata`], [`serve_objects`]), and the event handlers of the functions that are
//! not HTTP: each turns an AWS event into a call on the same job logic the local server
//! runs, and its outcome into what Lambda expects back.

mod deletion;
mod function;
mod http;
mod video_events;

pub use aws_lambda_events::event::eventbridge::EventBridgeEvent;
pub use aws_lambda_events::event::s3::S3Event;
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
pub use deletion::{on_deletion_batch, on_schedule};
pub use function::AwsFunction;
pub use http::{for_gateway, http_app, serve_metadata, serve_objects, serve_uploads, GatewayReply};
pub use video_events::on_objects_created;
