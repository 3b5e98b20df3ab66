//! A panic becomes a `fatal` event, written out before the previous hook runs.

#[test]
fn a_panic_is_logged_as_fatal_and_written_before_the_process_dies() {
    if std::env::var_os("PANIC_CHILD_DIR").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panic_child",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env("PANIC_CHILD_DIR", dir.path())
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child exits with an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the cart is empty"),
        "the previous hook still ran: {stderr}"
    );
    let records: Vec<trail::read::LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(msgs, ["before the panic", "panicked: the cart is empty"]);
    assert_eq!(out.status.code(), Some(3));
    let fatal = &records[1];
    assert_eq!(fatal.level, trail::Level::Fatal);
    assert_eq!(fatal.target, "panic");
    assert_eq!(fatal.msg, "panicked: the cart is empty");
    let field = |k: &str| fatal.field(k).map(|v| v.to_string()).unwrap_or_default();
    assert!(
        field("location").starts_with("tests/panic_hook.rs:"),
        "{}",
        field("location")
    );
    assert_eq!(field("thread"), "checkout");
    assert!(
        field("backtrace").contains("panic_child"),
        "with RUST_BACKTRACE=1, a backtrace"
    );
}

/// Runs only as the child process of the test above. The guard is never dropped: the
/// panic hook alone must get the event out.
#[test]
fn panic_child() {
    let Some(dir) = std::env::var_os("PANIC_CHILD_DIR") else {
        return;
    };
    let guard = trail::builder()
        .dir(dir)
        .log_panics(true)
        .install()
        .unwrap();
    trail::info!("before the panic");
    std::mem::forget(guard);
    let joined = std::thread::Builder::new()
        .name("checkout".into())
        .spawn(|| panic!("the cart is empty"))
        .unwrap()
        .join();
    assert!(joined.is_err());
    // Exit without dropping the guard: only the panic hook wrote the event out.
    std::process::exit(3);
}
