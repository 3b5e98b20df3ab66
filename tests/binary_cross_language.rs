//! The binary format as docs/FORMAT.md specifies it is enough for another language:
//! `scripts/trail_bin.py`, written from the document alone, reads what the writer wrote,
//! and agrees with `trail::read` record by record.

use std::process::Command;

use serde_json::{json, Value as Json};
use trail::read::FieldValue;

fn to_json(v: &FieldValue) -> Json {
    match v {
        FieldValue::Null => Json::Null,
        FieldValue::Bool(b) => json!(b),
        FieldValue::I64(n) => json!(n),
        FieldValue::U64(n) => json!(n),
        FieldValue::I128(n) => json!(n.to_string()),
        FieldValue::U128(n) => json!(n.to_string()),
        FieldValue::F64(f) => json!(f),
        FieldValue::Str(s) => json!(s),
        FieldValue::Bytes(b) => json!(b),
        FieldValue::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        FieldValue::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

#[test]
fn a_python_reader_written_from_the_document_agrees_with_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("x")
        .format(trail::Format::Bincode)
        .rotate_bytes(4096)
        .compress(true)
        .level(trail::LevelFilter::Trace)
        .install()
        .unwrap();
    let ip: std::net::Ipv4Addr = "10.1.2.3".parse().unwrap();
    for i in 0..300_i64 {
        let tags = vec!["a", "é\"q"];
        let nested = std::collections::BTreeMap::from([("n", i), ("m", -i)]);
        // Some records in a root span, some in a child span: the frame with a span context.
        let _batch = (i % 4 != 0).then(|| trail::scope!("batch", batch = i / 4));
        let _item = (i % 4 == 3).then(|| trail::scope!("item é"));
        match i % 3 {
            0 => {
                trail::info!(actor = i as u64, i, neg = -i * 1000, ok = i % 2 == 0, tags = #tags, "event {i} for {}", "ana")
            }
            1 => trail::warn!(actor = ip, nested = #nested, ratio = 0.25, c = 'z', "warned {i}"),
            _ => trail::debug!(big = 1_u64 << 40, none = None::<u8>, "no actor"),
        }
    }
    drop(guard);

    let mut segments: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.contains(".bin"))
        .collect();
    segments.sort();
    assert!(segments.len() > 3 && segments.iter().all(|p| p.ends_with(".bin.gz")));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/trail_bin.py");
    let output = Command::new("python3")
        .arg(script)
        .args(&segments)
        .output()
        .expect("python3 runs (the machine image has it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let python: Vec<Json> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let rust: Vec<Json> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            let mut o = json!({
                "seq": r.seq, "ts": r.ts, "level": r.level.as_str(), "target": r.target,
                "msg": r.msg, "file": r.file, "line": r.line, "thread": r.thread,
                "fields": Json::Object(r.fields.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
            });
            if let Some(actor) = &r.actor {
                o["actor"] = to_json(actor);
            }
            if let Some(span) = &r.span {
                o["span"] = json!(span.name);
                o["span_id"] = json!(span.span_id_hex());
                o["trace_id"] = json!(span.trace_id_hex());
                if let Some(parent) = span.parent_id_hex() {
                    o["parent_id"] = json!(parent);
                }
            }
            o
        })
        .collect();
    assert_eq!(rust.len(), 300);
    assert_eq!(python.len(), 300);
    let in_spans = python.iter().filter(|p| p.get("span").is_some()).count();
    let children = python
        .iter()
        .filter(|p| p.get("parent_id").is_some())
        .count();
    assert_eq!((in_spans, children), (225, 75));
    for (p, r) in python.iter().zip(&rust) {
        assert_eq!(p, r);
    }
}
