//! The cycle counter the latency runs read around each call, and its conversion to
//! nanoseconds.
//!
//! On x86-64 the time-stamp counter is read with a fence on each side of the first read and
//! `rdtscp` plus a fence for the second, so that the instructions of the measured call can
//! neither start before the first read nor finish after the second. Elsewhere the counter
//! is nanoseconds since a process-wide epoch, read from `Instant`.

use std::time::{Duration, Instant};

/// Reads the counter before the measured code.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn start() -> u64 {
    use core::arch::x86_64::{_mm_lfence, _rdtsc};
    // SAFETY: `lfence` and `rdtsc` exist on every x86-64 processor and touch no memory.
    unsafe {
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}

/// Reads the counter after the measured code.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn stop() -> u64 {
    use core::arch::x86_64::{__rdtscp, _mm_lfence};
    let mut processor = 0_u32;
    // SAFETY: `rdtscp` (checked for by `Calibration::measure` before any run) writes only
    // the processor id into the local it is given.
    unsafe {
        let t = __rdtscp(&mut processor);
        _mm_lfence();
        t
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Reads the counter before the measured code.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn start() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// Reads the counter after the measured code.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn stop() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// Reads the counter with no fence, for finding its resolution.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn raw() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 processor and touches no memory.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn raw() -> u64 {
    start()
}

/// What the counter is: the name printed with the results.
pub fn source() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "rdtsc/rdtscp with lfence"
    } else {
        "std::time::Instant"
    }
}

/// Whether the processor has `rdtscp` (CPUID leaf 0x8000_0001, EDX bit 27).
#[cfg(target_arch = "x86_64")]
fn has_rdtscp() -> bool {
    #[allow(unused_unsafe)]
    // SAFETY: `cpuid` exists on every x86-64 processor; the extended leaf is checked first.
    let (max, edx) = unsafe {
        let max = core::arch::x86_64::__cpuid(0x8000_0000).eax;
        let edx = if max >= 0x8000_0001 {
            core::arch::x86_64::__cpuid(0x8000_0001).edx
        } else {
            0
        };
        (max, edx)
    };
    max >= 0x8000_0001 && edx & (1 << 27) != 0
}

/// Counter ticks per nanosecond, measured against `Instant`.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    pub ticks_per_ns: f64,
    /// The smallest step seen between two consecutive reads, in nanoseconds: the
    /// counter's resolution as this machine delivers it.
    pub step_ns: f64,
}

impl Calibration {
    /// Spins for `spin`, reading both clocks at the ends, and takes the ratio.
    pub fn measure(spin: Duration) -> Calibration {
        #[cfg(target_arch = "x86_64")]
        assert!(has_rdtscp(), "this processor has no rdtscp instruction");
        // Settle first: the first reads can pay for page faults and frequency ramp-up.
        let _ = (start(), stop(), Instant::now());
        let t0 = Instant::now();
        let c0 = start();
        while t0.elapsed() < spin {
            std::hint::spin_loop();
        }
        let c1 = stop();
        let elapsed = t0.elapsed();
        let ticks = c1.wrapping_sub(c0) as f64;
        let ticks_per_ns = (ticks / elapsed.as_nanos() as f64).max(f64::MIN_POSITIVE);
        let mut step = u64::MAX;
        let mut last = raw();
        for _ in 0..100_000 {
            let now = raw();
            let d = now.wrapping_sub(last);
            if d > 0 {
                step = step.min(d);
            }
            last = now;
        }
        Calibration {
            ticks_per_ns,
            step_ns: step as f64 / ticks_per_ns,
        }
    }

    /// Converts a tick count to nanoseconds.
    pub fn ns(&self, ticks: u64) -> f64 {
        ticks as f64 / self.ticks_per_ns
    }
}
