//! Decoding one CSV record (RFC 4180) into a [`LogRecord`].
//!
//! Columns: `ts,level,seq,actor,target,msg,fields,file,line,thread`. `actor` (empty when
//! the event has none) and `fields` hold JSON, so that values keep their types.

use smallvec::SmallVec;

use super::json;
use super::record::{FieldValue, LogRecord};
use super::timestamp::TimestampParser;
use crate::format::csv::HEADER;
use crate::Level;

/// Decodes one record (without its line break) into `out`, reusing its buffers; `false`
/// for the header row.
pub(crate) fn decode(
    record: &[u8],
    out: &mut LogRecord,
    clock: &mut TimestampParser,
) -> Result<bool, String> {
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if record == HEADER.as_bytes() {
        return Ok(false);
    }
    CELLS.with(|cells| {
        let mut cells = cells.borrow_mut();
        cells.split(record)?;
        let strings = cells.strings()?;
        from_cells(&strings, out, clock)?;
        Ok(true)
    })
}

/// A JSON cell into `slot`: directly when the cell is as the writer writes it, else with
/// serde_json, whose error names what is wrong.
fn json(name: &str, text: &str, slot: &mut FieldValue) -> Result<(), String> {
    if json::direct_value(text, slot).is_none() {
        *slot =
            serde_json::from_str(text).map_err(|e| format!("column {name} is not JSON: {e}"))?;
    }
    Ok(())
}

/// Fills the record from its ten cells.
fn from_cells(
    cells: &[&str],
    out: &mut LogRecord,
    clock: &mut TimestampParser,
) -> Result<(), String> {
    if cells.len() != 10 {
        return Err(format!("expected 10 columns, found {}", cells.len()));
    }
    let cell = |i: usize| cells[i];
    match (cell(3), &mut out.actor) {
        ("", actor) => *actor = None,
        (text, Some(slot)) => json("actor", text, slot)?,
        (text, actor) => {
            let mut value = FieldValue::Null;
            json("actor", text, &mut value)?;
            *actor = Some(value);
        }
    }
    if json::direct_entries(cell(6), &mut out.fields).is_none() {
        let mut value = FieldValue::Null;
        json("fields", cell(6), &mut value)?;
        out.fields = match value {
            FieldValue::Map(entries) => entries,
            other => return Err(format!("column fields is not a JSON object: {other}")),
        };
    }
    out.ts = clock.parse(cell(0))?;
    out.level = Level::from_name(cell(1)).ok_or_else(|| format!("unknown level {:?}", cell(1)))?;
    out.seq = cell(2)
        .parse()
        .map_err(|_| format!("bad seq {:?}", cell(2)))?;
    set(&mut out.target, cell(4));
    set(&mut out.msg, cell(5));
    set(&mut out.file, cell(7));
    out.line = cell(8)
        .parse()
        .map_err(|_| format!("bad line {:?}", cell(8)))?;
    set(&mut out.thread, cell(9));
    Ok(())
}

/// Replaces the text of `held`, keeping its buffer.
fn set(held: &mut String, text: &str) {
    held.clear();
    held.push_str(text);
}

thread_local! {
    /// The CSV parser and its buffers, built once per thread: building a parser is far
    /// dearer than parsing one record.
    static CELLS: std::cell::RefCell<Cells> = std::cell::RefCell::new(Cells::new());
}

/// One record's cells, split by the rules of RFC 4180 (quotes removed, `""` unescaped).
struct Cells {
    parser: csv_core::Reader,
    bytes: Vec<u8>,
    ends: Vec<usize>,
    count: usize,
}

impl Cells {
    fn new() -> Cells {
        Cells {
            parser: csv_core::Reader::new(),
            bytes: vec![0; 1024],
            ends: vec![0; 16],
            count: 0,
        }
    }

    /// Splits the first record of `input` into cells.
    fn split(&mut self, mut input: &[u8]) -> Result<(), String> {
        use csv_core::ReadRecordResult as R;
        self.parser.reset();
        let (mut out, mut ends) = (0, 0);
        loop {
            let (result, read, written, ended) =
                self.parser
                    .read_record(input, &mut self.bytes[out..], &mut self.ends[ends..]);
            input = &input[read..];
            out += written;
            ends += ended;
            match result {
                R::InputEmpty => {}
                // The buffers grow with the record, which the framing already bounds.
                R::OutputFull => self.bytes.resize(self.bytes.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => {
                    self.count = ends;
                    return Ok(());
                }
                R::End => return Err("empty record".into()),
            }
        }
    }

    /// The cells as text.
    fn strings(&self) -> Result<SmallVec<[&str; 10]>, String> {
        let mut start = 0;
        self.ends[..self.count]
            .iter()
            .enumerate()
            .map(|(i, &end)| {
                let cell = std::str::from_utf8(&self.bytes[start..end])
                    .map_err(|e| format!("not valid CSV: invalid UTF-8 in column {}: {e}", i + 1));
                start = end;
                cell
            })
            .collect()
    }
}
