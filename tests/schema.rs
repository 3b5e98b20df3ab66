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

/// Logs the same kinds as `log_mix` from many call sites at once: more than the writer
/// keeps in its cache of call sites, so that they take turns in its slots.
macro_rules! times4 {
    ($($body:tt)*) => {
        $($body)* $($body)* $($body)* $($body)*
    };
}

/// Logs a stream of mixed kinds: each kind a value can have, kinds that change from one
/// record to the next at one call site, fields a scope adds, a span, a call site with more fields
/// than the writer packs, and 512 call sites besides.
fn log_mix() {
    let ip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    for i in 0..400_u64 {
        let cart = Cart {
            items: 3,
            skus: vec!["A-1"],
        };
        match i % 10 {
            0 => trail::info!(actor = i, n = i, "plain {i}"),
            1 => trail::info!(actor = "svc", n = "text", c = 'x', "strings"),
            2 => trail::info!(n = u64::MAX, big = i128::MIN, f = 0.5_f32, "wide"),
            3 => trail::info!(actor = ip, nan = f64::NAN, token = 7, "secret"),
            4 => trail::info!(cart = #cart, ok = true, "nested"),
            5 => trail::info!(list = #vec![1, 2], none = Option::<u8>::None, "list"),
            6 if i > 200 => trail::info!(late = i, "late"),
            7 => {
                // One call site whose kinds follow the values: an integer past `i64::MAX`,
                // a non-finite float, an actor that is sometimes text.
                let (w, f) = if i % 3 == 0 {
                    (u64::MAX, f64::INFINITY)
                } else {
                    (i, 1.5)
                };
                if i % 4 == 3 {
                    trail::info!(actor = "svc", w = w, f = f, "by value");
                } else {
                    trail::info!(actor = i, w = w, f = f, "by value");
                }
            }
            8 if i % 20 == 8 => {
                let _scope = trail::scope!(request = i, region = "eu", token = "t");
                trail::info!(actor = i, n = i, "scoped");
            }
            8 => {
                // A span adds its context after the call's values, and no field.
                let _span = trail::scope!("charge");
                trail::info!(actor = i, n = "in a span", "spanned");
            }
            9 => trail::info!(
                f1 = 1,
                f2 = 2,
                f3 = 3,
                f4 = 4,
                f5 = 5,
                f6 = 6,
                f7 = 7,
                f8 = 8,
                f9 = 9,
                f10 = 10,
                f11 = 11,
                f12 = 12,
                f13 = 13,
                f14 = 14,
                f15 = 15,
                f16 = "sixteen",
                f17 = 17.5,
                "wide call site"
            ),
            _ => trail::info!(n = -1_i64, "negative"),
        }
        if i % 50 == 0 {
            times4! { times4! { times4! { times4! { times4! {
                trail::info!(actor = i, site = i, "many sites");
            } } } } }
        }
    }
}

/// Writes `log_mix` in `format` with the builder's defaults and `redact`, and checks that
/// every sealed segment's summary in the manifest is what its records read back say.
fn summaries_agree_with_the_records(format: trail::Format, redact: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    {
        let _turn = turn();
        let guard = trail::builder()
            .dir(dir.path())
            .name("mix")
            .format(format)
            .rotate_bytes(8192)
            .redact(redact.iter().copied())
            .install()
            .unwrap();
        log_mix();
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

#[test]
fn the_writer_summarises_each_sealed_segment_as_its_records_read_back() {
    summaries_agree_with_the_records(trail::Format::Json, &["token"]);
}

#[test]
fn a_summary_sees_redacted_values_as_the_strings_written() {
    summaries_agree_with_the_records(trail::Format::Json, &["actor", "n", "w", "f16", "region"]);
}

/// The binary encoder tells the summary its records' kinds as it writes them.
#[test]
fn binary_segments_are_summarised_as_their_records_read_back() {
    summaries_agree_with_the_records(trail::Format::Binary, &[]);
    summaries_agree_with_the_records(trail::Format::Binary, &["actor", "n", "region"]);
}

#[test]
fn a_writer_built_without_summaries_lists_segments_without_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let _turn = turn();
        let guard = trail::builder()
            .dir(dir.path())
            .name("bare")
            .rotate_bytes(4096)
            .schema_summary(false)
            .install()
            .unwrap();
        for i in 0..200_u64 {
            trail::info!(actor = i, items = i, "order {i}");
        }
        drop(guard);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("bare.manifest.json")).unwrap())
            .unwrap();
    let segments = manifest["segments"].as_array().unwrap();
    assert!(segments.len() > 1);
    assert!(
        segments.iter().all(|s| s.get("schema").is_none()),
        "{manifest}"
    );
}
