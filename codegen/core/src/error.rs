//! Bad input: the one error type that every frontend turns its failures into.
//! The CLI prints it as `path:line:column: message` and exits with code 2.

use std::fmt;

use crate::source::Position;

/// A contract (or a configuration file) that cannot be read or understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The display path of the offending file, if one is known.
    pub path: Option<String>,
    /// Where in that file, if known.
    pub position: Option<Position>,
    /// One line saying what is wrong.
    pub message: String,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            path: None,
            position: None,
            message: one_line(&message.into()),
        }
    }

    pub fn in_file(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: Some(path.into()),
            ..Self::new(message)
        }
    }

    pub fn at(path: impl Into<String>, position: Position, message: impl Into<String>) -> Self {
        Self {
            position: Some(position),
            ..Self::in_file(path, message)
        }
    }
}

/// Error messages from parsers sometimes span lines; a diagnostic is one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.position) {
            (Some(path), Some(pos)) => {
                write!(f, "{path}:{}:{}: {}", pos.line, pos.column, self.message)
            }
            (Some(path), None) => write!(f, "{path}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_and_a_single_line() {
        let err = InputError::at(
            "a.proto",
            Position::new(3, 7),
            "expected ';'\n  but found '}'",
        );
        assert_eq!(err.to_string(), "a.proto:3:7: expected ';' but found '}'");
        assert_eq!(
            InputError::in_file("b.proto", "not found").to_string(),
            "b.proto: not found"
        );
    }
}
