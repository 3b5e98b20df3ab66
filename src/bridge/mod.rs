//! Bridges: events from other logging APIs, carried into trail with their structure.
//!
//! Events that arrive through a bridge have no `static` call site of trail's own, so the
//! bridges intern one per distinct level, target, module, file, line and set of field
//! names, the first time it is seen, and keep it for the program's life: as many as the
//! program has call sites.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::{Capture, Captured, Level, Metadata, Piece, Value};

#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;

/// A value handed over by another logging API, with the type it had there.
// Without the `log` bridge nothing makes these; only it has key-values that are
// characters or null.
#[cfg_attr(not(feature = "log"), allow(dead_code))]
#[derive(Clone, Debug)]
pub(crate) enum KvValue {
    U64(u64),
    I64(i64),
    U128(u128),
    I128(i128),
    F64(f64),
    Bool(bool),
    Char(char),
    Str(String),
    Null,
}

impl Value for KvValue {
    fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
        match self {
            KvValue::U64(v) => out.u64(*v),
            KvValue::I64(v) => out.i64(*v),
            KvValue::U128(v) => out.u128(*v),
            KvValue::I128(v) => out.i128(*v),
            KvValue::F64(v) => out.f64(*v),
            KvValue::Bool(v) => out.bool(*v),
            KvValue::Char(v) => out.char(*v),
            KvValue::Str(v) => out.str(v),
            KvValue::Null => out.null(),
        }
    }
}

impl std::fmt::Display for KvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvValue::U64(v) => write!(f, "{v}"),
            KvValue::I64(v) => write!(f, "{v}"),
            KvValue::U128(v) => write!(f, "{v}"),
            KvValue::I128(v) => write!(f, "{v}"),
            KvValue::F64(v) => write!(f, "{v}"),
            KvValue::Bool(v) => write!(f, "{v}"),
            KvValue::Char(v) => write!(f, "{v}"),
            KvValue::Str(v) => f.write_str(v),
            KvValue::Null => f.write_str("null"),
        }
    }
}

type Key = (Level, String, String, String, u32, Vec<String>);

/// The call site for events of this shape: fields in order, then the rendered message.
#[cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]
pub(crate) fn intern(
    level: Level,
    target: &str,
    module: &str,
    file: &str,
    line: u32,
    fields: &[String],
) -> &'static Metadata {
    static CALLSITES: OnceLock<Mutex<HashMap<Key, &'static Metadata>>> = OnceLock::new();
    let key: Key = (
        level,
        target.to_owned(),
        module.to_owned(),
        file.to_owned(),
        line,
        fields.to_vec(),
    );
    let mut table = CALLSITES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(meta) = table.get(&key) {
        return meta;
    }
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let names: &'static [&'static str] = Box::leak(
        fields
            .iter()
            .map(|k| leak(k))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let message_slot = u16::try_from(fields.len()).unwrap_or(u16::MAX);
    let pieces: &'static [Piece] = Box::leak(Box::new([Piece::Display(message_slot)]));
    let meta: &'static Metadata = Box::leak(Box::new(Metadata::new(
        level,
        leak(target),
        leak(module),
        leak(file),
        line,
        "{}",
        names,
        pieces,
    )));
    table.insert(key, meta);
    meta
}
