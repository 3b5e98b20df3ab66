//! CSV (RFC 4180): a header row at the top of every segment, then one record per row.
//!
//! Columns `ts,level,seq,actor,target,msg,fields,file,line,thread`, rows ended by CRLF.
//! `actor` and `fields` hold JSON, so that values keep their types; `actor` is empty when
//! the event names none. A cell that holds a comma, a double quote or a line break is
//! quoted, with its quotes doubled.

use super::json::{write_str, write_value};
use super::{Encoder, Text};
use crate::Record;

pub(crate) struct CsvEncoder {
    text: Text,
    escape_formulas: bool,
    scratch: Vec<u8>,
}

impl CsvEncoder {
    pub(crate) fn new(escape_formulas: bool) -> Self {
        CsvEncoder {
            text: Text::default(),
            escape_formulas,
            scratch: Vec::with_capacity(256),
        }
    }
}

impl Encoder for CsvEncoder {
    fn set_secrets(&mut self, secrets: std::sync::Arc<[String]>) {
        self.text.secrets = secrets;
    }

    fn begin_segment(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(crate::read::CSV_HEADER.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    fn encode(&mut self, record: &Record, seq: u64, out: &mut Vec<u8>) {
        let meta = record.metadata();
        let values = self.text.decode(record);
        let formulas = self.escape_formulas;

        self.text.clock.write(record.timestamp_nanos(), out);
        out.push(b',');
        out.extend_from_slice(meta.level().as_str().as_bytes());
        out.push(b',');
        out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
        out.push(b',');
        if let Some(actor) = values.actor() {
            self.scratch.clear();
            write_value(actor, &mut self.scratch, 0);
            cell(&self.scratch, false, out);
        }
        out.push(b',');
        cell(meta.target().as_bytes(), formulas, out);
        out.push(b',');
        cell(self.text.message(&values).as_bytes(), formulas, out);
        out.push(b',');
        self.scratch.clear();
        self.scratch.push(b'{');
        for (i, (name, value)) in values.fields().enumerate() {
            if i > 0 {
                self.scratch.push(b',');
            }
            write_str(name, &mut self.scratch);
            self.scratch.push(b':');
            write_value(value, &mut self.scratch, 0);
        }
        self.scratch.push(b'}');
        cell(&self.scratch, false, out);
        out.push(b',');
        cell(meta.file().as_bytes(), formulas, out);
        out.push(b',');
        out.extend_from_slice(itoa::Buffer::new().format(meta.line()).as_bytes());
        out.push(b',');
        cell(
            self.text.thread(record.thread_id()).as_bytes(),
            formulas,
            out,
        );
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes one cell, quoted when it must be. With `escape_formulas`, a text cell that a
/// spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading `'`, which spreadsheets show as text.
pub(crate) fn cell(text: &[u8], escape_formulas: bool, out: &mut Vec<u8>) {
    let formula = escape_formulas
        && matches!(
            text.first(),
            Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
        );
    let quote = text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for &b in text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str, formulas: bool) -> String {
        let mut out = Vec::new();
        cell(text.as_bytes(), formulas, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_only_when_they_must_be() {
        assert_eq!(quoted("plain text", false), "plain text");
        assert_eq!(quoted("a,b", false), "\"a,b\"");
        assert_eq!(quoted("say \"hi\"", false), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\nlines", false), "\"two\nlines\"");
        assert_eq!(quoted("cr\r", false), "\"cr\r\"");
        assert_eq!(quoted("", false), "");
    }

    #[test]
    fn formulas_are_neutralised_only_when_asked() {
        assert_eq!(quoted("=1+1", false), "=1+1");
        for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"] {
            assert_eq!(quoted(text, true), format!("'{text}"));
        }
        assert_eq!(
            quoted("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(quoted("safe", true), "safe");
    }
}
