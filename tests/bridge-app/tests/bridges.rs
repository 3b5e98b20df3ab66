//! Events from a `log`-only library and a `tracing`-only library arrive in trail's files
//! with their level, target, location, typed fields and span context; the `EnvFilter` and
//! the `fmt` layer beside trail's layer work as usual.

use std::sync::{Arc, Mutex};

use trail::read::{FieldValue, LogRecord};

fn field<'a>(r: &'a LogRecord, key: &str) -> Option<&'a FieldValue> {
    r.field(key)
}

#[test]
fn log_and_tracing_events_arrive_with_their_structure() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .filter_from_env(false)
        .level(trail::LevelFilter::Debug)
        .install()
        .unwrap();
    let fmt_out = Arc::new(Mutex::new(Vec::new()));
    bridge_app::install_bridges("info", Arc::clone(&fmt_out));

    assert!(log_lib::reserve("A-1", 2));
    assert!(!log_lib::reserve("B-2", 9));
    assert_eq!(tracing_lib::handle(7, "/cart"), 200);
    drop(guard);

    let records: Vec<LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    // log's debug passes trail's filter (debug); tracing's debug is stopped by EnvFilter (info).
    assert_eq!(
        msgs,
        [
            "checking stock",
            "reserved 2 of A-1",
            "checking stock",
            "not enough stock",
            "request started",
            "slow query",
            "request failed on purpose",
        ]
    );

    let reserved = &records[1];
    assert_eq!(reserved.level, trail::Level::Info);
    assert_eq!(reserved.target, "log_lib");
    assert!(
        reserved.file.ends_with("log-lib/src/lib.rs"),
        "{}",
        reserved.file
    );
    assert_eq!(
        reserved.fields,
        [
            ("sku".to_owned(), FieldValue::Str("A-1".into())),
            ("quantity".to_owned(), FieldValue::U64(2)),
            ("remaining".to_owned(), FieldValue::U64(3)),
        ]
    );
    assert_eq!(records[3].target, "inventory::shortage");
    assert_eq!(records[3].level, trail::Level::Warn);

    let started = &records[4];
    assert_eq!(started.target, "tracing_lib");
    assert!(
        started.file.ends_with("tracing-lib/src/lib.rs"),
        "{}",
        started.file
    );
    assert_eq!(
        field(started, "method"),
        Some(&FieldValue::Str("GET".into()))
    );
    assert_eq!(
        field(started, "user"),
        Some(&FieldValue::U64(7)),
        "the request span's field"
    );
    assert_eq!(
        field(started, "path"),
        Some(&FieldValue::Str("/cart".into()))
    );

    let slow = &records[5];
    assert_eq!(slow.level, trail::Level::Warn);
    assert_eq!(field(slow, "elapsed_ms"), Some(&FieldValue::F64(250.5)));
    assert_eq!(
        field(slow, "table"),
        Some(&FieldValue::Str("orders".into())),
        "the inner span"
    );
    assert_eq!(
        field(slow, "user"),
        Some(&FieldValue::U64(7)),
        "the outer span"
    );

    let failed = &records[6];
    assert_eq!(failed.level, trail::Level::Error);
    assert_eq!(field(failed, "status"), Some(&FieldValue::U64(200)));
    assert_eq!(
        field(failed, "path"),
        Some(&FieldValue::Str("/override".into())),
        "the event's own value wins"
    );
    assert_eq!(
        field(failed, "attempt"),
        Some(&FieldValue::U64(2)),
        "a span field recorded later"
    );
    assert_eq!(field(failed, "table"), None, "the db span had ended");

    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    let fmt_text = String::from_utf8(fmt_out.lock().unwrap().clone()).unwrap();
    assert!(
        fmt_text.contains("request started") && fmt_text.contains("slow query"),
        "{fmt_text}"
    );
    assert!(
        !fmt_text.contains("query ran"),
        "EnvFilter applies to the fmt layer too"
    );
}
