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
use crate::capture::codec;
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
    if Direct::new(line).record(out, clock).is_some() {
        // The direct parser takes lines without a span context only.
        out.span = None;
        return Ok(());
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
        span: span::from_keys(&line.span, &line.span_id, &line.parent_id, &line.trace_id)?,
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
        span: span::from_keys(&span_name, &line.span_id, &parent_id, &line.trace_id)?,
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
        span: span::from_keys(&line.span, &line.span_id, &line.parent_id, &line.trace_id)?,
    })
}

/// Reads `text`, one whole JSON value as the writer writes it, into `slot` (reusing the
/// string it holds); `None` if the direct parser does not take it on.
pub(super) fn direct_value(text: &str, slot: &mut FieldValue) -> Option<()> {
    let mut direct = Direct::new(text.as_bytes());
    direct.value(slot, 0)?;
    (direct.at == text.len()).then_some(())
}

/// Reads `text`, one whole JSON object, into `entries` (reusing its keys and strings);
/// `None` if the direct parser does not take it on.
pub(super) fn direct_entries(text: &str, entries: &mut Vec<(String, FieldValue)>) -> Option<()> {
    let mut direct = Direct::new(text.as_bytes());
    direct.entries(entries, 0)?;
    (direct.at == text.len()).then_some(())
}

/// Reads the JSON number that `bytes` starts with into `slot`, as a value is read in a
/// line; returns how many bytes it took, `None` if the direct parser does not take it on.
pub(super) fn direct_number(bytes: &[u8], slot: &mut FieldValue) -> Option<usize> {
    let mut direct = Direct::new(bytes);
    direct.number()?.store(slot);
    Some(direct.at)
}

/// The direct parser of a canonical line. Each step gives `None` for what it does not
/// take on, and the line is then decoded again by serde_json from its start. It reads
/// bytes: the text of each string is checked as UTF-8 where it is copied, and anything
/// else that is not ASCII is no JSON it takes on.
struct Direct<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Direct<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Direct { bytes, at: 0 }
    }

    fn record(&mut self, out: &mut LogRecord, clock: &mut TimestampParser) -> Option<()> {
        self.expect(b"{\"ts\":")?;
        // The writer escapes nothing in a timestamp or a level.
        out.ts = clock.parse(self.plain_string()?).ok()?;
        self.expect(b",\"level\":")?;
        out.level = Level::from_name(self.plain_string()?)?;
        self.expect(b",\"seq\":")?;
        out.seq = match self.number()? {
            Number::U64(n) => n,
            _ => return None,
        };
        if self.eat(b",\"actor\":") {
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
        self.expect(b",\"target\":")?;
        self.string(&mut out.target)?;
        self.expect(b",\"msg\":")?;
        self.string(&mut out.msg)?;
        self.expect(b",\"fields\":")?;
        self.entries(&mut out.fields, 0)?;
        self.expect(b",\"file\":")?;
        self.string(&mut out.file)?;
        self.expect(b",\"line\":")?;
        out.line = match self.number()? {
            Number::U64(n) => u32::try_from(n).ok()?,
            _ => return None,
        };
        self.expect(b",\"thread\":")?;
        self.string(&mut out.thread)?;
        self.expect(b"}")?;
        (self.at == self.bytes.len()).then_some(())
    }

    // Inlined, so that each literal is compared as the few words it is.
    #[inline(always)]
    fn eat<const N: usize>(&mut self, literal: &[u8; N]) -> bool {
        let found = self.bytes[self.at..].first_chunk::<N>() == Some(literal);
        if found {
            self.at += N;
        }
        found
    }

    #[inline(always)]
    fn expect<const N: usize>(&mut self, literal: &[u8; N]) -> Option<()> {
        self.eat(literal).then_some(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// A string without escapes, borrowed; `None` for any other.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b"\"")?;
        let rest = &self.bytes[self.at..];
        let stop = plain_run(rest)?;
        if rest[stop] != b'"' {
            return None;
        }
        self.at += stop + 1;
        codec::utf8(&rest[..stop])
    }

    /// A string into `into`, its escapes undone.
    fn string(&mut self, into: &mut String) -> Option<()> {
        self.expect(b"\"")?;
        let mut rest = &self.bytes[self.at..];
        let mut stop = plain_run(rest)?;
        if rest[stop] == b'"' && into.as_bytes() == &rest[..stop] {
            // The text held already, as keys and names are from one record to the next:
            // nothing to copy or check.
            self.at += stop + 1;
            return Some(());
        }
        into.clear();
        loop {
            // Quotes and backslashes are ASCII, so no character is cut at them.
            into.push_str(codec::utf8(&rest[..stop])?);
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
                    let hex = self.bytes.get(self.at..self.at + 4)?;
                    self.at += 4;
                    let code = hex
                        .iter()
                        .try_fold(0u32, |n, &b| Some(n << 4 | char::from(b).to_digit(16)?))?;
                    // Surrogates (pairs or lone) are left to serde_json.
                    char::from_u32(code)?
                }
                _ => return None,
            });
            rest = &self.bytes[self.at..];
            stop = plain_run(rest)?;
        }
    }

    /// A number as serde_json reads it: an integer that fits 64 bits, or a finite float.
    /// Other integers (and `-0`) are read by serde_json, whose rules for them differ.
    fn number(&mut self) -> Option<Number> {
        let bytes = self.bytes;
        let start = self.at;
        let mut at = start;
        let negative = bytes.get(at) == Some(&b'-');
        at += usize::from(negative);
        // The digits' value, `None` past 64 bits, taken as they are scanned; with a
        // fraction, its digits count on, and `scale` says how many there are.
        let first = at;
        let mut value = Some(0u64);
        let mut digits = |at: &mut usize| {
            let from = *at;
            while let Some(digit) = bytes.get(*at).and_then(|&b| char::from(b).to_digit(10)) {
                value = value.and_then(|n| n.checked_mul(10)?.checked_add(digit.into()));
                *at += 1;
            }
            *at - from
        };
        let whole = digits(&mut at);
        if whole == 0 || (whole > 1 && bytes[first] == b'0') {
            return None;
        }
        let mut scale = None;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let fraction = digits(&mut at);
            if fraction == 0 {
                return None;
            }
            scale = Some(fraction);
        }
        let mut exponent = false;
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return None;
            }
            exponent = true;
        }
        self.at = at;
        match (scale, exponent, value) {
            (None, false, Some(n)) if !negative => Some(Number::U64(n)),
            (None, false, Some(n)) => match n {
                0 => None,
                // Down to i64::MIN, whose magnitude is one past i64::MAX.
                n if n <= i64::MIN.unsigned_abs() => Some(Number::I64((n as i64).wrapping_neg())),
                _ => None,
            },
            (None, false, None) => None,
            // Digits that a float holds exactly over a power of ten that it holds exactly:
            // their quotient, rounded once, is the correctly rounded value.
            (Some(scale), false, Some(n)) if n < 1 << 53 && scale <= 22 => {
                let f = n as f64 / POWERS_OF_TEN[scale];
                Some(Number::F64(if negative { -f } else { f }))
            }
            _ => codec::utf8(&bytes[start..at])?
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Number::F64),
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
                if !self.eat(b"]") {
                    loop {
                        let mut item = FieldValue::Null;
                        self.value(&mut item, depth + 1)?;
                        items.push(item);
                        if self.eat(b"]") {
                            break;
                        }
                        self.expect(b",")?;
                    }
                }
                *slot = FieldValue::Seq(items);
                Some(())
            }
            b't' => self.literal(b"true", slot, FieldValue::Bool(true)),
            b'f' => self.literal(b"false", slot, FieldValue::Bool(false)),
            b'n' => self.literal(b"null", slot, FieldValue::Null),
            _ => {
                self.number()?.store(slot);
                Some(())
            }
        }
    }

    fn literal<const N: usize>(
        &mut self,
        word: &[u8; N],
        slot: &mut FieldValue,
        value: FieldValue,
    ) -> Option<()> {
        self.expect(word)?;
        *slot = value;
        Some(())
    }

    /// An object's entries into `entries`, reusing the keys and strings it holds.
    fn entries(&mut self, entries: &mut Vec<(String, FieldValue)>, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.expect(b"{")?;
        let mut n = 0;
        if !self.eat(b"}") {
            loop {
                if n == entries.len() {
                    entries.push((String::new(), FieldValue::Null));
                }
                let (key, value) = &mut entries[n];
                self.string(key)?;
                self.expect(b":")?;
                self.value(value, depth + 1)?;
                n += 1;
                if self.eat(b"}") {
                    break;
                }
                self.expect(b",")?;
            }
        }
        entries.truncate(n);
        Some(())
    }
}

/// A JSON number as the direct parser reads it.
#[derive(Clone, Copy)]
enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    /// Puts the number into `slot`, written over in place when it holds one of the same
    /// kind: a number held has nothing to drop.
    #[inline]
    fn store(self, slot: &mut FieldValue) {
        match (self, slot) {
            (Number::U64(n), FieldValue::U64(held)) => *held = n,
            (Number::F64(f), FieldValue::F64(held)) => *held = f,
            (Number::I64(n), FieldValue::I64(held)) => *held = n,
            (number, slot) => *slot = number.into(),
        }
    }
}

impl From<Number> for FieldValue {
    fn from(number: Number) -> FieldValue {
        match number {
            Number::U64(n) => FieldValue::U64(n),
            Number::I64(n) => FieldValue::I64(n),
            Number::F64(f) => FieldValue::F64(f),
        }
    }
}

/// 10^0 to 10^22, each exactly a float.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// How many bytes of a string's text come before its first quote, backslash or control
/// character, eight bytes at a time (see [`below`]); `None` if there is none.
#[inline]
pub(super) fn plain_run(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word);
        let found = equal(x, b'"') | equal(x, b'\\') | below(x, 0x20);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + tail)
}

/// A byte of ones in each of a word's eight bytes.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The bytes of `word` below `n` (at most 0x80), each marked by its high bit, by the carry
/// trick: a byte's high bit is set in `x - n` and clear in `x` where the byte is below
/// `n`. The lowest byte marked is exact; a carry can mark bytes above it too, so only
/// the lowest counts.
#[inline(always)]
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & 0x8080_8080_8080_8080
}

/// The bytes of `x` equal to `b`, marked as [`below`] marks them: those of `x ^ b…` below 1.
#[inline(always)]
pub(super) fn equal(x: u64, b: u8) -> u64 {
    below(x ^ (ONES * u64::from(b)), 1)
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
        Direct::new(text.as_bytes())
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

    /// A line whose bytes are not UTF-8, in a string or anywhere else, is left to
    /// serde_json, whose error it gives.
    #[test]
    fn bytes_that_are_not_utf8_are_an_error() {
        let good = line("", "{\"k\":\"v\"}", "\"m\"");
        for (from, to) in [
            ("\"m\"", "\"m\u{1}\""),
            ("\"v\"", "\"v\u{1}\""),
            (":7", ":7\u{1}"),
        ] {
            let mut bytes = good.replacen(from, to, 1).into_bytes();
            let at = bytes.iter().position(|&b| b == 1).unwrap();
            for bad in [0xff, 0xc3] {
                bytes[at] = bad;
                let mut out = LogRecord::blank();
                let error = decode(&bytes, &mut out, &mut TimestampParser::default()).unwrap_err();
                let serde = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_err();
                assert_eq!(error, format!("not a trail JSON record: {serde}"));
            }
        }
    }

    /// A number read directly is the number serde_json reads, for floats in the shortest
    /// form the writer prints and in other forms, with few digits and with many.
    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut texts = Vec::new();
        for i in 0..20_000u64 {
            let f = f64::from_bits(next());
            if f.is_finite() {
                texts.push(ryu::Buffer::new().format_finite(f).to_owned());
                texts.push(format!("{f}"));
            }
            let cents = (next() % 100_000_000) as f64 / 100.0;
            texts.push(ryu::Buffer::new().format_finite(cents).to_owned());
            texts.push(format!(
                "-{}.{:0>width$}",
                i,
                next() % 1000,
                width = (i % 25) as usize
            ));
            texts.push(format!("{}", next() >> (i % 64)));
            texts.push(format!("-{}", next() >> (i % 64)));
        }
        for text in &texts {
            let direct = Direct::new(text.as_bytes()).number().map(FieldValue::from);
            let serde = serde_json::from_str::<FieldValue>(text).ok();
            match direct {
                Some(value) => assert_eq!(Some(value), serde, "{text}"),
                // Left to serde_json: an integer past 64 bits, or -0.
                None => assert!(!text.contains('.'), "{text}"),
            }
        }
    }

    /// The word-at-a-time scan stops where a scan byte by byte stops: every byte value
    /// at every place in a word, and two stops in any places, among any other bytes.
    #[test]
    fn a_plain_run_ends_where_a_byte_by_byte_scan_ends() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        for byte in 0..=255u8 {
            for at in 0..20 {
                let mut bytes = vec![b'a'; 20];
                bytes[at] = byte;
                assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
        let stops = [b'"', b'\\', 0, 0x1f, b'\n'];
        for filler in [b'a', b' ', b'!', b'#', b']', 0x7f, 0x80, 0xc3, 0xff] {
            for len in 0..20 {
                let plain = vec![filler; len];
                assert_eq!(plain_run(&plain), None);
                for i in 0..len {
                    for j in i..len {
                        for (s, t) in stops.iter().flat_map(|s| stops.map(|t| (*s, t))) {
                            let mut bytes = plain.clone();
                            bytes[j] = t;
                            bytes[i] = s;
                            assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
                        }
                    }
                }
            }
        }
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
        // Into the same record: text of the same length, and the same text, read right.
        let next = text.replace("A-1001", "B-2002");
        assert!(direct(&next, &mut out));
        assert_eq!(out.field("sku"), Some(&FieldValue::Str("B-2002".into())));
        assert_eq!(
            (out.msg.as_str(), out.target.as_str()),
            ("added 3 x B-2002", "shop::cart")
        );
    }
}
