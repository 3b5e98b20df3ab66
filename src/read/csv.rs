//! Decoding one CSV record (RFC 4180) into a [`LogRecord`].
//!
//! Columns: `ts,level,seq,actor,target,msg,fields,file,line,thread`. `actor` (empty when
//! the event has none) and `fields` hold JSON, so that values keep their types.

use smallvec::SmallVec;

use super::json;
use super::record::{FieldValue, LogRecord};
use super::timestamp::TimestampParser;
use crate::format::csv::{HEADER, HEADER_WITH_SPANS};
use crate::Level;

/// Decodes one record (without its line break) into `out`, reusing its buffers; `false`
/// for the header row.
pub(crate) fn decode(
    record: &[u8],
    out: &mut LogRecord,
    clock: &mut TimestampParser,
) -> Result<bool, String> {
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if record == HEADER.as_bytes() || record == HEADER_WITH_SPANS.as_bytes() {
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
    // Ten columns, or fourteen with the span context (a segment from before spans has
    // ten in every row).
    if cells.len() != 10 && cells.len() != 14 {
        return Err(format!("expected 10 or 14 columns, found {}", cells.len()));
    }
    out.span = super::span::from_cells(&cells[10..])?;
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
    fn split(&mut self, input: &[u8]) -> Result<(), String> {
        if self.split_plain(input) {
            return Ok(());
        }
        self.split_any(input)
    }

    /// Splits a record written as the writer writes one: each cell bare (without quotes,
    /// commas or line breaks) or quoted (its quotes doubled), and nothing else between
    /// cells. `false` for anything else, left to the full parser; for what it takes, the
    /// cells are the ones that parser makes.
    fn split_plain(&mut self, input: &[u8]) -> bool {
        if input.is_empty() {
            return false;
        }
        self.count = 0;
        let mut out = 0;
        let mut at = 0;
        loop {
            if input.get(at) == Some(&b'"') {
                at += 1;
                loop {
                    let Some(quote) = memchr::memchr(b'"', &input[at..]) else {
                        return false;
                    };
                    self.put(&mut out, &input[at..at + quote]);
                    at += quote + 1;
                    if input.get(at) != Some(&b'"') {
                        break;
                    }
                    self.put(&mut out, b"\"");
                    at += 1;
                }
            } else {
                let rest = &input[at..];
                let len = rest
                    .iter()
                    .position(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
                    .unwrap_or(rest.len());
                self.put(&mut out, &rest[..len]);
                at += len;
            }
            if self.count == self.ends.len() {
                self.ends.resize(self.ends.len() * 2, 0);
            }
            self.ends[self.count] = out;
            self.count += 1;
            match input.get(at) {
                None => return true,
                Some(b',') => at += 1,
                Some(_) => return false,
            }
        }
    }

    /// Appends `bytes` to the cells' text at `out`.
    fn put(&mut self, out: &mut usize, bytes: &[u8]) {
        let end = *out + bytes.len();
        if end > self.bytes.len() {
            self.bytes.resize(end.max(self.bytes.len() * 2), 0);
        }
        self.bytes[*out..end].copy_from_slice(bytes);
        *out = end;
    }

    /// Splits any record the way RFC 4180 readers do, however odd its quoting.
    fn split_any(&mut self, mut input: &[u8]) -> Result<(), String> {
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
    fn strings(&self) -> Result<SmallVec<[&str; 14]>, String> {
        let ends = &self.ends[..self.count];
        let all = &self.bytes[..ends.last().copied().unwrap_or(0)];
        // The text is checked once; each cell must then start and end on a character.
        let text = std::str::from_utf8(all).ok();
        let mut cells = SmallVec::new();
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let cell = match text.and_then(|text| text.get(start..end)) {
                Some(cell) => cell,
                None => std::str::from_utf8(&self.bytes[start..end]).map_err(|e| {
                    format!("not valid CSV: invalid UTF-8 in column {}: {e}", i + 1)
                })?,
            };
            cells.push(cell);
            start = end;
        }
        Ok(cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = Vec<Vec<u8>>;

    /// The cells of `record` by each splitter that takes it: (plain, full).
    fn both(record: &[u8]) -> (Option<Split>, Result<Split, String>) {
        let mut cells = Cells::new();
        let cut = |cells: &Cells| {
            let mut start = 0;
            cells.ends[..cells.count]
                .iter()
                .map(|&end| {
                    let cell = cells.bytes[start..end].to_vec();
                    start = end;
                    cell
                })
                .collect::<Vec<_>>()
        };
        let plain = cells.split_plain(record).then(|| cut(&cells));
        let full = cells.split_any(record).map(|()| cut(&cells));
        (plain, full)
    }

    /// Every record of a few characters that matter to CSV (quotes, commas, line breaks,
    /// text), up to six long, splits the same by the plain splitter, when it takes it, as
    /// by the full parser, and the plain splitter takes what the writer writes.
    #[test]
    fn the_plain_splitter_cuts_cells_as_the_full_parser_does() {
        let alphabet = [b'"', b',', b'\r', b'\n', b'a', 0xc3];
        let mut taken = 0;
        for len in 1..=6u32 {
            for mut code in 0..alphabet.len().pow(len) {
                let mut record = Vec::new();
                for _ in 0..len {
                    record.push(alphabet[code % alphabet.len()]);
                    code /= alphabet.len();
                }
                if let (Some(plain), full) = both(&record) {
                    taken += 1;
                    assert_eq!(Ok(plain), full, "{:?}", String::from_utf8_lossy(&record));
                }
            }
        }
        assert!(taken > 1000, "{taken}");
        let row = b"2026-11-28T06:21:56.580844754Z,error,1,1000,loadgen,\"a \"\"b\"\", c\",\"{\"\"k\"\":1}\",f.rs,231,main";
        let (plain, full) = both(row);
        assert_eq!(plain.as_ref().map(Vec::len), Some(10));
        assert_eq!(Ok(plain.unwrap()), full);
    }
}
