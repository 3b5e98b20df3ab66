//! What a child process runs: one logger in one mode, ending in one result line.
//!
//! Latency. Every producer thread first logs a warm-up, not measured, then waits for the
//! others at a barrier and logs its measured events, all in chunks of [`CHUNK`] consecutive
//! calls followed by a sleep of [`PAUSE`]. The counter is read right before and right after
//! each call (mode `latency`), or around each whole chunk (mode `burst`, which reports the
//! chunk's time divided by its calls, so that the two counter reads weigh 1/20th). The
//! pause lets every logger's writer thread catch up between chunks, so the queue never
//! fills and what is measured is the cost of handing an event over, not of waiting for
//! room; it is a sleep rather than a spin so that on a machine with few cores the sleeping
//! producers leave the processors to the writer threads. Percentiles are taken over the
//! samples of all producers together.
//!
//! Throughput. One producer logs its events back to back; the time runs from the first
//! call until the logger has written everything and stopped. The records are then counted
//! by reading the files back.

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::{self, Calibration};
use crate::loggers::{dir_bytes, Event, Logger, Setup};

/// Consecutive calls between two pauses, and the calls per sample in mode `burst`.
pub const CHUNK: usize = 20;

/// The sleep after each chunk. Linux sleeps at least this long, usually some 50 µs more
/// (timer slack); at 20 events per chunk a producer logs at most some 130,000 events/s.
pub const PAUSE: Duration = Duration::from_micros(100);

/// How long the counter is compared with `Instant` at the start of a latency run.
const CALIBRATION_SPIN: Duration = Duration::from_millis(80);

/// What a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Each call timed on its own.
    Latency,
    /// Chunks of calls timed whole.
    Burst,
    /// Back-to-back calls from one producer, until all is written.
    Throughput,
    /// Throughput with a given queue capacity, for the peak memory it takes.
    Flood,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Latency => "latency",
            Mode::Burst => "burst",
            Mode::Throughput => "throughput",
            Mode::Flood => "flood",
        }
    }

    pub fn parse(text: &str) -> Result<Mode, String> {
        match text {
            "latency" => Ok(Mode::Latency),
            "burst" => Ok(Mode::Burst),
            "throughput" => Ok(Mode::Throughput),
            "flood" => Ok(Mode::Flood),
            other => Err(format!(
                "unknown mode {other}: latency, burst, throughput or flood"
            )),
        }
    }
}

/// One child's run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub logger: String,
    pub mode: Mode,
    /// Producer threads.
    pub threads: usize,
    /// Measured events per producer (latency) or in all (throughput).
    pub events: u64,
    /// Warm-up events per producer (latency only).
    pub warmup: u64,
    /// Queue capacity, where the run sets one.
    pub capacity: Option<usize>,
    /// A fresh directory for the logger's files.
    pub dir: PathBuf,
}

/// Latency percentiles, in nanoseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Percentiles {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub p9999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples`, which it sorts.
    pub fn of(samples: &mut [f64]) -> Option<Percentiles> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = (q * samples.len() as f64).ceil() as usize;
            samples[i.clamp(1, samples.len()) - 1]
        };
        Some(Percentiles {
            min: samples[0],
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            p999: rank(0.999),
            p9999: rank(0.9999),
            max: samples[samples.len() - 1],
            mean: samples.iter().sum::<f64>() / samples.len() as f64,
        })
    }
}

/// What a child prints (as JSON after `RESULT `) and the parent reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub logger: String,
    pub mode: String,
    pub threads: usize,
    /// Events measured: all producers' measured calls, or the throughput run's calls.
    pub events: u64,
    /// Events logged in all, warm-up included.
    pub logged: u64,
    /// Records found in the files afterwards (none for the empty logger).
    pub written: Option<u64>,
    /// `logged - written`.
    pub lost: Option<u64>,
    /// Drops the logger itself reports, where it counts them.
    pub reported_dropped: Option<u64>,
    /// Latency per call (latency and burst modes).
    pub latency: Option<Percentiles>,
    /// Samples the percentiles are taken from.
    pub samples: u64,
    /// From the first call until the logger stopped (throughput and flood modes).
    pub seconds: Option<f64>,
    /// From the first call until the last call returned.
    pub calls_seconds: Option<f64>,
    pub events_per_sec: Option<f64>,
    /// Bytes of all files written, per second of `seconds`, in 10^6 bytes.
    pub mb_per_sec: Option<f64>,
    pub bytes: u64,
    /// The child's peak resident set (VmHWM), read before the files are read back.
    pub peak_rss_kb: Option<u64>,
    pub capacity: Option<usize>,
    pub ticks_per_ns: Option<f64>,
    /// The counter's smallest step between two reads, in nanoseconds.
    pub counter_step_ns: Option<f64>,
    /// Runs this row stands for (the parent's repetitions).
    #[serde(default = "one")]
    pub runs: u32,
    /// The lowest and highest rate of the repetitions.
    #[serde(default)]
    pub events_per_sec_range: Option<(f64, f64)>,
}

fn one() -> u32 {
    1
}

/// Runs `plan` with logger `L`.
pub fn run<L: Logger>(plan: &Plan) -> Result<Outcome, String> {
    std::fs::create_dir_all(&plan.dir)
        .map_err(|e| format!("create {}: {e}", plan.dir.display()))?;
    match plan.mode {
        Mode::Latency => latency::<L>(plan, false),
        Mode::Burst => latency::<L>(plan, true),
        Mode::Throughput | Mode::Flood => throughput::<L>(plan),
    }
}

fn setup(plan: &Plan) -> Setup<'_> {
    Setup {
        name: &plan.logger,
        dir: &plan.dir,
        capacity: plan.capacity,
    }
}

fn latency<L: Logger>(plan: &Plan, burst: bool) -> Result<Outcome, String> {
    if !plan.events.is_multiple_of(CHUNK as u64) || !plan.warmup.is_multiple_of(CHUNK as u64) {
        return Err(format!("event counts must be multiples of {CHUNK}"));
    }
    let calibration = Calibration::measure(CALIBRATION_SPIN);
    let logger = L::start(&setup(plan))?;
    let barrier = Barrier::new(plan.threads);
    let ticks: Vec<Vec<u64>> = std::thread::scope(|s| {
        let producers: Vec<_> = (0..plan.threads)
            .map(|t| {
                let (logger, barrier) = (&logger, &barrier);
                std::thread::Builder::new()
                    .name(format!("producer-{t}"))
                    .spawn_scoped(s, move || {
                        produce(logger, t as u64, plan.warmup, plan.events, burst, barrier)
                    })
                    .expect("start a producer thread")
            })
            .collect();
        producers
            .into_iter()
            .map(|p| p.join().expect("a producer panicked"))
            .collect()
    });
    let reported_dropped = logger.finish()?;
    let peak_rss_kb = peak_rss_kb();

    let per_sample = if burst { CHUNK as f64 } else { 1.0 };
    let mut ns: Vec<f64> = ticks
        .iter()
        .flatten()
        .map(|&t| calibration.ns(t) / per_sample)
        .collect();
    let logged = plan.threads as u64 * (plan.warmup + plan.events);
    let written = L::count(&plan.dir)?;
    Ok(Outcome {
        logger: plan.logger.clone(),
        mode: plan.mode.name().to_owned(),
        threads: plan.threads,
        events: plan.threads as u64 * plan.events,
        logged,
        written,
        lost: written.map(|w| logged.saturating_sub(w)),
        reported_dropped,
        samples: ns.len() as u64,
        latency: Percentiles::of(&mut ns),
        seconds: None,
        calls_seconds: None,
        events_per_sec: None,
        mb_per_sec: None,
        bytes: dir_bytes(&plan.dir),
        peak_rss_kb,
        capacity: plan.capacity,
        ticks_per_ns: Some(calibration.ticks_per_ns),
        counter_step_ns: Some(calibration.step_ns),
        runs: 1,
        events_per_sec_range: None,
    })
}

/// One producer of a latency run: its warm-up, the barrier, then its measured chunks.
/// Returns counter ticks per call, or per chunk in burst mode.
fn produce<L: Logger>(
    logger: &L,
    thread: u64,
    warmup: u64,
    events: u64,
    burst: bool,
    barrier: &Barrier,
) -> Vec<u64> {
    let per_sample = if burst { CHUNK as u64 } else { 1 };
    // Room for every measured sample up front: the measured loop never reallocates.
    let mut samples = Vec::with_capacity((events.max(warmup) / per_sample) as usize);
    chunks(logger, thread, 0, warmup, burst, &mut samples);
    samples.clear();
    barrier.wait();
    chunks(logger, thread, warmup, events, burst, &mut samples);
    samples
}

/// Logs events `first..first + count` of `thread` in chunks, pausing after each.
fn chunks<L: Logger>(
    logger: &L,
    thread: u64,
    first: u64,
    count: u64,
    burst: bool,
    samples: &mut Vec<u64>,
) {
    let mut i = first;
    while i < first + count {
        // The values are made before the counter is read: only the call is measured.
        let batch: [Event; CHUNK] = std::array::from_fn(|k| Event::nth(thread, i + k as u64));
        if burst {
            let t0 = clock::start();
            for event in &batch {
                logger.log(event);
            }
            let t1 = clock::stop();
            samples.push(t1.wrapping_sub(t0));
        } else {
            for event in &batch {
                let t0 = clock::start();
                logger.log(event);
                let t1 = clock::stop();
                samples.push(t1.wrapping_sub(t0));
            }
        }
        i += CHUNK as u64;
        std::thread::sleep(PAUSE);
    }
}

fn throughput<L: Logger>(plan: &Plan) -> Result<Outcome, String> {
    let logger = L::start(&setup(plan))?;
    let start = Instant::now();
    for i in 0..plan.events {
        logger.log(&Event::nth(0, i));
    }
    let calls = start.elapsed();
    let reported_dropped = logger.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    let peak_rss_kb = peak_rss_kb();

    let bytes = dir_bytes(&plan.dir);
    let written = L::count(&plan.dir)?;
    Ok(Outcome {
        logger: plan.logger.clone(),
        mode: plan.mode.name().to_owned(),
        threads: 1,
        events: plan.events,
        logged: plan.events,
        written,
        lost: written.map(|w| plan.events.saturating_sub(w)),
        reported_dropped,
        latency: None,
        samples: 0,
        seconds: Some(seconds),
        calls_seconds: Some(calls.as_secs_f64()),
        events_per_sec: Some(plan.events as f64 / seconds),
        mb_per_sec: Some(bytes as f64 / seconds / 1e6),
        bytes,
        peak_rss_kb,
        capacity: plan.capacity,
        ticks_per_ns: None,
        counter_step_ns: None,
        runs: 1,
        events_per_sec_range: None,
    })
}

/// The process's peak resident set size in KiB (`VmHWM` in `/proc/self/status`).
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string(Path::new("/proc/self/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
