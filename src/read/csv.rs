//! Decoding one CSV record (RFC 4180) into a [`LogRecord`].
//!
//! Columns: `ts,level,seq,actor,target,msg,fields,file,line,thread`, then the span
//! context's four in rows written since spans. `actor` (empty when the event has none) and
//! `fields` hold JSON, so that values keep their types.
//!
//! A row as the writer writes it is read in one pass, each cell where it stands, straight
//! into the record (the JSON of `actor` and `fields` too, its doubled quotes read as
//! quotes). Any other row, and anything that pass does not take on, is split into its
//! cells by the rules of RFC 4180 and read from them, which gives the same record, or the
//! error.

use smallvec::SmallVec;

use super::json;
use super::record::{exact_numbers, FieldValue, LogRecord};
use super::timestamp::TimestampParser;
use crate::capture::codec;
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
    if Row::new(record).record(out, clock).is_some() {
        return Ok(true);
    }
    by_cells(record, out, clock)
}

/// Decodes any row from its cells, split by the rules of RFC 4180: what the direct reader
/// does not take on, and the error for a row that is no record.
fn by_cells(
    record: &[u8],
    out: &mut LogRecord,
    clock: &mut TimestampParser,
) -> Result<bool, String> {
    if record == HEADER.as_bytes() || record == HEADER_WITH_SPANS.as_bytes() {
        return Ok(false);
    }
    exact_numbers(|| {
        CELLS.with(|cells| {
            let mut cells = cells.borrow_mut();
            cells.split(record)?;
            let strings = cells.strings(record)?;
            from_cells(&strings, out, clock)?;
            Ok(true)
        })
    })
}

/// The direct reader of a row as the writer writes it. Each step gives `None` for what
/// it does not take on (a cell quoted that the writer leaves bare, text that is not UTF-8,
/// a JSON value that is an array, an object or a string with escapes, a number past 64
/// bits, ...), and the row is then read again from its cells. It never reads past the
/// row, and holds nothing but what it writes into the record. A quote that ends a quoted
/// cell needs no check that it is not doubled: a comma or the row's end must follow it.
struct Row<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Row<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Row { bytes, at: 0 }
    }

    fn record(&mut self, out: &mut LogRecord, clock: &mut TimestampParser) -> Option<()> {
        // The canonical timestamp is 30 bytes, each checked: no scan for its end.
        out.ts = clock.canonical(self.bytes.get(..30)?)?;
        self.at = 30;
        self.expect(b',')?;
        out.level = self.level()?;
        self.expect(b',')?;
        out.seq = self.integer()?;
        self.expect(b',')?;
        self.actor(&mut out.actor)?;
        self.expect(b',')?;
        self.text(&mut out.target)?;
        self.expect(b',')?;
        self.text(&mut out.msg)?;
        self.expect(b',')?;
        self.fields(&mut out.fields)?;
        self.expect(b',')?;
        self.text(&mut out.file)?;
        self.expect(b',')?;
        out.line = u32::try_from(self.integer()?).ok()?;
        self.expect(b',')?;
        self.text(&mut out.thread)?;
        out.span = match &self.bytes[self.at..] {
            // Ten columns, or fourteen outside spans.
            b"" | b",,,," => None,
            _ => {
                let mut parts = [""; 4];
                for part in &mut parts {
                    self.expect(b',')?;
                    *part = self.borrowed()?;
                }
                if self.at != self.bytes.len() {
                    return None;
                }
                super::span::from_cells(&parts).ok()?
            }
        };
        Some(())
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.bytes.get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }

    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// A cell without quotes: its bytes up to the next comma, quote or line break. The
    /// caller checks that a comma or the row's end follows, as it must for a bare cell.
    #[inline]
    fn bare(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.at..];
        let len = bare_len(rest);
        self.at += len;
        &rest[..len]
    }

    /// The value of the decimal digits here, as `str::parse` reads a cell of them; `None`
    /// for none or past 64 bits. Anything but a comma or the row's end after them (a sign
    /// before them) is no cell the direct reader takes on.
    #[inline]
    fn integer(&mut self) -> Option<u64> {
        let start = self.at;
        let mut n = 0u64;
        while let Some(digit) = self.bytes.get(self.at).map(|b| b.wrapping_sub(b'0')) {
            if digit > 9 {
                break;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
            self.at += 1;
        }
        // Nineteen digits never overflow; longer runs are left to `str::parse`.
        (1..=19).contains(&(self.at - start)).then_some(n)
    }

    /// The level cell as the writer writes it, its name in lower case, else as
    /// [`Level::from_name`] reads it.
    #[inline]
    fn level(&mut self) -> Option<Level> {
        let (level, len) = match self.bytes[self.at..].first_chunk::<5>() {
            Some(b"error") => (Level::Error, 5),
            Some(b"fatal") => (Level::Fatal, 5),
            Some(b"debug") => (Level::Debug, 5),
            Some(b"trace") => (Level::Trace, 5),
            Some([b'i', b'n', b'f', b'o', _]) => (Level::Info, 4),
            Some([b'w', b'a', b'r', b'n', _]) => (Level::Warn, 4),
            _ => return Level::from_name(codec::utf8(self.bare())?),
        };
        // The name whole, not the start of a longer cell, which the caller's comma checks.
        self.at += len;
        Some(level)
    }

    /// A text cell, bare or quoted without doubled quotes, as it stands in the row.
    fn borrowed(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return codec::utf8(self.bare());
        }
        let rest = &self.bytes[self.at..];
        let quote = memchr::memchr(b'"', rest)?;
        self.at += quote;
        self.expect(b'"')?;
        codec::utf8(&rest[..quote])
    }

    /// A text cell into `held`, unless it holds that text already, as names do from one
    /// record to the next.
    fn text(&mut self, held: &mut String) -> Option<()> {
        if !self.eat(b'"') {
            return set_bytes(held, self.bare());
        }
        let rest = &self.bytes[self.at..];
        let mut quote = memchr::memchr(b'"', rest)?;
        if rest.get(quote + 1) != Some(&b'"') {
            self.at += quote + 1;
            return set_bytes(held, &rest[..quote]);
        }
        // Doubled quotes, each standing for one: the text is put together from the runs
        // between them. A quote is ASCII, so no character is cut at one.
        held.clear();
        loop {
            let rest = &self.bytes[self.at..];
            held.push_str(codec::utf8(&rest[..quote])?);
            self.at += quote + 1;
            if !self.eat(b'"') {
                return Some(());
            }
            held.push('"');
            quote = memchr::memchr(b'"', &self.bytes[self.at..])?;
        }
    }

    /// The actor cell: empty for none, else one JSON value, bare or quoted.
    fn actor(&mut self, actor: &mut Option<FieldValue>) -> Option<()> {
        if matches!(self.bytes.get(self.at), None | Some(b',')) {
            *actor = None;
            return Some(());
        }
        let slot = actor.get_or_insert(FieldValue::Null);
        if self.eat(b'"') {
            self.json_value(slot)?;
            self.expect(b'"')
        } else {
            // A bare cell holds no quote, so no JSON string: a number or a literal,
            // which a comma or the row's end must follow.
            self.json_value(slot)
        }
    }

    /// The fields cell: a JSON object, quoted (its quotes doubled) unless it is empty.
    fn fields(&mut self, entries: &mut Vec<(String, FieldValue)>) -> Option<()> {
        if !self.eat(b'"') {
            self.expect(b'{')?;
            self.expect(b'}')?;
            entries.clear();
            return Some(());
        }
        self.expect(b'{')?;
        let mut n = 0;
        if !self.eat(b'}') {
            loop {
                if n == entries.len() {
                    entries.push((String::new(), FieldValue::Null));
                }
                let (key, value) = &mut entries[n];
                self.json_string(key)?;
                self.expect(b':')?;
                self.json_value(value)?;
                n += 1;
                if self.eat(b'}') {
                    break;
                }
                self.expect(b',')?;
            }
        }
        entries.truncate(n);
        self.expect(b'"')
    }

    /// A JSON number, literal or string (in a quoted cell) into `slot`, reusing the
    /// string it holds; arrays and objects are for the full parser.
    fn json_value(&mut self, slot: &mut FieldValue) -> Option<()> {
        let (word, value): (&[u8], _) = match *self.bytes.get(self.at)? {
            b'"' => {
                if !matches!(slot, FieldValue::Str(_)) {
                    *slot = FieldValue::Str(String::new());
                }
                let FieldValue::Str(text) = slot else {
                    return None;
                };
                return self.json_string(text);
            }
            b't' => (b"true", FieldValue::Bool(true)),
            b'f' => (b"false", FieldValue::Bool(false)),
            b'n' => (b"null", FieldValue::Null),
            _ => {
                self.at += json::direct_number(&self.bytes[self.at..], slot)?;
                return Some(());
            }
        };
        if !self.bytes[self.at..].starts_with(word) {
            return None;
        }
        self.at += word.len();
        *slot = value;
        Some(())
    }

    /// A JSON string in a quoted cell, `""text""`, into `into` unless it holds that text
    /// already; one with escapes or control characters is for the full parser.
    fn json_string(&mut self, into: &mut String) -> Option<()> {
        if !self.bytes[self.at..].starts_with(b"\"\"") {
            return None;
        }
        self.at += 2;
        let rest = &self.bytes[self.at..];
        let stop = json::plain_run(rest)?;
        // The string ends at a doubled quote; a quote alone would end the cell.
        if !rest[stop..].starts_with(b"\"\"") {
            return None;
        }
        set_bytes(into, &rest[..stop])?;
        self.at += stop + 2;
        Some(())
    }
}

/// Replaces the text of `held` with `bytes`, keeping its buffer, unless it holds that
/// text already; `None` if the bytes are not UTF-8.
#[inline]
fn set_bytes(held: &mut String, bytes: &[u8]) -> Option<()> {
    if held.as_bytes() != bytes {
        let text = codec::utf8(bytes)?;
        held.clear();
        held.push_str(text);
    }
    Some(())
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

/// Replaces the text of `held`, keeping its buffer, unless it holds that text already, as
/// names do from one record to the next.
fn set(held: &mut String, text: &str) {
    if held != text {
        held.clear();
        held.push_str(text);
    }
}

thread_local! {
    /// The CSV parser and its buffers, built once per thread: building a parser is far
    /// dearer than parsing one record.
    static CELLS: std::cell::RefCell<Cells> = std::cell::RefCell::new(Cells::new());
}

/// One record's cells, split by the rules of RFC 4180 (quotes removed, `""` unescaped).
struct Cells {
    parser: csv_core::Reader,
    /// The text of the cells that could not be taken as they stand in the record.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Where each cell's text is.
    spans: Vec<Span>,
}

/// Where a cell's text is: a range of the record as it stands, or of [`Cells::bytes`].
#[derive(Clone, Copy, Debug)]
enum Span {
    Record(usize, usize),
    Own(usize, usize),
}

impl Cells {
    fn new() -> Cells {
        Cells {
            parser: csv_core::Reader::new(),
            bytes: vec![0; 1024],
            ends: vec![0; 16],
            spans: Vec::with_capacity(16),
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
    /// cells are the ones that parser makes. A cell without doubled quotes is taken where
    /// it stands in the record, not copied.
    fn split_plain(&mut self, input: &[u8]) -> bool {
        if input.is_empty() {
            return false;
        }
        self.spans.clear();
        let mut out = 0;
        let mut at = 0;
        loop {
            let span = if input.get(at) == Some(&b'"') {
                at += 1;
                let Some(quote) = memchr::memchr(b'"', &input[at..]) else {
                    return false;
                };
                if input.get(at + quote + 1) != Some(&b'"') {
                    at += quote + 1;
                    Span::Record(at - quote - 1, at - 1)
                } else {
                    // Its quotes undone eight bytes at a time: a JSON cell doubles many.
                    let from = out;
                    let end = out + (input.len() - at);
                    if end > self.bytes.len() {
                        self.bytes.resize(end.max(self.bytes.len() * 2), 0);
                    }
                    let text = &mut self.bytes[..];
                    loop {
                        match input.get(at..).and_then(<[u8]>::first_chunk::<8>) {
                            // Whole words are written, the bytes up to a quote kept; a
                            // word holds no more than the cell's room, which is the rest
                            // of the record.
                            Some(word) => {
                                text[out..out + 8].copy_from_slice(word);
                                let x = u64::from_le_bytes(*word);
                                let quotes = json::equal(x, b'"');
                                let plain = quotes.trailing_zeros() as usize / 8;
                                at += plain;
                                out += plain;
                                if plain == 8 {
                                    continue;
                                }
                            }
                            None => match input.get(at) {
                                None => return false,
                                Some(b'"') => {}
                                Some(&b) => {
                                    text[out] = b;
                                    (at, out) = (at + 1, out + 1);
                                    continue;
                                }
                            },
                        }
                        // At a quote: doubled, it stands for one; alone, it ends the cell.
                        if input.get(at + 1) != Some(&b'"') {
                            at += 1;
                            break;
                        }
                        text[out] = b'"';
                        (at, out) = (at + 2, out + 1);
                    }
                    Span::Own(from, out)
                }
            } else {
                let len = bare_len(&input[at..]);
                at += len;
                Span::Record(at - len, at)
            };
            self.spans.push(span);
            match input.get(at) {
                None => return true,
                Some(b',') => at += 1,
                Some(_) => return false,
            }
        }
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
                    self.spans.clear();
                    let mut start = 0;
                    for &end in &self.ends[..ends] {
                        self.spans.push(Span::Own(start, end));
                        start = end;
                    }
                    return Ok(());
                }
                R::End => return Err("empty record".into()),
            }
        }
    }

    /// The cells of `record`, which was split last, as text.
    fn strings<'a>(&'a self, record: &'a [u8]) -> Result<SmallVec<[&'a str; 14]>, String> {
        // Nearly every record is ASCII, checked at once a word at a time, and so is then
        // every cell, whose text is the record's less some quotes.
        let ascii = record.is_ascii();
        let mut cells = SmallVec::new();
        for (i, span) in self.spans.iter().enumerate() {
            let bytes = match *span {
                Span::Record(start, end) => &record[start..end],
                Span::Own(start, end) => &self.bytes[start..end],
            };
            let cell = match ascii {
                // SAFETY: ASCII bytes are UTF-8.
                true => unsafe { std::str::from_utf8_unchecked(bytes) },
                false => std::str::from_utf8(bytes).map_err(|e| {
                    format!("not valid CSV: invalid UTF-8 in column {}: {e}", i + 1)
                })?,
            };
            cells.push(cell);
        }
        Ok(cells)
    }
}

/// How many bytes of a bare cell come before its first comma, quote or line break,
/// eight bytes at a time (see `json::equal`).
#[inline]
fn bare_len(bytes: &[u8]) -> usize {
    use json::equal;
    let mut at = 0;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word);
        let found = equal(x, b',') | equal(x, b'"') | equal(x, b'\r') | equal(x, b'\n');
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        .map_or(bytes.len(), |i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = Vec<Vec<u8>>;

    /// The cells of `record` by each splitter that takes it: (plain, full).
    fn both(record: &[u8]) -> (Option<Split>, Result<Split, String>) {
        let mut cells = Cells::new();
        let cut = |cells: &Cells| {
            cells
                .spans
                .iter()
                .map(|span| match *span {
                    Span::Record(start, end) => record[start..end].to_vec(),
                    Span::Own(start, end) => cells.bytes[start..end].to_vec(),
                })
                .collect::<Vec<_>>()
        };
        let plain = cells.split_plain(record).then(|| cut(&cells));
        let full = cells.split_any(record).map(|()| cut(&cells));
        (plain, full)
    }

    /// The record from the cells the full parser splits, as `decode` would give it.
    fn by_full_parser(row: &[u8], out: &mut LogRecord, cells: &mut Cells) -> Result<bool, String> {
        if row == HEADER.as_bytes() || row == HEADER_WITH_SPANS.as_bytes() {
            return Ok(false);
        }
        exact_numbers(|| {
            cells.split_any(row)?;
            let strings = cells.strings(row)?;
            from_cells(&strings, out, &mut TimestampParser::default())?;
            Ok(true)
        })
    }

    /// Rows of every shape the writer writes, and rows damaged from them a byte or three at
    /// a time, are read alike by the direct reader, when it takes them on, by `decode` and
    /// from the cells of the full parser, into a fresh record or one that held another
    /// record before; and the direct reader takes on the rows the writer writes.
    #[test]
    fn the_direct_reader_reads_what_the_cells_give() {
        let ts = "2026-11-28T06:21:56.580844754Z";
        let fields = r#""{""order_id"":0,""quantity"":1,""price"":9.99,""sku"":""A-1001""}""#;
        let row = |actor: &str, msg: &str, fields: &str, rest: &str| {
            format!("{ts},error,1,{actor},loadgen,{msg},{fields},examples/loadgen.rs,231,loadgen-0{rest}")
        };
        let span = ",charge,b7ad6b7169203331,,0af7651916cd43dd8448eb211c80319c";
        let mut seeds = vec![
            row("1000", "payment declined for order 0", fields, ""),
            row("1000", "payment declined", fields, ",,,,"),
            row("1000", "payment declined", fields, span),
            row("", "m", "{}", ""),
            row(r#""""alice""""#, "m", "{}", ",,,,"),
            row(r#""""""""#, "m", "{}", ""),
            row("\"7\"", "m", "{}", ""),
            row("-5", "\"say \"\"hi\"\", then\nbye\"", fields, ""),
            row("1.5e3", "\"a,b\"", fields, ""),
            row("true", "\"\"", fields, ""),
            row("null", "\"\"\"\"\"\"\"\"", fields, ""),
            row("18446744073709551616", "m", fields, ""),
            row(
                "1",
                "m",
                r#""{""n"":-0,""f"":false,""t"":true,""z"":null,""s"":""""}""#,
                "",
            ),
            row("1", "m", r#""{""a"":[1,{""b"":null}],""k"":{}}""#, ""),
            row(
                "1",
                "m",
                r#""{""s"":""tab\t \"" é"",""u"":""\u00e9""}""#,
                "",
            ),
            row(
                "1",
                "m",
                r#""{""big"":340282366920938463463374607431768211456}""#,
                "",
            ),
            row(
                "1",
                "é ✓",
                r#""{""é"":""ü"",""k"":""v""}""#,
                ",\"sp,an\",b7ad6b7169203331,,0af7651916cd43dd8448eb211c80319c",
            ),
            row("1", "m", fields, ",charge,,,"),
            row("1", "m", fields, ",,,"),
            row("1", "m", fields, ",,,,,"),
            format!("{ts},INFO,+5,1,t,m,{{}},f.rs,4294967296,main"),
            format!("{ts},warn,007,1,\"t\",m,{{}},f.rs,0,\"main\""),
            format!("2026-11-28T06:21:56Z,warn,7,1,t,m,{{}},f.rs,0,main"),
            format!("2026-02-30T06:21:56.580844754Z,warn,7,1,t,m,{{}},f.rs,0,main"),
            format!("{ts},loud,7,1,t,m,{{}},f.rs,0,main"),
        ];
        for level in ["trace", "debug", "info", "warn", "error", "fatal", "Fatal"] {
            seeds.push(format!("{ts},{level},9,1,t,m,{{}},f.rs,0,main"));
        }
        for (seq, line) in [
            ("99999999999999999999", "0"),
            ("18446744073709551615", "4294967296"),
            ("0000000000000000000012", "4294967295"),
        ] {
            seeds.push(format!("{ts},info,{seq},1,t,m,{{}},f.rs,{line},main"));
        }
        seeds.push(HEADER.to_owned());
        let alphabet = [
            b'"', b',', b'\r', b'\n', b'\\', b'{', b'}', b'[', b':', b'0', b'9', b'-', b'.', b'e',
            b'a', b' ', b't', 0xc3, 0xa9, 0xff,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut rows: Vec<Vec<u8>> = seeds.iter().map(|s| s.as_bytes().to_vec()).collect();
        for seed in &seeds {
            for _ in 0..1000 {
                let mut row = seed.as_bytes().to_vec();
                for _ in 0..1 + next() % 3 {
                    let at = next() as usize % (row.len() + 1);
                    let byte = alphabet[next() as usize % alphabet.len()];
                    match next() % 3 {
                        0 if at < row.len() => row[at] = byte,
                        1 if at < row.len() => {
                            row.remove(at);
                        }
                        _ => row.insert(at, byte),
                    }
                }
                rows.push(row);
            }
        }
        let (mut taken, mut writers) = (0, 0);
        let mut reused = LogRecord::blank();
        let mut clock = TimestampParser::default();
        let mut full = Cells::new();
        for (i, row) in rows.iter().enumerate() {
            let shown = String::from_utf8_lossy(row);
            let mut by_cells_out = LogRecord::blank();
            let cells = by_full_parser(row, &mut by_cells_out, &mut full);
            let mut direct_out = LogRecord::blank();
            if Row::new(row).record(&mut direct_out, &mut clock).is_some() {
                taken += 1;
                writers += usize::from(i < seeds.len());
                assert_eq!(cells, Ok(true), "{shown}");
                assert_eq!(direct_out, by_cells_out, "{shown}");
            }
            let decoded = decode(row, &mut reused, &mut clock);
            let stripped = row.strip_suffix(b"\r").unwrap_or(row);
            let mut expected = LogRecord::blank();
            let cells = by_full_parser(stripped, &mut expected, &mut full);
            assert_eq!(decoded, cells, "{shown}");
            if decoded == Ok(true) {
                assert_eq!(reused, expected, "{shown}");
            }
        }
        // Every seed but those with a number past 64 bits or `-0`, a nested value, an
        // escape, a damaged span context, a sign, a short or impossible timestamp, an
        // unknown level, twenty digits or more, or the header.
        assert_eq!(writers, 20, "of {} seeds", seeds.len());
        assert!(taken > 2000, "{taken} of {}", rows.len());
    }

    /// Bytes that are not UTF-8 in a cell, taken where it stands or unquoted, are an error
    /// naming the column.
    #[test]
    fn a_cell_that_is_not_utf8_is_an_error_naming_its_column() {
        let row = b"2026-11-28T06:21:56.580844754Z,error,1,1000,loadgen,m \xff,\"{\"\"k\"\":\"\"\xc3\"\"}\",f.rs,231,main";
        let column_named = |row: &[u8], column: usize| {
            let mut out = LogRecord::blank();
            let error = decode(row, &mut out, &mut TimestampParser::default()).unwrap_err();
            let named = format!("not valid CSV: invalid UTF-8 in column {column}: ");
            assert!(error.starts_with(&named), "{error}");
        };
        column_named(row, 6);
        let row = [&row[..53], &row[55..]].concat();
        column_named(&row, 7);
        // The same bytes made UTF-8 read back as their text.
        let at = row.iter().position(|&b| b == 0xc3).unwrap();
        let row = [&row[..at], "é".as_bytes(), &row[at + 1..]].concat();
        let mut out = LogRecord::blank();
        assert_eq!(
            decode(&row, &mut out, &mut TimestampParser::default()),
            Ok(true)
        );
        assert_eq!(out.fields, [("k".to_owned(), FieldValue::Str("é".into()))]);
    }

    /// Records long enough to fill words, of the characters that matter to CSV among
    /// plain text, split the same by the plain splitter, when it takes them, as by the
    /// full parser; and the word-at-a-time scan of a bare cell stops where a scan byte by
    /// byte stops, for every byte value at every place in a word.
    #[test]
    fn long_records_split_as_the_full_parser_splits_them() {
        let naive = |b: &[u8]| {
            b.iter()
                .position(|&c| matches!(c, b',' | b'"' | b'\r' | b'\n'))
                .unwrap_or(b.len())
        };
        for byte in 0..=255u8 {
            for at in 0..20 {
                let mut bytes = vec![b'a'; 20];
                bytes[at] = byte;
                assert_eq!(bare_len(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
        // Quoted cells with doubled quotes after runs of every length, as JSON cells are.
        for (n, m) in (0..20).flat_map(|n| (0..20).map(move |m| (n, m))) {
            let (run, other) = ("x".repeat(n), "é".repeat(m));
            for record in [
                format!("a,\"{run}\"\"{other}\"\"\",b"),
                format!("\"\"\"{run}\"\"\"\"{other}\""),
                format!("{run},\"{{\"\"k\"\":\"\"{other}\"\"}}\",{run}"),
            ] {
                let (plain, full) = both(record.as_bytes());
                assert_eq!(
                    Ok(plain.expect("the plain splitter takes it")),
                    full,
                    "{record}"
                );
            }
        }
        let alphabet = [b'"', b',', b'\r', b'\n', b'a', b'b', b'{', 0xc3, 0xa9, b' '];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut taken = 0;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 8 + (state % 40) as usize;
            let mut bits = state;
            let record: Vec<u8> = (0..len)
                .map(|_| {
                    bits = bits.rotate_left(5) ^ 0x2545_f491_4f6c_dd1d;
                    // Mostly plain text, so that records hold long cells.
                    match bits % 24 {
                        n @ 0..=3 => alphabet[n as usize],
                        _ => alphabet[4 + (bits >> 8) as usize % 6],
                    }
                })
                .collect();
            assert_eq!(bare_len(&record), naive(&record), "{record:?}");
            if let (Some(plain), full) = both(&record) {
                taken += 1;
                assert_eq!(Ok(plain), full, "{:?}", String::from_utf8_lossy(&record));
            }
        }
        assert!(taken > 1000, "{taken}");
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
