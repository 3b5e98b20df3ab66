//! Parsing one line of the plain text format back into a [`LogRecord`].
//!
//! `TS LEVEL [ACTOR] TARGET: MESSAGE key=value ... @seq=N @src=FILE:LINE @thread=NAME`,
//! then, in a span, `@span=NAME @span_id=HEX [@parent_id=HEX] @trace_id=HEX`;
//! see the writer's module and `docs/FORMAT.md` for when a part is quoted.

use super::record::{FieldValue, LogRecord};
use super::timestamp::TimestampParser;
use crate::Level;

/// Decodes one line (without its newline).
pub(crate) fn decode(line: &[u8], clock: &mut TimestampParser) -> Result<LogRecord, String> {
    let line = std::str::from_utf8(line).map_err(|_| "not UTF-8 text".to_owned())?;
    let (ts, rest) = line.split_once(' ').ok_or("no timestamp")?;
    let (level, rest) = rest.split_once(' ').ok_or("no level")?;
    let level = Level::from_name(level).ok_or_else(|| format!("unknown level {level:?}"))?;
    let mut rest = rest.trim_start_matches(' ');

    let actor = match rest.strip_prefix('[') {
        Some(inner) => {
            let (value, after) = value(inner, ']')?;
            rest = after.strip_prefix("] ").ok_or("actor not closed by `] `")?;
            Some(value)
        }
        None => None,
    };

    let (target, after) = if rest.starts_with('"') {
        json_string(rest)?
    } else {
        let end = rest.find(": ").ok_or("no `: ` after the target")?;
        (rest[..end].to_owned(), &rest[end..])
    };
    rest = after.strip_prefix(": ").ok_or("no `: ` after the target")?;

    let (msg, after) = if rest.starts_with('"') {
        json_string(rest)?
    } else {
        // A bare message has no `=` or `"`: the first token with either starts the fields.
        let end = rest
            .match_indices(' ')
            .map(|(i, _)| i)
            .find(|&i| {
                let token = rest[i + 1..].split(' ').next().unwrap_or("");
                token.contains('=') || token.starts_with('"')
            })
            .ok_or("no fields after the message")?;
        (rest[..end].to_owned(), &rest[end..])
    };
    rest = after;

    let mut fields = Vec::new();
    let (mut seq, mut src, mut thread) = (None, None, None);
    let mut span: [Option<String>; 4] = Default::default();
    while !rest.is_empty() {
        rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| format!("expected a space before {rest:?}"))?;
        let quoted = rest.starts_with('"');
        let (key, after) = if quoted {
            json_string(rest)?
        } else {
            let end = rest
                .find('=')
                .ok_or_else(|| format!("no `=` in {rest:?}"))?;
            (rest[..end].to_owned(), &rest[end..])
        };
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("no `=` after the key {key:?}"))?;
        // Span ids are hex, which may start like a number: taken as they are.
        let (value, after) = match (quoted, key.as_str()) {
            (false, "@span_id" | "@parent_id" | "@trace_id") => {
                let end = after.find(' ').unwrap_or(after.len());
                (FieldValue::Str(after[..end].to_owned()), &after[end..])
            }
            _ => value(after, ' ')?,
        };
        rest = after;
        // Only a bare `@` key is the record's own: a field named `@seq` is quoted.
        match (quoted, key.as_str()) {
            (false, "@seq") => seq = Some(value),
            (false, "@src") => src = Some(value),
            (false, "@thread") => thread = Some(value),
            (false, key @ ("@span" | "@span_id" | "@parent_id" | "@trace_id")) => {
                let at = super::span::JSON_KEYS
                    .iter()
                    .position(|k| key[1..] == **k)
                    .unwrap_or(0);
                span[at] = Some(match value {
                    FieldValue::Str(s) => s,
                    other => other.to_string(),
                });
            }
            _ => fields.push((key, value)),
        }
    }
    let seq = match seq {
        Some(FieldValue::U64(n)) => n,
        _ => return Err("no `@seq=` number".into()),
    };
    let (file, line) = match src {
        Some(FieldValue::Str(s)) => {
            let (file, line) = s.rsplit_once(':').ok_or("`@src` has no `:LINE`")?;
            (
                file.to_owned(),
                line.parse()
                    .map_err(|_| format!("bad line in `@src={s}`"))?,
            )
        }
        _ => return Err("no `@src=`".into()),
    };
    let thread = match thread {
        Some(FieldValue::Str(s)) => s,
        _ => return Err("no `@thread=`".into()),
    };
    Ok(LogRecord {
        ts: clock.parse(ts)?,
        level,
        seq,
        actor,
        target,
        msg,
        fields,
        file,
        line,
        thread,
        span: super::span::from_parts(
            span[0].as_deref(),
            span[1].as_deref(),
            span[2].as_deref(),
            span[3].as_deref(),
        )?,
    })
}

/// Parses a value that ends at `end` (or the end of the text): JSON if it starts like
/// JSON or is `true`, `false` or `null`, a bare string otherwise.
fn value(text: &str, end: char) -> Result<(FieldValue, &str), String> {
    let token = &text[..text.find(end).unwrap_or(text.len())];
    let json = text
        .starts_with(|c: char| c == '"' || c == '{' || c == '[' || c == '-' || c.is_ascii_digit())
        || matches!(token, "true" | "false" | "null");
    if !json {
        if token.is_empty() {
            return Err("an empty value".into());
        }
        return Ok((FieldValue::Str(token.to_owned()), &text[token.len()..]));
    }
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<FieldValue>();
    match values.next() {
        Some(Ok(value)) => Ok((value, &text[values.byte_offset()..])),
        Some(Err(e)) => Err(format!("bad value {token:?}: {e}")),
        None => Err("a missing value".into()),
    }
}

fn json_string(text: &str) -> Result<(String, &str), String> {
    match value(text, ' ')? {
        (FieldValue::Str(s), rest) => Ok((s, rest)),
        (other, _) => Err(format!("expected a quoted string, found {other}")),
    }
}
