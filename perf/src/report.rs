//! The report: what is printed (and kept in `latest.txt`), the CSV, the machine
//! description, and the target ratios.

use std::fmt::Write as _;

use crate::loggers;
use crate::measure::{Mode, Outcome};
use crate::Row;

/// Everything printed, kept to be written to a file at the end.
#[derive(Default)]
pub struct Log {
    text: String,
}

impl Log {
    /// Prints a line and keeps it.
    pub fn say(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Nanoseconds, with the digits that mean something.
pub fn ns(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// A rate in millions per second.
fn millions(v: f64) -> String {
    format!("{:.3} M", v / 1e6)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_owned())
}

/// One line about a finished run, for the progress list.
pub fn brief(o: &Outcome) -> String {
    let lost = opt(o.lost);
    match (&o.latency, o.events_per_sec) {
        (Some(l), _) => format!(
            "p50 {} ns, p99.9 {} ns, max {} ns, lost {lost}",
            ns(l.p50),
            ns(l.p999),
            ns(l.max)
        ),
        (None, Some(rate)) => format!(
            "{} events/s, {:.1} MB/s, lost {lost}, peak RSS {} kB",
            millions(rate),
            o.mb_per_sec.unwrap_or(0.0),
            opt(o.peak_rss_kb)
        ),
        _ => String::new(),
    }
}

fn ok_rows(rows: &[Row], mode: Mode) -> impl Iterator<Item = (&Row, &Outcome)> {
    rows.iter()
        .filter(move |r| r.job.mode == mode)
        .filter_map(|r| r.result.as_ref().ok().map(|o| (r, o)))
}

/// The result tables.
pub fn tables(log: &mut Log, rows: &[Row]) {
    let mut names: Vec<&str> = Vec::new();
    for row in rows {
        if !names.contains(&row.job.logger) {
            names.push(row.job.logger);
        }
    }
    log.say("configurations:");
    for name in &names {
        log.say(&format!("  {name:<14} {}", loggers::describe(name)));
    }

    log.say("\nlatency per call, ns (latency: counter read around each call; burst: around 20 calls, divided by 20)");
    log.say(&format!(
        "{:<14} {:<8} {:>3} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>6}",
        "logger",
        "mode",
        "thr",
        "samples",
        "min",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "p99.99",
        "max",
        "lost"
    ));
    for mode in [Mode::Latency, Mode::Burst] {
        for threads in [1, 2] {
            for (row, o) in ok_rows(rows, mode).filter(|(r, _)| r.job.threads == threads) {
                let Some(l) = &o.latency else { continue };
                log.say(&format!(
                    "{:<14} {:<8} {:>3} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>6}",
                    row.job.logger,
                    mode.name(),
                    threads,
                    o.samples,
                    ns(l.min),
                    ns(l.p50),
                    ns(l.p90),
                    ns(l.p99),
                    ns(l.p999),
                    ns(l.p9999),
                    ns(l.max),
                    opt(o.lost)
                ));
            }
        }
    }

    log.say("\nthroughput, one producer, until everything is written and the logger stopped; the median run \
             (events/s in millions; lost and peak RSS: the most of all runs)");
    throughput_table(log, rows, Mode::Throughput);
    if rows.iter().any(|r| r.job.mode == Mode::Flood) {
        log.say("\ntrail flood: the same run with a small and a large queue; peak memory follows the capacity");
        throughput_table(log, rows, Mode::Flood);
    }

    let failed: Vec<&Row> = rows.iter().filter(|r| r.result.is_err()).collect();
    if !failed.is_empty() {
        log.say("\nfailed runs:");
        for row in failed {
            if let Err(e) = &row.result {
                log.say(&format!(
                    "  {:<14} {:<10} t{}: {e}",
                    row.job.logger,
                    row.job.mode.name(),
                    row.job.threads
                ));
            }
        }
    }
}

fn throughput_table(log: &mut Log, rows: &[Row], mode: Mode) {
    log.say(&format!(
        "{:<14} {:>8} {:>9} {:>4} {:>8} {:>8} {:>11} {:>17} {:>7} {:>7} {:>6} {:>7} {:>11}",
        "logger",
        "capacity",
        "events",
        "runs",
        "seconds",
        "calls s",
        "events/s",
        "(min - max)",
        "MB/s",
        "MB",
        "lost",
        "dropped",
        "peak RSS kB"
    ));
    for (row, o) in ok_rows(rows, mode) {
        let spread = o
            .events_per_sec_range
            .map(|(lo, hi)| format!("({:.3} - {:.3})", lo / 1e6, hi / 1e6))
            .unwrap_or_default();
        log.say(&format!(
            "{:<14} {:>8} {:>9} {:>4} {:>8.3} {:>8.3} {:>11} {:>17} {:>7.1} {:>7.1} {:>6} {:>7} {:>11}",
            row.job.logger,
            o.capacity
                .map(|c| c.to_string())
                .unwrap_or_else(|| "default".to_owned()),
            o.events,
            o.runs,
            o.seconds.unwrap_or(0.0),
            o.calls_seconds.unwrap_or(0.0),
            millions(o.events_per_sec.unwrap_or(0.0)),
            spread,
            o.mb_per_sec.unwrap_or(0.0),
            o.bytes as f64 / 1e6,
            opt(o.lost),
            opt(o.reported_dropped),
            opt(o.peak_rss_kb)
        ));
    }
}

fn find<'a>(rows: &'a [Row], logger: &str, mode: Mode, threads: usize) -> Option<&'a Outcome> {
    rows.iter()
        .find(|r| r.job.logger == logger && r.job.mode == mode && r.job.threads == threads)
        .and_then(|r| r.result.as_ref().ok())
}

/// The best peer by `key` (lowest when `low`), among the peers that ran.
fn best_peer(
    rows: &[Row],
    mode: Mode,
    key: impl Fn(&Outcome) -> Option<f64>,
    low: bool,
) -> Option<(&str, f64)> {
    ok_rows(rows, mode)
        .filter(|(r, _)| r.job.threads == 1 && loggers::is_peer(r.job.logger))
        .filter_map(|(r, o)| key(o).map(|v| (r.job.logger, v)))
        .reduce(|a, b| if (b.1 < a.1) == low { b } else { a })
}

/// The target ratios, printed with their measured values; a miss does not fail the run.
pub fn checks(log: &mut Log, rows: &[Row]) {
    log.say("\nchecks (1 producer; peers are all loggers but trail, the baseline and none; a MISS does not fail the run):");
    let p50: fn(&Outcome) -> Option<f64> = |o| o.latency.as_ref().map(|l| l.p50);
    let p999: fn(&Outcome) -> Option<f64> = |o| o.latency.as_ref().map(|l| l.p999);
    let rate = |o: &Outcome| o.events_per_sec;
    let trail = find(rows, "trail-json", Mode::Latency, 1);
    let trail_tp = find(rows, "trail-json", Mode::Throughput, 1);

    let mut line =
        |what: String, value: Option<(f64, String)>, target: &str, pass: &dyn Fn(f64) -> bool| {
            let (shown, verdict) = match value {
                Some((v, detail)) => (
                    format!("{v:.3} ({detail})"),
                    if pass(v) { "PASS" } else { "MISS" },
                ),
                None => ("n/a (a run is missing)".to_owned(), "MISS"),
            };
            log.say(&format!(
                "  {what:<52} {shown:<44} target {target:<8} {verdict}"
            ));
        };

    let tracing = find(rows, "tracing", Mode::Latency, 1);
    line(
        "trail-json p50 / tracing p50".to_owned(),
        trail
            .and_then(p50)
            .zip(tracing.and_then(p50))
            .map(|(a, b)| (a / b, format!("{} ns vs {} ns", ns(a), ns(b)))),
        "<= 0.100",
        &|v| v <= 0.1,
    );
    for (name, stat, target, limit) in [
        ("p50", p50, "<= 0.333", 1.0 / 3.0),
        ("p99.9", p999, "<= 0.200", 0.2),
    ] {
        let best = best_peer(rows, Mode::Latency, stat, true);
        line(
            format!(
                "trail-json {name} / best peer {name} ({})",
                best.map_or("-", |b| b.0)
            ),
            trail
                .and_then(stat)
                .zip(best)
                .map(|(a, (_, b))| (a / b, format!("{} ns vs {} ns", ns(a), ns(b)))),
            target,
            &|v| v <= limit,
        );
    }
    let best = best_peer(rows, Mode::Throughput, rate, false);
    let trail_lost = trail_tp.and_then(|o| o.lost);
    line(
        format!(
            "trail-json events/s / best peer events/s ({})",
            best.map_or("-", |b| b.0)
        ),
        trail_tp.and_then(rate).zip(best).map(|(a, (_, b))| {
            (
                a / b,
                format!(
                    "{} vs {}, trail lost {}",
                    millions(a),
                    millions(b),
                    opt(trail_lost)
                ),
            )
        }),
        ">= 2.000",
        &|v| v >= 2.0 && trail_lost == Some(0),
    );
    let bincode = find(rows, "trail-bincode", Mode::Throughput, 1);
    line(
        "trail-bincode events/s (millions)".to_owned(),
        bincode.and_then(rate).map(|r| {
            (
                r / 1e6,
                format!("lost {}", opt(bincode.and_then(|o| o.lost))),
            )
        }),
        ">= 10",
        &|v| v >= 10.0,
    );

    // The baseline is no logger: it is shown beside trail, not counted as a peer.
    let base = find(rows, "baseline", Mode::Latency, 1);
    let base_tp = find(rows, "baseline", Mode::Throughput, 1);
    let none = find(rows, "none", Mode::Latency, 1);
    log.say("\nreferences (not peers):");
    if let (Some(b), Some(t)) = (
        base.and_then(|o| o.latency.as_ref()),
        trail.and_then(|o| o.latency.as_ref()),
    ) {
        log.say(&format!(
            "  serde_json baseline, 1 producer: p50 {} ns, p99.9 {} ns (trail-json: {} ns, {} ns)",
            ns(b.p50),
            ns(b.p999),
            ns(t.p50),
            ns(t.p999)
        ));
    }
    if let (Some(b), Some(t)) = (base_tp.and_then(rate), trail_tp.and_then(rate)) {
        log.say(&format!(
            "  serde_json baseline throughput: {} events/s (trail-json: {}; ratio {:.2})",
            millions(b),
            millions(t),
            t / b
        ));
    }
    if let Some(l) = none.and_then(|o| o.latency.as_ref()) {
        log.say(&format!(
            "  timer overhead (empty call between the two counter reads, not subtracted anywhere): p50 {} ns, p99 {} ns, p99.9 {} ns",
            ns(l.p50),
            ns(l.p99),
            ns(l.p999)
        ));
    }
    if let Some(l) = find(rows, "none", Mode::Burst, 1).and_then(|o| o.latency.as_ref()) {
        log.say(&format!(
            "  timer overhead in burst mode, per call: p50 {} ns",
            ns(l.p50)
        ));
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One row per run, failed runs included.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "logger,mode,threads,events,p50_ns,p90_ns,p99_ns,p999_ns,p9999_ns,max_ns,\
         events_per_sec,mb_per_sec,lost,peak_rss_kb,capacity,runs,events_per_sec_min,\
         events_per_sec_max,status,note\n",
    );
    let num = |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
    for row in rows {
        let job = &row.job;
        let capacity = job.capacity.map_or(String::new(), |c| c.to_string());
        match &row.result {
            Ok(o) => {
                let l = o.latency.as_ref();
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},ok,",
                    job.logger,
                    job.mode.name(),
                    job.threads,
                    o.events,
                    num(l.map(|l| l.p50), 1),
                    num(l.map(|l| l.p90), 1),
                    num(l.map(|l| l.p99), 1),
                    num(l.map(|l| l.p999), 1),
                    num(l.map(|l| l.p9999), 1),
                    num(l.map(|l| l.max), 1),
                    num(o.events_per_sec, 0),
                    num(o.mb_per_sec, 2),
                    o.lost.map_or(String::new(), |v| v.to_string()),
                    o.peak_rss_kb.map_or(String::new(), |v| v.to_string()),
                    capacity,
                    o.runs,
                    num(o.events_per_sec_range.map(|r| r.0), 0),
                    num(o.events_per_sec_range.map(|r| r.1), 0),
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "{},{},{},{},,,,,,,,,,,{},{},,,failed,{}",
                    job.logger,
                    job.mode.name(),
                    job.threads,
                    job.events,
                    capacity,
                    job.repeat,
                    csv_field(e)
                );
            }
        }
    }
    out
}

/// What the results were measured on.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub rustc: String,
    kernel: String,
    tsc_flags: String,
    started: String,
    load_start: String,
    ended: String,
    load_end: String,
    quick: bool,
    ticks_per_ns: Option<f64>,
    counter_step_ns: Option<f64>,
}

impl Machine {
    /// Reads the machine's description at the start of a run.
    pub fn probe(quick: bool) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let flags = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("flags").and_then(|r| r.split_once(':')))
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default();
        let tsc_flags = ["constant_tsc", "nonstop_tsc", "rdtscp", "tsc_known_freq"]
            .iter()
            .filter(|f| flags.split_whitespace().any(|x| x == **f))
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rustc: env!("PERF_RUSTC_VERSION").to_owned(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            tsc_flags,
            started: utc_now(),
            load_start: read_trimmed("/proc/loadavg"),
            ended: String::new(),
            load_end: String::new(),
            quick,
            ticks_per_ns: None,
            counter_step_ns: None,
        }
    }

    /// Adds what is known at the end of the run.
    pub fn finish(mut self, rows: &[Row]) -> Machine {
        self.ended = utc_now();
        self.load_end = read_trimmed("/proc/loadavg");
        self.ticks_per_ns = rows
            .iter()
            .filter_map(|r| r.result.as_ref().ok())
            .find_map(|o| o.ticks_per_ns);
        self.counter_step_ns = rows
            .iter()
            .filter_map(|r| r.result.as_ref().ok())
            .find_map(|o| o.counter_step_ns);
        self
    }

    /// One line for the chart's footer.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} cores, {}, {}",
            self.cpu, self.cores, self.rustc, self.started
        )
    }

    /// The contents of `latest-machine.txt`.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "date (UTC, start): {}", self.started);
        let _ = writeln!(t, "date (UTC, end):   {}", self.ended);
        let _ = writeln!(t, "cpu: {}", self.cpu);
        let _ = writeln!(t, "cores: {}", self.cores);
        let _ = writeln!(t, "kernel: {}", self.kernel);
        let _ = writeln!(t, "rustc: {}", self.rustc);
        let _ = writeln!(t, "profile: release");
        let _ = writeln!(t, "tsc flags: {}", self.tsc_flags);
        let _ = writeln!(
            t,
            "counter ticks per ns (calibrated): {}",
            self.ticks_per_ns
                .map_or("-".to_owned(), |v| format!("{v:.4}"))
        );
        let _ = writeln!(
            t,
            "counter resolution (smallest step between two reads): {}",
            self.counter_step_ns
                .map_or("-".to_owned(), |v| format!("{v:.1} ns"))
        );
        let _ = writeln!(t, "counter: {}", crate::clock::source());
        let _ = writeln!(t, "load average at start: {}", self.load_start);
        let _ = writeln!(t, "load average at end: {}", self.load_end);
        let _ = writeln!(t, "run: {}", if self.quick { "quick" } else { "full" });
        let _ = writeln!(t, "crate versions (perf/Cargo.lock):");
        for (name, version) in locked_versions() {
            let _ = writeln!(t, "  {name} {version}");
        }
        t
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The versions of the compared crates, from the lock file this binary was built with.
fn locked_versions() -> Vec<(String, String)> {
    const WANTED: [&str; 11] = [
        "trail",
        "tracing",
        "tracing-subscriber",
        "tracing-appender",
        "slog",
        "slog-async",
        "slog-json",
        "spdlog-rs",
        "ftlog",
        "fast_log",
        "log4rs",
    ];
    let lock = include_str!("../Cargo.lock");
    let mut found = Vec::new();
    for package in lock.split("[[package]]") {
        let field = |key: &str| {
            package.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|r| r.trim().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(version)) = (field("name "), field("version ")) {
            if WANTED.contains(&name.as_str()) {
                found.push((name, version));
            }
        }
    }
    found.sort_by_key(|(name, _)| WANTED.iter().position(|w| *w == name));
    found
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
