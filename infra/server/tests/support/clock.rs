//! A clock that stands still until a test moves it, so tests let time pass without
//! sleeping (session and URL expiry, the order of items made one after another).

use reel_core::clock::Clock;
use reel_core::domain::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the system's current time (stores compare with real times too).
    pub fn starting_now() -> Self {
        Self(Arc::new(AtomicI64::new(Timestamp::now().as_micros())))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_micros() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.load(Ordering::SeqCst))
    }
}
