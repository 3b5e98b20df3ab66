//! Filter directives: a level per target, from the builder or the environment, changed
//! while the program runs; a filtered-out call evaluates nothing.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn messages(dir: &std::path::Path) -> Vec<String> {
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap().msg)
        .collect()
}

/// One call site per target and level, so that each keeps its own cached interest.
fn log_everywhere(touched: &Cell<u32>) {
    let touch = || touched.set(touched.get() + 1);
    trail::debug!(target: "shop::cart", "cart debug");
    trail::trace!(target: "shop::cart::pay", "pay trace");
    trail::debug!(target: "shop::billing", "billing debug");
    trail::warn!(target: "shop::billing", "billing warn");
    trail::error!(target: "noisy", a = { touch(); 1 }, "noisy error");
    trail::error!(target: "noisy::deep", "noisy deep error");
    trail::info!(target: "other", "other info");
    trail::warn!(target: "other", "other warn");
}

#[test]
fn directives_set_a_level_per_target_and_change_at_run_time() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .filter_from_env(false)
        .filter("warn,shop::cart=debug,noisy=off")
        .install()
        .unwrap();
    let touched = Cell::new(0);
    log_everywhere(&touched);
    assert_eq!(
        touched.get(),
        0,
        "a filtered-out call evaluates none of its arguments"
    );

    trail::set_filter("info,shop=trace").unwrap();
    log_everywhere(&touched);
    assert_eq!(touched.get(), 1);

    let err = trail::set_filter("info,shop=chatty").unwrap_err();
    assert!(err.to_string().contains("\"shop=chatty\""), "{err}");
    drop(guard);
    assert_eq!(
        messages(dir.path()),
        [
            // warn,shop::cart=debug,noisy=off
            "cart debug",
            "billing warn",
            "other warn",
            // info,shop=trace
            "cart debug",
            "pay trace",
            "billing debug",
            "billing warn",
            "noisy error",
            "noisy deep error",
            "other info",
            "other warn",
        ]
    );
}

#[test]
fn a_malformed_directive_fails_the_install_and_names_it() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let err = trail::builder()
        .dir(dir.path())
        .filter("info,shop::=debug")
        .install()
        .unwrap_err();
    assert_eq!(err.kind(), trail::ErrorKind::Config);
    assert!(
        err.to_string()
            .starts_with("invalid filter directive \"shop::=debug\""),
        "{err}"
    );
    assert!(!trail::is_installed());
}

#[test]
fn trail_log_wins_over_rust_log_and_both_over_the_level() {
    let _s = serial();
    if std::env::var_os("FILTER_CHILD_DIR").is_some() {
        return;
    }
    let run = |trail_log: Option<&str>, rust_log: Option<&str>| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "filter_child", "--test-threads", "1"])
            .env("FILTER_CHILD_DIR", dir.path())
            .env_remove("TRAIL_LOG")
            .env_remove("RUST_LOG");
        if let Some(v) = trail_log {
            child.env("TRAIL_LOG", v);
        }
        if let Some(v) = rust_log {
            child.env("RUST_LOG", v);
        }
        let out = child.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        messages(dir.path())
    };
    assert_eq!(
        run(None, None),
        ["info", "error"],
        "the builder's level, info"
    );
    assert_eq!(run(None, Some("error")), ["error"]);
    assert_eq!(
        run(Some("debug"), Some("error")),
        ["debug", "info", "error"]
    );
}

/// Runs `filter_child` with `TRAIL_LOG` and `RUST_LOG` set to the values given (unset when
/// None); returns the messages written and the child's standard error.
fn run_filter_child(
    trail_log: Option<&std::ffi::OsStr>,
    rust_log: Option<&std::ffi::OsStr>,
) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "filter_child",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env("FILTER_CHILD_DIR", dir.path())
        .env_remove("TRAIL_LOG")
        .env_remove("RUST_LOG");
    if let Some(v) = trail_log {
        child.env("TRAIL_LOG", v);
    }
    if let Some(v) = rust_log {
        child.env("RUST_LOG", v);
    }
    let out = child.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the install never fails: {stderr}");
    (messages(dir.path()), stderr)
}

#[test]
fn a_malformed_environment_directive_is_reported_once_and_the_rest_applies() {
    let _s = serial();
    if std::env::var_os("FILTER_CHILD_DIR").is_some() {
        return;
    }
    // tracing's span syntax and a bad level beside a valid default.
    let (written, stderr) = run_filter_child(
        Some("debug,filter_directives[span]=trace,nonsense=chatty".as_ref()),
        None,
    );
    assert_eq!(written, ["debug", "info", "error"], "{stderr}");
    for directive in ["\"filter_directives[span]=trace\"", "\"nonsense=chatty\""] {
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(directive)).collect();
        assert_eq!(lines.len(), 1, "{directive} once: {stderr}");
        assert!(lines[0].starts_with("trail: TRAIL_LOG: "), "{stderr}");
    }
    assert!(stderr.contains("span filters"), "{stderr}");

    // A variable with nothing valid gives way to the next.
    let (written, stderr) = run_filter_child(Some("sh op=debug".as_ref()), Some("error".as_ref()));
    assert_eq!(written, ["error"], "{stderr}");
    assert_eq!(stderr.matches("\"sh op=debug\"").count(), 1, "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_filter_variable_that_is_not_utf8_is_reported_like_any_malformed_one() {
    use std::os::unix::ffi::OsStrExt;
    let _s = serial();
    if std::env::var_os("FILTER_CHILD_DIR").is_some() {
        return;
    }
    let value = std::ffi::OsStr::from_bytes(b"error,sh\xffp=debug");
    let (written, stderr) = run_filter_child(None, Some(value));
    assert_eq!(written, ["error"], "the valid rest applies: {stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("not valid UTF-8"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("trail: RUST_LOG: "), "{stderr}");
    assert!(lines[0].contains("sh\u{fffd}p=debug"), "{stderr}");
}

/// Runs only as the child process of the tests above.
#[test]
fn filter_child() {
    let Some(dir) = std::env::var_os("FILTER_CHILD_DIR") else {
        return;
    };
    let guard = trail::builder().dir(dir).install().unwrap();
    trail::debug!("debug");
    trail::info!("info");
    trail::error!("error");
    drop(guard);
}
