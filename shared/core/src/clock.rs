//! Where "now" comes from. Everything that compares with the current time (session
//! expiry, URL expiry, throttling windows, timestamps of new items) asks a [`Clock`], so
//! tests can let time pass without sleeping ([`ManualClock`], `test-support` feature).

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

#[cfg(any(test, feature = "test-support"))]
pub use manual::ManualClock;

#[cfg(any(test, feature = "test-support"))]
mod manual {
    use super::Clock;
    use crate::domain::Timestamp;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A clock that stands still until a test moves it; clones share one time.
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = ManualClock::starting_now();
        let shared = clock.clone();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start.plus_seconds(90));
    }
}
