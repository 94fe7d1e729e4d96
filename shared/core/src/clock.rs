//! Where "now" comes from. Everything that compares with the current time (session
//! expiry, URL expiry, throttling windows, timestamps of new items) asks a [`Clock`], so
//! tests can let time pass without sleeping (the server's tests have a manual clock).

use crate::domain::Timestamp;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's clock: what every host runs with.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
