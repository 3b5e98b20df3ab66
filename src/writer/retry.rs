//! Write retry: a write to the active segment that fails is counted, reported on
//! standard error at a bounded rate, waited on with a growing pause, and tried again,
//! until it succeeds or a shutdown's deadline passes; then the records still buffered are
//! given up, counted and said.

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::file_output::FileOutput;

impl FileOutput {
    /// [`FileOutput::failed`] for an error of a write to the active segment.
    #[cold]
    pub(super) fn failed_write(&mut self, error: io::Error, backoff: &mut Duration) -> bool {
        let what = format!("cannot write {}: {error}", self.files.path().display());
        self.failed(&what, backoff)
    }

    /// Counts and reports a failure to write out (`what` names the path and the error),
    /// waits, and says whether to try again: always, until a shutdown's deadline has
    /// passed.
    #[cold]
    pub(super) fn failed(&mut self, what: &str, backoff: &mut Duration) -> bool {
        self.shared
            .counters
            .io_errors
            .fetch_add(1, Ordering::Relaxed);
        let give_up = *self
            .shared
            .give_up
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if give_up.is_some_and(|at| Instant::now() >= at) {
            eprintln!("trail: {what}; the shutdown deadline has passed");
            return false;
        }
        self.reporter.report(FileErrorKind::Write, || {
            format!("{what}; retrying, nothing is dropped")
        });
        std::thread::sleep(*backoff);
        *backoff = (*backoff * 2).min(Duration::from_secs(1));
        true
    }

    /// Drops the buffered records, counting them as abandoned: those of a stream that
    /// another process owns now (reported when that was found), or what is left at the
    /// shutdown deadline (see [`FileOutput::abandon`]).
    #[cold]
    pub(super) fn disowned(&mut self) {
        let records = self.buffered_records();
        self.shared
            .counters
            .abandoned
            .fetch_add(records, Ordering::Relaxed);
        self.buf.clear();
        self.buffered = None;
    }

    /// Gives up on the buffered records at the shutdown deadline, saying how many.
    #[cold]
    pub(super) fn abandon(&mut self, written_bytes: usize) {
        eprintln!(
            "trail: gave up on {} records ({} bytes) not written to {} by the shutdown deadline{}",
            self.buffered_records(),
            self.buf.len() - written_bytes,
            self.files.path().display(),
            if written_bytes > 0 {
                "; the last record there is incomplete"
            } else {
                ""
            }
        );
        self.disowned();
    }
}

/// The kinds of file error the writer reports, each limited to its own rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileErrorKind {
    /// A write or a sync that failed, or a segment that could not be created in place of
    /// a lost one; retried.
    Write,
    /// A rotation that could not create the next segment.
    Rotate,
    /// The active segment's file, found removed or replaced.
    LostSegment,
}

/// Reports file errors on standard error, each kind at most once per interval, with a
/// count of the ones left out in between.
pub(crate) struct ErrorReporter {
    interval: Duration,
    /// When each kind of error was last reported, and how many went unreported since.
    kinds: [(Option<Instant>, u64); 3],
}

impl ErrorReporter {
    pub(crate) fn new(interval: Duration) -> Self {
        ErrorReporter {
            interval,
            kinds: [(None, 0); 3],
        }
    }

    /// Prints `message()` after `trail: `, unless the same kind of error was reported
    /// less than the interval ago: then it is only counted. Returns whether it printed.
    pub(super) fn report(&mut self, kind: FileErrorKind, message: impl FnOnce() -> String) -> bool {
        let now = Instant::now();
        let (last, suppressed) = &mut self.kinds[kind as usize];
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            *suppressed += 1;
            return false;
        }
        let more = match *suppressed {
            0 => String::new(),
            1 => " (1 more like it since the last report)".to_owned(),
            n => format!(" ({n} more like it since the last report)"),
        };
        eprintln!("trail: {}{more}", message());
        *last = Some(now);
        *suppressed = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_is_reported_at_most_once_per_interval() {
        let built = std::cell::Cell::new(0);
        let message = || {
            built.set(built.get() + 1);
            "test report, please ignore".to_owned()
        };
        let mut reporter = ErrorReporter::new(Duration::from_secs(3600));
        assert!(reporter.report(FileErrorKind::Write, message));
        assert!(!reporter.report(FileErrorKind::Write, message));
        assert!(!reporter.report(FileErrorKind::Write, message));
        assert!(
            reporter.report(FileErrorKind::Rotate, message),
            "another kind"
        );
        assert!(reporter.report(FileErrorKind::LostSegment, message));
        assert_eq!(built.get(), 3, "messages left out are never built");
        assert_eq!(reporter.kinds[FileErrorKind::Write as usize].1, 2);

        let mut reporter = ErrorReporter::new(Duration::ZERO);
        assert!(reporter.report(FileErrorKind::Write, message));
        assert!(reporter.report(FileErrorKind::Write, message));
    }
}
