//! Scoped context: every event on the thread carries the scope's actor and fields, its
//! own values winning; scopes nest; a wrapped future carries them to other threads.

mod common;

use common::futures::block_on;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use trail::read::{FieldValue, LogRecord};
use trail::Format;

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

fn str(s: &str) -> FieldValue {
    FieldValue::Str(s.into())
}

/// The tests of this file install the one global writer in turn.
static ONE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `log` with a writer of `format` installed, one test of this file at a time, and
/// reads back what it wrote.
fn logged(format: Format, log: impl FnOnce()) -> Vec<LogRecord> {
    let _one = ONE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .format(format)
        .install()
        .unwrap();
    log();
    drop(guard);
    trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn run(format: Format) -> Vec<LogRecord> {
    logged(format, || {
        {
            let uid = 42_u64;
            let rid = "r-81";
            let _outer = trail::scope!(actor = uid, request_id = rid, region = "eu");
            trail::info!("in the scope {}", 5);
            trail::info!(actor = 7_u64, region = "us", "own values win");
            {
                let _inner = trail::scope!(request_id = "r-82", step = 2_u32);
                trail::info!(n = 1_u8, "inner scope");
            }
            std::thread::scope(|s| {
                s.spawn(|| trail::info!("another thread"));
            });
            let job = trail::current_scope().wrap(async {
                YieldOnce(false).await;
                trail::info!("in a future, after an await");
            });
            std::thread::spawn(move || block_on(job)).join().unwrap();
        }
        trail::info!("after the scope");
    })
}

#[test]
fn events_carry_their_scopes_in_every_format() {
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let r = run(format);
        let msgs: Vec<&str> = r.iter().map(|r| r.msg.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "in the scope 5",
                "own values win",
                "inner scope",
                "another thread",
                "in a future, after an await",
                "after the scope"
            ],
            "{format}"
        );
        assert_eq!(r[0].actor, Some(FieldValue::U64(42)), "{format}");
        assert_eq!(
            r[0].fields,
            [
                ("request_id".into(), str("r-81")),
                ("region".into(), str("eu"))
            ],
            "{format}"
        );
        assert_eq!(r[1].actor, Some(FieldValue::U64(7)), "{format}");
        assert_eq!(
            r[1].fields,
            [
                ("region".into(), str("us")),
                ("request_id".into(), str("r-81"))
            ],
            "{format}"
        );
        assert_eq!(r[2].actor, Some(FieldValue::U64(42)), "{format}");
        assert_eq!(
            r[2].fields,
            [
                ("n".into(), FieldValue::U64(1)),
                ("request_id".into(), str("r-82")),
                ("step".into(), FieldValue::U64(2)),
                ("region".into(), str("eu")),
            ],
            "{format}"
        );
        assert_eq!(r[3].actor, None, "{format}: scopes are per thread");
        assert!(r[3].fields.is_empty(), "{format}");
        assert_eq!(
            r[4].actor,
            Some(FieldValue::U64(42)),
            "{format}: the future took its scope along"
        );
        assert_eq!(
            r[4].fields,
            [
                ("request_id".into(), str("r-81")),
                ("region".into(), str("eu"))
            ],
            "{format}"
        );
        assert_eq!(r[5].actor, None, "{format}");
        assert!(r[5].fields.is_empty(), "{format}");
    }
}

/// An event as the next test checks it: message, actor, fields, span name.
type Seen<'a> = (&'a str, Option<u64>, Vec<(&'a str, u64)>, Option<&'a str>);

/// Each event carries the scopes and span that are entered when it is logged, however the
/// stack changed since the thread's last event: nothing of a left scope stays, and a call
/// that sets a scope's field keeps its own value.
#[test]
fn events_follow_the_stack_as_it_changes() {
    let r = logged(Format::Json, || {
        {
            let _a = trail::scope!(actor = 1_u64, x = 1_u8);
            trail::info!("a");
            {
                let _b = trail::scope!("b", y = 2_u8, x = 3_u8);
                trail::info!("ab");
                trail::info!(x = 9_u8, "ab, own x");
                {
                    let _c = trail::scope!("c", actor = 5_u64);
                    trail::info!("abc");
                }
                trail::info!("ab again");
            }
            trail::info!("a again");
        }
        trail::info!("none");
    });
    let seen: Vec<Seen> = r
        .iter()
        .map(|r| {
            let actor = match r.actor {
                Some(FieldValue::U64(a)) => Some(a),
                None => None,
                ref other => panic!("actor {other:?}"),
            };
            let fields = r
                .fields
                .iter()
                .map(|(k, v)| match v {
                    FieldValue::U64(n) => (k.as_str(), *n),
                    other => panic!("field {k} = {other:?}"),
                })
                .collect();
            (
                r.msg.as_str(),
                actor,
                fields,
                r.span.as_ref().map(|s| s.name.as_str()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("a", Some(1), vec![("x", 1)], None),
            ("ab", Some(1), vec![("y", 2), ("x", 3)], Some("b")),
            ("ab, own x", Some(1), vec![("x", 9), ("y", 2)], Some("b")),
            ("abc", Some(5), vec![("y", 2), ("x", 3)], Some("c")),
            ("ab again", Some(1), vec![("y", 2), ("x", 3)], Some("b")),
            ("a again", Some(1), vec![("x", 1)], None),
            ("none", None, vec![], None),
        ]
    );
}

/// A record's span context is whole whatever room its own values leave: short and long
/// span names, with values that end anywhere around the record's inline room and past it.
#[test]
fn span_context_is_whole_whatever_the_size_of_the_event() {
    // Names whose context takes two blocks, four, and more than the blocks hold.
    const MIDDLE: &str = "a span with a name long enough to need four blocks";
    const LONG: &str =
        "a span with a name so long that its context is more than four blocks of bytes, \
                        which events copy another way";
    let r = logged(Format::Bincode, || {
        let sized = || {
            for n in 0..320 {
                let text = "x".repeat(n);
                trail::info!(n, text, "sized");
            }
        };
        {
            let _span = trail::scope!("s");
            sized();
        }
        {
            let _span = trail::scope!("a span with a name long enough to need four blocks");
            sized();
        }
        {
            let _span = trail::scope!(
                "a span with a name so long that its context is more than four blocks of bytes, \
                 which events copy another way"
            );
            sized();
        }
    });
    assert_eq!(r.len(), 960);
    for (i, record) in r.iter().enumerate() {
        let n = i % 320;
        let span = record.span.as_ref().expect("a span");
        assert_eq!(span.name, ["s", MIDDLE, LONG][i / 320], "{i}");
        assert_eq!(
            record.fields,
            [
                ("n".into(), FieldValue::U64(n as u64)),
                ("text".into(), str(&"x".repeat(n)))
            ],
            "{i}"
        );
    }
}

/// Logs from one call site, with its own field `x`.
fn shared_site(x: u8) {
    trail::info!(x, "shared");
}

/// A call site that set none of one stack's scope fields may set one of the next stack's:
/// what was learnt of it does not outlive the stack it was learnt for.
#[test]
fn a_call_site_is_checked_again_when_the_scopes_change() {
    let records = logged(Format::Bincode, || {
        {
            let _s = trail::scope!("one", y = 1_u8);
            shared_site(5);
            shared_site(6);
        }
        {
            let _s = trail::scope!("two", x = 2_u8, z = 3_u8);
            shared_site(7);
            shared_site(8);
        }
    });
    let fields: Vec<Vec<(String, FieldValue)>> = records.into_iter().map(|r| r.fields).collect();
    let u = |k: &str, n: u64| (k.to_owned(), FieldValue::U64(n));
    assert_eq!(
        fields,
        [
            vec![u("x", 5), u("y", 1)],
            vec![u("x", 6), u("y", 1)],
            vec![u("x", 7), u("z", 3)],
            vec![u("x", 8), u("z", 3)],
        ]
    );
}
