//! Plain text for people: one line per record, readable with `less`, and parsed back
//! exactly by the reader.
//!
//! ```text
//! 2026-11-23T22:06:12.123456789Z INFO  [42] shop::cart: added 3 items to cart product_id=1042 sku=A-1001 @seq=1 @src=src/cart.rs:12 @thread=main
//! ```
//!
//! Timestamp, level (upper case, padded to five), the actor in brackets when there is one,
//! the target and a colon, the message, the fields as `key=value`, then `@seq`, `@src`
//! and `@thread`. A string is written bare when nothing could mistake it (`A-1001`), and as
//! a JSON string otherwise; every other value is JSON, so types survive. A bare message has
//! no `=` in it, which is how a reader finds where the fields begin. No control character
//! is written raw: JSON escapes C0, and DEL and C1 get the same `\u00XX` escapes
//! ([`crate::terminal`]), which the reader's JSON parser undoes.

use super::json::write_any;
use super::{EncodeContext, Encoder, RecordView};
use crate::capture::value_view::{Shape, ValueView};
use crate::format::json::write_str;
use crate::format::time::TimestampCache;
use crate::record::ValueRef;
use crate::Record;

#[derive(Default)]
pub(crate) struct TextEncoder {
    context: EncodeContext,
    /// Whether the level is wrapped in a terminal colour: for a console on a terminal,
    /// never for files.
    colour_levels: bool,
}

impl TextEncoder {
    /// Turns colouring the level on or off (off by default): bold blue for trace and
    /// debug, green for info, yellow for warn, red for error and fatal, reset right after
    /// the padded level.
    pub(crate) fn colour_levels(&mut self, on: bool) {
        self.colour_levels = on;
    }
}

/// The escape sequence that starts the colour of `level` on a terminal.
fn level_colour(level: crate::Level) -> &'static [u8] {
    match level {
        crate::Level::Trace | crate::Level::Debug => b"\x1b[1;34m",
        crate::Level::Info => b"\x1b[1;32m",
        crate::Level::Warn => b"\x1b[1;33m",
        crate::Level::Error | crate::Level::Fatal => b"\x1b[1;31m",
    }
}

impl Encoder for TextEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.context.secrets = secrets;
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let values = self.context.decode(record);
        let (clock, view) = self.context.view(record, &values, seq);
        write_line(clock, view, self.colour_levels, out);
    }
}

/// Writes one record's line, its level coloured for a terminal when `colour` is set.
pub(crate) fn write_line<'a, V: ValueView<'a>>(
    clock: &mut TimestampCache,
    r: RecordView<'_, V, impl Iterator<Item = (&'a str, V)>>,
    colour: bool,
    out: &mut Vec<u8>,
) {
    clock.write(r.ts, out);
    out.push(b' ');
    let level = r.level.as_str().to_ascii_uppercase();
    if colour {
        out.extend_from_slice(level_colour(r.level));
    }
    out.extend_from_slice(format!("{level:<5}").as_bytes());
    if colour {
        out.extend_from_slice(b"\x1b[0m");
    }
    out.push(b' ');
    // The timestamp and the level are plain ASCII (the colour's escapes are wanted): the
    // escaping starts after them.
    let start = out.len();
    if let Some(actor) = r.actor {
        out.push(b'[');
        write_text_value(actor, |s| bare_value(s) && !s.contains(']'), out);
        out.extend_from_slice(b"] ");
    }
    if bare_target(r.target) {
        out.extend_from_slice(r.target.as_bytes());
    } else {
        write_str(r.target, out);
    }
    out.extend_from_slice(b": ");
    if bare_message(r.msg) {
        out.extend_from_slice(r.msg.as_bytes());
    } else {
        write_str(r.msg, out);
    }
    for (key, value) in r.fields {
        out.push(b' ');
        if bare_key(key) {
            out.extend_from_slice(key.as_bytes());
        } else {
            write_str(key, out);
        }
        out.push(b'=');
        write_text_value(value, bare_value, out);
    }
    out.extend_from_slice(b" @seq=");
    out.extend_from_slice(itoa::Buffer::new().format(r.seq).as_bytes());
    out.extend_from_slice(b" @src=");
    let src = format!("{}:{}", r.file, r.line);
    write_text_value(ValueRef::Str(&src), bare_value, out);
    out.extend_from_slice(b" @thread=");
    write_text_value(ValueRef::Str(r.thread), bare_value, out);
    if let Some(span) = r.span {
        out.extend_from_slice(b" @span=");
        write_text_value(ValueRef::Str(span.name), bare_value, out);
        out.extend_from_slice(b" @span_id=");
        crate::span::put_hex(&span.span_id, out);
        if span.has_parent() {
            out.extend_from_slice(b" @parent_id=");
            crate::span::put_hex(&span.parent_id, out);
        }
        out.extend_from_slice(b" @trace_id=");
        crate::span::put_hex(&span.trace_id, out);
    }
    // JSON left DEL and C1 raw in the quoted strings; a terminal must not see them.
    crate::terminal::escape_controls_after(out, start);
    out.push(b'\n');
}

/// A string bare if `bare` allows it, anything else as JSON.
fn write_text_value<'a, V: ValueView<'a>>(
    value: V,
    bare: impl Fn(&str) -> bool,
    out: &mut Vec<u8>,
) {
    match value.shape() {
        Shape::Scalar(ValueRef::Str(s)) if bare(s) => out.extend_from_slice(s.as_bytes()),
        _ => write_any(value, out, 0),
    }
}

/// A string that reads back as itself, unquoted: made of plain characters, and not
/// starting the way a JSON value or a quoted string would.
fn bare_value(s: &str) -> bool {
    let plain = |c: char| c.is_alphanumeric() || "_-./:+@#%&*~^!?<>()".contains(c);
    !s.is_empty()
        && s.chars().all(plain)
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '"')
        && !matches!(s, "true" | "false" | "null")
}

/// A key written without quotes: no space, `=`, quote or control character, not empty,
/// and not starting with `@`, which marks the record's own keys.
fn bare_key(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('@')
        && !s.starts_with('"')
        && !s
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control())
}

fn bare_target(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['[', '"'])
        && !s.contains(": ")
        && !s.ends_with(':')
        && !s.chars().any(|c| c == ' ' || c.is_control())
}

/// A message written without quotes: no `=` or `"` (so that the first field, or a quoted
/// key, is where the message ends), no backslash or control character, no space at
/// either end.
fn bare_message(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s
            .chars()
            .any(|c| c == '=' || c == '"' || c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    static WARN: crate::Metadata = crate::Metadata::new(
        crate::Level::Warn,
        "shop::cart",
        "trail::encode::text",
        "src/cart.rs",
        12,
        "low stock",
        &["sku", "note"],
        &[crate::Piece::Lit("low stock")],
    );

    fn line(colour: bool) -> String {
        let mut record = Record::new(&WARN, 1_795_471_572_123_456_789, 1);
        let mut payload = record.payload_mut();
        let _ = crate::Capture::new(&mut payload).str("A-1001");
        let _ = crate::Capture::new(&mut payload).str("\u{1b}[2J\u{9b}");
        drop(payload);
        let mut encoder = TextEncoder::default();
        encoder.colour_levels(colour);
        let mut out = Vec::new();
        encoder.encode(&record, 7, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_file_line_has_no_colour_and_a_coloured_one_differs_only_around_the_level() {
        let plain = line(false);
        // The timestamp (30 bytes and a space) comes from the clock; the thread's name
        // from the test harness.
        let (head, _thread) = plain.split_once(" @thread=").unwrap();
        assert_eq!(
            &head[31..],
            "WARN  shop::cart: low stock sku=A-1001 note=\"\\u001b[2J\\u009b\" \
             @seq=7 @src=src/cart.rs:12"
        );
        assert!(!plain.contains('\x1b'));
        let coloured = line(true);
        assert_eq!(
            coloured,
            plain.replacen(" WARN  ", " \x1b[1;33mWARN \x1b[0m ", 1),
            "the colour's escapes stay raw, a value's are escaped"
        );
    }

    #[test]
    fn bare_only_when_nothing_could_mistake_it() {
        for s in ["A-1001", "ana", "shop::cart", "/srv/data.bin", "é"] {
            assert!(bare_value(s), "{s}");
        }
        for s in [
            "",
            "42",
            "-1",
            "true",
            "null",
            "two words",
            "a=b",
            "\"q",
            "x\ny",
            "{}",
            "[1]",
        ] {
            assert!(!bare_value(s), "{s:?}");
        }
        assert!(bare_message("added 3 items to cart"));
        assert!(!bare_message("a=b"));
        assert!(!bare_message(" padded"));
        assert!(!bare_message("say \"hi\""));
        assert!(!bare_key("@seq"));
        assert!(!bare_key("two words"));
    }
}
