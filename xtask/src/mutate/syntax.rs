//! Just enough of a .proto reader to find the statements a mutation edits.
//!
//! Tokens keep their byte offsets so that mutations are plain text edits that
//! leave the rest of the file (and so every other line number) untouched. The
//! reader does not validate anything: buf judges whether a mutant compiles.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// Identifiers, keywords and dotted names (`google.api.http`, `.foo.Bar`).
    Ident,
    Number,
    Str,
    Punct,
}

#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
}

pub fn tokenize(src: &str) -> Vec<Tok> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if src[i..].starts_with("/*") {
            i = src[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
            continue;
        }
        let ident_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
        let kind = if ident_start(c)
            || (c == b'.' && bytes.get(i + 1).copied().is_some_and(ident_start))
        {
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.'))
            {
                i += 1;
            }
            TokKind::Ident
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            TokKind::Number
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            TokKind::Str
        } else {
            // One punctuation character; step over a whole UTF-8 sequence.
            i += src[i..].chars().next().map_or(1, char::len_utf8);
            TokKind::Punct
        };
        toks.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    toks
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Syntax,
    Package,
    Import,
    Option,
    Message,
    Enum,
    Service,
    Oneof,
    Rpc,
    Reserved,
    /// A field of a message (or oneof), map fields included.
    Field,
    EnumValue,
    Other,
}

/// One statement: its tokens `first..=last`; `head_end` is the `{` of a block or
/// the final `;`. Blocks have their statements in `body`.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: Kind,
    pub first: usize,
    pub head_end: usize,
    pub last: usize,
    pub body: Vec<Stmt>,
}

/// A parsed file: its text, tokens and statement tree.
pub struct Proto {
    pub src: String,
    pub toks: Vec<Tok>,
    pub stmts: Vec<Stmt>,
}

/// A statement found by [`Proto::items`], with where it sits.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub stmt: &'a Stmt,
    /// Dotted names of the enclosing messages, enums, services (`Bucket.Billing`).
    pub scope: String,
    /// The kind of the enclosing statement (`Other` at file level).
    pub parent: Kind,
}

impl Proto {
    pub fn parse(src: &str) -> Self {
        let toks = tokenize(src);
        let mut p = Parser {
            src,
            toks: &toks,
            i: 0,
        };
        let stmts = p.block(Kind::Other);
        Self {
            src: src.to_string(),
            toks,
            stmts,
        }
    }

    /// A token's text ("" past the end, so that a truncated statement cannot panic).
    pub fn text(&self, tok: usize) -> &str {
        self.toks.get(tok).map_or("", |t| &self.src[t.start..t.end])
    }

    pub fn is(&self, tok: usize, text: &str) -> bool {
        self.text(tok) == text
    }

    /// 1-based line of a token.
    pub fn line(&self, tok: usize) -> usize {
        self.src[..self.toks[tok].start].matches('\n').count() + 1
    }

    /// The statement's name: the identifier after its keyword (`message Foo`),
    /// the field name before `=`, or the enum value name.
    pub fn name(&self, stmt: &Stmt) -> Option<&str> {
        match stmt.kind {
            Kind::Message | Kind::Enum | Kind::Service | Kind::Oneof | Kind::Rpc => {
                Some(self.text(stmt.first + 1))
            }
            Kind::Field => self.eq_tok(stmt).map(|eq| self.text(eq - 1)),
            Kind::EnumValue => Some(self.text(stmt.first)),
            _ => None,
        }
    }

    /// The `=` of a field, enum value or option at bracket depth 0.
    pub fn eq_tok(&self, stmt: &Stmt) -> Option<usize> {
        let mut depth = 0i32;
        for i in stmt.first..stmt.head_end {
            match self.text(i) {
                "(" | "[" | "<" => depth += 1,
                ")" | "]" | ">" => depth -= 1,
                "=" if depth == 0 => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// Every statement, depth first, with its scope.
    pub fn items(&self) -> Vec<Item<'_>> {
        fn walk<'a>(
            p: &'a Proto,
            stmts: &'a [Stmt],
            scope: &str,
            parent: Kind,
            out: &mut Vec<Item<'a>>,
        ) {
            for stmt in stmts {
                out.push(Item {
                    stmt,
                    scope: scope.to_string(),
                    parent,
                });
                if !stmt.body.is_empty() {
                    let inner = match (stmt.kind, p.name(stmt)) {
                        // A oneof is not a scope for names.
                        (Kind::Oneof, _) | (_, None) => scope.to_string(),
                        (_, Some(name)) if scope.is_empty() => name.to_string(),
                        (_, Some(name)) => format!("{scope}.{name}"),
                    };
                    walk(p, &stmt.body, &inner, stmt.kind, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &self.stmts, "", Kind::Other, &mut out);
        out
    }

    /// The byte range that removes a statement together with its own lines:
    /// from the start of its first line (if only blanks precede it) to past the
    /// newline of its last (if only blanks or a comment follow it).
    pub fn line_span(&self, first: usize, last: usize) -> (usize, usize) {
        let mut start = self.toks[first].start;
        let line_start = self.src[..start].rfind('\n').map_or(0, |n| n + 1);
        if self.src[line_start..start].trim().is_empty() {
            start = line_start;
        }
        let mut end = self.toks[last].end;
        let line_end = self.src[end..]
            .find('\n')
            .map_or(self.src.len(), |n| end + n);
        let rest = self.src[end..line_end].trim();
        if rest.is_empty() || rest.starts_with("//") {
            end = (line_end + 1).min(self.src.len());
        }
        (start, end)
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Tok],
    i: usize,
}

impl Parser<'_> {
    fn text(&self, i: usize) -> &str {
        let t = self.toks[i];
        &self.src[t.start..t.end]
    }

    /// Statements up to the `}` closing this block (left unconsumed) or the end.
    fn block(&mut self, parent: Kind) -> Vec<Stmt> {
        let mut out = Vec::new();
        while self.i < self.toks.len() {
            match self.text(self.i) {
                "}" => break,
                ";" => self.i += 1,
                _ => out.push(self.statement(parent)),
            }
        }
        out
    }

    fn statement(&mut self, parent: Kind) -> Stmt {
        let first = self.i;
        let kind = match (self.text(first), parent) {
            ("syntax" | "edition", Kind::Other) => Kind::Syntax,
            ("package", _) => Kind::Package,
            ("import", _) => Kind::Import,
            ("option", _) => Kind::Option,
            ("message", _) => Kind::Message,
            ("enum", _) => Kind::Enum,
            ("service", _) => Kind::Service,
            ("oneof", _) => Kind::Oneof,
            ("rpc", _) => Kind::Rpc,
            ("reserved", _) => Kind::Reserved,
            ("extensions" | "extend", _) => Kind::Other,
            (_, Kind::Message | Kind::Oneof) => Kind::Field,
            (_, Kind::Enum) => Kind::EnumValue,
            _ => Kind::Other,
        };
        let mut depth = 0i32;
        let mut saw_eq = false;
        while self.i < self.toks.len() {
            let i = self.i;
            match self.text(i) {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                "=" if depth == 0 => saw_eq = true,
                ";" if depth <= 0 => {
                    self.i += 1;
                    return Stmt {
                        kind,
                        first,
                        head_end: i,
                        last: i,
                        body: Vec::new(),
                    };
                }
                "{" if depth > 0 || saw_eq => {
                    // An option value (`= { … }`): skip it whole.
                    self.skip_braces();
                    continue;
                }
                "{" => {
                    self.i += 1;
                    let body = self.block(kind);
                    let mut last = self.i.min(self.toks.len().saturating_sub(1));
                    if self.i < self.toks.len() {
                        self.i += 1; // the closing `}`
                        if self.i < self.toks.len() && self.text(self.i) == ";" {
                            last = self.i;
                            self.i += 1;
                        }
                    }
                    return Stmt {
                        kind,
                        first,
                        head_end: i,
                        last,
                        body,
                    };
                }
                "}" => break, // a missing `;`: end the statement here
                _ => {}
            }
            self.i += 1;
        }
        let last = self.i.saturating_sub(1).max(first);
        Stmt {
            kind,
            first,
            head_end: last,
            last,
            body: Vec::new(),
        }
    }

    fn skip_braces(&mut self) {
        let mut depth = 0;
        while self.i < self.toks.len() {
            match self.text(self.i) {
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"syntax = "proto3";
package a.b;
option (x.y) = { k: "v" };
// comment with { brace
message Outer {
  string name = 1 [
    (google.api.field_behavior) = REQUIRED,
    (google.api.resource_reference) = { type: "t" }
  ];
  map<string, int64> counts = 2;
  oneof choice {
    int32 i = 3;
  }
  message Inner { enum E { E_UNSPECIFIED = 0; E_ONE = 1; } }
}
service S {
  rpc Get(Outer) returns (stream Outer) {
    option (google.api.http) = { get: "/v1/{name=*}" };
  }
  rpc Put(Outer) returns (Outer);
}
"#;

    #[test]
    fn statements_and_scopes() {
        let p = Proto::parse(SAMPLE);
        let items = p.items();
        let summary: Vec<(Kind, String, std::option::Option<&str>)> = items
            .iter()
            .map(|it| (it.stmt.kind, it.scope.clone(), p.name(it.stmt)))
            .collect();
        use Kind::*;
        let expected = vec![
            (Syntax, "".into(), None),
            (Package, "".into(), None),
            (Option, "".into(), None),
            (Message, "".into(), Some("Outer")),
            (Field, "Outer".into(), Some("name")),
            (Field, "Outer".into(), Some("counts")),
            (Oneof, "Outer".into(), Some("choice")),
            (Field, "Outer".into(), Some("i")),
            (Message, "Outer".into(), Some("Inner")),
            (Enum, "Outer.Inner".into(), Some("E")),
            (EnumValue, "Outer.Inner.E".into(), Some("E_UNSPECIFIED")),
            (EnumValue, "Outer.Inner.E".into(), Some("E_ONE")),
            (Service, "".into(), Some("S")),
            (Rpc, "S".into(), Some("Get")),
            (Option, "S.Get".into(), None),
            (Rpc, "S".into(), Some("Put")),
        ];
        assert_eq!(summary, expected);
    }

    #[test]
    fn line_span_takes_whole_lines() {
        let p = Proto::parse(SAMPLE);
        let items = p.items();
        let field = items
            .iter()
            .find(|i| p.name(i.stmt) == Some("name"))
            .unwrap();
        let (a, b) = p.line_span(field.stmt.first, field.stmt.last);
        assert!(p.src[a..b].starts_with("  string name = 1 ["));
        assert!(p.src[a..b].ends_with("];\n"));
    }
}
