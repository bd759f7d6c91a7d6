//! Source files and the positions in them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// A 1-based line and column. Columns count characters (Unicode scalar values),
/// as editors and GitHub annotations do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub const fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

/// A span in one file, as the user should see it (`path` is a display path:
/// what the user typed, joined with the file's name inside the module).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: String,
    pub start: Position,
    pub end: Position,
}

impl Location {
    pub fn new(path: impl Into<String>, start: Position, end: Position) -> Self {
        Self {
            path: path.into(),
            start,
            end,
        }
    }

    /// A location for a whole file when no finer span exists (line 1, column 1).
    pub fn file(path: impl Into<String>) -> Self {
        Self::new(path, Position::new(1, 1), Position::new(1, 1))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.start.line, self.start.column)
    }
}

/// The text of one source file with a line index, for snippets and for turning
/// byte offsets into positions.
#[derive(Debug, Clone)]
pub struct SourceText {
    text: String,
    line_starts: Vec<usize>,
}

impl SourceText {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, line_starts }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of 1-based line `line`, without its line terminator.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = (line as usize).checked_sub(1)?;
        let start = *self.line_starts.get(index)?;
        let end = self
            .line_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.text.len());
        Some(self.text[start..end].trim_end_matches(['\n', '\r']))
    }

    /// The position of byte `offset` (clamped to the text, and to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let column = self.text[self.line_starts[index]..offset].chars().count();
        Position::new(index as u32 + 1, column as u32 + 1)
    }
}

/// Every source text a report may quote, keyed by display path.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: BTreeMap<String, SourceText>,
}

impl Sources {
    pub fn insert(&mut self, path: impl Into<String>, text: SourceText) {
        self.files.insert(path.into(), text);
    }

    pub fn get(&self, path: &str) -> Option<&SourceText> {
        self.files.get(path)
    }

    pub fn extend(&mut self, other: Sources) {
        self.files.extend(other.files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = SourceText::new("ab\nçd\r\nx");
        assert_eq!(src.position(0), Position::new(1, 1));
        assert_eq!(src.position(3), Position::new(2, 1));
        // 'ç' is two bytes; 'd' is the second character of line 2.
        assert_eq!(src.position(5), Position::new(2, 2));
        assert_eq!(src.position(100), Position::new(3, 2));
        assert_eq!(src.line(2), Some("çd"));
        assert_eq!(src.line(3), Some("x"));
        assert_eq!(src.line(4), None);
        assert_eq!(src.line(0), None);
    }

    #[test]
    fn offsets_inside_a_character_snap_back() {
        let src = SourceText::new("çx");
        assert_eq!(src.position(1), Position::new(1, 1));
    }
}
