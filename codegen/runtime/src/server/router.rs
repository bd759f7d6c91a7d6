//! Path-template matching, precompiled: templates are indexed by segment count and tried most
//! specific first (a literal segment beats `{name}.json`, which beats `{name}`), so templates
//! that axum's router would reject as conflicting (`/a/{x}` next to `/a/{y}`, `/a/b`) coexist.

use http::Method;

#[derive(Debug)]
enum Part {
    Lit(&'static str),
    Param(&'static str),
}

#[derive(Debug)]
enum Segment {
    Literal(&'static str),
    Param(&'static str),
    /// Literals and parameters mixed in one segment, e.g. `{name}.json`; never two
    /// parameters in a row.
    Mixed(Box<[Part]>),
}

impl Segment {
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Mixed(_) => 1,
            Segment::Param(_) => 2,
        }
    }
}

#[derive(Debug)]
struct Entry {
    route: usize,
    method: Method,
    segments: Box<[Segment]>,
    /// Parameters in the template (the capture list's size).
    params: usize,
}

/// Every route's template, ready to match.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: Vec<Entry>,
    /// Segment count → entry indexes, most specific first.
    by_len: Vec<Vec<usize>>,
}

/// The outcome of matching a request.
pub(crate) enum Match<'p> {
    /// `route` matched; raw (still percent-encoded) parameter values.
    Route {
        route: usize,
        captures: Vec<(&'static str, &'p str)>,
    },
    /// No template matches the path.
    NotFound,
    /// Templates match the path, with these methods only.
    Disallowed(Vec<Method>),
}

fn parse_segment(s: &'static str) -> Result<Segment, String> {
    if !s.contains(['{', '}']) {
        return Ok(Segment::Literal(s));
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in `{s}`"))?;
            let name = &after[..end];
            if name.is_empty() || name.contains('{') {
                return Err(format!("bad parameter name in `{s}`"));
            }
            if matches!(parts.last(), Some(Part::Param(_))) {
                return Err(format!("two parameters in a row in `{s}`"));
            }
            parts.push(Part::Param(name));
            rest = &after[end + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let lit = &rest[..end];
            if lit.contains('}') {
                return Err(format!("stray `}}` in `{s}`"));
            }
            parts.push(Part::Lit(lit));
            rest = &rest[end..];
        }
    }
    Ok(match parts.as_slice() {
        [Part::Param(name)] => Segment::Param(name),
        _ => Segment::Mixed(parts.into_boxed_slice()),
    })
}

/// Matches a mixed segment; captures go to `out` when given. A parameter takes at least one
/// character; before a literal in the middle it stops at the literal's first occurrence,
/// before the final literal at its last (so `{name}.json` takes `a.b` from `a.b.json`).
fn match_mixed<'p>(
    parts: &[Part],
    s: &'p str,
    mut out: Option<&mut Vec<(&'static str, &'p str)>>,
) -> bool {
    let mut pos = 0;
    let mut i = 0;
    while i < parts.len() {
        match parts[i] {
            Part::Lit(l) => {
                if !s[pos..].starts_with(l) {
                    return false;
                }
                pos += l.len();
            }
            Part::Param(name) => {
                let end = match parts.get(i + 1) {
                    None => s.len(),
                    Some(Part::Lit(l)) if i + 2 == parts.len() => {
                        if !s.ends_with(l) || s.len() < pos + l.len() {
                            return false;
                        }
                        s.len() - l.len()
                    }
                    Some(Part::Lit(l)) => {
                        let Some(first) = s[pos..].chars().next() else {
                            return false;
                        };
                        let from = pos + first.len_utf8();
                        match s[from..].find(l) {
                            Some(at) => from + at,
                            None => return false,
                        }
                    }
                    Some(Part::Param(_)) => return false,
                };
                if end <= pos {
                    return false;
                }
                if let Some(out) = out.as_deref_mut() {
                    out.push((name, &s[pos..end]));
                }
                pos = end;
            }
        }
        i += 1;
    }
    pos == s.len()
}

impl Entry {
    fn matches<'p>(
        &self,
        segs: &[&'p str],
        mut out: Option<&mut Vec<(&'static str, &'p str)>>,
    ) -> bool {
        for (seg, s) in self.segments.iter().zip(segs) {
            let ok = match seg {
                Segment::Literal(l) => l == s,
                Segment::Param(name) => {
                    if s.is_empty() {
                        false
                    } else {
                        if let Some(out) = out.as_deref_mut() {
                            out.push((name, s));
                        }
                        true
                    }
                }
                Segment::Mixed(parts) => match_mixed(parts, s, out.as_deref_mut()),
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

impl Table {
    /// Adds `route`'s template; a malformed one is an error (the route stays unreachable).
    pub(crate) fn add(
        &mut self,
        route: usize,
        method: Method,
        template: &'static str,
    ) -> Result<(), String> {
        let path = template
            .strip_prefix('/')
            .ok_or_else(|| format!("path template `{template}` must start with `/`"))?;
        let segments = path
            .split('/')
            .map(parse_segment)
            .collect::<Result<Box<[_]>, _>>()
            .map_err(|e| format!("path template `{template}`: {e}"))?;
        let n = segments.len();
        if self.by_len.len() <= n {
            self.by_len.resize_with(n + 1, Vec::new);
        }
        let index = self.entries.len();
        let params = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Param(_) => 1,
                Segment::Mixed(parts) => {
                    parts.iter().filter(|p| matches!(p, Part::Param(_))).count()
                }
            })
            .sum();
        self.entries.push(Entry {
            route,
            method,
            segments,
            params,
        });
        let entries = &self.entries;
        let bucket = &mut self.by_len[n];
        bucket.push(index);
        // Stable: equally specific templates keep registration order.
        bucket.sort_by(|&a, &b| {
            let ra = entries[a].segments.iter().map(Segment::rank);
            let rb = entries[b].segments.iter().map(Segment::rank);
            ra.cmp(rb)
        });
        Ok(())
    }

    /// Finds the route for `method` and `path`. HEAD falls back to GET.
    pub(crate) fn find<'p>(&self, method: &Method, path: &'p str) -> Match<'p> {
        let Some(trimmed) = path.strip_prefix('/') else {
            return Match::NotFound;
        };
        // Segments on the stack for ordinary paths; only very deep ones allocate.
        const INLINE: usize = 16;
        let mut inline = [""; INLINE];
        let mut heap: Vec<&'p str> = Vec::new();
        let mut count = 0;
        for s in trimmed.split('/') {
            if count < INLINE {
                inline[count] = s;
            } else {
                if heap.is_empty() {
                    heap.extend_from_slice(&inline);
                }
                heap.push(s);
            }
            count += 1;
        }
        let segs: &[&'p str] = if count <= INLINE {
            &inline[..count]
        } else {
            &heap
        };
        let Some(bucket) = self.by_len.get(segs.len()) else {
            return Match::NotFound;
        };
        let mut allowed: Vec<Method> = Vec::new();
        let mut head_as_get = None;
        for &i in bucket {
            let e = &self.entries[i];
            if !e.matches(segs, None) {
                continue;
            }
            if e.method == *method {
                return self.capture(i, segs);
            }
            if *method == Method::HEAD && e.method == Method::GET && head_as_get.is_none() {
                head_as_get = Some(i);
            }
            allowed.push(e.method.clone());
        }
        if let Some(i) = head_as_get {
            return self.capture(i, segs);
        }
        if allowed.is_empty() {
            return Match::NotFound;
        }
        if allowed.contains(&Method::GET) {
            allowed.push(Method::HEAD);
        }
        allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allowed.dedup();
        Match::Disallowed(allowed)
    }

    fn capture<'p>(&self, i: usize, segs: &[&'p str]) -> Match<'p> {
        let e = &self.entries[i];
        let mut captures = Vec::with_capacity(e.params);
        e.matches(segs, Some(&mut captures));
        Match::Route {
            route: e.route,
            captures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(Method, &'static str)]) -> Table {
        let mut t = Table::default();
        for (i, (m, p)) in routes.iter().enumerate() {
            t.add(i, m.clone(), p).unwrap();
        }
        t
    }

    fn hit(t: &Table, m: Method, path: &str) -> Option<(usize, Vec<(&'static str, String)>)> {
        match t.find(&m, path) {
            Match::Route { route, captures } => Some((
                route,
                captures
                    .into_iter()
                    .map(|(k, v)| (k, v.to_owned()))
                    .collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn literal_beats_mixed_beats_param() {
        let t = table(&[
            (Method::GET, "/files/{id}"),
            (Method::GET, "/files/{name}.json"),
            (Method::GET, "/files/latest"),
            (Method::GET, "/files/{a}/{b}"),
            (Method::GET, "/"),
        ]);
        assert_eq!(hit(&t, Method::GET, "/files/latest").unwrap().0, 2);
        let (r, c) = hit(&t, Method::GET, "/files/a.b.json").unwrap();
        assert_eq!((r, c), (1, vec![("name", "a.b".to_owned())]));
        let (r, c) = hit(&t, Method::GET, "/files/42").unwrap();
        assert_eq!((r, c), (0, vec![("id", "42".to_owned())]));
        assert_eq!(hit(&t, Method::GET, "/files/.json").unwrap().0, 0);
        assert_eq!(hit(&t, Method::GET, "/files/x/y").unwrap().0, 3);
        assert_eq!(hit(&t, Method::GET, "/").unwrap().0, 4);
        assert!(hit(&t, Method::GET, "/files/").is_none());
        assert!(hit(&t, Method::GET, "/files").is_none());
        assert!(hit(&t, Method::GET, "files").is_none());
        assert!(hit(&t, Method::GET, "/files/x/y/z").is_none());
    }

    #[test]
    fn conflicting_param_names_coexist() {
        let t = table(&[
            (Method::GET, "/a/{x}"),
            (Method::DELETE, "/a/{y}"),
            (Method::POST, "/a/b"),
        ]);
        assert_eq!(
            hit(&t, Method::DELETE, "/a/1").unwrap().1,
            vec![("y", "1".to_owned())]
        );
        // A less specific template still serves a method the literal one lacks.
        assert_eq!(hit(&t, Method::GET, "/a/b").unwrap().0, 0);
        assert_eq!(hit(&t, Method::HEAD, "/a/1").unwrap().0, 0);
        match t.find(&Method::PUT, "/a/b") {
            Match::Disallowed(m) => assert_eq!(
                m,
                vec![Method::DELETE, Method::GET, Method::HEAD, Method::POST]
            ),
            _ => panic!("expected 405"),
        }
        assert!(matches!(t.find(&Method::GET, "/zzz"), Match::NotFound));
    }

    #[test]
    fn mixed_segments() {
        let t = table(&[
            (Method::GET, "/r/{a}-{b}.{ext}"),
            (Method::GET, "/p/v{version}"),
        ]);
        let (_, c) = hit(&t, Method::GET, "/r/x-y-z.tar.gz").unwrap();
        assert_eq!(
            c,
            vec![
                ("a", "x".to_owned()),
                ("b", "y-z".to_owned()),
                ("ext", "tar.gz".to_owned())
            ]
        );
        assert_eq!(
            hit(&t, Method::GET, "/p/v2").unwrap().1,
            vec![("version", "2".to_owned())]
        );
        assert!(hit(&t, Method::GET, "/p/v").is_none());
        assert!(hit(&t, Method::GET, "/r/x.y").is_none());
    }

    #[test]
    fn malformed_templates() {
        let mut t = Table::default();
        for bad in ["/a/{x", "/a/{}", "/a/{x}{y}", "/a/x}", "no-slash"] {
            assert!(t.add(0, Method::GET, bad).is_err(), "{bad}");
        }
    }
}
