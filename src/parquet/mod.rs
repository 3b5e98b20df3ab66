//! Parquet: trail records as a Parquet file with typed columns (feature `parquet`).
//!
//! One encoder, [`ParquetWriter`], serves both `trail convert --to parquet` and the
//! writer's Parquet copy of each sealed segment ([`Builder::parquet`]). The columns are
//! typed by a [`StreamSchema`] given before the first row, so nothing is inferred by
//! whoever reads the file: `ts` is a UTC timestamp in nanoseconds, `seq` an unsigned
//! 64-bit integer, the actor and each field key a column of the type
//! [`ColumnType`](crate::schema::ColumnType) names (the fields as one struct column).
//! Rows are buffered one row group ([`ROW_GROUP_ROWS`]) at a time, so memory does not
//! grow with the input; column statistics let engines skip by time and `seq`.
//!
//! ```
//! use trail::parquet::ParquetWriter;
//! use trail::read::{FieldValue, LogRecord};
//! use trail::schema::{SegmentSchema, StreamSchema};
//!
//! let record = LogRecord {
//!     ts: 1_795_471_572_123_456_789,
//!     level: trail::Level::Info,
//!     seq: 1,
//!     actor: Some(FieldValue::Str("alice".into())),
//!     target: "shop".into(),
//!     msg: "paid".into(),
//!     fields: vec![("items".into(), FieldValue::U64(3))],
//!     file: "src/main.rs".into(),
//!     line: 7,
//!     thread: "main".into(),
//!     span: None,
//! };
//! let mut kinds = SegmentSchema::default();
//! kinds.add_record(&record);
//! let mut schema = StreamSchema::default();
//! schema.merge("example", &kinds);
//!
//! let mut writer = ParquetWriter::new(Vec::new(), &schema)?;
//! writer.write(&record)?;
//! assert_eq!(writer.records(), 1);
//! let bytes = writer.finish()?;
//! assert_eq!(&bytes[..4], b"PAR1");
//! # Ok::<(), trail::parquet::ParquetError>(())
//! ```
//!
//! [`Builder::parquet`]: crate::Builder::parquet

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::read::{FieldValue, LogRecord};
use crate::schema::{json_text, ColumnType, StreamSchema};

pub(crate) mod compact;

/// Rows per row group: large enough for fast scans, small enough that statistics on `ts`
/// and `seq` let an engine skip most of a long stream, and the most rows held in memory.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Why a Parquet file could not be written: the encoder's or the output's error, or a
/// record that does not fit the declared columns.
#[derive(Debug)]
pub struct ParquetError(String);

impl fmt::Display for ParquetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParquetError {}

impl ParquetError {
    #[cold]
    fn new(e: impl fmt::Display) -> ParquetError {
        ParquetError(e.to_string())
    }
}

/// Writes records into a Parquet file whose columns the given schema declares.
///
/// Rows are kept until a row group is full, then encoded and written to `W`;
/// [`finish`](ParquetWriter::finish) writes the last row group and the footer.
pub struct ParquetWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    columns: Columns,
    schema: Arc<Schema>,
    batch: Batch,
    records: u64,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer of files with the columns `schema` declares: a record whose actor or field
    /// kind the schema has not seen is refused (see [`write`](ParquetWriter::write)).
    pub fn new(out: W, schema: &StreamSchema) -> Result<ParquetWriter<W>, ParquetError> {
        let columns = Columns::of(schema);
        let arrow_schema = Arc::new(columns.arrow_schema());
        let props = WriterProperties::builder()
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let writer = ArrowWriter::try_new(out, arrow_schema.clone(), Some(props))
            .map_err(ParquetError::new)?;
        Ok(ParquetWriter {
            writer,
            batch: Batch::new(&columns),
            columns,
            schema: arrow_schema,
            records: 0,
        })
    }

    /// Adds one record. A value the declared column cannot hold (the record was not among
    /// those the schema was made from) is an error naming the record's `seq`, and the
    /// record is not added.
    pub fn write(&mut self, record: &LogRecord) -> Result<(), ParquetError> {
        self.batch
            .push(record, &self.columns)
            .map_err(ParquetError)?;
        self.records += 1;
        if self.batch.rows == ROW_GROUP_ROWS {
            self.flush_rows()?;
        }
        Ok(())
    }

    /// Records added so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Writes the rows still held and the file's footer, and returns the output.
    pub fn finish(mut self) -> Result<W, ParquetError> {
        if self.batch.rows > 0 {
            self.flush_rows()?;
        }
        self.writer.into_inner().map_err(ParquetError::new)
    }

    fn flush_rows(&mut self) -> Result<(), ParquetError> {
        let full = std::mem::replace(&mut self.batch, Batch::new(&self.columns));
        let batch = full
            .finish(&self.columns, &self.schema)
            .map_err(ParquetError::new)?;
        self.writer.write(&batch).map_err(ParquetError::new)?;
        // The row group is complete: out of memory and into the output.
        self.writer.flush().map_err(ParquetError::new)
    }
}

/// The declared types: the actor's and each field key's, in column order.
struct Columns {
    actor: ColumnType,
    fields: Vec<(String, ColumnType)>,
    /// Field key -> its position in `fields`.
    index: HashMap<String, usize>,
}

impl Columns {
    fn of(schema: &StreamSchema) -> Columns {
        let fields: Vec<(String, ColumnType)> = schema
            .fields
            .iter()
            .map(|(k, c)| (k.clone(), c.resolve()))
            .collect();
        let index = fields
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        Columns {
            actor: schema.actor.resolve(),
            fields,
            index,
        }
    }

    fn field_struct(&self) -> Fields {
        self.fields
            .iter()
            .map(|(k, t)| Field::new(k, arrow_type(*t), true))
            .collect()
    }

    fn arrow_schema(&self) -> Schema {
        let text = |name: &str| Field::new(name, DataType::Utf8, false);
        let mut fields = vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                false,
            ),
            text("level"),
            Field::new("seq", DataType::UInt64, false),
            Field::new("actor", arrow_type(self.actor), true),
            text("target"),
            text("msg"),
        ];
        // Parquet has no empty group: a stream without fields has no `fields` column.
        if !self.fields.is_empty() {
            fields.push(Field::new(
                "fields",
                DataType::Struct(self.field_struct()),
                false,
            ));
        }
        fields.extend([
            text("file"),
            Field::new("line", DataType::UInt32, false),
            text("thread"),
        ]);
        // The span context, NULL outside spans (docs/FORMAT.md, "Spans").
        fields.extend(SPAN_COLUMNS.map(|name| Field::new(name, DataType::Utf8, true)));
        Schema::new(fields)
    }
}

fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::UInt64 => DataType::UInt64,
        ColumnType::Decimal20 => DataType::Decimal128(20, 0),
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Text | ColumnType::Json => DataType::Utf8,
    }
}

/// One column of values being built, in its declared type.
enum ValueColumn {
    Bool(BooleanBuilder),
    Int64(Int64Builder),
    UInt64(UInt64Builder),
    Decimal(Decimal128Builder),
    Float64(Float64Builder),
    Text(StringBuilder),
}

impl ValueColumn {
    fn new(t: ColumnType) -> ValueColumn {
        match t {
            ColumnType::Bool => ValueColumn::Bool(BooleanBuilder::new()),
            ColumnType::Int64 => ValueColumn::Int64(Int64Builder::new()),
            ColumnType::UInt64 => ValueColumn::UInt64(UInt64Builder::new()),
            ColumnType::Decimal20 => ValueColumn::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(20, 0)
                    .unwrap_or_default(),
            ),
            ColumnType::Float64 => ValueColumn::Float64(Float64Builder::new()),
            ColumnType::Text | ColumnType::Json => ValueColumn::Text(StringBuilder::new()),
        }
    }

    /// Appends a value; one that the declared type cannot hold (which the schema scan
    /// rules out, unless a file changed between the two passes) is an error.
    fn push(&mut self, value: Option<&FieldValue>) -> Result<(), ()> {
        let value = match value {
            None | Some(FieldValue::Null) => {
                self.push_null();
                return Ok(());
            }
            Some(v) => v,
        };
        match (self, value) {
            (ValueColumn::Bool(b), FieldValue::Bool(v)) => b.append_value(*v),
            (ValueColumn::Int64(b), v) => {
                b.append_value(int(v).and_then(|i| i64::try_from(i).ok()).ok_or(())?)
            }
            (ValueColumn::UInt64(b), v) => {
                b.append_value(int(v).and_then(|i| u64::try_from(i).ok()).ok_or(())?)
            }
            (ValueColumn::Decimal(b), v) => b.append_value(int(v).ok_or(())?),
            (ValueColumn::Float64(b), FieldValue::F64(f)) => b.append_value(*f),
            (ValueColumn::Float64(b), v) => b.append_value(int(v).ok_or(())? as f64),
            (ValueColumn::Text(b), FieldValue::Str(s)) => b.append_value(s),
            (ValueColumn::Text(b), v) => b.append_value(json_text(v)),
            (ValueColumn::Bool(_), _) => return Err(()),
        }
        Ok(())
    }

    fn push_null(&mut self) {
        match self {
            ValueColumn::Bool(b) => b.append_null(),
            ValueColumn::Int64(b) => b.append_null(),
            ValueColumn::UInt64(b) => b.append_null(),
            ValueColumn::Decimal(b) => b.append_null(),
            ValueColumn::Float64(b) => b.append_null(),
            ValueColumn::Text(b) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            ValueColumn::Bool(mut b) => Arc::new(b.finish()),
            ValueColumn::Int64(mut b) => Arc::new(b.finish()),
            ValueColumn::UInt64(mut b) => Arc::new(b.finish()),
            ValueColumn::Decimal(mut b) => Arc::new(b.finish()),
            ValueColumn::Float64(mut b) => Arc::new(b.finish()),
            ValueColumn::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

/// An integer value as `i128`; anything else is `None`.
fn int(v: &FieldValue) -> Option<i128> {
    match v {
        FieldValue::I64(i) => Some((*i).into()),
        FieldValue::U64(u) => Some((*u).into()),
        FieldValue::I128(i) => Some(*i),
        FieldValue::U128(u) => i128::try_from(*u).ok(),
        _ => None,
    }
}

/// The span context's columns, after `thread`.
const SPAN_COLUMNS: [&str; 4] = ["span", "span_id", "parent_id", "trace_id"];

/// The rows of one row group, column by column.
struct Batch {
    rows: usize,
    ts: TimestampNanosecondBuilder,
    level: StringBuilder,
    seq: UInt64Builder,
    actor: ValueColumn,
    target: StringBuilder,
    msg: StringBuilder,
    fields: Vec<ValueColumn>,
    /// Which field columns the current record has filled (a reused scratch).
    filled: Vec<bool>,
    file: StringBuilder,
    line: UInt32Builder,
    thread: StringBuilder,
    /// `SPAN_COLUMNS`, in order.
    span: [StringBuilder; 4],
}

impl Batch {
    fn new(columns: &Columns) -> Batch {
        Batch {
            rows: 0,
            ts: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            level: StringBuilder::new(),
            seq: UInt64Builder::new(),
            actor: ValueColumn::new(columns.actor),
            target: StringBuilder::new(),
            msg: StringBuilder::new(),
            fields: columns
                .fields
                .iter()
                .map(|(_, t)| ValueColumn::new(*t))
                .collect(),
            filled: vec![false; columns.fields.len()],
            file: StringBuilder::new(),
            line: UInt32Builder::new(),
            thread: StringBuilder::new(),
            span: std::array::from_fn(|_| StringBuilder::new()),
        }
    }

    fn push(&mut self, r: &LogRecord, columns: &Columns) -> Result<(), String> {
        let ts = i64::try_from(r.ts)
            .map_err(|_| format!("record seq {}: timestamp {} is past 2262", r.seq, r.ts))?;
        let mismatch = |name: &str| {
            format!(
                "record seq {}: the value of {name} does not fit the column type worked out \
                 for it; was the stream written to during the conversion?",
                r.seq
            )
        };
        self.actor
            .push(r.actor.as_ref())
            .map_err(|()| mismatch("the actor"))?;
        self.filled.fill(false);
        for (key, value) in &r.fields {
            // A key given twice in one call keeps its first value, as `LogRecord::field`.
            if let Some(&i) = columns.index.get(key)
                && !self.filled[i]
            {
                self.filled[i] = true;
                self.fields[i]
                    .push(Some(value))
                    .map_err(|()| mismatch(&format!("field {key}")))?;
            }
        }
        for (column, filled) in self.fields.iter_mut().zip(&self.filled) {
            if !filled {
                column.push_null();
            }
        }
        self.ts.append_value(ts);
        self.level.append_value(r.level.as_str());
        self.seq.append_value(r.seq);
        self.target.append_value(&r.target);
        self.msg.append_value(&r.msg);
        self.file.append_value(&r.file);
        self.line.append_value(r.line);
        self.thread.append_value(&r.thread);
        let [name, span_id, parent_id, trace_id] = &mut self.span;
        match &r.span {
            Some(span) => {
                name.append_value(&span.name);
                span_id.append_value(span.span_id_hex());
                parent_id.append_option(span.parent_id_hex());
                trace_id.append_value(span.trace_id_hex());
            }
            None => self.span.iter_mut().for_each(StringBuilder::append_null),
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(
        self,
        columns: &Columns,
        schema: &Arc<Schema>,
    ) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new({ self.ts }.finish()),
            Arc::new({ self.level }.finish()),
            Arc::new({ self.seq }.finish()),
            self.actor.finish(),
            Arc::new({ self.target }.finish()),
            Arc::new({ self.msg }.finish()),
        ];
        if !columns.fields.is_empty() {
            let children: Vec<ArrayRef> =
                self.fields.into_iter().map(ValueColumn::finish).collect();
            arrays.push(Arc::new(StructArray::try_new(
                columns.field_struct(),
                children,
                None,
            )?));
        }
        arrays.push(Arc::new({ self.file }.finish()));
        arrays.push(Arc::new({ self.line }.finish()));
        arrays.push(Arc::new({ self.thread }.finish()));
        for mut column in self.span {
            arrays.push(Arc::new(column.finish()));
        }
        RecordBatch::try_new(schema.clone(), arrays)
    }
}
