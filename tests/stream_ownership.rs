//! One stream, one writing process, even when the lock file is removed under the writer:
//! a process that starts then finds the live writer by the lock on its active segment, and
//! a writer that finds its stream taken stops writing to it and says so once. Either way
//! no `seq` appears twice. The other processes are this test binary again, running one of
//! the `*_child` tests.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

const CHILD: &str = "OWNERSHIP_CHILD_DIR";

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn builder(dir: &Path) -> trail::Builder {
    trail::builder().dir(dir).name("app").filter_from_env(false)
}

fn child(test: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--test-threads", "1", "--nocapture"])
        .env(CHILD, dir);
    cmd
}

/// The `seq` of every record in the stream's files now, in file order.
fn seqs(dir: &Path) -> Vec<u64> {
    trail::read::open_stream(dir, "app")
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect()
}

/// Runs `newcomer_child` and gives what it printed.
fn newcomer(dir: &Path) -> String {
    let output = child("newcomer_child", dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_process_started_after_the_lock_file_was_removed_finds_the_live_writer() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = builder(dir.path()).install().unwrap();
    for i in 0..5_u32 {
        trail::info!(i, "owner");
    }
    guard.flush();
    let lock = dir.path().join("app.lock");
    std::fs::remove_file(&lock).unwrap();

    let stdout = newcomer(dir.path());
    let active = guard.path();
    assert!(
        stdout.contains("child: stream \"app\" in ")
            && stdout.contains("is already being written by another process")
            && stdout.contains(&*active.to_string_lossy()),
        "the newcomer is refused, naming the segment held: {stdout}"
    );
    assert!(
        !lock.exists(),
        "the refused newcomer leaves no lock file behind"
    );

    for i in 5..10_u32 {
        trail::info!(i, "owner");
    }
    guard.rotate();
    assert!(lock.exists(), "the writer makes its lock file again");
    let stdout = newcomer(dir.path());
    assert!(
        stdout.contains("is already being written by another process (lock "),
        "{stdout}"
    );
    trail::info!("owner");
    drop(guard);
    assert_eq!(seqs(dir.path()), (1..=11).collect::<Vec<_>>());
}

/// Runs only as a child of the test above: tries to write the stream.
#[test]
fn newcomer_child() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    match builder(Path::new(&dir)).install() {
        Ok(guard) => {
            for i in 0..3_u32 {
                trail::info!(i, "newcomer");
            }
            drop(guard);
            println!("child: wrote");
        }
        Err(e) => println!("child: {e}"),
    }
}

#[test]
fn a_writer_whose_stream_was_taken_stops_writing_to_it_and_says_so_once() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let aside = tempfile::tempdir().unwrap();
    let mut owner = child("owner_child", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(owner.stdout.take().unwrap()).lines();
    let active = loop {
        let line = lines.next().expect("the owner says it is ready").unwrap();
        // The test harness starts the line with the test's name.
        if let Some((_, path)) = line.split_once("ready ") {
            break path.to_owned();
        }
    };
    // Both the lock file and the active segment disappear: a process that starts now
    // cannot tell that the stream is being written.
    std::fs::remove_file(dir.path().join("app.lock")).unwrap();
    let moved = aside.path().join("moved.jsonl");
    std::fs::rename(&active, &moved).unwrap();
    let guard = builder(dir.path()).install().unwrap();
    for i in 0..3_u32 {
        trail::info!(i, "newcomer");
    }
    guard.flush();

    let mut stdin = owner.stdin.take().unwrap();
    writeln!(stdin, "go").unwrap();
    drop(stdin);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let output = owner.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{rest:?}{stderr}");
    assert_eq!(
        stderr.matches("is written by another process now").count(),
        1,
        "said once: {stderr}"
    );
    assert!(
        rest.iter().any(|l| l == "abandoned 5"),
        "what the owner logged after losing the stream is counted: {rest:?}"
    );

    trail::info!("newcomer");
    drop(guard);
    // The owner's 1..5 sealed, the newcomer's 6..9; the owner's 6 went with the file
    // moved away, and nothing it logged after is in the stream.
    assert_eq!(seqs(dir.path()), (1..=9).collect::<Vec<_>>());
    let moved: Vec<u64> = trail::read::open(&moved)
        .unwrap()
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(moved, [6]);
}

/// Runs only as a child of the test above: the stream's first writer.
#[test]
fn owner_child() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    let guard = builder(Path::new(&dir)).install().unwrap();
    for i in 0..5_u32 {
        trail::info!(i, "owner");
    }
    guard.rotate();
    trail::info!("owner");
    guard.flush();
    println!("ready {}", guard.path().display());
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    for i in 0..3_u32 {
        trail::info!(i, "owner, after");
    }
    guard.flush();
    for i in 0..2_u32 {
        trail::info!(i, "owner, after");
    }
    guard.flush();
    println!("abandoned {}", guard.stats().abandoned);
    drop(guard);
}
