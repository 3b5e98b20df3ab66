//! Reading with `Reader::next_ref` reuses one record: after the first records have sized
//! its buffers, decoding a binary, JSON or CSV record allocates nothing, and the lent
//! records are the records that iterating gives. A counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use trail::Format;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

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
        let before = ALLOCATIONS.with(Cell::get);
        let mut read = 10;
        while let Some(record) = reader.next_ref() {
            let record = record.unwrap();
            // Compared after counting, outside the count.
            let counted = ALLOCATIONS.with(Cell::get);
            assert_eq!(record, &owned[read], "{format:?}");
            ALLOCATIONS.with(|n| n.set(counted));
            read += 1;
        }
        let allocations = ALLOCATIONS.with(Cell::get) - before;
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
