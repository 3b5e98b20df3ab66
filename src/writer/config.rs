//! The writer's settings that users name in configuration: what a full queue does to the
//! caller ([`Policy`]) and when written data is synced to the disk ([`Fsync`]). Each
//! parses from the words a command line or a configuration file uses.

use std::time::Duration;

/// What a full queue does to the caller.
///
/// ```
/// let policy: trail::Policy = "drop".parse().unwrap();
/// assert_eq!(policy, trail::Policy::Drop);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Wait for room: nothing is lost, the caller slows down to the writer's pace.
    #[default]
    Block,
    /// Drop the event and count it (see [`Stats::dropped`](crate::Stats::dropped)); the
    /// caller never waits.
    Drop,
    /// As `Drop`, and the stream itself gets a record saying how many events were
    /// dropped, between when and when, at which levels (target `trail`, level `warn`).
    DropAndReport,
}

impl std::str::FromStr for Policy {
    type Err = ParsePolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "block" => Ok(Policy::Block),
            "drop" => Ok(Policy::Drop),
            "drop-and-report" | "report" => Ok(Policy::DropAndReport),
            _ => Err(ParsePolicyError::new(s)),
        }
    }
}

/// When the writer asks the operating system to put written data on the disk (`fsync`).
///
/// Without it, a crash of the process loses nothing that was written, but a power failure
/// or a kernel crash can lose what the system had not flushed yet.
///
/// ```
/// use std::time::Duration;
/// let sync: trail::Fsync = "every-batch".parse().unwrap();
/// assert_eq!(sync, trail::Fsync::EveryBatch);
/// assert_eq!("250ms".parse::<trail::Fsync>().unwrap(), trail::Fsync::Every(Duration::from_millis(250)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fsync {
    /// Never; the operating system decides (the default).
    #[default]
    Never,
    /// After every batch of records written.
    EveryBatch,
    /// At most this often, after a write.
    Every(Duration),
    /// When a segment is sealed (rotation and shutdown).
    OnRotation,
}

impl std::str::FromStr for Fsync {
    type Err = ParseFsyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "never" => Ok(Fsync::Never),
            "every-batch" | "batch" => Ok(Fsync::EveryBatch),
            "on-rotation" | "rotation" => Ok(Fsync::OnRotation),
            other => other
                .strip_suffix("ms")
                .and_then(|ms| ms.parse().ok())
                .map(|ms| Fsync::Every(Duration::from_millis(ms)))
                .ok_or_else(|| ParseFsyncError::new(s)),
        }
    }
}

unknown_name_error!(
    /// The error for a string that names no [`Policy`].
    ///
    /// ```
    /// let err = "wait".parse::<trail::Policy>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown policy \"wait\": expected block, drop or drop-and-report"
    /// );
    /// ```
    ParsePolicyError,
    "policy",
    "block, drop or drop-and-report"
);

unknown_name_error!(
    /// The error for a string that names no [`Fsync`] policy.
    ///
    /// ```
    /// let err = "always".parse::<trail::Fsync>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown fsync policy \"always\": expected never, every-batch, on-rotation or a period such as 100ms"
    /// );
    /// ```
    ParseFsyncError,
    "fsync policy",
    "never, every-batch, on-rotation or a period such as 100ms"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_policy_says_what_was_given_and_what_is_accepted() {
        let err = "Wait".parse::<Policy>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown policy \"Wait\": expected block, drop or drop-and-report"
        );
        let _: &dyn std::error::Error = &err;
        assert_eq!("Drop-And-Report".parse(), Ok(Policy::DropAndReport));
    }

    #[test]
    fn an_unknown_fsync_policy_says_what_was_given_and_what_is_accepted() {
        for given in ["always", "10s", "ms", "-5ms"] {
            let err = given.parse::<Fsync>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "unknown fsync policy {given:?}: expected never, every-batch, \
                     on-rotation or a period such as 100ms"
                )
            );
        }
        assert_eq!(
            "100MS".parse(),
            Ok(Fsync::Every(Duration::from_millis(100)))
        );
    }
}
