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
    /// The name of the innermost span.
    pub span: Option<String>,
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
                .all(|(k, v)| field(&r.fields, k).is_some_and(|f| text(f) == *v))
            && self
                .span
                .as_ref()
                .is_none_or(|name| r.span.as_ref().is_some_and(|s| s.name == *name))
    }
}

/// The value at `path`: a field's key, or a dotted path into nested maps
/// (`cart.items`). A key that itself holds dots is found too: the whole path is tried as
/// a key first, then each split of it.
fn field<'a>(fields: &'a [(String, FieldValue)], path: &str) -> Option<&'a FieldValue> {
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    if let Some(v) = get(path) {
        return Some(v);
    }
    path.match_indices('.')
        .find_map(|(at, _)| match get(&path[..at]) {
            Some(FieldValue::Map(entries)) => field(entries, &path[at + 1..]),
            _ => None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: Vec<(String, FieldValue)>) -> LogRecord {
        LogRecord {
            ts: 0,
            level: Level::Info,
            seq: 0,
            actor: None,
            target: "t".into(),
            msg: "m".into(),
            fields,
            file: "f.rs".into(),
            line: 1,
            thread: "main".into(),
            span: None,
        }
    }

    fn matches(r: &LogRecord, key: &str, value: &str) -> bool {
        Filter {
            fields: vec![(key.into(), value.into())],
            ..Filter::default()
        }
        .matches(r)
    }

    #[test]
    fn a_dotted_field_matches_inside_nested_maps() {
        let cart = FieldValue::Map(vec![
            ("items".into(), FieldValue::U64(3)),
            (
                "owner".into(),
                FieldValue::Map(vec![("id".into(), FieldValue::Str("ana".into()))]),
            ),
        ]);
        let r = record(vec![
            ("cart".into(), cart),
            ("a.b".into(), FieldValue::U64(1)),
        ]);
        assert!(matches(&r, "cart.items", "3"));
        assert!(!matches(&r, "cart.items", "4"));
        assert!(matches(&r, "cart.owner.id", "ana"));
        assert!(!matches(&r, "cart.missing", "3"));
        assert!(matches(&r, "a.b", "1"));
    }
}
