//! A process killed with SIGKILL in the middle of a flood leaves files that all decode: at
//! most the final record is torn, and it is reported; a restart continues the stream.

use std::time::{Duration, Instant};

use trail::read::ReadErrorKind;

#[test]
fn sigkill_mid_flood_loses_at_most_the_torn_final_record() {
    if std::env::var_os("CRASH_CHILD_DIR").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env("CRASH_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it write a few segments, then kill it without warning.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let segments = std::fs::read_dir(dir.path()).unwrap().filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".jsonl")
        });
        if segments.count() >= 4 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut seqs = Vec::new();
    let mut torn = Vec::new();
    for record in trail::read::open(dir.path()).unwrap() {
        match record {
            Ok(r) => seqs.push(r.seq),
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ReadErrorKind::Torn,
                    "only a torn tail is acceptable: {e}"
                );
                torn.push(e.path().to_owned());
            }
        }
    }
    assert!(
        seqs.len() >= 300,
        "the child wrote {} records, several segments",
        seqs.len()
    );
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every written record whole, none missing"
    );
    assert!(torn.len() <= 1, "{torn:?}");

    // A restart finds the end of the stream and goes on from there.
    let guard = trail::builder()
        .dir(dir.path())
        .name("flood")
        .filter_from_env(false)
        .install()
        .unwrap();
    trail::info!("after the crash");
    drop(guard);
    let after: Vec<_> = trail::read::open(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    let last = after.last().unwrap();
    assert_eq!(last.msg, "after the crash");
    assert_eq!(last.seq, seqs.len() as u64 + 1);
    let manifest = std::fs::read_to_string(dir.path().join("flood.manifest.json")).unwrap();
    assert_eq!(
        manifest.contains("torn_tail"),
        !torn.is_empty(),
        "the torn tail is noted: {manifest}"
    );
}

/// Runs only as the child process of the test above, flooding until killed.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os("CRASH_CHILD_DIR") else {
        return;
    };
    let _guard = trail::builder()
        .dir(dir)
        .name("flood")
        .rotate_bytes(64 * 1024)
        .filter_from_env(false)
        .install()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4_u64 {
            s.spawn(move || {
                for i in 0.. {
                    trail::info!(t, i, pad = "x".repeat((i % 200) as usize), "flood {i}");
                }
            });
        }
    });
}
