//! Events per second into standard output, as a container logs: trail's stdout output
//! against tracing-subscriber's JSON fmt layer, both writing JSON lines to a standard
//! output that is `/dev/null`, so that what is measured is the loggers, not a terminal.
//!
//! ```text
//! cargo run --release --manifest-path perf/Cargo.toml --bin stdout_rate -- --events 1000000 --threads 2
//! ```
//!
//! Each logger runs in a child process (this binary again, with `--child NAME`) whose
//! standard output is `/dev/null`; the child reports on standard error, and this process
//! prints one line per logger. The time runs from the first event until every event is
//! handed to the operating system. The loggers, with the standard event of the comparison
//! (see README.md beside Cargo.toml):
//!
//! - `trail-stdout`: `trail::builder().stdout(Format::Json)`, no files, default queue,
//!   policy `Block`;
//! - `tracing-stdout`: `fmt().json()` writing to `std::io::stdout` on the caller's thread;
//! - `tracing-nb-stdout`: the same through tracing-appender's `non_blocking` writer
//!   (`lossy(false)`, 16384 lines), tracing's way of keeping callers off the pipe.

#[allow(dead_code)]
mod loggers;

use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use loggers::{Event, QUEUE};

const LOGGERS: [&str; 3] = ["trail-stdout", "tracing-stdout", "tracing-nb-stdout"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str, default: u64| -> Result<u64, String> {
        match args.iter().position(|a| a == name) {
            None => Ok(default),
            Some(at) => args
                .get(at + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} takes a number")),
        }
    };
    let result = option("--events", 1_000_000).and_then(|events| {
        let threads = option("--threads", 2)?.max(1);
        match args.iter().position(|a| a == "--child") {
            Some(at) => child(args.get(at + 1).map_or("", String::as_str), events, threads),
            None => parent(events, threads),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stdout_rate: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs each logger in a child whose standard output is `/dev/null`, and prints the rates.
fn parent(events: u64, threads: u64) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    println!("{events} events from {threads} threads, JSON lines into /dev/null");
    for name in LOGGERS {
        let out = Command::new(&exe)
            .args(["--child", name, "--events", &events.to_string()])
            .args(["--threads", &threads.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("start the {name} child: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let seconds: Option<f64> = stderr
            .lines()
            .find_map(|l| l.strip_prefix("SECONDS "))
            .and_then(|s| s.trim().parse().ok());
        match (out.status.success(), seconds) {
            (true, Some(seconds)) => println!(
                "{name:<18} {:>12.0} events/s  ({seconds:.3} s)",
                events as f64 / seconds
            ),
            _ => println!("{name:<18} failed: {}", stderr.trim()),
        }
    }
    Ok(())
}

/// Logs `events` standard events from `threads` threads with logger `name`, then prints
/// `SECONDS s` on standard error.
fn child(name: &str, events: u64, threads: u64) -> Result<(), String> {
    let start = match name {
        "trail-stdout" => {
            let guard = trail::builder()
                .stdout(trail::Format::Json)
                .level(trail::LevelFilter::Info)
                .filter_from_env(false)
                .install()
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            produce(events, threads, trail_event);
            let stats = guard.shutdown();
            if stats.written != events || stats.output_lost != 0 {
                return Err(format!("trail wrote {stats:?}"));
            }
            start
        }
        "tracing-stdout" => {
            tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::INFO)
                .with_writer(std::io::stdout)
                .try_init()
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            produce(events, threads, tracing_event);
            start
        }
        "tracing-nb-stdout" => {
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .lossy(false)
                .buffered_lines_limit(QUEUE)
                .finish(std::io::stdout());
            tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::INFO)
                .with_writer(writer)
                .try_init()
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            produce(events, threads, tracing_event);
            // Everything queued is written before the drop returns.
            drop(guard);
            start
        }
        other => return Err(format!("unknown logger {other:?}: one of {LOGGERS:?}")),
    };
    eprintln!("SECONDS {}", start.elapsed().as_secs_f64());
    Ok(())
}

/// Logs the events from the threads, each its share.
fn produce(events: u64, threads: u64, log: fn(&Event)) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let count = events / threads + u64::from(t < events % threads);
            s.spawn(move || {
                for i in 0..count {
                    log(&Event::nth(t, i));
                }
            });
        }
    });
}

fn trail_event(e: &Event) {
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

fn tracing_event(e: &Event) {
    tracing::info!(
        actor = e.actor,
        request_id = e.request_id,
        status = e.status,
        latency_ms = e.latency_ms,
        path = e.path,
        "request handled"
    );
}
