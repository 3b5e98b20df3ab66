//! A full disk: the writer reports the error, keeps the events (callers wait under the
//! default policy), and writes every one of them once space is back. Uses a tiny tmpfs,
//! mounted for the test (the test machines run as root).

use std::process::Command;
use std::time::{Duration, Instant};

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A 1 MiB tmpfs inside `base`, unmounted when the returned guard drops.
fn tiny_disk(base: &std::path::Path) -> (std::path::PathBuf, Mount) {
    let mount_point = base.join("tiny");
    std::fs::create_dir(&mount_point).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mount_point)
        .status()
        .expect("mount runs");
    assert!(
        mounted.success(),
        "mounting a tmpfs needs root, which the test machines have"
    );
    (mount_point.clone(), Mount(mount_point))
}

/// The two tests share the global writer: they take turns.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn the_writer_waits_out_a_full_disk_and_loses_nothing() {
    let _s = serial();
    let base = tempfile::tempdir().unwrap();
    let (mount_point, _mount) = tiny_disk(base.path());

    // Leave about 200 KB free.
    let filler = mount_point.join("filler");
    std::fs::write(&filler, vec![0u8; 800 * 1024]).unwrap();
    let dir = mount_point.join("logs");
    let guard = trail::builder()
        .dir(&dir)
        .capacity(64)
        .filter_from_env(false)
        .install()
        .unwrap();

    const N: u32 = 2_000; // about 600 KB of JSON lines
    let logger = std::thread::spawn(|| {
        for i in 0..N {
            trail::info!(i, pad = "p".repeat(200), "filling the disk");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while guard.stats().io_errors == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(guard.stats().io_errors > 0, "the disk filled up");
    assert!(
        !logger.is_finished(),
        "the callers wait while the disk is full"
    );

    std::fs::remove_file(&filler).unwrap();
    logger.join().unwrap();
    let stats = guard.shutdown();
    assert_eq!(stats.written, u64::from(N));
    assert_eq!(stats.dropped, 0);

    let records: Vec<trail::read::LogRecord> = trail::read::open(&dir)
        .unwrap()
        .collect::<Result<_, _>>()
        .expect("every record whole");
    assert_eq!(records.len(), N as usize);
    assert!(
        records.iter().map(|r| r.seq).eq(1..=u64::from(N)),
        "each once, in order"
    );
}

#[test]
fn a_shutdown_deadline_gives_up_on_a_disk_that_stays_full() {
    let _s = serial();
    let base = tempfile::tempdir().unwrap();
    let (mount_point, _mount) = tiny_disk(base.path());
    std::fs::write(mount_point.join("filler"), vec![0u8; 900 * 1024]).unwrap();
    let dir = mount_point.join("logs");
    let guard = trail::builder()
        .dir(&dir)
        .capacity(64)
        .shutdown_timeout(Duration::from_millis(300))
        .filter_from_env(false)
        .install()
        .unwrap();
    let logger = std::thread::spawn(|| {
        for i in 0..2_000_u32 {
            trail::info!(i, pad = "p".repeat(200), "never fits");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while guard.stats().io_errors == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = guard.stats();
    assert!(stats.io_errors > 0);
    assert!(
        (1..=64).contains(&stats.queue_high_water),
        "the queue filled up, within its capacity: {stats:?}"
    );

    let started = Instant::now();
    let stats = guard.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the drop took {:?}",
        started.elapsed()
    );
    assert!(stats.abandoned > 0, "{stats:?}");
    logger.join().unwrap();
    // What did reach the disk is kept and reads back; only the last record may be
    // incomplete.
    let mut torn = 0;
    for record in trail::read::open(&dir).unwrap() {
        if let Err(e) = record {
            assert_eq!(e.kind(), trail::read::ReadErrorKind::Torn, "{e}");
            torn += 1;
        }
    }
    assert!(torn <= 1);
    // The manifest could not be written on the full disk either; the next start, with
    // space back, lists the segment and its torn tail.
    std::fs::remove_file(mount_point.join("filler")).unwrap();
    drop(
        trail::builder()
            .dir(&dir)
            .filter_from_env(false)
            .install()
            .unwrap(),
    );
    let manifest = std::fs::read_to_string(dir.join("app.manifest.json")).unwrap();
    assert!(manifest.contains("\"file\""), "{manifest}");
    assert_eq!(manifest.contains("torn_tail"), torn == 1, "{manifest}");
}
