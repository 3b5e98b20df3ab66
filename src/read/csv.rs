//! Decoding one CSV record (RFC 4180) into a [`LogRecord`].
//!
//! Columns: `ts,level,seq,actor,target,msg,fields,file,line,thread`. `actor` (empty when
//! the event has none) and `fields` hold JSON, so that values keep their types.

use super::record::{FieldValue, LogRecord};
use crate::format::csv::HEADER;
use crate::format::time::parse_rfc3339;
use crate::Level;

/// Decodes one record (without its line break); `None` for the header row.
pub(crate) fn decode(record: &[u8]) -> Result<Option<LogRecord>, String> {
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if record == HEADER.as_bytes() {
        return Ok(None);
    }
    CELLS.with(|cells| {
        let mut cells = cells.borrow_mut();
        cells.split(record)?;
        from_cells(&cells.strings()?).map(Some)
    })
}

/// Builds the record from its ten cells.
fn from_cells(cells: &[&str]) -> Result<LogRecord, String> {
    if cells.len() != 10 {
        return Err(format!("expected 10 columns, found {}", cells.len()));
    }
    let cell = |i: usize| cells[i];
    let json = |name: &str, text: &str| -> Result<FieldValue, String> {
        serde_json::from_str(text).map_err(|e| format!("column {name} is not JSON: {e}"))
    };
    let actor = match cell(3) {
        "" => None,
        text => Some(json("actor", text)?),
    };
    let fields = match json("fields", cell(6))? {
        FieldValue::Map(entries) => entries,
        other => return Err(format!("column fields is not a JSON object: {other}")),
    };
    Ok(LogRecord {
        ts: parse_rfc3339(cell(0))?,
        level: Level::from_name(cell(1)).ok_or_else(|| format!("unknown level {:?}", cell(1)))?,
        seq: cell(2)
            .parse()
            .map_err(|_| format!("bad seq {:?}", cell(2)))?,
        actor,
        target: cell(4).to_owned(),
        msg: cell(5).to_owned(),
        fields,
        file: cell(7).to_owned(),
        line: cell(8)
            .parse()
            .map_err(|_| format!("bad line {:?}", cell(8)))?,
        thread: cell(9).to_owned(),
    })
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
    fn strings(&self) -> Result<Vec<&str>, String> {
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
