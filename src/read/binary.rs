//! The binary format: the frame model shared by the writer and the reader, and decoding.
//!
//! A segment is a 16-byte header, then frames. A frame is a little-endian `u32` payload
//! length, a little-endian `u32` CRC-32 of the payload, and the payload: one [`Frame`],
//! encoded with bincode 2's standard configuration. `docs/FORMAT.md` specifies every byte,
//! so that the format does not depend on this crate or on bincode.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::record::{FieldValue, LogRecord};
use crate::record::{fmt_map, fmt_seq};
use crate::Level;

/// The first eight bytes of every binary segment.
pub(crate) const MAGIC: &[u8; 8] = b"TRAILBIN";
/// The binary format's version, in the header.
pub(crate) const VERSION: u16 = 1;
/// Header length: magic, version, flags, reserved.
pub(crate) const HEADER_LEN: usize = 16;
/// Frame prefix length: payload length and CRC-32.
pub(crate) const FRAME_PREFIX: usize = 8;

pub(crate) fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The 16-byte segment header.
#[cfg(feature = "writer")]
pub(crate) fn header() -> [u8; HEADER_LEN] {
    let mut h = [0; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Appends one frame: length, CRC-32, and the bincode payload.
#[cfg(feature = "writer")]
pub(crate) fn write_frame(frame: &impl Serialize, out: &mut Vec<u8>) {
    framed(out, |out| {
        // Writing into a Vec fails only if serialization does, which ours does not.
        let _ = bincode::serde::encode_into_std_write(frame, out, config());
    });
}

/// The CRC-32 of `bytes`, as `crc32fast::hash` computes it, without asking the processor
/// which instructions it has on every call: frames are short, and that question cost about
/// a fifth of the checksum.
#[inline]
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    static TEMPLATE: std::sync::LazyLock<crc32fast::Hasher> =
        std::sync::LazyLock::new(crc32fast::Hasher::new);
    let mut hasher = TEMPLATE.clone();
    hasher.update(bytes);
    hasher.finalize()
}

/// Appends a frame whose payload `payload` writes: the prefix first, then the length and
/// CRC-32 of what it wrote.
#[cfg(feature = "writer")]
pub(crate) fn framed(out: &mut Vec<u8>, payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_PREFIX]);
    let body = start + FRAME_PREFIX;
    payload(out);
    let len = (out.len() - body) as u32;
    let crc = crc32(&out[body..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..body].copy_from_slice(&crc.to_le_bytes());
}

/// One frame's payload. Owned form, for decoding; the writer encodes the same layout
/// from borrowed data.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Frame {
    /// Defines a call site for the rest of the segment.
    Callsite(Callsite),
    /// Names a thread for the rest of the segment.
    Thread { id: u32, name: String },
    /// One record.
    Record(Record),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Callsite {
    pub(crate) id: u32,
    pub(crate) level: u8,
    pub(crate) target: String,
    pub(crate) module: String,
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) template: String,
    pub(crate) fields: Vec<String>,
    pub(crate) pieces: Vec<Piece>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Piece {
    Lit(String),
    Arg(u32),
    Actor,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) callsite: u32,
    pub(crate) thread: u32,
    pub(crate) seq: u64,
    pub(crate) ts: u64,
    pub(crate) actor: Option<Value>,
    pub(crate) values: Vec<Value>,
}

/// A value with its type, as captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(u32),
    Str(String),
    Bytes(Vec<u8>),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    fn to_field(&self) -> FieldValue {
        match self {
            Value::Null => FieldValue::Null,
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::I64(v) => FieldValue::int((*v).into()),
            Value::U64(v) => FieldValue::int((*v).into()),
            Value::I128(v) => FieldValue::int(*v),
            Value::U128(v) => i128::try_from(*v).map_or(FieldValue::U128(*v), FieldValue::int),
            Value::F32(v) => FieldValue::from_f32(*v),
            Value::F64(v) => FieldValue::F64(*v),
            Value::Char(c) => FieldValue::Str(char::from_u32(*c).unwrap_or('\u{fffd}').to_string()),
            Value::Str(s) => FieldValue::Str(s.clone()),
            Value::Bytes(b) => FieldValue::Bytes(b.clone()),
            Value::Ipv4(_) | Value::Ipv6(_) => FieldValue::Str(self.to_string()),
            Value::Seq(items) => FieldValue::Seq(items.iter().map(Value::to_field).collect()),
            Value::Map(entries) => FieldValue::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_field()))
                    .collect(),
            ),
        }
    }

    /// Inside a nested value, strings are quoted, as the writer renders them.
    fn fmt_nested(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Char(c) => write!(
                f,
                "{:?}",
                char::from_u32(*c).unwrap_or('\u{fffd}').to_string()
            ),
            other => fmt::Display::fmt(other, f),
        }
    }
}

/// Renders a value in a message exactly as the writer's `{}` does.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(v) => fmt::Display::fmt(v, f),
            Value::I64(v) => fmt::Display::fmt(v, f),
            Value::U64(v) => fmt::Display::fmt(v, f),
            Value::I128(v) => fmt::Display::fmt(v, f),
            Value::U128(v) => fmt::Display::fmt(v, f),
            Value::F32(v) => fmt::Display::fmt(v, f),
            Value::F64(v) => fmt::Display::fmt(v, f),
            Value::Char(c) => fmt::Display::fmt(&char::from_u32(*c).unwrap_or('\u{fffd}'), f),
            Value::Str(s) => f.write_str(s),
            Value::Bytes(b) => b.iter().try_for_each(|x| write!(f, "{x:02x}")),
            Value::Ipv4(o) => fmt::Display::fmt(&std::net::Ipv4Addr::from(*o), f),
            Value::Ipv6(o) => fmt::Display::fmt(&std::net::Ipv6Addr::from(*o), f),
            Value::Seq(items) => fmt_seq(f, items.iter(), |f, item| item.fmt_nested(f)),
            Value::Map(entries) => fmt_map(
                f,
                entries.iter().map(|(k, v)| (k, v)),
                |f, k| write!(f, "{k:?}"),
                |f, v| v.fmt_nested(f),
            ),
        }
    }
}

/// What a binary segment has defined so far: its call sites and threads.
#[derive(Default)]
pub(crate) struct Dictionary {
    callsites: Vec<Option<Callsite>>,
    threads: Vec<Option<String>>,
}

fn define<T>(table: &mut Vec<Option<T>>, id: u32, item: T) -> Result<(), String> {
    let i = id as usize;
    if i > table.len() + 1_000_000 {
        return Err(format!("definition id {id} is implausibly far ahead"));
    }
    if table.len() <= i {
        table.resize_with(i + 1, || None);
    }
    table[i] = Some(item);
    Ok(())
}

/// Checks a segment header; the error says what is wrong.
pub(crate) fn check_header(header: &[u8]) -> Result<(), String> {
    if header.len() < HEADER_LEN || &header[..8] != MAGIC {
        return Err("not a trail binary segment (bad magic)".into());
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != VERSION {
        return Err(format!(
            "binary format version {version} is not supported (this reader knows {VERSION})"
        ));
    }
    Ok(())
}

/// Decodes one frame payload (its CRC already checked): a definition updates the
/// dictionary and gives `None`; a record gives the record.
pub(crate) fn decode(
    dictionary: &mut Dictionary,
    payload: &[u8],
) -> Result<Option<LogRecord>, String> {
    let (frame, used): (Frame, usize) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|e| format!("frame does not decode: {e}"))?;
    if used != payload.len() {
        return Err(format!(
            "frame has {} bytes after its content",
            payload.len() - used
        ));
    }
    let record = match frame {
        Frame::Callsite(callsite) => {
            let id = callsite.id;
            define(&mut dictionary.callsites, id, callsite)?;
            return Ok(None);
        }
        Frame::Thread { id, name } => {
            define(&mut dictionary.threads, id, name)?;
            return Ok(None);
        }
        Frame::Record(record) => record,
    };
    let callsite = dictionary
        .callsites
        .get(record.callsite as usize)
        .and_then(Option::as_ref)
        .ok_or_else(|| format!("record refers to undefined call site {}", record.callsite))?;
    let thread = dictionary
        .threads
        .get(record.thread as usize)
        .and_then(Option::as_ref)
        .ok_or_else(|| format!("record refers to undefined thread {}", record.thread))?;
    let level =
        Level::from_u8(callsite.level).ok_or_else(|| format!("bad level {}", callsite.level))?;
    if record.values.len() < callsite.fields.len() {
        return Err(format!(
            "record has {} values for {} fields",
            record.values.len(),
            callsite.fields.len()
        ));
    }
    let mut msg = String::new();
    for piece in &callsite.pieces {
        use fmt::Write as _;
        let _ = match piece {
            Piece::Lit(text) => msg.write_str(text),
            Piece::Arg(i) => match record.values.get(*i as usize) {
                Some(value) => write!(msg, "{value}"),
                None => return Err(format!("message refers to missing argument {i}")),
            },
            Piece::Actor => match &record.actor {
                Some(actor) => write!(msg, "{actor}"),
                None => msg.write_str("<invalid>"),
            },
        };
    }
    Ok(Some(LogRecord {
        ts: record.ts,
        level,
        seq: record.seq,
        actor: record.actor.as_ref().map(Value::to_field),
        target: callsite.target.clone(),
        msg,
        fields: callsite
            .fields
            .iter()
            .zip(&record.values)
            .map(|(k, v)| (k.clone(), v.to_field()))
            .collect(),
        file: callsite.file.clone(),
        line: callsite.line,
        thread: thread.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(value: &impl Serialize) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, config()).unwrap()
    }

    /// Pins the encoding that docs/FORMAT.md specifies, so that replacing or upgrading
    /// bincode cannot change the format unnoticed.
    #[test]
    fn values_encode_as_the_format_document_says() {
        assert_eq!(bytes(&Value::Null), [0]);
        assert_eq!(bytes(&Value::Bool(true)), [1, 1]);
        assert_eq!(bytes(&Value::I64(-1)), [2, 1]);
        assert_eq!(bytes(&Value::I64(1)), [2, 2]);
        assert_eq!(bytes(&Value::I64(-200)), [2, 251, 0x8f, 0x01]);
        assert_eq!(bytes(&Value::U64(250)), [3, 250]);
        assert_eq!(bytes(&Value::U64(251)), [3, 251, 251, 0]);
        assert_eq!(bytes(&Value::U64(70_000)), [3, 252, 0x70, 0x11, 0x01, 0x00]);
        assert_eq!(
            bytes(&Value::U64(1 << 40)),
            [3, 253, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(bytes(&Value::U128(u128::from(u64::MAX) + 1))[..2], [5, 254]);
        assert_eq!(bytes(&Value::F32(1.0)), [6, 0, 0, 0x80, 0x3f]);
        assert_eq!(bytes(&Value::F64(-2.0)), [7, 0, 0, 0, 0, 0, 0, 0, 0xc0]);
        assert_eq!(bytes(&Value::Char('é' as u32)), [8, 0xe9]);
        assert_eq!(bytes(&Value::Str("hé".into())), [9, 3, b'h', 0xc3, 0xa9]);
        assert_eq!(bytes(&Value::Bytes(vec![7, 8])), [10, 2, 7, 8]);
        assert_eq!(bytes(&Value::Ipv4([10, 0, 0, 1])), [11, 10, 0, 0, 1]);
        assert_eq!(bytes(&Value::Seq(vec![Value::Null])), [13, 1, 0]);
        assert_eq!(
            bytes(&Value::Map(vec![("k".into(), Value::Bool(false))])),
            [14, 1, 1, b'k', 1, 0]
        );
    }

    #[test]
    fn frames_encode_as_the_format_document_says() {
        let thread = Frame::Thread {
            id: 0,
            name: "main".into(),
        };
        assert_eq!(bytes(&thread), [1, 0, 4, b'm', b'a', b'i', b'n']);
        let record = Frame::Record(Record {
            callsite: 3,
            thread: 0,
            seq: 7,
            ts: 1,
            actor: Some(Value::U64(42)),
            values: vec![Value::Bool(true)],
        });
        assert_eq!(bytes(&record), [2, 3, 0, 7, 1, 1, 3, 42, 1, 1, 1]);
        let callsite = Frame::Callsite(Callsite {
            id: 0,
            level: 3,
            target: "t".into(),
            module: "m".into(),
            file: "f".into(),
            line: 9,
            template: "x {}".into(),
            fields: vec!["k".into()],
            pieces: vec![Piece::Lit("x ".into()), Piece::Arg(1), Piece::Actor],
        });
        assert_eq!(
            bytes(&callsite),
            [
                0, 0, 3, 1, b't', 1, b'm', 1, b'f', 9, 4, b'x', b' ', b'{', b'}', 1, 1, b'k', 3, 0,
                2, b'x', b' ', 1, 1, 2
            ]
        );
        #[cfg(feature = "writer")]
        assert_eq!(header(), *b"TRAILBIN\x01\x00\x00\x00\x00\x00\x00\x00");
    }
}
