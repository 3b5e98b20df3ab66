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

fn run(format: Format) -> Vec<LogRecord> {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .format(format)
        .install()
        .unwrap();
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
    drop(guard);
    trail::read::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
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
