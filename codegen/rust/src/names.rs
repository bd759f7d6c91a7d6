//! Identifiers from contract names: valid, stable, collision-free Rust.
//!
//! Wire names can be anything (`x-rate-limit`, `2fa`, `type`, `café`,
//! `$ref`); the generated identifier is always ASCII `[A-Za-z_][A-Za-z0-9_]*`,
//! never a keyword, and the serde attributes carry the wire name back. The
//! mapping depends only on the name itself and on the names that came before
//! it in the same scope, so re-running the generator gives the same output.

use std::collections::HashSet;

use proc_macro2::{Ident, Span};

/// Every Rust keyword (strict, reserved, and 2018+ editions), plus names
/// that would shadow something generated code relies on.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "union",
    "_",
    // Prelude and std names a type must not shadow in generated modules.
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Vec",
    "String",
    "Box",
    "Default",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Debug",
    "PartialEq",
    "Eq",
    "Fn",
    "FnMut",
    "FnOnce",
    "Drop",
    "Iterator",
    "ToString",
    "Into",
    "From",
];

/// Splits a wire name into lower-case ASCII words: at non-alphanumerics, at
/// lower→upper case changes (`petId`), and before the last capital of an
/// acronym (`HTTPServer` → `http`, `server`). Non-ASCII characters become
/// `u` + their hex code point, so `café` and `cafe` stay distinct.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_ascii_uppercase()
                && prev.is_some_and(|p| {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                });
            if boundary && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            current.push(c.to_ascii_lowercase());
        } else if c.is_ascii() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            words.push(format!("u{:04x}", c as u32));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Symbols that carry meaning in enum values (`+1`, `-1`, `>=`) get a word
/// so that `"+1"` and `"-1"` do not both become `V1`.
fn symbol_words(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let word = match c {
            '+' => " plus ",
            '-' if name.chars().any(|c| c.is_ascii_alphabetic()) => " ",
            '-' => " minus ",
            '*' => " star ",
            '<' => " lt ",
            '>' => " gt ",
            '=' => " eq ",
            '!' => " not ",
            '.' if name.chars().all(|c| c.is_ascii_digit() || c == '.') => " dot ",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(word);
    }
    out
}

fn fix_start(mut ident: String, prefix: &str, empty: &str) -> String {
    if ident.is_empty() {
        return empty.to_string();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert_str(0, prefix);
    }
    if RESERVED.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// `petId` → `pet_id`, `type` → `type_`, `2fa` → `_2fa`, `""` → `empty`.
pub fn snake(name: &str) -> String {
    fix_start(words(name).join("_"), "_", "empty")
}

/// `pet-status` → `PetStatus`, `2XX` → `V2Xx`, `Self` → `Self_`.
pub fn pascal(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    fix_start(joined, "V", "V")
}

/// A variant name for an enum value: like [`pascal`] but spelling out signs.
pub fn variant(value: &str) -> String {
    let name = pascal(&symbol_words(value));
    if name == "V" {
        "Empty".to_string()
    } else {
        name
    }
}

/// `SCREAMING_SNAKE` for statics.
pub fn screaming(name: &str) -> String {
    snake(name).trim_end_matches('_').to_ascii_uppercase()
}

pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// Hands out unique names within one scope, in the order they are asked for.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    taken: HashSet<String>,
}

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    /// A scope where `names` are already in use.
    pub fn with_reserved(names: &[&str]) -> Self {
        Self {
            taken: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `wanted`, or `wanted2`, `wanted3`... whichever is free first.
    pub fn claim(&mut self, wanted: &str) -> String {
        let separator = if wanted.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        let mut name = wanted.to_string();
        let mut n = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{wanted}{separator}{n}");
            n += 1;
        }
        name
    }

    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_from_any_wire_name() {
        assert_eq!(snake("petId"), "pet_id");
        assert_eq!(snake("X-Rate-Limit"), "x_rate_limit");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("2fa"), "_2fa");
        assert_eq!(snake("$ref"), "ref_");
        assert_eq!(snake("@odata.type"), "odata_type");
        assert_eq!(snake(""), "empty");
        assert_eq!(snake("_"), "empty");
        assert_eq!(snake("café"), "caf_u00e9");
        assert_eq!(snake("user[name]"), "user_name");
    }

    #[test]
    fn pascal_case_from_any_wire_name() {
        assert_eq!(pascal("pet-status"), "PetStatus");
        assert_eq!(pascal("order_item"), "OrderItem");
        assert_eq!(pascal("2XX"), "V2Xx");
        assert_eq!(pascal("Self"), "Self_");
        assert_eq!(pascal("Option"), "Option_");
        assert_eq!(pascal("über"), "U00fcBer");
        assert_eq!(pascal(""), "V");
    }

    #[test]
    fn enum_values_keep_their_signs() {
        assert_eq!(variant("+1"), "Plus1");
        assert_eq!(variant("-1"), "Minus1");
        assert_eq!(variant("in-progress"), "InProgress");
        assert_eq!(variant(""), "Empty");
        assert_eq!(variant("1.5"), "V1Dot5");
        assert_ne!(variant("+1"), variant("-1"));
    }

    #[test]
    fn every_output_is_a_valid_identifier() {
        for name in [
            "", "_", "9", "fn", "Self", "a-b", "ü", "🦀", "--", "a b", "x.y.z", "ÄÖÜ", "mod",
        ] {
            for id in [snake(name), pascal(name), variant(name)] {
                assert!(
                    syn::parse_str::<syn::Ident>(&id).is_ok(),
                    "{name:?} -> {id:?}"
                );
            }
        }
    }

    #[test]
    fn scopes_number_collisions_in_order() {
        let mut scope = Scope::with_reserved(&["body"]);
        assert_eq!(scope.claim("body"), "body2");
        assert_eq!(scope.claim("id"), "id");
        assert_eq!(scope.claim("id"), "id2");
        assert_eq!(scope.claim("v2"), "v2");
        assert_eq!(scope.claim("v2"), "v2_2");
    }
}
