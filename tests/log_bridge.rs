//! Crates that log through the `log` crate (here, two modules that use only `log`) reach
//! trail's files with their level, target, location and typed key-values.

mod shop {
    pub fn checkout(user: u64, items: u32) -> u32 {
        log::info!(user, items, total = 19.5, vip = true, code = 'Q'; "checked out {items} items");
        items
    }
}

mod payments {
    pub fn decline(reason: &str) {
        log::warn!(target: "payments::gateway", reason; "card declined");
        log::debug!("debug is below the filter");
        log::error!("no key-values at all");
    }
}

#[test]
fn log_records_arrive_with_their_structure() {
    use trail::read::FieldValue;

    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .install()
        .unwrap();
    trail::bridge::log::install().unwrap();
    assert!(log::log_enabled!(log::Level::Info));
    assert!(
        !log::log_enabled!(log::Level::Debug),
        "the log filter follows trail's"
    );

    for _ in 0..2 {
        shop::checkout(7, 3);
    }
    payments::decline("insufficient funds");
    trail::info!("trail's own event in between");
    trail::set_max_level(trail::LevelFilter::Debug);
    assert!(
        log::log_enabled!(log::Level::Debug),
        "a change of trail's filter reaches log"
    );
    trail::set_max_level(trail::LevelFilter::Info);
    drop(guard);

    let records: Vec<_> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "checked out 3 items",
            "checked out 3 items",
            "card declined",
            "no key-values at all",
            "trail's own event in between"
        ]
    );
    let first = &records[0];
    assert_eq!(first.level, trail::Level::Info);
    assert_eq!(first.target, "log_bridge::shop");
    assert_eq!(first.file, "tests/log_bridge.rs");
    assert_eq!(first.line, 6, "the line of the log::info! call");
    assert_eq!(
        first.fields,
        [
            ("user".to_owned(), FieldValue::U64(7)),
            ("items".to_owned(), FieldValue::U64(3)),
            ("total".to_owned(), FieldValue::F64(19.5)),
            ("vip".to_owned(), FieldValue::Bool(true)),
            ("code".to_owned(), FieldValue::Str("Q".into())),
        ]
    );
    assert_eq!(records[2].level, trail::Level::Warn);
    assert_eq!(records[2].target, "payments::gateway");
    assert_eq!(
        records[2].fields,
        [(
            "reason".to_owned(),
            FieldValue::Str("insufficient funds".into())
        )]
    );
    assert_eq!(records[3].level, trail::Level::Error);
    assert!(records[3].fields.is_empty());
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
}
