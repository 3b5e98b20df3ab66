//! Parsing a message template, in the syntax of `format!`.
//!
//! The template splits into literal text and placeholders. A placeholder names its
//! argument (`{}`, `{0}`, `{name}`) and keeps its format spec as written (`{:>8.2}`),
//! so that the expansion can hand the spec back to `format_args!` unchanged.

/// Which argument a placeholder refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArgRef {
    Index(usize),
    Name(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Segment {
    Lit(String),
    Hole { arg: ArgRef, spec: String },
}

/// Parses `template`; an error message describes what is wrong with it.
pub fn parse(template: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut lit = String::new();
    let mut next_positional = 0;
    let mut chars = template.char_indices().peekable();

    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                lit.push('}');
            }
            '}' => {
                return Err(format!(
                    "unmatched `}}` at byte {at} of the message; write `}}}}` for a literal brace"
                ))
            }
            '{' => {
                let mut inner = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(format!(
                        "unclosed `{{` at byte {at} of the message; write `{{{{` for a literal brace"
                    ));
                }
                let (name, spec) = match inner.split_once(':') {
                    Some((name, spec)) => (name.trim(), spec.to_owned()),
                    None => (inner.trim(), String::new()),
                };
                if spec.contains('$') || spec.contains('*') {
                    return Err(format!(
                        "`{{{inner}}}`: width or precision taken from an argument is not supported \
                         in messages; format the value first (for example as a `%` field)"
                    ));
                }
                let arg = if name.is_empty() {
                    next_positional += 1;
                    ArgRef::Index(next_positional - 1)
                } else if let Ok(index) = name.parse::<usize>() {
                    ArgRef::Index(index)
                } else if is_identifier(name) {
                    ArgRef::Name(name.to_owned())
                } else {
                    return Err(format!(
                        "invalid argument name `{name}` in `{{{inner}}}`: expected a position, \
                         an identifier or nothing"
                    ));
                };
                if !lit.is_empty() {
                    segments.push(Segment::Lit(std::mem::take(&mut lit)));
                }
                segments.push(Segment::Hole { arg, spec });
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        segments.push(Segment::Lit(lit));
    }
    Ok(segments)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
        && s != "_"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Segment {
        Segment::Lit(s.to_owned())
    }

    fn hole(arg: ArgRef, spec: &str) -> Segment {
        Segment::Hole {
            arg,
            spec: spec.to_owned(),
        }
    }

    #[test]
    fn splits_text_and_placeholders() {
        assert_eq!(
            parse("added {quantity} items, {} left, {0:>4} {:?}").unwrap(),
            vec![
                lit("added "),
                hole(ArgRef::Name("quantity".into()), ""),
                lit(" items, "),
                hole(ArgRef::Index(0), ""),
                lit(" left, "),
                hole(ArgRef::Index(0), ">4"),
                lit(" "),
                hole(ArgRef::Index(1), "?"),
            ]
        );
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(parse("{{x}} {{}}").unwrap(), vec![lit("{x} {}")]);
    }

    #[test]
    fn mistakes_are_described() {
        assert!(parse("a } b").unwrap_err().contains("unmatched `}`"));
        assert!(parse("a { b").unwrap_err().contains("unclosed `{`"));
        assert!(parse("{a-b}")
            .unwrap_err()
            .contains("invalid argument name"));
        assert!(parse("{:1$}").unwrap_err().contains("not supported"));
        assert!(parse("{:.*}").unwrap_err().contains("not supported"));
    }
}
