//! `#[trail::instrument]`: a function runs in a span named after it (or as told), with its
//! arguments as fields (typed, or through `Debug`), `skip`, `fields` and `err`; an async
//! function's span goes along with its future, across threads, and closes with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use trail::read::{FieldValue, LogRecord};
use trail::testing::ManualClock;
use trail::SpanContext;

static SERIAL: Mutex<()> = Mutex::new(());

#[derive(Debug)]
struct Card {
    #[allow(dead_code)] // shown through `Debug` only
    last4: u16,
}

#[trail::instrument]
fn charge(order_id: u64, amount: f64, card: &Card) -> u32 {
    trail::info!("charging");
    validate(order_id)
}

#[trail::instrument(name = "check", skip(order_id), fields(rule = "luhn", kind = %KIND))]
fn validate(order_id: u64) -> u32 {
    let _ = order_id;
    trail::info!("validating");
    3
}

/// The value of `kind` in `validate`'s fields.
const KIND: &str = "card";

#[trail::instrument(skip_all, err)]
fn refund(order_id: u64) -> Result<u64, String> {
    if order_id == 0 {
        return Err("no such order".into());
    }
    Ok(order_id)
}

struct Shop {
    name: &'static str,
}

impl Shop {
    #[trail::instrument(fields(shop = self.name))]
    fn open(&self, hour: u8) {
        trail::info!("open");
    }
}

/// Pending once: the future is polled twice, as across an `.await`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[trail::instrument(err)]
async fn fetch(user: u64, clock: ManualClock) -> Result<u64, std::num::ParseIntError> {
    clock.advance(Duration::from_millis(2));
    YieldOnce(false).await;
    clock.advance(Duration::from_millis(1));
    trail::info!("fetched");
    let parsed: u64 = "x".parse()?;
    Ok(user + parsed)
}

fn span(r: &LogRecord) -> &SpanContext {
    r.span
        .as_ref()
        .unwrap_or_else(|| panic!("{:?} has no span", r.msg))
}

fn run(body: impl FnOnce(&ManualClock)) -> Vec<LogRecord> {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000_000);
    let guard = trail::builder()
        .dir(dir.path())
        .span_records(true)
        .clock(clock.clone())
        .install()
        .unwrap();
    body(&clock);
    drop(guard);
    trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn str(s: &str) -> FieldValue {
    FieldValue::Str(s.into())
}

#[test]
fn functions_run_in_spans_with_their_arguments() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let records = run(|_| {
        assert_eq!(charge(7, 9.5, &Card { last4: 4242 }), 3);
        Shop { name: "north" }.open(9);
    });
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(
        msgs,
        ["charging", "validating", "check", "charge", "open", "open"]
    );
    let charging = &records[0];
    assert_eq!(span(charging).name, "charge");
    assert_eq!(
        charging.fields,
        [
            ("order_id".into(), FieldValue::U64(7)),
            ("amount".into(), FieldValue::F64(9.5)),
            ("card".into(), str("Card { last4: 4242 }")),
        ],
        "typed when a Value, else Debug"
    );
    let validating = &records[1];
    assert_eq!(span(validating).name, "check");
    assert_eq!(span(validating).parent_id, span(charging).span_id);
    assert_eq!(span(validating).trace_id, span(charging).trace_id);
    assert_eq!(validating.field("rule"), Some(&str("luhn")));
    assert_eq!(validating.field("kind"), Some(&str("card")));
    assert_eq!(
        validating.field("order_id"),
        Some(&FieldValue::U64(7)),
        "skipped here, the outer span's"
    );
    assert!(records[2].span_timing().is_some());
    assert_eq!(records[2].target, "instrument");
    let open = &records[4];
    assert_eq!(span(open).name, "open");
    assert_eq!(
        open.fields,
        [
            ("hour".into(), FieldValue::U64(9)),
            ("shop".into(), str("north"))
        ]
    );
}

#[test]
fn err_records_the_error_inside_the_span() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let records = run(|_| {
        assert_eq!(refund(5), Ok(5));
        assert!(refund(0).is_err());
    });
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(msgs, ["refund", "returned an error", "refund"]);
    let error = &records[1];
    assert_eq!(error.level, trail::Level::Error);
    assert_eq!(error.fields, [("error".into(), str("no such order"))]);
    assert_eq!(span(error), span(&records[2]));
    assert_ne!(span(&records[0]).span_id, span(&records[2]).span_id);
}

#[test]
fn an_async_functions_span_goes_along_with_its_future() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let records = run(|clock| {
        let _request = trail::scope!("request");
        // An async function's body, its span's making too, runs at the first poll: the
        // caller's scopes go along as for any future.
        let mut job = Box::pin(trail::current_scope().wrap(fetch(41, clock.clone())));
        let first = std::thread::scope(|s| {
            s.spawn(|| job.as_mut().poll(&mut Context::from_waker(Waker::noop())))
                .join()
                .unwrap()
        });
        assert!(first.is_pending());
        clock.advance(Duration::from_millis(10));
        let done = std::thread::scope(|s| {
            s.spawn(|| job.as_mut().poll(&mut Context::from_waker(Waker::noop())))
                .join()
                .unwrap()
        });
        assert!(matches!(done, Poll::Ready(Err(_))));
    });
    let msgs: Vec<&str> = records.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(msgs, ["fetched", "returned an error", "fetch", "request"]);
    let fetched = &records[0];
    assert_eq!(span(fetched).name, "fetch");
    assert_eq!(span(fetched).parent_id, span(&records[3]).span_id);
    assert_eq!(fetched.field("user"), Some(&FieldValue::U64(41)));
    assert_eq!(span(&records[1]), span(fetched));
    let timing = records[2].span_timing().unwrap();
    assert_eq!(
        (timing.busy_ns, timing.idle_ns),
        (3_000_000, 10_000_000),
        "polled for 3 ms, waiting 10 ms"
    );
}
