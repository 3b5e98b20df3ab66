//! Which records to show: the filters shared by `cat`, `tail` and `stats`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use regex::Regex;
use trail::read::{FieldValue, LogRecord};
use trail::Level;

/// The filters given on the command line; a record must pass all of them.
#[derive(Default)]
pub struct Filter {
    pub level: Option<Level>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub grep: Option<Regex>,
    pub fields: Vec<(String, String)>,
}

impl Filter {
    pub fn matches(&self, r: &LogRecord) -> bool {
        self.level.is_none_or(|l| r.level >= l)
            && self
                .actor
                .as_ref()
                .is_none_or(|a| r.actor.as_ref().is_some_and(|v| text(v) == *a))
            && self
                .target
                .as_ref()
                .is_none_or(|t| r.target == *t || r.target.starts_with(&format!("{t}::")))
            && self.since.is_none_or(|s| r.ts >= s)
            && self.until.is_none_or(|u| r.ts < u)
            && self.grep.as_ref().is_none_or(|g| g.is_match(&r.msg))
            && self
                .fields
                .iter()
                .all(|(k, v)| r.field(k).is_some_and(|f| text(f) == *v))
    }
}

/// A value as text, for comparing with what was typed on the command line.
fn text(v: &FieldValue) -> String {
    v.to_string()
}

/// Parses `--since`/`--until`: an RFC 3339 time, or a duration before now (`10m`, `2h`).
pub fn parse_time(s: &str) -> Result<u64, String> {
    let time = match humantime::parse_rfc3339_weak(s) {
        Ok(t) => t,
        Err(_) => {
            let ago: Duration = humantime::parse_duration(s).map_err(|_| {
                format!("invalid time {s:?}: expected RFC 3339 (2026-11-23T22:00:00Z) or a duration (10m, 2h, 1d)")
            })?;
            SystemTime::now() - ago
        }
    };
    let nanos = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("time {s:?} is before 1970"))?
        .as_nanos();
    u64::try_from(nanos).map_err(|_| format!("time {s:?} is too far in the future"))
}

/// Parses `--field key=value`.
pub fn parse_field(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("invalid --field {s:?}: expected key=value"))
}
