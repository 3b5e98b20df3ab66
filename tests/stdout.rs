//! Standard output as an output, through real pipes and real processes: whole JSON lines
//! from several threads, a closed pipe counted and said once while the files stay
//! complete, and the loadgen example writing a container's log to standard output.
//!
//! The binary has its own `main` (no test harness): run as a child, it must put records
//! and nothing else on its standard output.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, ExitCode, Stdio};

#[path = "../examples/loadgen.rs"]
#[allow(dead_code)]
mod loadgen;

/// Set in a child process: which child it is.
const CHILD: &str = "TRAIL_STDOUT_TEST_CHILD";
/// The loadgen child's arguments, blank-separated.
const LOADGEN_ARGS: &str = "TRAIL_STDOUT_TEST_LOADGEN";

const THREADS: u64 = 4;
const PER_THREAD: u64 = 5_000;

fn main() -> ExitCode {
    if let Some(role) = std::env::var_os(CHILD) {
        return match role.to_str() {
            Some("threads") => child_threads(),
            Some("closed") => child_closed(),
            Some("both") => child_both(),
            Some("loadgen") => {
                let args = std::env::var(LOADGEN_ARGS).unwrap();
                loadgen::main_from(
                    std::iter::once("loadgen")
                        .chain(args.split_whitespace())
                        .map(Into::into),
                )
            }
            _ => ExitCode::FAILURE,
        };
    }
    let tests: [(&str, fn()); 6] = [
        (
            "stdout_and_stderr_get_what_their_filters_pass_with_the_files_seq",
            stdout_and_stderr_get_what_their_filters_pass_with_the_files_seq,
        ),
        (
            "a_pipe_gets_whole_json_lines_from_several_threads",
            a_pipe_gets_whole_json_lines_from_several_threads,
        ),
        (
            "a_closed_stdout_is_counted_and_said_once_and_the_files_are_complete",
            a_closed_stdout_is_counted_and_said_once_and_the_files_are_complete,
        ),
        (
            "loadgen_writes_200000_json_lines_to_stdout_without_files",
            loadgen_writes_200000_json_lines_to_stdout_without_files,
        ),
        (
            "loadgen_with_a_directory_puts_the_same_records_in_files_and_on_stdout",
            loadgen_with_a_directory_puts_the_same_records_in_files_and_on_stdout,
        ),
        (
            "loadgen_writes_text_lines_that_read_back",
            loadgen_writes_text_lines_that_read_back,
        ),
    ];
    // A name filter, as the usual harness takes; its options (and their values) are
    // ignored.
    let mut filter = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if ["--test-threads", "--skip", "--color", "--format", "-Z"].contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            filter.push(arg);
        }
    }
    let chosen: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    for (name, test) in &chosen {
        print!("test {name} ... ");
        let _ = std::io::stdout().flush();
        test();
        println!("ok");
    }
    println!("\ntest result: ok. {} passed", chosen.len());
    ExitCode::SUCCESS
}

/// A child of this binary in `role`, its standard output and error piped.
fn child(role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(CHILD, role)
        .env_remove("TRAIL_LOG")
        .env_remove("RUST_LOG")
        .env_remove("CLICOLOR_FORCE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// The padding of event `i`: long enough, now and then, that records cross the pipe's
/// atomic size (4 KiB) and the writer's chunk size.
fn pad(i: u64) -> String {
    "p".repeat(((i * 7919) % 9_000) as usize)
}

/// Logs `PER_THREAD` events from each of `THREADS` threads; the files' seq order keeps
/// each thread's order.
fn log_from_threads() {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    trail::info!(t, i, pad = pad(i), "event {i} of {t}");
                }
            });
        }
    });
}

fn child_threads() -> ExitCode {
    let guard = trail::builder()
        .stdout(trail::Format::Json)
        .install()
        .unwrap();
    log_from_threads();
    let stats = guard.shutdown();
    eprintln!(
        "written={} output_lost={}",
        stats.written, stats.output_lost
    );
    ExitCode::SUCCESS
}

fn a_pipe_gets_whole_json_lines_from_several_threads() {
    let out = child("threads").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("written={} output_lost=0", THREADS * PER_THREAD)),
        "{stderr}"
    );
    assert_eq!(out.stdout.last(), Some(&b'\n'));
    let mut next_i = [0u64; THREADS as usize];
    let mut seqs = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let json: serde_json::Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
        let fields = &json["fields"];
        let (t, i) = (fields["t"].as_u64().unwrap(), fields["i"].as_u64().unwrap());
        assert_eq!(i, next_i[t as usize], "each thread's events in order");
        next_i[t as usize] += 1;
        assert_eq!(fields["pad"].as_str().unwrap(), pad(i), "the whole record");
        seqs.push(json["seq"].as_u64().unwrap());
    }
    assert_eq!(next_i, [PER_THREAD; THREADS as usize]);
    assert_eq!(seqs, (1..=THREADS * PER_THREAD).collect::<Vec<_>>());
}

fn child_both() -> ExitCode {
    let dir = std::env::var_os("TRAIL_STDOUT_TEST_DIR").unwrap();
    let guard = trail::builder()
        .dir(dir)
        .format(trail::Format::Csv)
        .level(trail::LevelFilter::Debug)
        .output(trail::Output::stdout().filter("info,noisy=off"))
        .output(trail::Output::stderr().level(trail::LevelFilter::Warn))
        .install()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            s.spawn(move || {
                for i in 0..3_000u64 {
                    match i % 4 {
                        0 => trail::debug!(t, i, "debug {i}"),
                        1 => trail::info!(t, i, "info {i}"),
                        2 => trail::warn!(target: "noisy", t, i, "noisy warning {i}"),
                        _ => trail::error!(t, i, "error {i}"),
                    }
                }
            });
        }
    });
    drop(guard);
    ExitCode::SUCCESS
}

fn stdout_and_stderr_get_what_their_filters_pass_with_the_files_seq() {
    let dir = tempfile::tempdir().unwrap();
    let out = child("both")
        .env("TRAIL_STDOUT_TEST_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let files: BTreeMap<u64, trail::read::LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.seq, r)
        })
        .collect();
    assert_eq!(files.len(), 6_000);
    let expect = |pass: &dyn Fn(&trail::read::LogRecord) -> bool| -> Vec<u64> {
        files.values().filter(|r| pass(r)).map(|r| r.seq).collect()
    };
    let read = |bytes: &[u8], extension: &str| -> Vec<trail::read::LogRecord> {
        let path = dir.path().join(format!("read-back.{extension}"));
        std::fs::write(&path, bytes).unwrap();
        let records = trail::read::open(&path)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        std::fs::remove_file(&path).unwrap();
        records
    };
    // stdout: JSON, info and above but the noisy target; stderr: text, warn and above.
    let stdout = read(&out.stdout, "jsonl");
    let stderr = read(&out.stderr, "log");
    for (got, pass) in [
        (
            &stdout,
            &(|r: &trail::read::LogRecord| r.level >= trail::Level::Info && r.target != "noisy")
                as &dyn Fn(&trail::read::LogRecord) -> bool,
        ),
        (&stderr, &|r: &trail::read::LogRecord| {
            r.level >= trail::Level::Warn
        }),
    ] {
        assert_eq!(got.iter().map(|r| r.seq).collect::<Vec<_>>(), expect(pass));
        for r in got {
            let file = &files[&r.seq];
            assert_eq!(
                (&r.msg, r.level, &r.fields),
                (&file.msg, file.level, &file.fields)
            );
        }
    }
}

const CLOSED_EVENTS: u64 = 10_000;

fn child_closed() -> ExitCode {
    let dir = std::env::var_os("TRAIL_STDOUT_TEST_DIR").unwrap();
    // As a host that wants the signal's default action (ending the process) would have it.
    #[cfg(unix)]
    if std::env::var_os("TRAIL_STDOUT_TEST_SIGPIPE_DEFAULT").is_some() {
        // SAFETY: no other thread runs yet, and SIG_DFL is a valid disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let guard = trail::builder()
        .dir(dir)
        .stdout(trail::Format::Json)
        .install()
        .unwrap();
    // The parent closes its end of the pipe, then says go.
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    for i in 0..CLOSED_EVENTS {
        trail::info!(i, "event {i}");
        if i % 1000 == 0 {
            guard.flush();
        }
    }
    let stats = guard.shutdown();
    eprintln!(
        "written={} output_lost={}",
        stats.written, stats.output_lost
    );
    ExitCode::SUCCESS
}

fn a_closed_stdout_is_counted_and_said_once_and_the_files_are_complete() {
    closed_stdout(false);
    // Nor does it end a process whose SIGPIPE has its default action.
    #[cfg(unix)]
    closed_stdout(true);
}

fn closed_stdout(sigpipe_default: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = child("closed");
    if sigpipe_default {
        command.env("TRAIL_STDOUT_TEST_SIGPIPE_DEFAULT", "1");
    }
    let mut process = command
        .env("TRAIL_STDOUT_TEST_DIR", dir.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    drop(process.stdout.take());
    process.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = process.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?} {stderr}", out.status);
    assert_eq!(
        stderr.matches("standard output is closed").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "written={CLOSED_EVENTS} output_lost={CLOSED_EVENTS}"
        )),
        "{stderr}"
    );
    let seqs: Vec<u64> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(seqs, (1..=CLOSED_EVENTS).collect::<Vec<_>>());
}

/// Runs loadgen with `args`, its standard output into `stdout`; returns its standard
/// error.
fn loadgen(args: &str, stdout: &std::path::Path) -> String {
    let out = child("loadgen")
        .env(LOADGEN_ARGS, args)
        .stdout(std::fs::File::create(stdout).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// The summary loadgen ends with.
fn summary(stderr: &str) -> serde_json::Value {
    serde_json::from_str(stderr.lines().last().unwrap()).unwrap()
}

/// `out`'s lines by `seq`, each a valid JSON object.
fn json_lines(out: &[u8]) -> BTreeMap<u64, Vec<u8>> {
    let mut lines = BTreeMap::new();
    for line in out.split_inclusive(|&b| b == b'\n') {
        assert_eq!(line.last(), Some(&b'\n'));
        let json: serde_json::Value = serde_json::from_slice(line).unwrap();
        let seq = json["seq"].as_u64().unwrap();
        assert!(
            lines.insert(seq, line.to_vec()).is_none(),
            "seq {seq} twice"
        );
    }
    lines
}

fn loadgen_writes_200000_json_lines_to_stdout_without_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let stderr = loadgen("--stdout json --events 200000 --threads 2", &out);
    let summary = summary(&stderr);
    assert_eq!(summary["events"], 200_000, "{stderr}");
    assert_eq!(summary["written"], 200_000, "{stderr}");
    assert_eq!(summary["output_lost"], 0, "{stderr}");
    let lines = json_lines(&std::fs::read(&out).unwrap());
    assert_eq!(
        lines.keys().copied().collect::<Vec<_>>(),
        (1..=200_000).collect::<Vec<_>>()
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no file but standard output's"
    );
}

fn loadgen_with_a_directory_puts_the_same_records_in_files_and_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let out = dir.path().join("out.jsonl");
    let stderr = loadgen(
        &format!(
            "--dir {} --stdout json --events 20000 --threads 2 --rotate-bytes 500000",
            files.display()
        ),
        &out,
    );
    assert_eq!(summary(&stderr)["written"], 20_000, "{stderr}");
    let stdout = json_lines(&std::fs::read(&out).unwrap());
    let mut in_files = BTreeMap::new();
    for entry in std::fs::read_dir(&files).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            in_files.append(&mut json_lines(&std::fs::read(&path).unwrap()));
        }
    }
    assert_eq!(in_files.len(), 20_000);
    assert!(stdout == in_files, "the same lines, byte for byte");
}

fn loadgen_writes_text_lines_that_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let stderr = loadgen("--stdout text --events 5000 --threads 3", &out);
    assert_eq!(summary(&stderr)["written"], 5_000, "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains('\x1b'), "no colour off a terminal");
    let seqs: Vec<u64> = trail::read::open(&out)
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(seqs, (1..=5_000).collect::<Vec<_>>());
}
