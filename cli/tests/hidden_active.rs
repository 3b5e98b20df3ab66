//! `trail` on a stream whose active segment is hidden (`_` and its final name until it is
//! sealed): cat, verify, stats and schema see it while it is written, and `tail -f`
//! follows it across its rename without losing or repeating a record.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const TRAIL: &str = env!("CARGO_BIN_EXE_trail");

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn trail(args: &[&str]) -> Output {
    Command::new(TRAIL)
        .args(args)
        .output()
        .expect("the trail binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The seqs of text records (`@seq=N`), in order.
fn seqs(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            let at = l.find("@seq=").expect("a text record") + 5;
            l[at..].split(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

fn hidden_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("_app."))
        .collect()
}

#[test]
fn cat_verify_stats_and_schema_read_a_stream_whose_active_segment_is_hidden() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(2048)
        .hide_active_segment(true)
        .install()
        .unwrap();
    for n in 0..60_u64 {
        trail::info!(n, "event {n}");
    }
    guard.flush();
    assert_eq!(hidden_files(dir.path()).len(), 1, "written, not sealed");

    let cat = trail(&["cat", d]);
    assert!(cat.status.success(), "{}", text(&cat.stderr));
    assert_eq!(seqs(&text(&cat.stdout)), (1..=60).collect::<Vec<_>>());

    let verify = trail(&["verify", d]);
    let report = text(&verify.stdout);
    assert_eq!(verify.status.code(), Some(0), "{report}");
    assert!(report.contains("active (not sealed yet)"), "{report}");
    assert!(report.contains("60 records, seq 1..=60"), "{report}");

    let stats = trail(&["stats", d]);
    assert!(stats.status.success(), "{}", text(&stats.stderr));
    assert!(
        text(&stats.stdout).contains("60"),
        "{}",
        text(&stats.stdout)
    );

    let schema = trail(&["schema", "--output", "duckdb", d]);
    let query = text(&schema.stdout);
    assert!(schema.status.success(), "{}", text(&schema.stderr));
    assert!(query.contains("/app.*.jsonl*"), "{query}");
    assert!(!query.contains("_app"), "{query}");
    drop(guard);

    let verify = trail(&["verify", d]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    assert!(hidden_files(dir.path()).is_empty());
}

#[test]
fn tail_follow_sees_every_record_once_across_the_renames() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(4096)
        .hide_active_segment(true)
        .install()
        .unwrap();
    trail::info!(n = 0_u32, "before the tail starts");
    guard.flush();
    let mut child = Command::new(TRAIL)
        .args(["tail", "-f", "-n", "100", dir.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let collected = Arc::clone(&lines);
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            collected.lock().unwrap().push(line.unwrap());
        }
    });
    const N: u32 = 3000;
    for n in 1..N {
        trail::info!(n, "followed while rotating");
        if n % 100 == 0 {
            guard.flush();
            std::thread::sleep(Duration::from_millis(15));
        }
    }
    let stats = guard.shutdown();
    assert!(stats.rotations > 20, "{} rotations", stats.rotations);
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines.lock().unwrap().len() < N as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300)); // anything extra would show up now
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    let got = seqs(&lines.lock().unwrap().join("\n"));
    assert_eq!(got, (1..=u64::from(N)).collect::<Vec<_>>());
}
