//! Reading with `Reader::next_ref` reuses one record: after the first records have sized
//! its buffers, decoding a binary, JSON or CSV record allocates nothing, and the lent
//! records are the records that iterating gives. A counting global allocator proves it.

mod common;

use common::counting_alloc::{allocations, uncounted, Counting};
use trail::Format;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RECORDS: u64 = 2_000;

#[test]
fn a_lent_record_is_decoded_without_allocating() {
    for format in [Format::Binary, Format::Json, Format::Csv] {
        let dir = tempfile::tempdir().unwrap();
        {
            let _guard = trail::builder()
                .dir(dir.path())
                .format(format)
                .install()
                .unwrap();
            for i in 0..RECORDS {
                let (order_id, quantity, price) = (i * 7, (i % 5) as u32, 9.5 + i as f64);
                let sku = ["A-1001", "B-22", "C-333333"][(i % 3) as usize];
                trail::info!(
                    actor = i % 1000,
                    order_id,
                    quantity,
                    price,
                    sku,
                    "added {quantity} x {sku}"
                );
            }
        }
        let owned: Vec<_> = trail::read::open(dir.path())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(owned.len() as u64, RECORDS, "{format:?}");

        let mut reader = trail::read::open(dir.path()).unwrap();
        // The first records size the buffers: the reader's, the record's strings.
        for expected in &owned[..10] {
            assert_eq!(reader.next_ref().unwrap().unwrap(), expected, "{format:?}");
        }
        let before = allocations();
        let mut read = 10;
        while let Some(record) = reader.next_ref() {
            let record = record.unwrap();
            uncounted(|| assert_eq!(record, &owned[read], "{format:?}"));
            read += 1;
        }
        let allocations = allocations() - before;
        assert_eq!(read as u64, RECORDS, "{format:?}");
        // A longer message or string than any before may grow a buffer once; a record
        // that allocates would count in thousands.
        assert!(
            allocations <= 10,
            "{format:?}: {allocations} allocations for {} records",
            RECORDS - 10
        );
    }
}
