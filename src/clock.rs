//! The caller's clock: wall time in nanoseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, UTC; 0 if the system clock is before 1970.
#[inline]
pub(crate) fn now_nanos() -> u64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}

/// The writer's clock: decides when segments rotate, names them and dates the manifest.
///
/// Events keep the timestamp their caller took; this clock only steers the file layer.
/// [`SystemClock`] is the default; [`ManualClock`] lets tests move time by hand.
#[cfg(feature = "writer")]
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds since the Unix epoch, UTC.
    fn now_nanos(&self) -> u64;
}

/// The system's wall clock.
#[cfg(feature = "writer")]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(feature = "writer")]
impl Clock for SystemClock {
    fn now_nanos(&self) -> u64 {
        now_nanos()
    }
}

/// A clock that moves only when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use trail::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// let handle = clock.clone();
/// handle.advance(Duration::from_secs(1));
/// assert_eq!(clock.now_nanos(), 1_000_001_000);
/// ```
#[cfg(feature = "writer")]
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[cfg(feature = "writer")]
impl ManualClock {
    /// A clock standing at `nanos` since the Unix epoch.
    pub fn new(nanos: u64) -> Self {
        ManualClock {
            nanos: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(nanos)),
        }
    }

    /// Moves the clock to `nanos` since the Unix epoch (backwards too).
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_add(by, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(feature = "writer")]
impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(std::sync::atomic::Ordering::SeqCst)
    }
}
