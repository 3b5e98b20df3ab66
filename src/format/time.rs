//! Timestamps as the files write them: RFC 3339, UTC, always nine fraction digits; and
//! parsed back.

use std::fmt::Write as _;

/// A timestamp as the records write it: RFC 3339, UTC, nine fraction digits.
pub(crate) fn rfc3339(nanos: u64) -> String {
    let mut out = Vec::with_capacity(30);
    TimestampCache::default().write(nanos, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp into nanoseconds since the Unix epoch.
pub(crate) fn parse_rfc3339(ts: &str) -> Result<u64, String> {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("bad timestamp {ts:?}: {e}"))?;
    u64::try_from(t.unix_timestamp_nanos()).map_err(|_| format!("timestamp {ts:?} is before 1970"))
}

/// Formats RFC 3339 timestamps, reusing the text up to the seconds while the second
/// stays the same.
pub(crate) struct TimestampCache {
    second: Option<u64>,
    /// `YYYY-MM-DDTHH:MM:SS.` for `second`, then room for the nine digits and `Z`.
    stamp: [u8; STAMP_LEN],
}

/// Bytes of a timestamp: `2026-11-23T22:06:12.123456789Z`. Nanoseconds in a `u64` reach
/// the year 2554, so the year always has four digits and the length never varies.
const STAMP_LEN: usize = 30;

/// Where the fraction's digits start, after the 20 bytes up to the decimal point.
const FRACTION_AT: usize = 20;

/// `"00"` to `"99"`, so that digits are written two at a time.
const PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

impl Default for TimestampCache {
    fn default() -> Self {
        TimestampCache {
            second: None,
            stamp: [b'0'; STAMP_LEN],
        }
    }
}

impl TimestampCache {
    #[inline]
    pub(crate) fn write(&mut self, nanos: u64, out: &mut Vec<u8>) {
        let second = nanos / 1_000_000_000;
        if self.second != Some(second) {
            self.refresh(second);
        }
        let fraction = (nanos % 1_000_000_000) as u32;
        let low = fraction % 100_000_000;
        let digits = &mut self.stamp[FRACTION_AT..STAMP_LEN - 1];
        digits[0] = b'0' + (fraction / 100_000_000) as u8;
        digits[1..3].copy_from_slice(&PAIRS[(low / 1_000_000) as usize]);
        digits[3..5].copy_from_slice(&PAIRS[(low / 10_000 % 100) as usize]);
        digits[5..7].copy_from_slice(&PAIRS[(low / 100 % 100) as usize]);
        digits[7..9].copy_from_slice(&PAIRS[(low % 100) as usize]);
        out.extend_from_slice(&self.stamp);
    }

    #[cold]
    fn refresh(&mut self, second: u64) {
        let t = time::OffsetDateTime::from_unix_timestamp(second as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let mut prefix = String::with_capacity(FRACTION_AT);
        let _ = write!(
            prefix,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        // Always 20 bytes (see `STAMP_LEN`); anything else would be a bug, kept visible.
        debug_assert_eq!(prefix.len(), FRACTION_AT);
        let n = prefix.len().min(FRACTION_AT);
        self.stamp[..n].copy_from_slice(&prefix.as_bytes()[..n]);
        self.stamp[STAMP_LEN - 1] = b'Z';
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

    #[test]
    fn every_digit_of_the_fraction_lands_in_its_place() {
        let base = 1_795_471_572_000_000_000;
        for fraction in [
            1,
            12,
            123_456_789,
            987_654_321,
            100_000_000,
            999_999_999,
            10_203_040,
        ] {
            let expected = format!("2026-11-23T22:06:12.{fraction:09}Z");
            assert_eq!(ts(base + fraction), expected);
        }
        // The largest timestamp a u64 holds still has a four-digit year.
        assert_eq!(ts(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }
}
