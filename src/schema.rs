//! A stream's schema: the value kinds seen for the actor and for every field key, and
//! which segments they came from, resolved into declared column types.
//!
//! Engines that infer a schema from a sample guess wrong when a key changes type or first
//! appears late. trail knows every value's kind as it writes it, so the writer keeps a
//! small summary per sealed segment ([`SegmentSchema`], in the manifest), and
//! [`StreamSchema`] merges those (or, for a segment without one, what its records hold)
//! into one column type per key, by a fixed rule ([`Column::resolve`]) that never loses
//! a value.
//!
//! ```
//! use trail::read::FieldValue;
//! use trail::schema::{ColumnType, SegmentSchema, StreamSchema};
//!
//! let mut first = SegmentSchema::default();
//! first.add_field("items", &FieldValue::U64(3));
//! let mut second = SegmentSchema::default();
//! second.add_field("items", &FieldValue::F64(2.5));
//! let mut stream = StreamSchema::default();
//! stream.merge("shop.0001.jsonl", &first);
//! stream.merge("shop.0002.jsonl", &second);
//! assert_eq!(stream.fields["items"].resolve(), ColumnType::Float64);
//! assert!(stream.fields["items"].is_conflict());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use std::path::{Path, PathBuf};

use crate::read::{FieldValue, ReadError};

/// The kind of one value, as far as column types are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `null`.
    Null,
    /// A boolean.
    Bool,
    /// An integer that fits `i64`.
    Int,
    /// An integer above `i64::MAX` that fits `u64`.
    Uint,
    /// An integer beyond 64 bits.
    Bigint,
    /// A float.
    Float,
    /// A string (characters and IP addresses too).
    String,
    /// A sequence (raw bytes too: JSON and CSV hold them as a list of numbers).
    List,
    /// A map.
    Object,
}

impl Kind {
    /// The kind of `value`.
    pub fn of(value: &FieldValue) -> Kind {
        match value {
            FieldValue::Null => Kind::Null,
            FieldValue::Bool(_) => Kind::Bool,
            FieldValue::I64(_) => Kind::Int,
            FieldValue::U64(v) if i64::try_from(*v).is_ok() => Kind::Int,
            FieldValue::U64(_) => Kind::Uint,
            FieldValue::I128(_) | FieldValue::U128(_) => Kind::Bigint,
            FieldValue::F64(_) => Kind::Float,
            FieldValue::Str(_) => Kind::String,
            FieldValue::Bytes(_) | FieldValue::Seq(_) => Kind::List,
            FieldValue::Map(_) => Kind::Object,
        }
    }

    fn is_scalar(self) -> bool {
        !matches!(self, Kind::List | Kind::Object)
    }
}

impl Kind {
    /// The kind of a captured value, as the reader will read it back from JSON lines, CSV
    /// or text (characters, IP addresses and non-finite floats are strings; the binary
    /// format keeps a non-finite float a float).
    #[inline]
    pub fn of_captured(value: crate::ValueRef<'_>) -> Kind {
        use crate::ValueRef as V;
        match value {
            V::Null | V::Invalid => Kind::Null,
            V::Bool(_) => Kind::Bool,
            V::I64(_) => Kind::Int,
            V::U64(v) if i64::try_from(v).is_ok() => Kind::Int,
            V::U64(_) => Kind::Uint,
            V::I128(v) if i64::try_from(v).is_ok() => Kind::Int,
            V::I128(v) if u64::try_from(v).is_ok() => Kind::Uint,
            V::U128(v) if i64::try_from(v).is_ok() => Kind::Int,
            V::U128(v) if u64::try_from(v).is_ok() => Kind::Uint,
            V::I128(_) | V::U128(_) => Kind::Bigint,
            // Non-finite floats are written as strings ("NaN"), and read back as such.
            V::F32(f) if !f.is_finite() => Kind::String,
            V::F64(f) if !f.is_finite() => Kind::String,
            V::F32(_) | V::F64(_) => Kind::Float,
            V::Char(_) | V::Str(_) | V::Ip(_) => Kind::String,
            V::Bytes(_) | V::Seq(_) => Kind::List,
            V::Map(_) => Kind::Object,
        }
    }
}

/// Keeps the summary of the segment being written, on the writer thread.
///
/// A call site's field names are fixed and its value kinds rarely change, so the kinds of
/// each call site's last record are cached, packed four bits to a value in one word: a
/// record whose kinds its call site already added to this segment costs a walk over its
/// values' tags and one comparison.
#[cfg(feature = "writer")]
pub(crate) struct Collector {
    enabled: bool,
    secrets: std::sync::Arc<[String]>,
    /// Whether the segments are binary, whose readers give a non-finite float back as a
    /// float; the other formats write it as a string.
    binary: bool,
    /// Direct-mapped by call site (its metadata's address): the site, the segment its
    /// kinds were added to, and the kinds (see [`Collector::packed_kinds`]). Two sites
    /// that share a slot take turns, at worst adding their kinds again.
    cache: Box<[(usize, u64, u64)]>,
}

/// Slots in [`Collector::cache`], one per value of a hash's top byte: more than the call
/// sites of most programs.
#[cfg(feature = "writer")]
const CACHE_SLOTS: usize = 256;

/// The most fields a call site's kinds are packed for; records of a call site with more
/// are noted through their decoded values.
#[cfg(feature = "writer")]
const PACKED_FIELDS: usize = 15;

#[cfg(feature = "writer")]
impl Collector {
    /// A collector that sees values as files of `format` hold them, with `secrets`
    /// redacted.
    pub(crate) fn new(
        enabled: bool,
        secrets: std::sync::Arc<[String]>,
        format: crate::Format,
    ) -> Collector {
        Collector {
            enabled,
            secrets,
            binary: format == crate::Format::Binary,
            cache: vec![(0, 0, 0); if enabled { CACHE_SLOTS } else { 0 }].into_boxed_slice(),
        }
    }

    /// Notes `record`, written to the segment numbered `segment`, into `summary`. `told`
    /// is what the encoder told of the kinds of the record's actor and values on its
    /// way through them, packed as here, if it did.
    #[inline]
    pub(crate) fn note(
        &mut self,
        record: &crate::Record,
        segment: u64,
        told: Option<u64>,
        summary: &mut SegmentSchema,
    ) {
        if !self.enabled {
            return;
        }
        let fields = record.metadata().fields().len();
        let told = told.filter(|_| {
            // What the encoder saw is what the summary notes only without redaction and
            // scope fields, and for the call's fields alone (message arguments follow).
            self.secrets.is_empty() && !record.has_scoped_fields() && fields <= PACKED_FIELDS
        });
        let Some(kinds) = told
            .map(|kinds| kinds & (u64::MAX >> (60 - 4 * fields)))
            .or_else(|| self.packed_kinds(record))
        else {
            self.note_decoded(record, summary);
            return;
        };
        let site = std::ptr::from_ref(record.metadata()) as usize;
        // The multiply spreads addresses a few bytes apart over the slots: its top bits.
        let slot = ((site as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
        let cached = &mut self.cache[slot];
        if *cached == (site, segment, kinds) {
            return;
        }
        *cached = (site, segment, kinds);
        if let Some(actor) = Kind::unpack(kinds) {
            summary.actor.insert(actor);
        }
        for (i, name) in record.metadata().fields().iter().enumerate() {
            if let Some(kind) = Kind::unpack(kinds >> (4 * (i + 1))) {
                summary.add_field_kind(name, kind);
            }
        }
    }

    /// The kinds of the actor and of the call site's fields, four bits each (the actor's
    /// lowest, 0 for none), read from the values' tags: nothing is decoded beyond a
    /// value's kind. `None` for a record whose scopes added fields, whose call site has
    /// more than [`PACKED_FIELDS`] fields, or whose bytes do not read back; those are
    /// noted through [`note_decoded`](Collector::note_decoded).
    #[inline]
    fn packed_kinds(&self, record: &crate::Record) -> Option<u64> {
        let names = record.metadata().fields();
        // The walk tells kinds as the text formats hold them; the binary encoder tells
        // its own (see `note`).
        if names.len() > PACKED_FIELDS || self.binary {
            return None;
        }
        let mut values = record.own_values()?;
        let mut packed = 0;
        if record.has_actor() {
            packed = values.next_kind()?.packed();
        }
        for i in 0..names.len() {
            packed |= values.next_kind()?.packed() << (4 * (i + 1));
        }
        // A redacted value is written as a string.
        if !self.secrets.is_empty() {
            let secret = |name: &str| self.secrets.iter().any(|s| s == name);
            let string = Kind::String.packed();
            if record.has_actor() && secret("actor") {
                packed = (packed & !0xf) | string;
            }
            for (i, name) in names.iter().enumerate() {
                if secret(name) {
                    let shift = 4 * (i + 1);
                    packed = (packed & !(0xf << shift)) | (string << shift);
                }
            }
        }
        Some(packed)
    }

    /// Notes a record through its decoded values: the fields its scopes added included.
    #[cold]
    fn note_decoded(&mut self, record: &crate::Record, summary: &mut SegmentSchema) {
        let mut values = record.decode();
        values.redact(&self.secrets);
        let kind = |value: crate::ValueRef<'_>| match value {
            crate::ValueRef::F32(_) | crate::ValueRef::F64(_) if self.binary => Kind::Float,
            _ => Kind::of_captured(value),
        };
        if let Some(actor) = values.actor() {
            summary.actor.insert(kind(actor));
        }
        for (name, value) in values.fields() {
            summary.add_field_kind(name, kind(value));
        }
    }
}

#[cfg(feature = "writer")]
impl Kind {
    /// Every kind, in the order of their packed codes (1 and up; 0 is no value).
    const ALL: [Kind; 9] = [
        Kind::Null,
        Kind::Bool,
        Kind::Int,
        Kind::Uint,
        Kind::Bigint,
        Kind::Float,
        Kind::String,
        Kind::List,
        Kind::Object,
    ];

    /// The kind's four-bit code in [`Collector`]'s packed kinds.
    #[inline]
    pub(crate) fn packed(self) -> u64 {
        self as u64 + 1
    }

    /// The kind whose code is the low four bits of `packed`; `None` for 0.
    fn unpack(packed: u64) -> Option<Kind> {
        let code = (packed & 0xf) as usize;
        code.checked_sub(1).and_then(|i| Kind::ALL.get(i).copied())
    }
}

/// The kinds seen in one segment: the actor's and each field key's. This is what the
/// manifest keeps per sealed segment, under `schema`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSchema {
    /// The actor's kinds (empty when no record named one).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub actor: BTreeSet<Kind>,
    /// Each field key's kinds.
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeSet<Kind>>,
}

impl SegmentSchema {
    /// Notes the actor's value.
    pub fn add_actor(&mut self, value: &FieldValue) {
        self.actor.insert(Kind::of(value));
    }

    /// Notes a field's value.
    pub fn add_field(&mut self, key: &str, value: &FieldValue) {
        self.add_field_kind(key, Kind::of(value));
    }

    /// Notes a field's kind.
    pub fn add_field_kind(&mut self, key: &str, kind: Kind) {
        match self.fields.get_mut(key) {
            Some(kinds) => {
                kinds.insert(kind);
            }
            None => {
                self.fields.insert(key.to_owned(), BTreeSet::from([kind]));
            }
        }
    }

    /// Notes a record's actor and fields.
    pub fn add_record(&mut self, record: &crate::read::LogRecord) {
        if let Some(actor) = &record.actor {
            self.add_actor(actor);
        }
        for (key, value) in &record.fields {
            self.add_field(key, value);
        }
    }

    /// Adds everything `other` saw.
    pub fn absorb(&mut self, other: &SegmentSchema) {
        self.actor.extend(other.actor.iter().copied());
        for (key, kinds) in &other.fields {
            self.fields
                .entry(key.clone())
                .or_default()
                .extend(kinds.iter().copied());
        }
    }
}

/// One column of a stream: each kind seen, with the segments it was seen in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Kind -> the segment files that hold a value of that kind.
    pub kinds: BTreeMap<Kind, BTreeSet<String>>,
}

/// The declared type of a column, the same for every engine (see the `*_type` methods
/// for their names).
///
/// The rule for a column with several kinds, chosen so that no value is lost or becomes
/// NULL: `null` is ignored (every column is nullable); integers of both signs beyond
/// `i64` widen to `Decimal20`; integers with floats widen to `Float64`; anything else
/// that mixes kinds, and integers beyond 64 bits, become `Text`, a string column that
/// holds strings as they are and every other value as its JSON text. Lists, maps and bytes
/// alone are `Json`: JSON text, typed as JSON where the engine has such a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Booleans.
    Bool,
    /// Signed 64-bit integers.
    Int64,
    /// Unsigned 64-bit integers (every value above `i64::MAX`).
    UInt64,
    /// Integers from `i64::MIN` to `u64::MAX`: a decimal with 20 digits and no scale.
    Decimal20,
    /// 64-bit floats.
    Float64,
    /// Strings; of mixed kinds, the JSON text of each value that is not a string.
    Text,
    /// Nested values (lists, maps, bytes), as JSON text.
    Json,
}

impl ColumnType {
    /// The DuckDB type name.
    pub fn duckdb(self) -> &'static str {
        match self {
            ColumnType::Bool => "BOOLEAN",
            ColumnType::Int64 => "BIGINT",
            ColumnType::UInt64 => "UBIGINT",
            ColumnType::Decimal20 => "HUGEINT",
            ColumnType::Float64 => "DOUBLE",
            ColumnType::Text => "VARCHAR",
            ColumnType::Json => "JSON",
        }
    }

    /// The Spark SQL type name.
    pub fn spark(self) -> &'static str {
        match self {
            ColumnType::Bool => "BOOLEAN",
            ColumnType::Int64 => "BIGINT",
            ColumnType::UInt64 | ColumnType::Decimal20 => "DECIMAL(20,0)",
            ColumnType::Float64 => "DOUBLE",
            ColumnType::Text | ColumnType::Json => "STRING",
        }
    }

    /// The polars data type, as Python code.
    pub fn polars(self) -> &'static str {
        match self {
            ColumnType::Bool => "pl.Boolean",
            ColumnType::Int64 => "pl.Int64",
            ColumnType::UInt64 => "pl.UInt64",
            ColumnType::Decimal20 => "pl.Decimal(20, 0)",
            ColumnType::Float64 => "pl.Float64",
            ColumnType::Text | ColumnType::Json => "pl.String",
        }
    }
}

impl Column {
    /// Whether more than one kind (other than `null`) was seen.
    pub fn is_conflict(&self) -> bool {
        self.kinds.keys().filter(|k| **k != Kind::Null).count() > 1
    }

    /// The column's declared type, by the rule of [`ColumnType`].
    pub fn resolve(&self) -> ColumnType {
        resolve(self.kinds.keys().copied())
    }
}

/// The declared type for a set of kinds.
pub fn resolve(kinds: impl IntoIterator<Item = Kind>) -> ColumnType {
    let kinds: BTreeSet<Kind> = kinds.into_iter().filter(|k| *k != Kind::Null).collect();
    let only = |allowed: &[Kind]| kinds.iter().all(|k| allowed.contains(k));
    if kinds.is_empty() {
        ColumnType::Text
    } else if only(&[Kind::Bool]) {
        ColumnType::Bool
    } else if only(&[Kind::Int]) {
        ColumnType::Int64
    } else if only(&[Kind::Uint]) {
        ColumnType::UInt64
    } else if only(&[Kind::Int, Kind::Uint]) {
        ColumnType::Decimal20
    } else if only(&[Kind::Int, Kind::Uint, Kind::Float]) {
        ColumnType::Float64
    } else if kinds.iter().all(|k| !k.is_scalar()) {
        ColumnType::Json
    } else {
        ColumnType::Text
    }
}

/// A whole stream's schema: the actor's column and one column per field key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSchema {
    /// The actor.
    pub actor: Column,
    /// The fields, by key.
    pub fields: BTreeMap<String, Column>,
}

impl StreamSchema {
    /// Adds what segment `file` saw.
    pub fn merge(&mut self, file: &str, segment: &SegmentSchema) {
        for kind in &segment.actor {
            note(&mut self.actor, *kind, file);
        }
        for (key, kinds) in &segment.fields {
            let column = self.fields.entry(key.clone()).or_default();
            for kind in kinds {
                note(column, *kind, file);
            }
        }
    }

    /// The columns with more than one kind, by name (`actor` or `fields.KEY`).
    pub fn conflicts(&self) -> Vec<(String, &Column)> {
        let actor = std::iter::once(("actor".to_owned(), &self.actor));
        let fields = self.fields.iter().map(|(k, c)| (format!("fields.{k}"), c));
        actor
            .chain(fields)
            .filter(|(_, c)| c.is_conflict())
            .collect()
    }

    /// A DuckDB `read_json` call for JSON lines segments that declares every column.
    /// `files` is the path or glob to read.
    pub fn duckdb_json(&self, files: &str) -> String {
        let fields = self.struct_of(|t| t.duckdb(), " ", '"');
        format!(
            "SELECT * FROM read_json({}, format = 'newline_delimited', \
             timestampformat = '%Y-%m-%dT%H:%M:%S.%nZ', columns = {{'ts': 'TIMESTAMP_NS', \
             'level': 'VARCHAR', 'seq': 'UBIGINT', 'actor': '{}', 'target': 'VARCHAR', \
             'msg': 'VARCHAR', 'fields': 'STRUCT({})', 'file': 'VARCHAR', 'line': 'UINTEGER', \
             'thread': 'VARCHAR', 'span': 'VARCHAR', 'span_id': 'VARCHAR', 'parent_id': \
             'VARCHAR', 'trace_id': 'VARCHAR'}})",
            sql_string(files),
            self.actor.resolve().duckdb(),
            fields.replace('\'', "''"),
        )
    }

    /// A DuckDB `read_csv` call for CSV segments that declares every column. The CSV
    /// `actor` and `fields` cells hold JSON; they are read as JSON and cast to the declared
    /// types.
    pub fn duckdb_csv(&self, files: &str) -> String {
        // `from_json` gives NULL for a key a record lacks, where a cast would fail.
        let structure: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(k, c)| (k.clone(), c.resolve().duckdb().into()))
            .collect();
        let structure = serde_json::Value::Object(structure).to_string();
        let actor = match self.actor.resolve() {
            // A string cell holds a JSON string: its text without the quotes.
            ColumnType::Text => "json_extract_string(actor, '$')".to_owned(),
            ColumnType::Json => "actor".to_owned(),
            other => format!("CAST(actor AS {})", other.duckdb()),
        };
        format!(
            "SELECT * REPLACE ({actor} AS actor, from_json(fields, {}) AS fields) \
             FROM read_csv({}, header = true, timestampformat = '%Y-%m-%dT%H:%M:%S.%nZ', \
             types = {{'ts': 'TIMESTAMP_NS', 'level': 'VARCHAR', 'seq': 'UBIGINT', 'actor': \
             'JSON', 'target': 'VARCHAR', 'msg': 'VARCHAR', 'fields': 'JSON', 'file': \
             'VARCHAR', 'line': 'UINTEGER', 'thread': 'VARCHAR'}})",
            sql_string(&structure),
            sql_string(files),
        )
    }

    /// A Spark DDL schema string for JSON lines segments.
    pub fn spark_ddl(&self) -> String {
        format!(
            "ts STRING, level STRING, seq DECIMAL(20,0), actor {}, target STRING, msg STRING, \
             fields STRUCT<{}>, file STRING, line INT, thread STRING, span STRING, \
             span_id STRING, parent_id STRING, trace_id STRING",
            self.actor.resolve().spark(),
            self.struct_of(|t| t.spark(), ": ", '`'),
        )
    }

    /// A polars schema (Python code) for `pl.read_ndjson(path, schema=...)`.
    pub fn polars_schema(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(k, c)| format!("pl.Field({}, {})", py_string(k), c.resolve().polars()))
            .collect();
        format!(
            "{{\"ts\": pl.String, \"level\": pl.String, \"seq\": pl.UInt64, \"actor\": {}, \
             \"target\": pl.String, \"msg\": pl.String, \"fields\": pl.Struct([{}]), \
             \"file\": pl.String, \"line\": pl.UInt32, \"thread\": pl.String, \
             \"span\": pl.String, \"span_id\": pl.String, \"parent_id\": pl.String, \
             \"trace_id\": pl.String}}",
            self.actor.resolve().polars(),
            fields.join(", ")
        )
    }

    fn struct_of(
        &self,
        name: impl Fn(ColumnType) -> &'static str,
        sep: &str,
        quote: char,
    ) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(k, c)| format!("{}{sep}{}", quote_ident(k, quote), name(c.resolve())))
            .collect();
        parts.join(", ")
    }
}

/// Where each segment's kinds come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// Segments whose summary the manifest holds.
    pub from_manifest: Vec<String>,
    /// Segments whose records were read (no summary in the manifest).
    pub from_records: Vec<String>,
}

/// The schema of a stream directory or of one segment file: the manifest's summary of
/// each segment that has one, and the records of every other segment. A record that
/// cannot be read is handed to `on_error`, and the scan goes on.
pub fn scan(
    path: &Path,
    mut on_error: impl FnMut(ReadError),
) -> Result<(StreamSchema, Sources), ReadError> {
    let reader = crate::read::open(path)?;
    let segments: Vec<PathBuf> = reader.files().map(Path::to_owned).collect();
    drop(reader);
    let summaries = if path.is_dir() {
        manifest_summaries(path, &segments)
    } else {
        BTreeMap::new()
    };
    let mut schema = StreamSchema::default();
    let mut sources = Sources::default();
    for segment in &segments {
        let name = segment
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = name.strip_suffix(".gz").unwrap_or(&name).to_owned();
        if let Some(summary) = summaries.get(&base) {
            schema.merge(&base, summary);
            sources.from_manifest.push(base);
            continue;
        }
        let mut summary = SegmentSchema::default();
        for record in crate::read::open(segment)? {
            match record {
                Ok(r) => summary.add_record(&r),
                Err(e) => on_error(e),
            }
        }
        schema.merge(&base, &summary);
        sources.from_records.push(base);
    }
    Ok((schema, sources))
}

/// The per-segment summaries the stream's manifest holds, by segment name without `.gz`.
/// A manifest that is missing or unreadable gives none: the records are read instead.
fn manifest_summaries(dir: &Path, segments: &[PathBuf]) -> BTreeMap<String, SegmentSchema> {
    let Some(stream) = segments
        .first()
        .and_then(|s| s.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('.'))
        .map(|(stream, _)| stream.to_owned())
    else {
        return BTreeMap::new();
    };
    let Ok(Some(manifest)) = crate::read::read_manifest(dir, &stream) else {
        return BTreeMap::new();
    };
    manifest
        .segments
        .into_iter()
        .filter_map(|e| {
            let base = e.base().to_owned();
            e.schema.map(|s| (base, s))
        })
        .collect()
}

fn note(column: &mut Column, kind: Kind, file: &str) {
    let files = column.kinds.entry(kind).or_default();
    if !files.contains(file) {
        files.insert(file.to_owned());
    }
}

/// A field name as a quoted identifier (double quotes in DuckDB, backquotes in Spark), so
/// that any key is a valid column name.
fn quote_ident(key: &str, quote: char) -> String {
    let doubled = format!("{quote}{quote}");
    format!("{quote}{}{quote}", key.replace(quote, &doubled))
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn py_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A value as JSON text (non-finite floats as strings, as the writer puts them): what a
/// [`ColumnType::Text`] or [`ColumnType::Json`] column holds for a value that is not a
/// string.
pub fn json_text(value: &FieldValue) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &FieldValue, out: &mut String) {
    use std::fmt::Write;
    match value {
        FieldValue::Null => out.push_str("null"),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::I64(n) => {
            let _ = write!(out, "{n}");
        }
        FieldValue::U64(n) => {
            let _ = write!(out, "{n}");
        }
        FieldValue::I128(n) => {
            let _ = write!(out, "{n}");
        }
        FieldValue::U128(n) => {
            let _ = write!(out, "{n}");
        }
        FieldValue::F64(f) if f.is_finite() => out.push_str(ryu::Buffer::new().format_finite(*f)),
        FieldValue::F64(f) if f.is_nan() => out.push_str("\"NaN\""),
        FieldValue::F64(f) if *f < 0.0 => out.push_str("\"-Infinity\""),
        FieldValue::F64(_) => out.push_str("\"Infinity\""),
        FieldValue::Str(s) => out.push_str(&py_string(s)),
        FieldValue::Bytes(b) => out.push_str(&format!("{b:?}").replace(' ', "")),
        FieldValue::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        FieldValue::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&py_string(k));
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(list: &[Kind]) -> ColumnType {
        resolve(list.iter().copied())
    }

    #[test]
    fn conflicts_resolve_to_a_type_that_holds_every_value() {
        assert_eq!(kinds(&[Kind::Int, Kind::Null]), ColumnType::Int64);
        assert_eq!(kinds(&[Kind::Int, Kind::Uint]), ColumnType::Decimal20);
        assert_eq!(kinds(&[Kind::Int, Kind::Float]), ColumnType::Float64);
        assert_eq!(kinds(&[Kind::Int, Kind::String]), ColumnType::Text);
        assert_eq!(kinds(&[Kind::Bigint]), ColumnType::Text);
        assert_eq!(kinds(&[Kind::List, Kind::Object]), ColumnType::Json);
        assert_eq!(kinds(&[Kind::List, Kind::Bool]), ColumnType::Text);
        assert_eq!(kinds(&[Kind::Null]), ColumnType::Text);
    }

    #[test]
    fn json_text_is_the_value_as_the_writer_puts_it() {
        let v = FieldValue::Map(vec![
            (
                "a".into(),
                FieldValue::Seq(vec![FieldValue::U64(1), FieldValue::F64(0.5)]),
            ),
            ("b\"".into(), FieldValue::Str("x\ny".into())),
            ("c".into(), FieldValue::Bytes(vec![1, 255])),
        ]);
        assert_eq!(json_text(&v), r#"{"a":[1,0.5],"b\"":"x\ny","c":[1,255]}"#);
    }

    #[test]
    fn a_key_keeps_the_segments_of_each_kind() {
        let mut a = SegmentSchema::default();
        a.add_field("n", &FieldValue::U64(1));
        a.add_actor(&FieldValue::U64(1));
        let mut b = SegmentSchema::default();
        b.add_field("n", &FieldValue::Str("x".into()));
        b.add_actor(&FieldValue::U64(2));
        let mut s = StreamSchema::default();
        s.merge("s.1.jsonl", &a);
        s.merge("s.2.jsonl", &b);
        let conflicts = s.conflicts();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].0, "fields.n");
        assert_eq!(
            conflicts[0].1.kinds[&Kind::String],
            BTreeSet::from(["s.2.jsonl".to_owned()])
        );
        assert!(!s.actor.is_conflict());
    }
}
