//! Reading records back, per format: `decode/{json,csv,text,bincode}` reads a segment of
//! the standard event (an actor and four fields, as loadgen logs) into owned `LogRecord`s,
//! and `decode/{format}_next_ref` reads the same into the one record `Reader::next_ref`
//! lends; criterion prints the rate in records per second.
//!
//! Run with `cargo bench --bench decode`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trail::Format;

const RECORDS: u64 = 100_000;

/// Writes the standard event `RECORDS` times into a stream of `format` in `dir`.
fn write(dir: &Path, format: Format) {
    let guard = trail::builder()
        .dir(dir)
        .name("bench")
        .format(format)
        .install()
        .expect("the writer starts");
    for i in 0..RECORDS {
        let (order_id, quantity, price, sku) = (i * 7, (i % 5) as u32, 9.99, "A-1001");
        trail::info!(
            actor = i % 1000,
            order_id,
            quantity,
            price,
            sku,
            "added {quantity} x {sku}"
        );
    }
    drop(guard);
}

fn read_all(dir: &Path) -> u64 {
    let mut n = 0;
    for record in trail::read::open(dir).expect("the stream opens") {
        black_box(record.expect("every record reads back"));
        n += 1;
    }
    n
}

fn read_lent(dir: &Path) -> u64 {
    let mut n = 0;
    let mut reader = trail::read::open(dir).expect("the stream opens");
    while let Some(record) = reader.next_ref() {
        black_box(record.expect("every record reads back"));
        n += 1;
    }
    n
}

fn decode(c: &mut Criterion) {
    let root = tempfile::tempdir().expect("a temporary directory");
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(RECORDS));
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(10);
    for (name, format) in [
        ("json", Format::Json),
        ("csv", Format::Csv),
        ("text", Format::Text),
        ("bincode", Format::Binary),
    ] {
        let dir: PathBuf = root.path().join(name);
        write(&dir, format);
        assert_eq!(read_all(&dir), RECORDS, "{name}: every record reads back");
        assert_eq!(read_lent(&dir), RECORDS, "{name}: every record reads back");
        group.bench_function(name, |b| b.iter(|| read_all(&dir)));
        group.bench_function(format!("{name}_next_ref"), |b| b.iter(|| read_lent(&dir)));
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
