//! Spans: a named, timed unit of work that every record inside it points to.
//!
//! A span is a frame of the thread's scope stack (see `scope`) that also has a name and
//! ids in the sizes of W3C trace context: a 16-byte trace id shared by a whole request, an
//! 8-byte span id, and the parent's span id (all zeros for a root span). A record captured
//! inside a span carries the innermost span's context after its values (see
//! [`put_trailer`]), and the encoders write it beside the record's own parts.
//!
//! Ids are random, from a per-thread generator seeded once, so that making a span costs no
//! system call: a root span draws a trace id, every span draws a span id.

use std::cell::Cell;
use std::fmt;

use crate::capture::payload::Payload;

/// The span context of one record: the innermost span it was captured in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpanContext {
    /// The span's name.
    pub name: String,
    /// The trace id, shared by every span of one request.
    pub trace_id: [u8; 16],
    /// The span's id; never all zeros.
    pub span_id: [u8; 8],
    /// The parent span's id; all zeros for a root span.
    pub parent_id: [u8; 8],
}

impl SpanContext {
    /// The trace id as 32 lower-case hex digits, as the files write it.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The parent's span id as 16 lower-case hex digits; `None` for a root span.
    pub fn parent_id_hex(&self) -> Option<String> {
        (self.parent_id != [0; 8]).then(|| hex(&self.parent_id))
    }

    /// The context with the ids read from hex text, as the text formats write them; the
    /// error says which id is malformed.
    pub fn from_hex(
        name: &str,
        trace_id: &str,
        span_id: &str,
        parent_id: Option<&str>,
    ) -> Result<SpanContext, String> {
        Ok(SpanContext {
            name: name.to_owned(),
            trace_id: unhex(trace_id).ok_or_else(|| format!("bad trace id {trace_id:?}"))?,
            span_id: unhex(span_id).ok_or_else(|| format!("bad span id {span_id:?}"))?,
            parent_id: match parent_id {
                Some(text) => unhex(text).ok_or_else(|| format!("bad parent span id {text:?}"))?,
                None => [0; 8],
            },
        })
    }
}

/// The timings of a span record, the record a span writes when it closes (see
/// [`Builder::span_records`](crate::Builder)), in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanTiming {
    /// When the span began, since the Unix epoch.
    pub start_ns: u64,
    /// When it closed, since the Unix epoch.
    pub end_ns: u64,
    /// The time it was entered: a guard alive, a wrapped future being polled.
    pub busy_ns: u64,
    /// The rest of its life: a wrapped future waiting between polls.
    pub idle_ns: u64,
}

/// A span's context while it is captured: the name is the call site's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpanIds {
    pub(crate) name: &'static str,
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) parent_id: [u8; 8],
}

impl SpanIds {
    /// A new span named `name` under `parent` (the innermost span of the thread), or a
    /// root span with a new trace id.
    pub(crate) fn child_of(name: &'static str, parent: Option<&SpanIds>) -> SpanIds {
        let span_id = loop {
            let id = next_random().to_le_bytes();
            if id != [0; 8] {
                break id;
            }
        };
        match parent {
            Some(parent) => SpanIds {
                name,
                trace_id: parent.trace_id,
                span_id,
                parent_id: parent.span_id,
            },
            None => {
                let mut trace_id = [0; 16];
                trace_id[..8].copy_from_slice(&next_random().to_le_bytes());
                trace_id[8..].copy_from_slice(&next_random().to_le_bytes());
                SpanIds {
                    name,
                    trace_id,
                    span_id,
                    parent_id: [0; 8],
                }
            }
        }
    }

    /// A span with ids given from elsewhere (an OpenTelemetry context).
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code))]
    pub(crate) fn with_ids(
        name: &'static str,
        trace_id: [u8; 16],
        span_id: [u8; 8],
        parent_id: [u8; 8],
    ) -> SpanIds {
        SpanIds {
            name,
            trace_id,
            span_id,
            parent_id,
        }
    }

    /// The owned context.
    #[cfg(test)]
    pub(crate) fn to_context(self) -> SpanContext {
        SpanRef {
            name: self.name,
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_id: self.parent_id,
        }
        .to_context()
    }
}

/// A span context borrowed from a captured record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpanRef<'a> {
    pub(crate) name: &'a str,
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) parent_id: [u8; 8],
}

impl<'a> SpanRef<'a> {
    /// The owned context.
    pub(crate) fn to_context(self) -> SpanContext {
        SpanContext {
            name: self.name.to_owned(),
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_id: self.parent_id,
        }
    }

    /// A read-back context, borrowed.
    #[cfg_attr(not(feature = "writer"), allow(dead_code))]
    pub(crate) fn of(context: &'a SpanContext) -> SpanRef<'a> {
        SpanRef {
            name: &context.name,
            trace_id: context.trace_id,
            span_id: context.span_id,
            parent_id: context.parent_id,
        }
    }

    /// Whether the span has a parent.
    #[cfg_attr(not(feature = "writer"), allow(dead_code))]
    pub(crate) fn has_parent(&self) -> bool {
        self.parent_id != [0; 8]
    }
}

/// The longest span name a record carries; a longer one is cut at a character boundary.
pub(crate) const MAX_NAME: usize = 1024;
/// The fixed part of the trailer: the three ids and the name's length.
const FIXED: usize = 16 + 8 + 8 + 2;

/// Appends the span context after a record's values: the name's bytes, the trace id, the
/// span id, the parent id and the name's length (`u16`, little-endian), so that it is
/// read from the end.
pub(crate) fn put_trailer(out: &mut Payload, span: &SpanIds) {
    let mut end = span.name.len().min(MAX_NAME);
    while !span.name.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&span.name.as_bytes()[..end]);
    let mut fixed = [0; FIXED];
    fixed[..16].copy_from_slice(&span.trace_id);
    fixed[16..24].copy_from_slice(&span.span_id);
    fixed[24..32].copy_from_slice(&span.parent_id);
    fixed[32..].copy_from_slice(&(end as u16).to_le_bytes());
    out.extend_from_slice(&fixed);
}

/// The trace id, span id and parent id, in that order in 32 bytes: the layout of the
/// payload's trailer and of a binary record's span context.
pub(crate) fn split_ids(ids: &[u8; 32]) -> ([u8; 16], [u8; 8], [u8; 8]) {
    let mut trace_id = [0; 16];
    let mut span_id = [0; 8];
    let mut parent_id = [0; 8];
    trace_id.copy_from_slice(&ids[..16]);
    span_id.copy_from_slice(&ids[16..24]);
    parent_id.copy_from_slice(&ids[24..]);
    (trace_id, span_id, parent_id)
}

/// Splits a payload with a trailer into its values and its span context; `None` when
/// the trailer is damaged (it never is unless a bug slipped in).
pub(crate) fn split_trailer(bytes: &[u8]) -> Option<(&[u8], SpanRef<'_>)> {
    let fixed_at = bytes.len().checked_sub(FIXED)?;
    let fixed = &bytes[fixed_at..];
    let name_len = usize::from(u16::from_le_bytes([fixed[32], fixed[33]]));
    let name_at = fixed_at.checked_sub(name_len)?;
    let name = std::str::from_utf8(&bytes[name_at..fixed_at]).ok()?;
    let (trace_id, span_id, parent_id) = split_ids(fixed.first_chunk()?);
    Some((
        &bytes[..name_at],
        SpanRef {
            name,
            trace_id,
            span_id,
            parent_id,
        },
    ))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
    }
    out
}

/// Appends lower-case hex of `bytes` to `out`.
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn put_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// Bytes from exactly `2 * N` hex digits, either case.
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

thread_local! {
    /// The thread's generator state; 0 until the first id is drawn.
    static RANDOM: Cell<u64> = const { Cell::new(0) };
}

/// The next random number of this thread (wyrand: one multiply per draw, seeded once from
/// the standard library's per-process random keys, the thread and the time).
fn next_random() -> u64 {
    RANDOM.with(|state| {
        let mut s = state.get();
        if s == 0 {
            s = seed();
        }
        s = s.wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        (t >> 64) as u64 ^ t as u64
    })
}

#[cold]
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    std::thread::current().id().hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    hasher.finish() | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailer_reads_back_from_the_end_of_the_values() {
        let span = SpanIds {
            name: "charge",
            trace_id: [7; 16],
            span_id: [1, 2, 3, 4, 5, 6, 7, 8],
            parent_id: [9; 8],
        };
        let mut stored = crate::capture::payload::RecordPayload::new();
        stored.edit().extend_from_slice(b"values");
        put_trailer(&mut stored.edit(), &span);
        let bytes = stored.as_slice().to_vec();
        let (values, read) = split_trailer(&bytes).unwrap();
        assert_eq!(values, b"values");
        assert_eq!(read.to_context(), span.to_context());
        assert!(split_trailer(&bytes[..10]).is_none());
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let name: &'static str = "é".repeat(MAX_NAME).leak();
        let span = SpanIds::child_of(name, None);
        let mut stored = crate::capture::payload::RecordPayload::new();
        put_trailer(&mut stored.edit(), &span);
        let (_, read) = split_trailer(stored.as_slice()).unwrap();
        assert_eq!(read.name.len(), MAX_NAME);
        assert!(name.starts_with(read.name));
    }

    #[test]
    fn children_share_the_trace_and_point_to_their_parent() {
        let root = SpanIds::child_of("a", None);
        let child = SpanIds::child_of("b", Some(&root));
        assert_eq!(root.parent_id, [0; 8]);
        assert_ne!(root.trace_id, [0; 16]);
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(child.parent_id, root.span_id);
        assert_ne!(child.span_id, root.span_id);
        let other = SpanIds::child_of("c", None);
        assert_ne!(other.trace_id, root.trace_id);
    }

    #[test]
    fn hex_reads_back() {
        let context = SpanIds::child_of("x", None).to_context();
        let back = SpanContext::from_hex(
            "x",
            &context.trace_id_hex(),
            &context.span_id_hex(),
            context.parent_id_hex().as_deref(),
        )
        .unwrap();
        assert_eq!(back, context);
        assert!(SpanContext::from_hex("x", "zz", "00", None).is_err());
        let mut out = Vec::new();
        put_hex(&[0xab, 0x01], &mut out);
        assert_eq!(out, b"ab01");
    }
}
