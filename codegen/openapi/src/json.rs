//! JSON files into a [`Tree`], with a small scanner of our own.
//!
//! YAML 1.2 reads JSON too, but through the YAML parser a 3.7 MB JSON document took ~90 ms
//! against ~20 ms here (release build, GitHub's API description), and YAML bends JSON's rules:
//! it accepts `[1, 2,]`, caps bracket nesting at 255 and implicit keys at 1024 characters. This
//! scanner is strict RFC 8259, loops with an explicit stack (nesting is bounded by
//! [`crate::Limits::max_depth`] in the builder), and tracks columns in characters as it goes,
//! so a minified one-line file costs no more than a pretty one.

use std::borrow::Cow;
use std::path::Path;

use contractor_core::{InputError, Position};

use crate::tree::{Builder, Number, Tree, Value};

/// JSON by name and by its first character; anything else goes to the YAML parser, which reads
/// JSON too.
pub(crate) fn looks_like_json(path: &Path, text: &str) -> bool {
    let named = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    named && matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

pub(crate) fn parse(text: &str, builder: Builder<'_>) -> Result<Tree, InputError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        line: 1,
        column: 1,
        builder,
        open: Vec::new(),
    };
    parser.run()?;
    parser.builder.finish()
}

/// What the parser expects next inside a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (the document, an array element, an object member's value).
    Value,
    /// After a value: `,` or the container's closing bracket (or the end of the input).
    Next,
}

struct Parser<'t, 'b> {
    text: &'t str,
    bytes: &'t [u8],
    /// Byte offset.
    at: usize,
    line: u32,
    /// 1-based, in characters.
    column: u32,
    builder: Builder<'b>,
    /// Open containers: `b'{'` or `b'['` with where they started.
    open: Vec<(u8, Position)>,
}

impl<'t> Parser<'t, '_> {
    fn position(&self) -> Position {
        Position::new(self.line, self.column)
    }

    fn error(&self, message: impl Into<String>) -> InputError {
        self.builder.error(self.position(), message)
    }

    fn error_at(&self, at: Position, message: impl Into<String>) -> InputError {
        self.builder.error(at, message)
    }

    /// Advances over `n` bytes that hold no line break.
    fn advance(&mut self, n: usize) {
        let chars = self.bytes[self.at..self.at + n]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        self.column = self.column.saturating_add(chars as u32);
        self.at += n;
    }

    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            match b {
                b' ' | b'\t' | b'\r' => {
                    self.at += 1;
                    self.column = self.column.saturating_add(1);
                }
                b'\n' => {
                    self.at += 1;
                    self.line = self.line.saturating_add(1);
                    self.column = 1;
                }
                _ => break,
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// A word for an unexpected byte.
    fn found(&self) -> String {
        match self.text[self.at..].chars().next() {
            None => "the end of the file".to_owned(),
            Some(c) if c.is_control() => format!("the control character U+{:04X}", c as u32),
            Some(c) => format!("`{c}`"),
        }
    }

    fn run(&mut self) -> Result<(), InputError> {
        let mut expect = Expect::Value;
        loop {
            self.skip_whitespace();
            match expect {
                Expect::Value => {
                    if self.builder.expects_key() {
                        self.key()?;
                    }
                    expect = self.value()?;
                }
                Expect::Next => {
                    let Some(&(bracket, start)) = self.open.last() else {
                        if self.at < self.bytes.len() {
                            return Err(self.error(format!(
                                "expected the end of the file after the JSON value, found {}",
                                self.found()
                            )));
                        }
                        return Ok(());
                    };
                    let close = if bracket == b'{' { b'}' } else { b']' };
                    match self.peek() {
                        Some(b',') => {
                            self.advance(1);
                            self.skip_whitespace();
                            if self.peek() == Some(close) {
                                return Err(self.error(format!(
                                    "`{}` right after `,` (JSON has no trailing commas)",
                                    close as char
                                )));
                            }
                            expect = Expect::Value;
                        }
                        Some(b) if b == close => {
                            self.advance(1);
                            self.open.pop();
                            self.builder.end(Some(self.position()))?;
                        }
                        None => {
                            return Err(self.error_at(
                                start,
                                format!("this `{}` is never closed", bracket as char),
                            ));
                        }
                        _ => {
                            let what = if bracket == b'{' {
                                "`,` or `}` after an object member"
                            } else {
                                "`,` or `]` after an array element"
                            };
                            return Err(
                                self.error(format!("expected {what}, found {}", self.found()))
                            );
                        }
                    }
                }
            }
        }
    }

    /// An object member's key and its `:`.
    fn key(&mut self) -> Result<(), InputError> {
        let start = self.position();
        if self.peek() != Some(b'"') {
            return Err(self.error(format!(
                "expected a string key in double quotes, found {}",
                self.found()
            )));
        }
        let text = self.string()?;
        let span = self.builder.span(start, self.position());
        self.builder.key(&text, false, span, 0);
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error(format!(
                "expected `:` after the key, found {}",
                self.found()
            )));
        }
        self.advance(1);
        self.skip_whitespace();
        Ok(())
    }

    /// One value, or the opening of a container (whose first element comes next).
    fn value(&mut self) -> Result<Expect, InputError> {
        let start = self.position();
        let Some(b) = self.peek() else {
            if let Some(&(bracket, start)) = self.open.last() {
                return Err(
                    self.error_at(start, format!("this `{}` is never closed", bracket as char))
                );
            }
            // An empty file: a null document, as in YAML; the caller says what it needed.
            return Ok(Expect::Next);
        };
        let value = match b {
            b'{' | b'[' => {
                self.advance(1);
                self.builder.start(b == b'{', start, 0)?;
                self.open.push((b, start));
                self.skip_whitespace();
                let close = if b == b'{' { b'}' } else { b']' };
                if self.peek() == Some(close) {
                    self.advance(1);
                    self.open.pop();
                    self.builder.end(Some(self.position()))?;
                    return Ok(Expect::Next);
                }
                return Ok(Expect::Value);
            }
            b'"' => Value::String(self.string()?.into_owned()),
            b'-' | b'0'..=b'9' => Value::Number(self.number()?),
            b't' => self.literal("true", Value::Bool(true))?,
            b'f' => self.literal("false", Value::Bool(false))?,
            b'n' => self.literal("null", Value::Null)?,
            _ => return Err(self.error(format!("expected a JSON value, found {}", self.found()))),
        };
        let span = self.builder.span(start, self.position());
        self.builder.value(value, span, 0)?;
        Ok(Expect::Next)
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, InputError> {
        let end = self.at + word.len();
        let follows = self.bytes.get(end).copied();
        if self.bytes.get(self.at..end) != Some(word.as_bytes())
            || follows.is_some_and(|b| b.is_ascii_alphanumeric())
        {
            return Err(self.error(format!("expected a JSON value, found {}", self.found())));
        }
        self.advance(word.len());
        Ok(value)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`
    fn number(&mut self) -> Result<Number, InputError> {
        let start = self.at;
        let bytes = self.bytes;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        let valid = digits(&mut i)
            && !(bytes[int_start] == b'0' && i - int_start > 1)
            && (bytes.get(i) != Some(&b'.') || {
                i += 1;
                digits(&mut i)
            })
            && (!matches!(bytes.get(i), Some(b'e' | b'E')) || {
                i += 1;
                if matches!(bytes.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
                digits(&mut i)
            })
            && !bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.');
        if !valid {
            return Err(self.error("invalid number"));
        }
        let number = Number::new(&self.text[start..i]);
        self.advance(i - start);
        Ok(number)
    }

    /// A string at `"`; leaves the parser after the closing quote.
    fn string(&mut self) -> Result<Cow<'t, str>, InputError> {
        let open = self.position();
        self.advance(1);
        let start = self.at;
        // Fast path: no escapes.
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'"' => {
                    let text = &self.text[start..i];
                    self.advance(i - start + 1);
                    return Ok(Cow::Borrowed(text));
                }
                b'\\' => break,
                0x00..=0x1F => {
                    self.advance(i - start);
                    return Err(self.error(format!("{} inside a string (escape it)", self.found())));
                }
                _ => i += 1,
            }
        }
        let mut out = String::from(&self.text[start..i]);
        self.advance(i - start);
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error_at(open, "this string is never closed"));
            };
            match b {
                b'"' => {
                    self.advance(1);
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    let escape = self.bytes.get(self.at + 1).copied();
                    let c = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.error("invalid escape in a string")),
                    };
                    out.push(c);
                    self.advance(2);
                }
                0x00..=0x1F => {
                    return Err(self.error(format!("{} inside a string (escape it)", self.found())));
                }
                _ => {
                    // Copy up to the next quote, backslash or control byte in one go.
                    let run = self.bytes[self.at..]
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .unwrap_or(self.bytes.len() - self.at);
                    out.push_str(&self.text[self.at..self.at + run]);
                    self.advance(run);
                }
            }
        }
    }

    /// `\uXXXX`, with a following `\uXXXX` for a surrogate pair; at the backslash.
    fn unicode_escape(&mut self) -> Result<char, InputError> {
        let hex = |at: usize| -> Option<u32> {
            let digits = self.text.get(at..at + 4)?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(digits, 16).ok()
        };
        let invalid = |p: &Self| p.error("invalid \\u escape in a string");
        let first = hex(self.at + 2).ok_or_else(|| invalid(self))?;
        if (0xD800..0xDC00).contains(&first) {
            let low = (self.bytes.get(self.at + 6..self.at + 8) == Some(b"\\u"))
                .then(|| hex(self.at + 8))
                .flatten()
                .filter(|low| (0xDC00..0xE000).contains(low));
            let Some(low) = low else {
                return Err(self.error("unpaired surrogate in a \\u escape"));
            };
            let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))
                .ok_or_else(|| invalid(self))?;
            self.advance(12);
            return Ok(c);
        }
        let c = char::from_u32(first)
            .ok_or_else(|| self.error("unpaired surrogate in a \\u escape"))?;
        self.advance(6);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::tests::{json, yaml};
    use crate::tree::{NodeId, Tree};

    fn err(text: &str) -> String {
        match json(text) {
            Ok(_) => panic!("expected an error for {text:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn root_value(text: &str) -> Value {
        let tree = json(text).unwrap();
        tree.node(tree.root()).value.clone()
    }

    /// The same tree, spans included, walking both with an explicit stack.
    pub(crate) fn assert_same_tree(a: &Tree, b: &Tree) {
        assert_eq!(a.len(), b.len());
        let mut stack: Vec<(NodeId, NodeId)> = vec![(a.root(), b.root())];
        while let Some((x, y)) = stack.pop() {
            let (nx, ny) = (a.node(x), b.node(y));
            assert_eq!(
                (nx.span.start, nx.span.end),
                (ny.span.start, ny.span.end),
                "{}",
                a.pointer_of(x)
            );
            match (&nx.value, &ny.value) {
                (Value::Seq(xs), Value::Seq(ys)) => {
                    assert_eq!(xs.len(), ys.len());
                    stack.extend(xs.iter().copied().zip(ys.iter().copied()));
                }
                (Value::Map(xs), Value::Map(ys)) => {
                    assert_eq!(xs.len(), ys.len());
                    for (ex, ey) in xs.iter().zip(ys.iter()) {
                        assert_eq!(ex.key.text, ey.key.text);
                        assert_eq!(
                            (ex.key.span.start, ex.key.span.end),
                            (ey.key.span.start, ey.key.span.end)
                        );
                        stack.push((ex.value, ey.value));
                    }
                }
                (vx, vy) => assert_eq!(vx, vy, "{}", a.pointer_of(x)),
            }
        }
    }

    #[test]
    fn agrees_with_the_yaml_parser() {
        let text = "{\n  \"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"],\n\t\"b\": {\"c\": {}, \"d\": []},\n  \"é\": \"ü\", \"/~\": 0\n}\n";
        assert_same_tree(&json(text).unwrap(), &yaml(text).unwrap());
        let minified = "[{\"k\":[[],{},\"\"]},0]";
        assert_same_tree(&json(minified).unwrap(), &yaml(minified).unwrap());
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            root_value(r#""a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\ud83d\ude00""#),
            Value::String("a\"b\\c/d\u{8}\u{c}\n\r\tAé😀".into())
        );
        assert_eq!(
            err(r#""\ud83d""#),
            "t.json:1:2: unpaired surrogate in a \\u escape"
        );
        assert_eq!(
            err(r#""\ude00""#),
            "t.json:1:2: unpaired surrogate in a \\u escape"
        );
        assert_eq!(
            err(r#""\u12""#),
            "t.json:1:2: invalid \\u escape in a string"
        );
        assert_eq!(err(r#""\x""#), "t.json:1:2: invalid escape in a string");
        assert_eq!(
            err("\"a\tb\""),
            "t.json:1:3: the control character U+0009 inside a string (escape it)"
        );
    }

    #[test]
    fn numbers_keep_their_text() {
        for good in [
            "0",
            "-0",
            "12",
            "-1.5",
            "1e5",
            "1E+5",
            "2.5e-3",
            "123456789012345678901234567890",
        ] {
            assert_eq!(root_value(good), Value::Number(Number::new(good)), "{good}");
        }
        for bad in [
            "01", "1.", ".5", "-", "+1", "1e", "1.5.2", "0x10", "1a", "-.5",
        ] {
            assert!(err(bad).contains("t.json:1:1: "), "{bad}: {}", err(bad));
        }
    }

    #[test]
    fn structure_errors_are_positioned() {
        assert_eq!(
            err("{\"a\" 1}"),
            "t.json:1:6: expected `:` after the key, found `1`"
        );
        assert_eq!(
            err("{a: 1}"),
            "t.json:1:2: expected a string key in double quotes, found `a`"
        );
        assert_eq!(
            err("{\"a\": 1 \"b\": 2}"),
            "t.json:1:9: expected `,` or `}` after an object member, found `\"`"
        );
        assert_eq!(
            err("[1 2]"),
            "t.json:1:4: expected `,` or `]` after an array element, found `2`"
        );
        assert_eq!(
            err("{\"a\": 1,}"),
            "t.json:1:9: `}` right after `,` (JSON has no trailing commas)"
        );
        assert_eq!(
            err("{\n  \"a\": [1,\n"),
            "t.json:2:8: this `[` is never closed"
        );
        assert_eq!(
            err("{}\n{}"),
            "t.json:2:1: expected the end of the file after the JSON value, found `{`"
        );
        assert_eq!(err("[tru]"), "t.json:1:2: expected a JSON value, found `t`");
        assert_eq!(
            err("[nulls]"),
            "t.json:1:2: expected a JSON value, found `n`"
        );
        assert_eq!(
            err("[1,\u{1}]"),
            "t.json:1:4: expected a JSON value, found the control character U+0001"
        );
    }

    #[test]
    fn json_is_recognised_by_name_and_first_character() {
        assert!(looks_like_json(Path::new("a.json"), " \n{}"));
        assert!(looks_like_json(Path::new("a.JSON"), "[1]"));
        assert!(!looks_like_json(Path::new("a.json"), "openapi: 3.0.0"));
        assert!(!looks_like_json(Path::new("a.yaml"), "{}"));
    }
}
