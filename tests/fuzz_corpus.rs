//! Every input in the fuzz corpora (fuzz/corpus/*), read again on each test run: the
//! reader must end each one without panicking, and the whole seeds must read cleanly.

use std::path::Path;

use trail::read::{from_reader, FileFormat};

#[test]
fn every_corpus_input_reads_to_its_end_without_a_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut inputs = 0;
    for (target, format) in [
        ("read_binary", FileFormat::Binary),
        ("read_csv", FileFormat::Csv),
        ("read_json", FileFormat::Json),
        ("read_text", FileFormat::Text),
    ] {
        for entry in std::fs::read_dir(corpus.join(target)).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let results: Vec<_> = from_reader(std::io::Cursor::new(bytes), format, "corpus")
                .max_record_bytes(1 << 16)
                .collect();
            if path.file_name().unwrap() == "whole" {
                assert_eq!(results.len(), 3, "{}", path.display());
                assert!(
                    results.iter().all(Result::is_ok),
                    "{}: {results:?}",
                    path.display()
                );
            }
            inputs += 1;
        }
    }
    assert!(inputs >= 16, "the corpora are in the repository");
}

#[path = "../fuzz/shared/frames_segment.rs"]
mod frames_segment;
use frames_segment::frames_segment;

#[test]
fn every_crafted_frame_input_reads_to_its_end_without_a_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/binary_frames");
    let mut inputs = 0;
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path();
        let segment = frames_segment(&std::fs::read(&path).unwrap());
        let results: Vec<_> =
            from_reader(std::io::Cursor::new(segment), FileFormat::Binary, "corpus")
                .max_record_bytes(1 << 16)
                .collect();
        if path.file_name().unwrap() == "valid" {
            let seqs: Vec<u64> = results.into_iter().map(|r| r.unwrap().seq).collect();
            assert_eq!(seqs, [1, 2], "{}", path.display());
        }
        inputs += 1;
    }
    assert!(inputs >= 8, "the corpus is in the repository");
}
