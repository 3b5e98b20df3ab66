//! Writing records for people (text, coloured on a terminal) or for programs (JSON, CSV).

use anstyle::{AnsiColor, Style};
use trail::convert::RecordEncoder;
use trail::read::LogRecord;
use trail::{Format, Level};

/// How `cat` and `tail` print records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One readable line per record (the `.log` format), coloured on a terminal.
    Text,
    /// JSON lines with the canonical keys.
    Json,
    /// CSV with a header row.
    Csv,
}

pub struct Printer {
    output: Output,
    color: bool,
    /// Whether standard output is a terminal, where CSV cells get their line breaks and
    /// other controls escaped too (elsewhere CSV keeps them, quoted, as RFC 4180 does).
    terminal: bool,
    encoder: RecordEncoder,
    started: bool,
}

impl Printer {
    pub fn new(output: Output, color: bool, terminal: bool) -> Printer {
        let format = match output {
            Output::Text => Format::Text,
            Output::Json => Format::Json,
            Output::Csv => Format::Csv,
        };
        Printer {
            output,
            color,
            terminal,
            encoder: RecordEncoder::new(format),
            started: false,
        }
    }

    /// Appends one record to `out`. No value puts a control character on the terminal:
    /// text escapes them all, JSON escapes DEL and C1 as well as C0 (the same JSON
    /// either way), and CSV on a terminal escapes them inside its cells.
    pub fn print(&mut self, record: &LogRecord, out: &mut Vec<u8>) {
        if !self.started {
            self.encoder.begin_segment(out);
            self.started = true;
        }
        let start = out.len();
        match self.output {
            Output::Json => {
                self.encoder.encode(record, out);
                escape_line(out, start, b"\n");
                return;
            }
            Output::Csv => {
                self.encoder.encode(record, out);
                if self.terminal {
                    escape_line(out, start, b"\r\n");
                }
                return;
            }
            Output::Text if !self.color => {
                self.encoder.encode(record, out);
                return;
            }
            Output::Text => {}
        }
        // Text on a terminal (its values escaped by the encoder): the level coloured, the timestamp and the location dimmed.
        let mut line = Vec::new();
        self.encoder.encode(record, &mut line);
        let text = String::from_utf8_lossy(&line);
        let (ts, rest) = text.split_once(' ').unwrap_or(("", &text));
        let (level, rest) = rest.split_at(5.min(rest.len()));
        let dim = Style::new().dimmed();
        let level_style = Style::new().bold().fg_color(Some(
            match record.level {
                Level::Trace | Level::Debug => AnsiColor::Blue,
                Level::Info => AnsiColor::Green,
                Level::Warn => AnsiColor::Yellow,
                Level::Error | Level::Fatal => AnsiColor::Red,
            }
            .into(),
        ));
        let (body, meta) = match rest.find(" @seq=") {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        out.extend_from_slice(
            format!(
                "{dim}{ts}{dim:#} {level_style}{level}{level_style:#}{body}{dim}{}{dim:#}\n",
                meta.trim_end()
            )
            .as_bytes(),
        );
    }
}

/// Escapes the control characters of the record in `out[start..]`, which ends with
/// `terminator`; the terminator stays.
fn escape_line(out: &mut Vec<u8>, start: usize, terminator: &[u8]) {
    if !out[start..].ends_with(terminator) {
        return;
    }
    let end = out.len() - terminator.len();
    if !has_control_bytes(&out[start..end]) {
        return;
    }
    let line = String::from_utf8_lossy(&out[start..end]);
    if let std::borrow::Cow::Owned(escaped) = trail::terminal::escape_controls(&line) {
        out.truncate(start);
        out.extend_from_slice(escaped.as_bytes());
        out.extend_from_slice(terminator);
    }
}

/// Whether `bytes` may hold a control character: C0, DEL or C1 (0xC2 0x80..=0x9F in
/// UTF-8). A line without any of those bytes has nothing to escape. Each block is tested
/// whole, without stopping at the first hit, so that the test runs on vectors: it is made
/// for every line printed.
fn has_control_bytes(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|block| {
        block.iter().fold(false, |seen, &b| {
            seen | (b < 0x20) | (b == 0x7f) | (b == 0xc2)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trail::read::FieldValue;

    fn record() -> LogRecord {
        LogRecord {
            ts: 0,
            level: Level::Info,
            seq: 1,
            actor: Some(FieldValue::Str("ana\u{1b}]0;x\u{7}".into())),
            target: "t".into(),
            msg: "two\nlines\u{9b}".into(),
            fields: Vec::new(),
            file: "f.rs".into(),
            line: 1,
            thread: "main".into(),
            span: None,
        }
    }

    fn printed(terminal: bool) -> String {
        let mut printer = Printer::new(Output::Csv, false, terminal);
        let mut out = Vec::new();
        printer.print(&record(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn control_bytes_are_found_anywhere_in_a_line() {
        for len in [0, 1, 63, 64, 65, 200] {
            let clean = vec![b'a'; len];
            assert!(!has_control_bytes(&clean), "{len}");
            for at in 0..len {
                for b in [0x00, 0x1f, 0x7f, 0xc2] {
                    let mut line = clean.clone();
                    line[at] = b;
                    assert!(has_control_bytes(&line), "{len} {at} {b}");
                }
            }
        }
        assert!(!has_control_bytes("é ✓".as_bytes()));
    }

    #[test]
    fn csv_on_a_terminal_escapes_the_controls_in_its_cells() {
        let shown = printed(true);
        let rows: Vec<&str> = shown.split_terminator("\r\n").collect();
        assert_eq!(rows.len(), 2, "the header and one row: {shown:?}");
        assert!(rows[1].contains("two\\nlines\\u009b"), "{shown:?}");
        assert!(
            !rows.iter().any(|r| r.contains(char::is_control)),
            "{shown:?}"
        );
        // Into a pipe or a file, CSV keeps the text as it is, quoted.
        assert!(printed(false).contains("\"two\nlines\u{9b}\""));
    }
}
