//! `trail schema` and `trail convert --to parquet` on a stream whose actor and a field
//! change type after 50,000 records and whose key `late` first appears at record 60,000,
//! read back by DuckDB (with the printed statement) and by pyarrow (from the Parquet file);
//! and the writer's Parquet copies of the same stream's segments, each typed by its own
//! segment, read back by DuckDB all at once.
//!
//! The engines run in a Python virtual environment made under `target/py-venv` on first
//! use (`pip install duckdb pyarrow`); if it cannot be made, the tests fail with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use serde_json::{json, Value};
use trail::read::{FieldValue, LogRecord};
use trail::schema::{json_text, ColumnType};

const TRAIL: &str = env!("CARGO_BIN_EXE_trail");
const RECORDS: u64 = 70_000;

/// The writer is global: the tests that write streams take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes the drifting stream into `dir` and returns its records as read back.
fn drifting_stream(dir: &Path, format: trail::Format) -> Vec<LogRecord> {
    let builder = trail::builder()
        .format(format)
        .rotate_bytes(2 * 1024 * 1024);
    write_drifting(dir, builder).0
}

/// Writes the drifting stream into `dir` with `builder`'s settings and returns its records
/// as read back, with the writer's final counters.
fn write_drifting(dir: &Path, builder: trail::Builder) -> (Vec<LogRecord>, trail::Stats) {
    let _turn = serial();
    let guard = builder
        .dir(dir)
        .name("shop")
        .schema_summary(true)
        .install()
        .unwrap();
    for i in 0..RECORDS {
        // Every tenth record in a span, every thirtieth in a child span: the span columns.
        let _batch = (i % 10 == 0).then(|| trail::scope!("batch"));
        let _item = (i % 30 == 0).then(|| trail::scope!("item"));
        if i < 50_000 {
            trail::info!(actor = i, order = i, amount = i, sku = "A-1", "order {i}");
        } else if i < 60_000 {
            let who = format!("user-{i}");
            let order = format!("ord-{i}");
            let amount = i as f64 + 0.25;
            trail::info!(
                actor = who,
                order = order,
                amount = amount,
                sku = "B-2",
                "order {i}"
            );
        } else {
            let who = format!("user-{i}");
            let amount = i as f64 + 0.5;
            trail::info!(
                actor = who,
                order = i,
                amount = amount,
                late = true,
                "order {i}"
            );
        }
    }
    let stats = guard.shutdown();
    let records = trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    (records, stats)
}

fn trail(args: &[&str]) -> String {
    let out = Command::new(TRAIL).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trail {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn schema_names_each_conflict_with_the_segments_of_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let records = drifting_stream(dir.path(), trail::Format::Json);
    let doc: Value = serde_json::from_str(&trail(&[
        "schema",
        "--output",
        "json",
        dir.path().to_str().unwrap(),
    ]))
    .unwrap();
    // The file that holds record 0 has an integer actor; the one that holds the last
    // record, a string.
    let segment_of = |seq: u64| {
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".jsonl"))
            .collect();
        files
            .into_iter()
            .find(|f| {
                trail::read::open(dir.path().join(f))
                    .unwrap()
                    .any(|r| r.unwrap().seq == seq)
            })
            .unwrap()
    };
    let first = segment_of(records[0].seq);
    let last = segment_of(records.last().unwrap().seq);
    assert_eq!(doc["actor"]["type"], "VARCHAR");
    assert_eq!(doc["actor"]["conflict"], true);
    assert!(doc["actor"]["kinds"]["int"]
        .as_array()
        .unwrap()
        .contains(&json!(first)));
    assert!(doc["actor"]["kinds"]["string"]
        .as_array()
        .unwrap()
        .contains(&json!(last)));
    assert!(!doc["actor"]["kinds"]["int"]
        .as_array()
        .unwrap()
        .contains(&json!(last)));
    assert_eq!(doc["fields"]["order"]["type"], "VARCHAR");
    assert_eq!(doc["fields"]["amount"]["type"], "DOUBLE");
    assert_eq!(doc["fields"]["late"]["type"], "BOOLEAN");
    assert_eq!(doc["fields"]["late"]["conflict"], false);
    assert_eq!(doc["fields"]["sku"]["type"], "VARCHAR");
    // Every segment was sealed by the writer, with its summary: no record was read.
    assert_eq!(doc["segments_from_records"], json!([]));
    assert!(doc["segments_from_manifest"].as_array().unwrap().len() > 1);
}

/// A Python interpreter with duckdb and pyarrow, made once under `target/`.
fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            // target/debug/deps/schema-HASH -> target
            let target = exe
                .ancestors()
                .nth(3)
                .ok_or("no target directory")?
                .to_owned();
            let venv = target.join("py-venv");
            let python = venv.join("bin").join("python");
            let ready = |p: &Path| {
                Command::new(p)
                    .args(["-c", "import duckdb, pyarrow"])
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if ready(&python) {
                return Ok(python);
            }
            let run = |cmd: &mut Command| -> Result<(), String> {
                let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{cmd:?} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ))
                }
            };
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
            run(Command::new(&python)
                .args(["-m", "pip", "install", "-q", "duckdb", "pyarrow", "polars"]))?;
            if ready(&python) {
                Ok(python)
            } else {
                Err("duckdb and pyarrow were installed but do not import".into())
            }
        })
        .clone()
        .unwrap_or_else(|e| panic!("cannot make the Python environment for the engines: {e}"))
}

/// Runs `script` and returns the rows it prints, one JSON array per line:
/// `[seq, ts in nanoseconds, actor, {field: value}]`.
fn engine_rows(script: &str) -> Vec<Value> {
    let out = Command::new(python())
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What a column of type `t` holds for `v`, as JSON.
fn expected(v: &FieldValue, t: ColumnType) -> Value {
    match (t, v) {
        (_, FieldValue::Null) => Value::Null,
        (ColumnType::Text, FieldValue::Str(s)) => json!(s),
        (ColumnType::Text | ColumnType::Json, v) => json!(json_text(v)),
        (ColumnType::Float64, FieldValue::U64(n)) => json!(*n as f64),
        (ColumnType::Float64, FieldValue::I64(n)) => json!(*n as f64),
        (_, FieldValue::Bool(b)) => json!(b),
        (_, FieldValue::U64(n)) => json!(n),
        (_, FieldValue::I64(n)) => json!(n),
        (_, FieldValue::F64(f)) => json!(f),
        (_, other) => json!(json_text(other)),
    }
}

/// Every row the engine gave, compared with the records: same count, same order, every
/// value equal, and a field NULL only where the record does not have it.
fn assert_rows_match(rows: &[Value], records: &[LogRecord], dir: &Path) {
    let (schema, _) = trail::schema::scan(dir, |e| panic!("{e}")).unwrap();
    assert_eq!(rows.len(), records.len(), "every row is read");
    for (row, r) in rows.iter().zip(records) {
        assert_eq!(row[0], json!(r.seq));
        assert_eq!(row[1], json!(r.ts), "ts of seq {}", r.seq);
        let actor_type = schema.actor.resolve();
        assert_eq!(
            row[2],
            expected(r.actor.as_ref().unwrap(), actor_type),
            "actor of seq {}",
            r.seq
        );
        for (key, column) in &schema.fields {
            let want = r
                .field(key)
                .map_or(Value::Null, |v| expected(v, column.resolve()));
            assert_eq!(row[3][key], want, "field {key} of seq {}", r.seq);
        }
    }
}

#[test]
fn duckdb_reads_every_row_and_value_with_the_printed_statement() {
    duckdb_reads(trail::Format::Json);
}

#[test]
fn duckdb_reads_every_csv_row_and_value_with_the_printed_statement() {
    duckdb_reads(trail::Format::Csv);
}

fn duckdb_reads(format: trail::Format) {
    let dir = tempfile::tempdir().unwrap();
    let records = drifting_stream(dir.path(), format);
    let query = trail(&["schema", "--output", "duckdb", dir.path().to_str().unwrap()]);
    let script = format!(
        r#"
import duckdb, json, sys
query = {query:?}.rstrip().rstrip(";")
rows = duckdb.sql(f"SELECT seq, epoch_ns(ts), actor, fields, span, span_id, parent_id, trace_id FROM ({{query}}) ORDER BY seq").fetchall()
for row in rows:
    sys.stdout.write(json.dumps(row) + "\n")
"#
    );
    let rows = engine_rows(&script);
    assert_rows_match(&rows, &records, dir.path());
    assert_spans_match(&rows, &records);
}

/// The rows' span columns (after the four that `assert_rows_match` checks) are the
/// records' span contexts, NULL outside spans.
fn assert_spans_match(rows: &[Value], records: &[LogRecord]) {
    for (row, r) in rows.iter().zip(records) {
        let span = r.span.as_ref();
        let want = json!([
            span.map(|s| s.name.clone()),
            span.map(|s| s.span_id_hex()),
            span.and_then(|s| s.parent_id_hex()),
            span.map(|s| s.trace_id_hex()),
        ]);
        let got = json!(row.as_array().unwrap()[4..]);
        assert_eq!(got, want, "span of seq {}", r.seq);
    }
    assert!(records.iter().any(|r| r.span.is_some()));
}

#[test]
fn pyarrow_reads_every_row_and_value_from_the_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let records = drifting_stream(dir.path(), trail::Format::Json);
    let out = tempfile::tempdir().unwrap();
    let parquet = out.path().join("shop.parquet");
    let converted = Command::new(TRAIL)
        .args(["convert", "--to", "parquet"])
        .arg(dir.path())
        .arg(&parquet)
        .output()
        .unwrap();
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let script = format!(
        r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
table = pq.read_table({path:?})
ts_type = table.schema.field("ts").type
assert ts_type == pa.timestamp("ns", tz="UTC"), ts_type
assert table.schema.field("seq").type == pa.uint64()
meta = pq.ParquetFile({path:?}).metadata
for g in range(meta.num_row_groups):
    stats = meta.row_group(g).column(2).statistics
    assert stats is not None and stats.has_min_max, "seq statistics in row group %d" % g
ts = table.column("ts").cast(pa.int64()).to_pylist()
seq = table.column("seq").to_pylist()
actor = table.column("actor").to_pylist()
fields = table.column("fields").to_pylist()
spans = [table.column(c).to_pylist() for c in ("span", "span_id", "parent_id", "trace_id")]
for row in zip(seq, ts, actor, fields, *spans):
    sys.stdout.write(json.dumps(list(row)) + "\n")
"#,
        path = parquet.to_str().unwrap()
    );
    let rows = engine_rows(&script);
    assert_rows_match(&rows, &records, dir.path());
    assert_spans_match(&rows, &records);
}

#[test]
fn duckdb_reads_every_row_and_value_from_the_writers_parquet_copies() {
    let dir = tempfile::tempdir().unwrap();
    let builder = trail::builder()
        .rotate_bytes(512 * 1024)
        .compress(true)
        .parquet(true);
    let (records, stats) = write_drifting(dir.path(), builder);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("shop.manifest.json")).unwrap())
            .unwrap();
    let segments = manifest["segments"].as_array().unwrap();
    assert!(segments.len() > 10, "{} segments", segments.len());
    // One copy per sealed segment, named after it, and nothing else in the directory.
    let mut copies: Vec<String> = std::fs::read_dir(dir.path().join("parquet"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    copies.sort();
    let mut expected: Vec<String> = segments
        .iter()
        .map(|s| {
            let file = s["file"].as_str().unwrap();
            format!("{}.parquet", file.strip_suffix(".gz").unwrap_or(file))
        })
        .collect();
    expected.sort();
    assert_eq!(copies, expected);
    assert_eq!(stats.parquet_files, segments.len() as u64);
    assert_eq!(stats.parquet_errors, 0);
    // The copies' types differ from file to file (`order` is an integer in the first ones,
    // a string later); DuckDB combines them by name, widening each column.
    let glob = dir.path().join("parquet").join("shop.*.parquet");
    let script = format!(
        r#"
import duckdb, json, sys
rows = duckdb.sql("SELECT seq, epoch_ns(ts), actor, fields FROM read_parquet('{glob}', union_by_name = true) ORDER BY seq").fetchall()
for seq, ts, actor, fields in rows:
    sys.stdout.write(json.dumps([seq, ts, actor, fields]) + "\n")
"#,
        glob = glob.to_str().unwrap()
    );
    let rows = engine_rows(&script);
    assert_rows_match(&rows, &records, dir.path());
}

#[test]
fn binary_segments_get_a_schema_and_a_reason_instead_of_a_query() {
    let dir = tempfile::tempdir().unwrap();
    {
        let _turn = serial();
        let guard = trail::builder()
            .dir(dir.path())
            .name("bin")
            .format(trail::Format::Bincode)
            .install()
            .unwrap();
        for i in 0..10_u64 {
            trail::info!(actor = i, n = i, "r {i}");
        }
        drop(guard);
    }
    let path = dir.path().to_str().unwrap();
    let doc: Value = serde_json::from_str(&trail(&["schema", "--output", "json", path])).unwrap();
    assert_eq!(doc["fields"]["n"]["type"], "BIGINT");
    let text = trail(&["schema", path]);
    assert!(text.contains("fields.n  BIGINT"), "{text}");
    let out = Command::new(TRAIL)
        .args(["schema", "--output", "duckdb", path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".bin segments"), "{err}");
}
