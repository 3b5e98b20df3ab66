//! Records read back can be written again in any format, and read back once more equal:
//! every format to every format.

use std::path::Path;

use trail::convert::RecordEncoder;
use trail::read::LogRecord;
use trail::Format;

const FORMATS: [(Format, &str); 4] = [
    (Format::Json, "jsonl"),
    (Format::Csv, "csv"),
    (Format::Text, "log"),
    (Format::Bincode, "bin"),
];

/// One writer per process at a time: the tests of this file take turns installing one.
static ONE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn write_stream(dir: &Path, format: Format) -> Vec<LogRecord> {
    let _turn = ONE_WRITER.lock().unwrap_or_else(|p| p.into_inner());
    let guard = trail::builder()
        .dir(dir)
        .name("src")
        .format(format)
        .level(trail::LevelFilter::Trace)
        .install()
        .unwrap();
    let ip: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    let nested = std::collections::BTreeMap::from([("list", vec![1.5, -2.0]), ("é \"q\"", vec![])]);
    for i in 0..50_i64 {
        trail::info!(actor = ip, i, neg = -i, big = u64::MAX, text = "comma, \"quote\"\nline", nested = #nested, "event {i}");
        trail::warn!(target: "odd: target", "two words" = true, none = None::<u8>, "");
        trail::error!(actor = "ana]", f = 0.1, "x = {}", i);
    }
    drop(guard);
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn every_format_converts_to_every_format_and_reads_back_equal() {
    for (from, _) in FORMATS {
        let source = tempfile::tempdir().unwrap();
        let records = write_stream(source.path(), from);
        assert_eq!(records.len(), 150);
        for (to, extension) in FORMATS {
            let mut out = Vec::new();
            let mut encoder = RecordEncoder::new(to);
            encoder.begin_segment(&mut out);
            for record in &records {
                encoder.encode(record, &mut out);
            }
            let target = tempfile::tempdir().unwrap();
            let path = target.path().join(format!("converted.{extension}"));
            std::fs::write(&path, &out).unwrap();
            let again: Vec<LogRecord> = trail::read::open(&path)
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(again, records, "{from} to {to}");
        }
    }
}

/// A stream converted to its own format is the same bytes: the writer and `convert` write
/// records with one encoder per format.
#[test]
fn converting_a_segment_to_its_own_format_gives_its_bytes_back() {
    for (format, extension) in [
        (Format::Json, "jsonl"),
        (Format::Csv, "csv"),
        (Format::Text, "log"),
    ] {
        let source = tempfile::tempdir().unwrap();
        let records = write_stream(source.path(), format);
        let segments: Vec<_> = std::fs::read_dir(source.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect();
        assert_eq!(segments.len(), 1, "{segments:?}");
        let written = std::fs::read(&segments[0]).unwrap();
        let mut out = Vec::new();
        let mut encoder = RecordEncoder::new(format);
        encoder.begin_segment(&mut out);
        for record in &records {
            encoder.encode(record, &mut out);
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&written),
            "{format}"
        );
    }
}
