//! The writer's side of the queue: every adopted ring, merged in the order of the
//! records' tick counts, one round at a time (see the module above for why a round takes
//! only records stamped before it began).

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

use super::ring::{Header, Ring};
use crate::Record;

/// Which records are due in a round of the writer's.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Due {
    /// Those stamped before this tick count (and those left over from the last round).
    StampedBefore(u64),
    /// Those in the rings when [`Merge::set_quotas`] was called.
    WithinQuota,
}

/// The writer's side: every adopted ring, merged in tick order.
#[derive(Default)]
pub(crate) struct Merge {
    pub(crate) rings: Vec<Ring>,
}

impl Merge {
    /// Bytes waiting in all rings now.
    pub(crate) fn waiting_bytes(&self) -> usize {
        self.rings.iter().map(Ring::waiting).sum()
    }

    /// Sets each ring's quota to what it holds now, for rounds that take [`Due::WithinQuota`]:
    /// everything that was pushed before this call, and a bounded amount of work even while
    /// the callers keep logging.
    pub(crate) fn set_quotas(&mut self) {
        for ring in &mut self.rings {
            ring.quota = ring.waiting();
        }
    }

    /// Takes the oldest record among the rings' heads that `due` allows into `into`;
    /// false if there is none. `into` borrows its payload from the ring (see
    /// [`Ring::pop`]): read it before the next call, or before [`Merge::end_round`].
    pub(crate) fn next(&mut self, due: Due, into: &mut Record) -> bool {
        // One thread logging: nothing to compare.
        if let [ring] = &mut self.rings[..] {
            return ring.head().is_some_and(|head| ring.is_due(head, due)) && ring.pop(into);
        }
        let mut best: Option<(usize, u64)> = None;
        for (i, ring) in self.rings.iter_mut().enumerate() {
            let Some(head) = ring.head() else {
                continue;
            };
            if ring.is_due(head, due) && best.is_none_or(|(_, oldest)| head.ticks < oldest) {
                best = Some((i, head.ticks));
            }
        }
        match best {
            Some((i, _)) => self.rings[i].pop(into),
            None => false,
        }
    }

    /// After a round: notes which heads were left for the next one, and lets go of the
    /// rings whose thread has ended once they are empty.
    pub(crate) fn end_round(&mut self) {
        self.rings.retain_mut(|ring| {
            ring.release();
            loop {
                let shared = Arc::as_ptr(&ring.shared);
                let abandoned = ring.is_abandoned();
                if abandoned {
                    // Pairs with the producer's release when its thread let go of the
                    // ring, so that its last records are seen below.
                    fence(Ordering::Acquire);
                }
                ring.deferred = ring.head().map(|head| head.ticks);
                // A ring left for a larger one is abandoned too: once `head` has moved on
                // to the larger ring, that one is the ring to judge.
                if Arc::as_ptr(&ring.shared) == shared {
                    return !(abandoned && ring.deferred.is_none());
                }
            }
        });
    }

    /// Gives the rings up, for [`Rings::close`](super::Rings::close).
    pub(crate) fn into_rings(self) -> Vec<Ring> {
        self.rings
    }
}

impl Ring {
    /// Whether the record at the head, `head`, is one that `due` lets this round take.
    #[inline]
    fn is_due(&self, head: Header, due: Due) -> bool {
        match due {
            Due::WithinQuota => self.quota > 0,
            Due::StampedBefore(cut) => {
                head.ticks < cut || self.deferred.is_some_and(|d| head.ticks <= d)
            }
        }
    }
}
