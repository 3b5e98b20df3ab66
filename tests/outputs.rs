//! One writer, many outputs: each output gets exactly the records its filter passes, in
//! its format, with the `seq` the files give the same record; a destination of the user's
//! own gets the records and bytes it should, and one that fails harms nobody else.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use trail::{Directives, Format, JsonProfile, Level, LevelFilter, Output};

/// The writer is global: the tests of this file take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a destination was given for one record.
#[derive(Clone, Debug)]
struct Got {
    seq: u64,
    level: Level,
    target: String,
    bytes: Vec<u8>,
}

/// Keeps what it is given; counts its write outs.
#[derive(Clone, Default)]
struct Keep {
    got: Arc<Mutex<Vec<Got>>>,
    write_outs: Arc<Mutex<u64>>,
}

impl trail::Destination for Keep {
    fn record(&mut self, seq: u64, record: &trail::Record, encoded: &[u8]) {
        self.got.lock().unwrap().push(Got {
            seq,
            level: record.level(),
            target: record.metadata().target().to_owned(),
            bytes: encoded.to_vec(),
        });
    }

    fn write_out(&mut self) {
        *self.write_outs.lock().unwrap() += 1;
    }
}

impl Keep {
    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

const TARGETS: [&str; 4] = ["shop::cart", "shop::cart::pay", "noisy", "other"];

/// Logs `per_thread` events from each of `threads` threads, cycling through targets and
/// levels.
fn log_from_threads(threads: u64, per_thread: u64) {
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..per_thread {
                    let id = t * 1_000_000 + i;
                    let pad = "x".repeat((i % 50) as usize);
                    match (i % 4, i % 6) {
                        (0, l) => log_at(l, "shop::cart", id, &pad),
                        (1, l) => log_at(l, "shop::cart::pay", id, &pad),
                        (2, l) => log_at(l, "noisy", id, &pad),
                        (_, l) => log_at(l, "other", id, &pad),
                    }
                }
            });
        }
    });
}

fn log_at(level: u64, target: &str, id: u64, pad: &str) {
    // The macros take a literal target: one arm per target keeps the test's table short.
    macro_rules! at {
        ($t:literal) => {
            match level {
                0 => trail::trace!(target: $t, id, pad, "event {id}"),
                1 => trail::debug!(target: $t, id, pad, "event {id}"),
                2 => trail::info!(target: $t, id, pad, "event {id}"),
                3 => trail::warn!(target: $t, id, pad, "event {id}"),
                4 => trail::error!(target: $t, id, pad, "event {id}"),
                _ => trail::fatal!(target: $t, id, pad, "event {id}"),
            }
        };
    }
    match target {
        "shop::cart" => at!("shop::cart"),
        "shop::cart::pay" => at!("shop::cart::pay"),
        "noisy" => at!("noisy"),
        _ => at!("other"),
    }
}

/// The JSON lines of every segment in `dir`, by `seq`.
fn file_lines(dir: &std::path::Path) -> BTreeMap<u64, Vec<u8>> {
    let mut lines = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let bytes = std::fs::read(&path).unwrap();
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                let json: serde_json::Value = serde_json::from_slice(line).unwrap();
                let seq = json["seq"].as_u64().unwrap();
                assert!(
                    lines.insert(seq, line.to_vec()).is_none(),
                    "seq {seq} twice"
                );
            }
        }
    }
    lines
}

/// Reads back, with trail's reader, what a destination was given, as if it were a file
/// of `extension`.
fn read_back(got: &[Got], extension: &str) -> Vec<trail::read::LogRecord> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("out.{extension}"));
    let bytes: Vec<u8> = got.iter().flat_map(|g| g.bytes.iter().copied()).collect();
    std::fs::write(&path, bytes).unwrap();
    trail::read::open(&path)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn several_outputs_get_what_their_filters_pass_with_the_files_seq() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (warn, text, otel, all) = (
        Keep::default(),
        Keep::default(),
        Keep::default(),
        Keep::default(),
    );
    let text_filter = "info,noisy=off,shop::cart=trace";
    let guard = trail::builder()
        .dir(dir.path())
        .filter_from_env(false)
        .level(LevelFilter::Trace)
        .output(Output::custom(warn.clone()).filter("warn"))
        .output(
            Output::custom(text.clone())
                .format(Format::Text)
                .filter(text_filter),
        )
        .output(
            Output::custom(otel.clone())
                .json_profile(JsonProfile::OpenTelemetry)
                .level(LevelFilter::Debug),
        )
        .output(Output::custom(all.clone()))
        .install()
        .unwrap();
    log_from_threads(3, 2_000);
    let stats = guard.shutdown();
    assert_eq!(stats.written, 6_000);
    assert_eq!(stats.output_lost, 0);

    let files = file_lines(dir.path());
    assert_eq!(
        files.keys().copied().collect::<Vec<_>>(),
        (1..=6_000).collect::<Vec<_>>()
    );
    let from_files: BTreeMap<u64, trail::read::LogRecord> = trail::read::open(dir.path())
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.seq, r)
        })
        .collect();

    let expect = |directives: &Directives| -> BTreeSet<u64> {
        from_files
            .values()
            .filter(|r| directives.enabled(&r.target, r.level))
            .map(|r| r.seq)
            .collect()
    };
    let cases: [(&Keep, Directives); 4] = [
        (&warn, "warn".parse().unwrap()),
        (&text, text_filter.parse().unwrap()),
        (&otel, Directives::level(LevelFilter::Debug)),
        (&all, Directives::level(LevelFilter::Trace)),
    ];
    for (keep, directives) in &cases {
        let got = keep.got();
        let seqs: Vec<u64> = got.iter().map(|g| g.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in seq order");
        assert_eq!(
            seqs.iter().copied().collect::<BTreeSet<_>>(),
            expect(directives),
            "{directives:?}"
        );
        for g in &got {
            let file = &from_files[&g.seq];
            assert_eq!(
                (g.level, g.target.as_str()),
                (file.level, file.target.as_str())
            );
        }
        assert!(*keep.write_outs.lock().unwrap() > 0, "told to write out");
    }
    // Every target and level took part, so each filter left something out but `all`.
    assert!(TARGETS
        .iter()
        .all(|t| from_files.values().any(|r| r.target == *t)));
    assert!(warn.got().len() < otel.got().len() && otel.got().len() < all.got().len());

    // The canonical JSON outputs get the very bytes of the files' lines.
    for g in warn.got().iter().chain(all.got().iter()) {
        assert_eq!(
            String::from_utf8_lossy(&g.bytes),
            String::from_utf8_lossy(&files[&g.seq])
        );
    }
    // Text and OpenTelemetry read back as the same records the files hold.
    for (keep, extension) in [(&text, "log"), (&otel, "jsonl")] {
        let got = keep.got();
        let back = read_back(&got, extension);
        assert_eq!(back.len(), got.len());
        for r in back {
            let file = &from_files[&r.seq];
            assert_eq!(
                (&r.msg, r.level, &r.target, &r.fields),
                (&file.msg, file.level, &file.target, &file.fields)
            );
        }
    }
    let otel_line: serde_json::Value = serde_json::from_slice(&otel.got()[0].bytes).unwrap();
    assert!(otel_line.get("severityNumber").is_some(), "{otel_line}");
}

#[test]
fn without_a_directory_the_outputs_are_all_there_is() {
    let _serial = serial();
    let keep = Keep::default();
    let guard = trail::builder()
        .filter_from_env(false)
        .output(Output::custom(keep.clone()))
        .install()
        .unwrap();
    assert_eq!(guard.path(), std::path::PathBuf::new(), "no segment file");
    for i in 0..1_000u64 {
        trail::info!(i, "event {i}");
    }
    let stats = guard.shutdown();
    assert_eq!(stats.written, 1_000);
    assert_eq!(stats.bytes, 0, "no file bytes");
    let got = keep.got();
    assert_eq!(
        got.iter().map(|g| g.seq).collect::<Vec<_>>(),
        (1..=1_000).collect::<Vec<_>>()
    );
    for (i, g) in got.iter().enumerate() {
        let json: serde_json::Value = serde_json::from_slice(&g.bytes).unwrap();
        assert_eq!(json["seq"], g.seq);
        assert_eq!(json["fields"]["i"], i as u64);
        assert_eq!(g.bytes.last(), Some(&b'\n'));
        assert_eq!(g.bytes.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}

/// Panics at its third record.
struct Fragile(u64);

impl trail::Destination for Fragile {
    fn record(&mut self, _seq: u64, _record: &trail::Record, _encoded: &[u8]) {
        self.0 += 1;
        assert!(self.0 < 3, "this destination gives up at its third record");
    }
}

#[test]
fn a_destination_that_panics_is_left_out_and_the_rest_go_on() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let keep = Keep::default();
    let guard = trail::builder()
        .dir(dir.path())
        .filter_from_env(false)
        .output(Output::custom(Fragile(0)))
        .output(Output::custom(keep.clone()))
        .install()
        .unwrap();
    for i in 0..100u64 {
        trail::info!(i, "event {i}");
    }
    let stats = guard.shutdown();
    assert_eq!(stats.written, 100);
    // The third record made it panic; it is not asked again for the other 97.
    assert_eq!(stats.output_lost, 98);
    assert_eq!(keep.got().len(), 100);
    assert_eq!(file_lines(dir.path()).len(), 100);
}

#[test]
fn an_output_that_cannot_work_is_refused_at_install_naming_it() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let err = trail::builder()
        .dir(dir.path())
        .output(Output::stdout())
        .output(Output::stdout().format(Format::Bincode))
        .install()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("output 2") && err.contains("files only"),
        "{err}"
    );
    let err = trail::builder()
        .dir(dir.path())
        .output(Output::stderr().filter("info,shop=loud"))
        .install()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("output 1") && err.contains("shop=loud"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing was created: {err}"
    );
}
