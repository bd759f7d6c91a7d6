//! Validating JSON text while it is parsed.
//!
//! Building a `serde_json::Value` for a request body (an allocation per string, a map per
//! object) costs more than the typed deserialization that follows it. This validator walks the
//! parser's events instead and allocates nothing unless it reports an error. Schemas that need
//! the whole value at once (`allOf`/`anyOf`/`oneOf`/`not`, `uniqueItems`, `const`, object
//! `enum`s, `$ref` with siblings) get that subtree as a `Value` and the tree validator, so both
//! report the same errors.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::{
    ARRAY, Additional, BOOLEAN, Compiled, INTEGER, MAX_DEPTH, MAX_ERRORS, NULL, NUMBER, Node,
    NodeId, OBJECT, STRING, Seg, enum_error, is_integral, json_eq, number_checks, pointer,
    string_checks, type_names,
};

/// The key serde_json's `arbitrary_precision` feature wraps numbers in.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Pure `$ref` hops followed before giving up (a cycle of references that consumes no data).
const MAX_REF_HOPS: usize = 64;

impl Compiled {
    /// The node `id` stands for once pure `$ref`s are followed; `None` past [`MAX_REF_HOPS`]
    /// (a cycle of references that consumes no data).
    pub(super) fn follow_pure_refs(&self, mut id: NodeId) -> Option<NodeId> {
        let mut hops = 0;
        while self.node_at(id).pure_ref {
            hops += 1;
            match self.node_at(id).reference {
                Some(r) if hops <= MAX_REF_HOPS => id = r,
                _ => return None,
            }
        }
        Some(id)
    }
}

pub(super) fn validate<'de, D: Deserializer<'de>>(
    c: &Compiled,
    id: NodeId,
    de: D,
) -> Result<Vec<(String, String)>, D::Error> {
    let mut st = Stream {
        c,
        errors: Vec::new(),
    };
    let root = Path {
        parent: None,
        seg: None,
    };
    Seed {
        st: &mut st,
        node: id,
        path: &root,
        depth: 0,
    }
    .deserialize(de)?;
    Ok(st.errors)
}

struct Stream<'c> {
    c: &'c Compiled,
    errors: Vec<(String, String)>,
}

impl Stream<'_> {
    fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    fn report(&mut self, path: &Path<'_>, detail: String) {
        if !self.full() {
            self.errors.push((path.pointer(), detail));
        }
    }
}

/// A location in the document: a chain of stack frames, turned into a pointer only when an
/// error needs one.
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Option<Seg<'a>>,
}

impl Path<'_> {
    fn pointer(&self) -> String {
        let mut segs = Vec::new();
        let mut at = Some(self);
        while let Some(p) = at {
            if let Some(seg) = p.seg {
                segs.push(seg);
            }
            at = p.parent;
        }
        segs.reverse();
        pointer("#", &segs)
    }

    fn child<'b>(&'b self, seg: Seg<'b>) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Some(seg),
        }
    }
}

struct Seed<'s, 'c, 'p> {
    st: &'s mut Stream<'c>,
    node: NodeId,
    path: &'p Path<'p>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let Seed {
            st,
            node,
            path,
            depth,
        } = self;
        if st.full() {
            IgnoredAny::deserialize(de)?;
            return Ok(());
        }
        let c = st.c;
        let Some(id) = c.follow_pure_refs(node) else {
            st.report(path, "exceeds the schema recursion limit".to_owned());
            IgnoredAny::deserialize(de)?;
            return Ok(());
        };
        let n = c.node_at(id);
        if depth > MAX_DEPTH {
            st.report(path, format!("is nested deeper than {MAX_DEPTH} levels"));
            IgnoredAny::deserialize(de)?;
            return Ok(());
        }
        if n.never {
            st.report(path, "is not allowed here".to_owned());
            IgnoredAny::deserialize(de)?;
            return Ok(());
        }
        if !n.streamable {
            let value = Value::deserialize(de)?;
            // Validated at the root (`#`); the real prefix is only built when there are errors
            // to re-base, since valid bodies are the common case.
            let start = st.errors.len();
            c.validate_into(id, &value, "#", &mut st.errors);
            if st.errors.len() > start {
                let prefix = path.pointer();
                if prefix != "#" {
                    for (pointer, _) in &mut st.errors[start..] {
                        pointer.replace_range(..1, &prefix);
                    }
                }
            }
            return Ok(());
        }
        de.deserialize_any(NodeVisitor { st, n, path, depth })
    }
}

struct NodeVisitor<'s, 'c, 'p> {
    st: &'s mut Stream<'c>,
    n: &'c Node,
    path: &'p Path<'p>,
    depth: usize,
}

impl NodeVisitor<'_, '_, '_> {
    /// `true` when the node accepts a value of type `bits`; reports the mismatch otherwise.
    fn type_ok(&mut self, bits: u8) -> bool {
        if self.n.types == 0 || self.n.types & bits != 0 {
            return true;
        }
        let detail = format!("must be of type {}", type_names(self.n.types));
        self.st.report(self.path, detail);
        false
    }

    fn scalar(&mut self, bits: u8, value: &Value) -> bool {
        if !self.type_ok(bits) {
            return false;
        }
        if let Some(list) = &self.n.enumeration
            && !list.iter().any(|e| json_eq(e, value))
        {
            self.st.report(self.path, enum_error(list));
        }
        true
    }

    fn number(mut self, x: Number) {
        let bits = if is_integral(&x) {
            INTEGER | NUMBER
        } else {
            NUMBER
        };
        let value = Value::Number(x);
        if self.scalar(bits, &value)
            && let Value::Number(x) = &value
        {
            let (st, path) = (&mut *self.st, self.path);
            number_checks(self.n, x, &mut |d| st.report(path, d));
        }
    }

    /// A container where a scalar `enum` was expected: it cannot be one of them.
    fn container_enum(&mut self) {
        if let Some(list) = &self.n.enumeration {
            self.st.report(self.path, enum_error(list));
        }
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(mut self, b: bool) -> Result<(), E> {
        self.scalar(BOOLEAN, &Value::Bool(b));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(Number::from(v));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(Number::from(v));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        match Number::from_f64(v) {
            Some(x) => self.number(x),
            None => self
                .st
                .report(self.path, "must be a finite number".to_owned()),
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<(), E> {
        if !self.type_ok(STRING) {
            return Ok(());
        }
        if let Some(list) = &self.n.enumeration
            && !list.iter().any(|e| e.as_str() == Some(s))
        {
            self.st.report(self.path, enum_error(list));
        }
        let (st, path) = (&mut *self.st, self.path);
        string_checks(self.n, s, &mut |d| st.report(path, d));
        Ok(())
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.scalar(NULL, &Value::Null);
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if !self.type_ok(ARRAY) {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        self.container_enum();
        let n = self.n;
        let mut count = 0usize;
        loop {
            let schema = n.prefix_items.get(count).copied().or(n.items);
            let more = match schema {
                Some(s) if !self.st.full() => {
                    let child = self.path.child(Seg::Index(count));
                    seq.next_element_seed(Seed {
                        st: &mut *self.st,
                        node: s,
                        path: &child,
                        depth: self.depth + 1,
                    })?
                    .is_some()
                }
                _ => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                break;
            }
            count += 1;
        }
        if let Some(min) = n.min_items
            && count < min
        {
            self.st
                .report(self.path, format!("must have at least {min} items"));
        }
        if let Some(max) = n.max_items
            && count > max
        {
            self.st
                .report(self.path, format!("must have at most {max} items"));
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut next = map.next_key::<Key<'de>>()?;
        // With serde_json's `arbitrary_precision` (a feature any crate in the build may turn
        // on), numbers arrive as one-entry maps.
        if let Some(Key(k)) = &next
            && k == NUMBER_TOKEN
        {
            let text: Cow<'de, str> = map.next_value::<Key<'de>>()?.0;
            match text.parse::<Number>() {
                Ok(x) => self.number(x),
                Err(_) => self.st.report(self.path, "must be a number".to_owned()),
            }
            return Ok(());
        }
        if !self.type_ok(OBJECT) {
            if next.is_some() {
                map.next_value::<IgnoredAny>()?;
            }
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        self.container_enum();
        let n = self.n;
        let c = self.st.c;
        let mut seen: u128 = 0;
        let mut count = 0usize;
        while let Some(Key(key)) = next.take() {
            count += 1;
            if let Some(i) = n.required.iter().position(|r| **r == *key) {
                seen |= 1u128 << i;
            }
            let declared = n
                .properties
                .binary_search_by(|(k, _)| (**k).cmp(&*key))
                .ok()
                .map(|i| n.properties[i].1);
            let schema = match (declared, &n.additional) {
                // A read-only property in a request is ignored.
                (Some(p), _) if c.node_at(p).read_only => None,
                (Some(p), _) => Some(p),
                (None, Additional::Allow) => None,
                (None, Additional::Deny) => {
                    let child = self.path.child(Seg::Key(&key));
                    self.st.report(&child, "is not a known property".to_owned());
                    None
                }
                (None, Additional::Schema(s)) => Some(*s),
            };
            match schema {
                Some(s) if !self.st.full() => {
                    let child = self.path.child(Seg::Key(&key));
                    map.next_value_seed(Seed {
                        st: &mut *self.st,
                        node: s,
                        path: &child,
                        depth: self.depth + 1,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            next = map.next_key::<Key<'de>>()?;
        }
        if let Some(min) = n.min_properties
            && count < min
        {
            self.st
                .report(self.path, format!("must have at least {min} properties"));
        }
        if let Some(max) = n.max_properties
            && count > max
        {
            self.st
                .report(self.path, format!("must have at most {max} properties"));
        }
        for (i, name) in n.required.iter().enumerate() {
            if seen & (1u128 << i) != 0 {
                continue;
            }
            let read_only = n
                .properties
                .binary_search_by(|(k, _)| k.cmp(name))
                .is_ok_and(|j| c.node_at(n.properties[j].1).read_only);
            if !read_only {
                let child = self.path.child(Seg::Key(name));
                self.st.report(&child, "is required".to_owned());
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}
