//! A `log` record that gives a key twice is written with the key once, its later value
//! winning: no JSON object has a repeated key. (In its own process: `log` takes one
//! logger per process.)

#[test]
fn a_repeated_log_key_is_written_once_with_its_later_value() {
    use trail::read::FieldValue;

    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder().dir(dir.path()).install().unwrap();
    trail::bridge::log::install().unwrap();
    log::info!(user = 1, items = 2, user = 3; "repeated");
    drop(guard);

    let records: Vec<_> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].fields,
        [
            ("items".to_owned(), FieldValue::U64(2)),
            ("user".to_owned(), FieldValue::U64(3)),
        ]
    );
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let line = std::fs::read_to_string(file).unwrap();
    assert_eq!(line.matches("\"user\":").count(), 1, "{line}");
}
