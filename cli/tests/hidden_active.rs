//! `trail` on a stream whose active segment is hidden (`_` and its final name until it is
//! sealed): cat, verify, stats and schema see it while it is written, and `tail -f`
//! follows it across its rename without losing or repeating a record.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{follow_sees_every_record_once, seqs, serial, trail};

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
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
    let builder = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(4096)
        .hide_active_segment(true);
    follow_sees_every_record_once(dir.path(), builder, 3000, 100, Duration::from_millis(15));
}
