//! Shipping from inside the process that writes the stream: a thread that follows the
//! stream's files, as `trail ship --follow` would.
//!
//! Callers never wait for it: it reads the files the writer has written, so the files are
//! the buffer, and a slow or absent server only makes it fall behind. It retries for as
//! long as the writer runs. When the guard is dropped, the writer writes everything out
//! first; the shipper then ships what is left and stops, waiting for the server no longer
//! than the time it is given.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{ship, ShipOptions};
use crate::retention::Retention;

pub(crate) struct Background {
    options: ShipOptions,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts following the stream `name` in `dir`.
    pub(crate) fn start(
        mut options: ShipOptions,
        dir: &Path,
        name: &str,
        retention: Retention,
    ) -> std::io::Result<Background> {
        options.dir = dir.to_owned();
        // The writer's own retention, so that the shipper warns before it deletes
        // segments not shipped yet.
        options.keep_segments = options.keep_segments.or(retention.max_segments);
        options.keep_bytes = options.keep_bytes.or(retention.max_bytes);
        options.keep_age = options.keep_age.or(retention.max_age);
        options.name = Some(name.to_owned());
        options.follow = true;
        // After the stop, the shipper keeps trying until the shutdown deadline, not only
        // until its first failure: a server that answers slowly at that moment (an
        // election in a cluster, a stream being created) still gets the records.
        options.abandon = Some(Arc::new(AtomicBool::new(false)));
        let run = options.clone();
        let thread = std::thread::Builder::new()
            .name("trail-shipper".to_owned())
            .spawn(move || follow(&run))?;
        Ok(Background {
            options,
            thread: Some(thread),
        })
    }

    /// Asks the shipper to ship what is left and stop; waits for it at most `limit`.
    pub(crate) fn finish(&mut self, limit: Duration) {
        self.options.stop.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + limit;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                if let Some(abandon) = &self.options.abandon {
                    abandon.store(true, Ordering::Relaxed);
                }
                eprintln!(
                    "trail: the shipper to {} did not finish within {limit:?}; \
                     what it had not shipped stays in the files for the next run",
                    self.options.url
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = thread.join();
    }
}

fn follow(options: &ShipOptions) {
    let mut last_report: Option<Instant> = None;
    loop {
        match ship(options) {
            Ok(_) => return,
            Err(e) => {
                if options.giving_up() {
                    eprintln!("trail: shipping stopped: {e}");
                    return;
                }
                if last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    last_report = Some(Instant::now());
                    eprintln!("trail: shipping to {}: {e}; retrying", options.url);
                }
            }
        }
        // A second between tries, cut short at the deadline.
        for _ in 0..20 {
            if options.giving_up() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
