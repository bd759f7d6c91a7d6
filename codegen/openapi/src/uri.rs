//! Just enough of RFC 3986 to resolve `$ref`s: split a reference, resolve it against a base
//! (section 5.2), and map `file:` URIs to paths. Files get `file://` base URIs, so that relative
//! paths, `..`, absolute paths and 3.1's `$id` (which may be `https://…`) all resolve by one rule.

use std::path::{Path, PathBuf};

/// The parts of a URI reference. `None` and `Some("")` differ, as the RFC requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parse(uri: &str) -> Parts<'_> {
    let (rest, fragment) = match uri.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (uri, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (scheme, rest) = match scheme(rest) {
        Some(scheme) => (Some(scheme), &rest[scheme.len() + 1..]),
        None => (None, rest),
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            (Some(&after[..end]), &after[end..])
        }
        None => (None, rest),
    };
    Parts {
        scheme,
        authority,
        path,
        query,
        fragment,
    }
}

/// `scheme ":"` at the start, with the RFC's scheme characters. A one-letter scheme would be a
/// Windows drive (`C:`), which is a path, not a scheme.
fn scheme(text: &str) -> Option<&str> {
    let end = text.find(':')?;
    let scheme = &text[..end];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && scheme.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn compose(parts: &Parts<'_>, path: &str) -> String {
    let mut out = String::new();
    if let Some(scheme) = parts.scheme {
        out.push_str(scheme);
        out.push(':');
    }
    if let Some(authority) = parts.authority {
        out.push_str("//");
        out.push_str(authority);
    }
    out.push_str(path);
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = parts.fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// RFC 3986 section 5.2.2 (strict): `reference` resolved against the absolute URI `base`.
pub(crate) fn resolve(base: &str, reference: &str) -> String {
    let b = parse(base);
    let r = parse(reference);
    let mut t = Parts {
        fragment: r.fragment,
        ..Parts::default()
    };
    let path;
    if r.scheme.is_some() {
        t.scheme = r.scheme;
        t.authority = r.authority;
        t.query = r.query;
        path = remove_dot_segments(r.path);
    } else {
        t.scheme = b.scheme;
        if r.authority.is_some() {
            t.authority = r.authority;
            t.query = r.query;
            path = remove_dot_segments(r.path);
        } else {
            t.authority = b.authority;
            if r.path.is_empty() {
                path = b.path.to_owned();
                t.query = r.query.or(b.query);
            } else {
                t.query = r.query;
                path = if r.path.starts_with('/') {
                    remove_dot_segments(r.path)
                } else {
                    remove_dot_segments(&merge(&b, r.path))
                };
            }
        }
    }
    compose(&t, &path)
}

fn merge(base: &Parts<'_>, path: &str) -> String {
    if base.authority.is_some() && base.path.is_empty() {
        return format!("/{path}");
    }
    match base.path.rfind('/') {
        Some(slash) => format!("{}{path}", &base.path[..=slash]),
        None => path.to_owned(),
    }
}

/// RFC 3986 section 5.2.4, on whole segments.
fn remove_dot_segments(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, segment) in segments.iter().enumerate() {
        if i == 0 && absolute {
            continue;
        }
        match *segment {
            "." => trailing_slash = i == last,
            ".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut result = String::with_capacity(path.len());
    if absolute {
        result.push('/');
    }
    result.push_str(&out.join("/"));
    if trailing_slash && !result.ends_with('/') {
        result.push('/');
    }
    result
}

/// Splits off the fragment: (`resource`, `fragment`).
pub(crate) fn split_fragment(uri: &str) -> (&str, Option<&str>) {
    match uri.split_once('#') {
        Some((resource, fragment)) => (resource, Some(fragment)),
        None => (uri, None),
    }
}

/// The `file://` URI of an absolute path. `%`, `#` and `?` are escaped so that they stay part
/// of the path; everything else is kept as written, for readable messages.
pub(crate) fn from_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            '?' => out.push_str("%3F"),
            '\\' => out.push('/'),
            c => out.push(c),
        }
    }
    out
}

/// What a resource URI names, for a loader that reads only local files.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    File(PathBuf),
    Remote,
    Unsupported(String),
}

/// The local file a `file:` URI (without fragment) names.
pub(crate) fn target(resource: &str) -> Result<Target, String> {
    let parts = parse(resource);
    match parts.scheme.map(str::to_ascii_lowercase).as_deref() {
        Some("file") => {}
        Some("http" | "https") => return Ok(Target::Remote),
        Some(other) => return Ok(Target::Unsupported(other.to_owned())),
        None => return Ok(Target::Unsupported(String::new())),
    }
    match parts.authority {
        None | Some("" | "localhost") => {}
        Some(_) => return Ok(Target::Remote),
    }
    if parts.query.is_some() {
        return Err("query strings are not supported in references".into());
    }
    Ok(Target::File(PathBuf::from(percent_decode(parts.path)?)))
}

pub(crate) fn percent_decode(text: &str) -> Result<String, String> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("bad percent-encoding (write a literal `%` as `%25`)")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986 section 5.4.1 and 5.4.2.
    #[test]
    fn rfc_3986_examples() {
        let base = "http://a/b/c/d;p?q";
        for (reference, expected) in [
            // `g:h` in the RFC; one-letter schemes are taken for Windows drives here.
            ("gg:h", "gg:h"),
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
        ] {
            assert_eq!(resolve(base, reference), expected, "{reference}");
        }
    }

    #[test]
    fn file_uris_round_trip() {
        let base = from_path(Path::new("/work/100%/a#b.yaml"));
        assert_eq!(base, "file:///work/100%25/a%23b.yaml");
        let resolved = resolve(&base, "../x%20y.yaml#/a");
        assert_eq!(resolved, "file:///work/x%20y.yaml#/a");
        let (resource, fragment) = split_fragment(&resolved);
        assert_eq!(fragment, Some("/a"));
        assert_eq!(
            target(resource),
            Ok(Target::File(PathBuf::from("/work/x y.yaml")))
        );
        assert_eq!(target("https://example.com/a.yaml"), Ok(Target::Remote));
        assert_eq!(target("file://host/a.yaml"), Ok(Target::Remote));
        assert_eq!(target("urn:uuid:1"), Ok(Target::Unsupported("urn".into())));
        assert!(target("file:///a.yaml?x=1").is_err());
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%FF").is_err());
        assert_eq!(percent_decode("%7Bid%7D").as_deref(), Ok("{id}"));
    }
}
