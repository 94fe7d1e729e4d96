//! The Reel server: the whole site in one process. [`site`] builds it on embedded
//! storage (SQLite + files) and serves it; [`aws`] builds the same site on DynamoDB, S3
//! and SQS (`reel serve --backend aws`); [`connections`] is the accept loop both use.

pub mod aws;
pub mod connections;
pub mod fd_limit;
pub mod site;
