//! YAML (and so JSON) into a [`Tree`], through `saphyr-parser`'s pull API.
//!
//! The pull API (`Parser::next_event`) is a state machine with its own explicit stack; its
//! `load` convenience recurses, so it is not used. Plain scalars resolve by the YAML 1.2 core
//! schema (`yes`/`no` stay strings, as YAML 1.2 and OpenAPI intend).

use std::borrow::Cow;

use contractor_core::{InputError, Position};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};

use crate::tree::{Builder, Number, Tree, Value};

fn position(marker: &Marker) -> Position {
    let line = u32::try_from(marker.line()).unwrap_or(u32::MAX);
    let column = u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX);
    Position::new(line, column)
}

/// Parses one YAML document. More than one document in a file is an error: a contract is one
/// value, and silently taking the first would hide the rest.
pub(crate) fn parse(text: &str, mut builder: Builder<'_>) -> Result<Tree, InputError> {
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let message = match e.info() {
                // saphyr counts flow levels in a u8.
                "recursion limit exceeded" => {
                    "brackets are nested more than 255 levels deep (the YAML parser's limit)"
                }
                info => info,
            };
            builder.error(position(e.marker()), message)
        })?;
        let start = position(&span.start);
        let end = position(&span.end);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(builder.error(
                        start,
                        "a contract file holds one YAML document; found a second `---`",
                    ));
                }
            }
            Event::Alias(anchor) => builder.alias(anchor, builder.span(start, end))?,
            Event::Scalar(text, style, anchor, tag) => {
                let span = builder.span(start, end);
                let plain = style == ScalarStyle::Plain && tag.is_none();
                if builder.expects_key() {
                    if let Some(tag) = &tag {
                        check_key_tag(tag).map_err(|m| builder.error(start, m))?;
                    }
                    builder.key(&text, plain, span, anchor);
                } else {
                    let value = resolve(text, style, tag.as_deref())
                        .map_err(|m| builder.error(start, m))?;
                    builder.value(value, span, anchor)?;
                }
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq").map_err(|m| builder.error(start, m))?;
                builder.start(false, start, anchor)?;
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map").map_err(|m| builder.error(start, m))?;
                builder.start(true, start, anchor)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                // Flow collections end at their closing bracket; block ones have an empty span
                // at the next token, and end with their last entry instead.
                let flow_end = (span.end.index() > span.start.index()).then_some(end);
                builder.end(flow_end)?;
            }
        }
    }
    builder.finish()
}

const CORE: &str = "tag:yaml.org,2002:";

fn tag_name(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

/// Only the core schema's own tags are understood; anything else (`!Ref`, `!!binary`) changes
/// what a value means in ways a contract reader cannot know, so it is refused rather than
/// ignored.
fn unsupported(tag: &Tag) -> String {
    let name = tag_name(tag);
    let shown = match name.strip_prefix(CORE) {
        Some(core) => format!("!!{core}"),
        None => name,
    };
    format!("unsupported YAML tag `{shown}` (contracts use plain JSON-compatible values)")
}

fn check_collection_tag(tag: Option<&Tag>, core: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => Ok(()),
        Some(tag) if tag_name(tag).strip_prefix(CORE) == Some(core) => Ok(()),
        Some(tag) => Err(unsupported(tag)),
    }
}

fn check_key_tag(tag: &Tag) -> Result<(), String> {
    let name = tag_name(tag);
    match name.strip_prefix(CORE) {
        Some("str" | "int" | "float" | "bool" | "null") => Ok(()),
        _ if name == "!" => Ok(()),
        _ => Err(unsupported(tag)),
    }
}

/// The value of a scalar: quoted and block scalars are strings; plain ones follow the core
/// schema; `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` and `!` force a type.
fn resolve(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain {
            resolve_plain(text)
        } else {
            Value::String(text.into_owned())
        });
    };
    let name = tag_name(tag);
    if name == "!" {
        return Ok(Value::String(text.into_owned()));
    }
    let wanted = match name.strip_prefix(CORE) {
        Some("str") => return Ok(Value::String(text.into_owned())),
        Some(wanted @ ("int" | "float" | "bool" | "null")) => wanted,
        _ => return Err(unsupported(tag)),
    };
    let value = resolve_plain(Cow::Borrowed(&text));
    let fits = match (&value, wanted) {
        (Value::Null, "null") | (Value::Bool(_), "bool") => true,
        (Value::Number(n), "int") => n.is_integer(),
        (Value::Number(_), "float") => true,
        _ => false,
    };
    if fits {
        Ok(value)
    } else {
        Err(format!("`{text}` is not a valid !!{wanted}"))
    }
}

fn resolve_plain(text: Cow<'_, str>) -> Value {
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        s if is_core_number(s) => Value::Number(Number::new(s)),
        _ => Value::String(text.into_owned()),
    }
}

/// The core schema's int and float forms:
/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`,
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.(inf|Inf|INF)`, `\.(nan|NaN|NAN)`.
fn is_core_number(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(b'0'..=b'9' | b'-' | b'+' | b'.') => {}
        _ => return false,
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(octal) = s.strip_prefix("0o") {
        return !octal.is_empty() && octal.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        None => digits(mantissa),
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => digits(e.strip_prefix(['-', '+']).unwrap_or(e)),
    };
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_numbers() {
        for yes in [
            "0", "-12", "+3", "0x1F", "0o17", "1.5", "1.", ".5", "-1e5", "1E+2", "2.5e-3", ".inf",
            "-.Inf", "+.INF", ".nan", "007",
        ] {
            assert!(is_core_number(yes), "{yes}");
        }
        for no in [
            "", "-", ".", "1.2.3", "0x", "0o8", "1e", "e5", "1_000", "3.0.3", "inf", "nan",
            "-.nan", "12abc", "0b101", "+", "1e+", "..5",
        ] {
            assert!(!is_core_number(no), "{no}");
        }
    }

    #[test]
    fn plain_scalars_resolve_by_the_core_schema() {
        let r = |s: &str| resolve_plain(Cow::Borrowed(s));
        assert_eq!(r("~"), Value::Null);
        assert_eq!(r(""), Value::Null);
        assert_eq!(r("True"), Value::Bool(true));
        assert_eq!(r("yes"), Value::String("yes".into()));
        assert_eq!(r("3.0.3"), Value::String("3.0.3".into()));
        assert_eq!(r("3.0"), Value::Number(Number::new("3.0")));
    }
}
