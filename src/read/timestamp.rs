//! Reading timestamps back quickly: the form the files write (`2026-11-23T22:06:12.123456789Z`,
//! always 30 bytes) is parsed by hand, with the date's day count kept while the date stays
//! the same, as it does for millions of records in a row. Anything else goes to the full
//! RFC 3339 parser, which gives the same answer slower and names what is wrong.

use crate::format::time::parse_rfc3339;

/// Parses timestamps, remembering the last date seen.
#[derive(Default)]
pub(super) struct TimestampParser {
    /// `YYYY-MM-DD` and its seconds since the epoch at midnight.
    date: Option<([u8; 10], u64)>,
}

impl TimestampParser {
    /// Nanoseconds since the Unix epoch, as [`parse_rfc3339`] gives them.
    pub(super) fn parse(&mut self, ts: &str) -> Result<u64, String> {
        match self.canonical(ts.as_bytes()) {
            Some(nanos) => Ok(nanos),
            None => parse_rfc3339(ts),
        }
    }

    /// The canonical form only; `None` for anything else, valid or not.
    pub(super) fn canonical(&mut self, ts: &[u8]) -> Option<u64> {
        let ts: &[u8; 30] = ts.try_into().ok()?;
        if ts[10] != b'T' || ts[13] != b':' || ts[16] != b':' || ts[19] != b'.' || ts[29] != b'Z' {
            return None;
        }
        let date: [u8; 10] = ts[..10].try_into().ok()?;
        let midnight = match self.date {
            Some((known, seconds)) if known == date => seconds,
            _ => {
                let seconds = midnight(&date)?;
                self.date = Some((date, seconds));
                seconds
            }
        };
        let hour = digits(&ts[11..13])?;
        let minute = digits(&ts[14..16])?;
        let second = digits(&ts[17..19])?;
        // A leap second (60) is left to the full parser.
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let fraction = digits(&ts[20..29])?;
        let seconds = midnight + hour * 3600 + minute * 60 + second;
        seconds.checked_mul(1_000_000_000)?.checked_add(fraction)
    }
}

/// The decimal value of ASCII digits, `None` if any byte is not one.
fn digits(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Seconds from the epoch to midnight of `YYYY-MM-DD`, for a valid date from 1970 on.
fn midnight(date: &[u8; 10]) -> Option<u64> {
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let (year, month, day) = (
        digits(&date[..4])?,
        digits(&date[5..7])?,
        digits(&date[8..])?,
    );
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1970 || day == 0 || day > days_in_month {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), with March as the first
    // month so that the leap day ends the year.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    Some(days * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every day from 1970 to 2560 and a spread of times parse by hand exactly as the full
    /// parser parses them, and the dates that do not exist are left to it.
    #[test]
    fn the_canonical_form_parses_as_the_full_parser_does() {
        let mut parser = TimestampParser::default();
        let mut checked = 0;
        for year in [
            1970, 1971, 1999, 2000, 2024, 2026, 2100, 2400, 2553, 2554, 2560,
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    for time in [
                        "00:00:00.000000000",
                        "23:59:59.999999999",
                        "12:34:56.000000789",
                    ] {
                        let ts = format!("{year:04}-{month:02}-{day:02}T{time}Z");
                        let full = parse_rfc3339(&ts).ok();
                        assert_eq!(parser.canonical(ts.as_bytes()), full, "{ts}");
                        assert_eq!(parser.parse(&ts).ok(), full, "{ts}");
                        checked += usize::from(full.is_some());
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        for odd in [
            "2026-11-23T24:00:00.000000000Z",
            "2026-11-23T22:60:00.000000000Z",
            "2026-11-23T22:06:12.12345678Z",
            "2026-11-23t22:06:12.123456789Z",
            "2026-11-23T22:06:12.123456789+00:00",
            "2026-1x-23T22:06:12.123456789Z",
            "1969-12-31T23:59:59.999999999Z",
        ] {
            assert_eq!(parser.canonical(odd.as_bytes()), None, "{odd}");
            assert_eq!(parser.parse(odd), parse_rfc3339(odd), "{odd}");
        }
    }
}
