//! The mutations: each makes one small, schema-level change to a real file as a
//! text edit, the way a person editing the file would. Whether the result still
//! compiles is for buf to say; the driver skips mutants that do not.
//!
//! There is no proto3 -> editions mutation: contractor rejects editions files
//! by design, so every such mutant would only re-measure that known limit.

use std::collections::BTreeMap;

use super::Rng;
use super::syntax::{Item, Kind, Proto, Stmt, TokKind};

/// The files of one mutation target, parsed once.
pub struct Model {
    /// Module name -> parsed file.
    pub files: BTreeMap<String, Proto>,
}

/// One mutant: what changed, and the new text of every file it touches.
pub struct Mutant {
    pub kind: &'static str,
    pub description: String,
    /// Module name -> new text, or `None` when the file is deleted.
    pub changes: BTreeMap<String, Option<String>>,
}

type Op = fn(&Model, &str, &mut Rng) -> Option<Mutant>;

/// Every mutation, by name. Each picks its own element at random from `file`.
pub const OPS: &[(&str, Op)] = &[
    ("delete-field", delete_field),
    ("delete-field-reserving", delete_field_reserving),
    ("renumber-field", renumber_field),
    ("change-field-type", change_field_type),
    ("rename-field", rename_field),
    ("toggle-label", toggle_label),
    ("field-into-oneof", field_into_oneof),
    ("add-field-option", add_field_option),
    ("delete-enum-value", delete_enum_value),
    ("delete-enum-value-reserving", delete_enum_value_reserving),
    ("rename-enum-value", rename_enum_value),
    ("renumber-enum-value", renumber_enum_value),
    ("delete-rpc", delete_rpc),
    ("swap-rpc-types", swap_rpc_types),
    ("toggle-stream", toggle_stream),
    ("set-idempotency", set_idempotency),
    ("delete-service", delete_service),
    ("delete-type", delete_type),
    ("rename-type", rename_type),
    ("move-type", move_type),
    ("unwrap-oneof", unwrap_oneof),
    ("rename-oneof", rename_oneof),
    ("change-package", change_package),
    ("change-file-option", change_file_option),
    ("delete-file-option", delete_file_option),
    ("add-file-option", add_file_option),
    ("delete-reserved", delete_reserved),
    ("delete-file", delete_file),
];

/// Picks a file and a mutation at random until one applies.
pub fn generate(model: &Model, rng: &mut Rng) -> Option<Mutant> {
    let names: Vec<&String> = model.files.keys().collect();
    for _ in 0..200 {
        let file = names[rng.below(names.len())];
        let (kind, op) = OPS[rng.below(OPS.len())];
        if let Some(mut m) = op(model, file, rng) {
            m.kind = kind;
            return Some(m);
        }
    }
    None
}

// ------------------------------------------------------------------ helpers

/// A byte-range replacement.
type Edit = (usize, usize, String);

fn apply(src: &str, mut edits: Vec<Edit>) -> String {
    // Back to front, so earlier offsets stay valid.
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = src.to_string();
    for (start, end, text) in edits {
        out.replace_range(start..end, &text);
    }
    out
}

fn one_file(file: &str, text: String, description: String) -> Mutant {
    Mutant {
        kind: "",
        description,
        changes: BTreeMap::from([(file.to_string(), Some(text))]),
    }
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.below(items.len())])
}

fn items_of(p: &Proto, kind: Kind) -> Vec<Item<'_>> {
    p.items()
        .into_iter()
        .filter(|i| i.stmt.kind == kind)
        .collect()
}

/// `Scope.name` of an item.
fn qualified(p: &Proto, item: &Item<'_>) -> String {
    let name = p.name(item.stmt).unwrap_or("?");
    if item.scope.is_empty() {
        name.to_string()
    } else {
        format!("{}.{name}", item.scope)
    }
}

/// Where an item is, for descriptions: `file:line`.
fn at(file: &str, p: &Proto, stmt: &Stmt) -> String {
    format!("{file}:{}", p.line(stmt.first))
}

fn tok_edit(p: &Proto, tok: usize, text: impl Into<String>) -> Edit {
    (p.toks[tok].start, p.toks[tok].end, text.into())
}

fn delete_lines(p: &Proto, stmt: &Stmt) -> Edit {
    let (start, end) = p.line_span(stmt.first, stmt.last);
    (start, end, String::new())
}

/// The leading blanks of the line a token is on.
fn indent_of(p: &Proto, tok: usize) -> String {
    let start = p.toks[tok].start;
    let line_start = p.src[..start].rfind('\n').map_or(0, |n| n + 1);
    p.src[line_start..start]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect()
}

/// The parts of a field statement.
struct Field {
    label: Option<usize>,
    /// First and last token of the type (`map < K , V >` spans several).
    type_first: usize,
    type_last: usize,
    name: usize,
    number: usize,
    /// The `[` of its options, if any.
    options: Option<usize>,
}

impl Field {
    fn of(p: &Proto, stmt: &Stmt) -> Option<Self> {
        let eq = p.eq_tok(stmt)?;
        let label = ["optional", "repeated", "required"]
            .contains(&p.text(stmt.first))
            .then_some(stmt.first);
        let type_first = label.map_or(stmt.first, |l| l + 1);
        let name = eq.checked_sub(1)?;
        (name > type_first).then_some(())?;
        Some(Self {
            label,
            type_first,
            type_last: name - 1,
            name,
            number: eq + 1,
            options: (eq + 2 < stmt.head_end && p.is(eq + 2, "[")).then_some(eq + 2),
        })
    }

    fn is_map(&self, p: &Proto) -> bool {
        p.is(self.type_first, "map")
    }

    fn type_text<'a>(&self, p: &'a Proto) -> &'a str {
        &p.src[p.toks[self.type_first].start..p.toks[self.type_last].end]
    }
}

fn fields(p: &Proto) -> Vec<(Item<'_>, Field)> {
    items_of(p, Kind::Field)
        .into_iter()
        .filter_map(|i| Field::of(p, i.stmt).map(|f| (i, f)))
        .collect()
}

/// Every message and enum of a file, by qualified name.
fn type_names(p: &Proto) -> Vec<String> {
    p.items()
        .iter()
        .filter(|i| matches!(i.stmt.kind, Kind::Message | Kind::Enum))
        .map(|i| qualified(p, i))
        .collect()
}

fn package_of(p: &Proto) -> Option<&str> {
    p.stmts
        .iter()
        .find(|s| s.kind == Kind::Package)
        .map(|s| p.text(s.first + 1))
}

/// The last segment of a dotted name.
fn simple(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

const SCALARS: &[&str] = &[
    "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
    "sfixed64", "bool", "string", "bytes", "double", "float",
];

// ------------------------------------------------------------------- fields

fn delete_field(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = fields(p);
    let (item, _) = pick(rng, &all)?;
    let text = apply(&p.src, vec![delete_lines(p, item.stmt)]);
    let description = format!(
        "delete field {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn delete_field_reserving(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    // `reserved` cannot go inside a oneof.
    let all: Vec<_> = fields(p)
        .into_iter()
        .filter(|(i, _)| i.parent == Kind::Message)
        .collect();
    let (item, field) = pick(rng, &all)?;
    let indent = indent_of(p, item.stmt.first);
    let number = p.text(field.number);
    let name = p.text(field.name);
    let (what, reserved) = match rng.below(3) {
        0 => ("number", format!("{indent}reserved {number};\n")),
        1 => ("name", format!("{indent}reserved \"{name}\";\n")),
        _ => (
            "number and name",
            format!("{indent}reserved {number};\n{indent}reserved \"{name}\";\n"),
        ),
    };
    let (start, end, _) = delete_lines(p, item.stmt);
    let text = apply(&p.src, vec![(start, end, reserved)]);
    let description = format!(
        "delete field {} reserving its {what} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn renumber_field(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = fields(p);
    let (item, field) = pick(rng, &all)?;
    // Far above the numbers in use and below the 19000-19999 reserved block.
    let new = 1000 + rng.below(8000);
    let text = apply(&p.src, vec![tok_edit(p, field.number, new.to_string())]);
    let description = format!(
        "renumber field {} {} -> {new} ({})",
        qualified(p, item),
        p.text(field.number),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn change_field_type(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all: Vec<_> = fields(p)
        .into_iter()
        .filter(|(_, f)| !f.is_map(p))
        .collect();
    let (item, field) = pick(rng, &all)?;
    let old = field.type_text(p);
    let new = if rng.below(3) == 0 {
        pick(rng, &type_names(p))?.clone()
    } else {
        pick(rng, SCALARS)?.to_string()
    };
    if simple(&new) == simple(old) {
        return None;
    }
    let edit = (
        p.toks[field.type_first].start,
        p.toks[field.type_last].end,
        new.clone(),
    );
    let text = apply(&p.src, vec![edit]);
    let description = format!(
        "change type of {} {old} -> {new} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn rename_field(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = fields(p);
    let (item, field) = pick(rng, &all)?;
    let new = format!("{}_renamed", p.text(field.name));
    let text = apply(&p.src, vec![tok_edit(p, field.name, &new)]);
    let description = format!(
        "rename field {} -> {new} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

/// Adds or removes `optional` / `repeated`.
fn toggle_label(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all: Vec<_> = fields(p)
        .into_iter()
        .filter(|(i, f)| i.parent == Kind::Message && !f.is_map(p))
        .collect();
    let (item, field) = pick(rng, &all)?;
    let (edit, what) = match field.label {
        Some(label) => {
            let edit = (p.toks[label].start, p.toks[label + 1].start, String::new());
            (edit, format!("remove `{}` from", p.text(label)))
        }
        None => {
            let label = if rng.below(2) == 0 {
                "optional"
            } else {
                "repeated"
            };
            let at = p.toks[field.type_first].start;
            ((at, at, format!("{label} ")), format!("add `{label}` to"))
        }
    };
    let text = apply(&p.src, vec![edit]);
    let description = format!(
        "{what} field {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn field_into_oneof(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all: Vec<_> = fields(p)
        .into_iter()
        .filter(|(i, f)| i.parent == Kind::Message && f.label.is_none() && !f.is_map(p))
        .collect();
    let (item, _) = pick(rng, &all)?;
    let indent = indent_of(p, item.stmt.first);
    let (start, end) = p.line_span(item.stmt.first, item.stmt.last);
    let body: String = p.src[start..end]
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    let wrapped = format!("{indent}oneof mutant_oneof {{\n{body}{indent}}}\n");
    let text = apply(&p.src, vec![(start, end, wrapped)]);
    let description = format!(
        "move field {} into a new oneof ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

/// Adds `json_name`, `jstype` or `ctype` to a field.
fn add_field_option(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = fields(p);
    let (item, field) = pick(rng, &all)?;
    let ty = field.type_text(p);
    let mut choices = vec!["json_name = \"mutantJson\""];
    if ["int64", "uint64", "sint64", "fixed64", "sfixed64"].contains(&ty) {
        choices.extend(["jstype = JS_STRING", "jstype = JS_NUMBER"]);
    }
    if ["string", "bytes"].contains(&ty) {
        choices.push("ctype = CORD");
    }
    let option = *pick(rng, &choices)?;
    let edit = match field.options {
        Some(bracket) => {
            let at = p.toks[bracket].end;
            (at, at, format!("{option}, "))
        }
        None => {
            let at = p.toks[item.stmt.head_end].start;
            (at, at, format!(" [{option}]"))
        }
    };
    let text = apply(&p.src, vec![edit]);
    let description = format!(
        "add [{option}] to field {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

// -------------------------------------------------------------- enum values

fn enum_values(p: &Proto) -> Vec<Item<'_>> {
    items_of(p, Kind::EnumValue)
        .into_iter()
        .filter(|i| p.eq_tok(i.stmt).is_some())
        .collect()
}

fn delete_enum_value(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = enum_values(p);
    let item = pick(rng, &all)?;
    let text = apply(&p.src, vec![delete_lines(p, item.stmt)]);
    let description = format!(
        "delete enum value {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn delete_enum_value_reserving(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = enum_values(p);
    let item = pick(rng, &all)?;
    let indent = indent_of(p, item.stmt.first);
    let name = p.text(item.stmt.first);
    let number = p.text(p.eq_tok(item.stmt)? + 1);
    let (what, reserved) = match rng.below(3) {
        0 => ("number", format!("{indent}reserved {number};\n")),
        1 => ("name", format!("{indent}reserved \"{name}\";\n")),
        _ => (
            "number and name",
            format!("{indent}reserved {number};\n{indent}reserved \"{name}\";\n"),
        ),
    };
    let (start, end, _) = delete_lines(p, item.stmt);
    let text = apply(&p.src, vec![(start, end, reserved)]);
    let description = format!(
        "delete enum value {} reserving its {what} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn rename_enum_value(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = enum_values(p);
    let item = pick(rng, &all)?;
    let new = format!("{}_RENAMED", p.text(item.stmt.first));
    let text = apply(&p.src, vec![tok_edit(p, item.stmt.first, &new)]);
    let description = format!(
        "rename enum value {} -> {new} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn renumber_enum_value(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    // Not the zero value: proto3 wants the first value to be zero.
    let all: Vec<_> = enum_values(p)
        .into_iter()
        .filter(|i| {
            p.eq_tok(i.stmt)
                .is_some_and(|eq| p.toks[eq + 1].kind == TokKind::Number && p.text(eq + 1) != "0")
        })
        .collect();
    let item = pick(rng, &all)?;
    let number = p.eq_tok(item.stmt)? + 1;
    let new = 100 + rng.below(900);
    let text = apply(&p.src, vec![tok_edit(p, number, new.to_string())]);
    let description = format!(
        "renumber enum value {} {} -> {new} ({})",
        qualified(p, item),
        p.text(number),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

// ----------------------------------------------------------------- services

/// The request and response of an rpc: (stream keyword, type token) each.
fn rpc_types(p: &Proto, stmt: &Stmt) -> Option<[(Option<usize>, usize); 2]> {
    let mut groups = Vec::new();
    let mut open = None;
    for i in stmt.first..stmt.head_end {
        match p.text(i) {
            "(" => open = Some(i),
            ")" => {
                let o = open.take()?;
                let stream = (p.is(o + 1, "stream") && o + 2 < i).then_some(o + 1);
                groups.push((stream, i - 1));
            }
            _ => {}
        }
    }
    (groups.len() == 2).then(|| [groups[0], groups[1]])
}

fn delete_rpc(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Rpc);
    let item = pick(rng, &all)?;
    let text = apply(&p.src, vec![delete_lines(p, item.stmt)]);
    let description = format!(
        "delete rpc {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn swap_rpc_types(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Rpc);
    let item = pick(rng, &all)?;
    let [(_, req), (_, resp)] = rpc_types(p, item.stmt)?;
    if p.text(req) == p.text(resp) {
        return None;
    }
    let text = apply(
        &p.src,
        vec![
            tok_edit(p, req, p.text(resp)),
            tok_edit(p, resp, p.text(req)),
        ],
    );
    let description = format!(
        "swap request and response of rpc {} ({} <-> {}) ({})",
        qualified(p, item),
        p.text(req),
        p.text(resp),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn toggle_stream(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Rpc);
    let item = pick(rng, &all)?;
    let sides = rpc_types(p, item.stmt)?;
    let side = rng.below(2);
    let (stream, ty) = sides[side];
    let which = ["request", "response"][side];
    let (edit, what) = match stream {
        Some(s) => (
            (p.toks[s].start, p.toks[ty].start, String::new()),
            "remove `stream` from",
        ),
        None => {
            let at = p.toks[ty].start;
            ((at, at, "stream ".to_string()), "add `stream` to")
        }
    };
    let text = apply(&p.src, vec![edit]);
    let description = format!(
        "{what} the {which} of rpc {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn set_idempotency(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all: Vec<_> = items_of(p, Kind::Rpc)
        .into_iter()
        .filter(|i| {
            !p.src[p.toks[i.stmt.first].start..p.toks[i.stmt.last].end]
                .contains("idempotency_level")
        })
        .collect();
    let item = pick(rng, &all)?;
    let level = *pick(rng, &["NO_SIDE_EFFECTS", "IDEMPOTENT"])?;
    let indent = indent_of(p, item.stmt.first);
    let option = format!("{indent}  option idempotency_level = {level};");
    let brace = item.stmt.head_end;
    let edit = if p.is(brace, "{") {
        let at = p.toks[brace].end;
        (at, at, format!("\n{option}"))
    } else {
        tok_edit(p, brace, format!(" {{\n{option}\n{indent}}}"))
    };
    let text = apply(&p.src, vec![edit]);
    let description = format!(
        "set idempotency_level = {level} on rpc {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn delete_service(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Service);
    let item = pick(rng, &all)?;
    let text = apply(&p.src, vec![delete_lines(p, item.stmt)]);
    let description = format!(
        "delete service {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

// -------------------------------------------------------------------- types

fn messages_and_enums(p: &Proto) -> Vec<Item<'_>> {
    p.items()
        .into_iter()
        .filter(|i| matches!(i.stmt.kind, Kind::Message | Kind::Enum))
        .collect()
}

/// Identifier tokens, in any file of the target, naming `name` (by its last segment).
fn references<'a>(
    m: &'a Model,
    name: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Proto, usize)> + 'a {
    m.files.iter().flat_map(move |(file, p)| {
        (0..p.toks.len())
            .filter(move |&t| p.toks[t].kind == TokKind::Ident && simple(p.text(t)) == name)
            .map(move |t| (file, p, t))
    })
}

/// Deletes a message or enum that nothing refers to (a referenced one would not compile).
fn delete_type(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all: Vec<_> = messages_and_enums(p)
        .into_iter()
        .filter(|i| {
            p.name(i.stmt)
                .is_some_and(|n| references(m, n).count() == 1)
        })
        .collect();
    let item = pick(rng, &all)?;
    let what = if item.stmt.kind == Kind::Message {
        "message"
    } else {
        "enum"
    };
    let text = apply(&p.src, vec![delete_lines(p, item.stmt)]);
    let description = format!(
        "delete {what} {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

/// Renames a message or enum and every reference to it in the target's files.
fn rename_type(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = messages_and_enums(p);
    let item = pick(rng, &all)?;
    let name = p.name(item.stmt)?;
    let new = format!("{name}Renamed");
    let mut edits: BTreeMap<&String, Vec<Edit>> = BTreeMap::new();
    for (f, fp, t) in references(m, name) {
        let tok = fp.toks[t];
        edits
            .entry(f)
            .or_default()
            .push((tok.end - name.len(), tok.end, new.clone()));
    }
    let changes = edits
        .into_iter()
        .map(|(f, e)| (f.clone(), Some(apply(&m.files[f].src, e))))
        .collect();
    Some(Mutant {
        kind: "",
        description: format!(
            "rename {} -> {new} and its references ({})",
            qualified(p, item),
            at(file, p, item.stmt)
        ),
        changes,
    })
}

/// Moves a top-level message or enum to another file of the same package
/// (breaking for FILE, not for PACKAGE), copying over the imports it may need.
fn move_type(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let package = package_of(p);
    let others: Vec<&String> = m
        .files
        .iter()
        .filter(|(f, o)| f.as_str() != file && package_of(o) == package)
        .map(|(f, _)| f)
        .collect();
    let to = *pick(rng, &others)?;
    let all: Vec<_> = messages_and_enums(p)
        .into_iter()
        .filter(|i| i.scope.is_empty())
        .collect();
    let item = pick(rng, &all)?;
    let (start, end) = p.line_span(item.stmt.first, item.stmt.last);
    let block = &p.src[start..end];
    let target = &m.files[to];
    let have = crate::fsutil::imports(&target.src);
    let missing: String = crate::fsutil::imports(&p.src)
        .into_iter()
        .filter(|i| i != to && !have.contains(i))
        .map(|i| format!("import \"{i}\";\n"))
        .collect();
    // New imports go after the last import (or the package statement).
    let anchor = target
        .stmts
        .iter()
        .rfind(|s| matches!(s.kind, Kind::Import | Kind::Package))?;
    let (_, after) = target.line_span(anchor.first, anchor.last);
    let mut target_text = apply(&target.src, vec![(after, after, missing)]);
    if !target_text.ends_with('\n') {
        target_text.push('\n');
    }
    target_text.push('\n');
    target_text.push_str(block);
    let source_text = apply(&p.src, vec![(start, end, String::new())]);
    Some(Mutant {
        kind: "",
        description: format!(
            "move {} from {file} to {to} ({})",
            qualified(p, item),
            at(file, p, item.stmt)
        ),
        changes: BTreeMap::from([
            (file.to_string(), Some(source_text)),
            (to.clone(), Some(target_text)),
        ]),
    })
}

/// Dissolves a oneof: its fields stay, as plain fields of the message.
fn unwrap_oneof(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Oneof);
    let item = pick(rng, &all)?;
    let (a, b) = p.line_span(item.stmt.first, item.stmt.head_end);
    let (c, d) = p.line_span(item.stmt.last, item.stmt.last);
    let text = apply(&p.src, vec![(a, b, String::new()), (c, d, String::new())]);
    let description = format!(
        "dissolve oneof {} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

fn rename_oneof(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Oneof);
    let item = pick(rng, &all)?;
    let new = format!("{}_renamed", p.name(item.stmt)?);
    let text = apply(&p.src, vec![tok_edit(p, item.stmt.first + 1, &new)]);
    let description = format!(
        "rename oneof {} -> {new} ({})",
        qualified(p, item),
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

// --------------------------------------------------------------- file level

/// Moves every file of the package to `<package>.mutant` (fully-qualified
/// references included), so that the files still compile together.
fn change_package(m: &Model, file: &str, _rng: &mut Rng) -> Option<Mutant> {
    let package = package_of(&m.files[file])?;
    let new = format!("{package}.mutant");
    let mut changes = BTreeMap::new();
    for (f, p) in &m.files {
        if package_of(p) != Some(package) {
            continue;
        }
        let mut edits = Vec::new();
        for t in 0..p.toks.len() {
            if p.toks[t].kind != TokKind::Ident {
                continue;
            }
            let text = p.text(t);
            let dotted = text.strip_prefix('.').unwrap_or(text);
            let offset = text.len() - dotted.len();
            if dotted == package || dotted.starts_with(&format!("{package}.")) {
                let start = p.toks[t].start + offset;
                edits.push((start, start + package.len(), new.clone()));
            }
        }
        changes.insert(f.clone(), Some(apply(&p.src, edits)));
    }
    Some(Mutant {
        kind: "",
        description: format!("change package {package} -> {new} in every file of it"),
        changes,
    })
}

/// The built-in file options (`option java_package = …;`), not custom ones.
fn file_options(p: &Proto) -> Vec<&Stmt> {
    p.stmts
        .iter()
        .filter(|s| {
            s.kind == Kind::Option
                && p.toks
                    .get(s.first + 1)
                    .is_some_and(|t| t.kind == TokKind::Ident)
        })
        .collect()
}

fn change_file_option(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = file_options(p);
    let stmt = *pick(rng, &all)?;
    let value = p.eq_tok(stmt)? + 1;
    let old = p.text(value);
    let new = match old {
        "true" => "false".to_string(),
        "false" => "true".to_string(),
        "SPEED" | "LITE_RUNTIME" => "CODE_SIZE".to_string(),
        "CODE_SIZE" => "SPEED".to_string(),
        s if s.len() >= 2 && s.ends_with('"') => format!("{}Mutant\"", &s[..s.len() - 1]),
        _ => return None,
    };
    let text = apply(&p.src, vec![tok_edit(p, value, &new)]);
    let description = format!(
        "change option {} {old} -> {new} ({})",
        p.text(stmt.first + 1),
        at(file, p, stmt)
    );
    Some(one_file(file, text, description))
}

fn delete_file_option(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = file_options(p);
    let stmt = *pick(rng, &all)?;
    let text = apply(&p.src, vec![delete_lines(p, stmt)]);
    let description = format!(
        "delete option {} ({})",
        p.text(stmt.first + 1),
        at(file, p, stmt)
    );
    Some(one_file(file, text, description))
}

fn add_file_option(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    const OPTIONS: &[(&str, &str)] = &[
        ("optimize_for", "CODE_SIZE"),
        ("cc_generic_services", "true"),
        ("java_generic_services", "true"),
        ("py_generic_services", "true"),
        ("java_string_check_utf8", "true"),
        ("cc_enable_arenas", "false"),
        ("java_multiple_files", "false"),
        ("swift_prefix", "\"Mut\""),
        ("php_class_prefix", "\"Mut\""),
        ("php_metadata_namespace", "\"Mut\\\\Meta\""),
        ("php_namespace", "\"Mut\\\\Ns\""),
        ("csharp_namespace", "\"Mut.Ns\""),
        ("ruby_package", "\"Mut::Pkg\""),
        ("objc_class_prefix", "\"MUT\""),
        ("go_package", "\"example.com/mutant;mutantpb\""),
        ("java_package", "\"com.example.mutant\""),
        ("java_outer_classname", "\"MutantProto\""),
    ];
    let p = &m.files[file];
    let present: Vec<&str> = file_options(p)
        .iter()
        .map(|s| p.text(s.first + 1))
        .collect();
    let absent: Vec<_> = OPTIONS
        .iter()
        .filter(|(n, _)| !present.contains(n))
        .collect();
    let (name, value) = **pick(rng, &absent)?;
    let package = p.stmts.iter().find(|s| s.kind == Kind::Package)?;
    let (_, after) = p.line_span(package.first, package.last);
    let text = apply(
        &p.src,
        vec![(after, after, format!("option {name} = {value};\n"))],
    );
    let description = format!("add option {name} = {value} ({file})");
    Some(one_file(file, text, description))
}

fn delete_reserved(m: &Model, file: &str, rng: &mut Rng) -> Option<Mutant> {
    let p = &m.files[file];
    let all = items_of(p, Kind::Reserved);
    let item = pick(rng, &all)?;
    let text = apply(&p.src, vec![delete_lines(p, item.stmt)]);
    let statement = &p.src[p.toks[item.stmt.first].start..p.toks[item.stmt.last].end];
    let description = format!(
        "delete `{statement}` in {} ({})",
        item.scope,
        at(file, p, item.stmt)
    );
    Some(one_file(file, text, description))
}

/// Deletes a file that no other file of the target imports.
fn delete_file(m: &Model, file: &str, _rng: &mut Rng) -> Option<Mutant> {
    let imported = m
        .files
        .values()
        .any(|p| crate::fsutil::imports(&p.src).iter().any(|i| i == file));
    if m.files.len() < 2 || imported {
        return None;
    }
    Some(Mutant {
        kind: "",
        description: format!("delete file {file}"),
        changes: BTreeMap::from([(file.to_string(), None)]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "syntax = \"proto3\";\npackage p.v1;\n\nimport \"p/v1/b.proto\";\n\noption java_package = \"com.p\";\n\nmessage A {\n  // doc\n  string name = 1;\n  optional int64 size = 2 [(x) = 1];\n  B b = 3;\n  oneof pick {\n    int32 i = 4;\n  }\n}\n\nenum E {\n  E_UNSPECIFIED = 0;\n  E_ONE = 1;\n}\n\nservice S {\n  rpc Get(A) returns (B);\n  rpc Put(A) returns (stream B) {\n    option deprecated = true;\n  }\n}\n";
    const B: &str = "syntax = \"proto3\";\npackage p.v1;\n\nmessage B {\n  p.v1.A a = 1;\n}\n";

    fn model() -> Model {
        Model {
            files: BTreeMap::from([
                ("p/v1/a.proto".to_string(), Proto::parse(A)),
                ("p/v1/b.proto".to_string(), Proto::parse(B)),
            ]),
        }
    }

    /// Runs `op` on a.proto with several seeds; every result must differ from the original.
    fn outputs(op: Op) -> Vec<Mutant> {
        let m = model();
        (1..40)
            .filter_map(|seed| op(&m, "p/v1/a.proto", &mut Rng::new(seed)))
            .collect()
    }

    #[test]
    fn every_op_changes_something() {
        for (name, op) in OPS {
            for mutant in outputs(*op) {
                for (file, text) in &mutant.changes {
                    let original = &model().files[file].src;
                    assert_ne!(
                        text.as_ref(),
                        Some(original),
                        "{name}: {}",
                        mutant.description
                    );
                }
            }
        }
    }

    #[test]
    fn delete_field_removes_whole_lines() {
        let m = model();
        let texts: Vec<String> = (1..40)
            .filter_map(|s| delete_field(&m, "p/v1/a.proto", &mut Rng::new(s)))
            .filter_map(|mu| mu.changes.into_values().next().flatten())
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("  // doc\n  optional int64"))
        );
        assert!(texts.iter().all(|t| !t.contains("\n\n  ")));
    }

    #[test]
    fn swap_and_stream() {
        let m = model();
        let swapped = swap_rpc_types(&m, "p/v1/a.proto", &mut Rng::new(3)).unwrap();
        let text = swapped.changes["p/v1/a.proto"].clone().unwrap();
        assert!(text.contains("returns (A)") || text.contains("returns (stream A)"));
    }

    #[test]
    fn package_change_updates_qualified_references() {
        let m = model();
        let mu = change_package(&m, "p/v1/a.proto", &mut Rng::new(1)).unwrap();
        let b = mu.changes["p/v1/b.proto"].clone().unwrap();
        assert!(b.contains("package p.v1.mutant;"));
        assert!(b.contains("p.v1.mutant.A a = 1;"));
    }

    #[test]
    fn rename_type_follows_references() {
        let m = model();
        let mu = (1..40)
            .filter_map(|s| rename_type(&m, "p/v1/a.proto", &mut Rng::new(s)))
            .find(|mu| mu.description.starts_with("rename A "))
            .unwrap();
        assert!(
            mu.changes["p/v1/b.proto"]
                .as_ref()
                .unwrap()
                .contains("p.v1.ARenamed a = 1;")
        );
        assert!(
            mu.changes["p/v1/a.proto"]
                .as_ref()
                .unwrap()
                .contains("rpc Get(ARenamed)")
        );
    }
}
