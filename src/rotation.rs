//! When a segment is full: by size, by time period, or both, whichever comes first.

use std::fmt;
use std::str::FromStr;

const SECOND: u64 = 1_000_000_000;

/// A time period for rotation. Boundaries are aligned to UTC midnight, or to the offset
/// given with [`Builder::rotate_utc_offset`](crate::Builder::rotate_utc_offset).
///
/// ```
/// let period: trail::Period = "hour".parse().unwrap();
/// assert_eq!(period, trail::Period::Hour);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    /// Every minute.
    Minute,
    /// Every hour.
    Hour,
    /// Every day.
    Day,
}

impl Period {
    pub(crate) fn nanos(self) -> u64 {
        match self {
            Period::Minute => 60 * SECOND,
            Period::Hour => 3_600 * SECOND,
            Period::Day => 86_400 * SECOND,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        })
    }
}

impl FromStr for Period {
    type Err = ParsePeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "minute" | "minutely" => Ok(Period::Minute),
            "hour" | "hourly" => Ok(Period::Hour),
            "day" | "daily" => Ok(Period::Day),
            _ => Err(ParsePeriodError::new(s)),
        }
    }
}

unknown_name_error!(
    /// The error for a string that names no rotation [`Period`].
    ///
    /// ```
    /// let err = "weekly".parse::<trail::Period>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown period \"weekly\": expected minute, hour or day"
    /// );
    /// ```
    ParsePeriodError,
    "period",
    "minute, hour or day"
);

/// The rotation settings of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rotation {
    pub(crate) max_bytes: Option<u64>,
    pub(crate) every: Option<Period>,
    /// Seconds east of UTC that period boundaries align to (a fixed offset).
    pub(crate) utc_offset: i32,
    /// Whether the active segment is named `_` and its final name until it is sealed, so
    /// that file sources only list sealed segments.
    pub(crate) hide_active: bool,
}

impl Rotation {
    /// The first period boundary strictly after `now`, if rotating by time.
    pub(crate) fn next_boundary(&self, now: u64) -> Option<u64> {
        let period = self.every?.nanos() as i128;
        let offset = i128::from(self.utc_offset) * SECOND as i128;
        let local = now as i128 + offset;
        let next = (local.div_euclid(period) + 1) * period - offset;
        Some(u64::try_from(next).unwrap_or(u64::MAX))
    }

    /// Whether a record of `len` bytes must start a new segment, given the bytes the
    /// segment already holds and how many of them are records (not a header).
    pub(crate) fn overflows(&self, segment_bytes: u64, has_records: bool, len: u64) -> bool {
        match self.max_bytes {
            Some(max) => has_records && segment_bytes + len > max,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600 * SECOND;

    #[test]
    fn boundaries_align_to_utc_periods() {
        let r = Rotation {
            every: Some(Period::Hour),
            ..Rotation::default()
        };
        let t = 1_795_471_572 * SECOND; // 2026-11-23T22:06:12Z
        assert_eq!(r.next_boundary(t), Some(1_795_474_800 * SECOND)); // 23:00:00Z
        assert_eq!(
            r.next_boundary(1_795_474_800 * SECOND),
            Some(1_795_474_800 * SECOND + HOUR)
        );
        let day = Rotation {
            every: Some(Period::Day),
            ..Rotation::default()
        };
        assert_eq!(day.next_boundary(t), Some(1_795_478_400 * SECOND)); // 2026-11-24T00:00Z
    }

    #[test]
    fn boundaries_align_to_a_local_offset() {
        // Daily at local midnight in UTC+05:30 is 18:30 UTC.
        let r = Rotation {
            every: Some(Period::Day),
            utc_offset: 5 * 3600 + 1800,
            ..Rotation::default()
        };
        let t = 1_795_471_572 * SECOND; // 22:06:12Z, past 18:30Z
        let next = r.next_boundary(t).unwrap() / SECOND;
        assert_eq!(next, 1_795_478_400 + 18 * 3600 + 1800); // 2026-11-24T18:30:00Z
                                                            // And west of UTC: UTC-08:00 midnight is 08:00 UTC.
        let r = Rotation {
            every: Some(Period::Day),
            utc_offset: -8 * 3600,
            ..Rotation::default()
        };
        assert_eq!(
            r.next_boundary(t).unwrap() / SECOND,
            1_795_478_400 + 8 * 3600
        );
    }

    #[test]
    fn size_never_splits_and_never_leaves_a_segment_without_records() {
        let r = Rotation {
            max_bytes: Some(100),
            ..Rotation::default()
        };
        assert!(
            !r.overflows(0, false, 500),
            "an oversized first record still gets written"
        );
        assert!(!r.overflows(60, true, 40));
        assert!(r.overflows(60, true, 41));
        assert!(!Rotation::default().overflows(u64::MAX / 2, true, 1));
    }

    #[test]
    fn periods_parse() {
        for (s, p) in [
            ("minute", Period::Minute),
            ("Hour", Period::Hour),
            ("daily", Period::Day),
        ] {
            assert_eq!(s.parse::<Period>().unwrap(), p);
        }
        let err = "Weekly".parse::<Period>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown period \"Weekly\": expected minute, hour or day"
        );
        let _: &dyn std::error::Error = &err;
    }
}
