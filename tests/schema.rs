//! `trail::schema::scan`: a segment's summary in the manifest stands for its records, and
//! segments without one are read.

use trail::schema::{Kind, StreamSchema};

fn write(dir: &std::path::Path) {
    // The writer is global: the tests take turns.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let guard = trail::builder()
        .dir(dir)
        .name("shop")
        .rotate_bytes(4096)
        .install()
        .unwrap();
    for i in 0..200_u64 {
        trail::info!(actor = i, items = i, "order {i}");
    }
    drop(guard);
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
    write(dir.path());
    let manifest = dir.path().join("shop.manifest.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
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
