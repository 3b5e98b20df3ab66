//! Reading a record's span context back, in each format's shape (docs/FORMAT.md,
//! "Spans"): the formats' decoders call these with the parts they found.

use crate::SpanContext;

/// The JSON keys of a span context, in the order the canonical line writes them.
pub(crate) const JSON_KEYS: [&str; 4] = ["span", "span_id", "parent_id", "trace_id"];

/// The span context from its four parts as the text formats write them (name, span id,
/// parent id, trace id, ids in hex), or `None` when the record has none. A record with
/// some parts and not others is an error that names what is missing.
pub(crate) fn from_parts(
    name: Option<&str>,
    span_id: Option<&str>,
    parent_id: Option<&str>,
    trace_id: Option<&str>,
) -> Result<Option<SpanContext>, String> {
    match (name, span_id, trace_id) {
        (None, None, None) if parent_id.is_none() => Ok(None),
        (Some(name), Some(span_id), Some(trace_id)) => {
            SpanContext::from_hex(name, trace_id, span_id, parent_id).map(Some)
        }
        _ => Err("a span context needs its name, span id and trace id".to_owned()),
    }
}

/// [`from_parts`] for the keys of a JSON line, as its parser keeps them.
pub(crate) fn from_keys(
    name: &Option<String>,
    span_id: &Option<String>,
    parent_id: &Option<String>,
    trace_id: &Option<String>,
) -> Result<Option<SpanContext>, String> {
    from_parts(
        name.as_deref(),
        span_id.as_deref(),
        parent_id.as_deref(),
        trace_id.as_deref(),
    )
}

/// The span context of a CSV row: its cells after the ten fixed ones, empty when the
/// record has none.
pub(crate) fn from_cells(cells: &[&str]) -> Result<Option<SpanContext>, String> {
    let cell = |i: usize| cells.get(i).copied().filter(|c| !c.is_empty());
    from_parts(cell(0), cell(1), cell(2), cell(3))
}

/// The span context at the end of a binary record frame: the trace id (16 bytes), the span
/// id and the parent id (8 bytes each), then the name (a varint length and UTF-8).
/// Returns the context and how many bytes it took.
pub(crate) fn from_binary(bytes: &[u8]) -> Result<(SpanContext, usize), String> {
    let ids = bytes
        .first_chunk::<32>()
        .ok_or_else(|| format!("span ids need 32 bytes, {} remain", bytes.len()))?;
    let (trace_id, span_id, parent_id) = crate::span::split_ids(ids);
    // The name's length: a varint below 251 is one byte; 251 is a u16 to follow.
    let (len, at) = match bytes.get(32) {
        Some(&n) if n < 251 => (usize::from(n), 33),
        Some(251) => match bytes.get(33..35) {
            Some(b) => (usize::from(u16::from_le_bytes([b[0], b[1]])), 35),
            None => return Err("span name length cut short".to_owned()),
        },
        Some(n) => return Err(format!("span name length marker {n} is past the limit")),
        None => return Err("no span name".to_owned()),
    };
    if len > crate::span::MAX_NAME {
        return Err(format!(
            "span name of {len} bytes is past the limit of {}",
            crate::span::MAX_NAME
        ));
    }
    let name = bytes
        .get(at..at + len)
        .ok_or_else(|| format!("span name of {len} bytes, {} remain", bytes.len() - at))?;
    let name = std::str::from_utf8(name).map_err(|_| "span name is not UTF-8".to_owned())?;
    Ok((
        SpanContext {
            name: name.to_owned(),
            trace_id,
            span_id,
            parent_id,
        },
        at + len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_make_a_context_or_say_what_is_missing() {
        assert_eq!(from_parts(None, None, None, None), Ok(None));
        let trace = "0af7651916cd43dd8448eb211c80319c";
        let read = from_parts(Some("charge"), Some("b7ad6b7169203331"), None, Some(trace))
            .unwrap()
            .unwrap();
        assert_eq!(read.trace_id_hex(), trace);
        assert_eq!(read.parent_id, [0; 8]);
        assert!(from_parts(Some("charge"), None, None, Some(trace)).is_err());
        assert!(from_parts(None, None, Some("b7ad6b7169203331"), None).is_err());
        assert!(from_parts(Some("x"), Some("b7ad"), None, Some(trace)).is_err());
    }

    #[test]
    fn binary_contexts_check_every_length() {
        let mut bytes = vec![1; 32];
        bytes.push(3);
        bytes.extend_from_slice(b"abc");
        let (read, used) = from_binary(&bytes).unwrap();
        assert_eq!((read.name.as_str(), used), ("abc", 36));
        assert!(from_binary(&bytes[..20]).is_err());
        assert!(from_binary(&bytes[..34]).is_err());
        let mut long = vec![1; 32];
        long.extend_from_slice(&[251, 0xff, 0xff]);
        assert!(from_binary(&long).unwrap_err().contains("past the limit"));
        let mut bad = vec![1; 32];
        bad.extend_from_slice(&[1, 0xff]);
        assert!(from_binary(&bad).unwrap_err().contains("UTF-8"));
    }
}
