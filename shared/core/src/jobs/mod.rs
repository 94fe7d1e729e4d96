//! The deletion pipeline (the original's scheduler, made durable), free of Lambda types so
//! every host runs the same code: the *dispatcher* sends pending deletion records to the
//! queue; the *worker* removes a video's bytes, comments and record. `runner` drives both
//! on an interval and a polling loop inside a long-running process (the local server).

mod dispatcher;
pub mod runner;
mod worker;

pub use dispatcher::Dispatcher;
pub use worker::{BatchOutcome, Worker};
