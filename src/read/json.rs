//! Decoding one JSON line into a [`LogRecord`].

use serde::{Deserialize, Deserializer};

use super::record::{FieldValue, LogRecord};
use crate::Level;

#[derive(Deserialize)]
struct Line {
    ts: String,
    level: String,
    seq: u64,
    #[serde(default, deserialize_with = "present")]
    actor: Option<FieldValue>,
    target: String,
    msg: String,
    fields: FieldValue,
    file: String,
    line: u32,
    thread: String,
}

/// A present `actor` is kept even when it is `null`; a missing one is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FieldValue>, D::Error> {
    FieldValue::deserialize(d).map(Some)
}

/// Decodes one line (without its newline). The error says what is wrong.
pub(crate) fn decode(line: &[u8]) -> Result<LogRecord, String> {
    let line: Line =
        serde_json::from_slice(line).map_err(|e| format!("not a trail JSON record: {e}"))?;
    let level =
        Level::from_name(&line.level).ok_or_else(|| format!("unknown level {:?}", line.level))?;
    let fields = match line.fields {
        FieldValue::Map(entries) => entries,
        other => return Err(format!("\"fields\" is not an object: {other}")),
    };
    Ok(LogRecord {
        ts: super::parse_ts(&line.ts)?,
        level,
        seq: line.seq,
        actor: line.actor,
        target: line.target,
        msg: line.msg,
        fields,
        file: line.file,
        line: line.line,
        thread: line.thread,
    })
}
