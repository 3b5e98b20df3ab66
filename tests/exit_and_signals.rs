//! Leaving without dropping the guard: `std::process::exit` and SIGTERM still let
//! everything logged before them reach the files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const EVENTS: usize = 20_000;

fn child(test: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--test-threads", "1", "--nocapture"])
        .env("EXIT_CHILD_DIR", dir);
    cmd
}

fn count(dir: &std::path::Path) -> usize {
    let records: Vec<trail::read::LogRecord> = trail::read::open(dir)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    records.len()
}

#[test]
fn process_exit_writes_out_what_is_queued() {
    if std::env::var_os("EXIT_CHILD_DIR").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = child("exit_child", dir.path()).status().unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(count(dir.path()), EVENTS);
}

#[cfg(unix)]
#[test]
fn sigterm_writes_out_what_is_queued_then_ends_the_process() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("EXIT_CHILD_DIR").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut proc = child("signal_child", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    for line in BufReader::new(proc.stdout.take().unwrap()).lines() {
        if line.unwrap().contains("logged") {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-TERM", &proc.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = proc.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(15),
        "the signal kept its default action: {status:?}"
    );
    assert_eq!(count(dir.path()), EVENTS);
}

/// Child: logs, then exits at once without dropping the guard.
#[test]
fn exit_child() {
    let Some(dir) = std::env::var_os("EXIT_CHILD_DIR") else {
        return;
    };
    let guard = trail::builder()
        .dir(dir)
        .capacity(EVENTS)
        .flush_on_exit(true)
        .filter_from_env(false)
        .install()
        .unwrap();
    for i in 0..EVENTS {
        trail::info!(i, pad = "x".repeat(200), "queued");
    }
    std::mem::forget(guard);
    std::process::exit(7);
}

/// Child: logs, says so, then waits to be signalled.
#[test]
fn signal_child() {
    let Some(dir) = std::env::var_os("EXIT_CHILD_DIR") else {
        return;
    };
    let guard = trail::builder()
        .dir(dir)
        .capacity(EVENTS)
        .flush_on_signals(true)
        .filter_from_env(false)
        .install()
        .unwrap();
    for i in 0..EVENTS {
        trail::info!(i, pad = "x".repeat(200), "queued");
    }
    println!("logged");
    std::mem::forget(guard);
    std::thread::sleep(std::time::Duration::from_secs(60));
}
