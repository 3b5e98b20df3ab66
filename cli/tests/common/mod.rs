//! What the `trail` binary's tests share: running the binary, taking turns at the global
//! writer, seqs read back from text lines, `trail tail -f` followed as it prints, and
//! (in `nats`) nats-servers for the shipping tests.

// Each test file uses a part of this module.
#![allow(dead_code)]

#[cfg(all(unix, feature = "ship"))]
pub mod nats;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const TRAIL: &str = env!("CARGO_BIN_EXE_trail");

/// The writer is global: the tests that write streams take turns.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `trail` with `args` to its end.
pub fn trail(args: &[&str]) -> Output {
    Command::new(TRAIL)
        .args(args)
        .output()
        .expect("the trail binary runs")
}

/// The seqs of text records (`@seq=N`), in order.
pub fn seqs(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            let at = l.find("@seq=").expect("a text record") + 5;
            l[at..].split(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

/// What a process wrote on standard error, invalid UTF-8 replaced.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The id of the stream `app` in `dir`.
pub fn stream_id(dir: &Path) -> String {
    trail::identity::load(dir, "app")
        .unwrap()
        .expect("the stream has an identity")
        .stream_id
}

/// Waits for `child` to end, `limit` at most: past it, kills the process and fails.
pub fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the process did not finish in {limit:?}: {}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// `trail tail -f -n 100 DIR` running, its lines collected as it prints them.
pub struct TailFollow {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: JoinHandle<()>,
}

impl TailFollow {
    /// Starts `trail tail -f -n 100` on `dir`, which must hold a record, and returns once
    /// the tail has printed it.
    pub fn start(dir: &Path) -> TailFollow {
        let mut child = Command::new(TRAIL)
            .args(["tail", "-f", "-n", "100", dir.to_str().unwrap()])
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
        let tail = TailFollow {
            child,
            lines,
            reader,
        };
        // The stream holds a record already: once the tail has printed it, the tail is
        // following, and whatever is written next comes after its starting point. Without
        // this wait a slow start (a cold cache, a loaded machine) begins `-n 100` records
        // before a later end, past the first records.
        let deadline = Instant::now() + Duration::from_secs(60);
        while tail.lines.lock().unwrap().is_empty() {
            assert!(
                Instant::now() < deadline,
                "trail tail -f printed nothing in a minute"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        tail
    }

    /// Waits until `count` lines came (a minute at most) and a while longer, so that
    /// anything extra shows up too, then stops the tail: the seqs of every line printed.
    pub fn seqs_after(mut self, count: usize) -> Vec<u64> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.lines.lock().unwrap().len() < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.reader.join().unwrap();
        let text = self.lines.lock().unwrap().join("\n");
        seqs(&text)
    }
}

/// Installs `builder`, logs a record, starts `trail tail -f` on `dir`, then logs records
/// 1 to `count - 1`, flushing and pausing `pause` every `every` of them so that segments
/// are sealed while the tail follows; checks that the writer rotated more than 20 times
/// and that the tail printed every seq once, in order.
pub fn follow_sees_every_record_once(
    dir: &Path,
    builder: trail::Builder,
    count: u32,
    every: u32,
    pause: Duration,
) {
    let guard = builder.install().unwrap();
    trail::info!(n = 0_u32, "before the tail starts");
    guard.flush();
    let tail = TailFollow::start(dir);
    for n in 1..count {
        trail::info!(n, "followed while rotating");
        if n % every == 0 {
            guard.flush();
            std::thread::sleep(pause);
        }
    }
    let rotations = guard.shutdown().rotations;
    let got = tail.seqs_after(count as usize);
    assert!(rotations > 20, "{rotations} rotations");
    let missing: Vec<u64> = (1..=u64::from(count))
        .filter(|s| !got.contains(s))
        .collect();
    let repeated = got.len() - (count as usize - missing.len());
    assert!(
        missing.is_empty() && repeated == 0,
        "missing {missing:?}, {repeated} repeated"
    );
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order");
}
