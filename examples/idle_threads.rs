//! Many threads that each log one event and then stay alive, as the blocking pool of an
//! async runtime does: a measure of what the queue costs per thread that logs little.
//!
//! ```text
//! /usr/bin/time -v cargo run --release --example idle_threads -- DIR 300
//! ```
//!
//! Prints one JSON object with the number of threads and the events written.

use std::sync::Barrier;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: idle_threads DIR [THREADS]")?;
    let threads: usize = args.next().map_or(Ok(300), |n| n.parse())?;
    let guard = trail::builder().dir(dir).name("idle").install()?;
    // Every thread logs once, then waits until all have logged: all are alive at once,
    // each with its queue.
    let logged = Barrier::new(threads + 1);
    let release = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (logged, release) = (&logged, &release);
            s.spawn(move || {
                trail::info!(t, "one event from a pool thread");
                logged.wait();
                release.wait();
            });
        }
        logged.wait();
        guard.flush();
        release.wait();
    });
    let stats = guard.shutdown();
    println!(
        "{{\"threads\":{threads},\"written\":{},\"dropped\":{}}}",
        stats.written, stats.dropped
    );
    Ok(())
}
