//! Decoding one CSV record (RFC 4180) into a [`LogRecord`].
//!
//! Columns: `ts,level,seq,actor,target,msg,fields,file,line,thread`. `actor` (empty when
//! the event has none) and `fields` hold JSON, so that values keep their types.

use super::record::{FieldValue, LogRecord};
use crate::Level;

/// The header row at the top of every CSV segment.
pub(crate) const HEADER: &str = "ts,level,seq,actor,target,msg,fields,file,line,thread";

/// Decodes one record (without its line break); `None` for the header row.
pub(crate) fn decode(record: &[u8]) -> Result<Option<LogRecord>, String> {
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if record == HEADER.as_bytes() {
        return Ok(None);
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(record);
    let mut cells = ::csv::StringRecord::new();
    match reader.read_record(&mut cells) {
        Ok(true) => {}
        Ok(false) => return Err("empty record".into()),
        Err(e) => return Err(format!("not valid CSV: {e}")),
    }
    if cells.len() != 10 {
        return Err(format!("expected 10 columns, found {}", cells.len()));
    }
    let cell = |i: usize| &cells[i];
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
    Ok(Some(LogRecord {
        ts: super::parse_ts(cell(0))?,
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
    }))
}
