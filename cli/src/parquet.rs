//! `trail convert --to parquet`: a segment or a whole stream as one Parquet file, through
//! the library's encoder ([`trail::parquet::ParquetWriter`]).
//!
//! The columns are typed by the stream's schema ([`trail::schema::scan`]), worked out
//! before the first row is written, so a key that changes type or appears late keeps every
//! value. The records are then read a second time and written one row group at a time:
//! memory stays bounded whatever the stream's length.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use trail::parquet::ParquetWriter;

use crate::{warn, Fatal};

pub fn convert(input: &Path, output: &Path) -> Result<u8, Fatal> {
    let mut damaged = 0u64;
    let (schema, _) = trail::schema::scan(input, |e| {
        damaged += 1;
        warn(e);
    })?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(output)
        .map_err(|e| Fatal(2, format!("cannot create {}: {e}", output.display())))?;
    let failed =
        |e: &dyn std::fmt::Display| Fatal(2, format!("cannot write {}: {e}", output.display()));
    let mut writer = ParquetWriter::new(BufWriter::new(file), &schema).map_err(|e| failed(&e))?;
    // A damaged record was reported by the schema scan already.
    for r in trail::read::open(input)?.flatten() {
        writer.write(&r).map_err(|e| Fatal(2, e.to_string()))?;
    }
    let records = writer.records();
    let file: File = writer
        .finish()
        .map_err(|e| failed(&e))?
        .into_inner()
        .map_err(|e| failed(&e.into_error()))?;
    file.sync_all().map_err(|e| failed(&e))?;
    warn(format!("wrote {records} records to {}", output.display()));
    Ok(u8::from(damaged > 0))
}
