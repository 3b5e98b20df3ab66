//! Severity levels, the filter that selects them, and the compile-time ceiling.
//!
//! Levels are ordered by severity: `trace < debug < info < warn < error < fatal`.
//! A [`LevelFilter`] names the least severe level that is kept, or [`LevelFilter::Off`].

use core::fmt;
use core::str::FromStr;

/// The severity of an event.
///
/// Ordered from least to most severe, so `Level::Warn > Level::Info`. Written and
/// parsed as lower-case names; parsing ignores case.
///
/// ```
/// use trail::Level;
///
/// assert!(Level::Error > Level::Warn);
/// assert_eq!("WARN".parse::<Level>().unwrap(), Level::Warn);
/// assert_eq!(Level::Fatal.to_string(), "fatal");
/// assert_eq!(Level::Info.severity_number(), 9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Very fine detail, usually off in production.
    Trace = 1,
    /// Information useful when debugging.
    Debug = 2,
    /// Normal operation worth recording.
    Info = 3,
    /// Something unexpected that the program handled.
    Warn = 4,
    /// An operation failed.
    Error = 5,
    /// The program cannot go on; `fatal!` flushes before it returns.
    Fatal = 6,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The lower-case name: `"trace"`, `"debug"`, `"info"`, `"warn"`, `"error"` or `"fatal"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// The OpenTelemetry severity number: 1, 5, 9, 13, 17 or 21.
    pub const fn severity_number(self) -> u8 {
        (self as u8 - 1) * 4 + 1
    }

    /// The level whose [`as_str`](Level::as_str) is `name`, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(name))
    }

    pub(crate) const fn from_u8(n: u8) -> Option<Level> {
        match n {
            1 => Some(Level::Trace),
            2 => Some(Level::Debug),
            3 => Some(Level::Info),
            4 => Some(Level::Warn),
            5 => Some(Level::Error),
            6 => Some(Level::Fatal),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::from_name(s).ok_or_else(|| ParseLevelError::new(s, false))
    }
}

/// Which events are kept: those at this level or more severe, or none with `Off`.
///
/// ```
/// use trail::{Level, LevelFilter};
///
/// let filter: LevelFilter = "warn".parse().unwrap();
/// assert!(filter.enables(Level::Error));
/// assert!(!filter.enables(Level::Info));
/// assert!(!LevelFilter::Off.enables(Level::Fatal));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum LevelFilter {
    /// Keep everything.
    Trace = 1,
    /// Keep `debug` and above.
    Debug = 2,
    /// Keep `info` and above.
    Info = 3,
    /// Keep `warn` and above.
    Warn = 4,
    /// Keep `error` and `fatal`.
    Error = 5,
    /// Keep `fatal` only.
    Fatal = 6,
    /// Keep nothing.
    Off = 7,
}

impl LevelFilter {
    /// Whether an event at `level` passes this filter.
    #[inline(always)]
    pub const fn enables(self, level: Level) -> bool {
        level as u8 >= self as u8
    }

    /// The lower-case name, `"off"` included.
    pub const fn as_str(self) -> &'static str {
        match self.level() {
            Some(level) => level.as_str(),
            None => "off",
        }
    }

    /// The least severe level this filter keeps, or `None` for `Off`.
    pub const fn level(self) -> Option<Level> {
        Level::from_u8(self as u8)
    }

    pub(crate) const fn from_u8(n: u8) -> LevelFilter {
        match n {
            1 => LevelFilter::Trace,
            2 => LevelFilter::Debug,
            3 => LevelFilter::Info,
            4 => LevelFilter::Warn,
            5 => LevelFilter::Error,
            6 => LevelFilter::Fatal,
            _ => LevelFilter::Off,
        }
    }
}

impl From<Level> for LevelFilter {
    fn from(level: Level) -> Self {
        LevelFilter::from_u8(level as u8)
    }
}

impl fmt::Display for LevelFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for LevelFilter {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(LevelFilter::Off);
        }
        Level::from_name(s)
            .map(LevelFilter::from)
            .ok_or_else(|| ParseLevelError::new(s, true))
    }
}

/// The error for a string that names no level.
///
/// ```
/// let err = "loud".parse::<trail::Level>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "unknown level \"loud\": expected one of trace, debug, info, warn, error, fatal"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLevelError {
    input: String,
    off_allowed: bool,
}

impl ParseLevelError {
    fn new(input: &str, off_allowed: bool) -> Self {
        ParseLevelError {
            input: input.to_owned(),
            off_allowed,
        }
    }
}

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.off_allowed {
            "level filter"
        } else {
            "level"
        };
        write!(
            f,
            "unknown {what} {:?}: expected one of trace, debug, info, warn, error, fatal",
            self.input
        )?;
        if self.off_allowed {
            f.write_str(", off")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseLevelError {}

/// The compile-time ceiling set by the `max_level_*` and `release_max_level_*` features.
///
/// A call whose level this filter does not enable compiles to nothing. Without any of
/// those features every level is compiled in. When several are set, the most
/// restrictive wins, so a library cannot re-enable what an application turned off.
pub const STATIC_MAX_LEVEL: LevelFilter = static_max_level();

const fn static_max_level() -> LevelFilter {
    // Whether the feature `max_level_X`, or in a release build `release_max_level_X`, is set.
    macro_rules! capped {
        ($max:literal, $release:literal) => {
            cfg!(any(
                feature = $max,
                all(not(debug_assertions), feature = $release)
            ))
        };
    }
    // From the most restrictive down: the first ceiling set wins.
    let ceilings = [
        (
            capped!("max_level_off", "release_max_level_off"),
            LevelFilter::Off,
        ),
        (
            capped!("max_level_fatal", "release_max_level_fatal"),
            LevelFilter::Fatal,
        ),
        (
            capped!("max_level_error", "release_max_level_error"),
            LevelFilter::Error,
        ),
        (
            capped!("max_level_warn", "release_max_level_warn"),
            LevelFilter::Warn,
        ),
        (
            capped!("max_level_info", "release_max_level_info"),
            LevelFilter::Info,
        ),
        (
            capped!("max_level_debug", "release_max_level_debug"),
            LevelFilter::Debug,
        ),
    ];
    let mut i = 0;
    while i < ceilings.len() {
        if ceilings[i].0 {
            return ceilings[i].1;
        }
        i += 1;
    }
    LevelFilter::Trace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_by_severity() {
        for pair in Level::ALL.windows(2) {
            assert!(pair[0] < pair[1]);
        }
    }

    #[test]
    fn names_round_trip_and_parse_ignores_case() {
        for level in Level::ALL {
            assert_eq!(level.to_string().parse::<Level>().unwrap(), level);
            assert_eq!(
                level.as_str().to_uppercase().parse::<Level>().unwrap(),
                level
            );
            let filter = LevelFilter::from(level);
            assert_eq!(filter.to_string().parse::<LevelFilter>().unwrap(), filter);
        }
        assert_eq!("OFF".parse::<LevelFilter>().unwrap(), LevelFilter::Off);
    }

    #[test]
    fn unknown_names_are_clear_errors() {
        let err = "off".parse::<Level>().unwrap_err();
        assert!(err.to_string().starts_with("unknown level \"off\""));
        let err = "verbose".parse::<LevelFilter>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown level filter \"verbose\": expected one of trace, debug, info, warn, error, fatal, off"
        );
    }

    #[test]
    fn severity_numbers_follow_opentelemetry() {
        let numbers: Vec<u8> = Level::ALL.iter().map(|l| l.severity_number()).collect();
        assert_eq!(numbers, [1, 5, 9, 13, 17, 21]);
    }

    #[test]
    fn filters_enable_their_level_and_above() {
        assert!(LevelFilter::Trace.enables(Level::Trace));
        assert!(LevelFilter::Info.enables(Level::Info));
        assert!(LevelFilter::Info.enables(Level::Fatal));
        assert!(!LevelFilter::Info.enables(Level::Debug));
        for level in Level::ALL {
            assert!(!LevelFilter::Off.enables(level));
        }
    }
}
