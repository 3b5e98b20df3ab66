//! The `max_level_*` and `release_max_level_*` features remove calls above the ceiling
//! from the build. A workspace member with those features would pass them on to every
//! crate in a workspace build, so this test builds a small program on its own, against
//! the facade, in debug and in release.

use std::path::Path;
use std::process::Command;

const PROGRAM: &str = r#"
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

static SEEN: AtomicU32 = AtomicU32::new(0);
static EVALUATED: AtomicU32 = AtomicU32::new(0);

struct Count;

impl trail::Sink for Count {
    fn submit(&self, _record: &trail::Record) {
        SEEN.fetch_add(1, SeqCst);
    }
    fn flush(&self) {}
}

fn touch() -> u32 {
    EVALUATED.fetch_add(1, SeqCst)
}

fn main() {
    trail::set_sink(&Count, trail::LevelFilter::Trace).unwrap();
    trail::trace!(a = touch());
    trail::debug!(a = touch());
    trail::info!(a = touch());
    trail::warn!(a = touch());
    trail::error!(a = touch());
    trail::fatal!(a = touch());
    println!(
        "ceiling={} seen={} evaluated={}",
        trail::STATIC_MAX_LEVEL,
        SEEN.load(SeqCst),
        EVALUATED.load(SeqCst)
    );
}
"#;

fn run(release: bool) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), PROGRAM).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"ceiling\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\ntrail = {{ path = {:?}, default-features = false, \
             features = [\"max_level_warn\", \"release_max_level_error\"] }}\n\n[workspace]\n",
            repo.display().to_string()
        ),
    )
    .unwrap();
    // The workspace's lock file pins the same versions, so no download is needed.
    std::fs::copy(repo.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();

    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["run", "--quiet", "--offline", "--manifest-path"])
        .arg(dir.path().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo.join("target/ceiling"));
    if release {
        cargo.arg("--release");
    }
    let output = cargo.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "building the ceiling program failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
#[ignore = "slow (builds a crate twice): `cargo test --test compile_time_ceiling -- --ignored`, which CI runs"]
fn max_level_features_remove_calls_above_the_ceiling() {
    // Debug build: `max_level_warn` applies; trace, debug and info are gone, their
    // arguments never evaluated, even with a sink that accepts everything.
    assert_eq!(run(false), "ceiling=warn seen=3 evaluated=3");
    // Release build: `release_max_level_error` is stricter, and the stricter one wins.
    assert_eq!(run(true), "ceiling=error seen=2 evaluated=2");
}
