//! Spans: named scopes give every record inside them the innermost span's context (name,
//! span id, parent id, trace id), in every format and profile, read back the same; with
//! span records on, a span writes one record when it closes, timed by the writer's clock.

mod common;

use common::futures::block_on;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use trail::read::{FieldValue, LogRecord};
use trail::testing::ManualClock;
use trail::{Format, JsonProfile, SpanContext};

/// The writer is global: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn read(dir: &std::path::Path) -> Vec<LogRecord> {
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn span(r: &LogRecord) -> &SpanContext {
    r.span
        .as_ref()
        .unwrap_or_else(|| panic!("{:?} has no span", r.msg))
}

/// Nested spans, an event outside them, a thread without them and a future that takes
/// them along, written in `format` with `profile`.
fn nested(format: Format, profile: JsonProfile) -> (Vec<LogRecord>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .format(format)
        .json_profile(profile)
        .install()
        .unwrap();
    trail::info!("before");
    {
        let _request = trail::scope!("request", request_id = "r-1");
        trail::info!("in request");
        {
            let _charge = trail::scope!("charge", order_id = 7_u64);
            trail::info!(amount = 30_u32, "in charge");
        }
        std::thread::scope(|s| {
            s.spawn(|| trail::info!("other thread"));
        });
        let job = trail::current_scope().wrap(async { trail::info!("in a future") });
        std::thread::spawn(move || block_on(job)).join().unwrap();
        {
            let _scope = trail::scope!(step = 2_u8);
            trail::info!("unnamed scope inside");
        }
    }
    trail::info!("after");
    drop(guard);
    let bytes = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| ["jsonl", "csv", "log", "bin"].contains(&e.to_str().unwrap()))
        })
        .map(|p| std::fs::read(p).unwrap())
        .reduce(|mut a, b| {
            a.extend(b);
            a
        })
        .unwrap_or_default();
    (read(dir.path()), bytes)
}

fn check_nested(r: &[LogRecord], what: &str) {
    let msgs: Vec<&str> = r.iter().map(|r| r.msg.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "before",
            "in request",
            "in charge",
            "other thread",
            "in a future",
            "unnamed scope inside",
            "after"
        ],
        "{what}"
    );
    assert_eq!(r[0].span, None, "{what}");
    assert_eq!(r[3].span, None, "{what}: spans are per thread");
    assert_eq!(r[6].span, None, "{what}");
    let request = span(&r[1]);
    assert_eq!(request.name, "request", "{what}");
    assert_eq!(request.parent_id, [0; 8], "{what}: a root span");
    assert_ne!(request.trace_id, [0; 16], "{what}");
    assert_ne!(request.span_id, [0; 8], "{what}");
    let charge = span(&r[2]);
    assert_eq!(charge.name, "charge", "{what}");
    assert_eq!(charge.parent_id, request.span_id, "{what}");
    assert_eq!(charge.trace_id, request.trace_id, "{what}");
    assert_ne!(charge.span_id, request.span_id, "{what}");
    assert_eq!(
        r[2].fields,
        [
            ("amount".into(), FieldValue::U64(30)),
            ("order_id".into(), FieldValue::U64(7)),
            ("request_id".into(), FieldValue::Str("r-1".into())),
        ],
        "{what}: a span's fields are a scope's"
    );
    assert_eq!(
        span(&r[4]),
        request,
        "{what}: the future took its span along"
    );
    assert_eq!(span(&r[5]), request, "{what}: an unnamed scope is no span");
}

#[test]
fn records_in_spans_carry_the_innermost_span_in_every_format_and_profile() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for format in [Format::Json, Format::Csv, Format::Text, Format::Binary] {
        let (records, _) = nested(format, JsonProfile::Canonical);
        check_nested(&records, &format.to_string());
    }
    for profile in [JsonProfile::OpenTelemetry, JsonProfile::Ecs] {
        let (records, _) = nested(Format::Json, profile);
        check_nested(&records, &format!("{profile:?}"));
    }
}

#[test]
fn the_json_shapes_are_the_documented_ones() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let (records, bytes) = nested(Format::Json, JsonProfile::Canonical);
    let text = String::from_utf8(bytes).unwrap();
    let charge = span(&records[2]);
    let line = text.lines().nth(2).unwrap();
    let thread = &records[2].thread;
    let tail = format!(
        ",\"thread\":\"{thread}\",\"span\":\"charge\",\"span_id\":\"{}\",\"parent_id\":\"{}\",\"trace_id\":\"{}\"}}",
        charge.span_id_hex(),
        charge.parent_id_hex().unwrap(),
        charge.trace_id_hex()
    );
    assert!(line.ends_with(&tail), "{line}");
    let root = text.lines().nth(1).unwrap();
    assert!(
        !root.contains("parent_id"),
        "a root span has no parent: {root}"
    );
    let outside = text.lines().next().unwrap();
    assert!(
        outside.ends_with(&format!(",\"thread\":\"{thread}\"}}")),
        "{outside}"
    );

    let (records, bytes) = nested(Format::Json, JsonProfile::OpenTelemetry);
    let text = String::from_utf8(bytes).unwrap();
    let charge = span(&records[2]);
    let line: serde_json::Value = serde_json::from_str(text.lines().nth(2).unwrap()).unwrap();
    assert_eq!(line["traceId"], charge.trace_id_hex());
    assert_eq!(line["spanId"], charge.span_id_hex());
    assert_eq!(line["attributes"]["trail.span.name"], "charge");
    assert_eq!(
        line["attributes"]["trail.span.parent_id"],
        charge.parent_id_hex().unwrap()
    );
    assert_eq!(charge.trace_id_hex().len(), 32);
    assert_eq!(charge.span_id_hex().len(), 16);

    let (records, bytes) = nested(Format::Csv, JsonProfile::Canonical);
    let text = String::from_utf8(bytes).unwrap();
    let charge = span(&records[2]);
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "ts,level,seq,actor,target,msg,fields,file,line,thread,span,span_id,parent_id,trace_id"
    );
    let thread = &records[2].thread;
    assert!(lines.next().unwrap().ends_with(&format!(",{thread},,,,")));
    assert!(lines.nth(1).unwrap().ends_with(&format!(
        ",{thread},charge,{},{},{}",
        charge.span_id_hex(),
        charge.parent_id_hex().unwrap(),
        charge.trace_id_hex()
    )));
}

/// Ready on its second poll; each poll moves the clock by `busy`.
struct Work {
    clock: ManualClock,
    busy: Duration,
    polls: u32,
}

impl Future for Work {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.clock.advance(self.busy);
        self.polls += 1;
        trail::info!("working");
        if self.polls == 2 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

const T0: u64 = 1_700_000_000_000_000_000;

#[test]
fn spans_write_a_timed_record_when_they_close() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for format in [Format::Json, Format::Csv, Format::Text, Format::Binary] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let guard = trail::builder()
            .dir(dir.path())
            .format(format)
            .span_records(true)
            .clock(clock.clone())
            .install()
            .unwrap();
        let job = {
            let _request = trail::scope!("request", user = "ana");
            clock.advance(Duration::from_millis(1));
            {
                let _charge = trail::scope!("charge", order_id = 7_u64);
                clock.advance(Duration::from_millis(5));
            }
            let _wait = trail::scope!("wait");
            trail::current_scope().wrap(Work {
                clock: clock.clone(),
                busy: Duration::from_millis(2),
                polls: 0,
            })
        };
        // The future is polled on another thread, and waits 10 ms between its polls.
        let mut job = Box::pin(job);
        let first = std::thread::scope(|s| {
            s.spawn(|| job.as_mut().poll(&mut Context::from_waker(Waker::noop())))
                .join()
        });
        assert!(first.unwrap().is_pending());
        let mut cx = Context::from_waker(Waker::noop());
        clock.advance(Duration::from_millis(10));
        assert!(job.as_mut().poll(&mut cx).is_ready());
        drop(job);
        drop(guard);

        let records = read(dir.path());
        let what = format.to_string();
        let closed: Vec<&LogRecord> = records
            .iter()
            .filter(|r| r.span_timing().is_some())
            .collect();
        let names: Vec<&str> = closed.iter().map(|r| r.msg.as_str()).collect();
        assert_eq!(names, ["charge", "wait", "request"], "{what}");
        let ms = 1_000_000;
        let charge = closed[0];
        assert_eq!(
            charge.span_timing().unwrap(),
            trail::SpanTiming {
                start_ns: T0 + ms,
                end_ns: T0 + 6 * ms,
                busy_ns: 5 * ms,
                idle_ns: 0
            },
            "{what}"
        );
        assert_eq!(
            charge.field("order_id"),
            Some(&FieldValue::U64(7)),
            "{what}"
        );
        assert_eq!(
            charge.field("user"),
            Some(&FieldValue::Str("ana".into())),
            "{what}: the enclosing scopes' fields too"
        );
        let request = closed[2];
        assert_eq!(span(charge).parent_id, span(request).span_id, "{what}");
        assert_eq!(span(charge).name, "charge", "{what}");
        // `wait` lives on in the future: 4 ms polled, 10 ms waiting between the polls.
        let wait = closed[1];
        assert_eq!(
            wait.span_timing().unwrap(),
            trail::SpanTiming {
                start_ns: T0 + 6 * ms,
                end_ns: T0 + 20 * ms,
                busy_ns: 4 * ms,
                idle_ns: 10 * ms
            },
            "{what}"
        );
        // `request` closes with the future too: it went along.
        assert_eq!(
            request.span_timing().unwrap(),
            trail::SpanTiming {
                start_ns: T0,
                end_ns: T0 + 20 * ms,
                busy_ns: 10 * ms,
                idle_ns: 10 * ms
            },
            "{what}"
        );
        let working: Vec<&LogRecord> = records.iter().filter(|r| r.msg == "working").collect();
        assert_eq!(working.len(), 2, "{what}");
        for r in working {
            assert_eq!(span(r), span(wait), "{what}");
        }
    }
}

#[test]
fn without_span_records_spans_write_nothing_of_their_own() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder().dir(dir.path()).install().unwrap();
    {
        let _request = trail::scope!("request");
        trail::info!("inside");
    }
    drop(guard);
    let records = read(dir.path());
    assert_eq!(records.len(), 1);
    assert_eq!(span(&records[0]).name, "request");
    assert!(records[0].span_timing().is_none());
}

/// The segment file of the stream in `dir`.
fn segment(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension()
                .is_some_and(|e| ["jsonl", "csv", "log", "bin"].contains(&e.to_str().unwrap()))
        })
        .unwrap()
}

/// Writes a short stream with spans in `format` and gives its directory and records.
fn written(format: Format) -> (tempfile::TempDir, Vec<LogRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .format(format)
        .install()
        .unwrap();
    trail::info!("before");
    {
        let _request = trail::scope!("request");
        trail::info!("in request");
        let _charge = trail::scope!("charge");
        trail::info!("in charge");
    }
    trail::info!("after");
    drop(guard);
    let records = read(dir.path());
    (dir, records)
}

#[test]
fn a_damaged_span_context_is_an_error_that_names_the_place_and_the_rest_reads() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for format in [Format::Json, Format::Csv, Format::Text] {
        let (dir, records) = written(format);
        let path = segment(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let id = span(&records[1]).span_id_hex();
        let at = text.find(&id).unwrap();
        std::fs::write(&path, text.replacen(&id, "zz", 1)).unwrap();
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let read: Vec<_> = trail::read::open(dir.path()).unwrap().collect();
        assert_eq!(read.len(), 4, "{format}");
        let error = read[1].as_ref().unwrap_err().to_string();
        assert!(
            error.contains(&format!("at byte {line_start}")) && error.contains("bad span id"),
            "{format}: {error}"
        );
        assert!(
            error.contains(&path.display().to_string()),
            "{format}: {error}"
        );
        let msgs: Vec<&str> = [0, 2, 3]
            .iter()
            .map(|&i| read[i].as_ref().unwrap().msg.as_str())
            .collect();
        assert_eq!(msgs, ["before", "in charge", "after"], "{format}");
    }

    // Binary: the first record in a span with its name cut short, its checksum made good.
    let (dir, _) = written(Format::Binary);
    let path = segment(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let mut out = bytes[..16].to_vec();
    let (mut at, mut cut_at) = (16, None);
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let mut payload = bytes[at + 8..at + 8 + len].to_vec();
        if payload[0] == 3 && cut_at.is_none() {
            payload.pop();
            cut_at = Some(out.len());
        }
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        at += 8 + len;
    }
    std::fs::write(&path, out).unwrap();
    let read: Vec<_> = trail::read::open(dir.path()).unwrap().collect();
    assert_eq!(read.len(), 4);
    let error = read[1].as_ref().unwrap_err().to_string();
    assert!(
        error.contains(&format!("at byte {}", cut_at.unwrap())) && error.contains("span name"),
        "{error}"
    );
    assert_eq!(read[2].as_ref().unwrap().msg, "in charge");
    assert_eq!(span(read[2].as_ref().unwrap()).name, "charge");
}
