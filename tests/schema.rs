//! `trail::schema::scan`: a segment's summary in the manifest stands for its records, and
//! segments without one are read.

use trail::schema::{Kind, StreamSchema};

/// The writer is global: the tests take turns.
fn turn() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes a stream, then takes the writer's summaries out of its manifest, as recovery
/// lists segments, and returns the manifest.
fn write(dir: &std::path::Path) -> serde_json::Value {
    let _turn = turn();
    let guard = trail::builder()
        .dir(dir)
        .name("shop")
        .rotate_bytes(4096)
        .schema_summary(true)
        .install()
        .unwrap();
    for i in 0..200_u64 {
        trail::info!(actor = i, items = i, "order {i}");
    }
    drop(guard);
    let path = dir.join("shop.manifest.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in doc["segments"].as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("schema");
    }
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    doc
}

fn scan(dir: &std::path::Path) -> (StreamSchema, trail::schema::Sources) {
    trail::schema::scan(dir, |e| panic!("{e}")).unwrap()
}

#[test]
fn segments_without_a_summary_are_read() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let (schema, sources) = scan(dir.path());
    assert!(sources.from_records.len() > 1);
    let files = &schema.fields["items"].kinds[&Kind::Int];
    assert_eq!(files.len(), sources.from_records.len());
    assert_eq!(schema.actor.kinds.keys().collect::<Vec<_>>(), [&Kind::Int]);
}

#[test]
fn a_summary_in_the_manifest_stands_for_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = write(dir.path());
    let manifest = dir.path().join("shop.manifest.json");
    let first = doc["segments"][0]["file"].as_str().unwrap().to_owned();
    // A summary that differs from the records, so that its use is visible.
    doc["segments"][0]["schema"] =
        serde_json::json!({"actor": ["string"], "fields": {"items": ["float"]}});
    std::fs::write(&manifest, serde_json::to_vec(&doc).unwrap()).unwrap();
    let (schema, sources) = scan(dir.path());
    let base = first.strip_suffix(".gz").unwrap_or(&first).to_owned();
    assert_eq!(sources.from_manifest, std::slice::from_ref(&base));
    assert!(!sources.from_records.contains(&base));
    assert!(schema.fields["items"].kinds[&Kind::Float].contains(&base));
    assert!(!schema.fields["items"].kinds[&Kind::Int].contains(&base));
    assert!(schema.actor.kinds[&Kind::String].contains(&base));
}

#[derive(serde::Serialize)]
struct Cart {
    items: u32,
    skus: Vec<&'static str>,
}

#[test]
fn the_writer_summarises_each_sealed_segment_as_its_records_read_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let _turn = turn();
        let guard = trail::builder()
            .dir(dir.path())
            .name("mix")
            .rotate_bytes(8192)
            .redact(["token"])
            .schema_summary(true)
            .install()
            .unwrap();
        let ip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..400_u64 {
            let cart = Cart {
                items: 3,
                skus: vec!["A-1"],
            };
            match i % 8 {
                0 => trail::info!(actor = i, n = i, "plain {i}"),
                1 => trail::info!(actor = "svc", n = "text", c = 'x', "strings"),
                2 => trail::info!(n = u64::MAX, big = i128::MIN, f = 0.5_f32, "wide"),
                3 => trail::info!(actor = ip, nan = f64::NAN, token = 7, "secret"),
                4 => trail::info!(cart = #cart, ok = true, "nested"),
                5 => trail::info!(list = #vec![1, 2], none = Option::<u8>::None, "list"),
                6 if i > 200 => trail::info!(late = i, "late"),
                _ => trail::info!(n = -1_i64, "negative"),
            }
        }
        drop(guard);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mix.manifest.json")).unwrap())
            .unwrap();
    let segments = manifest["segments"].as_array().unwrap();
    assert!(segments.len() > 2, "the stream rotated");
    for entry in segments {
        let file = entry["file"].as_str().unwrap();
        let summary: trail::schema::SegmentSchema = serde_json::from_value(entry["schema"].clone())
            .unwrap_or_else(|e| panic!("{file}: no schema summary: {e}"));
        let mut read = trail::schema::SegmentSchema::default();
        for record in trail::read::open(dir.path().join(file)).unwrap() {
            read.add_record(&record.unwrap());
        }
        assert_eq!(summary, read, "{file}");
    }
    let (_, sources) = scan(dir.path());
    assert!(sources.from_records.is_empty(), "{sources:?}");
}
