//! Two tests that run at the same time, on the test harness's threads, each capturing:
//! they meet before logging, log in lock step, and each sees exactly its own events.
//!
//! They need two test threads (the default on any machine with two cores or more).

use std::sync::{Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use trail::Level;

const EVENTS: u64 = 200;

/// Both tests pass here: the lock step starts only once both are running.
static ARRIVED: Mutex<u32> = Mutex::new(0);
static BOTH: Condvar = Condvar::new();
/// The lock step: each test logs one event, then waits for the other's.
static STEP: Barrier = Barrier::new(2);

fn meet() {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut arrived = ARRIVED.lock().unwrap();
    *arrived += 1;
    BOTH.notify_all();
    while *arrived < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the other capture test never started: these two tests overlap on purpose \
             and need at least two test threads"
        );
        arrived = BOTH.wait_timeout(arrived, left).unwrap().0;
    }
}

/// Captures, meets the other test, logs in lock step with it at every level, and checks
/// that the capture holds this test's events, all of them, in order, and nothing else.
fn log_beside_the_other(me: &'static str) {
    let cap = trail::testing::capture();
    meet();
    for i in 0..EVENTS {
        match i % 5 {
            0 => trail::trace!(test = me, i, "{me} event {i}"),
            1 => trail::debug!(test = me, i, "{me} event {i}"),
            2 => trail::info!(test = me, i, "{me} event {i}"),
            3 => trail::warn!(test = me, i, "{me} event {i}"),
            _ => trail::error!(test = me, i, "{me} event {i}"),
        }
        STEP.wait();
    }
    let events = cap.events();
    assert_eq!(events.len() as u64, EVENTS, "{me}: {events:#?}");
    for (i, event) in (0..EVENTS).zip(&events) {
        assert_eq!(event.field("test").unwrap(), me);
        assert_eq!(event.field("i").unwrap(), i);
        assert_eq!(event.level(), Level::ALL[(i % 5) as usize]);
        assert_eq!(event.message(), format!("{me} event {i}"));
    }
}

#[test]
fn the_first_of_two_parallel_tests_sees_only_its_own_events() {
    log_beside_the_other("first");
}

#[test]
fn the_second_of_two_parallel_tests_sees_only_its_own_events() {
    log_beside_the_other("second");
}
