//! Side-by-side performance of trail and other Rust loggers: latency per call, throughput
//! to the disk, and peak memory. See README.md beside Cargo.toml.
//!
//! ```text
//! cargo run --release --manifest-path perf/Cargo.toml            # everything
//! cargo run --release --manifest-path perf/Cargo.toml -- --quick --only trail-json,tracing
//! ```
//!
//! Most loggers install themselves process-wide, so each run (a logger, a mode, a number
//! of producer threads) happens in a child process: this binary started again with
//! `--child`, which prints one `RESULT {json}` line on standard output.

mod chart;
mod clock;
mod loggers;
mod measure;
mod report;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use measure::{Mode, Outcome, Plan};

/// The longest a child may take before it is stopped and recorded as failed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..])
    } else {
        parent(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("perf: {message}");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------
// The child: one run.

fn child(args: &[String]) -> Result<(), String> {
    let logger = args.first().ok_or("--child needs a logger name")?.clone();
    let mut plan = Plan {
        logger,
        mode: Mode::Latency,
        threads: 1,
        events: 100_000,
        warmup: 10_000,
        capacity: None,
        dir: PathBuf::new(),
    };
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--mode" => plan.mode = Mode::parse(value)?,
            "--threads" => plan.threads = number()?.max(1) as usize,
            "--events" => plan.events = number()?,
            "--warmup" => plan.warmup = number()?,
            "--capacity" => plan.capacity = Some(number()? as usize),
            "--dir" => plan.dir = PathBuf::from(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if plan.dir.as_os_str().is_empty() {
        return Err("--dir is required".into());
    }
    let outcome = match plan.logger.as_str() {
        "trail-json" | "trail-csv" | "trail-text" | "trail-bincode" => {
            measure::run::<loggers::Trail>(&plan)
        }
        "tracing" => measure::run::<loggers::Tracing>(&plan),
        "slog" => measure::run::<loggers::Slog>(&plan),
        "spdlog" => measure::run::<loggers::Spdlog>(&plan),
        "ftlog" => measure::run::<loggers::Ftlog>(&plan),
        "fast_log" => measure::run::<loggers::FastLog>(&plan),
        "log4rs" => measure::run::<loggers::Log4rs>(&plan),
        "baseline" => measure::run::<loggers::Baseline>(&plan),
        "none" => measure::run::<loggers::Nothing>(&plan),
        other => Err(format!("unknown logger {other}")),
    }?;
    let line = serde_json::to_string(&outcome).map_err(|e| e.to_string())?;
    println!("RESULT {line}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The parent: every run, then the report.

/// One child run to make.
#[derive(Clone, Debug)]
pub struct Job {
    pub logger: &'static str,
    pub mode: Mode,
    pub threads: usize,
    pub events: u64,
    pub warmup: u64,
    pub capacity: Option<usize>,
    /// How many times the run is made; the row reports the median one.
    pub repeat: usize,
}

impl Job {
    fn id(&self) -> String {
        let mut id = format!("{}-{}-t{}", self.logger, self.mode.name(), self.threads);
        if let Some(c) = self.capacity {
            id.push_str(&format!("-c{c}"));
        }
        id
    }
}

/// A finished job: its figures, or why there are none.
#[derive(Clone, Debug)]
pub struct Row {
    pub job: Job,
    pub result: Result<Outcome, String>,
}

/// Sizes of a full run and of a `--quick` one.
struct Sizes {
    latency_events: u64,
    warmup: u64,
    throughput_events: u64,
    /// Repetitions of each throughput and flood run.
    repeat: usize,
}

const FULL: Sizes = Sizes {
    latency_events: 100_000,
    warmup: 10_000,
    throughput_events: 2_000_000,
    repeat: 5,
};

const QUICK: Sizes = Sizes {
    latency_events: 20_000,
    warmup: 2_000,
    throughput_events: 200_000,
    repeat: 3,
};

/// The queue capacities of trail's flood runs.
const FLOOD_CAPACITIES: [usize; 2] = [1024, 65536];

fn usage() -> &'static str {
    "usage: perf [--quick] [--only LOGGER,...] [--out DIR] [--keep-files]\n\
     loggers: trail-json trail-csv trail-text trail-bincode tracing slog spdlog ftlog \
     fast_log log4rs baseline none"
}

fn parent(args: &[String]) -> Result<(), String> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut quick = false;
    let mut only: Option<Vec<String>> = None;
    let mut out: Option<PathBuf> = None;
    let mut keep_files = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--keep-files" => keep_files = true,
            "--only" => {
                let list = it.next().ok_or("--only needs a list of loggers")?;
                let names: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
                if let Some(bad) = names.iter().find(|n| !loggers::ALL.contains(&n.as_str())) {
                    return Err(format!("unknown logger {bad}\n{}", usage()));
                }
                only = Some(names);
            }
            "--out" => out = Some(PathBuf::from(it.next().ok_or("--out needs a directory")?)),
            "-h" | "--help" => {
                println!("{}", usage());
                return Ok(());
            }
            other => return Err(format!("unknown option {other}\n{}", usage())),
        }
    }
    let partial = quick || only.is_some();
    // Only a full run replaces the published results, unless told otherwise.
    let out = out.unwrap_or_else(|| {
        if partial {
            manifest_dir.join("target/results")
        } else {
            manifest_dir
                .parent()
                .unwrap_or(manifest_dir)
                .join("benches/results")
        }
    });
    let sizes = if quick { QUICK } else { FULL };
    let selected: Vec<&'static str> = loggers::ALL
        .iter()
        .copied()
        .filter(|name| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name)))
        .collect();
    let jobs = plan_jobs(&selected, &sizes);

    let exe = std::env::current_exe().map_err(|e| format!("find this program: {e}"))?;
    let run_root = manifest_dir.join("target/run");
    std::fs::create_dir_all(&run_root)
        .map_err(|e| format!("create {}: {e}", run_root.display()))?;

    let mut log = report::Log::default();
    let machine = report::Machine::probe(quick);
    log.say(&format!(
        "trail perf: {} runs, {} mode; {} on {} cores; {}",
        jobs.len(),
        if quick { "quick" } else { "full" },
        machine.cpu,
        machine.cores,
        machine.rustc
    ));
    log.say(&format!(
        "latency: {} measured events per producer after {} of warm-up, chunks of {} calls, \
         a {} µs sleep after each chunk; throughput: {} events from one producer",
        sizes.latency_events,
        sizes.warmup,
        measure::CHUNK,
        measure::PAUSE.as_micros(),
        sizes.throughput_events
    ));
    log.say(&format!("counter: {}", clock::source()));
    log.say("");

    let started = Instant::now();
    // Repeated runs go in rounds: the first run of every job, then the second of every job
    // that repeats, and so on. The machine's speed drifts (it is shared), and rounds spread
    // the drift over all loggers alike instead of handing a slow spell to one of them.
    let mut results: Vec<Vec<Result<Outcome, String>>> = jobs.iter().map(|_| Vec::new()).collect();
    let rounds = jobs.iter().map(|j| j.repeat).max().unwrap_or(0);
    for r in 0..rounds {
        for (n, job) in jobs.iter().enumerate() {
            let failed_before = results[n].last().is_some_and(|o| o.is_err());
            if r >= job.repeat || failed_before {
                continue;
            }
            let dir = run_root.join(job.id());
            let _ = std::fs::remove_dir_all(&dir);
            let t0 = Instant::now();
            let result = run_child(&exe, job, &dir);
            let took = t0.elapsed().as_secs_f64();
            if !keep_files {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let repetition = if job.repeat > 1 {
                format!(" #{}", r + 1)
            } else {
                String::new()
            };
            log.say(&format!(
                "[{:>2}/{}] {:<37} {:>6.1} s  {}",
                n + 1,
                jobs.len(),
                format!("{}{repetition}", job.id()),
                took,
                match &result {
                    Ok(o) => report::brief(o),
                    Err(e) => format!("FAILED: {e}"),
                }
            ));
            results[n].push(result);
        }
    }
    let rows: Vec<Row> = jobs
        .iter()
        .zip(results)
        .map(|(job, results)| Row {
            job: job.clone(),
            result: median_run(results),
        })
        .collect();
    log.say(&format!(
        "\nall runs took {:.0} s\n",
        started.elapsed().as_secs_f64()
    ));

    report::tables(&mut log, &rows);
    report::checks(&mut log, &rows);

    std::fs::create_dir_all(&out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let machine = machine.finish(&rows);
    let files = [
        ("latest.csv", report::csv(&rows)),
        ("latest-machine.txt", machine.text()),
    ];
    for (name, text) in files {
        write(&out.join(name), &text)?;
    }
    let svg = out.join("latest.svg");
    if let Err(e) = chart::draw(&svg, &rows, &machine.summary()) {
        log.say(&format!("chart: {e}"));
    }
    log.say(&format!(
        "\nwrote {}/latest.csv, latest.svg, latest-machine.txt and latest.txt",
        out.display()
    ));
    write(&out.join("latest.txt"), log.text())?;
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// Every run of a full comparison of the `selected` loggers.
fn plan_jobs(selected: &[&'static str], sizes: &Sizes) -> Vec<Job> {
    let mut jobs = Vec::new();
    let latency_modes = [
        (Mode::Latency, 1),
        (Mode::Latency, 2),
        (Mode::Burst, 1),
        (Mode::Burst, 2),
    ];
    for (mode, threads) in latency_modes {
        for &logger in selected {
            jobs.push(Job {
                logger,
                mode,
                threads,
                events: sizes.latency_events,
                warmup: sizes.warmup,
                capacity: None,
                repeat: 1,
            });
        }
    }
    for &logger in selected {
        jobs.push(Job {
            logger,
            mode: Mode::Throughput,
            threads: 1,
            events: sizes.throughput_events,
            warmup: 0,
            capacity: None,
            repeat: sizes.repeat,
        });
    }
    if selected.contains(&"trail-json") {
        for capacity in FLOOD_CAPACITIES {
            jobs.push(Job {
                logger: "trail-json",
                mode: Mode::Flood,
                threads: 1,
                events: sizes.throughput_events,
                warmup: 0,
                capacity: Some(capacity),
                repeat: sizes.repeat,
            });
        }
    }
    jobs
}

/// Of repeated runs, the median by events per second, with the most lost and the largest
/// peak memory of them all and the spread of the rates; the first failure if one failed.
fn median_run(results: Vec<Result<Outcome, String>>) -> Result<Outcome, String> {
    let mut runs = Vec::with_capacity(results.len());
    for result in results {
        runs.push(result?);
    }
    let rate = |o: &Outcome| o.events_per_sec.unwrap_or(0.0);
    runs.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let (min, max) = (
        runs.first().map(rate).unwrap_or(0.0),
        runs.last().map(rate).unwrap_or(0.0),
    );
    let lost = runs.iter().filter_map(|o| o.lost).max();
    let rss = runs.iter().filter_map(|o| o.peak_rss_kb).max();
    let count = runs.len() as u32;
    let mut median = runs.swap_remove(runs.len().checked_sub(1).ok_or("no run")? / 2);
    median.lost = lost;
    median.peak_rss_kb = rss;
    median.runs = count;
    if count > 1 {
        median.events_per_sec_range = Some((min, max));
    }
    Ok(median)
}

/// Runs one job in a child process and reads its result line.
fn run_child(exe: &Path, job: &Job, dir: &Path) -> Result<Outcome, String> {
    let mut command = Command::new(exe);
    command
        .arg("--child")
        .arg(job.logger)
        .args(["--mode", job.mode.name()])
        .args(["--threads", &job.threads.to_string()])
        .args(["--events", &job.events.to_string()])
        .args(["--warmup", &job.warmup.to_string()])
        .arg("--dir")
        .arg(dir)
        // Level filters come from the code alone.
        .env_remove("RUST_LOG")
        .env_remove("TRAIL_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(capacity) = job.capacity {
        command.args(["--capacity", &capacity.to_string()]);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("start {}: {e}", exe.display()))?;
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => return Err(format!("wait for the child: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let tail = || {
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
        let mut tail: String = tail.chars().take(300).collect();
        if tail.is_empty() {
            tail.push_str("no message");
        }
        tail
    };
    match status {
        None => Err(format!(
            "no result within {} s: {}",
            CHILD_TIMEOUT.as_secs(),
            tail()
        )),
        Some(status) if !status.success() => Err(format!("{status}: {}", tail())),
        Some(_) => {
            let line = stdout
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .ok_or_else(|| format!("no result line: {}", tail()))?;
            serde_json::from_str(line).map_err(|e| format!("unreadable result line: {e}"))
        }
    }
}
