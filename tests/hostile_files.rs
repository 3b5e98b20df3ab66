//! Crafted segments whose frames carry valid checksums and hostile contents: nesting a
//! hundred thousand deep, lengths up to 2^64, definition ids that leap ahead, truncated and
//! inflating `.gz` files. The reader reports each bad frame and reads on; `install()` on a
//! directory that holds them reports them on stderr, leaves them as they are, and starts,
//! in memory that does not grow with what the files claim or hold.

use std::path::Path;
use std::process::{Command, Stdio};

use trail::read::{from_reader, FileFormat, ReadErrorKind};

const CHILD_DIR: &str = "HOSTILE_CHILD_DIR";

/// One binary frame: length, CRC-32 and the payload.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A varint holding `n` as a `u64` (marker 253).
fn wide(n: u64) -> Vec<u8> {
    let mut out = vec![253];
    out.extend_from_slice(&n.to_le_bytes());
    out
}

/// A record of call site 0 on thread 0 at `seq`, no actor, whose values are `values`
/// (their count first), already encoded.
fn record(seq: u8, values: &[u8]) -> Vec<u8> {
    let mut out = vec![2, 0, 0, seq, 1, 0];
    out.extend_from_slice(values);
    out
}

/// A segment: the header, a thread and a call site, the `hostile` frames at their
/// offsets, then a good record with seq 9.
fn segment(hostile: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut out = b"TRAILBIN\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
    out.extend(frame(&[1, 0, 4, b'm', b'a', b'i', b'n']));
    out.extend(frame(&[
        0, 0, 3, 1, b't', 1, b'm', 1, b'f', 9, 1, b'x', 0, 1, 0, 1, b'x',
    ]));
    let mut offsets = Vec::new();
    for payload in hostile {
        offsets.push(out.len() as u64);
        out.extend(frame(payload));
    }
    out.extend(frame(&record(9, &[0])));
    (out, offsets)
}

/// The crafted segments, by name.
fn hostile_segments() -> Vec<(&'static str, Vec<u8>, Vec<u64>)> {
    let mut deep = vec![1];
    for _ in 0..100_000 {
        deep.extend_from_slice(&[13, 1]);
    }
    deep.push(0);
    let one = |value: Vec<u8>| {
        let mut values = vec![1];
        values.extend(value);
        values
    };
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("nested 100000 deep", vec![record(1, &deep)]),
        (
            "a string 2^64 - 8 bytes long",
            vec![record(1, &one([vec![9], wide(u64::MAX - 8)].concat()))],
        ),
        (
            "a list of 2^33 values",
            vec![record(1, &one([vec![13], wide(1 << 33)].concat()))],
        ),
        (
            "bytes 2^40 long",
            vec![record(1, &one([vec![10], wide(1 << 40)].concat()))],
        ),
        (
            "a map of 2^40 entries",
            vec![record(1, &one([vec![14], wide(1 << 40)].concat()))],
        ),
        ("2^40 values", vec![record(1, &wide(1 << 40))]),
        (
            "thread ids a million apart",
            (1..=20_u32)
                .map(|i| {
                    let mut payload = vec![1, 252];
                    payload.extend_from_slice(&(i * 1_000_000).to_le_bytes());
                    payload.extend_from_slice(&[1, b't']);
                    payload
                })
                .collect(),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, frames)| {
            let (bytes, offsets) = segment(&frames);
            (name, bytes, offsets)
        })
        .collect()
}

#[test]
fn the_reader_reports_each_hostile_frame_and_reads_on() {
    for (name, bytes, offsets) in hostile_segments() {
        let results: Vec<_> =
            from_reader(std::io::Cursor::new(bytes), FileFormat::Binary, name).collect();
        let (good, bad): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let bad: Vec<_> = bad.into_iter().map(Result::unwrap_err).collect();
        assert_eq!(
            bad.iter().map(|e| e.offset().unwrap()).collect::<Vec<_>>(),
            offsets,
            "{name}: {bad:?}"
        );
        assert!(
            bad.iter().all(|e| e.kind() == ReadErrorKind::Corrupt),
            "{name}: {bad:?}"
        );
        let good: Vec<u64> = good.into_iter().map(|r| r.unwrap().seq).collect();
        assert_eq!(
            good,
            [9],
            "{name}: the record after the hostile frames is read"
        );
    }
}

/// 1 MiB of zeros as one gzip member, `members` times over: a decompression bomb.
fn gzip_bomb(members: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &[0; 1 << 20]).unwrap();
    gz.finish().unwrap().repeat(members)
}

fn segment_name(second: u32, extension: &str) -> String {
    format!("app.20261123T2206{second:02}.000000000Z.{extension}")
}

/// Runs this test binary's `install_child` on `dir`; returns its stderr.
fn install_in_child(dir: &Path) -> (String, String) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "install_child",
            "--test-threads",
            "1",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "install() beside hostile files ended the process: {:?}\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

#[test]
fn install_reports_hostile_segments_leaves_them_and_starts() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (i, (_, bytes, _)) in hostile_segments().into_iter().enumerate() {
        let name = segment_name(i as u32, "bin");
        std::fs::write(dir.path().join(&name), bytes).unwrap();
        names.push(name);
    }
    let mut whole = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut whole, &[b'x'; 4096]).unwrap();
    let whole = whole.finish().unwrap();
    let truncated = segment_name(30, "jsonl.gz");
    std::fs::write(dir.path().join(&truncated), &whole[..whole.len() / 2]).unwrap();
    let bomb = segment_name(31, "jsonl.gz");
    std::fs::write(dir.path().join(&bomb), gzip_bomb(100)).unwrap();
    let before: Vec<(String, Vec<u8>)> = names
        .iter()
        .chain([&truncated, &bomb])
        .map(|n| (n.clone(), std::fs::read(dir.path().join(n)).unwrap()))
        .collect();

    let (_, stderr) = install_in_child(dir.path());
    for name in &names {
        assert!(
            stderr.contains(&format!("{name} holds 1 damaged record"))
                || stderr.contains(&format!("{name} holds 20 damaged record")),
            "{name} is reported: {stderr}"
        );
    }
    assert!(
        stderr.contains(&format!(
            "cannot read back {}",
            dir.path().join(&truncated).display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("decompression bomb"), "{stderr}");
    for (name, bytes) in before {
        assert_eq!(
            std::fs::read(dir.path().join(&name)).unwrap(),
            bytes,
            "{name} is left alone"
        );
    }
    // The child's record is in its own segment, after the hostile ones.
    let written: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let records: Vec<_> = trail::read::open(&written[0])
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].msg, "started beside hostile files");
}

/// The peak resident memory of this process, in bytes (Linux).
#[cfg(target_os = "linux")]
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn install_reads_back_a_large_crashed_segment_and_a_bomb_in_bounded_memory() {
    if std::env::var_os(CHILD_DIR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A crashed segment of 256 MiB: a few records, then zeros (a sparse file, cheap to make).
    let crashed = dir.path().join(segment_name(1, "jsonl"));
    let line = r#"{"ts":"2026-11-23T22:06:12.000000001Z","level":"info","seq":1,"target":"t","msg":"m","fields":{},"file":"f.rs","line":1,"thread":"main"}"#;
    std::fs::write(&crashed, format!("{line}\n")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&crashed)
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    // A bomb that inflates to 200 MiB.
    std::fs::write(dir.path().join(segment_name(2, "jsonl.gz")), gzip_bomb(200)).unwrap();

    let (stdout, stderr) = install_in_child(dir.path());
    let peak: u64 = stdout
        .lines()
        .find_map(|l| l.split("peak memory: ").nth(1))
        .unwrap_or_else(|| panic!("the child reports its peak memory: {stdout}\n{stderr}"))
        .parse()
        .unwrap();
    assert!(
        peak < 96 << 20,
        "install() peaked at {} MiB reading back 456 MiB of segments",
        peak >> 20
    );
    assert!(stderr.contains("decompression bomb"), "{stderr}");
}

/// Runs only as the child of the tests above: installs a JSON writer on the directory,
/// logs one record, and prints its peak memory.
#[test]
fn install_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let guard = trail::builder()
        .dir(dir)
        .name("app")
        .filter_from_env(false)
        .install()
        .unwrap();
    trail::info!("started beside hostile files");
    drop(guard);
    #[cfg(target_os = "linux")]
    println!("peak memory: {}", peak_memory());
}
