//! CSV's share of the contract (RFC 4180): the header row at the top of every segment,
//! and how a cell is quoted.
//!
//! Columns `ts,level,seq,actor,target,msg,fields,file,line,thread,span,span_id,parent_id,
//! trace_id` (the last four, the span context, since spans; older segments have ten),
//! rows ended by CRLF.
//! `actor` and `fields` hold JSON, so that values keep their types; `actor` is empty when
//! the event names none. A cell that holds a comma, a double quote or a line break is
//! quoted, with its quotes doubled.

/// The header row of CSV segments written before span contexts.
pub(crate) const HEADER: &str = "ts,level,seq,actor,target,msg,fields,file,line,thread";

/// The header row at the top of every CSV segment: the ten columns above, then the span
/// context's, empty in a row captured outside spans.
pub(crate) const HEADER_WITH_SPANS: &str =
    "ts,level,seq,actor,target,msg,fields,file,line,thread,span,span_id,parent_id,trace_id";

/// Whether `line` starts with a header row (either one) and its line break.
#[cfg_attr(not(feature = "read"), allow(dead_code))]
pub(crate) fn starts_with_header(line: &[u8]) -> bool {
    [HEADER_WITH_SPANS, HEADER].iter().any(|header| {
        line.strip_prefix(header.as_bytes())
            .is_some_and(|rest| matches!(rest, [b'\n', ..] | [b'\r', b'\n', ..]))
    })
}

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
    fn both_headers_are_told_from_rows() {
        assert!(starts_with_header(
            b"ts,level,seq,actor,target,msg,fields,file,line,thread\r\n"
        ));
        assert!(starts_with_header(
            format!("{HEADER_WITH_SPANS}\nx").as_bytes()
        ));
        assert!(!starts_with_header(HEADER.as_bytes()));
        assert!(!starts_with_header(format!("{HEADER},span\r\n").as_bytes()));
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
