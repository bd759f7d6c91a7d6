//! A compact, strict JSON reader that keeps where every value is written.
//!
//! Why not serde_json: its `Value` forgets positions, and a finding must point at the line and
//! column of the node a JSON pointer names. Why not the OpenAPI crate's scanner: it is private to
//! that crate and builds an OpenAPI-shaped arena with YAML concerns; an `.avsc` file needs only
//! RFC 8259 with byte offsets, plus the `//` and `/* */` comments that Avro's Java parser
//! accepts (and real `.avsc` files use). Nesting is capped at [`MAX_DEPTH`], so the recursive
//! descent here, the recursive `Drop` of [`Json`] and every later walk over the tree stay within
//! a small, known stack whatever the input.

use contractor_core::{InputError, SourceText};

/// The deepest nesting of arrays and objects accepted. Real schemas nest a few dozen levels
/// (each Avro record level costs three: the record object, its `fields` array, a field object).
/// 128 is also serde_json's limit, which apache-avro reads through.
pub const MAX_DEPTH: usize = 128;

/// A JSON value with the byte range it is written at (`start..end` in the file's text).
/// Values built from a `serde_json::Value` have no text and carry `0..0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Json {
    pub value: JsonValue,
    pub start: usize,
    pub end: usize,
}

/// The JSON data model. Numbers keep the text they were written with.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in document order (duplicate keys are refused while reading).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match &self.value {
            JsonValue::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// A word for error messages: "an object", "a string", ...
    pub fn kind(&self) -> &'static str {
        match self.value {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "a boolean",
            JsonValue::Number(_) => "a number",
            JsonValue::String(_) => "a string",
            JsonValue::Array(_) => "an array",
            JsonValue::Object(_) => "an object",
        }
    }

    /// The node a JSON pointer (RFC 6901) names, starting at `self`.
    pub fn pointer(&self, pointer: &str) -> Option<&Json> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut node = self;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                JsonValue::Object(members) => {
                    members.iter().find(|(k, _)| *k == token).map(|(_, v)| v)?
                }
                JsonValue::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Converts a `serde_json::Value` (no positions: every range is `0..0`). serde_json caps
    /// its own nesting at 128 when parsing, so the recursion here is bounded for parsed values;
    /// deeper hand-built values are cut at [`MAX_DEPTH`] (the rest becomes `null`).
    pub fn from_serde(value: &serde_json::Value) -> Json {
        from_serde_at(value, 0)
    }
}

impl Json {
    /// The same value as a `serde_json::Value` (comments are gone; numbers that serde_json
    /// cannot hold become `null`). Recursion is bounded by [`MAX_DEPTH`] for parsed values.
    pub fn to_serde(&self) -> serde_json::Value {
        match &self.value {
            JsonValue::Null => serde_json::Value::Null,
            JsonValue::Bool(b) => serde_json::Value::Bool(*b),
            JsonValue::Number(n) => serde_json::from_str(n).unwrap_or(serde_json::Value::Null),
            JsonValue::String(s) => serde_json::Value::String(s.clone()),
            JsonValue::Array(items) => {
                serde_json::Value::Array(items.iter().map(Json::to_serde).collect())
            }
            JsonValue::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

fn from_serde_at(value: &serde_json::Value, depth: usize) -> Json {
    let value = match value {
        serde_json::Value::Null => JsonValue::Null,
        serde_json::Value::Bool(b) => JsonValue::Bool(*b),
        serde_json::Value::Number(n) => JsonValue::Number(n.to_string()),
        serde_json::Value::String(s) => JsonValue::String(s.clone()),
        _ if depth >= MAX_DEPTH => JsonValue::Null,
        serde_json::Value::Array(items) => {
            JsonValue::Array(items.iter().map(|v| from_serde_at(v, depth + 1)).collect())
        }
        serde_json::Value::Object(members) => JsonValue::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), from_serde_at(v, depth + 1)))
                .collect(),
        ),
    };
    Json {
        value,
        start: 0,
        end: 0,
    }
}

/// Reads one JSON document. Errors name `display` and the line and column of the problem.
pub fn parse(display: &str, source: &SourceText) -> Result<Json, InputError> {
    let text = source.text();
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        at: 0,
        display,
        source,
    };
    // A byte-order mark is not JSON, but editors write one.
    if text.starts_with('\u{FEFF}') {
        reader.at = 3;
    }
    reader.skip_space()?;
    let value = reader.value(0)?;
    reader.skip_space()?;
    if reader.at < reader.bytes.len() {
        return Err(reader.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
    display: &'t str,
    source: &'t SourceText,
}

impl Reader<'_> {
    fn error(&self, message: impl Into<String>) -> InputError {
        self.error_at(self.at, message)
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> InputError {
        InputError::at(self.display, self.source.position(offset), message)
    }

    /// Skips whitespace and comments.
    fn skip_space(&mut self) -> Result<(), InputError> {
        loop {
            match (self.bytes.get(self.at), self.bytes.get(self.at + 1)) {
                (Some(b' ' | b'\t' | b'\n' | b'\r'), _) => self.at += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.bytes.get(self.at).is_some_and(|&b| b != b'\n') {
                        self.at += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let open = self.at;
                    match self.text[self.at + 2..].find("*/") {
                        Some(end) => self.at += 2 + end + 2,
                        None => return Err(self.error_at(open, "unterminated comment")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, InputError> {
        let start = self.at;
        let value = match self.bytes.get(self.at) {
            None => return Err(self.error("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonValue::String(self.string()?),
            Some(b't') => self.word("true", JsonValue::Bool(true))?,
            Some(b'f') => self.word("false", JsonValue::Bool(false))?,
            Some(b'n') => self.word("null", JsonValue::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => {
                let found = self.text[self.at..].chars().next().unwrap_or(' ');
                return Err(self.error(format!("expected a JSON value, found `{found}`")));
            }
        };
        Ok(Json {
            value,
            start,
            end: self.at,
        })
    }

    fn enter(&self, depth: usize) -> Result<usize, InputError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!(
                "nesting deeper than {MAX_DEPTH} levels is not supported"
            )));
        }
        Ok(depth + 1)
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, InputError> {
        let depth = self.enter(depth)?;
        self.at += 1;
        let mut members: Vec<(String, Json)> = Vec::new();
        self.skip_space()?;
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(JsonValue::Object(members));
        }
        loop {
            self.skip_space()?;
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(self.error("expected a member name in double quotes"));
            }
            let key_at = self.at;
            let key = self.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(self.error_at(key_at, format!("duplicate member `{key}`")));
            }
            self.skip_space()?;
            if self.bytes.get(self.at) != Some(&b':') {
                return Err(self.error("expected `:` after the member name"));
            }
            self.at += 1;
            self.skip_space()?;
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_space()?;
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(JsonValue::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}` in the object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, InputError> {
        let depth = self.enter(depth)?;
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space()?;
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.skip_space()?;
            items.push(self.value(depth)?);
            self.skip_space()?;
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]` in the array")),
            }
        }
    }

    fn word(&mut self, word: &str, value: JsonValue) -> Result<JsonValue, InputError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a JSON value (true, false, null, a number, a string, an array or an object)"))
        }
    }

    fn number(&mut self) -> Result<JsonValue, InputError> {
        let start = self.at;
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.bytes.get(r.at).is_some_and(u8::is_ascii_digit) {
                r.at += 1;
            }
            r.at - from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        let n = digits(self);
        if n == 0 || (n > 1 && self.bytes[int_start] == b'0') {
            return Err(self.error_at(start, "invalid number"));
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Err(self.error("expected a digit after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        Ok(JsonValue::Number(self.text[start..self.at].to_string()))
    }

    fn string(&mut self) -> Result<String, InputError> {
        let open = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            let run_start = self.at;
            while let Some(&b) = self.bytes.get(self.at) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(&self.text[run_start..self.at]);
            match self.bytes.get(self.at) {
                None => return Err(self.error_at(open, "unterminated string")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escape_at = self.at;
                    self.at += 1;
                    let c = match self.bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high)
                                && self.text[self.at..].starts_with("\\u")
                            {
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self.error_at(escape_at, "invalid surrogate pair"));
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        _ => return Err(self.error_at(escape_at, "invalid escape sequence")),
                    };
                    self.at += 1;
                    out.push(c);
                }
                Some(_) => {
                    return Err(self.error("control character in a string (escape it)"));
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, InputError> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits after `\\u`"))?;
        let code =
            u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid `\\u` escape"))?;
        self.at += 4;
        Ok(code)
    }
}

/// Escapes one reference token of a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Json, InputError> {
        parse("t.avsc", &SourceText::new(text))
    }

    #[test]
    fn keeps_offsets_and_finds_pointers() {
        let json = read("{\"a\": [1, {\"b\": \"x\\u00e9\"}]}").expect("valid");
        let b = json.pointer("/a/1/b").expect("found");
        assert_eq!(b.as_str(), Some("xé"));
        assert_eq!(b.start, 16);
    }

    #[test]
    fn refuses_bad_json_with_a_position() {
        let err = read("{\n  \"a\": 1,\n}").expect_err("trailing comma");
        assert_eq!(err.position.map(|p| p.line), Some(3));
        assert!(read("[01]").is_err());
        assert!(read("{\"a\":1,\"a\":2}").is_err());
        assert!(read("\"abc").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        let err = read(&text).expect_err("too deep");
        assert!(err.message.contains("nesting"));
    }
}
