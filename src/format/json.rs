//! JSON's share of the contract: how strings are escaped, and the key names of each
//! profile that are not plain data (the ECS version, the OpenTelemetry attributes the
//! profile writes itself and the mark on fields that would collide with them).

/// Which field names a JSON line uses.
///
/// ```
/// let profile: trail::JsonProfile = "otel".parse().unwrap();
/// assert_eq!(profile, trail::JsonProfile::OpenTelemetry);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonProfile {
    /// trail's canonical keys: `ts`, `level`, `seq`, `actor`, `target`, `msg`, `fields`, ...
    #[default]
    Canonical,
    /// The OpenTelemetry log data model's names: `timeUnixNano`, `severityNumber`,
    /// `severityText`, `body`, `attributes` (with `user.id`, `code.file.path`, ...).
    OpenTelemetry,
    /// Elastic Common Schema names: `@timestamp`, `log.level`, `message`, `user.id`,
    /// `log.logger`, `log.origin.file.name`, `event.sequence`, ...
    Ecs,
}

unknown_name_error!(
    /// The error for a JSON profile name that is unknown.
    ///
    /// ```
    /// let error: trail::ParseJsonProfileError = "gelf".parse::<trail::JsonProfile>().unwrap_err();
    /// assert!(error.to_string().contains("expected canonical, otel or ecs"));
    /// let _: &dyn std::error::Error = &error;
    /// ```
    ParseJsonProfileError,
    "JSON profile",
    "canonical, otel or ecs"
);

impl std::str::FromStr for JsonProfile {
    type Err = ParseJsonProfileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "canonical" | "trail" => Ok(JsonProfile::Canonical),
            "otel" | "opentelemetry" => Ok(JsonProfile::OpenTelemetry),
            "ecs" => Ok(JsonProfile::Ecs),
            _ => Err(ParseJsonProfileError::new(s)),
        }
    }
}

/// The ECS version the `Ecs` profile follows.
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) const ECS_VERSION: &str = "8.11.0";

/// The attributes the OpenTelemetry profile writes itself, beside the event's fields.
const OTEL_ATTRIBUTES: [&str; 7] = [
    "user.id",
    "code.file.path",
    "code.line.number",
    "thread.name",
    "trail.seq",
    OTEL_SPAN_NAME,
    OTEL_PARENT_ID,
];

/// The OpenTelemetry profile's attribute for the name of the record's span (the log data
/// model has the trace and span ids, `traceId` and `spanId`, but no name).
pub(crate) const OTEL_SPAN_NAME: &str = "trail.span.name";
/// The OpenTelemetry profile's attribute for the parent of the record's span.
pub(crate) const OTEL_PARENT_ID: &str = "trail.span.parent_id";

/// Marks, in the OpenTelemetry profile, a field named like one of the profile's own
/// attributes, or like a marked one: `user.id` becomes `trail.field.user.id`, which
/// becomes `trail.field.trail.field.user.id`. The reader takes one mark off.
pub(crate) const OTEL_FIELD_PREFIX: &str = "trail.field.";

/// The attribute name a field is written under in the OpenTelemetry profile.
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn otel_attribute(field: &str) -> std::borrow::Cow<'_, str> {
    if OTEL_ATTRIBUTES.contains(&field) || field.starts_with(OTEL_FIELD_PREFIX) {
        std::borrow::Cow::Owned(format!("{OTEL_FIELD_PREFIX}{field}"))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

/// Writes a JSON string, escaped as serde_json escapes it.
#[inline]
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn write_str(s: &str, out: &mut Vec<u8>) {
    // Most strings need no escape: copied between quotes, as serde_json would write them.
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        let n = bytes.len();
        if n > 32 {
            out.reserve(n + 2);
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        } else {
            out.reserve(n + 2);
            let len = out.len();
            let dst = &mut out.spare_capacity_mut()[..n + 2];
            dst[0].write(b'"');
            crate::payload::write_uninit(&mut dst[1..=n], bytes);
            dst[n + 1].write(b'"');
            // SAFETY: the capacity holds `len + n + 2` bytes, all of them now written.
            unsafe { out.set_len(len + n + 2) };
        }
        return;
    }
    // serde_json escapes per RFC 8259; serializing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Whether any byte is a control character, `"` or `\\`: eight bytes at a time.
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether a byte of `w` is below 0x20, or is `"` or `\\`. Each test is exact for the
    /// word as a whole (the usual "has a zero byte" bit trick, for bytes below 128; a byte
    /// of 128 or more has its high bit set in `w` and is masked out by `!w`).
    #[inline(always)]
    fn special(w: u64) -> bool {
        let control = w.wrapping_sub(ONES * 0x20) & !w;
        let quote =
            (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'"')));
        let backslash =
            (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'\\')));
        (control | quote | backslash) & HIGH != 0
    }
    let word = |chunk: &[u8]| u64::from_ne_bytes(chunk.try_into().unwrap_or([b' '; 8]));
    if bytes.len() < 8 {
        let mut padded = [b' '; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        return special(u64::from_ne_bytes(padded));
    }
    let mut chunks = bytes.chunks_exact(8);
    if chunks.by_ref().any(|chunk| special(word(chunk))) {
        return true;
    }
    // The last eight bytes, overlapping bytes already checked.
    !chunks.remainder().is_empty() && special(word(&bytes[bytes.len() - 8..]))
}

#[cfg(test)]
mod escape_tests {
    use proptest::prelude::*;

    proptest! {
        /// The copy-through path writes exactly what serde_json writes, escapes or not.
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in "(\\PC|[\"\\\\\\x00-\\x1f\\x7f\\u{2028}])*") {
            let mut ours = Vec::new();
            super::write_str(&s, &mut ours);
            prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        }
    }
}
