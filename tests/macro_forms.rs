//! Every form of the logging macros, checked by what reaches the sink.

mod common;

use std::cell::Cell;
use std::net::IpAddr;

use trail::{Capture, Captured, Level, LevelFilter, Value, ValueRef};

fn fields(record: &trail::Record) -> Vec<(String, String)> {
    record
        .decode()
        .fields()
        .map(|(k, v)| (k.to_owned(), format!("{v:?}")))
        .collect()
}

fn names(record: &trail::Record) -> Vec<&'static str> {
    record.metadata().fields().to_vec()
}

#[test]
fn each_level_macro_sets_its_level() {
    let _s = common::serial();
    trail::trace!("t");
    trail::debug!("d");
    trail::info!("i");
    trail::warn!("w");
    trail::error!("e");
    trail::fatal!("f");
    trail::event!(Level::Warn, "via event");
    trail::event!(trail::Level::Error, code = 3, "via event with a field");
    let levels: Vec<Level> = common::take().iter().map(|r| r.level()).collect();
    assert_eq!(
        levels,
        [
            Level::Trace,
            Level::Debug,
            Level::Info,
            Level::Warn,
            Level::Error,
            Level::Fatal,
            Level::Warn,
            Level::Error
        ]
    );
}

#[test]
fn the_issue_example_captures_actor_fields_and_message() {
    let _s = common::serial();
    struct User {
        id: u64,
    }
    let user = User { id: 7 };
    let id = 1042_u32;
    let line = line!() + 1;
    trail::info!(
        actor = user.id,
        product_id = id,
        quantity = 3,
        "added {quantity} items to cart"
    );
    let record = common::one();
    let decoded = record.decode();
    assert_eq!(decoded.actor(), Some(ValueRef::U64(7)));
    assert_eq!(names(&record), ["product_id", "quantity"]);
    assert_eq!(decoded.values()[0], ValueRef::U64(1042));
    assert_eq!(decoded.values()[1], ValueRef::I64(3));
    assert_eq!(decoded.message(), "added 3 items to cart");
    let meta = record.metadata();
    assert_eq!(meta.target(), "macro_forms");
    assert_eq!(meta.module_path(), "macro_forms");
    assert_eq!(meta.file(), "tests/macro_forms.rs");
    assert_eq!(meta.line(), line);
    assert_eq!(meta.template(), "added {quantity} items to cart");
    assert!(record.timestamp_nanos() > 1_600_000_000_000_000_000);
    assert!(!record.spilled());
}

#[test]
fn target_overrides_the_module_path() {
    let _s = common::serial();
    trail::warn!(target: "shop::billing", "late");
    trail::warn!(target: "shop::billing", amount = 5, "late {amount}");
    for record in common::take() {
        assert_eq!(record.metadata().target(), "shop::billing");
        assert_eq!(record.metadata().module_path(), "macro_forms");
    }
}

#[test]
fn sigils_pick_display_debug_and_serde() {
    let _s = common::serial();
    #[derive(Debug, serde::Serialize)]
    enum Status {
        Paid { amount: u32 },
    }
    let path = std::path::Path::new("/srv/a b");
    let status = Status::Paid { amount: 12 };
    trail::info!(path = %path.display(), status = ?status, body = #status, "sigils");
    let record = common::one();
    let decoded = record.decode();
    assert_eq!(decoded.values()[0], ValueRef::Str("/srv/a b"));
    assert_eq!(decoded.values()[1], ValueRef::Str("Paid { amount: 12 }"));
    assert_eq!(
        decoded.values()[2].to_string(),
        r#"{"Paid": {"amount": 12}}"#
    );
}

#[test]
fn shorthand_fields_take_the_name_of_the_expression() {
    let _s = common::serial();
    struct Req {
        id: u64,
    }
    let order_id = 81_u64;
    let err = std::io::Error::other("boom");
    let items = vec![1, 2];
    let cart = vec!["a"];
    let req = Req { id: 5 };
    trail::info!(order_id, %err, ?items, #cart, req.id, "shorthand");
    let record = common::one();
    assert_eq!(
        names(&record),
        ["order_id", "err", "items", "cart", "req.id"]
    );
    assert_eq!(
        fields(&record),
        [
            ("order_id".to_owned(), "U64(81)".to_owned()),
            ("err".to_owned(), r#"Str("boom")"#.to_owned()),
            ("items".to_owned(), r#"Str("[1, 2]")"#.to_owned()),
            ("cart".to_owned(), r#"Seq([Str("a")])"#.to_owned()),
            ("req.id".to_owned(), "U64(5)".to_owned()),
        ]
    );
}

#[test]
fn dotted_and_literal_keys() {
    let _s = common::serial();
    trail::info!(user.id = 7, user.name = "ana", "http.status" = 200, type = "x", "keys");
    let record = common::one();
    assert_eq!(
        names(&record),
        ["user.id", "user.name", "http.status", "type"]
    );
}

#[test]
fn actor_accepts_sigils_and_any_value() {
    let _s = common::serial();
    let ip: IpAddr = "2001:db8::1".parse().unwrap();
    trail::info!(actor = ip, "ip");
    trail::info!(actor = "svc-billing", "service");
    trail::info!(actor = %ip, "displayed");
    let actor = 9_u8;
    trail::info!(actor, "shorthand actor");
    let records = common::take();
    let actors: Vec<String> = records
        .iter()
        .map(|r| format!("{:?}", r.decode().actor().unwrap()))
        .collect();
    assert_eq!(
        actors,
        [
            "Ip(2001:db8::1)",
            r#"Str("svc-billing")"#,
            r#"Str("2001:db8::1")"#,
            "U64(9)"
        ]
    );
    for record in &records {
        assert!(
            record.metadata().fields().is_empty(),
            "the actor is not a field"
        );
    }
}

#[test]
fn messages_take_positional_named_and_captured_arguments() {
    let _s = common::serial();
    let who = "ana";
    let n = 3_u32;
    trail::info!("{} bought {} items", who, n);
    trail::info!("{1} items for {0}, again {0}", who, n);
    trail::info!("{who} bought {n} items");
    trail::info!("{buyer} bought {count} items", buyer = who, count = n + 1);
    trail::info!("braces {{}} and {{{n}}}");
    trail::info!(
        n,
        "{n:>4}|{n:<3}|{n:03}|{:.2}|{:?}|{:x}|{:#?}",
        1.5_f64,
        "q\"",
        255,
        (1,)
    );
    trail::info!(actor = who, "by {actor}");
    let messages: Vec<String> = common::take()
        .iter()
        .map(|r| r.decode().message())
        .collect();
    assert_eq!(
        messages,
        [
            "ana bought 3 items",
            "3 items for ana, again ana",
            "ana bought 3 items",
            "ana bought 4 items",
            "braces {} and {3}",
            "   3|3  |003|1.50|\"q\\\"\"|ff|(\n    1,\n)",
            "by ana",
        ]
    );
}

#[test]
fn plain_message_arguments_are_captured_raw_and_others_rendered() {
    let _s = common::serial();
    struct Shown;
    impl std::fmt::Display for Shown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("shown")
        }
    }
    trail::info!("{} {} {}", 5_u64, -2.5_f64, Shown);
    let record = common::one();
    let decoded = record.decode();
    assert_eq!(
        decoded.values(),
        [
            ValueRef::U64(5),
            ValueRef::F64(-2.5),
            ValueRef::Str("shown")
        ]
    );
    assert_eq!(decoded.message(), "5 -2.5 shown");
    assert!(
        record.metadata().fields().is_empty(),
        "arguments are not fields"
    );
}

#[test]
fn fields_alone_and_trailing_commas() {
    let _s = common::serial();
    trail::info!(a = 1,);
    trail::info!(a = 1, "m",);
    trail::info!("m {}", 1,);
    let records = common::take();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].decode().message(), "");
    assert_eq!(records[0].metadata().template(), "");
}

#[test]
fn values_keep_their_types() {
    let _s = common::serial();
    let some: Option<u16> = Some(4);
    let none: Option<&str> = None;
    let owned = String::from("owned");
    trail::info!(
        u = u64::MAX,
        i = i64::MIN,
        big = u128::MAX,
        small = -1_i8,
        f = 0.1_f32,
        d = 1e300_f64,
        b = true,
        c = 'é',
        s = "text",
        owned,
        some,
        none,
        ip = std::net::Ipv4Addr::LOCALHOST,
        "types"
    );
    let record = common::one();
    let values = record.decode().values().to_vec();
    assert_eq!(
        values,
        [
            ValueRef::U64(u64::MAX),
            ValueRef::I64(i64::MIN),
            ValueRef::U128(u128::MAX),
            ValueRef::I64(-1),
            ValueRef::F32(0.1),
            ValueRef::F64(1e300),
            ValueRef::Bool(true),
            ValueRef::Char('é'),
            ValueRef::Str("text"),
            ValueRef::Str("owned"),
            ValueRef::U64(4),
            ValueRef::Null,
            ValueRef::Ip("127.0.0.1".parse().unwrap()),
        ]
    );
}

#[test]
fn user_types_implement_value() {
    let _s = common::serial();
    struct Money {
        cents: i64,
    }
    impl Value for Money {
        fn capture<'a>(&self, out: Capture<'a>) -> Captured<'a> {
            out.i64(self.cents)
        }
    }
    trail::info!(price = Money { cents: 1999 }, "priced");
    assert_eq!(common::one().decode().values(), [ValueRef::I64(1999)]);
}

#[test]
fn strings_past_the_inline_capacity_spill_to_the_heap() {
    let _s = common::serial();
    let short = "x".repeat(40);
    let long = "y".repeat(500);
    trail::info!(short, "fits");
    trail::info!(long, "spills");
    let records = common::take();
    assert!(!records[0].spilled());
    assert!(records[1].spilled());
    assert_eq!(records[1].decode().values()[0], ValueRef::Str(&long));
}

#[test]
fn a_disabled_level_evaluates_no_argument() {
    let _s = common::serial();
    let evaluated = Cell::new(0);
    let touch = |v: u32| {
        evaluated.set(evaluated.get() + 1);
        v
    };
    trail::set_max_level(LevelFilter::Info);
    trail::debug!(actor = touch(1), a = touch(2), b = %touch(3), "{} {n}", touch(4), n = touch(5));
    trail::trace!(a = touch(6));
    assert_eq!(evaluated.get(), 0);
    assert!(common::take().is_empty());
    trail::info!(a = touch(7), "{}", touch(8));
    assert_eq!(
        evaluated.get(),
        2,
        "each argument of an enabled call is evaluated once"
    );
    trail::set_max_level(LevelFilter::Trace);
    assert_eq!(common::take().len(), 1);
}

#[test]
fn arguments_are_evaluated_once_in_order() {
    let _s = common::serial();
    let order = std::cell::RefCell::new(Vec::new());
    let note = |v: u32| {
        order.borrow_mut().push(v);
        v
    };
    trail::info!(
        actor = note(1),
        a = note(2),
        b = note(3),
        "{a} {} {}",
        note(4),
        note(5)
    );
    assert_eq!(*order.borrow(), [1, 2, 3, 4, 5]);
    assert_eq!(common::one().decode().message(), "2 4 5");
}

#[test]
fn serde_values_nest_like_serde_json() {
    let _s = common::serial();
    #[derive(serde::Serialize)]
    struct Line {
        sku: &'static str,
        qty: u32,
    }
    #[derive(serde::Serialize)]
    enum Event {
        Unit,
        New(u8),
        Pair(u8, u8),
    }
    let lines = vec![Line { sku: "A", qty: 2 }];
    let map: std::collections::BTreeMap<u32, bool> = [(1, true)].into();
    trail::info!(lines = #lines, u = #Event::Unit, n = #Event::New(1), p = #Event::Pair(1, 2), map = #map, "nested");
    let record = common::one();
    let shown: Vec<String> = record
        .decode()
        .values()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        shown,
        [
            r#"[{"sku": "A", "qty": 2}]"#,
            "Unit",
            r#"{"New": 1}"#,
            r#"{"Pair": [1, 2]}"#,
            r#"{"1": true}"#,
        ]
    );
}
