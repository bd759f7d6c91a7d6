//! The structural check of OpenAPI 3.0 documents: deserialize into `openapiv3::OpenAPI`.
//!
//! The tree itself is the serde `Deserializer` (no `serde_json::Value` in between): that costs
//! one pass and no copy, strings are borrowed, and the deserializer knows which node it was on
//! when an error came back, so the error points at that node (the innermost one the error passed
//! through; for openapiv3's untagged `ReferenceOr`, the object that matched neither a reference
//! nor the expected type).
//!
//! A contract split over files is checked as its bundled form would be. openapiv3 takes a
//! reference (`ReferenceOr<T>`) only at some places: schemas, responses, parameters, examples,
//! request bodies, headers, security schemes, links and path items. A resolved `$ref` there
//! stays a reference, and its target, if it lies in another file, is checked once on its own as
//! that type (a work list, deduplicated). A resolved `$ref` anywhere else (DigitalOcean writes
//! `get: {$ref: op.yml}` and `description: {$ref: …}`, where OpenAPI 3.0 has no reference) is
//! followed in place, as a bundler would inline it. So each file fragment is read about once,
//! and inlining — the only step that could multiply work — stops at cycles and after
//! [`MAX_INLINED`] mappings and sequences, with an error.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt;

use contractor_core::InputError;
use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::refs::DocumentSet;
use crate::tree::{Entry, NodeId, Number, Value};

/// Mappings and sequences that inlining references may add to the check.
const MAX_INLINED: usize = 1_000_000;

/// Stack for the checking thread. serde recurses once per level of the document (more through
/// openapiv3's untagged enums, which buffer and re-read), and a debug build uses a few kB per
/// level; [`crate::Limits::max_depth`] bounds the levels, this bounds the bytes. Only touched
/// pages are committed, so a large reservation costs nothing.
fn stack_size(max_depth: usize) -> usize {
    (16 << 20) + max_depth.saturating_mul(64 << 10)
}

pub(crate) fn openapi_3_0(set: &DocumentSet) -> Result<(), InputError> {
    let max_depth = set.limits().max_depth;
    let run = || {
        let ctx = Ctx::new(set, max_depth);
        ctx.queue
            .borrow_mut()
            .push((set.root(), Pos::Object(Kind::OpenApi)));
        // The document, then the targets of references into other files, each checked once as
        // the type the reference stood for. Checking one may queue more.
        loop {
            let next = ctx.queue.borrow_mut().pop();
            let Some((id, pos)) = next else {
                return Ok(());
            };
            if let Err(failure) = ctx.check(id, pos) {
                return Err(refine(set, max_depth, failure));
            }
        }
    };
    let outcome = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("openapi-3.0-check".into())
            .stack_size(stack_size(max_depth))
            .spawn_scoped(scope, run)
            .map(|handle| handle.join())
    });
    let root_display = set.file(set.root_file()).display();
    match outcome {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(Failure { node, message, .. }))) => {
            let pointer = set.pointer_of(node);
            let at = if pointer.is_empty() {
                String::new()
            } else {
                format!(" at `{pointer}`")
            };
            Err(set.error_at(
                node,
                format!("not a valid OpenAPI 3.0 document{at}: {message}"),
            ))
        }
        // openapiv3 has an `expect` on a path that should be unreachable; if input ever reaches
        // it, the thread boundary turns it into an input error instead of an abort.
        Ok(Err(_panic)) => Err(InputError::in_file(
            root_display,
            "the OpenAPI 3.0 structure check failed on this document (openapiv3 panicked)",
        )),
        Err(e) => Err(InputError::in_file(
            root_display,
            format!("cannot start the OpenAPI 3.0 structure check: {e}"),
        )),
    }
}

/// A failed check: where (as precisely as serde let us see) and serde's message.
struct Failure {
    node: NodeId,
    pos: Pos,
    message: String,
}

/// Moves a failure down to the deepest node that fails on its own. openapiv3's flattened and
/// untagged types buffer whole subtrees, so an error can surface at `/paths` when the fault is
/// in one operation's responses; checking the failing node's typed children one by one (their
/// type follows from their position) finds the one to blame. Each step moves to a node not
/// blamed before, so this ends; it only runs on the error path.
fn refine(set: &DocumentSet, max_depth: usize, mut failure: Failure) -> Failure {
    // Inlined references can lead back to a node already blamed; never revisit one.
    let mut seen = HashSet::from([failure.node]);
    'deeper: loop {
        for (child, pos) in typed_children(set, failure.node, failure.pos) {
            let ctx = Ctx::new(set, max_depth);
            if let Err(deeper) = ctx.check(child, pos) {
                if !seen.insert(deeper.node) {
                    return failure;
                }
                failure = deeper;
                continue 'deeper;
            }
        }
        return failure;
    }
}

/// The descendants of `node` that have a checkable type, in document order, looking through
/// name maps and lists (`paths`, `properties`, `parameters`, ...).
fn typed_children(set: &DocumentSet, node: NodeId, pos: Pos) -> Vec<(NodeId, Pos)> {
    let mut found = Vec::new();
    let mut stack = vec![(follow_inlined(set, node, pos), pos)];
    while let Some((id, pos)) = stack.pop() {
        let mut children = Vec::new();
        match &set.node(id).value {
            Value::Map(entries) => {
                for entry in entries.iter() {
                    if entry.key.text.starts_with("x-") {
                        continue;
                    }
                    let value = &set.node(entry.value).value;
                    // `additionalProperties: true` is valid but is no schema.
                    if &*entry.key.text == "additionalProperties" && matches!(value, Value::Bool(_))
                    {
                        continue;
                    }
                    children.push((entry.value, pos.entry(&entry.key.text, value)));
                }
            }
            Value::Seq(items) => children.extend(items.iter().map(|&item| (item, pos.element()))),
            _ => {}
        }
        // Reversed onto the stack, so that they come off in document order.
        for (child, child_pos) in children.into_iter().rev() {
            match child_pos {
                Pos::Ref(_) | Pos::Object(_) => found.push((child, child_pos)),
                Pos::Names(_) | Pos::List(_) => {
                    stack.push((follow_inlined(set, child, child_pos), child_pos));
                }
                Pos::Plain => {}
            }
        }
    }
    found
}

/// Where the check reads `node` from: through resolved references, except where openapiv3
/// takes a reference. Bounded, for cycles.
fn follow_inlined(set: &DocumentSet, mut node: NodeId, pos: Pos) -> NodeId {
    if matches!(pos, Pos::Ref(_)) {
        return node;
    }
    for _ in 0..64 {
        match set.resolved(node) {
            Some(target) => node = target,
            None => break,
        }
    }
    node
}

/// A type of openapiv3 that a node can be checked as on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    OpenApi,
    Operation,
    MediaType,
    Info,
    Components,
    Server,
    Tag,
    Encoding,
    // Types that openapiv3 also takes references to.
    Schema,
    Response,
    Parameter,
    Example,
    RequestBody,
    Header,
    SecurityScheme,
    Link,
    PathItem,
}

impl Kind {
    /// Checks one node as the type, or as `ReferenceOr<the type>` if `reference`.
    fn check(self, de: De<'_, '_>, reference: bool) -> Result<(), Error> {
        fn read<'de, T: Deserialize<'de>>(de: De<'_, 'de>, reference: bool) -> Result<(), Error> {
            if reference {
                openapiv3::ReferenceOr::<T>::deserialize(de).map(drop)
            } else {
                T::deserialize(de).map(drop)
            }
        }
        use openapiv3 as o;
        match self {
            Kind::OpenApi => read::<o::OpenAPI>(de, false),
            Kind::Operation => read::<o::Operation>(de, false),
            Kind::MediaType => read::<o::MediaType>(de, false),
            Kind::Info => read::<o::Info>(de, false),
            Kind::Components => read::<o::Components>(de, false),
            Kind::Server => read::<o::Server>(de, false),
            Kind::Tag => read::<o::Tag>(de, false),
            Kind::Encoding => read::<o::Encoding>(de, false),
            Kind::Schema => read::<o::Schema>(de, reference),
            Kind::Response => read::<o::Response>(de, reference),
            Kind::Parameter => read::<o::Parameter>(de, reference),
            Kind::Example => read::<o::Example>(de, reference),
            Kind::RequestBody => read::<o::RequestBody>(de, reference),
            Kind::Header => read::<o::Header>(de, reference),
            Kind::SecurityScheme => read::<o::SecurityScheme>(de, reference),
            Kind::Link => read::<o::Link>(de, reference),
            Kind::PathItem => read::<o::PathItem>(de, reference),
        }
    }
}

/// What a place in the document holds, as far as openapiv3 goes. Derived from the document's
/// keys, which is what openapiv3's types follow too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// Nothing we check on its own (an object's plain field, data).
    Plain,
    /// `ReferenceOr<kind>`: a `$ref` here stays a reference.
    Ref(Kind),
    /// `kind` itself: a `$ref` here is followed.
    Object(Kind),
    /// A mapping from names to values at the slot.
    Names(Slot),
    /// A sequence of values at the slot.
    List(Slot),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Plain,
    Ref(Kind),
    Object(Kind),
}

impl Slot {
    fn pos(self) -> Pos {
        match self {
            Slot::Plain => Pos::Plain,
            Slot::Ref(kind) => Pos::Ref(kind),
            Slot::Object(kind) => Pos::Object(kind),
        }
    }
}

impl Pos {
    fn entry(self, key: &str, value: &Value) -> Pos {
        match self {
            Pos::Names(slot) => return slot.pos(),
            Pos::List(_) => return Pos::Plain,
            Pos::Plain | Pos::Ref(_) | Pos::Object(_) => {}
        }
        let names = |kind| Pos::Names(Slot::Ref(kind));
        match key {
            "schema" | "items" | "not" | "additionalProperties" => Pos::Ref(Kind::Schema),
            "requestBody" => Pos::Ref(Kind::RequestBody),
            "allOf" | "oneOf" | "anyOf" => Pos::List(Slot::Ref(Kind::Schema)),
            "parameters" if matches!(value, Value::Seq(_)) => Pos::List(Slot::Ref(Kind::Parameter)),
            "parameters" => names(Kind::Parameter),
            "properties" | "schemas" => names(Kind::Schema),
            "responses" => names(Kind::Response),
            "examples" => names(Kind::Example),
            "requestBodies" => names(Kind::RequestBody),
            "headers" => names(Kind::Header),
            "securitySchemes" => names(Kind::SecurityScheme),
            "links" => names(Kind::Link),
            "paths" => names(Kind::PathItem),
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace" => {
                Pos::Object(Kind::Operation)
            }
            "info" => Pos::Object(Kind::Info),
            "components" => Pos::Object(Kind::Components),
            "servers" => Pos::List(Slot::Object(Kind::Server)),
            "tags" if matches!(self, Pos::Object(Kind::OpenApi)) => {
                Pos::List(Slot::Object(Kind::Tag))
            }
            "content" => Pos::Names(Slot::Object(Kind::MediaType)),
            "encoding" => Pos::Names(Slot::Object(Kind::Encoding)),
            // Callbacks are references only under `components`; following them is always safe.
            "callbacks" | "variables" => Pos::Names(Slot::Plain),
            _ => Pos::Plain,
        }
    }

    fn element(self) -> Pos {
        match self {
            Pos::List(slot) => slot.pos(),
            _ => Pos::Plain,
        }
    }
}

#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

struct Ctx<'a> {
    set: &'a DocumentSet,
    /// The innermost node an error passed through, with its position.
    error_node: Cell<Option<(NodeId, Pos)>>,
    depth: Cell<usize>,
    max_depth: usize,
    /// Targets being inlined, innermost last (a cycle stays a reference).
    inlining: RefCell<Vec<NodeId>>,
    inlined: Cell<usize>,
    /// Nodes to check on their own: the document, then reference targets in other files.
    queue: RefCell<Vec<(NodeId, Pos)>>,
    queued: RefCell<HashSet<(NodeId, Kind)>>,
}

impl<'a> Ctx<'a> {
    fn new(set: &'a DocumentSet, max_depth: usize) -> Self {
        Ctx {
            set,
            error_node: Cell::new(None),
            depth: Cell::new(0),
            max_depth,
            inlining: RefCell::new(Vec::new()),
            inlined: Cell::new(0),
            queue: RefCell::new(Vec::new()),
            queued: RefCell::new(HashSet::new()),
        }
    }

    /// Checks `id` as what `pos` says it is.
    fn check(&self, id: NodeId, pos: Pos) -> Result<(), Failure> {
        let (kind, reference) = match pos {
            Pos::Ref(kind) => (kind, true),
            Pos::Object(kind) => (kind, false),
            Pos::Plain | Pos::Names(_) | Pos::List(_) => return Ok(()),
        };
        self.error_node.set(None);
        self.depth.set(0);
        let de = De { ctx: self, id, pos };
        kind.check(de, reference).map_err(|Error(message)| {
            let (node, pos) = self.error_node.get().unwrap_or((id, pos));
            Failure { node, pos, message }
        })
    }

    fn note(&self, id: NodeId, pos: Pos, error: Error) -> Error {
        if self.error_node.get().is_none() {
            self.error_node.set(Some((id, pos)));
        }
        error
    }

    /// The node to read for `id` at `pos`: `id` itself, or, for a resolved reference where
    /// openapiv3 takes none, what it names. Returns how many targets were pushed onto
    /// `inlining` (to pop after reading).
    fn follow(&self, mut id: NodeId, pos: Pos) -> Result<(NodeId, usize), Error> {
        let mut pushed = 0;
        // Only mappings can be references; skip the hash lookup for everything else.
        if !matches!(self.set.node(id).value, Value::Map(_)) {
            return Ok((id, 0));
        }
        while let Some(target) = self.set.resolved(id) {
            if let Pos::Ref(kind) = pos {
                if target.file() != self.set.root_file()
                    && self.queued.borrow_mut().insert((target, kind))
                {
                    self.queue.borrow_mut().push((target, pos));
                }
                break;
            }
            let mut inlining = self.inlining.borrow_mut();
            if inlining.contains(&target) {
                break;
            }
            if self.inlined.get() >= MAX_INLINED {
                drop(inlining);
                self.unfollow(pushed);
                return Err(Error(format!(
                    "following $refs where OpenAPI 3.0 has none inlines more than {MAX_INLINED} \
                     mappings and sequences; refusing to check further"
                )));
            }
            inlining.push(target);
            pushed += 1;
            id = target;
        }
        Ok((id, pushed))
    }

    fn unfollow(&self, pushed: usize) {
        let mut inlining = self.inlining.borrow_mut();
        let keep = inlining.len().saturating_sub(pushed);
        inlining.truncate(keep);
    }

    fn enter(&self) -> Result<(), Error> {
        let depth = self.depth.get() + 1;
        if depth > self.max_depth {
            return Err(Error(format!(
                "nested more than {} levels deep, counting referenced files",
                self.max_depth
            )));
        }
        self.depth.set(depth);
        if !self.inlining.borrow().is_empty() {
            self.inlined.set(self.inlined.get() + 1);
        }
        Ok(())
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }
}

#[derive(Clone, Copy)]
struct De<'c, 'a> {
    ctx: &'c Ctx<'a>,
    id: NodeId,
    pos: Pos,
}

impl<'c, 'a> De<'c, 'a> {
    /// Runs `read` on the node (after following references where needed), noting errors.
    fn with_node<T>(
        self,
        read: impl FnOnce(NodeId, &'a Value) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (id, pushed) = self
            .ctx
            .follow(self.id, self.pos)
            .map_err(|e| self.ctx.note(self.id, self.pos, e))?;
        let result = read(id, &self.ctx.set.node(id).value);
        self.ctx.unfollow(pushed);
        result.map_err(|e| self.ctx.note(id, self.pos, e))
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, Error> {
    if n.is_integer() {
        if let Some(u) = n.as_u64() {
            return visitor.visit_u64(u);
        }
        if let Some(i) = n.as_i64() {
            return visitor.visit_i64(i);
        }
    }
    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
}

impl<'de> Deserializer<'de> for De<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (ctx, pos) = (self.ctx, self.pos);
        self.with_node(|_, value| match value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => {
                ctx.enter()?;
                let result = visitor.visit_seq(SeqDe {
                    ctx,
                    items: items.iter(),
                    pos: pos.element(),
                });
                ctx.leave();
                result
            }
            Value::Map(entries) => {
                ctx.enter()?;
                let result = visitor.visit_map(MapDe {
                    ctx,
                    entries: entries.iter(),
                    pos,
                    value: None,
                });
                ctx.leave();
                result
            }
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (ctx, pos) = (self.ctx, self.pos);
        self.with_node(|id, value| match value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(De { ctx, id, pos }),
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (ctx, pos) = (self.ctx, self.pos);
        self.with_node(|_, value| match value {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            Value::Map(entries) if entries.len() == 1 => {
                visitor.visit_enum(MapAccessDeserializer::new(MapDe {
                    ctx,
                    entries: entries.iter(),
                    pos,
                    value: None,
                }))
            }
            other => Err(Error(format!(
                "expected a string or a mapping with one key, found {}",
                other.kind()
            ))),
        })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unknown fields are skipped without walking them.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqDe<'c, 'a> {
    ctx: &'c Ctx<'a>,
    items: std::slice::Iter<'a, NodeId>,
    pos: Pos,
}

impl<'de> SeqAccess<'de> for SeqDe<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(&id) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(De {
            ctx: self.ctx,
            id,
            pos: self.pos,
        })
        .map(Some)
        .map_err(|e| self.ctx.note(id, self.pos, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'c, 'a> {
    ctx: &'c Ctx<'a>,
    entries: std::slice::Iter<'a, Entry>,
    /// The position of the mapping itself.
    pos: Pos,
    value: Option<(NodeId, Pos)>,
}

impl<'de> MapAccess<'de> for MapDe<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let value = &self.ctx.set.node(entry.value).value;
        let pos = self.pos.entry(&entry.key.text, value);
        self.value = Some((entry.value, pos));
        seed.deserialize(BorrowedStrDeserializer::new(&entry.key.text))
            .map(Some)
            .map_err(|e| self.ctx.note(entry.value, pos, e))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (id, pos) = self
            .value
            .take()
            .ok_or_else(|| Error("a value was read before its key".into()))?;
        seed.deserialize(De {
            ctx: self.ctx,
            id,
            pos,
        })
        .map_err(|e| self.ctx.note(id, pos, e))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
