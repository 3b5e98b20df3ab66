//! Time: the caller's cheap tick counter, its conversion to wall time, and the writer's
//! clock for the file layer.
//!
//! A caller only reads a tick counter: on x86-64 with an invariant time-stamp counter, the
//! TSC (one instruction, about a quarter of the cost of `clock_gettime` on a virtual
//! machine); elsewhere, the monotonic clock in nanoseconds. Turning ticks into nanoseconds
//! since the Unix epoch happens later, on the thread that reads the record.
//!
//! The conversion is linear from an anchor: a tick count and the wall time read together.
//! The rate starts from a 1 ms calibration and is refined from an ever longer baseline
//! against the monotonic clock; the anchor is renewed about once a second, so that wall
//! clock adjustments (NTP) show up within a second and the rate's error cannot build up.
//! A crate such as `quanta` does the tick half, but brings dependencies that library
//! crates using only the facade should not get, and has no notion of wall time.

use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, UTC, from the system clock; 0 before 1970.
#[inline]
pub(crate) fn now_nanos() -> u64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}

const UNSET: u8 = 0;
const TSC: u8 = 1;
const MONOTONIC: u8 = 2;

/// Which tick source this process uses; chosen once, at the first tick.
static SOURCE: AtomicU8 = AtomicU8::new(UNSET);

/// The caller's timestamp: raw ticks, converted by [`ticks_to_nanos`].
#[inline(always)]
pub(crate) fn now_ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if SOURCE.load(Ordering::Relaxed) == TSC {
        // SAFETY: RDTSC exists on every x86-64 processor, and TSC is chosen only when the
        // processor says the counter is invariant.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    ticks_slow()
}

#[cold]
#[inline(never)]
fn ticks_slow() -> u64 {
    calibration();
    if SOURCE.load(Ordering::Relaxed) == TSC {
        return read_tsc();
    }
    monotonic_nanos()
}

/// Nanoseconds on the monotonic clock since the first time it was asked for.
fn monotonic_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(target_arch = "x86_64")]
fn read_tsc() -> u64 {
    // SAFETY: as in `now_ticks`.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn read_tsc() -> u64 {
    monotonic_nanos()
}

/// Whether the processor's time-stamp counter runs at a constant rate through power
/// states (CPUID leaf 0x8000_0007, EDX bit 8), so that ticks measure time.
#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    use core::arch::x86_64::__cpuid;
    if std::env::var_os("TRAIL_NO_TSC").is_some() {
        return false;
    }
    // SAFETY: CPUID exists on every x86-64 processor; the extended leaf is read only when
    // the processor reports it. (Newer compilers consider the intrinsic safe.)
    #[allow(unused_unsafe)]
    unsafe {
        __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn invariant_tsc() -> bool {
    false
}

/// The linear map from ticks to wall time, behind a sequence lock so that any thread can
/// read it while the one that renews it writes.
struct Calibration {
    /// Even when stable, odd while being written.
    version: AtomicU64,
    anchor_ticks: AtomicU64,
    anchor_nanos: AtomicU64,
    /// Nanoseconds per tick, in 32.32 fixed point.
    rate: AtomicU64,
    /// Ticks after which the anchor is renewed.
    renew_at: AtomicU64,
    /// The first reading, for the rate's baseline, and the renewer's lock.
    base: Mutex<(u64, Instant)>,
}

/// Ticks between renewals of the anchor: about a second.
const RENEW_NANOS: u64 = 1_000_000_000;

fn calibration() -> &'static Calibration {
    static CALIBRATION: OnceLock<Calibration> = OnceLock::new();
    CALIBRATION.get_or_init(|| {
        let tsc = invariant_tsc();
        let (ticks, instant, rate) = if tsc {
            // A first estimate of the rate over 1 ms; later renewals refine it.
            let (t0, i0) = paired(Instant::now);
            while i0.elapsed().as_nanos() < 1_000_000 {
                std::hint::spin_loop();
            }
            let (t1, i1) = paired(Instant::now);
            let rate = fixed_rate(i1.duration_since(i0).as_nanos(), t1.wrapping_sub(t0));
            (t0, i0, rate)
        } else {
            (monotonic_nanos(), Instant::now(), 1 << 32)
        };
        let (anchor_ticks, anchor_nanos) = if tsc {
            paired(now_nanos)
        } else {
            (monotonic_nanos(), now_nanos())
        };
        SOURCE.store(if tsc { TSC } else { MONOTONIC }, Ordering::Relaxed);
        Calibration {
            version: AtomicU64::new(0),
            anchor_ticks: AtomicU64::new(anchor_ticks),
            anchor_nanos: AtomicU64::new(anchor_nanos),
            rate: AtomicU64::new(rate),
            renew_at: AtomicU64::new(anchor_ticks.saturating_add(ticks_for(RENEW_NANOS, rate))),
            base: Mutex::new((ticks, instant)),
        }
    })
}

/// A reading of `clock` and the counter's ticks at the same moment: the counter is read
/// just before and just after, and of a few tries the one whose two readings lie closest
/// together gives their midpoint. A thread preempted between the two readings of a
/// single try would otherwise pair the clock with ticks from later, and an interval of a
/// millisecond measured that way can be off by several per cent.
fn paired<T>(clock: impl Fn() -> T) -> (u64, T) {
    let mut best: Option<(u64, u64, T)> = None;
    for _ in 0..5 {
        let before = read_tsc();
        let reading = clock();
        let after = read_tsc();
        let gap = after.wrapping_sub(before);
        if best.as_ref().is_none_or(|(closest, _, _)| gap < *closest) {
            best = Some((gap, before.wrapping_add(gap / 2), reading));
        }
    }
    let (_, ticks, reading) = best.expect("five tries");
    (ticks, reading)
}

/// Nanoseconds per tick in 32.32 fixed point, from a measured interval.
fn fixed_rate(nanos: u128, ticks: u64) -> u64 {
    if ticks == 0 {
        return 1 << 32;
    }
    u64::try_from((nanos << 32) / u128::from(ticks)).unwrap_or(u64::MAX)
}

/// Ticks in `nanos` at `rate`.
fn ticks_for(nanos: u64, rate: u64) -> u64 {
    u64::try_from((u128::from(nanos) << 32) / u128::from(rate.max(1))).unwrap_or(u64::MAX)
}

/// Makes sure the tick source is chosen and calibrated; installing a sink calls it, so
/// that no event pays for the calibration.
pub(crate) fn init() {
    calibration();
}

/// Wall time, in nanoseconds since the Unix epoch, of a tick count taken by [`now_ticks`]
/// in this process.
pub(crate) fn ticks_to_nanos(ticks: u64) -> u64 {
    let cal = calibration();
    if ticks >= cal.renew_at.load(Ordering::Relaxed) {
        renew(cal);
    }
    let (anchor_ticks, anchor_nanos, rate) = loop {
        let before = cal.version.load(Ordering::Acquire);
        let read = (
            cal.anchor_ticks.load(Ordering::Relaxed),
            cal.anchor_nanos.load(Ordering::Relaxed),
            cal.rate.load(Ordering::Relaxed),
        );
        fence(Ordering::Acquire);
        if before & 1 == 0 && cal.version.load(Ordering::Relaxed) == before {
            break read;
        }
        std::hint::spin_loop();
    };
    let delta = i128::from(ticks) - i128::from(anchor_ticks);
    let nanos = i128::from(anchor_nanos) + ((delta * i128::from(rate)) >> 32);
    u64::try_from(nanos.max(0)).unwrap_or(u64::MAX)
}

/// Takes a new anchor and refines the rate over the whole time since the first reading.
#[cold]
fn renew(cal: &Calibration) {
    // One renewer at a time; a thread that finds the lock taken uses the current anchor.
    let Ok(base) = cal.base.try_lock() else {
        return;
    };
    let tsc = SOURCE.load(Ordering::Relaxed) == TSC;
    let ticks = if tsc { read_tsc() } else { monotonic_nanos() };
    if ticks < cal.renew_at.load(Ordering::Relaxed) {
        return;
    }
    let (ticks, (instant, nanos)) = if tsc {
        paired(|| (Instant::now(), now_nanos()))
    } else {
        (monotonic_nanos(), (Instant::now(), now_nanos()))
    };
    let rate = if tsc {
        fixed_rate(
            instant.duration_since(base.1).as_nanos(),
            ticks.wrapping_sub(base.0),
        )
    } else {
        1 << 32
    };
    let version = cal.version.load(Ordering::Relaxed);
    cal.version.store(version + 1, Ordering::Relaxed);
    fence(Ordering::Release);
    cal.anchor_ticks.store(ticks, Ordering::Relaxed);
    cal.anchor_nanos.store(nanos, Ordering::Relaxed);
    cal.rate.store(rate, Ordering::Relaxed);
    cal.version.store(version + 2, Ordering::Release);
    cal.renew_at.store(
        ticks.saturating_add(ticks_for(RENEW_NANOS, rate)),
        Ordering::Relaxed,
    );
}

/// The writer's clock: decides when segments rotate, names them and dates the manifest.
///
/// Events keep the timestamp their caller took; this clock only steers the file layer.
/// [`SystemClock`] is the default; [`ManualClock`](crate::testing::ManualClock) lets tests
/// move time by hand.
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
/// Give it to the writer with [`Builder::clock`](crate::Builder::clock) and keep a clone:
/// rotation by time, segment names and the manifest's dates then follow the clone, so
/// that a test of time-based rotation moves time forward instead of sleeping. Events keep
/// the timestamps their callers took.
///
/// ```
/// use std::time::Duration;
/// use trail::testing::ManualClock;
/// use trail::Clock;
///
/// let clock = ManualClock::new(1_000);
/// let handle = clock.clone();
/// handle.advance(Duration::from_secs(1));
/// assert_eq!(clock.now_nanos(), 1_000_001_000);
///
/// # let dir = tempfile::tempdir().unwrap();
/// let _guard = trail::builder()
///     .dir(dir.path())
///     .rotate_every(trail::Period::Hour)
///     .clock(clock.clone())
///     .install()?;
/// clock.advance(Duration::from_secs(3600)); // the next event opens a new segment
/// # Ok::<(), trail::Error>(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_to_the_wall_clock() {
        let before = now_nanos();
        let ticks = now_ticks();
        let after = now_nanos();
        let converted = ticks_to_nanos(ticks);
        // The conversion's error is the calibration's: well under a millisecond.
        assert!(
            converted + 1_000_000 >= before && converted <= after + 1_000_000,
            "{before} <= {converted} <= {after}, within 1 ms"
        );
    }

    #[test]
    fn a_paired_reading_skips_a_try_that_was_held_up() {
        let tries = std::cell::Cell::new(0);
        let (ticks, reading) = paired(|| {
            let n = tries.get();
            tries.set(n + 1);
            if n == 0 {
                // As if the thread were preempted between the counter and the clock.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (n, read_tsc())
        });
        assert_eq!(tries.get(), 5);
        assert_ne!(reading.0, 0, "the held-up try is not the one kept");
        // The ticks kept are those around the reading kept.
        assert!(
            ticks.abs_diff(reading.1)
                < ticks_for(1_000_000, calibration().rate.load(Ordering::Relaxed))
        );
    }

    #[test]
    fn ticks_measure_elapsed_time() {
        let t0 = now_ticks();
        let i0 = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let t1 = now_ticks();
        let elapsed = i0.elapsed().as_nanos() as i128;
        let measured = i128::from(ticks_to_nanos(t1)) - i128::from(ticks_to_nanos(t0));
        // Within 2% over 50 ms: the rate is right, whichever source was chosen.
        assert!(
            (measured - elapsed).abs() * 50 < elapsed,
            "ticks say {measured} ns, the monotonic clock {elapsed} ns"
        );
    }

    #[test]
    fn later_ticks_are_never_earlier() {
        let mut last = ticks_to_nanos(now_ticks());
        for _ in 0..10_000 {
            let now = ticks_to_nanos(now_ticks());
            assert!(now + 1_000 >= last, "{now} went back from {last}");
            last = now;
        }
    }

    #[test]
    fn fixed_point_rates() {
        assert_eq!(fixed_rate(1_000, 1_000), 1 << 32);
        assert_eq!(fixed_rate(1_000, 2_000), 1 << 31);
        assert_eq!(fixed_rate(5, 0), 1 << 32);
        assert_eq!(ticks_for(1_000, 1 << 31), 2_000);
    }
}
