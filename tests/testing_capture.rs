//! Test captures with no sink installed: every level, typed values, the thread's own
//! events only, futures that carry the capture, and assertions that list what was seen.
//!
//! No test here installs a sink: the file checks the capture alone.

mod common;

use common::futures::block_on;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use trail::testing::{capture, capture_at};
use trail::{Level, LevelFilter, ValueRef};

/// Pending once, then ready: the future is polled twice, as across an `.await`.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

fn panic_text(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the assertion should fail");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn every_level_is_captured_with_its_actor_message_and_typed_fields_without_a_sink() {
    assert!(!trail::is_installed());
    let cap = capture();
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
    trail::trace!(n = 1_u8, "trace {n}");
    trail::debug!(delta = -3_i32, "debug");
    trail::info!(
        actor = 42_u64,
        item = "book",
        qty = 2_u16,
        "added {qty} of {item}"
    );
    trail::warn!(
        ratio = 0.25_f64,
        small = 0.5_f32,
        letter = 'x',
        "ratio {ratio}"
    );
    trail::error!(target: "shop::pay", ok = false, peer = ip, "payment failed");
    trail::fatal!(code = 7_i64, "giving up");

    let events = cap.events();
    let levels: Vec<Level> = events.iter().map(|e| e.level()).collect();
    assert_eq!(levels, Level::ALL);
    assert_eq!(events[0].message(), "trace 1");
    assert_eq!(events[0].field("n").unwrap(), 1);
    assert_eq!(events[1].field("delta").unwrap(), -3_i64);
    assert_ne!(events[1].field("delta").unwrap(), 3_u64);
    assert_eq!(events[2].actor().unwrap(), 42_u64);
    assert_eq!(events[2].field("item").unwrap(), "book");
    assert_eq!(events[2].field("qty").unwrap(), 2_i64);
    assert_eq!(events[2].message(), "added 2 of book");
    assert_eq!(events[3].field("ratio").unwrap(), 0.25);
    assert_eq!(events[3].field("small").unwrap(), 0.5_f32);
    assert_eq!(events[3].field("letter").unwrap(), 'x');
    assert_eq!(events[3].field("missing"), None);
    assert_eq!(events[4].target(), "shop::pay");
    assert_eq!(events[4].field("ok").unwrap(), false);
    assert_eq!(events[4].field("peer").unwrap(), ip);
    assert_eq!(events[4].actor(), None);
    assert_eq!(events[5].field("code").unwrap(), 7_u8);
    assert_eq!(
        events[2].fields(),
        [("item", ValueRef::Str("book")), ("qty", ValueRef::U64(2))]
    );
    assert_eq!(events[0].target(), module_path!());
    // Nothing reached a sink, and nothing counts as lost for that.
    assert_eq!(trail::lost_without_sink(), 0);
}

#[test]
fn values_compare_by_value_and_kind() {
    let cap = capture();
    let name = String::from("ana");
    trail::info!(
        big = u128::MAX,
        neg = i128::MIN,
        zero = 0_i8,
        text = %name,
        dbg = ?Some(1),
        "values"
    );
    let event = cap.assert_logged(Level::Info, "values");
    assert_eq!(event.field("big").unwrap(), u128::MAX);
    assert_ne!(event.field("big").unwrap(), -1_i64);
    assert_eq!(event.field("neg").unwrap(), i128::MIN);
    assert_eq!(event.field("zero").unwrap(), 0_usize);
    assert_ne!(event.field("zero").unwrap(), false);
    assert_ne!(event.field("zero").unwrap(), "0");
    assert_eq!(event.field("text").unwrap(), name);
    assert_eq!(event.field("dbg").unwrap(), "Some(1)");
    assert_ne!(event.field("text").unwrap(), 0.0);
}

#[test]
fn capture_at_keeps_only_its_level_and_above() {
    let cap = capture_at(LevelFilter::Warn);
    trail::trace!("t");
    trail::debug!("d");
    trail::info!("i");
    trail::warn!("w");
    trail::error!("e");
    let messages: Vec<String> = cap.events().iter().map(|e| e.message().into()).collect();
    assert_eq!(messages, ["w", "e"]);
}

#[test]
fn events_of_other_threads_are_left_out_and_wrapped_futures_are_taken_in() {
    let cap = capture();
    trail::info!("mine");
    std::thread::spawn(|| trail::info!("another thread"))
        .join()
        .unwrap();
    let job = trail::current_scope().wrap(async {
        YieldOnce(false).await;
        trail::info!("in a future, after an await");
    });
    std::thread::spawn(move || block_on(job)).join().unwrap();
    // A future made without the scope is not the capture's.
    let unwrapped = async { trail::info!("unwrapped future") };
    std::thread::spawn(move || block_on(unwrapped))
        .join()
        .unwrap();
    let messages: Vec<String> = cap.events().iter().map(|e| e.message().into()).collect();
    assert_eq!(messages, ["mine", "in a future, after an await"]);
}

#[test]
fn nested_captures_each_see_the_events_of_their_lifetime() {
    let outer = capture();
    trail::info!("first");
    {
        let inner = capture();
        trail::info!("second");
        assert_eq!(inner.len(), 1);
        inner.assert_logged(Level::Info, "second");
        inner.assert_not_logged(Level::Info, "first");
    }
    trail::info!("third");
    let messages: Vec<String> = outer.events().iter().map(|e| e.message().into()).collect();
    assert_eq!(messages, ["first", "second", "third"]);
    outer.clear();
    assert!(outer.is_empty());
    trail::info!("fourth");
    assert_eq!(outer.len(), 1);
}

#[test]
fn scopes_add_their_actor_and_fields_to_captured_events() {
    let cap = capture();
    let _scope = trail::scope!(actor = 9_u64, request_id = "r-81");
    trail::info!(step = 1, "in a scope");
    let event = cap.assert_logged(Level::Info, "in a scope");
    assert_eq!(event.actor().unwrap(), 9);
    assert_eq!(event.field("request_id").unwrap(), "r-81");
    assert_eq!(event.field("step").unwrap(), 1);
}

#[test]
fn a_failed_assertion_lists_every_captured_event() {
    let cap = capture();
    trail::info!(actor = "ana", order = 81_u64, "order placed");
    trail::debug!(ms = 12, "cache warm");
    let text = panic_text(|| {
        cap.assert_logged(Level::Warn, "order placed");
    });
    assert_eq!(
        text,
        "no warn event with a message containing \"order placed\" was captured; \
         captured 2 events:\n  \
         info testing_capture: \"order placed\" actor=Str(\"ana\") order=U64(81)\n  \
         debug testing_capture: \"cache warm\" ms=I64(12)"
    );
    let text = panic_text(|| cap.assert_not_logged(Level::Debug, "warm"));
    assert!(
        text.starts_with(
            "a debug event with a message containing \"warm\" was captured; captured 2 events:"
        ),
        "{text}"
    );
    cap.clear();
    let text = panic_text(|| {
        cap.assert_logged(Level::Info, "anything");
    });
    assert!(text.ends_with("; nothing was captured"), "{text}");
}

#[test]
fn a_captured_event_tells_the_span_it_was_logged_in() {
    let cap = capture();
    trail::info!("outside");
    {
        let _request = trail::scope!("request");
        let _charge = trail::scope!("charge", order = 7_u64);
        trail::info!("inside");
    }
    let events = cap.events();
    assert_eq!(events[0].span(), None);
    let span = events[1].span().expect("logged in a span");
    assert_eq!(span.name, "charge");
    assert!(
        span.parent_id_hex().is_some(),
        "charge is a child of request"
    );
    assert_eq!(events[1].field("order"), Some(trail::ValueRef::U64(7)));
}
