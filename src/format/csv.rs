//! CSV's share of the contract (RFC 4180): the header row at the top of every segment,
//! and how a cell is quoted.
//!
//! Columns `ts,level,seq,actor,target,msg,fields,file,line,thread`, rows ended by CRLF.
//! `actor` and `fields` hold JSON, so that values keep their types; `actor` is empty when
//! the event names none. A cell that holds a comma, a double quote or a line break is
//! quoted, with its quotes doubled.

/// The header row at the top of every CSV segment.
pub(crate) const HEADER: &str = "ts,level,seq,actor,target,msg,fields,file,line,thread";

/// Writes one cell, quoted when it must be. With `escape_formulas`, a text cell that a
/// spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading `'`, which spreadsheets show as text.
#[cfg_attr(not(feature = "writer"), allow(dead_code))]
pub(crate) fn cell(text: &[u8], escape_formulas: bool, out: &mut Vec<u8>) {
    let formula = escape_formulas
        && matches!(
            text.first(),
            Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
        );
    let quote = text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for &b in text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str, formulas: bool) -> String {
        let mut out = Vec::new();
        cell(text.as_bytes(), formulas, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_only_when_they_must_be() {
        assert_eq!(quoted("plain text", false), "plain text");
        assert_eq!(quoted("a,b", false), "\"a,b\"");
        assert_eq!(quoted("say \"hi\"", false), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\nlines", false), "\"two\nlines\"");
        assert_eq!(quoted("cr\r", false), "\"cr\r\"");
        assert_eq!(quoted("", false), "");
    }

    #[test]
    fn formulas_are_neutralised_only_when_asked() {
        assert_eq!(quoted("=1+1", false), "=1+1");
        for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"] {
            assert_eq!(quoted(text, true), format!("'{text}"));
        }
        assert_eq!(
            quoted("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(quoted("safe", true), "safe");
    }
}
