//! Field kinds, presence and the protobuf wire/JSON compatibility groups.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{FieldDescriptorProto, FileDescriptorProto};

use crate::index::Index;

pub fn kind_name(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

/// Kinds in one group share a binary encoding: a reader of one decodes the
/// other (varints of any width and sign, zigzag varints, 32- and 64-bit
/// fixed, length-delimited strings).
pub fn wire_group(t: Type) -> u8 {
    match t {
        Type::Int32 | Type::Uint32 | Type::Int64 | Type::Uint64 | Type::Bool => 1,
        Type::Sint32 | Type::Sint64 => 2,
        Type::String => 3,
        Type::Bytes => 4,
        Type::Fixed32 | Type::Sfixed32 => 5,
        Type::Fixed64 | Type::Sfixed64 => 6,
        Type::Double => 7,
        Type::Float => 8,
        Type::Group => 9,
        Type::Message => 10,
        Type::Enum => 11,
    }
}

/// Kinds in one group share both the binary and the proto3 JSON encoding
/// (JSON writes 64-bit integers as strings and bools as `true`/`false`).
pub fn wire_json_group(t: Type) -> u8 {
    match t {
        Type::Int32 | Type::Uint32 => 1,
        Type::Int64 | Type::Uint64 => 2,
        Type::Fixed32 | Type::Sfixed32 => 3,
        Type::Fixed64 | Type::Sfixed64 => 4,
        Type::Bool => 5,
        Type::Sint32 => 6,
        Type::Sint64 => 7,
        Type::String => 8,
        Type::Bytes => 9,
        Type::Double => 10,
        Type::Float => 11,
        Type::Group => 12,
        Type::Message => 13,
        Type::Enum => 14,
    }
}

/// How many values a field holds and whether absence is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    OptionalExplicit,
    OptionalImplicit,
    Required,
    Repeated,
    Map,
}

impl Cardinality {
    pub fn describe(self) -> &'static str {
        match self {
            Cardinality::OptionalExplicit => "optional with explicit presence",
            Cardinality::OptionalImplicit => "optional with implicit presence",
            Cardinality::Required => "required",
            Cardinality::Repeated => "repeated",
            Cardinality::Map => "map",
        }
    }

    /// Wire-compatible classes: any single value reads as any other; a map is
    /// a repeated entry message on the wire.
    pub fn wire_group(self) -> u8 {
        match self {
            Cardinality::OptionalExplicit | Cardinality::OptionalImplicit => 1,
            Cardinality::Required => 2,
            Cardinality::Repeated | Cardinality::Map => 3,
        }
    }

    /// As [`Self::wire_group`], but a map is a JSON object and a repeated field an array.
    pub fn wire_json_group(self) -> u8 {
        match self {
            Cardinality::Map => 4,
            other => other.wire_group(),
        }
    }
}

pub fn is_proto3(file: &FileDescriptorProto) -> bool {
    file.syntax() == "proto3"
}

pub fn cardinality(
    index: &Index<'_>,
    file: &FileDescriptorProto,
    field: &FieldDescriptorProto,
) -> Cardinality {
    match field.label() {
        Label::Required => Cardinality::Required,
        Label::Repeated if index.map_entry(field).is_some() => Cardinality::Map,
        Label::Repeated => Cardinality::Repeated,
        Label::Optional => {
            let explicit = !is_proto3(file)
                || field.proto3_optional()
                || field.oneof_index.is_some()
                || matches!(field.r#type(), Type::Message | Type::Group)
                || field.extendee.is_some();
            if explicit {
                Cardinality::OptionalExplicit
            } else {
                Cardinality::OptionalImplicit
            }
        }
    }
}

/// The default value a reader sees when the field is absent: the declared
/// default, else the zero value (for enums, the first declared value).
pub fn effective_default(index: &Index<'_>, field: &FieldDescriptorProto) -> DefaultValue {
    let t = field.r#type();
    if let Some(d) = &field.default_value {
        return match t {
            Type::String => DefaultValue::Text(d.clone().into_bytes()),
            Type::Bytes => DefaultValue::Text(unescape_bytes(d)),
            Type::Bool => DefaultValue::Bool(d == "true"),
            Type::Enum => DefaultValue::Enum(d.clone()),
            Type::Float => DefaultValue::Number(parse_float(d).map(|v| v as f32 as f64)),
            Type::Double => DefaultValue::Number(parse_float(d)),
            _ => DefaultValue::Number(
                d.parse::<i128>()
                    .ok()
                    .map(|v| v as f64)
                    .or_else(|| parse_float(d)),
            ),
        };
    }
    match t {
        Type::String | Type::Bytes => DefaultValue::Text(Vec::new()),
        Type::Bool => DefaultValue::Bool(false),
        Type::Enum => match index.type_of(field.type_name()) {
            Some(crate::index::TypeDesc::Enum(e, _)) => DefaultValue::Enum(
                e.value
                    .first()
                    .map(|v| v.name().to_string())
                    .unwrap_or_default(),
            ),
            _ => DefaultValue::Enum(String::new()),
        },
        _ => DefaultValue::Number(Some(0.0)),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Number(Option<f64>),
    Text(Vec<u8>),
    Bool(bool),
    Enum(String),
}

impl DefaultValue {
    pub fn is_zero(&self) -> bool {
        match self {
            DefaultValue::Number(v) => *v == Some(0.0),
            DefaultValue::Text(v) => v.is_empty(),
            DefaultValue::Bool(b) => !b,
            DefaultValue::Enum(_) => false,
        }
    }

    pub fn display(&self) -> String {
        match self {
            DefaultValue::Number(Some(v)) => format!("{v}"),
            DefaultValue::Number(None) => "?".into(),
            DefaultValue::Text(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
            DefaultValue::Bool(b) => b.to_string(),
            DefaultValue::Enum(name) => name.clone(),
        }
    }
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Undoes the C-style escaping descriptors use for `bytes` defaults.
fn unescape_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let c = b[i + 1];
            if c.is_ascii_digit() {
                let mut v: u32 = 0;
                let mut j = i + 1;
                while j < b.len() && j < i + 4 && (b'0'..=b'7').contains(&b[j]) {
                    v = v * 8 + u32::from(b[j] - b'0');
                    j += 1;
                }
                out.push(v as u8);
                i = j;
                continue;
            }
            out.push(match c {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                other => other,
            });
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_kinds_share_a_wire_group_but_not_a_json_group() {
        assert_eq!(wire_group(Type::Int32), wire_group(Type::Uint64));
        assert_eq!(wire_group(Type::Bool), wire_group(Type::Int64));
        assert_ne!(wire_group(Type::Sint32), wire_group(Type::Int32));
        assert_ne!(wire_json_group(Type::Int32), wire_json_group(Type::Int64));
        assert_eq!(wire_json_group(Type::Int64), wire_json_group(Type::Uint64));
        assert_ne!(wire_json_group(Type::String), wire_json_group(Type::Bytes));
    }

    #[test]
    fn bytes_defaults_are_unescaped() {
        assert_eq!(unescape_bytes("a\\001\\n"), vec![b'a', 1, b'\n']);
    }
}
