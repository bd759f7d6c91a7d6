//! Validating a JSON body while it is deserialized into the handler's type: one pass over the
//! text instead of a validating pass and a deserializing pass.
//!
//! [`deserialize_validated`] wraps serde_json's deserializer in [`Validating`], which hands
//! every value the target type asks for (and every value it skips) through the same checks as
//! the streaming validator ([`super::stream`]) before passing it on. It only answers "valid,
//! and here is the value": on any error, or on anything it does not follow (an externally
//! tagged enum, a visitor that stops before the end of an object, numbers under serde_json's
//! `arbitrary_precision`), it gives up and the caller validates the body the two-pass way,
//! which lists every error with its pointer. Valid bodies, the common case, pay for one parse.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::{Number, Value};

use super::{
    ARRAY, Additional, BOOLEAN, Compiled, INTEGER, MAX_DEPTH, NULL, NUMBER, Node, NodeId, OBJECT,
    STRING, is_integral, json_eq, number_checks, string_checks,
};

/// `raw` deserialized as `T`, if it is valid against `node` and `T` accepts it; `None` when it
/// is not (or when this path cannot tell), so the caller reports errors the two-pass way.
pub(super) fn deserialize_validated<T: DeserializeOwned>(
    c: &Compiled,
    node: NodeId,
    raw: &[u8],
) -> Option<T> {
    let mut state = State { c, valid: true };
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value = T::deserialize(Validating {
        st: &mut state,
        node,
        depth: 0,
        inner: &mut de,
    })
    .ok()?;
    de.end().ok()?;
    state.valid.then_some(value)
}

struct State<'c> {
    c: &'c Compiled,
    /// Cleared by the first error; the walk then only forwards.
    valid: bool,
}

/// How a value at a schema node is handled.
enum Mode<'c> {
    /// Already invalid (or past what this path follows): forward without checks.
    Forward,
    /// Checked event by event.
    Stream(&'c Node),
    /// The schema needs the whole value (combinators and the like): read a `Value`, validate
    /// it with the tree validator, deserialize the target from it.
    Whole(NodeId),
}

impl<'c> State<'c> {
    fn mode(&mut self, node: NodeId, depth: usize) -> Mode<'c> {
        if !self.valid {
            return Mode::Forward;
        }
        let c = self.c;
        let Some(id) = c.follow_pure_refs(node) else {
            return self.fail();
        };
        let n = c.node_at(id);
        if depth > MAX_DEPTH || n.never {
            return self.fail();
        }
        if n.streamable {
            Mode::Stream(n)
        } else {
            Mode::Whole(id)
        }
    }

    fn fail(&mut self) -> Mode<'c> {
        self.valid = false;
        Mode::Forward
    }

    fn check_type(&mut self, n: &Node, bits: u8) -> bool {
        let ok = n.types == 0 || n.types & bits != 0;
        self.valid &= ok;
        ok
    }

    fn check_scalar(&mut self, n: &Node, bits: u8, value: &Value) {
        if self.check_type(n, bits)
            && let Some(list) = &n.enumeration
            && !list.iter().any(|e| json_eq(e, value))
        {
            self.valid = false;
        }
    }

    fn check_number(&mut self, n: &Node, x: Number) {
        let bits = if is_integral(&x) {
            INTEGER | NUMBER
        } else {
            NUMBER
        };
        let value = Value::Number(x);
        self.check_scalar(n, bits, &value);
        if self.valid
            && let Value::Number(x) = &value
        {
            number_checks(n, x, &mut |_| self.valid = false);
        }
    }

    fn check_str(&mut self, n: &Node, s: &str) {
        if !self.check_type(n, STRING) {
            return;
        }
        if let Some(list) = &n.enumeration
            && !list.iter().any(|e| e.as_str() == Some(s))
        {
            self.valid = false;
        }
        string_checks(n, s, &mut |_| self.valid = false);
    }

    /// A string seen as bytes.
    fn check_utf8(&mut self, n: &Node, v: &[u8]) {
        match std::str::from_utf8(v) {
            Ok(s) => self.check_str(n, s),
            Err(_) => self.valid = false,
        }
    }

    /// Objects and arrays: the type, and no scalar `enum` (which a container never matches).
    fn check_container(&mut self, n: &Node, bits: u8) -> bool {
        if self.check_type(n, bits) && n.enumeration.is_some() {
            self.valid = false;
        }
        self.valid
    }
}

/// A deserializer that checks what it yields against `node`.
struct Validating<'s, 'c, D> {
    st: &'s mut State<'c>,
    node: NodeId,
    depth: usize,
    inner: D,
}

/// Invokes `$then!` with every `deserialize_*` method but `deserialize_ignored_any` (which
/// [`Validating`] treats apart), for the wrappers below to forward.
macro_rules! deserialize_methods {
    ($then:ident) => {
        $then! {
            deserialize_any();
            deserialize_bool();
            deserialize_i8();
            deserialize_i16();
            deserialize_i32();
            deserialize_i64();
            deserialize_i128();
            deserialize_u8();
            deserialize_u16();
            deserialize_u32();
            deserialize_u64();
            deserialize_u128();
            deserialize_f32();
            deserialize_f64();
            deserialize_char();
            deserialize_str();
            deserialize_string();
            deserialize_bytes();
            deserialize_byte_buf();
            deserialize_option();
            deserialize_unit();
            deserialize_unit_struct(name: &'static str);
            deserialize_newtype_struct(name: &'static str);
            deserialize_seq();
            deserialize_tuple(len: usize);
            deserialize_tuple_struct(name: &'static str, len: usize);
            deserialize_map();
            deserialize_struct(name: &'static str, fields: &'static [&'static str]);
            deserialize_enum(name: &'static str, variants: &'static [&'static str]);
            deserialize_identifier();
        }
    };
}

/// Forwards `deserialize_*` methods to the inner deserializer by the node's [`Mode`].
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self $(, $arg: $ty)*, visitor: V) -> Result<V::Value, D::Error> {
            let Validating { st, node, depth, inner } = self;
            match st.mode(node, depth) {
                Mode::Forward => inner.$method($($arg,)* visitor),
                Mode::Stream(n) => inner.$method($($arg,)* Checked { st, n, node, depth, visitor }),
                Mode::Whole(id) => {
                    let value = whole(st, id, inner)?;
                    value.$method($($arg,)* visitor).map_err(de::Error::custom)
                }
            }
        }
    )*};
}

/// Reads a whole value and validates it with the tree validator.
fn whole<'de, D: Deserializer<'de>>(
    st: &mut State<'_>,
    id: NodeId,
    inner: D,
) -> Result<Value, D::Error> {
    let value = Value::deserialize(inner)?;
    let mut errors = Vec::new();
    st.c.validate_into(id, &value, "#", &mut errors);
    st.valid &= errors.is_empty();
    Ok(value)
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Validating<'_, '_, D> {
    type Error = D::Error;

    deserialize_methods!(forward);

    /// A skipped value is still checked: it is read whole-event by event like any other.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let Validating {
            st,
            node,
            depth,
            inner,
        } = self;
        match st.mode(node, depth) {
            Mode::Forward => inner.deserialize_ignored_any(visitor),
            Mode::Stream(n) => inner.deserialize_any(Checked {
                st,
                n,
                node,
                depth,
                visitor,
            }),
            Mode::Whole(id) => {
                whole(st, id, inner)?;
                visitor.visit_unit()
            }
        }
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor that checks each event against `n`, then passes it to `visitor`.
struct Checked<'s, 'c, V> {
    st: &'s mut State<'c>,
    n: &'c Node,
    /// The node `n` was resolved from (for values that wrap another value: `Some`, newtypes).
    node: NodeId,
    depth: usize,
    visitor: V,
}

impl<'s, 'c, V> Checked<'s, 'c, V> {
    /// For a value wrapping one value (`Some`, a newtype): the visitor, and `d` checked against
    /// the same node.
    fn unwrap_one<D2>(self, d: D2) -> (V, Validating<'s, 'c, D2>) {
        let inner = Validating {
            st: self.st,
            node: self.node,
            depth: self.depth,
            inner: d,
        };
        (self.visitor, inner)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Checked<'_, '_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.st.check_scalar(self.n, BOOLEAN, &Value::Bool(v));
        self.visitor.visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.st.check_number(self.n, Number::from(v));
        self.visitor.visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.st.check_number(self.n, Number::from(v));
        self.visitor.visit_u64(v)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
        self.st.valid = false;
        self.visitor.visit_i128(v)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<V::Value, E> {
        self.st.valid = false;
        self.visitor.visit_u128(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        match Number::from_f64(v) {
            Some(x) => self.st.check_number(self.n, x),
            None => self.st.valid = false,
        }
        self.visitor.visit_f64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.st.check_str(self.n, v);
        self.visitor.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.st.check_str(self.n, v);
        self.visitor.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.st.check_str(self.n, &v);
        self.visitor.visit_string(v)
    }

    // serde_json yields a string's bytes to `deserialize_bytes`.
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.st.check_utf8(self.n, v);
        self.visitor.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        self.st.check_utf8(self.n, v);
        self.visitor.visit_borrowed_bytes(v)
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        self.st.check_utf8(self.n, &v);
        self.visitor.visit_byte_buf(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.st.check_scalar(self.n, NULL, &Value::Null);
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.st.check_scalar(self.n, NULL, &Value::Null);
        self.visitor.visit_unit()
    }

    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
        let (visitor, d) = self.unwrap_one(d);
        visitor.visit_some(d)
    }

    fn visit_newtype_struct<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
        let (visitor, d) = self.unwrap_one(d);
        visitor.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let Checked {
            st,
            n,
            depth,
            visitor,
            ..
        } = self;
        if !st.check_container(n, ARRAY) {
            return visitor.visit_seq(seq);
        }
        let (mut count, mut ended) = (0, false);
        let value = visitor.visit_seq(CheckedSeq {
            st: &mut *st,
            n,
            depth,
            inner: seq,
            count: &mut count,
            ended: &mut ended,
        })?;
        // A visitor that stops early leaves items unchecked: let the two-pass path decide.
        st.valid &= ended
            && n.min_items.is_none_or(|min| count >= min)
            && n.max_items.is_none_or(|max| count <= max);
        Ok(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let Checked {
            st,
            n,
            depth,
            visitor,
            ..
        } = self;
        if !st.check_container(n, OBJECT) {
            return visitor.visit_map(map);
        }
        let mut end = MapEnd::default();
        let value = visitor.visit_map(CheckedMap {
            st: &mut *st,
            n,
            depth,
            inner: map,
            value_node: None,
            end: &mut end,
        })?;
        st.valid &= end.ended && n.min_properties.is_none_or(|min| end.count >= min);
        st.valid &= n.max_properties.is_none_or(|max| end.count <= max);
        if st.valid {
            let c = st.c;
            for (i, name) in n.required.iter().enumerate() {
                if end.seen & (1u128 << i) == 0 {
                    // A read-only property is not expected in a request.
                    let read_only = n
                        .properties
                        .binary_search_by(|(k, _)| k.cmp(name))
                        .is_ok_and(|j| c.node_at(n.properties[j].1).read_only);
                    st.valid &= read_only;
                }
            }
        }
        Ok(value)
    }

    /// Externally tagged enums are not a shape contractor generates: the two-pass path checks.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.st.valid = false;
        self.visitor.visit_enum(data)
    }
}

struct CheckedSeq<'s, 'c, 'r, A> {
    st: &'s mut State<'c>,
    n: &'c Node,
    depth: usize,
    inner: A,
    count: &'r mut usize,
    ended: &'r mut bool,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for CheckedSeq<'_, '_, '_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let schema = self
            .n
            .prefix_items
            .get(*self.count)
            .copied()
            .or(self.n.items);
        let next = match schema {
            Some(node) if self.st.valid => self.inner.next_element_seed(CheckedSeed {
                st: &mut *self.st,
                node,
                depth: self.depth + 1,
                seed,
            })?,
            _ => self.inner.next_element_seed(seed)?,
        };
        match next {
            Some(_) => *self.count += 1,
            None => *self.ended = true,
        }
        Ok(next)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

#[derive(Default)]
struct MapEnd {
    ended: bool,
    count: usize,
    /// Bit `i`: `required[i]` was present (streamable nodes have at most 128).
    seen: u128,
}

struct CheckedMap<'s, 'c, 'r, A> {
    st: &'s mut State<'c>,
    n: &'c Node,
    depth: usize,
    inner: A,
    /// The schema of the value after the key just read (`None`: not checked).
    value_node: Option<NodeId>,
    end: &'r mut MapEnd,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for CheckedMap<'_, '_, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut key = None;
        let next = self.inner.next_key_seed(KeySeed {
            seed,
            key: &mut key,
        })?;
        if next.is_none() {
            self.end.ended = true;
            return Ok(None);
        }
        self.end.count += 1;
        self.value_node = None;
        let Some(key) = key else {
            // A key the target read as something else than a string: not followed.
            self.st.valid = false;
            return Ok(next);
        };
        let n = self.n;
        if let Some(i) = n.required.iter().position(|r| **r == *key) {
            self.end.seen |= 1u128 << i;
        }
        let declared = n
            .properties
            .binary_search_by(|(k, _)| (**k).cmp(&*key))
            .ok()
            .map(|i| n.properties[i].1);
        self.value_node = match (declared, &n.additional) {
            // A read-only property in a request is ignored.
            (Some(p), _) if self.st.c.node_at(p).read_only => None,
            (Some(p), _) => Some(p),
            (None, Additional::Allow) => None,
            (None, Additional::Deny) => {
                self.st.valid = false;
                None
            }
            (None, Additional::Schema(s)) => Some(*s),
        };
        Ok(next)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        match self.value_node.take() {
            Some(node) if self.st.valid => self.inner.next_value_seed(CheckedSeed {
                st: &mut *self.st,
                node,
                depth: self.depth + 1,
                seed,
            }),
            _ => self.inner.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A seed whose deserializer checks against `node`.
struct CheckedSeed<'s, 'c, T> {
    st: &'s mut State<'c>,
    node: NodeId,
    depth: usize,
    seed: T,
}

impl<'de, T: DeserializeSeed<'de>> DeserializeSeed<'de> for CheckedSeed<'_, '_, T> {
    type Value = T::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T::Value, D::Error> {
        self.seed.deserialize(Validating {
            st: self.st,
            node: self.node,
            depth: self.depth,
            inner: d,
        })
    }
}

/// A key seed that records the key's text on its way to the target.
struct KeySeed<'k, 'de, K> {
    seed: K,
    key: &'k mut Option<Cow<'de, str>>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, 'de, K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        self.seed.deserialize(KeyDeserializer {
            inner: d,
            key: self.key,
        })
    }
}

struct KeyDeserializer<'k, 'de, D> {
    inner: D,
    key: &'k mut Option<Cow<'de, str>>,
}

macro_rules! forward_key {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self $(, $arg: $ty)*, visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* KeyVisitor { visitor, key: self.key })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeyDeserializer<'_, 'de, D> {
    type Error = D::Error;

    deserialize_methods!(forward_key);
    forward_key! {
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Records string keys; other shapes leave the key unrecorded (and the body to the two-pass
/// path).
struct KeyVisitor<'k, 'de, V> {
    visitor: V,
    key: &'k mut Option<Cow<'de, str>>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for KeyVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        *self.key = Some(Cow::Borrowed(v));
        self.visitor.visit_borrowed_str(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        *self.key = Some(Cow::Owned(v.to_owned()));
        self.visitor.visit_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        *self.key = Some(Cow::Owned(v.clone()));
        self.visitor.visit_string(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.visitor.visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.visitor.visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.visitor.visit_u64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.visitor.visit_f64(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.visitor.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        self.visitor.visit_borrowed_bytes(v)
    }

    fn visit_newtype_struct<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
        self.visitor.visit_newtype_struct(d)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::schema::Schemas;

    fn compiled(defs: Value) -> &'static Compiled {
        let text: &'static str = Box::leak(defs.to_string().into_boxed_str());
        let schemas: &'static Schemas = Box::leak(Box::new(Schemas::new(text)));
        schemas.compiled().unwrap()
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Order {
        customer: String,
        items: Vec<Item>,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        extra: Option<Value>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Item {
        sku: String,
        quantity: i32,
    }

    fn order_schema() -> &'static Compiled {
        compiled(json!({
            "order": {
                "type": "object",
                "required": ["customer", "items"],
                "additionalProperties": false,
                "properties": {
                    "customer": {"type": "string", "format": "email"},
                    "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
                    "note": {"type": ["string", "null"], "maxLength": 5},
                    "extra": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "legacy": {"type": "string"}
                }
            },
            "item": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"},
                    "quantity": {"type": "integer", "minimum": 1}
                }
            }
        }))
    }

    fn decode<T: DeserializeOwned>(c: &Compiled, body: &str) -> Option<T> {
        let node = c.def("order").unwrap();
        deserialize_validated(c, node, body.as_bytes())
    }

    #[test]
    fn a_valid_body_is_deserialized_in_one_pass() {
        let c = order_schema();
        let body = r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2}],
            "note":null,"extra":5,"legacy":"kept out of the type"}"#;
        let order: Order = decode(c, body).unwrap();
        assert_eq!(order.items[0].quantity, 2);
        assert_eq!(order.extra, Some(json!(5)));
    }

    #[test]
    fn every_kind_of_error_gives_up() {
        let c = order_schema();
        for body in [
            // format, pattern, minimum, type, minItems, maxLength, required, unknown property
            r#"{"customer":"nope","items":[{"sku":"TEA-1","quantity":2}]}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"tea","quantity":2}]}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":0}]}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2.5}]}"#,
            r#"{"customer":"a@b.co","items":[]}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2}],"note":"too long"}"#,
            r#"{"customer":"a@b.co"}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2}],"x":1}"#,
            // a combinator (checked whole), a skipped property of the wrong type, bad JSON
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2}],"extra":true}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2}],"legacy":1}"#,
            r#"{"customer":"a@b.co","items":[{"sku":"TEA-1","quantity":2}]} x"#,
        ] {
            assert_eq!(decode::<Order>(c, body), None, "{body}");
            // The schema-only verdict agrees: each is invalid or malformed.
            let node = c.def("order").unwrap();
            let mut de = serde_json::Deserializer::from_slice(body.as_bytes());
            let verdict = c.validate_json(node, &mut de).map(|e| e.is_empty());
            assert!(!matches!(verdict, Ok(true)) || de.end().is_err(), "{body}");
        }
    }

    #[test]
    fn agrees_with_the_two_pass_validator_on_generic_values() {
        let c = order_schema();
        let node = c.def("order").unwrap();
        for body in [
            json!({"customer": "a@b.co", "items": [{"sku": "A-1", "quantity": 1}]}),
            json!({"customer": "a@b.co", "items": [{"sku": "A-1", "quantity": 1, "x": [1]}]}),
            json!({"customer": "a@b.co", "items": [{"sku": "A-1"}]}),
            json!({"customer": "a@b.co", "items": "none"}),
            json!([1, 2]),
            json!(null),
        ] {
            let text = body.to_string();
            let fused = deserialize_validated::<Value>(c, node, text.as_bytes());
            let two_pass = c.validate(node, &body).is_empty();
            assert_eq!(fused.is_some(), two_pass, "{text}");
            if let Some(v) = fused {
                assert_eq!(v, body);
            }
        }
    }

    #[test]
    fn a_type_that_reads_less_than_the_body_still_checks_all_of_it() {
        #[derive(Deserialize)]
        struct OnlyCustomer {
            #[allow(dead_code)]
            customer: String,
        }
        let c = order_schema();
        let good = r#"{"customer":"a@b.co","items":[{"sku":"A-1","quantity":1}]}"#;
        assert!(decode::<OnlyCustomer>(c, good).is_some());
        let bad = r#"{"customer":"a@b.co","items":[{"sku":"A-1","quantity":"1"}]}"#;
        assert!(decode::<OnlyCustomer>(c, bad).is_none());
        // Maps keyed by strings are followed; their values are checked by `additionalProperties`.
        let m = compiled(json!({"order": {"type": "object",
            "additionalProperties": {"type": "integer"}}}));
        assert!(decode::<BTreeMap<String, i64>>(m, r#"{"a":1,"b":2}"#).is_some());
        assert!(decode::<BTreeMap<String, Value>>(m, r#"{"a":1,"b":"2"}"#).is_none());
    }
}
