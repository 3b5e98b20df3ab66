//! Decoding one JSON line into a [`LogRecord`].
//!
//! A line as the writer writes it (canonical keys in their order, no spaces) is read by a
//! direct parser into the record, reusing its buffers. Any other line, and anything that
//! parser does not take on (a deep value, a number past 64 bits, a surrogate escape, a
//! profile), goes through serde_json, which gives the same record, or the error.

use serde::{Deserialize, Deserializer};

use super::record::{exact_numbers, FieldValue, LogRecord};
use super::span;
use super::timestamp::TimestampParser;
use crate::format::json::{OTEL_FIELD_PREFIX, OTEL_PARENT_ID, OTEL_SPAN_NAME};
use crate::format::time::parse_rfc3339;
use crate::limits::MAX_DEPTH;
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
    span: Option<String>,
    span_id: Option<String>,
    parent_id: Option<String>,
    trace_id: Option<String>,
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
    #[serde(rename = "traceId")]
    trace_id: Option<String>,
    #[serde(rename = "spanId")]
    span_id: Option<String>,
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
    #[serde(rename = "span.name")]
    span: Option<String>,
    #[serde(rename = "span.id")]
    span_id: Option<String>,
    #[serde(rename = "span.parent_id")]
    parent_id: Option<String>,
    #[serde(rename = "trace.id")]
    trace_id: Option<String>,
}

/// Decodes one line (without its newline) into `out`, in the canonical keys or one of the
/// profiles (told apart by the first key). The error says what is wrong.
pub(crate) fn decode(
    line: &[u8],
    out: &mut LogRecord,
    clock: &mut TimestampParser,
) -> Result<(), String> {
    if let Ok(text) = std::str::from_utf8(line) {
        let mut direct = Direct { text, at: 0 };
        if direct.record(out, clock).is_some() {
            // The direct parser takes lines without a span context only.
            out.span = None;
            return Ok(());
        }
    }
    *out = exact_numbers(|| decode_owned(line))?;
    Ok(())
}

/// Decodes one line with serde_json.
fn decode_owned(line: &[u8]) -> Result<LogRecord, String> {
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
        span: span::from_parts(
            line.span.as_deref(),
            line.span_id.as_deref(),
            line.parent_id.as_deref(),
            line.trace_id.as_deref(),
        )?,
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
    let (mut span_name, mut parent_id) = (None, None);
    let mut fields = Vec::new();
    for (key, value) in map_entries(line.attributes, "\"attributes\"")? {
        match (key.as_str(), value) {
            (OTEL_SPAN_NAME, FieldValue::Str(s)) => span_name = Some(s),
            (OTEL_PARENT_ID, FieldValue::Str(s)) => parent_id = Some(s),
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
        span: span::from_parts(
            span_name.as_deref(),
            line.span_id.as_deref(),
            parent_id.as_deref(),
            line.trace_id.as_deref(),
        )?,
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
        span: span::from_parts(
            line.span.as_deref(),
            line.span_id.as_deref(),
            line.parent_id.as_deref(),
            line.trace_id.as_deref(),
        )?,
    })
}

/// Reads `text`, one whole JSON value as the writer writes it, into `slot` (reusing the
/// string it holds); `None` if the direct parser does not take it on.
pub(super) fn direct_value(text: &str, slot: &mut FieldValue) -> Option<()> {
    let mut direct = Direct { text, at: 0 };
    direct.value(slot, 0)?;
    (direct.at == text.len()).then_some(())
}

/// Reads `text`, one whole JSON object, into `entries` (reusing its keys and strings);
/// `None` if the direct parser does not take it on.
pub(super) fn direct_entries(text: &str, entries: &mut Vec<(String, FieldValue)>) -> Option<()> {
    let mut direct = Direct { text, at: 0 };
    direct.entries(entries, 0)?;
    (direct.at == text.len()).then_some(())
}

/// The direct parser of a canonical line. Each step gives `None` for what it does not
/// take on, and the line is then decoded again by serde_json from its start.
struct Direct<'a> {
    text: &'a str,
    at: usize,
}

impl Direct<'_> {
    fn record(&mut self, out: &mut LogRecord, clock: &mut TimestampParser) -> Option<()> {
        self.expect("{\"ts\":")?;
        self.string(&mut out.msg)?;
        out.ts = clock.parse(&out.msg).ok()?;
        self.expect(",\"level\":")?;
        self.string(&mut out.msg)?;
        out.level = Level::from_name(&out.msg)?;
        self.expect(",\"seq\":")?;
        out.seq = match self.number()? {
            FieldValue::U64(n) => n,
            _ => return None,
        };
        if self.eat(",\"actor\":") {
            match &mut out.actor {
                Some(slot) => self.value(slot, 0)?,
                slot => {
                    let mut value = FieldValue::Null;
                    self.value(&mut value, 0)?;
                    *slot = Some(value);
                }
            }
        } else {
            out.actor = None;
        }
        self.expect(",\"target\":")?;
        self.string(&mut out.target)?;
        self.expect(",\"msg\":")?;
        self.string(&mut out.msg)?;
        self.expect(",\"fields\":")?;
        self.entries(&mut out.fields, 0)?;
        self.expect(",\"file\":")?;
        self.string(&mut out.file)?;
        self.expect(",\"line\":")?;
        out.line = match self.number()? {
            FieldValue::U64(n) => u32::try_from(n).ok()?,
            _ => return None,
        };
        self.expect(",\"thread\":")?;
        self.string(&mut out.thread)?;
        self.expect("}")?;
        (self.at == self.text.len()).then_some(())
    }

    fn eat(&mut self, literal: &str) -> bool {
        let found = self.text.as_bytes()[self.at..].starts_with(literal.as_bytes());
        if found {
            self.at += literal.len();
        }
        found
    }

    fn expect(&mut self, literal: &str) -> Option<()> {
        self.eat(literal).then_some(())
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// A string into `into`, its escapes undone.
    fn string(&mut self, into: &mut String) -> Option<()> {
        self.expect("\"")?;
        into.clear();
        loop {
            let rest = &self.text.as_bytes()[self.at..];
            let stop = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            // Quotes and backslashes are ASCII, so these are character boundaries.
            into.push_str(self.text.get(self.at..self.at + stop)?);
            self.at += stop + 1;
            match rest[stop] {
                b'"' => return Some(()),
                b'\\' => {}
                // A raw control character is an error, which serde_json reports.
                _ => return None,
            }
            let escaped = self.peek()?;
            self.at += 1;
            into.push(match escaped {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hex = self.text.get(self.at..self.at + 4)?;
                    self.at += 4;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    // Surrogates (pairs or lone) are left to serde_json.
                    char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                }
                _ => return None,
            });
        }
    }

    /// A number as serde_json reads it: an integer that fits 64 bits, or a finite float.
    /// Other integers (and `-0`) are read by serde_json, whose rules for them differ.
    fn number(&mut self) -> Option<FieldValue> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let negative = bytes.get(at) == Some(&b'-');
        at += usize::from(negative);
        let whole = digits(&mut at);
        if whole == 0 || (whole > 1 && bytes[at - whole] == b'0') {
            return None;
        }
        let mut float = false;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if digits(&mut at) == 0 {
                return None;
            }
            float = true;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return None;
            }
            float = true;
        }
        let text = &self.text[start..at];
        self.at = at;
        if float {
            return text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(FieldValue::F64);
        }
        if negative {
            match text.parse::<i64>() {
                Ok(0) | Err(_) => None,
                Ok(n) => Some(FieldValue::I64(n)),
            }
        } else {
            text.parse::<u64>().ok().map(FieldValue::U64)
        }
    }

    /// A value into `slot`, reusing the string it holds; `depth` containers deep.
    fn value(&mut self, slot: &mut FieldValue, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                if !matches!(slot, FieldValue::Str(_)) {
                    *slot = FieldValue::Str(String::new());
                }
                let FieldValue::Str(text) = slot else {
                    return None;
                };
                self.string(text)
            }
            b'{' => {
                let mut entries = Vec::new();
                self.entries(&mut entries, depth)?;
                *slot = FieldValue::Map(entries);
                Some(())
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        let mut item = FieldValue::Null;
                        self.value(&mut item, depth + 1)?;
                        items.push(item);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                *slot = FieldValue::Seq(items);
                Some(())
            }
            b't' => self.literal("true", slot, FieldValue::Bool(true)),
            b'f' => self.literal("false", slot, FieldValue::Bool(false)),
            b'n' => self.literal("null", slot, FieldValue::Null),
            _ => {
                *slot = self.number()?;
                Some(())
            }
        }
    }

    fn literal(&mut self, word: &str, slot: &mut FieldValue, value: FieldValue) -> Option<()> {
        self.expect(word)?;
        *slot = value;
        Some(())
    }

    /// An object's entries into `entries`, reusing the keys and strings it holds.
    fn entries(&mut self, entries: &mut Vec<(String, FieldValue)>, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.expect("{")?;
        let mut n = 0;
        if !self.eat("}") {
            loop {
                if n == entries.len() {
                    entries.push((String::new(), FieldValue::Null));
                }
                let (key, value) = &mut entries[n];
                self.string(key)?;
                self.expect(":")?;
                self.value(value, depth + 1)?;
                n += 1;
                if self.eat("}") {
                    break;
                }
                self.expect(",")?;
            }
        }
        entries.truncate(n);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(actor: &str, fields: &str, msg: &str) -> String {
        format!(
            "{{\"ts\":\"2026-11-23T22:06:12.000000001Z\",\"level\":\"warn\",\"seq\":7,{actor}\"target\":\"shop::cart\",\"msg\":{msg},\"fields\":{fields},\"file\":\"src/cart.rs\",\"line\":42,\"thread\":\"main\"}}"
        )
    }

    fn direct(text: &str, out: &mut LogRecord) -> bool {
        Direct { text, at: 0 }
            .record(out, &mut TimestampParser::default())
            .is_some()
    }

    /// The direct parser and serde_json read every line alike, whichever of them takes it
    /// on, into a fresh record or one that held another record before.
    #[test]
    fn the_direct_parser_reads_what_serde_json_reads() {
        let deep = format!("{}1{}", "[".repeat(70), "]".repeat(70));
        let values = [
            "0",
            "1",
            "-1",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "340282366920938463463374607431768211456",
            "-0",
            "0.1",
            "-2.5e-3",
            "1e400",
            "1E+2",
            "1.0",
            "9.999999999999999e22",
            "01",
            "1.",
            "-",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
            "\"\\u00e9\\u0000\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"é ✓\"",
            "\"raw\ttab\"",
            "\"\\x\"",
            "[]",
            "[1,\"two\",[3],{\"k\":null}]",
            "{}",
            "{\"a\":{\"b\":[1,2]},\"a\":2}",
            "[1, 2]",
            &deep,
            "nul",
            "[1,]",
        ];
        let mut lines = Vec::new();
        for v in values {
            lines.push(line("", &format!("{{\"k\":{v},\"s\":\"x\"}}"), "\"m\""));
            lines.push(line(&format!("\"actor\":{v},"), "{}", "\"m\""));
            lines.push(line("", "{}", v));
        }
        lines.push(line("\"actor\":null,", "{\"k\":1}", "\"m\""));
        lines.push(line("", "[]", "\"m\""));
        lines.push(line("", "{\"k\":1}", "\"m\"").replace("\"seq\":7", "\"seq\":-7"));
        lines.push(line("", "{\"k\":1}", "\"m\"").replace("\"line\":42", "\"line\":4294967296"));
        lines.push(line("", "{\"k\":1}", "\"m\"").replace("warn", "loud"));
        lines.push(line("", "{\"k\":1}", "\"m\"").replace("12.000000001Z", "12Z"));
        lines.push(line("", "{\"k\":1}", "\"m\"").replace(",\"thread\"", ", \"thread\""));
        lines.push(line("", "{\"k\":1}", "\"m\"") + " ");
        lines.push(line("", "{\"k\":1}", "\"m\"") + "x");

        let mut reused = LogRecord::blank();
        let mut taken = 0;
        for text in &lines {
            let serde = exact_numbers(|| decode_owned(text.as_bytes()));
            let mut fresh = LogRecord::blank();
            let by_direct = direct(text, &mut fresh);
            if by_direct {
                taken += 1;
                assert_eq!(Ok(&fresh), serde.as_ref(), "{text}");
            }
            let mut fresh = LogRecord::blank();
            let decoded = decode(text.as_bytes(), &mut fresh, &mut TimestampParser::default());
            assert_eq!(
                decoded.map(|()| &fresh),
                serde.as_ref().map_err(Clone::clone),
                "{text}"
            );
            if let Ok(expected) = &serde {
                decode(
                    text.as_bytes(),
                    &mut reused,
                    &mut TimestampParser::default(),
                )
                .unwrap();
                assert_eq!(&reused, expected, "{text}");
            }
        }
        assert!(
            taken >= 40,
            "the direct parser took {taken} of {} lines",
            lines.len()
        );
    }

    #[test]
    fn the_direct_parser_takes_a_line_as_the_writer_writes_it() {
        let text = line(
            "\"actor\":1042,",
            "{\"order_id\":7,\"quantity\":3,\"price\":9.99,\"sku\":\"A-1001\"}",
            "\"added 3 x A-1001\"",
        );
        let mut out = LogRecord::blank();
        assert!(direct(&text, &mut out));
        assert_eq!(out.field("price"), Some(&FieldValue::F64(9.99)));
        assert_eq!(out.actor, Some(FieldValue::U64(1042)));
        assert_eq!(out.ts, 1_795_471_572_000_000_001);
    }
}
