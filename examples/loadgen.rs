//! The load generator and demo: log N structured events from T threads into a stream,
//! then show where the files are and what they hold.
//!
//! ```text
//! cargo run --release --example loadgen -- --dir trail-demo --format json --events 1000000 --threads 4
//! ```
//!
//! With `--stdout json` (or `text`) the records also go to standard output, as a
//! container's would; `--dir` may then be left out, and no file is written. The summary
//! then goes to standard error, so that standard output holds records only:
//!
//! ```text
//! cargo run --release --example loadgen -- --stdout json --events 200000 --threads 2 > out.jsonl
//! ```
//!
//! The last line of standard output (standard error with `--stdout`) is one JSON object
//! with the run's figures:
//! `events`, `written`, `dropped`, `seconds`, `events_per_sec`, and more. `seconds` runs
//! from the first event until every event is handed to the operating system
//! (`events_per_sec` is `events / seconds`); `logging_seconds` is how long the producer
//! threads took to log, and `finish_seconds` how long shutdown took afterwards (sealing the
//! last segment and compressing the segments still waiting, with `--compress`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use trail::{Format, LevelFilter, Period, Policy};

#[derive(Parser, Debug)]
#[command(about = "Log structured events into a trail stream and report the throughput")]
struct Args {
    /// Directory for the stream's files (created when missing). Optional with --stdout:
    /// without it, no file is written.
    #[arg(long, required_unless_present = "stdout")]
    dir: Option<PathBuf>,
    /// Also write the records to standard output, as json or text lines.
    #[arg(long)]
    stdout: Option<String>,
    /// The JSON profile of --stdout json: canonical, otel or ecs.
    #[arg(long, default_value = "canonical")]
    stdout_profile: String,
    /// File format: json, csv, text or bincode (also binary).
    #[arg(long, default_value = "json")]
    format: String,
    /// Number of events to log, in total.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Number of producer threads.
    #[arg(long, default_value_t = 4)]
    threads: u64,
    /// Start a new segment when the active one would exceed this many bytes.
    #[arg(long)]
    rotate_bytes: Option<u64>,
    /// Start a new segment every minute, hour or day (UTC).
    #[arg(long)]
    rotate_every: Option<String>,
    /// Keep at most this many segments, deleting the oldest.
    #[arg(long)]
    keep: Option<usize>,
    /// Compress sealed segments with gzip.
    #[arg(long)]
    compress: bool,
    /// Name the active segment `_` and its final name until it is sealed, hiding it from
    /// file sources such as Spark's.
    #[arg(long)]
    hide_active: bool,
    /// When to sync to the disk: never, every-batch, on-rotation, or a period such as 100ms.
    #[arg(long, default_value = "never")]
    fsync: String,
    /// What a full queue does: block (lose nothing), drop (count losses) or drop-and-report.
    #[arg(long, default_value = "block")]
    policy: String,
    /// Queue capacity, in events.
    #[arg(long, default_value_t = 16 * 1024)]
    capacity: usize,
    /// Stream name: the first part of each file name.
    #[arg(long, default_value = "loadgen")]
    name: String,
    /// How many lines of the output to show at the end.
    #[arg(long, default_value_t = 3)]
    show: usize,
    /// Log at most this many events per second in all (spread over the threads), to
    /// stand for a steady service rather than a flood. Unlimited when absent.
    #[arg(long)]
    rate: Option<u64>,
    /// Whether each sealed segment's schema summary is kept in the manifest (true or
    /// false); the builder's default when absent.
    #[arg(long)]
    schema_summary: Option<bool>,
}

const SKUS: [&str; 4] = ["A-1001", "B-2002", "C-3003", "D-4004"];

fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// The program, for the given command line (its first item is the program's name).
pub fn main_from(command_line: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match Args::try_parse_from(command_line) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let format: Format = args.format.parse().map_err(|e| format!("--format: {e}"))?;
    let policy: Policy = args.policy.parse().map_err(|e| format!("--policy: {e}"))?;
    let period: Option<Period> = match &args.rotate_every {
        Some(p) => Some(p.parse().map_err(|e| format!("--rotate-every: {e}"))?),
        None => None,
    };
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    if args.rate == Some(0) {
        return Err("--rate must be at least 1".into());
    }

    let fsync: trail::Fsync = args.fsync.parse().map_err(|e| format!("--fsync: {e}"))?;
    let mut builder = trail::builder()
        .name(&args.name)
        .format(format)
        .capacity(args.capacity)
        .policy(policy)
        .compress(args.compress)
        .hide_active_segment(args.hide_active)
        .fsync(fsync)
        .level(LevelFilter::Info);
    if let Some(bytes) = args.rotate_bytes {
        builder = builder.rotate_bytes(bytes);
    }
    if let Some(period) = period {
        builder = builder.rotate_every(period);
    }
    if let Some(keep) = args.keep {
        builder = builder.keep_segments(keep);
    }
    if let Some(keep) = args.schema_summary {
        builder = builder.schema_summary(keep);
    }
    if let Some(dir) = &args.dir {
        builder = builder.dir(dir);
    }
    if let Some(stdout) = &args.stdout {
        let format: Format = stdout.parse().map_err(|e| format!("--stdout: {e}"))?;
        if !matches!(format, Format::Json | Format::Text) {
            return Err(format!("--stdout: expected json or text, not {stdout:?}"));
        }
        let profile: trail::JsonProfile = args
            .stdout_profile
            .parse()
            .map_err(|e| format!("--stdout-profile: {e}"))?;
        builder = builder.output(trail::Output::stdout().format(format).json_profile(profile));
    }
    let guard = builder.install().map_err(|e| e.to_string())?;

    // Each thread keeps its share of the rate, so the total is the rate asked for.
    let per_thread = args.rate.map(|r| r as f64 / args.threads as f64);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..args.threads {
            let count = args.events / args.threads + u64::from(t < args.events % args.threads);
            std::thread::Builder::new()
                .name(format!("loadgen-{t}"))
                .spawn_scoped(s, move || produce(t, count, per_thread))
                .expect("spawn a producer thread");
        }
    });
    let logged = start.elapsed();
    // The rate is that of logging until everything is handed to the OS; sealing the last
    // segment and compressing what is left is finishing work, timed apart.
    guard.flush();
    let seconds = start.elapsed().as_secs_f64();
    let finishing = Instant::now();
    let stats = guard.shutdown();
    let finish_seconds = finishing.elapsed().as_secs_f64();

    // With records on standard output, the report goes to standard error.
    let mut report: Box<dyn Write> = match args.stdout {
        Some(_) => Box::new(std::io::stderr()),
        None => Box::new(std::io::stdout()),
    };
    if let Some(dir) = &args.dir {
        show(&mut report, dir, args.show);
    }
    let _ = writeln!(
        report,
        "{{\"events\":{},\"written\":{},\"dropped\":{},\"seconds\":{:.6},\"events_per_sec\":{:.0},\
         \"logging_seconds\":{:.6},\"finish_seconds\":{:.6},\"bytes\":{},\"mb_per_sec\":{:.1},\"rotations\":{},\"format\":\"{}\",\
         \"threads\":{},\"policy\":\"{}\",\"fsyncs\":{},\"output_lost\":{}}}",
        args.events,
        stats.written,
        stats.dropped,
        seconds,
        args.events as f64 / seconds,
        logged.as_secs_f64(),
        finish_seconds,
        stats.bytes,
        stats.bytes as f64 / seconds / 1e6,
        stats.rotations,
        format,
        args.threads,
        args.policy.to_ascii_lowercase(),
        stats.fsyncs,
        stats.output_lost,
    );
    Ok(())
}

/// One producer: the standard event, an actor and four typed fields, at mixed levels.
/// With a rate, it sleeps whenever it is ahead of the schedule (checked every 64 events).
fn produce(thread: u64, count: u64, rate: Option<f64>) {
    let start = Instant::now();
    for i in 0..count {
        if let Some(rate) = rate.filter(|_| i % 64 == 0) {
            let due = std::time::Duration::from_secs_f64(i as f64 / rate);
            if let Some(ahead) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(ahead);
            }
        }
        let user = 1000 + (i % 5000);
        let order_id = thread << 40 | i;
        let quantity = (i % 7 + 1) as u32;
        let price = 9.99 + (i % 100) as f64 * 0.5;
        let sku = SKUS[(i % 4) as usize];
        match i % 100 {
            0 => trail::error!(
                actor = user,
                order_id,
                quantity,
                price,
                sku,
                "payment declined for order {order_id}"
            ),
            1..=4 => trail::warn!(
                actor = user,
                order_id,
                quantity,
                price,
                sku,
                "stock low for {sku}"
            ),
            _ => trail::info!(
                actor = user,
                order_id,
                quantity,
                price,
                sku,
                "added {quantity} x {sku} to order {order_id}"
            ),
        }
    }
}

/// Prints the stream's files and the first lines of the oldest segment kept.
fn show(out: &mut dyn Write, dir: &Path, lines: usize) {
    let _ = writeln!(out, "files in {}:", dir.display());
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for path in &entries {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let _ = writeln!(out, "  {:>12} bytes  {}", size, path.display());
    }
    let segment = entries.iter().find(|p| {
        let name = p.to_string_lossy();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        name.ends_with(".jsonl") || name.ends_with(".csv") || name.ends_with(".log")
    });
    let (Some(segment), true) = (segment, lines > 0) else {
        return;
    };
    let _ = writeln!(out, "first {lines} lines of {}:", segment.display());
    let Ok(file) = std::fs::File::open(segment) else {
        return;
    };
    let reader: Box<dyn BufRead> = if segment.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    for line in reader.lines().take(lines).map_while(Result::ok) {
        let _ = writeln!(out, "  {line}");
    }
}
