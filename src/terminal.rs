//! Text bound for a terminal, made harmless: every control character escaped.
//!
//! A value logged by anyone (a user name, a request path) may carry bytes a terminal acts
//! on: ESC starts sequences that move the cursor or set the window title, CR and line
//! breaks forge lines, U+009B is an 8-bit CSI on some terminals. Everything that shows
//! values to people (the console, the text format, the `trail` CLI) passes them through
//! [`escape_controls`], and so escapes the same characters the same way.
//!
//! The controls are those of Unicode's `Cc` category: C0 (U+0000 to U+001F), DEL (U+007F)
//! and C1 (U+0080 to U+009F). Each becomes a JSON escape (`\n`, `\r`, `\t`, or `\u00XX`),
//! so that inside a JSON string the escaped text still means what it meant.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) written as a JSON escape: `\n`,
/// `\r`, `\t` or `\u00XX`. Borrowed when there is none.
///
/// ```
/// use trail::terminal::escape_controls;
///
/// assert_eq!(escape_controls("ana"), "ana");
/// assert_eq!(escape_controls("\u{1b}]0;owned\u{7}"), "\\u001b]0;owned\\u0007");
/// assert_eq!(escape_controls("a\nb\r\u{7f}\u{9b}"), "a\\nb\\r\\u007f\\u009b");
/// ```
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes, in place, the control characters in `out[start..]`, which holds UTF-8 text.
///
/// The encoders call it on a line of text whose strings are already JSON-escaped: only
/// DEL and C1 can remain there, and only inside JSON strings, where their escapes keep
/// the line's meaning.
#[cfg(feature = "writer")]
pub(crate) fn escape_controls_after(out: &mut Vec<u8>, start: usize) {
    // C0 and DEL are single bytes; every C1 character is encoded as 0xC2 0x80..=0x9F.
    let tail = &out[start..];
    // A fold rather than `any`: without the early exit the compiler checks many bytes at
    // once, and nearly every line has none of these.
    let suspect = tail.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == 0x7f) | (b == 0xc2)
    });
    if !suspect {
        return;
    }
    let Ok(text) = std::str::from_utf8(tail) else {
        return;
    };
    if let Cow::Owned(escaped) = escape_controls(text) {
        out.truncate(start);
        out.extend_from_slice(escaped.as_bytes());
    }
}

#[cfg(all(test, feature = "read"))]
mod tests {
    use super::*;

    #[test]
    fn every_c0_c1_and_del_is_escaped_and_nothing_else() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let s = c.to_string();
            let escaped = escape_controls(&s);
            let control = c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c);
            assert_eq!(matches!(escaped, Cow::Owned(_)), control, "{c:?}");
            assert!(!escaped.chars().any(char::is_control), "{c:?}");
            if control {
                // The escape is JSON's: it reads back as the character.
                let back: String = serde_json::from_str(&format!("\"{escaped}\"")).unwrap();
                assert_eq!(back, s);
            }
        }
    }
}
