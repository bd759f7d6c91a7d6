//! Rustdoc from contract prose.
//!
//! Descriptions are Markdown written by someone else. They reach the output
//! only as string literals in `#[doc = "..."]` attributes (so they cannot
//! inject code), and are normalized so that rustdoc and clippy have nothing
//! to say: every code block becomes a `text` block (never a doctest),
//! indentation is dropped outside code blocks (an indented block would be a
//! doctest too), and list items are joined onto one line each (no lazy
//! continuation lines).

use proc_macro2::TokenStream;
use quote::quote;

/// The doc attributes for `text`, or nothing when it is empty.
pub fn attrs(text: Option<&str>) -> TokenStream {
    match text.map(normalize) {
        Some(doc) if !doc.is_empty() => {
            let lines = doc.lines().map(|line| format!(" {line}"));
            quote! { #( #[doc = #lines] )* }
        }
        _ => TokenStream::new(),
    }
}

/// Joins several optional texts (a summary and a description) into one.
pub fn join(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        let mut out: Vec<&str> = Vec::new();
        for part in parts {
            if !out.contains(&part) {
                out.push(part);
            }
        }
        Some(out.join("\n\n"))
    }
}

fn is_list_item(line: &str) -> bool {
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    line.starts_with("- ")
        || line.starts_with("* ")
        || line.starts_with("+ ")
        || (digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") ")))
}

fn stands_alone(line: &str) -> bool {
    line.starts_with('#') || line.starts_with('|') || line.starts_with('>') || is_list_item(line)
}

/// The Markdown of `text`, made safe for rustdoc (see the module docs).
pub fn normalize(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut fence: Option<String> = None;
    // The logical line being assembled from wrapped source lines.
    let mut pending: Option<String> = None;
    let flush = |pending: &mut Option<String>, out: &mut Vec<String>| {
        if let Some(line) = pending.take() {
            out.push(line);
        }
    };
    for raw in text.replace("\r\n", "\n").replace('\r', "\n").lines() {
        let line = raw.trim();
        if let Some(marker) = &fence {
            if line.starts_with(marker.as_str()) {
                out.push(marker.clone());
                fence = None;
            } else {
                out.push(raw.trim_end().to_string());
            }
            continue;
        }
        if line.starts_with("```") || line.starts_with("~~~") {
            flush(&mut pending, &mut out);
            let marker: String = line
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            out.push(format!("{marker}text"));
            fence = Some(marker);
            continue;
        }
        if line.is_empty() {
            flush(&mut pending, &mut out);
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        match &mut pending {
            Some(current) if !stands_alone(line) && !current.starts_with(['#', '|']) => {
                current.push(' ');
                current.push_str(line);
            }
            _ => {
                flush(&mut pending, &mut out);
                pending = Some(line.to_string());
            }
        }
    }
    flush(&mut pending, &mut out);
    if let Some(marker) = fence {
        // An unclosed fence would swallow everything after it.
        out.push(marker);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_never_become_doctests() {
        let doc = normalize("Example:\n```\nlet x = 1;\n```\n\n    indented();\n");
        assert_eq!(doc, "Example:\n```text\nlet x = 1;\n```\n\nindented();");
        let doc = normalize("```rust\nfn main() {}");
        assert_eq!(doc, "```text\nfn main() {}\n```");
    }

    #[test]
    fn wrapped_lines_and_list_items_are_joined() {
        let doc = normalize("A long\nsentence.\n\n- one\n  more\n- two\n1. three\n");
        assert_eq!(doc, "A long sentence.\n\n- one more\n- two\n1. three");
    }

    #[test]
    fn prose_cannot_escape_the_attribute() {
        let tokens = attrs(Some("\"] fn evil() {} #[doc = \""));
        let text = tokens.to_string();
        assert!(text.starts_with("# [doc ="), "{text}");
        let file: syn::File = syn::parse2(quote! { #tokens struct S; }).expect("parses");
        assert_eq!(file.items.len(), 1);
    }

    #[test]
    fn empty_text_gives_no_docs() {
        assert!(attrs(Some("  \n ")).is_empty());
        assert!(attrs(None).is_empty());
        assert_eq!(
            join(&[Some("Get"), Some("Get"), None]).as_deref(),
            Some("Get")
        );
    }
}
