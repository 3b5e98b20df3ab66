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

#[test]
fn the_writer_waits_out_a_full_disk_and_loses_nothing() {
    let base = tempfile::tempdir().unwrap();
    let mount_point = base.path().join("tiny");
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
    let _mount = Mount(mount_point.clone());

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
