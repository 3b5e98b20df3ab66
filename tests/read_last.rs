//! `Reader::last` gives exactly the records a whole read ends with, for every format,
//! across rotated and compressed segments, and without reading the start of the stream.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use trail::read::LogRecord;
use trail::Format;

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes `events` records in small segments; values hold line breaks, quotes and commas,
/// which CSV keeps inside quotes.
fn write(dir: &Path, format: Format, compress: bool, events: u64) {
    let guard = trail::builder()
        .dir(dir)
        .name("app")
        .format(format)
        .level(trail::LevelFilter::Trace)
        .rotate_bytes(1500)
        .compress(compress)
        .install()
        .unwrap();
    for n in 0..events {
        let note = format!("line one\n{n},\"quoted\"\n2026-01-01T00:00:00Z,info,{n},");
        match n % 3 {
            0 => trail::info!(n, note, "plain {n}"),
            1 => trail::warn!(actor = n, n, "two\nlines {n}"),
            _ => trail::error!(n, note, "with \"quotes\", and a comma"),
        }
    }
    drop(guard);
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("app.2")
        })
        .collect();
    files.sort();
    files
}

/// Compresses the last segment, as the compressor would have once it was sealed.
fn gzip_last(dir: &Path) {
    let last = segments(dir).pop().unwrap();
    if last.extension().is_some_and(|e| e == "gz") {
        return;
    }
    let bytes = std::fs::read(&last).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let mut name = last.as_os_str().to_owned();
    name.push(".gz");
    std::fs::write(name, gz.finish().unwrap()).unwrap();
    std::fs::remove_file(last).unwrap();
}

fn all(dir: &Path) -> Vec<LogRecord> {
    trail::read::open(dir)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn check(dir: &Path, what: &str) {
    let all = all(dir);
    assert_eq!(all.len(), 90, "{what}");
    assert!(segments(dir).len() >= 4, "{what}: several segments");
    for n in [0, 1, 2, 3, 5, 8, 13, 30, 89, 90, 91, 1000] {
        let last: Vec<LogRecord> = trail::read::open(dir)
            .unwrap()
            .last(n)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{what}, last {n}: {e}"));
        let want = &all[all.len().saturating_sub(n)..];
        assert_eq!(last, want, "{what}: the last {n}");
    }
}

#[test]
fn last_gives_the_records_a_whole_read_ends_with() {
    let _s = serial();
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        for compress in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), format, compress, 90);
            check(dir.path(), &format!("{format:?}, compress {compress}"));
            gzip_last(dir.path());
            check(
                dir.path(),
                &format!("{format:?}, compress {compress}, last gzipped"),
            );
        }
    }
}

#[test]
fn last_does_not_read_the_start_of_the_stream() {
    let _s = serial();
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), format, false, 90);
        let whole = all(dir.path());
        // Damage in the first segment is not met when only the end is read.
        let first = segments(dir.path()).remove(0);
        let mut bytes = std::fs::read(&first).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 8].copy_from_slice(b"\xff\xfe\0\"\"\"\n\0");
        std::fs::write(&first, bytes).unwrap();
        let last: Vec<LogRecord> = trail::read::open(dir.path())
            .unwrap()
            .last(4)
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(last, whole[whole.len() - 4..], "{format:?}");
    }
}

#[test]
fn last_of_a_lone_segment_file_and_of_a_torn_one() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), Format::Json, false, 90);
    let file = segments(dir.path()).pop().unwrap();
    let whole: Vec<LogRecord> = trail::read::open(&file)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let last: Vec<LogRecord> = trail::read::open(&file)
        .unwrap()
        .last(2)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(last, whole[whole.len() - 2..]);
    // A torn record at the end is one of the last: reported, after the whole ones.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(b"{\"ts\":\"2026").unwrap();
    let items: Vec<_> = trail::read::open(&file).unwrap().last(2).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &whole[whole.len() - 1]);
    assert_eq!(
        items[1].as_ref().unwrap_err().kind(),
        trail::read::ReadErrorKind::Torn
    );
}
