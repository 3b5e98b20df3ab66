//! The loggers compared, each behind the same small interface: start writing into a
//! directory, log the standard event, finish (write everything and stop), and count the
//! records in the files afterwards.
//!
//! Every logger logs the same event: level info, an actor, the message `request handled`
//! and four fields (`request_id: u64`, `status: u32`, `latency_ms: f64`, `path: &str`).
//! Where a logger has structured fields and a JSON lines output, the fields are JSON keys.
//! ftlog and fast_log pass only the formatted message to their writers, so there the fields
//! are written into the message as `key=value` pairs.
//!
//! Queues that have a size and a full-queue policy are given trail's default size and told
//! to block when full, so that no logger gains speed by dropping events and all hold about
//! the same number of events in memory.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Events a queue holds, for every logger whose queue has a configurable size: trail's
/// default capacity.
pub const QUEUE: usize = 16 * 1024;

/// The paths the events cycle through.
const PATHS: [&str; 4] = [
    "/api/v1/orders",
    "/api/v1/users",
    "/api/v1/cart",
    "/healthz",
];

/// The standard event's values.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub actor: u64,
    pub request_id: u64,
    pub status: u32,
    pub latency_ms: f64,
    pub path: &'static str,
}

impl Event {
    /// The `i`th event of producer `thread`: cheap arithmetic, the same for every logger.
    #[inline(always)]
    pub fn nth(thread: u64, i: u64) -> Event {
        Event {
            actor: 1000 + i % 5000,
            request_id: thread << 40 | i,
            status: if i.is_multiple_of(50) { 503 } else { 200 },
            latency_ms: 0.25 + (i % 100) as f64 * 0.125,
            path: PATHS[(i % 4) as usize],
        }
    }
}

/// What a logger is started with.
pub struct Setup<'a> {
    /// The logger's name, as on the command line (`trail-json`, `tracing`, ...).
    pub name: &'a str,
    /// A fresh, empty directory for its files.
    pub dir: &'a Path,
    /// Queue capacity, where the run sets one (trail's flood runs).
    pub capacity: Option<usize>,
}

/// One logger under test.
pub trait Logger: Sync + Sized {
    /// Installs the logger, writing into `setup.dir`.
    fn start(setup: &Setup) -> Result<Self, String>;

    /// Logs one standard event.
    fn log(&self, event: &Event);

    /// Writes out everything logged and stops the logger's threads. Returns the number of
    /// events the logger itself reports as dropped, when it counts them.
    fn finish(self) -> Result<Option<u64>, String>;

    /// The records in the files written to `dir`, read back after `finish`; `None` for a
    /// logger that writes nothing.
    fn count(dir: &Path) -> Result<Option<u64>, String> {
        count_lines(dir).map(Some)
    }
}

/// The names accepted by `--child` and `--only`, in the order of the report.
pub const ALL: [&str; 12] = [
    "trail-json",
    "trail-csv",
    "trail-text",
    "trail-bincode",
    "tracing",
    "slog",
    "spdlog",
    "ftlog",
    "fast_log",
    "log4rs",
    "baseline",
    "none",
];

/// How each logger is configured, for the report.
pub fn describe(name: &str) -> &'static str {
    match name {
        "trail-json" => "trail, JSON lines, queue 16384, policy Block",
        "trail-csv" => "trail, CSV, queue 16384, policy Block",
        "trail-text" => "trail, text lines, queue 16384, policy Block",
        "trail-bincode" => "trail, binary frames, queue 16384, policy Block",
        "tracing" => {
            "tracing-subscriber fmt().json() + tracing-appender non_blocking (lossy(false), 16384 lines)"
        }
        "slog" => "slog + slog-json + slog-async (chan_size 16384, OverflowStrategy::Block)",
        "spdlog" => {
            "spdlog-rs AsyncPoolSink (capacity 16384, OverflowPolicy::Block) around FileSink + JsonFormatter"
        }
        "ftlog" => "ftlog, bounded(16384, block), UTC, FileAppender; fields in the message",
        "fast_log" => {
            "fast_log, chan_len 16384, FastLogFormatJson (UTC), file appender; fields in the message"
        }
        "log4rs" => "log4rs FileAppender + JsonEncoder (log_kv); synchronous: log4rs has no async appender",
        "baseline" => "serde_json::to_writer into a Mutex<BufWriter<File>> on the caller's thread",
        "none" => "no logger: the call is empty, measuring the harness (two counter reads)",
        _ => "",
    }
}

/// Whether `name` is a peer: neither trail nor one of the references.
pub fn is_peer(name: &str) -> bool {
    !name.starts_with("trail") && name != "baseline" && name != "none"
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Counts newline bytes in every file of `dir`.
pub fn count_lines(dir: &Path) -> Result<u64, String> {
    let mut lines = 0_u64;
    let mut buf = vec![0_u8; 1 << 20];
    for entry in std::fs::read_dir(dir).map_err(|e| err("read the run directory", e))? {
        let path = entry.map_err(|e| err("list the run directory", e))?.path();
        if !path.is_file() {
            continue;
        }
        let mut file = File::open(&path).map_err(|e| err(&path.display().to_string(), e))?;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| err(&path.display().to_string(), e))?;
            if n == 0 {
                break;
            }
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
    Ok(lines)
}

/// The bytes of every file in `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// trail

/// trail, in the format named by the suffix of the logger's name.
pub struct Trail {
    guard: trail::Guard,
}

const TRAIL_STREAM: &str = "perf";

impl Logger for Trail {
    fn start(setup: &Setup) -> Result<Self, String> {
        let format = match setup.name {
            "trail-json" => trail::Format::Json,
            "trail-csv" => trail::Format::Csv,
            "trail-text" => trail::Format::Text,
            "trail-bincode" => trail::Format::Binary,
            other => return Err(format!("no trail format for {other}")),
        };
        let mut builder = trail::builder()
            .dir(setup.dir)
            .name(TRAIL_STREAM)
            .format(format)
            .level(trail::LevelFilter::Info);
        if let Some(capacity) = setup.capacity {
            builder = builder.capacity(capacity);
        }
        let guard = builder.install().map_err(|e| err("install trail", e))?;
        Ok(Trail { guard })
    }

    #[inline]
    fn log(&self, e: &Event) {
        let (actor, request_id, status, latency_ms, path) =
            (e.actor, e.request_id, e.status, e.latency_ms, e.path);
        trail::info!(
            actor = actor,
            request_id,
            status,
            latency_ms,
            path,
            "request handled"
        );
    }

    fn finish(self) -> Result<Option<u64>, String> {
        let stats = self.guard.shutdown();
        Ok(Some(stats.dropped))
    }

    fn count(dir: &Path) -> Result<Option<u64>, String> {
        let reader =
            trail::read::open_stream(dir, TRAIL_STREAM).map_err(|e| err("open the stream", e))?;
        let mut records = 0_u64;
        for record in reader {
            record.map_err(|e| err("read back", e))?;
            records += 1;
        }
        Ok(Some(records))
    }
}

// ---------------------------------------------------------------------------------------
// tracing

/// tracing with the fmt subscriber's JSON format, writing through tracing-appender's
/// non-blocking writer thread.
pub struct Tracing {
    guard: tracing_appender::non_blocking::WorkerGuard,
    errors: tracing_appender::non_blocking::ErrorCounter,
}

impl Logger for Tracing {
    fn start(setup: &Setup) -> Result<Self, String> {
        let file = tracing_appender::rolling::never(setup.dir, "tracing.jsonl");
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(QUEUE)
            .finish(file);
        let errors = writer.error_counter();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(writer)
            .try_init()
            .map_err(|e| err("install the tracing subscriber", e))?;
        Ok(Tracing { guard, errors })
    }

    #[inline]
    fn log(&self, e: &Event) {
        tracing::info!(
            actor = e.actor,
            request_id = e.request_id,
            status = e.status,
            latency_ms = e.latency_ms,
            path = e.path,
            "request handled"
        );
    }

    fn finish(self) -> Result<Option<u64>, String> {
        // Dropping the guard hands the worker a shutdown message behind everything queued
        // and waits for it to write them.
        drop(self.guard);
        Ok(Some(self.errors.dropped_lines() as u64))
    }
}

// ---------------------------------------------------------------------------------------
// slog

/// slog with the JSON drain behind slog-async's channel and thread.
pub struct Slog {
    log: slog::Logger,
    guard: slog_async::AsyncGuard,
}

impl Logger for Slog {
    fn start(setup: &Setup) -> Result<Self, String> {
        use slog::Drain;
        let file =
            File::create(setup.dir.join("slog.jsonl")).map_err(|e| err("create the file", e))?;
        let json = slog_json::Json::new(BufWriter::new(file))
            .add_default_keys()
            .build()
            .fuse();
        let (drain, guard) = slog_async::Async::new(json)
            .chan_size(QUEUE)
            .overflow_strategy(slog_async::OverflowStrategy::Block)
            .build_with_guard();
        let log = slog::Logger::root(drain.fuse(), slog::o!());
        Ok(Slog { log, guard })
    }

    #[inline]
    fn log(&self, e: &Event) {
        slog::info!(self.log, "request handled";
            "actor" => e.actor,
            "request_id" => e.request_id,
            "status" => e.status,
            "latency_ms" => e.latency_ms,
            "path" => e.path);
    }

    fn finish(self) -> Result<Option<u64>, String> {
        drop(self.log);
        // Dropping the guard stops the thread after it has written what is queued; the
        // JSON drain and its buffered file go with it.
        drop(self.guard);
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// spdlog-rs

/// spdlog-rs: a logger whose one sink is an asynchronous pool sink around a file sink with
/// the JSON formatter.
pub struct Spdlog {
    logger: Arc<spdlog::Logger>,
    pool: Arc<spdlog::ThreadPool>,
}

impl Logger for Spdlog {
    fn start(setup: &Setup) -> Result<Self, String> {
        use spdlog::sink::{AsyncPoolSink, FileSink, OverflowPolicy};
        let file = FileSink::builder()
            .path(setup.dir.join("spdlog.jsonl"))
            .formatter(spdlog::formatter::JsonFormatter::new())
            .build_arc()
            .map_err(|e| err("create the file sink", e))?;
        let pool = spdlog::ThreadPool::builder()
            .capacity(NonZeroUsize::new(QUEUE).expect("nonzero"))
            .build_arc()
            .map_err(|e| err("start the thread pool", e))?;
        let sink = AsyncPoolSink::builder()
            .sink(file)
            .thread_pool(Arc::clone(&pool))
            .overflow_policy(OverflowPolicy::Block)
            .build_arc()
            .map_err(|e| err("build the async sink", e))?;
        let logger = spdlog::Logger::builder()
            .sink(sink)
            .level_filter(spdlog::LevelFilter::MoreSevereEqual(spdlog::Level::Info))
            .build_arc()
            .map_err(|e| err("build the logger", e))?;
        Ok(Spdlog { logger, pool })
    }

    #[inline]
    fn log(&self, e: &Event) {
        spdlog::info!(logger: self.logger, "request handled", kv: {
            actor = e.actor,
            request_id = e.request_id,
            status = e.status,
            latency_ms = e.latency_ms,
            path = e.path
        });
    }

    fn finish(self) -> Result<Option<u64>, String> {
        self.logger.flush();
        drop(self.logger);
        // The last handle on the pool: dropping it lets the worker finish every queued
        // operation (the flush included), then joins it; the file sink flushes when dropped.
        drop(self.pool);
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// The `log` facade's backends

/// Logs the standard event through `log` with the fields in the message, for the backends
/// that write only the message.
#[inline(always)]
fn log_in_message(e: &Event) {
    log::info!(
        "request handled actor={} request_id={} status={} latency_ms={} path={}",
        e.actor,
        e.request_id,
        e.status,
        e.latency_ms,
        e.path
    );
}

/// ftlog with a bounded, blocking channel and its file appender.
pub struct Ftlog {
    guard: ftlog::LoggerGuard,
}

impl Logger for Ftlog {
    fn start(setup: &Setup) -> Result<Self, String> {
        let guard = ftlog::builder()
            .max_log_level(log::LevelFilter::Info)
            .root_log_level(log::LevelFilter::Info)
            .bounded(QUEUE, true)
            .utc()
            .root(ftlog::appender::FileAppender::new(
                setup.dir.join("ftlog.log"),
            ))
            .try_init()
            .map_err(|e| err("install ftlog", e))?;
        Ok(Ftlog { guard })
    }

    #[inline]
    fn log(&self, e: &Event) {
        log_in_message(e);
    }

    fn finish(self) -> Result<Option<u64>, String> {
        log::logger().flush();
        // Dropping the guard asks the writer thread to flush and waits for its answer.
        drop(self.guard);
        Ok(None)
    }
}

/// fast_log with a bounded channel, its JSON format and its file appender.
pub struct FastLog;

impl Logger for FastLog {
    fn start(setup: &Setup) -> Result<Self, String> {
        let path = setup.dir.join("fast_log.jsonl");
        let path = path.to_str().ok_or("the run directory is not UTF-8")?;
        let format = fast_log::formats::FastLogFormatJson {
            time_type: fast_log::formats::TimeType::Utc,
        };
        fast_log::init(
            fast_log::Config::new()
                .level(log::LevelFilter::Info)
                .format(format)
                .chan_len(Some(QUEUE))
                .file(path),
        )
        .map_err(|e| err("install fast_log", e))?;
        Ok(FastLog)
    }

    #[inline]
    fn log(&self, e: &Event) {
        log_in_message(e);
    }

    fn finish(self) -> Result<Option<u64>, String> {
        // Waits until the file appender has written and flushed everything before it.
        log::logger().flush();
        fast_log::exit().map_err(|e| err("stop fast_log", e))?;
        Ok(None)
    }
}

/// log4rs with a file appender and the JSON encoder, key-values included.
pub struct Log4rs {
    _handle: log4rs::Handle,
}

impl Logger for Log4rs {
    fn start(setup: &Setup) -> Result<Self, String> {
        use log4rs::config::{Appender, Config, Root};
        let file = log4rs::append::file::FileAppender::builder()
            .encoder(Box::new(log4rs::encode::json::JsonEncoder::new()))
            .build(setup.dir.join("log4rs.jsonl"))
            .map_err(|e| err("create the file appender", e))?;
        let config = Config::builder()
            .appender(Appender::builder().build("file", Box::new(file)))
            .build(
                Root::builder()
                    .appender("file")
                    .build(log::LevelFilter::Info),
            )
            .map_err(|e| err("configure log4rs", e))?;
        let handle = log4rs::init_config(config).map_err(|e| err("install log4rs", e))?;
        Ok(Log4rs { _handle: handle })
    }

    #[inline]
    fn log(&self, e: &Event) {
        log::info!(
            actor = e.actor,
            request_id = e.request_id,
            status = e.status,
            latency_ms = e.latency_ms,
            path = e.path;
            "request handled"
        );
    }

    fn finish(self) -> Result<Option<u64>, String> {
        log::logger().flush();
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// References

/// The record the baseline writes.
#[derive(serde::Serialize)]
struct BaselineLine<'a> {
    ts_ns: u64,
    level: &'static str,
    actor: u64,
    msg: &'static str,
    request_id: u64,
    status: u32,
    latency_ms: f64,
    path: &'a str,
}

/// No logger at all: serde_json straight into a buffered file, on the caller's thread,
/// under a mutex so that several producers can share it.
pub struct Baseline {
    out: Mutex<BufWriter<File>>,
}

impl Logger for Baseline {
    fn start(setup: &Setup) -> Result<Self, String> {
        let file = File::create(setup.dir.join("baseline.jsonl"))
            .map_err(|e| err("create the file", e))?;
        Ok(Baseline {
            out: Mutex::new(BufWriter::with_capacity(64 * 1024, file)),
        })
    }

    #[inline]
    fn log(&self, e: &Event) {
        let ts_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let line = BaselineLine {
            ts_ns,
            level: "info",
            actor: e.actor,
            msg: "request handled",
            request_id: e.request_id,
            status: e.status,
            latency_ms: e.latency_ms,
            path: e.path,
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = serde_json::to_writer(&mut *out, &line);
        let _ = out.write_all(b"\n");
    }

    fn finish(self) -> Result<Option<u64>, String> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        out.flush().map_err(|e| err("flush", e))?;
        Ok(None)
    }
}

/// No logging: the measured call is empty, so its figures are the harness's own overhead.
pub struct Nothing;

impl Logger for Nothing {
    fn start(_setup: &Setup) -> Result<Self, String> {
        Ok(Nothing)
    }

    #[inline]
    fn log(&self, e: &Event) {
        std::hint::black_box(e);
    }

    fn finish(self) -> Result<Option<u64>, String> {
        Ok(None)
    }

    fn count(_dir: &Path) -> Result<Option<u64>, String> {
        Ok(None)
    }
}
