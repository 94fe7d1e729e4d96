//! Reel's core: what every host and adapter shares and nothing else. Domain types that
//! parse their input, the ports (narrow async traits) the HTTP layer and the jobs call,
//! the deletion pipeline's jobs, cursor signing, settings, metrics and logging set-up.
//! No AWS SDK, no SQLite and no HTTP framework: the adapters crates (`reel-embedded`,
//! `reel-aws`) implement the ports, `reel-http` serves them, and the hosts compose.

pub mod clock;
pub mod domain;
pub mod jobs;
pub mod media;
pub mod metrics;
pub mod ops;
pub mod ports;
pub mod settings;
pub mod signing;
pub mod telemetry;
