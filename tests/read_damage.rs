//! The reader on damaged, truncated and foreign input: every problem is an error that
//! names the file and the offset; nothing panics, nothing hangs; the caller chooses to
//! skip or stop; checkpoints resume exactly.

use std::path::{Path, PathBuf};

use trail::read::{Checkpoint, OnError, ReadErrorKind};

fn line(seq: u64, msg: &str) -> String {
    format!(
        "{{\"ts\":\"2026-11-23T22:06:12.000000001Z\",\"level\":\"info\",\"seq\":{seq},\"target\":\"t\",\
         \"msg\":\"{msg}\",\"fields\":{{\"n\":{seq}}},\"file\":\"src/x.rs\",\"line\":1,\"thread\":\"main\"}}\n"
    )
}

fn segment(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

const SEG: &str = "app.20261123T220612.000000000Z.jsonl";

type Outcome = Vec<Result<u64, (ReadErrorKind, Option<u64>)>>;

fn outcomes(reader: trail::read::Reader) -> Outcome {
    reader
        .map(|r| r.map(|rec| rec.seq).map_err(|e| (e.kind(), e.offset())))
        .collect()
}

#[test]
fn a_torn_final_record_is_reported_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let whole = format!("{}{}", line(1, "a"), line(2, "b"));
    let torn = "{\"ts\":\"2026-11";
    let body = format!("{whole}{torn}");
    let path = segment(dir.path(), SEG, body.as_bytes());
    let got = outcomes(trail::read::open(&path).unwrap());
    assert_eq!(
        got,
        vec![
            Ok(1),
            Ok(2),
            Err((ReadErrorKind::Torn, Some(whole.len() as u64)))
        ]
    );
    let err = trail::read::open(&path)
        .unwrap()
        .nth(2)
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: at byte {}: incomplete record at the end of the segment ({} bytes)",
            path.display(),
            whole.len(),
            torn.len()
        )
    );
}

#[test]
fn a_corrupt_record_is_skipped_and_reported_or_stops_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let first = line(1, "a");
    let body = format!("{first}not json at all\n{}", line(3, "c"));
    let path = segment(dir.path(), SEG, body.as_bytes());
    let corrupt = Err((ReadErrorKind::Corrupt, Some(first.len() as u64)));
    assert_eq!(
        outcomes(trail::read::open(&path).unwrap()),
        vec![Ok(1), corrupt, Ok(3)]
    );
    assert_eq!(
        outcomes(trail::read::open(&path).unwrap().on_error(OnError::Stop)),
        vec![Ok(1), corrupt]
    );
}

#[test]
fn a_record_over_the_limit_is_skipped_without_holding_it() {
    let dir = tempfile::tempdir().unwrap();
    let long = line(2, &"x".repeat(10_000));
    let body = format!("{}{long}{}", line(1, "a"), line(3, "c"));
    let path = segment(dir.path(), SEG, body.as_bytes());
    let got = outcomes(trail::read::open(&path).unwrap().max_record_bytes(1000));
    assert_eq!(got[0], Ok(1));
    assert!(matches!(got[1], Err((ReadErrorKind::TooLong, Some(_)))));
    assert_eq!(got[2], Ok(3));
    assert_eq!(got.len(), 3);
}

#[test]
fn records_missing_keys_or_with_bad_values_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        "{}\n".to_owned(),
        line(1, "a").replace("\"level\":\"info\"", "\"level\":\"loud\""),
        line(1, "a").replace("2026-11-23T22:06:12.000000001Z", "yesterday"),
        line(1, "a").replace("\"fields\":{\"n\":1}", "\"fields\":[1]"),
        line(1, "a").replace("\"seq\":1", "\"seq\":-1"),
        "\n".to_owned(),
        "\u{0}\u{1}\u{2}\n".to_owned(),
    ];
    for (i, text) in bad.iter().enumerate() {
        let path = segment(
            dir.path(),
            &format!("app.20261123T22061{i}.000000000Z.jsonl"),
            text.as_bytes(),
        );
        let got = outcomes(trail::read::open(&path).unwrap());
        assert_eq!(
            got,
            vec![Err((ReadErrorKind::Corrupt, Some(0)))],
            "{text:?}"
        );
    }
}

#[test]
fn random_bytes_never_panic_or_hang() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..200 {
        let len = (round * 37) % 5000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly newlines and JSON punctuation, so lines are short and varied.
                const ALPHABET: &[u8] = b"{}\":,\n0123456789abcdefnulltrue \x00\xff";
                ALPHABET[(state % ALPHABET.len() as u64) as usize]
            })
            .collect();
        let path = segment(dir.path(), SEG, &bytes);
        for record in trail::read::open(&path).unwrap().max_record_bytes(512) {
            if let Err(e) = record {
                assert_eq!(e.path(), path);
                assert!(e.offset().is_some_and(|o| o <= len as u64), "{e}");
            }
        }
    }
}

#[test]
fn a_truncated_gzip_segment_is_an_error_not_a_panic() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for seq in 1..=200 {
        gz.write_all(line(seq, "compressed").as_bytes()).unwrap();
    }
    let bytes = gz.finish().unwrap();
    let path = segment(dir.path(), &format!("{SEG}.gz"), &bytes[..bytes.len() / 2]);
    let got = outcomes(trail::read::open(&path).unwrap());
    assert!(
        got.iter().filter(|r| r.is_ok()).count() > 0,
        "what precedes the cut is read"
    );
    assert!(got.iter().any(|r| r.is_err()), "the cut is reported");
}

#[test]
fn a_checkpoint_resumes_exactly_across_segments_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(4096)
        .install()
        .unwrap();
    for i in 0..300_u32 {
        trail::info!(i, "resume me");
    }
    guard.flush();
    let mut reader = trail::read::open(dir.path()).unwrap();
    let first: Vec<u64> = reader.by_ref().take(123).map(|r| r.unwrap().seq).collect();
    let checkpoint: Checkpoint = reader.checkpoint().unwrap().clone();
    assert_eq!(checkpoint.seq, 123);
    drop(guard);

    // Compression happens after the checkpoint was taken: offsets still hold.
    let guard = trail::builder()
        .dir(dir.path())
        .name("app")
        .rotate_bytes(4096)
        .compress(true)
        .install()
        .unwrap();
    trail::info!("after the restart");
    drop(guard);
    let rest: Vec<u64> = trail::read::open(dir.path())
        .unwrap()
        .resume(&checkpoint)
        .map(|r| r.unwrap().seq)
        .collect();
    assert_eq!(first, (1..=123).collect::<Vec<_>>());
    assert_eq!(rest, (124..=301).collect::<Vec<_>>());
}

#[test]
fn a_checkpoint_whose_segment_is_gone_starts_at_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    segment(
        dir.path(),
        "app.20261123T220612.000000000Z.jsonl",
        format!("{}{}", line(1, "a"), line(2, "b")).as_bytes(),
    );
    segment(
        dir.path(),
        "app.20261123T220613.000000000Z.jsonl",
        line(3, "c").as_bytes(),
    );
    let checkpoint = Checkpoint {
        segment: "app.20261123T220611.500000000Z.jsonl".to_owned(),
        offset: 999,
        seq: 0,
    };
    let got = outcomes(trail::read::open(dir.path()).unwrap().resume(&checkpoint));
    assert_eq!(got, vec![Ok(1), Ok(2), Ok(3)]);
}

#[test]
fn directories_and_files_that_are_not_one_stream_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = trail::read::open(dir.path()).err().unwrap();
    assert_eq!(err.kind(), ReadErrorKind::Unsupported);
    assert!(
        err.to_string()
            .ends_with("no trail segments in this directory"),
        "{err}"
    );

    segment(
        dir.path(),
        "a.20261123T220612.000000000Z.jsonl",
        line(1, "a").as_bytes(),
    );
    segment(
        dir.path(),
        "b.20261123T220612.000000000Z.jsonl",
        line(1, "b").as_bytes(),
    );
    let err = trail::read::open(dir.path()).err().unwrap();
    assert!(
        err.to_string()
            .ends_with("this directory holds 2 streams (a, b); open one by name"),
        "{err}"
    );
    let b: Vec<_> = trail::read::open_stream(dir.path(), "b")
        .unwrap()
        .map(|r| r.unwrap().msg)
        .collect();
    assert_eq!(b, ["b"]);

    let notes = segment(dir.path(), "notes.txt", b"hello\n");
    let err = trail::read::open(&notes).err().unwrap();
    assert_eq!(err.kind(), ReadErrorKind::Unsupported);
    let err = trail::read::open(dir.path().join("missing.jsonl"))
        .err()
        .unwrap();
    assert_eq!(err.kind(), ReadErrorKind::Io);
    assert!(err.to_string().contains("missing.jsonl"), "{err}");
}
