//! Lambda event handlers for the functions that are not HTTP: each turns an AWS event
//! into a call on the same job logic the local server runs, and its outcome into what
//! Lambda expects back. (HTTP functions need nothing here: `lambda_http` serves the
//! feature's router directly.)

mod deletion;
mod video_events;

pub use aws_lambda_events::event::eventbridge::EventBridgeEvent;
pub use aws_lambda_events::event::s3::S3Event;
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
pub use deletion::{on_deletion_batch, on_schedule};
pub use video_events::on_objects_created;
