//! Adapters behind the ports. `local`: SQLite + filesystem, the embedded default; `aws`: DynamoDB, S3 and SQS.
pub mod aws;
pub mod local;
