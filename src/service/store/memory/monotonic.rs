//! The memory store's monotonic clock: the OS's, or, for tests and
//! benches that simulate time (feature `test-util`), a manual clock's.
//!
//! A record is dropped only once both the caller's clock and this one say
//! it has expired. With the OS's clock, a test or bench that simulates
//! hours in seconds would never see a record expire: its tables would
//! grow for the whole run instead of holding what a server that has run
//! for hours holds.

use std::time::Instant;

#[cfg(feature = "test-util")]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "test-util")]
use std::sync::Arc;

#[cfg(feature = "test-util")]
use crate::service::clock::{Clock, ManualClock};

/// Where a store's monotonic milliseconds come from.
#[derive(Debug)]
pub(crate) enum Monotonic {
    /// The OS's monotonic clock, from when the store was made.
    Os(Instant),
    /// A manual clock's seconds, as milliseconds, never going back (the
    /// latest reading is kept).
    #[cfg(feature = "test-util")]
    Manual {
        clock: Arc<ManualClock>,
        latest: AtomicU64,
    },
}

impl Monotonic {
    /// The OS's clock, from now.
    pub(crate) fn os() -> Monotonic {
        Monotonic::Os(Instant::now())
    }

    /// `clock`'s time (feature `test-util`).
    #[cfg(feature = "test-util")]
    pub(crate) fn manual(clock: Arc<ManualClock>) -> Monotonic {
        Monotonic::Manual {
            clock,
            latest: AtomicU64::new(0),
        }
    }

    /// Milliseconds now, rounded down; never less than before.
    pub(crate) fn now_ms(&self) -> u64 {
        match self {
            Monotonic::Os(epoch) => u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX),
            #[cfg(feature = "test-util")]
            Monotonic::Manual { clock, latest } => {
                let now = clock.now().saturating_mul(1000);
                latest.fetch_max(now, Ordering::Relaxed).max(now)
            }
        }
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_never_goes_back() {
        let clock = Arc::new(ManualClock::new(10));
        let mono = Monotonic::manual(clock.clone());
        assert_eq!(mono.now_ms(), 10_000);
        clock.advance(5);
        assert_eq!(mono.now_ms(), 15_000);
        clock.set(3);
        assert_eq!(mono.now_ms(), 15_000);
    }
}
