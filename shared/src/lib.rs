//! Reel: a video-sharing site built as serverless functions on object storage.
//!
//! This library holds everything but the thin binaries: domain types, ports and their
//! adapters, the HTTP routers, and configuration. The same routers run in the local
//! server (`infra/local`) and, one feature each, in the Lambda functions.

pub mod adapters;
pub mod aws_function;
pub mod aws_host;
pub mod config;
pub mod connections;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod lambda;
pub mod local_host;
pub mod metrics;
pub mod ops;
pub mod ports;
pub mod signing;
pub mod telemetry;
