//! Losing the writer without noticing: a child process after `fork()`, and a guard
//! dropped at once. Neither hangs; each says so once on standard error; the events they
//! lose are counted. Each case runs in a child process of its own, whose standard error
//! the test reads.

use std::process::Command;

/// Runs `test` of this file as a child process with `dir` to log into; returns its exit
/// status and standard error. None in the child itself.
fn run_child(test: &str) -> Option<(tempfile::TempDir, std::process::Output)> {
    if std::env::var_os("FORK_CHILD_DIR").is_some() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads", "1", "--nocapture"])
        .env("FORK_CHILD_DIR", dir.path())
        .output()
        .unwrap();
    Some((dir, out))
}

fn messages(dir: &std::path::Path) -> Vec<String> {
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap().msg)
        .collect()
}

#[cfg(unix)]
#[test]
fn a_forked_child_logs_nothing_says_so_once_and_never_hangs() {
    let Some((dir, out)) = run_child("fork_child") else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("this process was forked").count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        messages(dir.path()),
        ["before the fork", "after the fork"],
        "the parent's events, and none of the child's"
    );
}

/// The parent: logs, forks, watches the child for ten seconds, logs again. The child
/// logs, flushes in both ways, drops its copy of the guard, then installs a writer of its
/// own and flushes it; it exits 0 if all returned and counted right.
#[cfg(unix)]
#[test]
fn fork_child() {
    let Some(dir) = std::env::var_os("FORK_CHILD_DIR") else {
        return;
    };
    let guard = trail::builder()
        .dir(dir)
        .filter_from_env(false)
        .install()
        .unwrap();
    trail::info!("before the fork");
    guard.flush();
    // SAFETY: the child only logs, flushes and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        for i in 0..3 {
            trail::info!(i, "in the child");
        }
        trail::flush();
        guard.flush();
        let lost = trail::lost_without_sink();
        drop(guard);
        // A writer of its own works in the child, and its flush waits for it.
        let own = tempfile::tempdir().unwrap();
        let guard = trail::builder()
            .dir(own.path())
            .filter_from_env(false)
            .install()
            .unwrap();
        trail::info!("the child's own writer");
        guard.flush();
        let written = trail::read::open(own.path()).map_or(0, |r| r.count());
        drop(guard);
        drop(own);
        let code = match (lost, written) {
            (3, 1) => 0,
            (3, _) => 4,
            _ => 3,
        };
        // SAFETY: ends the child without running the parent's exit handlers twice.
        unsafe { libc::_exit(code) };
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the child's exit status.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            break;
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: `pid` is our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(libc::WIFEXITED(status), "the child ended by a signal");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child counted its 3 lost events (else 3), then its own writer wrote (else 4)"
    );
    trail::info!("after the fork");
    drop(guard);
}

#[test]
fn a_guard_dropped_at_once_is_reported_once_while_events_keep_coming() {
    let Some((dir, out)) = run_child("dropped_guard_child") else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("events are logged after the writer's guard was dropped")
            .count(),
        1,
        "{stderr}"
    );
    // The writer stopped before the events came: its empty segment is gone.
    let written = trail::read::open(dir.path()).map_or(0, |r| r.count());
    assert_eq!(written, 0);
}

/// The mistake: `let _ =` drops the guard at once.
#[test]
fn dropped_guard_child() {
    let Some(dir) = std::env::var_os("FORK_CHILD_DIR") else {
        return;
    };
    let _ = trail::builder()
        .dir(dir)
        .filter_from_env(false)
        .install()
        .unwrap();
    for i in 0..100 {
        trail::info!(i, "nobody writes this");
    }
    trail::flush();
    assert_eq!(trail::lost_without_sink(), 100);
}
