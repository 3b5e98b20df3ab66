//! Timestamps as the files write them: RFC 3339, UTC, always nine fraction digits.

use std::fmt::Write as _;

/// A timestamp as the records write it: RFC 3339, UTC, nine fraction digits.
pub(crate) fn rfc3339(nanos: u64) -> String {
    let mut out = Vec::with_capacity(30);
    TimestampCache::default().write(nanos, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Formats RFC 3339 timestamps, reusing the text up to the seconds while the second
/// stays the same.
#[derive(Default)]
pub(crate) struct TimestampCache {
    second: Option<u64>,
    prefix: String,
}

impl TimestampCache {
    pub(crate) fn write(&mut self, nanos: u64, out: &mut Vec<u8>) {
        let second = nanos / 1_000_000_000;
        if self.second != Some(second) {
            self.refresh(second);
        }
        out.extend_from_slice(self.prefix.as_bytes());
        let mut fraction = (nanos % 1_000_000_000) as u32;
        let mut digits = [b'0'; 9];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (fraction % 10) as u8;
            fraction /= 10;
        }
        out.extend_from_slice(&digits);
        out.push(b'Z');
    }

    #[cold]
    fn refresh(&mut self, second: u64) {
        let t = time::OffsetDateTime::from_unix_timestamp(second as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        self.prefix.clear();
        let _ = write!(
            self.prefix,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        self.second = Some(second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(nanos: u64) -> String {
        let mut out = Vec::new();
        TimestampCache::default().write(nanos, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        assert_eq!(ts(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            ts(1_795_471_572_000_000_007),
            "2026-11-23T22:06:12.000000007Z"
        );
    }

    #[test]
    fn the_cached_prefix_follows_the_second() {
        let mut cache = TimestampCache::default();
        let mut out = Vec::new();
        cache.write(1_999_999_999, &mut out);
        out.push(b' ');
        cache.write(2_000_000_000, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1970-01-01T00:00:01.999999999Z 1970-01-01T00:00:02.000000000Z"
        );
    }
}
