//! A module's elements by their full names, for matching old against new.
//!
//! Messages, enums, services and extensions are keyed by fully-qualified name
//! (without the leading dot); fields by number inside their message, enum
//! values by number inside their enum, methods by name inside their service —
//! the same keys buf matches on.

use std::collections::{BTreeMap, HashMap};

use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto,
};

use crate::load::{Module, ModuleFile};

/// Field numbers of `DescriptorProto`/`FileDescriptorProto` members, as used in
/// `SourceCodeInfo` paths.
pub mod tag {
    pub const FILE_PACKAGE: i32 = 2;
    pub const FILE_MESSAGE: i32 = 4;
    pub const FILE_ENUM: i32 = 5;
    pub const FILE_SERVICE: i32 = 6;
    pub const FILE_EXTENSION: i32 = 7;
    pub const FILE_OPTIONS: i32 = 8;
    pub const FILE_SYNTAX: i32 = 12;
    pub const MESSAGE_FIELD: i32 = 2;
    pub const MESSAGE_NESTED: i32 = 3;
    pub const MESSAGE_ENUM: i32 = 4;
    pub const MESSAGE_EXTENSION_RANGE: i32 = 5;
    pub const MESSAGE_EXTENSION: i32 = 6;
    pub const MESSAGE_OPTIONS: i32 = 7;
    pub const MESSAGE_ONEOF: i32 = 8;
    pub const MESSAGE_RESERVED_RANGE: i32 = 9;
    pub const MESSAGE_RESERVED_NAME: i32 = 10;
    pub const FIELD_NAME: i32 = 1;
    pub const FIELD_NUMBER: i32 = 3;
    pub const FIELD_LABEL: i32 = 4;
    pub const FIELD_TYPE: i32 = 5;
    pub const FIELD_TYPE_NAME: i32 = 6;
    pub const FIELD_DEFAULT: i32 = 7;
    pub const FIELD_OPTIONS: i32 = 8;
    pub const FIELD_JSON_NAME: i32 = 10;
    pub const ENUM_VALUE: i32 = 2;
    pub const ENUM_OPTIONS: i32 = 3;
    pub const ENUM_RESERVED_RANGE: i32 = 4;
    pub const ENUM_RESERVED_NAME: i32 = 5;
    pub const VALUE_NAME: i32 = 1;
    pub const VALUE_NUMBER: i32 = 2;
    pub const SERVICE_METHOD: i32 = 2;
    pub const METHOD_INPUT: i32 = 2;
    pub const METHOD_OUTPUT: i32 = 3;
    pub const METHOD_OPTIONS: i32 = 4;
    pub const METHOD_CLIENT_STREAMING: i32 = 5;
    pub const METHOD_SERVER_STREAMING: i32 = 6;
}

/// An element and where it is declared.
#[derive(Debug, Clone, Copy)]
pub struct At<'m, T> {
    pub file: &'m ModuleFile,
    pub path: &'m [i32],
    pub item: &'m T,
}

#[derive(Debug)]
pub struct MessageEntry<'m> {
    pub full_name: String,
    pub file: &'m ModuleFile,
    pub path: Vec<i32>,
    pub desc: &'m DescriptorProto,
    /// The enclosing message's full name, if nested.
    pub parent: Option<String>,
}

#[derive(Debug)]
pub struct EnumEntry<'m> {
    pub full_name: String,
    pub file: &'m ModuleFile,
    pub path: Vec<i32>,
    pub desc: &'m EnumDescriptorProto,
    pub parent: Option<String>,
}

#[derive(Debug)]
pub struct ServiceEntry<'m> {
    pub full_name: String,
    pub file: &'m ModuleFile,
    pub path: Vec<i32>,
    pub desc: &'m ServiceDescriptorProto,
}

#[derive(Debug)]
pub struct ExtensionEntry<'m> {
    pub full_name: String,
    pub file: &'m ModuleFile,
    pub path: Vec<i32>,
    pub desc: &'m FieldDescriptorProto,
    /// The message the extension is declared in, if any (not the extendee).
    pub parent: Option<String>,
}

/// What the rules need to know about a type that may live outside the module
/// (an import): map entries and the shape of messages, the closedness of enums.
#[derive(Debug, Clone, Copy)]
pub enum TypeDesc<'m> {
    Message(&'m DescriptorProto, &'m FileDescriptorProto),
    Enum(&'m EnumDescriptorProto, &'m FileDescriptorProto),
}

#[derive(Debug)]
pub struct Index<'m> {
    pub module: &'m Module,
    pub messages: BTreeMap<String, MessageEntry<'m>>,
    pub enums: BTreeMap<String, EnumEntry<'m>>,
    pub services: BTreeMap<String, ServiceEntry<'m>>,
    pub extensions: BTreeMap<String, ExtensionEntry<'m>>,
    /// Package name -> files declaring it.
    pub packages: BTreeMap<String, Vec<&'m ModuleFile>>,
    /// Every type in every compiled file (imports too), by full name.
    pub types: HashMap<String, TypeDesc<'m>>,
}

impl<'m> Index<'m> {
    pub fn new(module: &'m Module) -> Self {
        let mut index = Index {
            module,
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
            services: BTreeMap::new(),
            extensions: BTreeMap::new(),
            packages: BTreeMap::new(),
            types: HashMap::new(),
        };
        for file in &module.files {
            let package = file.proto.package().to_string();
            index
                .packages
                .entry(package.clone())
                .or_default()
                .push(file);
            let prefix = if package.is_empty() {
                String::new()
            } else {
                format!("{package}.")
            };
            for (i, message) in file.proto.message_type.iter().enumerate() {
                index.add_message(
                    file,
                    &prefix,
                    vec![tag::FILE_MESSAGE, i as i32],
                    message,
                    None,
                );
            }
            for (i, e) in file.proto.enum_type.iter().enumerate() {
                index.add_enum(file, &prefix, vec![tag::FILE_ENUM, i as i32], e, None);
            }
            for (i, s) in file.proto.service.iter().enumerate() {
                let full_name = format!("{prefix}{}", s.name());
                index.services.insert(
                    full_name.clone(),
                    ServiceEntry {
                        full_name,
                        file,
                        path: vec![tag::FILE_SERVICE, i as i32],
                        desc: s,
                    },
                );
            }
            for (i, x) in file.proto.extension.iter().enumerate() {
                let full_name = format!("{prefix}{}", x.name());
                index.extensions.insert(
                    full_name.clone(),
                    ExtensionEntry {
                        full_name,
                        file,
                        path: vec![tag::FILE_EXTENSION, i as i32],
                        desc: x,
                        parent: None,
                    },
                );
            }
        }
        for file in module.all_files.values() {
            let package = file.package();
            let prefix = if package.is_empty() {
                String::new()
            } else {
                format!("{package}.")
            };
            for m in &file.message_type {
                index.add_type_message(file, &prefix, m);
            }
            for e in &file.enum_type {
                index
                    .types
                    .insert(format!("{prefix}{}", e.name()), TypeDesc::Enum(e, file));
            }
        }
        index
    }

    fn add_message(
        &mut self,
        file: &'m ModuleFile,
        prefix: &str,
        path: Vec<i32>,
        desc: &'m DescriptorProto,
        parent: Option<String>,
    ) {
        let full_name = format!("{prefix}{}", desc.name());
        let nested_prefix = format!("{full_name}.");
        for (i, m) in desc.nested_type.iter().enumerate() {
            let mut p = path.clone();
            p.extend([tag::MESSAGE_NESTED, i as i32]);
            self.add_message(file, &nested_prefix, p, m, Some(full_name.clone()));
        }
        for (i, e) in desc.enum_type.iter().enumerate() {
            let mut p = path.clone();
            p.extend([tag::MESSAGE_ENUM, i as i32]);
            self.add_enum(file, &nested_prefix, p, e, Some(full_name.clone()));
        }
        for (i, x) in desc.extension.iter().enumerate() {
            let mut p = path.clone();
            p.extend([tag::MESSAGE_EXTENSION, i as i32]);
            let name = format!("{nested_prefix}{}", x.name());
            self.extensions.insert(
                name.clone(),
                ExtensionEntry {
                    full_name: name,
                    file,
                    path: p,
                    desc: x,
                    parent: Some(full_name.clone()),
                },
            );
        }
        self.messages.insert(
            full_name.clone(),
            MessageEntry {
                full_name,
                file,
                path,
                desc,
                parent,
            },
        );
    }

    fn add_enum(
        &mut self,
        file: &'m ModuleFile,
        prefix: &str,
        path: Vec<i32>,
        desc: &'m EnumDescriptorProto,
        parent: Option<String>,
    ) {
        let full_name = format!("{prefix}{}", desc.name());
        self.enums.insert(
            full_name.clone(),
            EnumEntry {
                full_name,
                file,
                path,
                desc,
                parent,
            },
        );
    }

    fn add_type_message(
        &mut self,
        file: &'m FileDescriptorProto,
        prefix: &str,
        desc: &'m DescriptorProto,
    ) {
        let full_name = format!("{prefix}{}", desc.name());
        let nested_prefix = format!("{full_name}.");
        for m in &desc.nested_type {
            self.add_type_message(file, &nested_prefix, m);
        }
        for e in &desc.enum_type {
            self.types.insert(
                format!("{nested_prefix}{}", e.name()),
                TypeDesc::Enum(e, file),
            );
        }
        self.types.insert(full_name, TypeDesc::Message(desc, file));
    }

    /// Looks up a field's `type_name` (`.pkg.Msg`).
    pub fn type_of(&self, type_name: &str) -> Option<TypeDesc<'m>> {
        self.types.get(type_name.trim_start_matches('.')).copied()
    }

    /// The map entry message of a field, if the field is a map.
    pub fn map_entry(&self, field: &FieldDescriptorProto) -> Option<&'m DescriptorProto> {
        if field.label() != prost_types::field_descriptor_proto::Label::Repeated {
            return None;
        }
        match self.type_of(field.type_name()) {
            Some(TypeDesc::Message(m, _)) if m.options.as_ref().is_some_and(|o| o.map_entry()) => {
                Some(m)
            }
            _ => None,
        }
    }
}
