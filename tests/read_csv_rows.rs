//! CSV rows read back alike wherever the input's buffer ends: quoted cells holding quotes,
//! commas and line breaks, JSON cells read through their doubled quotes, rows of ten and
//! of fourteen columns, a damaged row and a torn last row reported at the byte offset
//! where they start, and the rows after the damaged one read on.

use std::io::{self, Read};

use trail::read::{from_reader, FieldValue, FileFormat, LogRecord, ReadErrorKind};
use trail::{Level, SpanContext};

const TS: &str = "2026-11-28T06:21:56.580844754Z";
const NANOS: u64 = 1_795_846_916_580_844_754;

/// An input that gives at most `chunk` bytes a read, so that the reader's buffer ends at
/// each place of each row in turn.
struct Chunked {
    bytes: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(out.len()).min(self.bytes.len() - self.at);
        out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A record, or the offset, kind and text of the error the reader gave.
type Outcome = Result<LogRecord, (Option<u64>, ReadErrorKind, String)>;

fn read(bytes: &[u8], chunk: usize, lent: bool) -> Vec<Outcome> {
    let input = Chunked {
        bytes: bytes.to_vec(),
        at: 0,
        chunk,
    };
    let mut reader = from_reader(input, FileFormat::Csv, "rows.csv");
    let error = |e: trail::read::ReadError| (e.offset(), e.kind(), e.to_string());
    let mut out = Vec::new();
    if lent {
        while let Some(record) = reader.next_ref() {
            out.push(record.cloned().map_err(error));
        }
    } else {
        out.extend(reader.map(|record| record.map_err(error)));
    }
    out
}

fn record(seq: u64, level: Level, msg: &str) -> LogRecord {
    LogRecord {
        ts: NANOS,
        level,
        seq,
        actor: Some(FieldValue::U64(1)),
        target: "t".into(),
        msg: msg.into(),
        fields: Vec::new(),
        file: "f.rs".into(),
        line: 1,
        thread: "main".into(),
        span: None,
    }
}

#[test]
fn rows_read_alike_wherever_the_buffer_ends() {
    let rows = [
        "ts,level,seq,actor,target,msg,fields,file,line,thread,span,span_id,parent_id,trace_id\r\n".to_owned(),
        format!("{TS},info,1,1,t,plain,\"{{\"\"order_id\"\":7,\"\"price\"\":9.99,\"\"sku\"\":\"\"A-1001\"\"}}\",f.rs,1,main,,,,\r\n"),
        format!("{TS},warn,2,\"\"\"alice\"\"\",t,\"say \"\"hi\"\", then\nbye\",\"{{\"\"note\"\":\"\"a, b\"\",\"\"n\"\":-3}}\",f.rs,1,\"worker, 2\",,,,\r\n"),
        format!("{TS},error,3,,t,\"multi\r\nline\",{{}},f.rs,1,main\r\n"),
        format!("{TS},info,4,1,t,m,{{}},f.rs,not a line,main,,,,\r\n"),
        format!("{TS},debug,5,1,t,m,{{}},f.rs,1,main,charge,b7ad6b7169203331,,0af7651916cd43dd8448eb211c80319c\r\n"),
        format!("{TS},info,6,1,t,m,\"{{\"\"q\"\":\"\"say \\\"\"hi\\\"\"\"\",\"\"e\"\":\"\"é\"\"}}\",f.rs,1,main,,,,\r\n"),
        format!("{TS},info,7,1,t,\"never closed,{{}},f.rs,1,main\r\n"),
    ];
    let bytes = rows.concat().into_bytes();
    let offset = |row: usize| rows[..row].iter().map(String::len).sum::<usize>() as u64;

    let mut first = record(1, Level::Info, "plain");
    first.fields = vec![
        ("order_id".into(), FieldValue::U64(7)),
        ("price".into(), FieldValue::F64(9.99)),
        ("sku".into(), FieldValue::Str("A-1001".into())),
    ];
    let mut second = record(2, Level::Warn, "say \"hi\", then\nbye");
    second.actor = Some(FieldValue::Str("alice".into()));
    second.fields = vec![
        ("note".into(), FieldValue::Str("a, b".into())),
        ("n".into(), FieldValue::I64(-3)),
    ];
    second.thread = "worker, 2".into();
    let mut third = record(3, Level::Error, "multi\r\nline");
    third.actor = None;
    let mut fifth = record(5, Level::Debug, "m");
    fifth.span = Some(
        SpanContext::from_hex(
            "charge",
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            None,
        )
        .unwrap(),
    );
    let mut sixth = record(6, Level::Info, "m");
    sixth.fields = vec![
        ("q".into(), FieldValue::Str("say \"hi\"".into())),
        ("e".into(), FieldValue::Str("é".into())),
    ];
    let expected: Vec<Outcome> = vec![
        Ok(first),
        Ok(second),
        Ok(third),
        Err((
            Some(offset(4)),
            ReadErrorKind::Corrupt,
            format!("rows.csv: at byte {}: bad line \"not a line\"", offset(4)),
        )),
        Ok(fifth),
        Ok(sixth),
        Err((
            Some(offset(7)),
            ReadErrorKind::Torn,
            format!(
                "rows.csv: at byte {}: incomplete record at the end of the segment ({} bytes)",
                offset(7),
                rows[7].len()
            ),
        )),
    ];
    for chunk in (1..=80).chain([bytes.len()]) {
        for lent in [true, false] {
            assert_eq!(
                read(&bytes, chunk, lent),
                expected,
                "{chunk} bytes a read, lent: {lent}"
            );
        }
    }
}
