//! Test support shared by the workspace's tests and benchmarks: a moto server (the AWS
//! API emulator) started on a free loopback port, and a Lambda Runtime API emulator that
//! runs a compiled function binary and hands it events, and the workspace's function
//! binaries to run under it.

pub mod binaries;
pub mod media;
pub mod moto;
pub mod runtime_api;
