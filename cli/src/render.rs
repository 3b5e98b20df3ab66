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
    encoder: RecordEncoder,
    started: bool,
}

impl Printer {
    pub fn new(output: Output, color: bool) -> Printer {
        let format = match output {
            Output::Text => Format::Text,
            Output::Json => Format::Json,
            Output::Csv => Format::Csv,
        };
        Printer {
            output,
            color,
            encoder: RecordEncoder::new(format),
            started: false,
        }
    }

    /// Appends one record to `out`.
    pub fn print(&mut self, record: &LogRecord, out: &mut Vec<u8>) {
        if !self.started {
            self.encoder.begin_segment(out);
            self.started = true;
        }
        if self.output != Output::Text || !self.color {
            self.encoder.encode(record, out);
            return;
        }
        // Text on a terminal: the level coloured, the timestamp and the location dimmed.
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
