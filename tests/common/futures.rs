//! Running a future in a test without an executor.

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Polls a future to completion on the current thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
