//! The `trail` binary, run on streams written by the library.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{follow_sees_every_record_once, seqs, serial, trail, TRAIL};
use trail::read::LogRecord;
use trail::Format;

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A stream of 60 records: levels cycle, actors alternate, two targets, rotation every
/// 2 KB, sealed segments compressed.
fn stream(dir: &Path, format: Format) -> Vec<LogRecord> {
    let guard = trail::builder()
        .dir(dir)
        .name("app")
        .format(format)
        .level(trail::LevelFilter::Trace)
        .rotate_bytes(2048)
        .compress(true)
        .install()
        .unwrap();
    for i in 0..60_u64 {
        let actor = if i % 2 == 0 { "ana" } else { "bob" };
        let sku = ["A-1", "B-2", "C-3"][(i % 3) as usize];
        match i % 6 {
            0 => trail::trace!(target: "shop::cart", actor, i, sku, "trace {i}"),
            1 => trail::debug!(target: "shop::cart", actor, i, sku, "debug {i}"),
            2 => trail::info!(target: "shop::billing", actor, i, sku, "paid order {i}"),
            3 => trail::warn!(target: "shop::billing", actor, i, sku, "slow payment {i}"),
            4 => trail::error!(target: "web", actor, i, sku, "failed request {i}"),
            _ => trail::fatal!(target: "web", actor, i, sku, "gave up {i}"),
        }
    }
    drop(guard);
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn dir_arg(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[test]
fn cat_prints_every_record_as_text_json_or_csv() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let records = stream(dir.path(), Format::Json);
    let d = dir_arg(dir.path());

    let text = trail(&["cat", d]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert_eq!(seqs(&stdout(&text)), (1..=60).collect::<Vec<_>>());
    assert!(
        !stdout(&text).contains('\x1b'),
        "no colour when not a terminal"
    );

    let json = trail(&["cat", "--output", "json", d]);
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 60);
    assert_eq!(lines[4]["msg"], records[4].msg.as_str());
    assert_eq!(lines[4]["fields"]["sku"], "B-2");

    let csv = trail(&["cat", "--output", "csv", d]);
    let out = stdout(&csv);
    assert!(out.starts_with(
        "ts,level,seq,actor,target,msg,fields,file,line,thread,span,span_id,parent_id,trace_id\r\n"
    ));
    assert_eq!(out.lines().count(), 61);

    let colored = trail(&["cat", "--color", "always", d]);
    assert!(stdout(&colored).contains("\x1b["));
}

#[test]
fn cat_reads_standard_input_in_the_format_given() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    stream(dir.path(), Format::Csv);
    let convert = trail(&[
        "convert",
        "--to",
        "csv",
        dir_arg(dir.path()),
        dir.path().join("all.csv").to_str().unwrap(),
    ]);
    assert!(convert.status.success(), "{}", stderr(&convert));
    let csv = std::fs::read(dir.path().join("all.csv")).unwrap();
    let mut child = Command::new(TRAIL)
        .args(["cat", "-", "--input-format", "csv", "--level", "fatal"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&csv).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(seqs(&stdout(&out)), (6..=60).step_by(6).collect::<Vec<_>>());
}

#[test]
fn format_names_are_the_library_s_binary_and_bincode_alike() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let records = stream(dir.path(), Format::Json);
    let bin = dir.path().join("all.bin");
    let convert = trail(&[
        "convert",
        "--to",
        "binary",
        dir_arg(dir.path()),
        bin.to_str().unwrap(),
    ]);
    assert!(convert.status.success(), "{}", stderr(&convert));
    let bytes = std::fs::read(&bin).unwrap();
    assert!(bytes.starts_with(b"TRAILBIN"));
    for name in ["binary", "bincode", "BIN"] {
        let mut child = Command::new(TRAIL)
            .args(["cat", "-", "--input-format", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}");
        assert_eq!(
            seqs(&stdout(&out)),
            records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            "{name}"
        );
    }
    let unknown = trail(&["cat", "-", "--input-format", "yaml"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("unknown format \"yaml\""),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn filters_select_by_level_actor_target_time_message_and_field() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let records = stream(dir.path(), Format::Bincode);
    let d = dir_arg(dir.path());
    let pick = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["cat"];
        all.extend_from_slice(args);
        all.push(d);
        let out = trail(&all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        seqs(&stdout(&out))
    };
    let expect = |keep: &dyn Fn(&LogRecord) -> bool| -> Vec<u64> {
        records.iter().filter(|r| keep(r)).map(|r| r.seq).collect()
    };

    assert_eq!(
        pick(&["--level", "warn"]),
        expect(&|r| r.level >= trail::Level::Warn)
    );
    assert_eq!(
        pick(&["--level", "ERROR"]),
        expect(&|r| r.level >= trail::Level::Error)
    );
    assert_eq!(pick(&["--actor", "bob"]), expect(&|r| r.seq % 2 == 0));
    assert_eq!(
        pick(&["--target", "shop"]),
        expect(&|r| r.target.starts_with("shop::"))
    );
    assert_eq!(
        pick(&["--target", "shop::billing"]),
        expect(&|r| r.target == "shop::billing")
    );
    assert!(
        pick(&["--target", "sho"]).is_empty(),
        "a target matches whole path segments"
    );
    assert_eq!(
        pick(&["--grep", "^(paid|gave) "]),
        expect(&|r| r.msg.starts_with("paid") || r.msg.starts_with("gave"))
    );
    assert_eq!(pick(&["--field", "sku=B-2"]), expect(&|r| r.seq % 3 == 2));
    assert_eq!(
        pick(&["--field", "sku=B-2", "--field", "i=4"]),
        expect(&|r| r.seq == 5)
    );
    let middle = records[30].ts_rfc3339();
    assert_eq!(
        pick(&["--since", &middle]),
        expect(&|r| r.ts >= records[30].ts)
    );
    assert_eq!(
        pick(&["--until", &middle]),
        expect(&|r| r.ts < records[30].ts)
    );
    assert_eq!(
        pick(&["--since", "1h"]).len(),
        60,
        "relative times count back from now"
    );
    assert!(pick(&["--until", "1h"]).is_empty());
}

#[test]
fn bad_arguments_and_inputs_are_clear_errors_with_exit_code_2() {
    let out = trail(&["cat", "--since", "yesterday-ish", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid time \"yesterday-ish\""),
        "{}",
        stderr(&out)
    );
    let out = trail(&["cat", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/dir"), "{}", stderr(&out));
    let out = trail(&["cat", "--level", "loud", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let help = trail(&["--help"]);
    assert!(stdout(&help).contains("Examples:") && stdout(&help).contains("trail tail -f logs/"));
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .install()
        .unwrap();
    for i in 0..100_000_u32 {
        trail::info!(i, "many lines for a short reader");
    }
    drop(guard);
    let mut child = Command::new(TRAIL)
        .args(["cat", dir_arg(dir.path())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("@seq=1 "));
    // The reading end is dropped here, like `| head -1`.
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status:?}: {err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn convert_writes_every_format_and_never_overwrites() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let records = stream(dir.path(), Format::Text);
    for (to, ext) in [
        ("json", "jsonl"),
        ("csv", "csv"),
        ("text", "log"),
        ("bincode", "bin"),
    ] {
        let out_path = dir.path().join(format!("converted.{ext}"));
        let out = trail(&[
            "convert",
            "--to",
            to,
            dir_arg(dir.path()),
            out_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("wrote 60 records"));
        let again: Vec<LogRecord> = trail::read::open(&out_path)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(again, records, "{to}");
        let twice = trail(&[
            "convert",
            "--to",
            to,
            dir_arg(dir.path()),
            out_path.to_str().unwrap(),
        ]);
        assert_eq!(twice.status.code(), Some(2));
        assert!(
            stderr(&twice).contains("cannot create"),
            "{}",
            stderr(&twice)
        );
    }
}

#[test]
fn stats_counts_levels_actors_targets_and_finds_gaps_and_torn_records() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    stream(dir.path(), Format::Json);
    let out = trail(&["stats", dir_arg(dir.path())]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("records: 60"), "{text}");
    for level in ["trace", "debug", "info", "warn", "error", "fatal"] {
        assert!(
            text.contains(&format!("  {level:<6} {:>12}", 10)),
            "{level}: {text}"
        );
    }
    assert!(text.contains("busiest actors (top 10 of 2):"), "{text}");
    assert!(text.contains("by target (top 10 of 3):"), "{text}");
    assert!(text.contains("events per "), "{text}");
    assert!(
        text.contains("range 1..=60, 0 missing in 0 gaps, 0 repeated"),
        "{text}"
    );

    // Remove a middle segment and cut the last one: a gap and a torn record.
    let segments = segment_files(dir.path());
    std::fs::remove_file(&segments[2]).unwrap();
    let last = segments.last().unwrap();
    let bytes = read_plain(last);
    std::fs::write(last.with_extension(""), &bytes[..bytes.len() - 10]).unwrap();
    std::fs::remove_file(last).unwrap();
    let text = stdout(&trail(&["stats", dir_arg(dir.path())]));
    assert!(text.contains("1 gaps"), "{text}");
    assert!(text.contains("torn records: 1"), "{text}");
}

#[test]
fn cat_filters_by_span_and_stats_gives_span_durations() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let clock = trail::testing::ManualClock::new(1_700_000_000_000_000_000);
    let guard = trail::builder()
        .dir(dir.path())
        .span_records(true)
        .clock(clock.clone())
        .install()
        .unwrap();
    trail::info!("outside");
    // `charge` takes 1 to 100 ms (in steps of 2^20 ns, which the percentiles give
    // exactly); `refund` 3 ms, twice.
    for i in 1..=100_u64 {
        let _charge = trail::scope!("charge", i);
        trail::info!("charging {i}");
        clock.advance(Duration::from_nanos(i << 20));
    }
    for _ in 0..2 {
        let _refund = trail::scope!("refund");
        clock.advance(Duration::from_millis(3));
    }
    drop(guard);
    let d = dir_arg(dir.path());

    let out = trail(&["cat", "--span", "charge", "--output", "json", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 200, "the events and the span records");
    assert!(lines.iter().all(|l| l["span"] == "charge"));
    assert_eq!(lines[0]["msg"], "charging 1");
    assert_eq!(lines[1]["msg"], "charge");
    assert_eq!(lines[1]["fields"]["span.busy_ns"], 1 << 20);
    let refunds = stdout(&trail(&["cat", "--span", "refund", d]));
    assert_eq!(refunds.lines().count(), 2, "{refunds}");
    assert!(refunds.contains("@span=refund"), "{refunds}");

    let out = trail(&["stats", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("span durations (top 10 of 2):"), "{text}");
    let row = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // p50 = 50 * 2^20 ns = 52.43 ms, p90 = 94.37 ms, p99 = 103.81 ms, max = 104.86 ms.
    assert_eq!(row("charge"), "100 52.43ms 94.37ms 103.81ms 104.86ms");
    assert_eq!(row("refund"), "2 3ms 3ms 3ms 3ms");
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("app.2")
        })
        .collect();
    files.sort();
    files
}

fn read_plain(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2_read(file, &mut bytes);
    } else {
        BufReader::new(file).read_to_end(&mut bytes).unwrap();
    }
    bytes
}

fn flate2_read(file: std::fs::File, out: &mut Vec<u8>) {
    // The CLI crate has flate2 as a dependency, not the tests; gunzip does the same.
    let mut child = Command::new("gzip")
        .args(["-dc"])
        .stdin(file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdout.take().unwrap().read_to_end(out).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn verify_passes_a_sound_stream_and_reports_damage_with_exit_code_1() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    stream(dir.path(), Format::Bincode);
    let d = dir_arg(dir.path());
    let ok = trail(&["verify", d]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(
        stdout(&ok).contains("ok: ") && stdout(&ok).contains("60 records, seq 1..=60"),
        "{}",
        stdout(&ok)
    );

    // A flipped byte inside a sealed, compressed segment: recompress it damaged.
    let segments = segment_files(dir.path());
    let victim = &segments[1];
    let mut bytes = read_plain(victim);
    let at = bytes.len() - 5;
    bytes[at] ^= 0xff;
    let plain = victim.with_extension("");
    std::fs::write(&plain, &bytes).unwrap();
    std::fs::remove_file(victim).unwrap();
    let out = trail(&["verify", d]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("checksum"), "{report}");
    assert!(report.contains("the CRC-32 is"), "{report}");
    assert!(report.contains("FAILED: "), "{report}");
}

#[test]
fn verify_reports_a_truncated_and_a_missing_segment() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    stream(dir.path(), Format::Json);
    let d = dir_arg(dir.path());
    let segments = segment_files(dir.path());

    std::fs::remove_file(&segments[3]).unwrap();
    let out = trail(&["verify", d]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("listed in the manifest but missing"),
        "{report}"
    );
    assert!(report.contains("seq skips"), "{report}");

    let victim = &segments[1];
    let bytes = read_plain(victim);
    std::fs::write(victim.with_extension(""), &bytes[..bytes.len() - 7]).unwrap();
    std::fs::remove_file(victim).unwrap();
    let report = stdout(&trail(&["verify", d]));
    assert!(report.contains("incomplete record at Some("), "{report}");
    assert!(report.contains("the length is"), "{report}");
}

#[test]
fn tail_prints_the_last_records() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    stream(dir.path(), Format::Csv);
    let out = trail(&["tail", "-n", "3", dir_arg(dir.path())]);
    assert!(out.status.success());
    assert_eq!(seqs(&stdout(&out)), [58, 59, 60]);
    let out = trail(&["tail", "-n", "2", "--level", "fatal", dir_arg(dir.path())]);
    assert_eq!(seqs(&stdout(&out)), [54, 60]);
}

#[test]
fn tail_reads_only_the_end_of_the_stream() {
    let _s = serial();
    for format in [Format::Json, Format::Csv, Format::Text, Format::Bincode] {
        let dir = tempfile::tempdir().unwrap();
        stream(dir.path(), format);
        // As many as several segments hold, and more than the stream holds.
        let out = trail(&["tail", "-n", "25", dir_arg(dir.path())]);
        assert_eq!(
            seqs(&stdout(&out)),
            (36..=60).collect::<Vec<u64>>(),
            "{format:?}"
        );
        let out = trail(&["tail", "-n", "99", dir_arg(dir.path())]);
        assert_eq!(
            seqs(&stdout(&out)),
            (1..=60).collect::<Vec<u64>>(),
            "{format:?}"
        );
        // Damage the first segment: a tail of the last records never meets it.
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_str().unwrap().ends_with(".gz"))
            .collect();
        files.sort();
        let first = &files[0];
        let mut raw = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(first).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        let middle = raw.len() / 2;
        raw[middle..middle + 6].copy_from_slice(b"\xff\"\n\0\"\n");
        std::fs::write(first.with_extension(""), raw).unwrap();
        std::fs::remove_file(first).unwrap();
        let out = trail(&["tail", "-n", "3", dir_arg(dir.path())]);
        assert_eq!(stderr(&out), "", "{format:?}");
        assert!(out.status.success(), "{format:?}");
        assert_eq!(seqs(&stdout(&out)), [58, 59, 60], "{format:?}");
    }
}

#[test]
fn tail_follow_sees_every_record_once_across_rotations() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let builder = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(4096)
        .compress(true)
        .keep_segments(1000);
    follow_sees_every_record_once(dir.path(), builder, 3000, 300, Duration::from_millis(30));
}

/// Values a terminal would act on: an OSC sequence that sets the window title, CR, NUL,
/// a line break that would forge a row, DEL, NEL (U+0085) and the 8-bit CSI (U+009B).
const HOSTILE_ACTORS: [&str; 3] = [
    "\u{1b}]0;owned\u{7}",
    "ana\r\n  forged row                      1",
    "nul\u{0}del\u{7f}nel\u{85}",
];

fn hostile_stream(dir: &Path, format: Format) -> Vec<LogRecord> {
    let guard = trail::builder()
        .dir(dir)
        .name("app")
        .format(format)
        .install()
        .unwrap();
    for actor in HOSTILE_ACTORS {
        trail::info!(target: "evil\u{9b}2J", actor, note = "next\u{85}line\u{9b}31m", "csi \u{9b}31m bell\u{7}");
    }
    drop(guard);
    trail::read::open(dir)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// No control character but the line breaks that end lines and the colours `trail`
/// adds itself (`ESC [ digits m`).
fn assert_inert(what: &str, bytes: &[u8]) {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    while let Some(at) = text.find("\u{1b}[") {
        let len = text[at + 2..]
            .find(|c: char| !c.is_ascii_digit() && c != ';')
            .filter(|&n| text[at + 2 + n..].starts_with('m'));
        let Some(len) = len else { break };
        text.replace_range(at..at + 3 + len, "");
    }
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in {text:?}");
}

#[test]
fn no_command_puts_a_control_character_of_a_value_on_the_terminal() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let records = hostile_stream(dir.path(), Format::Json);
    assert_eq!(records.len(), 3);
    let d = dir_arg(dir.path());
    for args in [
        &["stats", d][..],
        &["cat", d],
        &["cat", "--color", "always", d],
        &["cat", "--output", "json", d],
        &["tail", "-n", "2", d],
    ] {
        let out = trail(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_inert(&format!("{args:?}"), &out.stdout);
        assert_inert(&format!("{args:?} (stderr)"), &out.stderr);
    }
    // The escaped JSON is the same JSON: it reads back as what was written.
    let json = trail(&["cat", "--output", "json", d]);
    let back: Vec<LogRecord> = trail::read::from_reader(
        std::io::Cursor::new(json.stdout.clone()),
        trail::read::FileFormat::Json,
        "<stdout>",
    )
    .map(|r| r.unwrap())
    .collect();
    assert_eq!(back, records);

    // stats: one row per actor, however many line breaks the actors hold.
    let stats = stdout(&trail(&["stats", d]));
    let rows: Vec<&str> = stats
        .lines()
        .skip_while(|l| !l.starts_with("busiest actors (top 10 of 3):"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 3, "{stats}");
    assert!(stats.contains("\\u001b]0;owned\\u0007"), "{stats}");

    // An error naming a file whose name holds an escape sequence.
    let out = trail(&["cat", "/nonexistent/\u{1b}]0;owned\u{7}.jsonl"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("\\u001b]0;owned"), "{}", stderr(&out));
    assert_inert("an error", &out.stderr);
}

#[test]
fn text_segments_hold_no_control_character_and_read_back_exactly() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let records = hostile_stream(dir.path(), Format::Text);
    for file in segment_files(dir.path()) {
        assert_inert(&file.display().to_string(), &read_plain(&file));
    }
    let actors: Vec<_> = records.iter().map(|r| r.actor.clone().unwrap()).collect();
    assert_eq!(
        actors,
        HOSTILE_ACTORS.map(|a| trail::read::FieldValue::Str(a.into()))
    );
    assert_eq!(records[0].target, "evil\u{9b}2J");
    assert_eq!(records[0].msg, "csi \u{9b}31m bell\u{7}");
    // `trail cat` and `convert` to text write the same escapes, which read back too.
    let out = trail(&["cat", dir_arg(dir.path())]);
    assert_inert("cat", &out.stdout);
    let back: Vec<LogRecord> = trail::read::from_reader(
        std::io::Cursor::new(out.stdout.clone()),
        trail::read::FileFormat::Text,
        "<stdout>",
    )
    .map(|r| r.unwrap())
    .collect();
    assert_eq!(back, records);
}

#[test]
fn verify_lists_the_first_problems_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // Every empty line is a damaged record.
    std::fs::write(
        dir.path().join("app.20261123T220612.000000000Z.jsonl"),
        "\n".repeat(100_000),
    )
    .unwrap();
    let out = trail(&["verify", dir_arg(dir.path())]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let listed = report
        .lines()
        .filter(|l| l.starts_with("problem: "))
        .count();
    assert_eq!(listed, 101, "100 problems and the count of the rest");
    assert!(
        report.contains("problem: ... and 99900 more, not listed"),
        "{report}"
    );
    assert!(report.contains("FAILED: 100000 problems"), "{report}");
}

#[test]
fn verify_refuses_a_manifest_past_the_limit_without_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.20261123T220612.000000000Z.jsonl"), "").unwrap();
    // Sparse: the zeros past the limit are never read.
    std::fs::File::create(dir.path().join("app.manifest.json"))
        .unwrap()
        .set_len(trail::limits::MAX_MANIFEST_BYTES * 16)
        .unwrap();
    let out = trail(&["verify", dir_arg(dir.path())]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("larger than the limit of"), "{report}");
}

/// A tool built without shipping says which feature `trail ship` needs and how to build
/// it, instead of not knowing the command.
#[cfg(not(feature = "ship"))]
#[test]
fn ship_in_a_tool_built_without_it_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let out = trail(&["ship", path, "--to", "nats://127.0.0.1:1", "--follow"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--features ship"), "{}", stderr(&out));
}

/// The same for `convert --to parquet` in a tool built without Parquet.
#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_in_a_tool_built_without_it_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.parquet");
    let out = trail(&[
        "convert",
        "--to",
        "parquet",
        dir.path().to_str().unwrap(),
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--features ship,parquet"),
        "{}",
        stderr(&out)
    );
}
