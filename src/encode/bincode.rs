//! The binary format: a header, then checksummed frames of bincode-encoded definitions
//! and records (see `read::binary` for the model and `docs/FORMAT.md` for the bytes).
//!
//! Each segment defines the call sites and threads its records use, once, before their
//! first use, so it stands alone. Values keep their types.

use std::collections::HashMap;

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use super::{Encoder, Text};
use crate::read::binary::header;
use crate::record::{Nested, ValueRef};
use crate::{Metadata, Piece, Record};

/// How deep nested values are written before the rest is cut with a marker.
const MAX_DEPTH: usize = 64;

#[derive(Default)]
pub(crate) struct BincodeEncoder {
    text: Text,
    /// Call site ids by metadata address and the names of any fields scopes added.
    callsites: HashMap<(usize, Vec<String>), u32>,
    threads: HashMap<u64, u32>,
}

/// The borrowed twin of `read::binary::Frame`: the same variants in the same order.
#[derive(Serialize)]
enum FrameRef<'a> {
    Callsite(CallsiteRef<'a>),
    Thread { id: u32, name: &'a str },
    Record(RecordRef<'a>),
}

#[derive(Serialize)]
struct CallsiteRef<'a> {
    id: u32,
    level: u8,
    target: &'a str,
    module: &'a str,
    file: &'a str,
    line: u32,
    template: &'a str,
    fields: Vec<&'a str>,
    pieces: Vec<PieceRef<'a>>,
}

#[derive(Serialize)]
enum PieceRef<'a> {
    Lit(&'a str),
    Arg(u32),
    Actor,
}

#[derive(Serialize)]
struct RecordRef<'a> {
    callsite: u32,
    thread: u32,
    seq: u64,
    ts: u64,
    actor: Option<Val<'a>>,
    values: Vals<'a>,
}

struct Vals<'a>(&'a [ValueRef<'a>]);

impl Serialize for Vals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|v| Val(*v, 0)))
    }
}

/// A value in the layout of `read::binary::Value` (variant indexes are the format's).
struct Val<'a>(ValueRef<'a>, usize);

impl Serialize for Val<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const NAME: &str = "Value";
        match self.0 {
            ValueRef::Null | ValueRef::Invalid => s.serialize_unit_variant(NAME, 0, "Null"),
            ValueRef::Bool(v) => s.serialize_newtype_variant(NAME, 1, "Bool", &v),
            ValueRef::I64(v) => s.serialize_newtype_variant(NAME, 2, "I64", &v),
            ValueRef::U64(v) => s.serialize_newtype_variant(NAME, 3, "U64", &v),
            ValueRef::I128(v) => s.serialize_newtype_variant(NAME, 4, "I128", &v),
            ValueRef::U128(v) => s.serialize_newtype_variant(NAME, 5, "U128", &v),
            ValueRef::F32(v) => s.serialize_newtype_variant(NAME, 6, "F32", &v),
            ValueRef::F64(v) => s.serialize_newtype_variant(NAME, 7, "F64", &v),
            ValueRef::Char(c) => s.serialize_newtype_variant(NAME, 8, "Char", &u32::from(c)),
            ValueRef::Str(v) => s.serialize_newtype_variant(NAME, 9, "Str", v),
            ValueRef::Bytes(v) => s.serialize_newtype_variant(NAME, 10, "Bytes", &Bytes(v)),
            ValueRef::Ip(std::net::IpAddr::V4(ip)) => {
                s.serialize_newtype_variant(NAME, 11, "Ipv4", &ip.octets())
            }
            ValueRef::Ip(std::net::IpAddr::V6(ip)) => {
                s.serialize_newtype_variant(NAME, 12, "Ipv6", &ip.octets())
            }
            ValueRef::Seq(_) | ValueRef::Map(_) if self.1 >= MAX_DEPTH => {
                s.serialize_newtype_variant(NAME, 9, "Str", "[nested deeper than 64 levels]")
            }
            ValueRef::Seq(nested) => {
                s.serialize_newtype_variant(NAME, 13, "Seq", &SeqOf(nested, self.1 + 1))
            }
            ValueRef::Map(nested) => {
                s.serialize_newtype_variant(NAME, 14, "Map", &MapOf(nested, self.1 + 1))
            }
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

struct SeqOf<'a>(Nested<'a>, usize);

impl Serialize for SeqOf<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items: Vec<ValueRef<'_>> = self.0.iter().collect();
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&Val(item, self.1))?;
        }
        seq.end()
    }
}

struct MapOf<'a>(Nested<'a>, usize);

impl Serialize for MapOf<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<(ValueRef<'_>, ValueRef<'_>)> = self.0.entries().collect();
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for (key, value) in entries {
            let key = match key {
                ValueRef::Str(k) => k.to_owned(),
                other => other.to_string(),
            };
            seq.serialize_element(&(key, Val(value, self.1)))?;
        }
        seq.end()
    }
}

impl BincodeEncoder {
    fn frame(out: &mut Vec<u8>, frame: &FrameRef<'_>) {
        crate::read::binary::write_frame(frame, out);
    }

    /// The id of the call site, defining it first if this segment has not. Fields that
    /// scopes added follow the call's own fields; message arguments move behind them.
    fn callsite(&mut self, meta: &'static Metadata, scoped: &[&str], out: &mut Vec<u8>) -> u32 {
        let key = (
            meta as *const Metadata as usize,
            scoped.iter().map(|s| (*s).to_owned()).collect(),
        );
        if let Some(&id) = self.callsites.get(&key) {
            return id;
        }
        let id = self.callsites.len() as u32;
        self.callsites.insert(key, id);
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

    fn thread(&mut self, thread: u64, out: &mut Vec<u8>) -> u32 {
        if let Some(&id) = self.threads.get(&thread) {
            return id;
        }
        let id = self.threads.len() as u32;
        self.threads.insert(thread, id);
        let name = self.text.thread(thread);
        Self::frame(out, &FrameRef::Thread { id, name });
        id
    }
}

impl Encoder for BincodeEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.text.secrets = secrets;
    }

    fn begin_segment(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&header());
        self.callsites.clear();
        self.threads.clear();
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        let values = self.text.decode(record);
        let scoped: Vec<&str> = values
            .scoped_fields()
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let callsite = self.callsite(meta, &scoped, out);
        let thread = self.thread(record.thread_id(), out);
        // The call's fields, then the scopes' fields, then the message arguments.
        let own = meta.fields().len().min(values.values().len());
        let all: Vec<ValueRef<'_>>;
        let ordered = if scoped.is_empty() {
            values.values()
        } else {
            all = values.values()[..own]
                .iter()
                .copied()
                .chain(values.scoped_fields().iter().map(|(_, v)| *v))
                .chain(values.values()[own..].iter().copied())
                .collect();
            &all
        };
        let frame = FrameRef::Record(RecordRef {
            callsite,
            thread,
            seq,
            ts: record.timestamp_nanos(),
            actor: values.actor().map(|a| Val(a, 0)),
            values: Vals(ordered),
        });
        Self::frame(out, &frame);
    }
}
