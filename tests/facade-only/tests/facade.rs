//! A crate on the facade alone: no writer dependency, and calls that cost nothing while
//! no writer is installed.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::Ordering;

#[test]
fn the_facade_pulls_in_none_of_the_writers_dependencies() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--package",
            "facade-only",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let packages: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(packages.contains("trail"), "{packages:?}");
    for writer_dep in [
        "crossbeam-channel",
        "crossbeam-utils",
        "serde_json",
        "serde",
        "time",
        "itoa",
        "ryu",
    ] {
        assert!(
            !packages.contains(writer_dep),
            "the facade pulled in {writer_dep}: {packages:?}"
        );
    }
}

#[test]
fn without_a_writer_calls_evaluate_nothing() {
    assert!(!trail::is_installed());
    assert_eq!(trail::max_level(), trail::LevelFilter::Off);
    let before = facade_only::LOOKUPS.load(Ordering::SeqCst);
    assert_eq!(facade_only::add_to_cart(7, 12, 3), 300);
    assert_eq!(facade_only::LOOKUPS.load(Ordering::SeqCst), before);
    trail::flush(); // a no-op without a sink
}
