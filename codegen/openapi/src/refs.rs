//! The files of one contract and the `$ref`s between them.
//!
//! A [`DocumentSet`] owns every file it has loaded and loads a referenced file the first time a
//! `$ref` needs it. Resolution is a lookup (`$ref` → the node it names), never an expansion, so
//! recursive schemas are fine; only a chain of objects that are nothing but `$ref`s and lead back
//! to themselves (A → B → A) is an error, since it names no value at all.
//!
//! References are URI references (RFC 3986) resolved against the base URI of the place they are
//! written: the file's `file://` URI, changed in OpenAPI 3.1 by enclosing `$id`s. So relative
//! paths, `..`, absolute paths, percent-encoding, 3.1's `$id` (even `https://…` ones) and
//! `$anchor` fragments all follow one rule. Only local files are read: a reference that names
//! neither a loaded `$id` nor a local file is refused with a positioned error, never fetched — a
//! diff in CI must not depend on the network, nor let a contract make the tool fetch URLs.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use contractor_core::{InputError, Location, Position, SourceText};

use crate::tree::{Builder, FileId, Limits, Node, NodeId, Span, Tree, Usage, Value};
use crate::uri::{self, Target};

/// How to load a contract.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// If set, a `$ref` may only reach files inside this directory (after following symlinks);
    /// `..` within it is fine. `None` allows any local file the process can read. A CI job that
    /// diffs untrusted pull requests should set this to the checkout, so that a contract cannot
    /// make findings quote files from elsewhere on the runner.
    pub confine_to: Option<PathBuf>,
    /// Leave `$ref`s to `http(s)` URLs unresolved instead of failing on them: [`DocumentSet::deref`]
    /// stops at such a reference object. For formats whose real documents point at published
    /// schemas (AsyncAPI); OpenAPI loading keeps this off.
    pub keep_remote_refs: bool,
    /// When a JSON pointer names nothing, try again reading unescaped `/`s inside keys as part
    /// of the key (`#/components/messages/a/b` for the key `a/b`, which should be `a~1b`). Real
    /// AsyncAPI documents have such pointers; OpenAPI loading keeps this off.
    pub join_unescaped_slashes: bool,
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    display: String,
    source: SourceText,
    tree: Tree,
}

impl SourceFile {
    /// The absolute path the file was reached by (lexically normalized, symlinks kept): the base
    /// for its relative `$ref`s, as URI resolution prescribes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path to show users: the root as given, other files relative to it.
    pub fn display(&self) -> &str {
        &self.display
    }

    pub fn source(&self) -> &SourceText {
        &self.source
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }
}

/// Every file of one contract, starting with the root document.
#[derive(Debug)]
pub struct DocumentSet {
    files: Vec<SourceFile>,
    /// Canonical (symlink-resolved) path → file, so a file reached twice is loaded once.
    by_canonical: HashMap<PathBuf, FileId>,
    /// Absolute path as reached → file: spares a `canonicalize` (several syscalls) per `$ref`.
    by_absolute: HashMap<PathBuf, FileId>,
    confine_to: Option<PathBuf>,
    keep_remote_refs: bool,
    join_unescaped_slashes: bool,
    limits: Limits,
    usage: Usage,
    /// Reference object → the node its `$ref` names (one step, not the end of a chain).
    resolved: HashMap<NodeId, NodeId>,
    /// Resolved `$id` (no fragment) → the mapping declaring it. First declaration wins.
    ids: HashMap<String, NodeId>,
    /// Resolved base URI + `#` + `$anchor` → the mapping declaring it.
    anchors: HashMap<String, NodeId>,
    /// Per file, the base URI of each of its `$id` scopes (parallel to `Tree::ids`).
    scope_bases: Vec<Vec<String>>,
    pub(crate) version: Option<crate::Version>,
}

impl DocumentSet {
    fn empty(options: Options) -> Result<Self, InputError> {
        let confine_to = match options.confine_to {
            None => None,
            Some(dir) => Some(fs::canonicalize(&dir).map_err(|e| {
                InputError::new(format!(
                    "cannot use {} as the contract root: {e}",
                    dir.display()
                ))
            })?),
        };
        Ok(DocumentSet {
            files: Vec::new(),
            by_canonical: HashMap::new(),
            by_absolute: HashMap::new(),
            confine_to,
            keep_remote_refs: options.keep_remote_refs,
            join_unescaped_slashes: options.join_unescaped_slashes,
            limits: options.limits,
            usage: Usage::default(),
            resolved: HashMap::new(),
            ids: HashMap::new(),
            anchors: HashMap::new(),
            scope_bases: Vec::new(),
            version: None,
        })
    }

    /// Reads and parses the root document only; referenced files load when first resolved.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Self, InputError> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let cannot =
            |e: std::io::Error| InputError::in_file(&display, format!("cannot read the file: {e}"));
        let absolute = std::path::absolute(path)
            .map(|p| normalize(&p))
            .map_err(cannot)?;
        let canonical = fs::canonicalize(&absolute).map_err(cannot)?;
        let mut set = Self::empty(options)?;
        if let Some(dir) = &set.confine_to
            && !canonical.starts_with(dir)
        {
            return Err(InputError::in_file(
                display,
                format!("the file is outside {}", dir.display()),
            ));
        }
        let text = read_text(&canonical, &display, set.size_budget()).map_err(|e| match e {
            ReadError::Whole(message) => InputError::in_file(&display, message),
            ReadError::Input(e) => e,
        })?;
        set.add_file(absolute, canonical, display, text)?;
        Ok(set)
    }

    /// Builds a set from the root document's text in memory (tests, contracts read from git
    /// objects). `$ref`s to other files resolve against `path`'s directory on disk.
    pub fn from_text(
        path: impl AsRef<Path>,
        text: &str,
        options: Options,
    ) -> Result<Self, InputError> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let absolute = std::path::absolute(path)
            .map(|p| normalize(&p))
            .unwrap_or_else(|_| path.to_path_buf());
        let mut set = Self::empty(options)?;
        if text.len() as u64 > set.remaining_bytes() {
            return Err(InputError::in_file(
                display,
                format!(
                    "the contract is larger than {} bytes (the size limit)",
                    set.limits.max_bytes
                ),
            ));
        }
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text).to_owned();
        set.add_file(absolute.clone(), absolute, display, text)?;
        Ok(set)
    }

    /// The limits this set loads under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The version `openapi` declares, once [`crate::load`] has checked it.
    pub fn version(&self) -> Option<crate::Version> {
        self.version
    }

    pub fn root_file(&self) -> FileId {
        FileId(0)
    }

    /// The top node of the root document.
    pub fn root(&self) -> NodeId {
        self.tree(self.root_file()).root()
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    /// Every loaded file, the root first, then in the order `$ref`s loaded them.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn tree(&self, id: FileId) -> &Tree {
        &self.file(id).tree
    }

    pub fn node(&self, id: NodeId) -> &Node {
        self.tree(id.file()).node(id)
    }

    /// The value of `key` if `map` is a mapping that has it.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.tree(map.file()).get(map, key)
    }

    /// The node at a JSON pointer below `from`, in `from`'s file (no `$ref` is followed).
    pub fn pointer(&self, from: NodeId, pointer: &str) -> Option<NodeId> {
        self.tree(from.file()).pointer(from, pointer)
    }

    /// The JSON pointer of `node` inside its file. O(size of the file): for messages.
    pub fn pointer_of(&self, node: NodeId) -> String {
        self.tree(node.file()).pointer_of(node)
    }

    pub fn location(&self, node: NodeId) -> Location {
        self.span_location(self.node(node).span)
    }

    /// The location of any span of the set (a node's, or a mapping key's).
    pub fn span_location(&self, span: Span) -> Location {
        Location::new(self.file(span.file).display(), span.start, span.end)
    }

    /// An input error at `node`.
    pub fn error_at(&self, node: NodeId, message: impl Into<String>) -> InputError {
        let span = self.node(node).span;
        InputError::at(self.file(span.file).display(), span.start, message)
    }

    /// If `node` is a reference object (a mapping with a string `$ref`): the `$ref` value node,
    /// for positions, and its text.
    pub fn reference(&self, node: NodeId) -> Option<(NodeId, &str)> {
        if !matches!(self.node(node).value, Value::Map(_)) {
            return None;
        }
        let value = self.get(node, "$ref")?;
        match &self.node(value).value {
            Value::String(text) => Some((value, text)),
            _ => None,
        }
    }

    /// What reference object `node` resolved to, if it was resolved before (by
    /// [`DocumentSet::deref`] or [`DocumentSet::resolve_all`]). One step of a chain.
    pub fn resolved(&self, node: NodeId) -> Option<NodeId> {
        self.resolved.get(&node).copied()
    }

    /// Whether JSON Schema identifiers (`$id`, `$anchor`) take part in resolution: in 3.1, and
    /// before the version is known; OpenAPI 3.0 schemas have neither.
    fn uses_schema_ids(&self) -> bool {
        !matches!(self.version, Some(v) if v.minor == 0)
    }

    /// The base URI of `node`: its file's `file://` URI, changed by every enclosing `$id` in 3.1.
    pub fn base_uri(&self, node: NodeId) -> String {
        self.scoped_base(node, self.uses_schema_ids())
    }

    fn scoped_base(&self, node: NodeId, with_ids: bool) -> String {
        let file = self.file(node.file());
        if with_ids
            && let Some(scope) = file.tree.id_scope(node)
            && let Some(base) = self
                .scope_bases
                .get(node.file().index())
                .and_then(|bases| bases.get(scope))
        {
            return base.clone();
        }
        uri::from_path(&file.path)
    }

    /// Indexes a new file's `$id`s and `$anchor`s. Scopes come in pre-order, so each one's
    /// parent base is known before it.
    fn index_schema_ids(&mut self, file: FileId) {
        let source = &self.files[file.index()];
        let file_uri = uri::from_path(&source.path);
        let tree = &source.tree;
        let mut bases: Vec<String> = Vec::with_capacity(tree.ids.len());
        for scope in &tree.ids {
            let parent = scope
                .parent
                .map_or(file_uri.as_str(), |p| bases[p].as_str());
            let resolved = uri::resolve(parent, &scope.id);
            let (resource, _) = uri::split_fragment(&resolved);
            bases.push(resource.to_owned());
        }
        for (scope, base) in tree.ids.iter().zip(&bases) {
            let node = NodeId {
                file,
                index: scope.index,
            };
            self.ids.entry(base.clone()).or_insert(node);
        }
        for (index, name) in &tree.anchors {
            let node = NodeId {
                file,
                index: *index,
            };
            let base = tree
                .id_scope(node)
                .map_or(file_uri.as_str(), |s| bases[s].as_str());
            self.anchors.entry(format!("{base}#{name}")).or_insert(node);
        }
        if self.scope_bases.len() <= file.index() {
            self.scope_bases.resize_with(file.index() + 1, Vec::new);
        }
        self.scope_bases[file.index()] = bases;
    }

    /// The node a `$ref` string names, read at `from` (relative references resolve against
    /// `from`'s base URI; errors point at `from`). Handles `#/json/pointer`, `other.yaml`,
    /// `other.yaml#/pointer`, `../dir/x.json#/a~1b`, percent-encoding (`%7B`), and in 3.1
    /// `$id` URIs and `#anchor` fragments.
    pub fn resolve(&mut self, from: NodeId, reference: &str) -> Result<NodeId, InputError> {
        let fail = |set: &Self, message: &str| {
            set.error_at(from, format!("$ref `{reference}`: {message}"))
        };
        let target = uri::resolve(&self.base_uri(from), reference);
        let (resource, fragment) = uri::split_fragment(&target);
        if self.uses_schema_ids()
            && let Some(&node) = self.ids.get(resource)
        {
            return self.fragment(from, reference, resource, node, fragment);
        }
        let path = match uri::target(resource) {
            Ok(Target::File(path)) => path,
            Ok(Target::Remote) => {
                return Err(fail(
                    self,
                    "remote references are never fetched; save the file and refer to it by a relative path",
                ));
            }
            Ok(Target::Unsupported(scheme)) => {
                return Err(fail(
                    self,
                    &format!("`{scheme}:` references are not supported; use a relative path"),
                ));
            }
            Err(message) => return Err(fail(self, &message)),
        };
        let file = self.load_path(from, reference, path)?;
        let root = self.tree(file).root();
        self.fragment(from, reference, resource, root, fragment)
    }

    /// Applies a fragment (JSON pointer or, in 3.1, anchor name) to the resource at `node`.
    fn fragment(
        &self,
        from: NodeId,
        reference: &str,
        resource: &str,
        node: NodeId,
        fragment: Option<&str>,
    ) -> Result<NodeId, InputError> {
        let fail = |message: String| self.error_at(from, format!("$ref `{reference}`: {message}"));
        let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
            return Ok(node);
        };
        let fragment = uri::percent_decode(fragment).map_err(fail)?;
        if fragment.starts_with('/') {
            let tree = self.tree(node.file());
            return match tree.pointer_detail(node, &fragment) {
                Ok(found) => Ok(found),
                // `#/components/…` inside a schema with an `$id` is meant for the document in
                // practice (strictly it names a place inside that schema); accept both.
                Err(e) => match tree.pointer_detail(tree.root(), &fragment) {
                    Ok(found) if node != tree.root() => Ok(found),
                    _ if self.join_unescaped_slashes
                        && let Some(found) = pointer_joining_slashes(tree, node, &fragment) =>
                    {
                        Ok(found)
                    }
                    _ => {
                        let place = if node.file() == from.file() {
                            String::new()
                        } else {
                            format!(" of {}", self.file(node.file()).display())
                        };
                        Err(fail(format!("names nothing: {e}{place}")))
                    }
                },
            };
        }
        if !self.uses_schema_ids() {
            return Err(fail(format!(
                "`#{fragment}` is not a JSON pointer (OpenAPI 3.0 has no anchors)"
            )));
        }
        self.anchors
            .get(&format!("{resource}#{fragment}"))
            .copied()
            .ok_or_else(|| fail(format!("no schema declares `$anchor: {fragment}` there")))
    }

    /// Whether `reference`, written at `from`, names an `http(s)` resource.
    fn is_remote(&self, from: NodeId, reference: &str) -> bool {
        let target = uri::resolve(&self.base_uri(from), reference);
        let (resource, _) = uri::split_fragment(&target);
        if self.uses_schema_ids() && self.ids.contains_key(resource) {
            return false;
        }
        matches!(uri::target(resource), Ok(Target::Remote))
    }

    /// Follows `$ref`s from `node` until a node that is not a reference object. A chain that
    /// comes back to itself is an error at the `$ref` where it closes.
    pub fn deref(&mut self, node: NodeId) -> Result<NodeId, InputError> {
        let mut seen = HashSet::new();
        let mut chain: Vec<(NodeId, String)> = Vec::new();
        let mut at = node;
        while let Some((value, text)) = self.reference(at) {
            if !seen.insert(at) {
                let start = chain.iter().position(|(n, _)| *n == at).unwrap_or(0);
                let steps: Vec<String> = chain[start..]
                    .iter()
                    .map(|(_, t)| format!("`{t}`"))
                    .collect();
                return Err(self.error_at(
                    value,
                    format!(
                        "$ref cycle: {} leads back here without naming a value",
                        steps.join(" -> ")
                    ),
                ));
            }
            let text = text.to_owned();
            if self.keep_remote_refs
                && !self.resolved.contains_key(&at)
                && self.is_remote(value, &text)
            {
                break;
            }
            let next = match self.resolved.get(&at) {
                Some(&target) => target,
                None => {
                    let target = self.resolve(value, &text)?;
                    self.resolved.insert(at, target);
                    target
                }
            };
            chain.push((at, text));
            at = next;
        }
        Ok(at)
    }
    /// Resolves every `$ref` reachable from the root document, loading files as needed, and
    /// returns how many reference objects it met. Fails on the first broken or cyclic one.
    ///
    /// Without a typed model this walk cannot know for sure which mappings are data. It skips
    /// what is data in every OpenAPI version (`example`, `default`, `enum`, `const`, an
    /// Example's `value`, a schema's `examples` list, `x-` extensions), so a payload example that
    /// happens to contain `$ref` is not taken for a reference; keys of mappings whose keys are
    /// names (`properties`, `schemas`, `paths`, ...) are never taken for keywords.
    pub fn resolve_all(&mut self) -> Result<usize, InputError> {
        let mut visited: Vec<Vec<bool>> = Vec::new();
        let mark = |set: &Self, visited: &mut Vec<Vec<bool>>, id: NodeId| -> bool {
            if visited.len() <= id.file().index() {
                visited.resize_with(set.files.len(), Vec::new);
            }
            let bits = &mut visited[id.file().index()];
            if bits.is_empty() {
                *bits = vec![false; set.tree(id.file()).len()];
            }
            !std::mem::replace(&mut bits[id.index()], true)
        };
        let root = self.root();
        mark(self, &mut visited, root);
        let mut stack = vec![(root, false)];
        let mut count = 0;
        while let Some((id, names)) = stack.pop() {
            if self.reference(id).is_some() {
                count += 1;
                let target = self.deref(id)?;
                if mark(self, &mut visited, target) {
                    stack.push((target, false));
                }
            }
            match &self.node(id).value {
                Value::Seq(items) => {
                    for &item in items.iter() {
                        if mark(self, &mut visited, item) {
                            stack.push((item, false));
                        }
                    }
                }
                Value::Map(entries) => {
                    for entry in entries.iter() {
                        let key = &*entry.key.text;
                        let child = &self.node(entry.value).value;
                        if !names && is_data_key(key, child) {
                            continue;
                        }
                        let child_names = !names && is_names_key(key, child);
                        if mark(self, &mut visited, entry.value) {
                            stack.push((entry.value, child_names));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(count)
    }

    /// Loads (once) the local file a reference names.
    fn load_path(
        &mut self,
        from: NodeId,
        reference: &str,
        path: PathBuf,
    ) -> Result<FileId, InputError> {
        let absolute = normalize(&path);
        if let Some(&id) = self.by_absolute.get(&absolute) {
            return Ok(id);
        }
        let display = self.display_for(&absolute);
        let fail = |set: &Self, message: String| {
            set.error_at(from, format!("$ref `{reference}`: {message}"))
        };
        let canonical = match fs::canonicalize(&absolute) {
            Ok(canonical) => canonical,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(fail(self, format!("there is no file {display}")));
            }
            Err(e) => return Err(fail(self, format!("cannot read {display}: {e}"))),
        };
        if let Some(&id) = self.by_canonical.get(&canonical) {
            self.by_absolute.insert(absolute, id);
            return Ok(id);
        }
        if let Some(dir) = &self.confine_to
            && !canonical.starts_with(dir)
        {
            let message = format!(
                "{display} is outside {}, the directory references are confined to",
                dir.display()
            );
            return Err(fail(self, message));
        }
        let text = match read_text(&canonical, &display, self.size_budget()) {
            Ok(text) => text,
            // Problems with the file as a whole are reported at the `$ref`, where the user can
            // act on them; errors at a position inside the file stay there.
            Err(ReadError::Whole(message)) => {
                return Err(fail(self, format!("{display}: {message}")));
            }
            Err(ReadError::Input(e)) => return Err(e),
        };
        self.add_file(absolute, canonical, display, text)
    }

    /// The display path of a file: relative to the root document's directory, joined to the
    /// directory the user gave the root in (`specs/shared/errors.yaml` for a root given as
    /// `specs/api.yaml`).
    fn display_for(&self, absolute: &Path) -> String {
        let Some(root) = self.files.first() else {
            return absolute.display().to_string();
        };
        let root_dir = root.path.parent().unwrap_or(Path::new("/"));
        let display_dir = Path::new(&root.display).parent().unwrap_or(Path::new(""));
        let from: Vec<Component> = root_dir.components().collect();
        let to: Vec<Component> = absolute.components().collect();
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        let mut relative = display_dir.to_path_buf();
        for _ in common..from.len() {
            relative.push("..");
        }
        for component in &to[common..] {
            relative.push(component);
        }
        normalize(&relative).display().to_string()
    }

    fn remaining_bytes(&self) -> u64 {
        self.limits.max_bytes.saturating_sub(self.usage.bytes)
    }

    fn size_budget(&self) -> SizeBudget {
        SizeBudget {
            remaining: self.remaining_bytes(),
            max: self.limits.max_bytes,
        }
    }

    fn add_file(
        &mut self,
        absolute: PathBuf,
        canonical: PathBuf,
        display: String,
        text: String,
    ) -> Result<FileId, InputError> {
        let id = FileId(
            u32::try_from(self.files.len())
                .map_err(|_| InputError::in_file(&display, "too many files in one contract"))?,
        );
        self.usage.bytes += text.len() as u64;
        let json = crate::json::looks_like_json(&canonical, &text);
        let builder = Builder::new(id, &display, &self.limits, &mut self.usage);
        let tree = if json {
            crate::json::parse(&text, builder)?
        } else {
            crate::yaml::parse(&text, builder)?
        };
        self.by_canonical.insert(canonical, id);
        self.by_absolute.insert(absolute.clone(), id);
        self.files.push(SourceFile {
            path: absolute,
            display,
            source: SourceText::new(text),
            tree,
        });
        self.index_schema_ids(id);
        Ok(id)
    }
}

/// Keys whose values are data in every OpenAPI version, whatever they contain.
fn is_data_key(key: &str, value: &Value) -> bool {
    match key {
        "example" | "default" | "enum" | "const" | "value" => true,
        // A schema's `examples` is a list of data; elsewhere it maps names to Example objects.
        "examples" => matches!(value, Value::Seq(_)),
        _ => key.starts_with("x-"),
    }
}

/// Walks `pointer` from `start`, taking a run of segments joined by `/` as one key where the
/// single segment names nothing (the shortest run that names something). Bounded by the number
/// of segments squared.
fn pointer_joining_slashes(tree: &Tree, start: NodeId, pointer: &str) -> Option<NodeId> {
    let tokens: Vec<String> = pointer
        .strip_prefix('/')?
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut at = start;
    let mut i = 0;
    while i < tokens.len() {
        match &tree.node(at).value {
            Value::Seq(items) => {
                at = *items.get(tokens[i].parse::<usize>().ok()?)?;
                i += 1;
            }
            Value::Map(_) => {
                let (next, used) = (i + 1..=tokens.len())
                    .find_map(|j| tree.get(at, &tokens[i..j].join("/")).map(|n| (n, j)))?;
                at = next;
                i = used;
            }
            _ => return None,
        }
    }
    Some(at)
}

/// Keys whose mapping values have names, not keywords, as keys.
fn is_names_key(key: &str, value: &Value) -> bool {
    matches!(value, Value::Map(_))
        && matches!(
            key,
            "paths"
                | "webhooks"
                | "properties"
                | "patternProperties"
                | "dependentSchemas"
                | "$defs"
                | "definitions"
                | "schemas"
                | "responses"
                | "parameters"
                | "requestBodies"
                | "headers"
                | "securitySchemes"
                | "links"
                | "callbacks"
                | "pathItems"
                | "examples"
                | "encoding"
                | "content"
                | "variables"
                | "mapping"
                | "scopes"
        )
}

enum ReadError {
    /// About the file as a whole.
    Whole(String),
    /// At a position inside the file.
    Input(InputError),
}

/// What is left of [`Limits::max_bytes`], for messages and for reading.
#[derive(Debug, Clone, Copy)]
struct SizeBudget {
    remaining: u64,
    max: u64,
}

impl SizeBudget {
    fn refuse(self, size: Option<u64>) -> ReadError {
        let size = size.map_or_else(|| "more bytes".to_owned(), |n| format!("{n} bytes"));
        ReadError::Whole(if self.remaining == self.max {
            format!(
                "the file has {size}, over the size limit of {} bytes",
                self.max
            )
        } else {
            format!(
                "the file has {size}, over the {} bytes left of the size limit of {} bytes",
                self.remaining, self.max
            )
        })
    }
}

/// Reads a regular file within the budget as UTF-8 (a leading BOM is dropped). Whole-file
/// problems come back without the path; callers say which file.
fn read_text(path: &Path, display: &str, budget: SizeBudget) -> Result<String, ReadError> {
    let io = |e: std::io::Error| ReadError::Whole(format!("cannot read the file: {e}"));
    let file = fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(ReadError::Whole("not a regular file".to_owned()));
    }
    if metadata.len() > budget.remaining {
        return Err(budget.refuse(Some(metadata.len())));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // `take` guards against files that grow while being read.
    file.take(budget.remaining.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > budget.remaining {
        return Err(budget.refuse(None));
    }
    decode(bytes, display).map_err(ReadError::Input)
}

/// UTF-8 text, or a positioned error at the first bad byte.
pub(crate) fn decode(mut bytes: Vec<u8>, display: &str) -> Result<String, InputError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(InputError::at(
            display,
            Position::new(1, 1),
            "the file is UTF-16; contracts must be UTF-8",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let bad = bytes.get(valid).copied().unwrap_or(0);
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let position = SourceText::new(prefix).position(valid);
        InputError::at(
            display,
            position,
            format!("invalid UTF-8 (byte 0x{bad:02X}); contracts must be UTF-8"),
        )
    })
}

/// Removes `.` and `..` lexically, as URI resolution does (`..` above the root stays at the root).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap();
        path
    }

    fn open(path: &Path) -> DocumentSet {
        DocumentSet::open(path, Options::default()).unwrap()
    }

    /// Follows the reference object at `pointer` in the root document.
    fn deref_at(set: &mut DocumentSet, pointer: &str) -> Result<NodeId, InputError> {
        let node = set.pointer(set.root(), pointer).unwrap();
        set.deref(node)
    }

    fn string(set: &DocumentSet, node: NodeId) -> String {
        match &set.node(node).value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => format!("{other:?}"),
        }
    }

    fn error(result: Result<NodeId, InputError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn every_reference_form_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "specs/api.yaml",
            "local: {$ref: '#/components/schemas/Pet/type'}\n\
             whole: {$ref: other.yaml}\n\
             pointer: {$ref: 'other.yaml#/defs/Thing'}\n\
             up: {$ref: '../shared/x.json#/a~1b'}\n\
             encoded: {$ref: '#/paths/~1pets~1%7BpetId%7D/get'}\n\
             spaced: {$ref: 'my%20file.yaml#/v'}\n\
             absolute: {$ref: 'ABS#/v'}\n\
             paths:\n  /pets/{petId}: {get: found}\n\
             components: {schemas: {Pet: {type: object}}}\n",
        );
        let absolute = write(dir.path(), "elsewhere/abs.yaml", "v: absolute\n");
        let text = fs::read_to_string(&root).unwrap();
        fs::write(&root, text.replace("ABS", &absolute.display().to_string())).unwrap();
        write(dir.path(), "specs/other.yaml", "defs:\n  Thing: thing\n");
        write(dir.path(), "specs/my file.yaml", "v: spaced\n");
        write(dir.path(), "shared/x.json", "{\"a/b\": 42}");
        let mut set = open(&root);
        let mut get = |p: &str| {
            let node = deref_at(&mut set, p).unwrap();
            string(&set, node)
        };
        assert_eq!(get("/local"), "object");
        assert_eq!(get("/pointer"), "thing");
        assert_eq!(get("/up"), "42");
        assert_eq!(get("/encoded"), "found");
        assert_eq!(get("/spaced"), "spaced");
        assert_eq!(get("/absolute"), "absolute");
        let whole = deref_at(&mut set, "/whole").unwrap();
        assert_eq!(set.pointer_of(whole), "");
        assert!(matches!(set.node(whole).value, Value::Map(_)));
        // Display paths are relative to where the user put the root, without `..` detours.
        let shown: Vec<&str> = set.files().map(|(_, f)| f.display()).collect();
        let base = dir.path().display().to_string();
        assert_eq!(
            shown,
            [
                format!("{base}/specs/api.yaml"),
                format!("{base}/specs/other.yaml"),
                format!("{base}/shared/x.json"),
                format!("{base}/specs/my file.yaml"),
                format!("{base}/elsewhere/abs.yaml"),
            ]
        );
        let up = deref_at(&mut set, "/up").unwrap();
        let location = set.location(up);
        assert_eq!(location.to_string(), format!("{base}/shared/x.json:1:9"));
        assert_eq!(location.end, Position::new(1, 11));
    }

    #[test]
    fn display_paths_follow_the_root_as_given() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "specs/api.yaml",
            "a: {$ref: '../common/e.yaml'}\n",
        );
        write(dir.path(), "common/e.yaml", "e: 1\n");
        let cwd = std::env::current_dir().unwrap();
        let relative = pathdiff(&cwd, &dir.path().join("specs/api.yaml"));
        let mut set = open(&relative);
        deref_at(&mut set, "/a").unwrap();
        let shown: Vec<String> = set.files().map(|(_, f)| f.display().to_owned()).collect();
        let expected = normalize(&relative.parent().unwrap().join("../common/e.yaml"));
        assert_eq!(shown[1], expected.display().to_string());
        assert!(!shown[1].contains("specs/.."));
    }

    /// A relative path from `from` (a directory) to `to`, both absolute.
    fn pathdiff(from: &Path, to: &Path) -> PathBuf {
        let from: Vec<Component> = from.components().collect();
        let to: Vec<Component> = to.components().collect();
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        let mut out = PathBuf::new();
        for _ in common..from.len() {
            out.push("..");
        }
        for c in &to[common..] {
            out.push(c);
        }
        out
    }

    #[test]
    fn broken_references_are_errors_at_the_ref() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "remote: {$ref: 'https://example.com/x.yaml#/a'}\n\
             network: {$ref: '//example.com/x.yaml'}\n\
             urn: {$ref: 'urn:uuid:123'}\n\
             missing: {$ref: missing.yaml}\n\
             nothing: {$ref: '#/components/schemas/Nope'}\n\
             elsewhere: {$ref: 'other.yaml#/a/b'}\n\
             scalar: {$ref: '#/x/y'}\n\
             name: {$ref: '#Pet'}\n\
             bad: {$ref: '#/a%zz'}\n\
             query: {$ref: 'other.yaml?v=1'}\n\
             dir: {$ref: sub}\n\
             x: 1\n\
             components: {schemas: {}}\n",
        );
        write(dir.path(), "other.yaml", "a: {c: 1}\n");
        fs::create_dir(dir.path().join("sub")).unwrap();
        let mut set = open(&root);
        let path = root.display().to_string();
        let e = |set: &mut DocumentSet, p: &str| error(deref_at(set, p));
        assert_eq!(
            e(&mut set, "/remote"),
            format!(
                "{path}:1:16: $ref `https://example.com/x.yaml#/a`: remote references are never \
                 fetched; save the file and refer to it by a relative path"
            )
        );
        assert!(e(&mut set, "/network").contains("remote references are never fetched"));
        assert!(
            e(&mut set, "/urn")
                .ends_with("`urn:` references are not supported; use a relative path")
        );
        let other = dir.path().join("missing.yaml").display().to_string();
        assert_eq!(
            e(&mut set, "/missing"),
            format!("{path}:4:17: $ref `missing.yaml`: there is no file {other}")
        );
        assert_eq!(
            e(&mut set, "/nothing"),
            format!(
                "{path}:5:17: $ref `#/components/schemas/Nope`: names nothing: there is no \
                 `Nope` in `/components/schemas`"
            )
        );
        let other = dir.path().join("other.yaml").display().to_string();
        assert!(e(&mut set, "/elsewhere").ends_with(&format!(
            "names nothing: there is no `b` in `/a` of {other}"
        )));
        assert!(e(&mut set, "/scalar").ends_with("`/x` is a number, not a mapping or sequence"));
        assert!(e(&mut set, "/name").contains("no schema declares `$anchor: Pet`"));
        assert!(e(&mut set, "/bad").contains("bad percent-encoding"));
        assert!(e(&mut set, "/query").contains("query strings are not supported"));
        assert!(e(&mut set, "/dir").ends_with("/sub: not a regular file"));
    }

    #[test]
    fn cycles_of_pure_references_are_errors_and_recursion_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "components:\n  schemas:\n    Node:\n      properties:\n        next: {$ref: '#/components/schemas/Node'}\n\
             \x20       other: {$ref: 'b.yaml#/B'}\n\
             a: {$ref: '#/b'}\n\
             b: {$ref: '#/a'}\n\
             self: {$ref: '#/self'}\n\
             far: {$ref: 'b.yaml#/back'}\n",
        );
        write(
            dir.path(),
            "b.yaml",
            "B: {properties: {up: {$ref: 'api.yaml#/components/schemas/Node'}}}\nback: {$ref: 'api.yaml#/far'}\n",
        );
        let mut set = open(&root);
        let path = root.display().to_string();
        // Recursive schemas resolve: a reference is a lookup.
        let next = deref_at(&mut set, "/components/schemas/Node/properties/next").unwrap();
        assert_eq!(set.pointer_of(next), "/components/schemas/Node");
        let other = deref_at(&mut set, "/components/schemas/Node/properties/other").unwrap();
        assert_eq!(set.pointer_of(other), "/B");
        assert_eq!(
            error(deref_at(&mut set, "/a")),
            format!(
                "{path}:7:11: $ref cycle: `#/b` -> `#/a` leads back here without naming a value"
            )
        );
        assert_eq!(
            error(deref_at(&mut set, "/self")),
            format!("{path}:9:14: $ref cycle: `#/self` leads back here without naming a value")
        );
        let message = error(deref_at(&mut set, "/far"));
        assert!(
            message.contains("$ref cycle: `b.yaml#/back` -> `api.yaml#/far` leads back"),
            "{message}"
        );
        // The walk over everything reachable reports the first pure cycle.
        assert!(
            set.resolve_all()
                .unwrap_err()
                .to_string()
                .contains("$ref cycle")
        );
    }

    #[test]
    fn a_file_reached_by_several_paths_loads_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "a: {$ref: other.yaml}\nb: {$ref: ./other.yaml}\nc: {$ref: 'sub/../other.yaml'}\nd: {$ref: link.yaml}\n",
        );
        write(dir.path(), "other.yaml", "x: 1\n");
        fs::create_dir(dir.path().join("sub")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("other.yaml"), dir.path().join("link.yaml"))
            .unwrap();
        #[cfg(not(unix))]
        write(dir.path(), "link.yaml", "x: 1\n");
        let mut set = open(&root);
        let targets: Vec<NodeId> = ["/a", "/b", "/c", "/d"]
            .iter()
            .map(|p| deref_at(&mut set, p).unwrap())
            .collect();
        if cfg!(unix) {
            assert!(targets.iter().all(|&t| t == targets[0]));
            assert_eq!(set.files().count(), 2);
        }
    }

    #[test]
    fn references_can_be_confined_to_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "specs/api.yaml",
            "in: {$ref: 'sub/x.yaml'}\nout: {$ref: '../secret.yaml'}\n",
        );
        write(dir.path(), "specs/sub/x.yaml", "x: 1\n");
        write(dir.path(), "secret.yaml", "token: hunter2\n");
        let options = Options {
            confine_to: Some(dir.path().join("specs")),
            ..Options::default()
        };
        let mut set = DocumentSet::open(&root, options).unwrap();
        assert!(deref_at(&mut set, "/in").is_ok());
        let message = error(deref_at(&mut set, "/out"));
        assert!(
            message.contains(":2:13: $ref `../secret.yaml`: "),
            "{message}"
        );
        assert!(
            message.contains("the directory references are confined to"),
            "{message}"
        );
        assert_eq!(set.files().count(), 2);
    }

    #[test]
    fn the_walk_resolves_structure_and_skips_data() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "components:\n\
             \x20 schemas:\n\
             \x20   Pet:\n\
             \x20     properties:\n\
             \x20       example: {$ref: '#/components/schemas/Tag'}\n\
             \x20       default: {$ref: 'tag.yaml'}\n\
             \x20     example: {$ref: 'not-a-file.yaml'}\n\
             \x20     default: {$ref: 'not-a-file.yaml'}\n\
             \x20     enum: [{$ref: 'not-a-file.yaml'}]\n\
             \x20     examples: [{$ref: 'not-a-file.yaml'}]\n\
             \x20     x-vendor: {$ref: 'not-a-file.yaml'}\n\
             \x20   Tag: {type: string}\n\
             \x20 examples:\n\
             \x20   one: {$ref: 'tag.yaml#/example'}\n\
             \x20   two: {value: {$ref: 'not-a-file.yaml'}}\n",
        );
        write(
            dir.path(),
            "tag.yaml",
            "type: string\nexample: {value: 1}\n",
        );
        let mut set = open(&root);
        assert_eq!(set.resolve_all().unwrap(), 3);
        assert_eq!(set.files().count(), 2);
    }

    #[test]
    fn schema_ids_and_anchors_resolve_in_3_1() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "components:\n\
             \x20 schemas:\n\
             \x20   Pet:\n\
             \x20     $id: https://example.com/schemas/pet\n\
             \x20     properties:\n\
             \x20       name: {$anchor: petName, type: string}\n\
             \x20       tag: {$ref: tag}\n\
             \x20       up: {$ref: '#/components/schemas/Tag'}\n\
             \x20   Tag:\n\
             \x20     $id: https://example.com/schemas/tag\n\
             \x20     type: integer\n\
             \x20   Local:\n\
             \x20     $id: /local/thing\n\
             \x20     $anchor: here\n\
             uses:\n\
             \x20 byId: {$ref: 'https://example.com/schemas/pet'}\n\
             \x20 pointer: {$ref: 'https://example.com/schemas/pet#/properties/name'}\n\
             \x20 anchor: {$ref: 'https://example.com/schemas/pet#petName'}\n\
             \x20 relative: {$ref: '/local/thing#here'}\n",
        );
        let mut set = open(&root);
        let mut at = |p: &str| {
            let node = deref_at(&mut set, p).unwrap();
            set.pointer_of(node)
        };
        assert_eq!(at("/uses/byId"), "/components/schemas/Pet");
        assert_eq!(
            at("/uses/pointer"),
            "/components/schemas/Pet/properties/name"
        );
        assert_eq!(
            at("/uses/anchor"),
            "/components/schemas/Pet/properties/name"
        );
        assert_eq!(at("/uses/relative"), "/components/schemas/Local");
        // `tag` is relative to Pet's `$id`: https://example.com/schemas/tag.
        assert_eq!(
            at("/components/schemas/Pet/properties/tag"),
            "/components/schemas/Tag"
        );
        // `#/components/...` inside a schema with an `$id` still names the document.
        assert_eq!(
            at("/components/schemas/Pet/properties/up"),
            "/components/schemas/Tag"
        );
        assert_eq!(
            set.base_uri(
                set.pointer(set.root(), "/components/schemas/Pet/properties")
                    .unwrap()
            ),
            "https://example.com/schemas/pet"
        );
    }

    #[test]
    fn referenced_files_keep_their_own_error_positions() {
        let dir = tempfile::tempdir().unwrap();
        let root = write(
            dir.path(),
            "api.yaml",
            "a: {$ref: bad.yaml}\nb: {$ref: latin1.yaml}\nc: {$ref: big.yaml}\n",
        );
        write(dir.path(), "bad.yaml", "x: 1\nx: 2\n");
        fs::write(dir.path().join("latin1.yaml"), b"name: caf\xe9\n").unwrap();
        write(dir.path(), "big.yaml", &"x".repeat(5_000));
        let options = Options {
            limits: Limits {
                max_bytes: 4_000,
                ..Limits::default()
            },
            ..Options::default()
        };
        let mut set = DocumentSet::open(&root, options).unwrap();
        let bad = dir.path().join("bad.yaml").display().to_string();
        assert_eq!(
            error(deref_at(&mut set, "/a")),
            format!("{bad}:2:1: duplicate key `x` (first at line 1, column 1)")
        );
        let latin1 = dir.path().join("latin1.yaml").display().to_string();
        assert_eq!(
            error(deref_at(&mut set, "/b")),
            format!("{latin1}:1:10: invalid UTF-8 (byte 0xE9); contracts must be UTF-8")
        );
        let message = error(deref_at(&mut set, "/c"));
        assert!(message.contains(":3:11: $ref `big.yaml`: "), "{message}");
        assert!(
            message.contains("big.yaml: the file has 5000 bytes, over the 3927 bytes left of the size limit of 4000 bytes"),
            "{message}"
        );
    }

    /// Hostile input (e): a 1 MB document under a 10 kB budget is refused before parsing.
    #[test]
    fn a_document_over_the_size_budget_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let line = "key: a value that is long enough to fill space\n";
        let mut text = String::from("openapi: 3.0.3\n");
        let mut i = 0;
        while text.len() < 1 << 20 {
            text.push_str(&format!("k{i}{line}"));
            i += 1;
        }
        let root = write(dir.path(), "big.yaml", &text);
        let options = Options {
            limits: Limits {
                max_bytes: 10_000,
                ..Limits::default()
            },
            ..Options::default()
        };
        let message = DocumentSet::open(&root, options.clone())
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            format!(
                "{}: the file has {} bytes, over the size limit of 10000 bytes",
                root.display(),
                text.len()
            )
        );
        let message = DocumentSet::from_text(&root, &text, options)
            .unwrap_err()
            .to_string();
        assert!(
            message.ends_with("the contract is larger than 10000 bytes (the size limit)"),
            "{message}"
        );
    }

    #[test]
    fn paths_normalize_like_uris() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    /// Hostile input (d): invalid UTF-8 is an error at the first bad byte.
    #[test]
    fn bad_utf8_is_positioned() {
        let e = decode(b"a: 1\nb: \xff\n".to_vec(), "x.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.yaml:2:4: invalid UTF-8 (byte 0xFF); contracts must be UTF-8"
        );
        let e = decode(b"\xff\xfea\x00".to_vec(), "x.yaml").unwrap_err();
        assert!(e.to_string().starts_with("x.yaml:1:1: the file is UTF-16"));
        assert_eq!(decode(b"\xef\xbb\xbfa: 1".to_vec(), "x").unwrap(), "a: 1");
    }
}
