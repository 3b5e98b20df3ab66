//! `trail convert --to parquet`: a segment or a whole stream as one Parquet file.
//!
//! The columns are typed by the stream's schema ([`trail::schema::scan`]), worked out
//! before the first row is written, so a key that changes type or appears late keeps every
//! value: `ts` is a UTC timestamp in nanoseconds, `seq` an unsigned 64-bit integer, the
//! actor and each field key a column of the type [`trail::schema::ColumnType`] names
//! (the fields as one struct column). Row groups of 128 Ki rows with column statistics let
//! engines skip by time and `seq`.
//!
//! This lives in the tool, not in the library: an application that writes logs never needs
//! the Arrow crates, and the tool's feature `parquet` can be turned off to build without
//! them.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
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
use trail::read::{FieldValue, LogRecord};
use trail::schema::{json_text, ColumnType, StreamSchema};

use crate::{warn, Fatal};

/// Rows per row group: large enough for fast scans, small enough that statistics on `ts`
/// and `seq` let an engine skip most of a long stream.
const ROW_GROUP_ROWS: usize = 128 * 1024;

pub fn convert(input: &Path, output: &Path) -> Result<u8, Fatal> {
    let mut damaged = 0u64;
    let (schema, _) = trail::schema::scan(input, |e| {
        damaged += 1;
        warn(e);
    })?;
    let columns = Columns::of(&schema);
    let arrow_schema = Arc::new(columns.arrow_schema());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(output)
        .map_err(|e| Fatal(2, format!("cannot create {}: {e}", output.display())))?;
    let props = WriterProperties::builder()
        .set_max_row_group_size(ROW_GROUP_ROWS)
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .build();
    let failed =
        |e: &dyn std::fmt::Display| Fatal(2, format!("cannot write {}: {e}", output.display()));
    let mut writer: ArrowWriter<File> =
        ArrowWriter::try_new(file, arrow_schema.clone(), Some(props)).map_err(|e| failed(&e))?;
    let mut batch = Batch::new(&columns);
    let mut records = 0u64;
    // The records are read a second time, now with every column's type known.
    for record in trail::read::open(input)? {
        // A damaged record was reported by the schema scan already.
        if let Ok(r) = record {
            batch.push(&r, &columns).map_err(|e| Fatal(2, e))?;
            records += 1;
        }
        if batch.rows == ROW_GROUP_ROWS {
            let full = std::mem::replace(&mut batch, Batch::new(&columns));
            writer
                .write(
                    &full
                        .finish(&columns, &arrow_schema)
                        .map_err(|e| failed(&e))?,
                )
                .map_err(|e| failed(&e))?;
        }
    }
    if batch.rows > 0 {
        writer
            .write(
                &batch
                    .finish(&columns, &arrow_schema)
                    .map_err(|e| failed(&e))?,
            )
            .map_err(|e| failed(&e))?;
    }
    let file = writer.into_inner().map_err(|e| failed(&e))?;
    file.sync_all().map_err(|e| failed(&e))?;
    warn(format!("wrote {records} records to {}", output.display()));
    Ok(u8::from(damaged > 0))
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
            if let Some(&i) = columns.index.get(key) {
                if !self.filled[i] {
                    self.filled[i] = true;
                    self.fields[i]
                        .push(Some(value))
                        .map_err(|()| mismatch(&format!("field {key}")))?;
                }
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
        RecordBatch::try_new(schema.clone(), arrays)
    }
}
