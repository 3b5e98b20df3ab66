//! The binary encoder: a header, then checksummed frames of definitions and records,
//! laid out by [`crate::format::binary`] (`docs/FORMAT.md` has the bytes).
//!
//! Each segment defines the call sites and threads its records use, once, before their
//! first use, so it stands alone. Values keep their types.

use std::collections::HashMap;
use std::marker::PhantomData;

use rustc_hash::FxHashMap;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use super::{EncodeContext, Encoder};
use crate::capture::value_view::{key_text, Shape, ValueView};
use crate::format::binary::{framed, header, variant};
use crate::record::ValueRef;
use crate::{Metadata, Piece, Record};

mod record_frame;

use record_frame::transcode_record;
pub(crate) use record_frame::write_record;

// Nested values deeper than this are cut with a marker.
use crate::limits::MAX_DEPTH;

#[derive(Default)]
pub(crate) struct BincodeEncoder {
    context: EncodeContext,
    /// Call site ids by metadata address, for records without scope fields.
    plain: FxHashMap<usize, u32>,
    /// Call site ids by metadata address and the names of the fields scopes added.
    scoped: HashMap<(usize, Vec<String>), u32>,
    threads: FxHashMap<u64, u32>,
    /// The metadata address and id of the last plain call site: records come in runs.
    last_plain: Option<(usize, u32)>,
    /// The last thread and its id.
    last_thread: Option<(u64, u32)>,
    /// Where in its output the last record's frame began, after the call site and
    /// thread frames that the record may have needed first.
    record_at: usize,
    /// The kinds of the last record's values, when it took the transcoding path.
    kinds: Option<u64>,
}

/// A frame, borrowed: its variants in the order of their ids in `format::binary::frame`.
#[derive(Serialize)]
pub(crate) enum FrameRef<'a> {
    Callsite(CallsiteRef<'a>),
    Thread {
        id: u32,
        name: &'a str,
    },
    /// Written by `write_record`; serde's encoding of it is the reference in tests.
    #[cfg(test)]
    Record(RecordRef<'a>),
}

/// A call site's definition: its fields in the order of `docs/FORMAT.md`.
#[derive(Serialize)]
pub(crate) struct CallsiteRef<'a> {
    pub(crate) id: u32,
    pub(crate) level: u8,
    pub(crate) target: &'a str,
    pub(crate) module: &'a str,
    pub(crate) file: &'a str,
    pub(crate) line: u32,
    pub(crate) template: &'a str,
    pub(crate) fields: Vec<&'a str>,
    pub(crate) pieces: Vec<PieceRef<'a>>,
}

/// A piece of a call site's message: its variants in the order of their ids in
/// `format::binary::piece`.
#[derive(Serialize)]
pub(crate) enum PieceRef<'a> {
    Lit(&'a str),
    Arg(u32),
    Actor,
}

#[cfg(test)]
#[derive(Serialize)]
pub(crate) struct RecordRef<'a> {
    callsite: u32,
    thread: u32,
    seq: u64,
    ts: u64,
    actor: Option<Val<'a, ValueRef<'a>>>,
    values: Vals<'a>,
}

#[cfg(test)]
struct Vals<'a>(&'a [ValueRef<'a>]);

#[cfg(test)]
impl Serialize for Vals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|v| Val::new(*v, 0)))
    }
}

/// A value in the format's layout, through serde (variant ids from `format::binary`),
/// nested `depth` deep.
struct Val<'a, V>(V, usize, PhantomData<ValueRef<'a>>);

impl<'a, V: ValueView<'a>> Val<'a, V> {
    fn new(value: V, depth: usize) -> Self {
        Val(value, depth, PhantomData)
    }
}

impl<'a, V: ValueView<'a>> Serialize for Val<'a, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "Value";
        let id = u32::from;
        let depth = self.1;
        let scalar = match self.0.shape() {
            Shape::Scalar(scalar) => scalar,
            _ if depth >= MAX_DEPTH => {
                return s.serialize_newtype_variant(
                    NAME,
                    id(variant::STR),
                    "Str",
                    "[nested deeper than 64 levels]",
                )
            }
            Shape::Seq(items) => {
                let items: Vec<V> = items.collect();
                return s.serialize_newtype_variant(
                    NAME,
                    id(variant::SEQ),
                    "Seq",
                    &SeqOf(&items, depth + 1),
                );
            }
            Shape::Map(entries) => {
                let entries: Vec<(ValueRef<'a>, V)> = entries.collect();
                return s.serialize_newtype_variant(
                    NAME,
                    id(variant::MAP),
                    "Map",
                    &MapOf(&entries, depth + 1),
                );
            }
        };
        match scalar {
            ValueRef::Null | ValueRef::Invalid => {
                s.serialize_unit_variant(NAME, id(variant::NULL), "Null")
            }
            ValueRef::Bool(v) => s.serialize_newtype_variant(NAME, id(variant::BOOL), "Bool", &v),
            ValueRef::I64(v) => s.serialize_newtype_variant(NAME, id(variant::I64), "I64", &v),
            ValueRef::U64(v) => s.serialize_newtype_variant(NAME, id(variant::U64), "U64", &v),
            ValueRef::I128(v) => s.serialize_newtype_variant(NAME, id(variant::I128), "I128", &v),
            ValueRef::U128(v) => s.serialize_newtype_variant(NAME, id(variant::U128), "U128", &v),
            ValueRef::F32(v) => s.serialize_newtype_variant(NAME, id(variant::F32), "F32", &v),
            ValueRef::F64(v) => s.serialize_newtype_variant(NAME, id(variant::F64), "F64", &v),
            ValueRef::Char(c) => {
                s.serialize_newtype_variant(NAME, id(variant::CHAR), "Char", &u32::from(c))
            }
            ValueRef::Str(v) => s.serialize_newtype_variant(NAME, id(variant::STR), "Str", v),
            ValueRef::Bytes(v) => {
                s.serialize_newtype_variant(NAME, id(variant::BYTES), "Bytes", &Bytes(v))
            }
            ValueRef::Ip(std::net::IpAddr::V4(ip)) => {
                s.serialize_newtype_variant(NAME, id(variant::IPV4), "Ipv4", &ip.octets())
            }
            ValueRef::Ip(std::net::IpAddr::V6(ip)) => {
                s.serialize_newtype_variant(NAME, id(variant::IPV6), "Ipv6", &ip.octets())
            }
            // A scalar is never nested; were it, it would go the nested way.
            nested @ (ValueRef::Seq(_) | ValueRef::Map(_)) => Val::new(nested, depth).serialize(s),
        }
    }
}

/// Bytes as a length-prefixed sequence of `u8`, as `Vec<u8>` is.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0)
    }
}

/// A sequence's items, `depth` deep.
struct SeqOf<'s, V>(&'s [V], usize);

impl<'a, V: ValueView<'a>> Serialize for SeqOf<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&Val::new(*item, self.1))?;
        }
        seq.end()
    }
}

/// A map's entries, `depth` deep: keys as strings.
struct MapOf<'s, 'a, V>(&'s [(ValueRef<'a>, V)], usize);

impl<'a, V: ValueView<'a>> Serialize for MapOf<'_, 'a, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (key, value) in self.0 {
            seq.serialize_element(&(key_text(*key), Val::new(*value, self.1)))?;
        }
        seq.end()
    }
}

/// bincode's configuration for the format: its standard one (varints, little-endian).
fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Appends one frame: length, CRC-32, and the bincode payload.
fn write_frame(frame: &impl Serialize, out: &mut Vec<u8>) {
    framed(out, |out| {
        // Writing into a Vec fails only if serialization does, which ours does not.
        let _ = bincode::serde::encode_into_std_write(frame, out, config());
    });
}

/// Appends a definition frame (a call site or a thread).
pub(crate) fn write_definition(out: &mut Vec<u8>, frame: &FrameRef<'_>) {
    write_frame(frame, out);
}

impl BincodeEncoder {
    fn frame(out: &mut Vec<u8>, frame: &FrameRef<'_>) {
        write_definition(out, frame);
    }

    /// The id of the call site, defining it first if this segment has not. Fields that
    /// scopes added follow the call's own fields; message arguments move behind them.
    fn callsite(&mut self, meta: &'static Metadata, scoped: &[&str], out: &mut Vec<u8>) -> u32 {
        let address = meta as *const Metadata as usize;
        let id = (self.plain.len() + self.scoped.len()) as u32;
        if scoped.is_empty() {
            if let Some(&id) = self.plain.get(&address) {
                self.last_plain = Some((address, id));
                return id;
            }
            self.plain.insert(address, id);
            self.last_plain = Some((address, id));
        } else {
            let key = (address, scoped.iter().map(|s| (*s).to_owned()).collect());
            if let Some(&id) = self.scoped.get(&key) {
                return id;
            }
            self.scoped.insert(key, id);
        }
        let own = meta.fields().len() as u32;
        let shift = scoped.len() as u32;
        let frame = FrameRef::Callsite(CallsiteRef {
            id,
            level: meta.level() as u8,
            target: meta.target(),
            module: meta.module_path(),
            file: meta.file(),
            line: meta.line(),
            template: meta.template(),
            fields: meta
                .fields()
                .iter()
                .copied()
                .chain(scoped.iter().copied())
                .collect(),
            pieces: meta
                .pieces()
                .iter()
                .map(|p| match *p {
                    Piece::Lit(text) => PieceRef::Lit(text),
                    Piece::Display(i) => {
                        let i = u32::from(i);
                        PieceRef::Arg(if i >= own { i + shift } else { i })
                    }
                    Piece::Actor => PieceRef::Actor,
                })
                .collect(),
        });
        Self::frame(out, &frame);
        id
    }

    /// The id of a plain call site (one without scope fields), defining it first if this
    /// segment has not.
    #[inline]
    fn plain_callsite(&mut self, meta: &'static Metadata, out: &mut Vec<u8>) -> u32 {
        match self.last_plain {
            Some((address, id)) if address == meta as *const Metadata as usize => id,
            _ => self.callsite(meta, &[], out),
        }
    }

    #[inline]
    fn thread(&mut self, thread: u64, out: &mut Vec<u8>) -> u32 {
        match self.last_thread {
            Some((last, id)) if last == thread => id,
            _ => self.new_thread(thread, out),
        }
    }

    /// The id of a thread other than the last one, defining it first if this segment has
    /// not.
    fn new_thread(&mut self, thread: u64, out: &mut Vec<u8>) -> u32 {
        if let Some(&id) = self.threads.get(&thread) {
            self.last_thread = Some((thread, id));
            return id;
        }
        let id = self.threads.len() as u32;
        self.threads.insert(thread, id);
        self.last_thread = Some((thread, id));
        let name = self.context.thread(thread);
        Self::frame(out, &FrameRef::Thread { id, name });
        id
    }
}

impl Encoder for BincodeEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.context.secrets = secrets;
    }

    fn begin_segment(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&header());
        self.plain.clear();
        self.scoped.clear();
        self.threads.clear();
        self.last_plain = None;
        self.last_thread = None;
    }

    fn last_kinds(&self) -> Option<u64> {
        self.kinds
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        self.kinds = None;
        // Most records: no secrets to hide and no scope fields to reorder, so the values
        // go from the payload to the frame as they come.
        if self.context.secrets.is_empty()
            && let Some(payload) = record.plain_payload()
        {
            let callsite = self.plain_callsite(record.metadata(), out);
            let thread = self.thread(record.thread_id(), out);
            let stamps = [seq, record.timestamp_nanos()];
            let ids = [callsite, thread];
            self.record_at = out.len();
            self.kinds = transcode_record(out, ids, stamps, payload, record.has_actor());
            if self.kinds.is_some() {
                return;
            }
            // Nested values and damaged payloads take the path that decodes them.
        }
        let meta = record.metadata();
        let values = self.context.decode(record);
        let scoped: Vec<&str> = values
            .scoped_fields()
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let callsite = self.callsite(meta, &scoped, out);
        let thread = self.thread(record.thread_id(), out);
        self.record_at = out.len();
        // The call's fields, then the scopes' fields, then the message arguments.
        let own = meta.fields().len().min(values.values().len());
        let ordered = values.values()[..own]
            .iter()
            .copied()
            .chain(values.scoped_fields().iter().map(|(_, v)| *v))
            .chain(values.values()[own..].iter().copied());
        write_record(
            out,
            [callsite, thread],
            [seq, record.timestamp_nanos()],
            values.actor(),
            ordered,
            record.span_ref(),
        );
    }

    fn last_record_at(&self) -> Option<usize> {
        Some(self.record_at)
    }
}

/// A sequence or a map, through serde.
fn nested_value<'a, V: ValueView<'a>>(out: &mut Vec<u8>, v: V) {
    // Writing into a Vec fails only if serialization does, which ours does not.
    let _ = bincode::serde::encode_into_std_write(Val::new(v, 0), out, config());
}
