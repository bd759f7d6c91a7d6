//! A spanned document tree for YAML and JSON files.
//!
//! Nodes of one file live in an arena (`Vec<Node>`) and refer to each other by [`NodeId`]. That
//! gives three things a boxed tree would not: dropping a 100 000-deep document is a flat loop over
//! a vector (no recursive `Drop`), walks are loops over indices rather than recursion, and the
//! nodes of a file sit together in memory. Nodes are stored in pre-order, so the subtree of a node
//! is one contiguous index range, which is what makes YAML alias expansion a cheap block copy.
//!
//! The tree is built by [`Builder`] from a stream of events (YAML through `saphyr-parser`, JSON
//! through [`crate::json`]) with an explicit stack; nothing recurses on input depth.

use std::collections::HashMap;
use std::fmt;

use contractor_core::{InputError, Position};

/// One loaded file of a [`crate::DocumentSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub(crate) u32);

impl FileId {
    /// The index of the file in load order (the root document is 0).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A node of a loaded file. Ids are only meaningful for the [`Tree`] or
/// [`crate::DocumentSet`] that made them; using one with another set panics like an out-of-range
/// slice index (it is a programming error, never an input error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub(crate) file: FileId,
    pub(crate) index: u32,
}

impl NodeId {
    pub fn file(self) -> FileId {
        self.file
    }

    /// The index of the node inside its file (pre-order).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// Where a node or key is written: 1-based lines and columns (columns count characters), end
/// exclusive. Block collections end where their last entry ends, not at the next token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: Position,
    pub end: Position,
}

/// One value of the document with where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// The JSON data model, as YAML 1.2's core schema resolves plain scalars onto it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Box<[NodeId]>),
    /// Entries in document order. Keys are unique (duplicates are refused while loading).
    Map(Box<[Entry]>),
}

impl Value {
    /// A word for error messages: "a mapping", "a string", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Key,
    pub value: NodeId,
}

/// A mapping key. YAML keys that are not strings (`200:`, `true:`) keep the text they were
/// written with, which is what JSON and OpenAPI mean by them (`200` is the status code `"200"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: Box<str>,
    pub span: Span,
}

/// A number with the text it was written with, so that nothing is lost to `f64` rounding
/// (`1e400`, 20-digit integers and `0.10` all survive) and diffs can compare what authors wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Number(Box<str>);

impl Number {
    /// Only for texts that the YAML core schema (or JSON) resolves to a number.
    pub(crate) fn new(text: &str) -> Self {
        Number(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an integer, if it is written as one (decimal, `0x…` or `0o…`) and fits.
    pub fn as_i64(&self) -> Option<i64> {
        let (negative, digits) = split_sign(&self.0);
        let magnitude = parse_unsigned(digits)?;
        if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The value as a non-negative integer, if it is written as one and fits.
    pub fn as_u64(&self) -> Option<u64> {
        let (negative, digits) = split_sign(&self.0);
        let magnitude = parse_unsigned(digits)?;
        (!negative || magnitude == 0).then_some(magnitude)
    }

    /// The value as a float (integers too; `.inf` and `.nan` included). Always `Some` for numbers
    /// that came from a document; `Option` because the text is the source of truth.
    pub fn as_f64(&self) -> Option<f64> {
        let (negative, digits) = split_sign(&self.0);
        let sign = if negative { -1.0 } else { 1.0 };
        let magnitude = match digits {
            ".inf" | ".Inf" | ".INF" => f64::INFINITY,
            ".nan" | ".NaN" | ".NAN" => f64::NAN,
            _ => match parse_unsigned(digits) {
                // Integers too large for u64 still have an f64 value.
                Some(n) => n as f64,
                None => digits.parse::<f64>().ok()?,
            },
        };
        Some(sign * magnitude)
    }

    /// Whether the number is written as an integer (no fraction, exponent, `.inf` or `.nan`).
    pub fn is_integer(&self) -> bool {
        let digits = split_sign(&self.0).1;
        is_yaml_int(digits) || is_json_int(digits)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn parse_unsigned(digits: &str) -> Option<u64> {
    if let Some(hex) = digits.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(octal) = digits.strip_prefix("0o") {
        u64::from_str_radix(octal, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn is_yaml_int(digits: &str) -> bool {
    let all = |s: &str, f: fn(u8) -> bool| !s.is_empty() && s.bytes().all(f);
    if let Some(hex) = digits.strip_prefix("0x") {
        all(hex, |b| b.is_ascii_hexdigit())
    } else if let Some(octal) = digits.strip_prefix("0o") {
        all(octal, |b| (b'0'..=b'7').contains(&b))
    } else {
        all(digits, |b| b.is_ascii_digit())
    }
}

fn is_json_int(digits: &str) -> bool {
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Mappings with more entries than this get a sorted index, so that `get` on
/// `components/schemas` with thousands of entries is a binary search, not a scan.
const INDEXED_MAP_LEN: usize = 16;

/// The nodes of one file.
#[derive(Debug, Clone)]
pub struct Tree {
    file: FileId,
    nodes: Vec<Node>,
    /// For mappings longer than [`INDEXED_MAP_LEN`]: entry positions sorted by key.
    map_index: HashMap<u32, Box<[u32]>>,
    /// Mappings with a string `$id`, in pre-order (JSON Schema resources, for 3.1 `$ref`s).
    pub(crate) ids: Vec<IdScope>,
    /// Mappings with a string `$anchor` or `$dynamicAnchor`: (mapping, name).
    pub(crate) anchors: Vec<(u32, Box<str>)>,
}

/// A mapping that declares `$id`: it and the nodes in `index..end` have `id` (resolved against
/// the enclosing base) as their base URI. Scopes nest (pre-order ranges never cross), so the
/// innermost scope of a node is found by a binary search and a walk up `parent`.
#[derive(Debug, Clone)]
pub(crate) struct IdScope {
    pub index: u32,
    pub end: u32,
    pub id: Box<str>,
    /// The enclosing scope, as an index into `Tree::ids`.
    pub parent: Option<usize>,
}

impl Tree {
    /// The innermost `$id` scope containing `node`, as an index into `ids`. O(log n + nesting).
    pub(crate) fn id_scope(&self, node: NodeId) -> Option<usize> {
        let index = node.index;
        let candidate = self
            .ids
            .partition_point(|scope| scope.index <= index)
            .checked_sub(1)?;
        let mut at = Some(candidate);
        while let Some(i) = at {
            if index < self.ids[i].end {
                return Some(i);
            }
            at = self.ids[i].parent;
        }
        None
    }
}

impl Tree {
    pub fn file(&self) -> FileId {
        self.file
    }

    /// The top node (`null` for an empty file).
    pub fn root(&self) -> NodeId {
        NodeId {
            file: self.file,
            index: 0,
        }
    }

    /// The number of nodes, aliases expanded.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node with its id, in pre-order. Nodes that YAML merge keys (`<<`) copied entries
    /// out of are included, though no mapping holds them any more.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        let file = self.file;
        self.nodes.iter().enumerate().map(move |(index, node)| {
            let id = NodeId {
                file,
                index: index as u32,
            };
            (id, node)
        })
    }

    /// # Panics
    /// If `id` belongs to another file.
    pub fn node(&self, id: NodeId) -> &Node {
        assert_eq!(id.file, self.file, "NodeId of another file");
        &self.nodes[id.index()]
    }

    /// The value of `key` if `map` is a mapping that has it.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        let Value::Map(entries) = &self.node(map).value else {
            return None;
        };
        match self.map_index.get(&map.index) {
            Some(sorted) => {
                let found = sorted
                    .binary_search_by(|&i| entries[i as usize].key.text.as_ref().cmp(key))
                    .ok()?;
                Some(entries[sorted[found] as usize].value)
            }
            None => entries
                .iter()
                .find(|entry| &*entry.key.text == key)
                .map(|entry| entry.value),
        }
    }

    /// The map entry of `key`, for its key span.
    pub fn entry(&self, map: NodeId, key: &str) -> Option<&Entry> {
        let Value::Map(entries) = &self.node(map).value else {
            return None;
        };
        let value = self.get(map, key)?;
        entries.iter().find(|entry| entry.value == value)
    }

    /// Element `index` if `seq` is a sequence that long.
    pub fn index(&self, seq: NodeId, index: usize) -> Option<NodeId> {
        match &self.node(seq).value {
            Value::Seq(items) => items.get(index).copied(),
            _ => None,
        }
    }

    /// The node at a JSON pointer (RFC 6901: `/a/b~1c/0`, with `~1` for `/` and `~0` for `~`)
    /// below `from`; `""` is `from` itself.
    pub fn pointer(&self, from: NodeId, pointer: &str) -> Option<NodeId> {
        self.pointer_detail(from, pointer).ok()
    }

    /// Like [`Tree::pointer`], but says which part failed, for error messages.
    pub(crate) fn pointer_detail(
        &self,
        from: NodeId,
        pointer: &str,
    ) -> Result<NodeId, PointerError> {
        if pointer.is_empty() {
            return Ok(from);
        }
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(PointerError::Syntax(
                "a JSON pointer is empty or starts with `/`".into(),
            ));
        };
        let mut node = from;
        let mut consumed = 0; // length of the pointer prefix that was found
        for raw in rest.split('/') {
            let token = unescape_token(raw).ok_or_else(|| {
                PointerError::Syntax(format!(
                    "`~` must be followed by `0` or `1` in a JSON pointer (in `{raw}`)"
                ))
            })?;
            let parent = &pointer[..consumed];
            let next = match &self.node(node).value {
                Value::Map(_) => self.get(node, &token),
                Value::Seq(items) => array_index(&token).and_then(|i| items.get(i).copied()),
                other => {
                    return Err(PointerError::NotContainer {
                        parent: parent.to_owned(),
                        kind: other.kind(),
                    });
                }
            };
            node = next.ok_or_else(|| PointerError::Missing {
                parent: parent.to_owned(),
                token: token.clone(),
            })?;
            consumed += 1 + raw.len();
        }
        Ok(node)
    }

    /// The JSON pointer of `node` from the root of its file. Walks the whole file (O(n)): meant
    /// for error messages, not for loops.
    pub fn pointer_of(&self, node: NodeId) -> String {
        let mut parent: Vec<Option<(u32, Segment)>> = vec![None; self.nodes.len()];
        for (index, n) in self.nodes.iter().enumerate() {
            let index = index as u32;
            match &n.value {
                Value::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        parent[item.index()].get_or_insert((index, Segment::Index(i)));
                    }
                }
                Value::Map(entries) => {
                    for (i, entry) in entries.iter().enumerate() {
                        parent[entry.value.index()].get_or_insert((index, Segment::Entry(i)));
                    }
                }
                _ => {}
            }
        }
        let mut segments = Vec::new();
        let mut at = node.index;
        // Each step goes to a smaller index (pre-order), so this ends.
        while let Some(Some((up, segment))) = parent.get(at as usize).copied() {
            segments.push(match segment {
                Segment::Index(i) => i.to_string(),
                Segment::Entry(i) => match &self.nodes[up as usize].value {
                    Value::Map(entries) => escape_token(&entries[i].key.text),
                    _ => String::new(),
                },
            });
            at = up;
        }
        segments.iter().rev().map(|s| format!("/{s}")).collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Segment {
    Index(usize),
    Entry(usize),
}

/// Why a JSON pointer does not lead to a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PointerError {
    Syntax(String),
    Missing { parent: String, token: String },
    NotContainer { parent: String, kind: &'static str },
}

impl fmt::Display for PointerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |parent: &str| {
            if parent.is_empty() {
                "the top level".to_owned()
            } else {
                format!("`{parent}`")
            }
        };
        match self {
            PointerError::Syntax(message) => f.write_str(message),
            PointerError::Missing { parent, token } => {
                write!(f, "there is no `{token}` in {}", at(parent))
            }
            PointerError::NotContainer { parent, kind } => {
                write!(f, "{} is {kind}, not a mapping or sequence", at(parent))
            }
        }
    }
}

fn unescape_token(raw: &str) -> Option<String> {
    if !raw.contains('~') {
        return Some(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// `~` → `~0`, `/` → `~1`.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// RFC 6901 array indices: `0` or digits without a leading zero.
fn array_index(token: &str) -> Option<usize> {
    let valid = token == "0"
        || (!token.is_empty()
            && !token.starts_with('0')
            && token.bytes().all(|b| b.is_ascii_digit()));
    if valid { token.parse().ok() } else { None }
}

/// How much one load may hold. Every limit ends in a positioned error, never in an abort.
///
/// Budgets are for the whole [`crate::DocumentSet`], so that splitting a document into many
/// files does not multiply them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of source text over all files.
    pub max_bytes: u64,
    /// Nodes over all files, aliases expanded.
    pub max_nodes: usize,
    /// Nodes created by expanding YAML aliases, over all files. Far below `max_nodes` so that an
    /// alias bomb fails after a few milliseconds, not after filling memory up to `max_nodes`.
    pub max_alias_nodes: usize,
    /// Nesting of mappings and sequences in one file. Keeps every later recursive consumer (serde
    /// validation, future lowering) within a known stack.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 << 20,
            max_nodes: 10_000_000,
            max_alias_nodes: 1_000_000,
            max_depth: 1_000,
        }
    }
}

/// What earlier files of a set have already used of the [`Limits`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Usage {
    pub bytes: u64,
    pub nodes: usize,
    pub alias_nodes: usize,
}

/// A YAML anchor as seen by later aliases.
#[derive(Debug, Clone)]
enum Anchor {
    /// The anchored collection is still open: an alias to it would be a cycle.
    Open,
    /// A complete node: its pre-order range and its height (levels of collections).
    Node { index: u32, size: u32, height: u32 },
    /// An anchored mapping key (keys are not nodes).
    Key(Box<str>),
}

#[derive(Debug)]
enum FrameKind {
    Seq,
    /// `key` is the pending key between a key and its value; `plain_merge` says it was a plain
    /// `<<` (a YAML merge key).
    Map {
        key: Option<(Key, bool)>,
        merges: Vec<NodeId>,
    },
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// The placeholder node of this collection.
    index: u32,
    /// Where this collection's children start in the builder's scratch vectors.
    scratch: usize,
    anchor: usize,
    /// 1 + the height of the highest child collection so far.
    height: u32,
    /// End of the last child, the end of a block collection.
    last_end: Position,
}

/// Builds a [`Tree`] from parser events with an explicit stack.
pub(crate) struct Builder<'a> {
    file: FileId,
    display: &'a str,
    limits: &'a Limits,
    usage: &'a mut Usage,
    nodes: Vec<Node>,
    map_index: HashMap<u32, Box<[u32]>>,
    frames: Vec<Frame>,
    items: Vec<NodeId>,
    entries: Vec<Entry>,
    anchors: Vec<Anchor>,
    ids: Vec<IdScope>,
    schema_anchors: Vec<(u32, Box<str>)>,
    done: bool,
}

impl<'a> Builder<'a> {
    pub fn new(file: FileId, display: &'a str, limits: &'a Limits, usage: &'a mut Usage) -> Self {
        Builder {
            file,
            display,
            limits,
            usage,
            nodes: Vec::new(),
            map_index: HashMap::new(),
            frames: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            anchors: Vec::new(),
            ids: Vec::new(),
            schema_anchors: Vec::new(),
            done: false,
        }
    }

    pub fn error(&self, at: Position, message: impl Into<String>) -> InputError {
        InputError::at(self.display, at, message)
    }

    pub fn span(&self, start: Position, end: Position) -> Span {
        Span {
            file: self.file,
            start,
            end,
        }
    }

    /// Whether the next value is a mapping key.
    pub fn expects_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        )
    }

    fn id(&self, index: u32) -> NodeId {
        NodeId {
            file: self.file,
            index,
        }
    }

    /// Appends a node, charging it to the budget.
    fn push_node(&mut self, node: Node) -> Result<u32, InputError> {
        if self.done {
            return Err(self.error(node.span.start, "expected the end of the document"));
        }
        // Node indices are u32; a budget above that is capped.
        if self.usage.nodes >= self.limits.max_nodes || self.nodes.len() >= u32::MAX as usize {
            return Err(self.error(
                node.span.start,
                format!(
                    "the contract has more than {} nodes (the node limit)",
                    self.limits.max_nodes
                ),
            ));
        }
        self.usage.nodes += 1;
        let index = self.nodes.len() as u32;
        self.nodes.push(node);
        Ok(index)
    }

    fn anchor_slot(&mut self, anchor: usize) -> &mut Anchor {
        if self.anchors.len() <= anchor {
            self.anchors.resize(anchor + 1, Anchor::Open);
        }
        &mut self.anchors[anchor]
    }

    /// Hands a finished node (`index`) to its parent, or makes it the root.
    fn attach(&mut self, index: u32, height: u32) {
        let id = self.id(index);
        let end = self.nodes[index as usize].span.end;
        match self.frames.last_mut() {
            None => self.done = true,
            Some(frame) => {
                frame.height = frame.height.max(height + 1);
                frame.last_end = end;
                match &mut frame.kind {
                    FrameKind::Seq => self.items.push(id),
                    FrameKind::Map { key, merges } => {
                        // `expects_key` routed keys elsewhere, so a key is pending here.
                        if let Some((key, merge)) = key.take() {
                            if merge {
                                merges.push(id);
                            } else {
                                self.entries.push(Entry { key, value: id });
                            }
                        }
                    }
                }
            }
        }
    }

    fn set_key(&mut self, key: Key, merge: bool) {
        if let Some(Frame {
            kind: FrameKind::Map { key: slot, .. },
            last_end,
            ..
        }) = self.frames.last_mut()
        {
            *last_end = key.span.end;
            *slot = Some((key, merge));
        }
    }

    /// A scalar mapping key (callers check [`Builder::expects_key`] first). `plain` says it was
    /// unquoted: only a plain `<<` is a merge key.
    pub fn key(&mut self, text: &str, plain: bool, span: Span, anchor: usize) {
        let merge = plain && text == "<<";
        let text: Box<str> = text.into();
        if anchor != 0 {
            *self.anchor_slot(anchor) = Anchor::Key(text.clone());
        }
        self.set_key(Key { text, span }, merge);
    }

    /// A scalar value (not a key).
    pub fn value(&mut self, value: Value, span: Span, anchor: usize) -> Result<(), InputError> {
        let index = self.push_node(Node { value, span })?;
        if anchor != 0 {
            *self.anchor_slot(anchor) = Anchor::Node {
                index,
                size: 1,
                height: 0,
            };
        }
        self.attach(index, 0);
        Ok(())
    }

    pub fn start(&mut self, map: bool, start: Position, anchor: usize) -> Result<(), InputError> {
        if self.expects_key() {
            return Err(self.error(
                start,
                "mapping keys must be strings or other scalars, not collections",
            ));
        }
        if self.frames.len() >= self.limits.max_depth {
            return Err(self.error(
                start,
                format!(
                    "mappings and sequences are nested more than {} levels deep",
                    self.limits.max_depth
                ),
            ));
        }
        let index = self.push_node(Node {
            value: Value::Null,
            span: self.span(start, start),
        })?;
        if anchor != 0 {
            *self.anchor_slot(anchor) = Anchor::Open;
        }
        let kind = if map {
            FrameKind::Map {
                key: None,
                merges: Vec::new(),
            }
        } else {
            FrameKind::Seq
        };
        let scratch = if map {
            self.entries.len()
        } else {
            self.items.len()
        };
        self.frames.push(Frame {
            kind,
            index,
            scratch,
            anchor,
            height: 1,
            last_end: start,
        });
        Ok(())
    }

    /// Closes the innermost collection. `flow_end` is the end of its closing bracket, if it has
    /// one (block collections end with their last entry).
    pub fn end(&mut self, flow_end: Option<Position>) -> Result<(), InputError> {
        let Some(frame) = self.frames.pop() else {
            return Ok(());
        };
        let end = flow_end.unwrap_or(frame.last_end);
        let value = match frame.kind {
            FrameKind::Seq => Value::Seq(self.items.drain(frame.scratch..).collect()),
            FrameKind::Map { key, merges } => {
                if let Some((key, _)) = key {
                    // A key without a value: the parsers always send one, but be safe.
                    return Err(self.error(key.span.start, "mapping key without a value"));
                }
                let mut entries: Vec<Entry> = self.entries.drain(frame.scratch..).collect();
                self.check_unique(&entries)?;
                if !merges.is_empty() {
                    self.merge(&mut entries, &merges)?;
                }
                self.note_schema_keywords(frame.index, &entries);
                if entries.len() > INDEXED_MAP_LEN {
                    let mut sorted: Vec<u32> = (0..entries.len() as u32).collect();
                    sorted.sort_unstable_by(|&a, &b| {
                        entries[a as usize]
                            .key
                            .text
                            .cmp(&entries[b as usize].key.text)
                    });
                    self.map_index.insert(frame.index, sorted.into());
                }
                Value::Map(entries.into())
            }
        };
        let node = &mut self.nodes[frame.index as usize];
        node.value = value;
        node.span.end = end.max(node.span.start);
        if frame.anchor != 0 {
            let size = self.nodes.len() as u32 - frame.index;
            *self.anchor_slot(frame.anchor) = Anchor::Node {
                index: frame.index,
                size,
                height: frame.height,
            };
        }
        self.attach(frame.index, frame.height);
        Ok(())
    }

    /// Records `$id`, `$anchor` and `$dynamicAnchor` (JSON Schema 2020-12 identifiers, used by
    /// OpenAPI 3.1 `$ref`s). The mapping is closed, so its subtree ends at `nodes.len()`.
    fn note_schema_keywords(&mut self, index: u32, entries: &[Entry]) {
        for entry in entries {
            if !entry.key.text.starts_with('$') {
                continue;
            }
            let Value::String(text) = &self.nodes[entry.value.index()].value else {
                continue;
            };
            match &*entry.key.text {
                "$id" => self.ids.push(IdScope {
                    index,
                    end: self.nodes.len() as u32,
                    id: text.as_str().into(),
                    parent: None,
                }),
                "$anchor" | "$dynamicAnchor" => {
                    self.schema_anchors.push((index, text.as_str().into()));
                }
                _ => {}
            }
        }
    }

    fn check_unique(&self, entries: &[Entry]) -> Result<(), InputError> {
        let duplicate = if entries.len() <= INDEXED_MAP_LEN {
            (1..entries.len()).find_map(|later| {
                let first = entries[..later]
                    .iter()
                    .position(|e| e.key.text == entries[later].key.text)?;
                Some((first, later))
            })
        } else {
            let mut sorted: Vec<usize> = (0..entries.len()).collect();
            // Stable on equal keys, so of two equal neighbours the first is the earlier one.
            sorted.sort_by(|&a, &b| entries[a].key.text.cmp(&entries[b].key.text));
            sorted
                .windows(2)
                .filter(|w| entries[w[0]].key.text == entries[w[1]].key.text)
                .map(|w| (w[0], w[1]))
                .min_by_key(|&(_, later)| later)
        };
        match duplicate {
            None => Ok(()),
            Some((first, later)) => {
                let first = &entries[first].key;
                let later = &entries[later].key;
                Err(self.error(
                    later.span.start,
                    format!(
                        "duplicate key `{}` (first at line {}, column {})",
                        later.text, first.span.start.line, first.span.start.column
                    ),
                ))
            }
        }
    }

    /// YAML merge keys (`<<: *base` or `<<: [*a, *b]`): entries of the merged mappings that the
    /// mapping does not set itself, earlier sources first. Not part of YAML 1.2, but common in
    /// hand-written YAML and supported by most loaders, so refusing or keeping a literal `<<`
    /// key would both surprise.
    fn merge(&self, entries: &mut Vec<Entry>, merges: &[NodeId]) -> Result<(), InputError> {
        let mut sources = Vec::new();
        for &merge in merges {
            let node = &self.nodes[merge.index()];
            match &node.value {
                Value::Map(_) => sources.push(merge),
                Value::Seq(items) => {
                    for &item in items.iter() {
                        let item_node = &self.nodes[item.index()];
                        if !matches!(item_node.value, Value::Map(_)) {
                            return Err(self.error(
                                item_node.span.start,
                                "a merge key (`<<`) takes mappings only",
                            ));
                        }
                        sources.push(item);
                    }
                }
                _ => {
                    return Err(self.error(
                        node.span.start,
                        "a merge key (`<<`) takes a mapping or a sequence of mappings",
                    ));
                }
            }
        }
        let mut seen: std::collections::HashSet<Box<str>> =
            entries.iter().map(|e| e.key.text.clone()).collect();
        for source in sources {
            if let Value::Map(merged) = &self.nodes[source.index()].value {
                for entry in merged.iter() {
                    if seen.insert(entry.key.text.clone()) {
                        entries.push(entry.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// A YAML alias (`*name`): a copy of the anchored node.
    ///
    /// Aliases are expanded into copies rather than stored as shared references. With copies,
    /// every consumer (pointer lookups, `$ref` walks, the openapiv3 check, future lowering and
    /// diff rules) sees a plain tree with one parent per node and cannot be made to walk an
    /// exponential number of paths; the price is paid once, here, against
    /// [`Limits::max_alias_nodes`], and the size of the copy is known before copying, so an alias
    /// bomb is refused without building anything. The root of the copy gets the alias's span;
    /// the nodes inside keep the spans of the anchored text, where a reader would look.
    pub fn alias(&mut self, anchor: usize, span: Span) -> Result<(), InputError> {
        let target = self.anchors.get(anchor).cloned();
        let (index, size, height) = match target {
            Some(Anchor::Node {
                index,
                size,
                height,
            }) => (index, size, height),
            Some(Anchor::Key(text)) => {
                if self.expects_key() {
                    self.key(&text, false, span, 0);
                    return Ok(());
                }
                return self.value(Value::String(text.into()), span, 0);
            }
            Some(Anchor::Open) => {
                return Err(self.error(
                    span.start,
                    "an alias cannot refer to a node that contains it",
                ));
            }
            None => return Err(self.error(span.start, "alias to an unknown anchor")),
        };
        if self.expects_key() {
            let text = match &self.nodes[index as usize].value {
                Value::String(s) => s.clone().into_boxed_str(),
                Value::Number(n) => n.as_str().into(),
                Value::Bool(b) => b.to_string().into(),
                Value::Null => "null".into(),
                Value::Seq(_) | Value::Map(_) => {
                    return Err(self.error(
                        span.start,
                        "mapping keys must be strings or other scalars, not collections",
                    ));
                }
            };
            self.set_key(Key { text, span }, false);
            return Ok(());
        }
        let size_usize = size as usize;
        if self.usage.alias_nodes + size_usize > self.limits.max_alias_nodes {
            return Err(self.error(
                span.start,
                format!(
                    "YAML aliases expand to more than {} nodes (an alias bomb?)",
                    self.limits.max_alias_nodes
                ),
            ));
        }
        if self.usage.nodes + size_usize > self.limits.max_nodes
            || self.nodes.len() + size_usize >= u32::MAX as usize
        {
            return Err(self.error(
                span.start,
                format!(
                    "the contract has more than {} nodes (the node limit)",
                    self.limits.max_nodes
                ),
            ));
        }
        if self.frames.len() + height as usize > self.limits.max_depth {
            return Err(self.error(
                span.start,
                format!(
                    "this alias nests mappings and sequences more than {} levels deep",
                    self.limits.max_depth
                ),
            ));
        }
        if self.done {
            return Err(self.error(span.start, "expected the end of the document"));
        }
        self.usage.alias_nodes += size_usize;
        self.usage.nodes += size_usize;
        let base = self.nodes.len() as u32;
        let remap = |id: NodeId| NodeId {
            file: id.file,
            index: id.index - index + base,
        };
        self.nodes.reserve(size_usize);
        for offset in 0..size {
            let original = &self.nodes[(index + offset) as usize];
            let value = match &original.value {
                Value::Seq(items) => Value::Seq(items.iter().map(|&id| remap(id)).collect()),
                Value::Map(entries) => Value::Map(
                    entries
                        .iter()
                        .map(|e| Entry {
                            key: e.key.clone(),
                            value: remap(e.value),
                        })
                        .collect(),
                ),
                scalar => scalar.clone(),
            };
            let span = if offset == 0 { span } else { original.span };
            self.nodes.push(Node { value, span });
            if let Some(sorted) = self.map_index.get(&(index + offset)).cloned() {
                self.map_index.insert(base + offset, sorted);
            }
        }
        self.attach(base, height);
        Ok(())
    }

    /// The finished tree. An empty file is a single `null` at 1:1.
    pub fn finish(mut self) -> Result<Tree, InputError> {
        if let Some(frame) = self.frames.last() {
            let start = self.nodes[frame.index as usize].span.start;
            return Err(self.error(start, "this collection is not closed"));
        }
        if self.nodes.is_empty() {
            let start = Position::new(1, 1);
            let span = self.span(start, start);
            self.push_node(Node {
                value: Value::Null,
                span,
            })?;
        }
        // Scopes were recorded as mappings closed (post-order); lookups want pre-order, and
        // each scope's parent, found with a stack of the open ones.
        self.ids.sort_by_key(|scope| scope.index);
        let mut open: Vec<usize> = Vec::new();
        for i in 0..self.ids.len() {
            while let Some(&top) = open.last() {
                if self.ids[i].index < self.ids[top].end {
                    break;
                }
                open.pop();
            }
            self.ids[i].parent = open.last().copied();
            open.push(i);
        }
        Ok(Tree {
            file: self.file,
            nodes: self.nodes,
            map_index: self.map_index,
            ids: self.ids,
            anchors: self.schema_anchors,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    pub(crate) fn yaml_with(text: &str, limits: &Limits) -> Result<Tree, InputError> {
        let mut usage = Usage::default();
        crate::yaml::parse(text, Builder::new(FileId(0), "t.yaml", limits, &mut usage))
    }

    pub(crate) fn json_with(text: &str, limits: &Limits) -> Result<Tree, InputError> {
        let mut usage = Usage::default();
        crate::json::parse(text, Builder::new(FileId(0), "t.json", limits, &mut usage))
    }

    pub(crate) fn yaml(text: &str) -> Result<Tree, InputError> {
        yaml_with(text, &Limits::default())
    }

    pub(crate) fn json(text: &str) -> Result<Tree, InputError> {
        json_with(text, &Limits::default())
    }

    fn err(result: Result<Tree, InputError>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    fn pos(line: u32, column: u32) -> Position {
        Position::new(line, column)
    }

    fn text(tree: &Tree, id: NodeId) -> &str {
        match &tree.node(id).value {
            Value::String(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn numbers_keep_their_text_and_convert() {
        let n = |t: &str| Number::new(t);
        assert_eq!(n("42").as_i64(), Some(42));
        assert_eq!(n("-42").as_i64(), Some(-42));
        assert_eq!(n("+7").as_u64(), Some(7));
        assert_eq!(n("-1").as_u64(), None);
        assert_eq!(n("0x1F").as_i64(), Some(31));
        assert_eq!(n("0o17").as_i64(), Some(15));
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").as_i64(), None);
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("1.5").as_i64(), None);
        assert_eq!(n("1.5").as_f64(), Some(1.5));
        assert_eq!(n("1e3").as_f64(), Some(1000.0));
        assert_eq!(n("-.inf").as_f64(), Some(f64::NEG_INFINITY));
        assert!(n(".nan").as_f64().is_some_and(f64::is_nan));
        assert_eq!(n("100000000000000000000000").as_f64(), Some(1e23));
        assert_eq!(n("0.10").as_str(), "0.10");
        assert!(n("12").is_integer() && n("0x1f").is_integer() && !n("1.0").is_integer());
    }

    #[test]
    fn pointer_tokens_unescape_in_order() {
        assert_eq!(unescape_token("a~1b").as_deref(), Some("a/b"));
        assert_eq!(unescape_token("a~0b").as_deref(), Some("a~b"));
        // `~01` is `~1` literally, not `/`.
        assert_eq!(unescape_token("~01").as_deref(), Some("~1"));
        assert_eq!(unescape_token("~2"), None);
        assert_eq!(unescape_token("a~"), None);
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
    }

    #[test]
    fn array_indices_follow_rfc_6901() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("12"), Some(12));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("-"), None);
        assert_eq!(array_index(""), None);
        assert_eq!(array_index("+1"), None);
    }

    #[test]
    fn values_resolve_by_the_yaml_core_schema() {
        let tree = yaml(
            "s: hello\nq: \"12\"\nn: 12\nf: 1.50\nb: true\nz: ~\ne:\nv: 3.0.3\nt: !!str 12\ny: yes\n",
        )
        .unwrap();
        let root = tree.root();
        let value = |k: &str| tree.node(tree.get(root, k).unwrap()).value.clone();
        assert_eq!(value("s"), Value::String("hello".into()));
        assert_eq!(value("q"), Value::String("12".into()));
        assert_eq!(value("n"), Value::Number(Number::new("12")));
        assert_eq!(value("f"), Value::Number(Number::new("1.50")));
        assert_eq!(value("b"), Value::Bool(true));
        assert_eq!(value("z"), Value::Null);
        assert_eq!(value("e"), Value::Null);
        assert_eq!(value("v"), Value::String("3.0.3".into()));
        assert_eq!(value("t"), Value::String("12".into()));
        assert_eq!(value("y"), Value::String("yes".into()));
    }

    #[test]
    fn spans_are_one_based_end_exclusive_and_count_characters() {
        let tree = yaml("a: \"x\"\nbé: [1, 22]\nc:\n  - d: e\n  - f\n\n# trailing\n").unwrap();
        let root = tree.root();
        let a = tree.get(root, "a").unwrap();
        assert_eq!(
            (tree.node(a).span.start, tree.node(a).span.end),
            (pos(1, 4), pos(1, 7))
        );
        let entry = tree.entry(root, "bé").unwrap();
        assert_eq!(
            (entry.key.span.start, entry.key.span.end),
            (pos(2, 1), pos(2, 3))
        );
        // Columns count characters: `[` is the 5th character of `bé: [1, 22]`.
        let flow = tree.node(entry.value);
        assert_eq!((flow.span.start, flow.span.end), (pos(2, 5), pos(2, 12)));
        let second = tree.index(entry.value, 1).unwrap();
        assert_eq!(tree.node(second).span.start, pos(2, 9));
        // A block collection ends with its last entry, not at the comment or the next key.
        let block = tree.node(tree.get(root, "c").unwrap());
        assert_eq!((block.span.start, block.span.end), (pos(4, 3), pos(5, 6)));
        assert_eq!(tree.node(root).span.end, pos(5, 6));
    }

    #[test]
    fn crlf_line_ends_count_as_one() {
        let tree = yaml("a: 1\r\nb: 2\r\n").unwrap();
        let b = tree.entry(tree.root(), "b").unwrap();
        assert_eq!(b.key.span.start, pos(2, 1));
    }

    #[test]
    fn keys_keep_their_text() {
        let tree = yaml("responses:\n  200: {description: ok}\n  true: x\n  '404': y\n").unwrap();
        let responses = tree.get(tree.root(), "responses").unwrap();
        assert!(tree.get(responses, "200").is_some());
        assert!(tree.get(responses, "true").is_some());
        assert!(tree.get(responses, "404").is_some());
        assert!(err(yaml("[a, b]: 1\n")).contains("t.yaml:1:1: mapping keys must be"));
    }

    #[test]
    fn lookups_by_key_index_and_json_pointer() {
        let tree = yaml(
            "a:\n  b/c: [x, {\"~k\": v}]\n  '': empty\nlist: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n",
        )
        .unwrap();
        let root = tree.root();
        let v = tree.pointer(root, "/a/b~1c/1/~0k").unwrap();
        assert_eq!(text(&tree, v), "v");
        assert_eq!(tree.pointer(root, ""), Some(root));
        assert_eq!(text(&tree, tree.pointer(root, "/a/").unwrap()), "empty");
        assert_eq!(
            tree.pointer(root, "/list/11")
                .map(|n| tree.node(n).span.start),
            Some(pos(4, 42))
        );
        assert_eq!(tree.pointer(root, "/list/12"), None);
        assert_eq!(tree.pointer(root, "/list/01"), None);
        assert_eq!(tree.pointer(root, "/list/-"), None);
        assert_eq!(tree.pointer(root, "a"), None);
        assert_eq!(tree.pointer(root, "/a/b~2c"), None);
        assert_eq!(
            tree.pointer_detail(root, "/a/nope/x")
                .unwrap_err()
                .to_string(),
            "there is no `nope` in `/a`"
        );
        assert_eq!(
            tree.pointer_detail(root, "/list/0/x")
                .unwrap_err()
                .to_string(),
            "`/list/0` is a number, not a mapping or sequence"
        );
        assert_eq!(tree.pointer_of(v), "/a/b~1c/1/~0k");
        assert_eq!(tree.pointer_of(root), "");
    }

    #[test]
    fn large_mappings_are_indexed() {
        let mut text = String::new();
        for i in (0..200).rev() {
            text.push_str(&format!("k{i}: {i}\n"));
        }
        let tree = yaml(&text).unwrap();
        let root = tree.root();
        for i in 0..200 {
            let value = tree.get(root, &format!("k{i}")).unwrap();
            assert_eq!(
                tree.node(value).value,
                Value::Number(Number::new(&i.to_string()))
            );
        }
        assert_eq!(tree.get(root, "k200"), None);
        // Document order is kept.
        let Value::Map(entries) = &tree.node(root).value else {
            panic!()
        };
        assert_eq!(&*entries[0].key.text, "k199");
    }

    /// Hostile input (a): bracket nesting far past any limit fails at a position, quickly.
    #[test]
    fn ten_thousand_nested_brackets_fail_with_a_position() {
        let start = Instant::now();
        let message = err(yaml(&"[".repeat(10_000)));
        assert_eq!(
            message,
            "t.yaml:1:256: brackets are nested more than 255 levels deep (the YAML parser's limit)"
        );
        let message = err(yaml(&"a: {".repeat(10_000)));
        assert!(
            message.starts_with("t.yaml:1:1024: brackets are nested"),
            "{message}"
        );
        let message = err(json(&"[".repeat(10_000)));
        assert_eq!(
            message,
            "t.json:1:1001: mappings and sequences are nested more than 1000 levels deep"
        );
        let message = err(json(&format!(
            "{}1{}",
            "{\"a\":".repeat(10_000),
            "}".repeat(10_000)
        )));
        assert!(
            message.starts_with("t.json:1:5001: mappings and sequences"),
            "{message}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    /// Hostile input (a): block nesting (no brackets) hits the depth limit, with a position.
    #[test]
    fn deep_block_nesting_fails_at_the_depth_limit() {
        let message = err(yaml(&format!("{}x", "- ".repeat(10_000))));
        assert_eq!(
            message,
            "t.yaml:1:2001: mappings and sequences are nested more than 1000 levels deep"
        );
        let mut text = String::new();
        for depth in 0..1_100 {
            text.push_str(&" ".repeat(depth));
            text.push_str("a:\n");
        }
        let message = err(yaml(&text));
        assert!(
            message.starts_with("t.yaml:1001:1001: mappings and sequences"),
            "{message}"
        );
    }

    /// Hostile input (a): with the limit raised, 100 000 levels load and drop on a thread with a
    /// small stack: nothing (parse, build, lookup, drop) recurses on depth.
    #[test]
    fn very_deep_trees_load_and_drop_without_recursion() {
        let limits = Limits {
            max_depth: 200_000,
            ..Limits::default()
        };
        let worker = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let depth = 100_000;
                let text = format!("{}7{}", "[".repeat(depth), "]".repeat(depth));
                let tree = json_with(&text, &limits).unwrap();
                assert_eq!(tree.len(), depth + 1);
                let pointer = "/0".repeat(depth);
                let leaf = tree.pointer(tree.root(), &pointer).unwrap();
                assert_eq!(tree.node(leaf).value, Value::Number(Number::new("7")));
                drop(tree);
                let text = format!("{}x", "- ".repeat(20_000));
                let tree = yaml_with(&text, &limits).unwrap();
                assert_eq!(tree.len(), 20_001);
                drop(tree);
            })
            .unwrap();
        worker.join().unwrap();
    }

    /// Hostile input (b): the billion laughs, 9 levels of 9 aliases, fails fast at a position.
    #[test]
    fn alias_bomb_fails_fast_with_a_position() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(",");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let start = Instant::now();
        let message = err(yaml(&text));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert!(
            message.contains("YAML aliases expand to more than 1000000 nodes (an alias bomb?)"),
            "{message}"
        );
        // Line 7 is where the copies would pass the budget: its first alias is refused.
        assert!(message.starts_with("t.yaml:7:8: "), "{message}");
    }

    #[test]
    fn aliases_are_copies_with_the_alias_span_on_top() {
        let tree = yaml("base: &b {x: [1, 2], y: z}\nuse: *b\n").unwrap();
        let root = tree.root();
        let copy = tree.get(root, "use").unwrap();
        assert_ne!(copy, tree.get(root, "base").unwrap());
        assert_eq!(tree.node(copy).span.start, pos(2, 6));
        let inner = tree.pointer(copy, "/x/1").unwrap();
        assert_eq!(tree.node(inner).span.start, pos(1, 18));
        assert_eq!(tree.pointer_of(inner), "/use/x/1");
        assert!(
            err(yaml("a: &a [1, *a]\n"))
                .contains("t.yaml:1:11: an alias cannot refer to a node that contains it")
        );
        let keys = yaml("k: &k name\n*k : v\n").unwrap();
        assert_eq!(text(&keys, keys.get(keys.root(), "name").unwrap()), "v");
    }

    #[test]
    fn alias_budget_counts_copies() {
        let limits = Limits {
            max_alias_nodes: 5,
            ..Limits::default()
        };
        assert!(yaml_with("a: &a [1, 2]\nb: *a\n", &limits).is_ok());
        let message = err(yaml_with("a: &a [1, 2]\nb: *a\nc: *a\n", &limits));
        assert!(
            message.starts_with("t.yaml:3:4: YAML aliases expand"),
            "{message}"
        );
    }

    #[test]
    fn merge_keys_fill_in_missing_entries() {
        let tree =
            yaml("base: &b {x: 1, y: 2}\nmore: &m {z: 3}\nm:\n  <<: [*b, *m]\n  y: own\n").unwrap();
        let m = tree.get(tree.root(), "m").unwrap();
        assert_eq!(text(&tree, tree.get(m, "y").unwrap()), "own");
        assert!(tree.get(m, "x").is_some() && tree.get(m, "z").is_some());
        assert!(tree.get(m, "<<").is_none());
        let quoted = yaml("'<<': 1\n").unwrap();
        assert!(quoted.get(quoted.root(), "<<").is_some());
        assert!(err(yaml("a:\n  <<: 1\n")).contains("t.yaml:2:7: a merge key"));
    }

    /// Hostile input (c).
    #[test]
    fn duplicate_keys_are_errors_at_the_second() {
        assert_eq!(
            err(yaml("a: 1\nb: 2\na: 3\n")),
            "t.yaml:3:1: duplicate key `a` (first at line 1, column 1)"
        );
        assert_eq!(
            err(yaml("x: {200: a, \"200\": b}\n")),
            "t.yaml:1:13: duplicate key `200` (first at line 1, column 5)"
        );
        let mut big: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        big.push_str("k42: again\nk7: again\n");
        assert_eq!(
            err(yaml(&big)),
            "t.yaml:101:1: duplicate key `k42` (first at line 43, column 1)"
        );
        assert_eq!(
            err(json("{\"a\": 1,\n \"a\": 2}")),
            "t.json:2:2: duplicate key `a` (first at line 1, column 2)"
        );
    }

    /// Hostile input (d): tabs, unterminated strings and other syntax errors are positioned.
    #[test]
    fn syntax_errors_are_positioned() {
        assert_eq!(
            err(yaml("a:\n\tb: 1\n")),
            "t.yaml:2:2: tabs disallowed within this context (block indentation)"
        );
        assert_eq!(
            err(yaml("a: \"unterminated\nb: 2\n")),
            "t.yaml:1:4: invalid indentation in quoted scalar"
        );
        assert_eq!(
            err(yaml("a: \"unterminated")),
            "t.yaml:1:4: while scanning a quoted scalar, found unexpected end of stream"
        );
        assert_eq!(
            err(yaml("a: 'x\n")),
            "t.yaml:1:4: while scanning a quoted scalar, found unexpected end of stream"
        );
        assert_eq!(
            err(yaml("a: b: c\n")),
            "t.yaml:1:5: mapping values are not allowed in this context"
        );
        assert_eq!(
            err(yaml("a: 1\n---\nb: 2\n")),
            "t.yaml:2:1: a contract file holds one YAML document; found a second `---`"
        );
        assert_eq!(
            err(yaml("a: !Ref x\n")),
            "t.yaml:1:4: unsupported YAML tag `!Ref` (contracts use plain JSON-compatible values)"
        );
        assert_eq!(
            err(yaml("a: !!binary aGk=\n")),
            "t.yaml:1:4: unsupported YAML tag `!!binary` (contracts use plain JSON-compatible values)"
        );
        assert_eq!(
            err(yaml("a: !!int x\n")),
            "t.yaml:1:4: `x` is not a valid !!int"
        );
        assert_eq!(
            err(json("{\"a\": \"open\n")),
            "t.json:1:12: the control character U+000A inside a string (escape it)"
        );
        assert_eq!(
            err(json("{\"a\": \"open")),
            "t.json:1:7: this string is never closed"
        );
        assert_eq!(
            err(json("[1, 2,]")),
            "t.json:1:7: `]` right after `,` (JSON has no trailing commas)"
        );
    }

    #[test]
    fn an_empty_file_is_null() {
        for tree in [
            yaml("").unwrap(),
            yaml("# only a comment\n").unwrap(),
            json("").unwrap(),
        ] {
            assert_eq!(tree.node(tree.root()).value, Value::Null);
            assert_eq!(tree.node(tree.root()).span.start, pos(1, 1));
        }
    }

    #[test]
    fn the_node_budget_stops_loading() {
        let limits = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        let message = err(yaml_with("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]", &limits));
        assert_eq!(
            message,
            "t.yaml:1:29: the contract has more than 10 nodes (the node limit)"
        );
    }
}
