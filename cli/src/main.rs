//! `trail`: read, follow, convert, summarise and check trail log streams.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use trail::read::{Checkpoint, LogRecord, ReadError, ReadErrorKind, Reader};
use trail::Format;

mod filter;
#[cfg(feature = "parquet")]
mod parquet;
mod render;
mod schema;
#[cfg(feature = "ship")]
mod ship;
mod stats;
mod verify;

use filter::Filter;
use render::{Output, Printer};

const EXAMPLES: &str = "\
Examples:
  trail cat logs/                          every record of the stream in logs/, as text
  trail cat --level warn --since 10m logs/ warnings and worse from the last ten minutes
  trail cat --actor 42 --output json logs/ one actor's records as JSON lines
  trail cat - --input-format csv < x.csv   records from standard input
  trail tail -f logs/                      follow the stream as it is written
  trail convert --to csv logs/ all.csv     the whole stream as one CSV file
  trail stats logs/                        counts, rates, busiest actors, gaps
  trail verify logs/                       check every segment against the manifest
  trail ship logs/ --to nats://host:4222   publish every record into JetStream, exactly once
  trail schema --output duckdb logs/       a DuckDB query that declares every column
  trail convert --to parquet logs/ all.parquet   the stream as one Parquet file

Exit codes: 0 success; 1 damage found (verify) or records that could not be read;
2 a usage error or an input that cannot be opened; 3 the NATS server is unreachable,
refused the credentials or answered with an error (ship).";

#[derive(Parser)]
#[command(name = "trail", version, about = "Read, follow, convert and check trail log streams", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the records of segment files or stream directories.
    Cat {
        /// Segment files, stream directories, or `-` for standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        filters: FilterArgs,
        #[command(flatten)]
        print: PrintArgs,
        /// The format of standard input: json, csv, text or binary (also bincode).
        #[arg(long, value_parser = parse_format, default_value = "json")]
        input_format: Format,
    },
    /// Print the last records of a stream, and with -f follow it as it grows and rotates.
    Tail {
        /// A stream directory (or a segment file).
        path: PathBuf,
        /// Keep printing new records until interrupted.
        #[arg(short, long)]
        follow: bool,
        /// How many records to print before following.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
        #[command(flatten)]
        filters: FilterArgs,
        #[command(flatten)]
        print: PrintArgs,
    },
    /// Write a segment or a whole stream into one file of another format.
    Convert {
        /// The output format: json, csv, text, binary (also bincode), or parquet (one file
        /// with typed columns; needs the `parquet` feature).
        #[arg(long, value_parser = parse_convert_to)]
        to: ConvertTo,
        /// A segment file or a stream directory.
        input: PathBuf,
        /// The file to write; it must not exist.
        output: PathBuf,
    },
    /// Count records per level, actor and target, draw the event rate, find gaps.
    Stats {
        /// A segment file or a stream directory.
        path: PathBuf,
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Check every segment: framing, checksums, the manifest and seq continuity.
    Verify {
        /// A stream directory.
        path: PathBuf,
    },
    /// Publish every record into NATS JetStream, exactly once, and with -f keep following.
    #[cfg(feature = "ship")]
    Ship(ship::ShipArgs),
    /// `ship` in a build without it: a clear error rather than an unknown command.
    #[cfg(not(feature = "ship"))]
    #[command(hide = true)]
    Ship {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// The stream's columns and types, conflicts, and declared reads for DuckDB, Spark, polars.
    Schema {
        /// A segment file or a stream directory.
        path: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value = "text")]
        output: schema::SchemaOutput,
    },
}

#[derive(Args)]
struct FilterArgs {
    /// Only this level and more severe (trace, debug, info, warn, error, fatal).
    #[arg(long)]
    level: Option<trail::Level>,
    /// Only records whose actor is this (as text).
    #[arg(long)]
    actor: Option<String>,
    /// Only this target and its submodules (shop matches shop and shop::cart).
    #[arg(long)]
    target: Option<String>,
    /// Only records at or after this time: RFC 3339, or a duration ago (10m, 2h, 1d).
    #[arg(long, value_parser = filter::parse_time)]
    since: Option<u64>,
    /// Only records before this time: RFC 3339, or a duration ago.
    #[arg(long, value_parser = filter::parse_time)]
    until: Option<u64>,
    /// Only records whose message matches this regular expression.
    #[arg(long)]
    grep: Option<regex::Regex>,
    /// Only records with this field value (key=value, compared as text); repeatable.
    #[arg(long = "field", value_parser = filter::parse_field)]
    fields: Vec<(String, String)>,
    /// Only records captured in a span of this name (the innermost span), and that span's
    /// own records.
    #[arg(long)]
    span: Option<String>,
}

impl FilterArgs {
    fn filter(self) -> Filter {
        Filter {
            level: self.level,
            actor: self.actor,
            target: self.target,
            since: self.since,
            until: self.until,
            grep: self.grep,
            fields: self.fields,
            span: self.span,
        }
    }
}

#[derive(Args)]
struct PrintArgs {
    /// How to print records.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    /// Colour the text output: auto (when standard output is a terminal), always or never.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

impl PrintArgs {
    fn printer(&self) -> Printer {
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Printer::new(self.output, color, io::stdout().is_terminal())
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A format name as the library parses it (names and extensions, any case).
fn parse_format(name: &str) -> Result<Format, trail::ParseFormatError> {
    name.parse()
}

/// What `convert` writes: one of the library's formats, or Parquet.
#[derive(Clone, Copy)]
enum ConvertTo {
    Trail(Format),
    /// One Parquet file with typed columns (needs the `parquet` feature).
    Parquet,
}

fn parse_convert_to(name: &str) -> Result<ConvertTo, trail::ParseFormatError> {
    if name.eq_ignore_ascii_case("parquet") {
        return Ok(ConvertTo::Parquet);
    }
    parse_format(name).map(ConvertTo::Trail)
}

/// A failure that ends the command, with its exit code.
struct Fatal(u8, String);

impl From<ReadError> for Fatal {
    fn from(e: ReadError) -> Fatal {
        Fatal(2, e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cat {
            paths,
            filters,
            print,
            input_format,
        } => cat(&paths, filters.filter(), print.printer(), input_format),
        Command::Tail {
            path,
            follow,
            lines,
            filters,
            print,
        } => tail(&path, follow, lines, filters.filter(), print.printer()),
        Command::Convert { to, input, output } => convert(to, &input, &output),
        Command::Stats { path, filters } => stats::run(&path, &filters.filter()),
        Command::Verify { path } => verify::run(&path),
        #[cfg(feature = "ship")]
        Command::Ship(args) => ship::run(args),
        #[cfg(not(feature = "ship"))]
        Command::Ship { .. } => Err(Fatal(
            2,
            "this trail was built without shipping (cargo feature `ship`): \
             cargo install --path cli --features ship,parquet"
                .into(),
        )),
        Command::Schema { path, output } => schema::run(&path, output),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Fatal(code, message)) => {
            warn(message);
            ExitCode::from(code)
        }
    }
}

/// Says something on standard error, its control characters escaped: messages quote
/// file names and the content of damaged records, which anyone may have written.
fn warn(message: impl std::fmt::Display) {
    let message = message.to_string();
    eprintln!("trail: {}", trail::terminal::escape_controls(&message));
}

/// Writes to standard output; a closed pipe (`trail cat ... | head`) ends the program
/// quietly, with success.
fn emit(out: &mut Vec<u8>) -> Result<(), Fatal> {
    let result = io::stdout().lock().write_all(out);
    out.clear();
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Fatal(2, format!("cannot write to standard output: {e}"))),
    }
}

fn flush_stdout() -> Result<(), Fatal> {
    match io::stdout().lock().flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Fatal(2, format!("cannot write to standard output: {e}"))),
        Ok(()) => Ok(()),
    }
}

fn open(path: &Path, input_format: Format) -> Result<Reader, Fatal> {
    if path == Path::new("-") {
        return Ok(trail::read::from_reader(
            io::stdin(),
            input_format,
            "<stdin>",
        ));
    }
    Ok(trail::read::open(path)?)
}

fn cat(
    paths: &[PathBuf],
    filter: Filter,
    mut printer: Printer,
    input_format: Format,
) -> Result<u8, Fatal> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut damaged = 0;
    for path in paths {
        // Each record is decoded into the reader's own, reused from one to the next.
        let mut reader = open(path, input_format)?;
        while let Some(record) = reader.next_ref() {
            match record {
                Ok(r) if filter.matches(r) => printer.print(r, &mut out),
                Ok(_) => {}
                Err(e) => {
                    emit(&mut out)?;
                    damaged += 1;
                    warn(e);
                }
            }
            if out.len() >= 64 * 1024 {
                emit(&mut out)?;
            }
        }
    }
    emit(&mut out)?;
    flush_stdout()?;
    Ok(u8::from(damaged > 0))
}

/// Prints the last `lines` matching records, then with `follow` polls for new ones. The
/// position is a checkpoint, so a rotation, a compression or a retention between two polls
/// neither repeats nor skips a record.
fn tail(
    path: &Path,
    follow: bool,
    lines: usize,
    filter: Filter,
    mut printer: Printer,
) -> Result<u8, Fatal> {
    let mut out = Vec::new();
    let mut torn: Option<(PathBuf, u64)> = None;
    // Only the end of the stream is read: the last `want` records, and more, four times as
    // many each round, while a filter leaves fewer than `lines` of them and the stream
    // holds more. At least one is read, so that following starts after it.
    let mut want = lines.max(1);
    let (last, errors, reader) = loop {
        let mut reader = trail::read::open(path)?.last(want);
        let mut last: std::collections::VecDeque<LogRecord> = std::collections::VecDeque::new();
        let mut errors = Vec::new();
        let mut items = 0usize;
        for record in reader.by_ref() {
            items += 1;
            match record {
                Ok(r) if filter.matches(&r) => {
                    last.push_back(r);
                    if last.len() > lines {
                        last.pop_front();
                    }
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if last.len() >= lines || items < want || want == usize::MAX {
            break (last, errors, reader);
        }
        want = want.saturating_mul(4);
    };
    for e in errors {
        report(e, &mut torn);
    }
    for r in &last {
        printer.print(r, &mut out);
    }
    emit(&mut out)?;
    flush_stdout()?;
    if !follow {
        return Ok(0);
    }
    let mut checkpoint: Option<Checkpoint> = reader.checkpoint().cloned();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let mut reader = match trail::read::open(path) {
            Ok(r) => r,
            Err(e) if e.kind() == ReadErrorKind::Unsupported => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(cp) = &checkpoint {
            reader = reader.resume(cp);
        }
        for record in reader.by_ref() {
            match record {
                Ok(r) if filter.matches(&r) => printer.print(&r, &mut out),
                Ok(_) => {}
                Err(e) => report(e, &mut torn),
            }
        }
        if let Some(cp) = reader.checkpoint() {
            checkpoint = Some(cp.clone());
        }
        emit(&mut out)?;
        flush_stdout()?;
    }
}

/// Reports a damaged record on standard error. An incomplete record at the end of the
/// stream may still be being written: it is reported only if it is still there, unchanged,
/// at a later poll.
fn report(e: ReadError, torn: &mut Option<(PathBuf, u64)>) {
    if e.kind() == ReadErrorKind::Torn {
        let here = (e.path().to_owned(), e.offset().unwrap_or(0));
        if torn.as_ref() != Some(&here) {
            *torn = Some(here);
            return;
        }
    }
    warn(e);
}

fn convert(to: ConvertTo, input: &Path, output: &Path) -> Result<u8, Fatal> {
    let format = match to {
        ConvertTo::Trail(format) => format,
        #[cfg(feature = "parquet")]
        ConvertTo::Parquet => return parquet::convert(input, output),
        #[cfg(not(feature = "parquet"))]
        ConvertTo::Parquet => {
            return Err(Fatal(
                2,
                "this trail was built without Parquet (cargo feature `parquet`): \
                 cargo install --path cli --features ship,parquet"
                    .into(),
            ))
        }
    };
    let reader = trail::read::open(input)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(output)
        .map_err(|e| Fatal(2, format!("cannot create {}: {e}", output.display())))?;
    let mut encoder = trail::convert::RecordEncoder::new(format);
    let mut buf = Vec::with_capacity(256 * 1024);
    encoder.begin_segment(&mut buf);
    let (mut records, mut damaged) = (0u64, 0u64);
    for record in reader {
        match record {
            Ok(r) => {
                encoder.encode(&r, &mut buf);
                records += 1;
            }
            Err(e) => {
                damaged += 1;
                warn(e);
            }
        }
        if buf.len() >= 256 * 1024 {
            file.write_all(&buf)
                .map_err(|e| Fatal(2, format!("cannot write {}: {e}", output.display())))?;
            buf.clear();
        }
    }
    file.write_all(&buf)
        .and_then(|()| file.sync_all())
        .map_err(|e| Fatal(2, format!("cannot write {}: {e}", output.display())))?;
    warn(format!("wrote {records} records to {}", output.display()));
    Ok(u8::from(damaged > 0))
}
