//! Decoding one JSON line into a [`LogRecord`].

use serde::{Deserialize, Deserializer};

use super::record::{FieldValue, LogRecord};
use crate::format::json::OTEL_FIELD_PREFIX;
use crate::format::time::parse_rfc3339;
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

#[derive(Deserialize)]
struct OtelLine {
    #[serde(rename = "timeUnixNano")]
    time: String,
    #[serde(rename = "severityNumber")]
    severity: u8,
    body: String,
    attributes: FieldValue,
    #[serde(rename = "instrumentationScope")]
    scope: Scope,
}

#[derive(Deserialize)]
struct Scope {
    name: String,
}

#[derive(Deserialize)]
struct EcsLine {
    #[serde(rename = "@timestamp")]
    ts: String,
    #[serde(rename = "log.level")]
    level: String,
    message: String,
    #[serde(rename = "user.id", default, deserialize_with = "present")]
    actor: Option<FieldValue>,
    #[serde(rename = "log.logger")]
    logger: String,
    fields: FieldValue,
    #[serde(rename = "log.origin.file.name")]
    file: String,
    #[serde(rename = "log.origin.file.line")]
    line: u32,
    #[serde(rename = "process.thread.name")]
    thread: String,
    #[serde(rename = "event.sequence")]
    seq: u64,
}

/// Decodes one line (without its newline), in the canonical keys or one of the profiles
/// (told apart by the first key). The error says what is wrong.
pub(crate) fn decode(line: &[u8]) -> Result<LogRecord, String> {
    if line.starts_with(b"{\"timeUnixNano\"") {
        return decode_otel(line);
    }
    if line.starts_with(b"{\"@timestamp\"") {
        return decode_ecs(line);
    }
    let line: Line =
        serde_json::from_slice(line).map_err(|e| format!("not a trail JSON record: {e}"))?;
    let level =
        Level::from_name(&line.level).ok_or_else(|| format!("unknown level {:?}", line.level))?;
    let fields = match line.fields {
        FieldValue::Map(entries) => entries,
        other => return Err(format!("\"fields\" is not an object: {other}")),
    };
    Ok(LogRecord {
        ts: parse_rfc3339(&line.ts)?,
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

fn map_entries(value: FieldValue, what: &str) -> Result<Vec<(String, FieldValue)>, String> {
    match value {
        FieldValue::Map(entries) => Ok(entries),
        other => Err(format!("{what} is not an object: {other}")),
    }
}

fn decode_otel(line: &[u8]) -> Result<LogRecord, String> {
    let line: OtelLine = serde_json::from_slice(line)
        .map_err(|e| format!("not a trail OpenTelemetry record: {e}"))?;
    let level = Level::ALL
        .into_iter()
        .find(|l| l.severity_number() == line.severity)
        .ok_or_else(|| format!("unknown severityNumber {}", line.severity))?;
    let (mut actor, mut file, mut code_line, mut thread, mut seq) = (None, None, None, None, None);
    let mut fields = Vec::new();
    for (key, value) in map_entries(line.attributes, "\"attributes\"")? {
        match (key.as_str(), value) {
            ("user.id", v) => actor = Some(v),
            ("code.file.path", FieldValue::Str(s)) => file = Some(s),
            ("code.line.number", FieldValue::U64(n)) => code_line = u32::try_from(n).ok(),
            ("thread.name", FieldValue::Str(s)) => thread = Some(s),
            ("trail.seq", FieldValue::U64(n)) => seq = Some(n),
            (name, v) => match name.strip_prefix(OTEL_FIELD_PREFIX) {
                Some(field) => fields.push((field.to_owned(), v)),
                None => fields.push((key, v)),
            },
        }
    }
    Ok(LogRecord {
        ts: line
            .time
            .parse()
            .map_err(|_| format!("bad timeUnixNano {:?}", line.time))?,
        level,
        seq: seq.ok_or("no trail.seq attribute")?,
        actor,
        target: line.scope.name,
        msg: line.body,
        fields,
        file: file.ok_or("no code.file.path attribute")?,
        line: code_line.ok_or("no code.line.number attribute")?,
        thread: thread.ok_or("no thread.name attribute")?,
    })
}

fn decode_ecs(line: &[u8]) -> Result<LogRecord, String> {
    let line: EcsLine =
        serde_json::from_slice(line).map_err(|e| format!("not a trail ECS record: {e}"))?;
    Ok(LogRecord {
        ts: parse_rfc3339(&line.ts)?,
        level: Level::from_name(&line.level)
            .ok_or_else(|| format!("unknown log.level {:?}", line.level))?,
        seq: line.seq,
        actor: line.actor,
        target: line.logger,
        msg: line.message,
        fields: map_entries(line.fields, "\"fields\"")?,
        file: line.file,
        line: line.line,
        thread: line.thread,
    })
}
