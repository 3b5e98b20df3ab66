//! Retention: which sealed segments to delete, by count, total size and age.
//!
//! Only files that match the stream's naming exactly are ever considered, and the active
//! segment is never deleted. An active segment without records is not counted as one of the
//! segments kept: a writer that starts, or has just rotated, keeps as many segments with
//! records as before. Deleting segments never makes `seq` start again: the manifest keeps
//! the stream's next `seq` (see `manifest.rs`). The age of a sealed segment is measured from when it was
//! sealed, which is when the next segment was opened: both are in the names, so the rule
//! depends on the writer's clock only.

use std::time::Duration;

use crate::segment::Found;

/// The retention settings of a stream; `None` means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Retention {
    /// Segments to keep, the active one included once it holds records.
    pub(crate) max_segments: Option<usize>,
    /// Bytes on disk to keep, the active segment included.
    pub(crate) max_bytes: Option<u64>,
    pub(crate) max_age: Option<Duration>,
}

impl Retention {
    pub(crate) fn is_unlimited(&self) -> bool {
        *self == Retention::default()
    }

    /// The segments to delete among `segments` (oldest first, with their sizes on disk),
    /// where the last one is the active segment, which holds records unless
    /// `active_empty`.
    pub(crate) fn select<'a>(
        &self,
        segments: &'a [(Found, u64)],
        active_empty: bool,
        now: u64,
    ) -> Vec<&'a Found> {
        let Some(((_, active_len), sealed)) = segments.split_last() else {
            return Vec::new();
        };
        let mut delete = vec![false; sealed.len()];
        if let Some(age) = self.max_age {
            let limit = now.saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX));
            for (i, doomed) in delete.iter_mut().enumerate() {
                let sealed_at = segments[i + 1].0.opened_at;
                *doomed |= sealed_at < limit;
            }
        }
        if let Some(max) = self.max_segments {
            let counted = sealed.len() + usize::from(!active_empty);
            let excess = counted.saturating_sub(max.max(1));
            for doomed in delete.iter_mut().take(excess) {
                *doomed = true;
            }
        }
        if let Some(max) = self.max_bytes {
            let mut total: u64 = active_len
                + sealed
                    .iter()
                    .zip(&delete)
                    .filter(|(_, doomed)| !**doomed)
                    .map(|((_, len), _)| len)
                    .sum::<u64>();
            for ((_, len), doomed) in sealed.iter().zip(delete.iter_mut()) {
                if total <= max {
                    break;
                }
                if !*doomed {
                    *doomed = true;
                    total -= len;
                }
            }
        }
        sealed
            .iter()
            .zip(delete)
            .filter(|(_, doomed)| *doomed)
            .map(|((found, _), _)| found)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const S: u64 = 1_000_000_000;

    fn seg(i: u64, len: u64) -> (Found, u64) {
        (
            Found {
                path: PathBuf::from(format!("s{i}")),
                base: format!("s{i}"),
                opened_at: i * 60 * S,
                extension: "jsonl",
                compressed: false,
                hidden: false,
            },
            len,
        )
    }

    fn names(doomed: Vec<&Found>) -> Vec<String> {
        doomed.into_iter().map(|f| f.base.clone()).collect()
    }

    #[test]
    fn by_count_keeps_the_newest_and_the_active_one() {
        let segs: Vec<_> = (0..5).map(|i| seg(i, 10)).collect();
        let r = Retention {
            max_segments: Some(2),
            ..Default::default()
        };
        assert_eq!(names(r.select(&segs, false, 0)), ["s0", "s1", "s2"]);
        let r = Retention {
            max_segments: Some(0),
            ..Default::default()
        };
        assert_eq!(
            names(r.select(&segs, false, 0)).len(),
            4,
            "the active segment stays"
        );
    }

    #[test]
    fn an_empty_active_segment_is_not_counted_as_kept() {
        let segs: Vec<_> = (0..5).map(|i| seg(i, 10)).collect();
        let r = Retention {
            max_segments: Some(2),
            ..Default::default()
        };
        assert_eq!(names(r.select(&segs, true, 0)), ["s0", "s1"]);
        let r = Retention {
            max_segments: Some(1),
            ..Default::default()
        };
        assert_eq!(
            names(r.select(&segs, true, 0)),
            ["s0", "s1", "s2"],
            "the newest sealed segment stays beside an empty active one"
        );
    }

    #[test]
    fn by_bytes_deletes_oldest_until_under_the_limit() {
        let segs = vec![seg(0, 100), seg(1, 100), seg(2, 100), seg(3, 50)];
        let r = Retention {
            max_bytes: Some(260),
            ..Default::default()
        };
        assert_eq!(names(r.select(&segs, false, 0)), ["s0"]);
        let r = Retention {
            max_bytes: Some(10),
            ..Default::default()
        };
        assert_eq!(
            names(r.select(&segs, false, 0)),
            ["s0", "s1", "s2"],
            "never the active one"
        );
    }

    #[test]
    fn by_age_counts_from_when_a_segment_was_sealed() {
        // s0 sealed at 1 min, s1 at 2 min, s2 at 3 min; s3 is active.
        let segs: Vec<_> = (0..4).map(|i| seg(i, 10)).collect();
        let r = Retention {
            max_age: Some(Duration::from_secs(90)),
            ..Default::default()
        };
        assert_eq!(names(r.select(&segs, false, 4 * 60 * S)), ["s0", "s1"]);
        assert!(r.select(&segs, false, 2 * 60 * S).is_empty());
    }

    #[test]
    fn rules_combine() {
        let segs: Vec<_> = (0..6).map(|i| seg(i, 100)).collect();
        let r = Retention {
            max_segments: Some(5),
            max_bytes: Some(350),
            max_age: Some(Duration::from_secs(60 * 60)),
        };
        assert_eq!(
            names(r.select(&segs, false, 6 * 60 * S)),
            ["s0", "s1", "s2"]
        );
    }
}
