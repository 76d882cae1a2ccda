//! The service's clock, injectable so that tests can move time.

#[cfg(feature = "test-util")]
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of the current time in Unix seconds. Injectable so tests can
/// move time.
pub trait Clock: Send + Sync {
    /// Now, Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that moves only when told (for tests; feature `test-util`).
#[cfg(feature = "test-util")]
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

#[cfg(feature = "test-util")]
impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: u64) -> ManualClock {
        ManualClock(AtomicU64::new(now))
    }

    /// Sets the time.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

#[cfg(feature = "test-util")]
impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
