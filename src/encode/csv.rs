//! The CSV encoder: the header row at the top of every segment, then one row per record,
//! by the rules of [`crate::format::csv`].

use super::json::{write_any, write_fields};
use super::{EncodeContext, Encoder, RecordView};
use crate::capture::value_view::ValueView;
use crate::format::csv::{cell, HEADER_WITH_SPANS};
use crate::format::time::TimestampCache;
use crate::Record;

pub(crate) struct CsvEncoder {
    context: EncodeContext,
    escape_formulas: bool,
    scratch: Vec<u8>,
}

impl CsvEncoder {
    pub(crate) fn new(escape_formulas: bool) -> Self {
        CsvEncoder {
            context: EncodeContext::default(),
            escape_formulas,
            scratch: Vec::with_capacity(256),
        }
    }
}

impl Encoder for CsvEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.context.secrets = secrets;
    }

    fn begin_segment(&mut self, out: &mut Vec<u8>) {
        write_header(out);
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let values = self.context.decode(record);
        let (clock, view) = self.context.view(record, &values, seq);
        write_row(clock, view, self.escape_formulas, &mut self.scratch, out);
    }
}

/// Writes the header row that every segment starts with.
pub(crate) fn write_header(out: &mut Vec<u8>) {
    out.extend_from_slice(HEADER_WITH_SPANS.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes one record's row. `scratch` holds the JSON of a cell while it is quoted.
pub(crate) fn write_row<'a, V: ValueView<'a>>(
    clock: &mut TimestampCache,
    r: RecordView<'_, V, impl Iterator<Item = (&'a str, V)>>,
    formulas: bool,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    clock.write(r.ts, out);
    out.push(b',');
    out.extend_from_slice(r.level.as_str().as_bytes());
    out.push(b',');
    out.extend_from_slice(itoa::Buffer::new().format(r.seq).as_bytes());
    out.push(b',');
    if let Some(actor) = r.actor {
        scratch.clear();
        write_any(actor, scratch, 0);
        cell(scratch, false, out);
    }
    out.push(b',');
    cell(r.target.as_bytes(), formulas, out);
    out.push(b',');
    cell(r.msg.as_bytes(), formulas, out);
    out.push(b',');
    scratch.clear();
    write_fields(r.fields, scratch);
    cell(scratch, false, out);
    out.push(b',');
    cell(r.file.as_bytes(), formulas, out);
    out.push(b',');
    out.extend_from_slice(itoa::Buffer::new().format(r.line).as_bytes());
    out.push(b',');
    cell(r.thread.as_bytes(), formulas, out);
    match r.span {
        Some(span) => {
            out.push(b',');
            cell(span.name.as_bytes(), formulas, out);
            out.push(b',');
            crate::span::put_hex(&span.span_id, out);
            out.push(b',');
            if span.has_parent() {
                crate::span::put_hex(&span.parent_id, out);
            }
            out.push(b',');
            crate::span::put_hex(&span.trace_id, out);
        }
        None => out.extend_from_slice(b",,,,"),
    }
    out.extend_from_slice(b"\r\n");
}
