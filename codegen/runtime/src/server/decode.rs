//! Turning a request's parameters and body into JSON values, guided by their schemas, and
//! validating them.

use std::borrow::Cow;
use std::convert::Infallible;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, COOKIE};
use percent_encoding::percent_decode_str;
use serde::Deserialize as _;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde_json::{Map, Number, Value};

use crate::problem::{FieldError, Problem};
use crate::schema::{ARRAY, BOOLEAN, Compiled, INTEGER, NULL, NUMBER, NodeId, OBJECT, STRING};
use crate::spec::{BodyKind, Media, Operation, Param, ParamLocation, ParamStyle};

/// What a parameter's schema says its value looks like.
enum Shape {
    Scalar(u8),
    Array(u8),
    Object,
}

struct ParamPlan {
    param: &'static Param,
    node: NodeId,
    shape: Shape,
    /// For objects: the declared property names (form-exploded objects are picked out of the
    /// query by them).
    properties: Box<[String]>,
}

struct MediaPlan {
    media: &'static Media,
    node: Option<NodeId>,
    /// Validates and deserializes a JSON body as the handler's type in one pass.
    typed: Option<TypedDecoder>,
    /// Lower-cased `type` and `subtype`; `*` for wildcards.
    main: Box<str>,
    sub: Box<str>,
}

/// An operation's decoding plan, computed once when the server is built.
pub(crate) struct Plan {
    params: Vec<ParamPlan>,
    media: Vec<MediaPlan>,
    body_required: bool,
    has_query: bool,
    has_cookie: bool,
}

impl Plan {
    /// Resolves every schema name of `op`; an unknown name is a generator bug.
    pub(crate) fn new(op: &'static Operation, c: &Compiled) -> Result<Plan, String> {
        let lookup = |name: &str| {
            c.def(name)
                .ok_or_else(|| format!("operation `{}` names unknown schema `{name}`", op.id))
        };
        let mut params = Vec::with_capacity(op.params.len());
        for param in op.params {
            let node = lookup(param.schema)?;
            let hint = c.type_hint(node);
            let shape = if hint & ARRAY != 0 {
                Shape::Array(c.items(node).map_or(0, |i| c.type_hint(i)))
            } else if hint & OBJECT != 0 {
                Shape::Object
            } else {
                Shape::Scalar(hint)
            };
            let properties = match shape {
                Shape::Object => c
                    .property_names(node)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                _ => Box::default(),
            };
            params.push(ParamPlan {
                param,
                node,
                shape,
                properties,
            });
        }
        let mut media = Vec::new();
        if let Some(body) = &op.body {
            for m in body.media {
                let node = m.schema.map(lookup).transpose()?;
                let essence = m.media_type.to_ascii_lowercase();
                let (main, sub) = essence.split_once('/').unwrap_or((essence.as_str(), "*"));
                media.push(MediaPlan {
                    media: m,
                    node,
                    typed: None,
                    main: main.trim().into(),
                    sub: sub.split(';').next().unwrap_or(sub).trim().into(),
                });
            }
        }
        Ok(Plan {
            has_query: op.params.iter().any(|p| p.location == ParamLocation::Query),
            has_cookie: op
                .params
                .iter()
                .any(|p| p.location == ParamLocation::Cookie),
            params,
            media,
            body_required: op.body.as_ref().is_some_and(|b| b.required),
        })
    }

    /// Decodes valid JSON bodies of the `media`-th media type with `decoder`.
    pub(crate) fn decode_json_as(&mut self, media: usize, decoder: TypedDecoder) {
        if let Some(m) = self.media.get_mut(media)
            && m.media.kind == BodyKind::Json
        {
            m.typed = Some(decoder);
        }
    }

    /// Whether the operation takes a body.
    pub(crate) fn has_body(&self) -> bool {
        !self.media.is_empty()
    }

    /// The declared media matching a request content type: exact first, then `type/*`, then
    /// `*/*`. Without a content type, the only declared media (if there is one).
    fn choose_media(&self, content_type: Option<&str>) -> Option<usize> {
        let Some(ct) = content_type else {
            return (self.media.len() == 1).then_some(0);
        };
        let essence = ct.split(';').next().unwrap_or(ct).trim();
        let (main, sub) = essence.split_once('/')?;
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        self.media
            .iter()
            .position(|m| eq(&m.main, main) && eq(&m.sub, sub))
            .or_else(|| {
                self.media
                    .iter()
                    .position(|m| eq(&m.main, main) && &*m.sub == "*")
            })
            .or_else(|| {
                self.media
                    .iter()
                    .position(|m| &*m.main == "*" && &*m.sub == "*")
            })
    }
}

/// Deserializes a JSON body as the handler's type if it is valid against the node (`None`:
/// invalid, or not that type; the two-pass path then says why).
pub(crate) type TypedDecoder = fn(&Compiled, NodeId, &[u8]) -> Option<TypedBody>;

/// [`TypedDecoder`] for `T`.
pub(crate) fn typed_decoder<T: DeserializeOwned + Send + 'static>() -> TypedDecoder {
    |c, node, raw| {
        c.deserialize_validated::<T>(node, raw)
            .map(|body| TypedBody(Box::new(body)))
    }
}

/// A body already deserialized as the type its handler asks [`Decoded::json_body`] for.
pub(crate) struct TypedBody(Box<dyn std::any::Any + Send>);

impl std::fmt::Debug for TypedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedBody")
    }
}

/// A request's parameters and body, decoded and validated, for the generated handler.
#[derive(Debug)]
pub struct Decoded {
    /// Parameters by field name; a `Value` object only if `fields()` asks for one.
    fields: Vec<(&'static str, Value)>,
    media: Option<usize>,
    body: BodyValue,
    raw: Bytes,
}

#[derive(Debug)]
enum BodyValue {
    None,
    /// JSON text in `raw`, already validated.
    JsonText,
    /// JSON text in `raw`, validated and deserialized.
    Typed(TypedBody),
    Json(Value),
    Multipart {
        fields: Map<String, Value>,
        files: Vec<(String, Vec<Bytes>, bool)>,
    },
    Text(String),
    Binary,
}

impl Decoded {
    /// Takes the parameter object: each parameter's `field` name → its JSON value (absent
    /// optional parameters are omitted).
    pub fn fields(&mut self) -> Value {
        Value::Object(
            std::mem::take(&mut self.fields)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    /// Takes and deserializes the parameter object; a mismatch is a 400 problem.
    pub fn take_fields<T: DeserializeOwned>(&mut self) -> Result<T, Problem> {
        // Straight from the list: no intermediate map, no key allocations.
        let entries = std::mem::take(&mut self.fields)
            .into_iter()
            .map(|(k, v)| (k, Part::Json(v)));
        T::deserialize(MapDeserializer::<_, serde_json::Error>::new(entries)).map_err(|e| {
            Problem::new(400).with_detail(format!("The request parameters are invalid: {e}"))
        })
    }

    /// The index into the operation's `body.media` that matched, if there was a body.
    pub fn body_media(&self) -> Option<usize> {
        self.media
    }

    /// Takes and deserializes the body; a mismatch is a 422 problem. No body reads as JSON
    /// `null` (so `Option<T>` works).
    ///
    /// JSON and form bodies deserialize from their JSON value; a text body from a JSON string.
    /// A multipart body is an object of its parts: text parts as JSON values (coerced by the
    /// property's schema), file parts — parts with a filename or whose property is
    /// `format: binary` — as sequences of bytes, so `Vec<u8>` and `bytes::Bytes` fields
    /// receive them (and an array property receives one entry per part). A binary body is a
    /// sequence of bytes too.
    pub fn json_body<T: DeserializeOwned + 'static>(&mut self) -> Result<T, Problem> {
        let invalid = |e: serde_json::Error| {
            Problem::new(422).with_detail(format!("The request body is invalid: {e}"))
        };
        match std::mem::replace(&mut self.body, BodyValue::None) {
            BodyValue::None => serde_json::from_value(Value::Null).map_err(invalid),
            BodyValue::JsonText => serde_json::from_slice(&self.raw).map_err(invalid),
            // Deserialized during validation, unless the handler asks for another type.
            BodyValue::Typed(TypedBody(body)) => match body.downcast::<T>() {
                Ok(body) => Ok(*body),
                Err(_) => serde_json::from_slice(&self.raw).map_err(invalid),
            },
            BodyValue::Json(v) => serde_json::from_value(v).map_err(invalid),
            BodyValue::Text(s) => serde_json::from_value(Value::String(s)).map_err(invalid),
            BodyValue::Binary => T::deserialize(Part::File(self.raw.clone())).map_err(invalid),
            BodyValue::Multipart { fields, files } => {
                let entries = fields.into_iter().map(|(k, v)| (k, Part::Json(v))).chain(
                    files.into_iter().map(|(k, mut list, many)| {
                        let part = if many {
                            Part::Files(list)
                        } else {
                            Part::File(list.swap_remove(0))
                        };
                        (k, part)
                    }),
                );
                T::deserialize(MapDeserializer::<_, serde_json::Error>::new(entries))
                    .map_err(invalid)
            }
        }
    }

    /// The body as text (a text body, or any body that is UTF-8); otherwise a 400 problem.
    pub fn text_body(&mut self) -> Result<String, Problem> {
        if let BodyValue::Text(s) = std::mem::replace(&mut self.body, BodyValue::None) {
            return Ok(s);
        }
        String::from_utf8(self.raw.to_vec())
            .map_err(|_| Problem::new(400).with_detail("The request body is not UTF-8 text"))
    }

    /// The body's bytes as received.
    pub fn raw_body(&mut self) -> Bytes {
        self.raw.clone()
    }
}

/// A multipart entry (or a binary body) for deserialization.
enum Part {
    Json(Value),
    File(Bytes),
    Files(Vec<Bytes>),
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for Part {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Part {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Part::Json(value) => value.deserialize_any(v),
            Part::File(b) => v.visit_seq(SeqDeserializer::new(b.into_iter())),
            Part::Files(list) => {
                v.visit_seq(SeqDeserializer::new(list.into_iter().map(Part::File)))
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Part::Json(value) => value.deserialize_option(v),
            other => v.visit_some(other),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Part::Json(value) => value.deserialize_bytes(v),
            Part::File(b) => v.visit_bytes(&b),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Part::Json(value) => value.deserialize_byte_buf(v),
            Part::File(b) => v.visit_byte_buf(b.to_vec()),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Part::Json(value) => value.deserialize_newtype_struct(name, v),
            other => v.visit_newtype_struct(other),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Part::Json(value) => value.deserialize_enum(name, variants, v),
            _ => Err(serde::de::Error::custom("a file part cannot be an enum")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Errors of one request, split by what they mean: malformed parameters or body syntax (400)
/// versus a well-formed body that breaks its schema (422).
#[derive(Default)]
pub(crate) struct Errors {
    params: Vec<FieldError>,
    body: Vec<FieldError>,
}

impl Errors {
    fn param(&mut self, p: &Param, pointer: Option<String>, detail: String) {
        self.params.push(FieldError {
            detail,
            pointer,
            parameter: Some(p.name.to_owned()),
            location: Some(p.location.as_str().to_owned()),
        });
    }

    fn into_problem(mut self) -> Option<Problem> {
        if !self.params.is_empty() {
            self.params.append(&mut self.body);
            return Some(Problem::validation(400, self.params));
        }
        if !self.body.is_empty() {
            return Some(Problem::validation(422, self.body));
        }
        None
    }
}

/// Decodes and validates everything of a request. `captures` are the raw (still
/// percent-encoded) path parameter values.
pub(crate) async fn decode(
    plan: &Plan,
    c: &Compiled,
    uri: &http::Uri,
    headers: &HeaderMap,
    captures: &[(&'static str, &str)],
    raw: Bytes,
) -> Result<Decoded, Problem> {
    let mut errors = Errors::default();
    let mut fields = Vec::with_capacity(plan.params.len());
    let query: Vec<(Cow<'_, str>, &str)> = if plan.has_query {
        uri.query().map(parse_query).unwrap_or_default()
    } else {
        Vec::new()
    };
    let cookies: Vec<(&str, &str)> = if plan.has_cookie {
        parse_cookies(headers)
    } else {
        Vec::new()
    };
    for pp in &plan.params {
        let p = pp.param;
        let extracted = match p.location {
            ParamLocation::Path => {
                let raw = captures.iter().find(|(n, _)| *n == p.name).map(|(_, v)| *v);
                raw.map(|v| path_value(pp, c, v)).transpose()
            }
            ParamLocation::Query => query_value(pp, c, &query),
            ParamLocation::Header => headers
                .get(p.name)
                .map(|v| {
                    let text = v
                        .to_str()
                        .map_err(|_| "must be visible ASCII text".to_owned())?;
                    simple_value(pp, c, text, false)
                })
                .transpose(),
            ParamLocation::Cookie => cookies
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, v)| form_list_value(pp, c, v, ','))
                .transpose(),
        };
        match extracted {
            Err(detail) => errors.param(p, None, detail),
            Ok(None) if p.required => errors.param(p, None, "is required".to_owned()),
            Ok(None) => {}
            Ok(Some(value)) => {
                for (pointer, detail) in c.validate(pp.node, &value) {
                    let pointer = (pointer != "#").then_some(pointer);
                    errors.param(p, pointer, detail);
                }
                fields.push((p.field, value));
            }
        }
    }

    let mut media = None;
    let mut body = BodyValue::None;
    if plan.has_body() {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let chosen = if raw.is_empty() {
            // No bytes is no body (clients send a Content-Type with empty bodies too), except
            // for text and binary media, where empty is a value.
            content_type
                .and_then(|ct| plan.choose_media(Some(ct)))
                .filter(|&i| matches!(plan.media[i].media.kind, BodyKind::Text | BodyKind::Binary))
        } else {
            let Some(index) = plan.choose_media(content_type) else {
                let accepted: Vec<&str> = plan.media.iter().map(|m| m.media.media_type).collect();
                return Err(Problem::new(415).with_detail(format!(
                    "Content-Type `{}` is not supported; expected {}",
                    content_type.unwrap_or("(none)"),
                    accepted.join(", ")
                )));
            };
            Some(index)
        };
        match chosen {
            Some(index) => {
                media = Some(index);
                let mp = &plan.media[index];
                body = decode_body(mp, c, content_type, &raw, &mut errors).await?;
            }
            // A missing body is malformed (400), not merely invalid.
            None if plan.body_required => errors
                .params
                .push(FieldError::body("#", "The request body is required")),
            None => {}
        }
    }
    if let Some(problem) = errors.into_problem() {
        return Err(problem);
    }
    Ok(Decoded {
        fields,
        media,
        body,
        raw,
    })
}

async fn decode_body(
    mp: &MediaPlan,
    c: &Compiled,
    content_type: Option<&str>,
    raw: &Bytes,
    errors: &mut Errors,
) -> Result<BodyValue, Problem> {
    let validate = |value: &Value, errors: &mut Errors| {
        if let Some(node) = mp.node {
            errors.body.extend(
                c.validate(node, value)
                    .into_iter()
                    .map(|(pointer, detail)| FieldError::body(pointer, detail)),
            );
        }
    };
    match mp.media.kind {
        BodyKind::Json => {
            if let (Some(node), Some(decode)) = (mp.node, mp.typed)
                && let Some(body) = decode(c, node, raw)
            {
                return Ok(BodyValue::Typed(body));
            }
            // Validated while parsed; the handler deserializes its type from the same bytes.
            let mut de = serde_json::Deserializer::from_slice(raw);
            let found = match mp.node {
                Some(node) => c.validate_json(node, &mut de),
                None => serde::de::IgnoredAny::deserialize(&mut de).map(|_| Vec::new()),
            };
            let found = found.and_then(|f| de.end().map(|()| f)).map_err(|e| {
                Problem::new(400).with_detail(format!("The request body is not valid JSON: {e}"))
            })?;
            errors.body.extend(
                found
                    .into_iter()
                    .map(|(pointer, detail)| FieldError::body(pointer, detail)),
            );
            Ok(BodyValue::JsonText)
        }
        BodyKind::Form => {
            let value = form_object(mp.node, c, raw);
            validate(&value, errors);
            Ok(BodyValue::Json(value))
        }
        BodyKind::Text => {
            let text = std::str::from_utf8(raw)
                .map_err(|_| Problem::new(400).with_detail("The request body is not UTF-8 text"))?
                .to_owned();
            let value = Value::String(text);
            validate(&value, errors);
            let Value::String(text) = value else {
                return Ok(BodyValue::None);
            };
            Ok(BodyValue::Text(text))
        }
        BodyKind::Binary => Ok(BodyValue::Binary),
        BodyKind::Multipart => {
            // Boxed: the multipart parser's state would otherwise bloat every request's future.
            let (mut fields, files) = Box::pin(multipart_parts(
                mp.node,
                c,
                content_type.unwrap_or(""),
                raw.clone(),
            ))
            .await?;
            // Files are validated as present strings: their bytes are not JSON.
            for (name, list, many) in &files {
                let placeholder = if *many {
                    Value::Array(list.iter().map(|_| Value::String(String::new())).collect())
                } else {
                    Value::String(String::new())
                };
                fields.insert(name.clone(), placeholder);
            }
            let object = Value::Object(fields);
            validate(&object, errors);
            let Value::Object(mut fields) = object else {
                return Ok(BodyValue::None);
            };
            for (name, _, _) in &files {
                fields.remove(name);
            }
            Ok(BodyValue::Multipart { fields, files })
        }
    }
}

type MultipartParts = (Map<String, Value>, Vec<(String, Vec<Bytes>, bool)>);

async fn multipart_parts(
    node: Option<NodeId>,
    c: &Compiled,
    content_type: &str,
    raw: Bytes,
) -> Result<MultipartParts, Problem> {
    let malformed = |e: multer::Error| {
        Problem::new(400).with_detail(format!("The multipart body is malformed: {e}"))
    };
    let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, Infallible>(raw)));
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut texts: Vec<(String, Value)> = Vec::new();
    let mut files: Vec<(String, Vec<Bytes>, bool)> = Vec::new();
    while let Some(field) = parts.next_field().await.map_err(malformed)? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        let prop = node.and_then(|n| c.property(n, &name));
        let hint = prop.map_or(0, |p| c.type_hint(p));
        let item = prop.and_then(|p| {
            if hint & ARRAY != 0 {
                c.items(p)
            } else {
                Some(p)
            }
        });
        let binary = item.is_some_and(|i| c.is_binary(i));
        let json_part = field.content_type().is_some_and(|m| {
            m.essence_str() == "application/json" || m.suffix().is_some_and(|s| s == "json")
        });
        let has_filename = field.file_name().is_some();
        let data = field.bytes().await.map_err(malformed)?;
        let text = (!has_filename && !binary)
            .then(|| std::str::from_utf8(&data).ok())
            .flatten();
        match text {
            Some(text) => {
                let item_hint = item.map_or(0, |i| c.type_hint(i));
                let value = if json_part || item_hint & (OBJECT | ARRAY) != 0 {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
                } else {
                    coerce(text, item_hint)
                };
                texts.push((name, value));
            }
            None => match files.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, list, _)) => list.push(data),
                None => files.push((name, vec![data], hint & ARRAY != 0)),
            },
        }
    }
    let mut fields = Map::new();
    for (name, value) in texts {
        let is_array = node
            .and_then(|n| c.property(n, &name))
            .is_some_and(|p| c.type_hint(p) & ARRAY != 0);
        if is_array {
            let entry = fields
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                match value {
                    // A JSON-encoded array in one part.
                    Value::Array(items) if list.is_empty() => *list = items,
                    other => list.push(other),
                }
            }
        } else {
            fields.entry(name).or_insert(value);
        }
    }
    Ok((fields, files))
}

/// A form body as an object: repeated keys become arrays where the schema says array, values
/// are coerced by the property types, and object properties are parsed as JSON.
fn form_object(node: Option<NodeId>, c: &Compiled, raw: &[u8]) -> Value {
    let mut grouped: Vec<(Cow<'_, str>, Vec<Cow<'_, str>>)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw) {
        match grouped.iter_mut().find(|(name, _)| *name == k) {
            Some((_, values)) => values.push(v),
            None => grouped.push((k, vec![v])),
        }
    }
    let mut map = Map::new();
    for (key, values) in grouped {
        let prop = node.and_then(|n| c.property(n, &key));
        let hint = prop.map_or(0, |p| c.type_hint(p));
        let value = if hint & ARRAY != 0 {
            let item = prop.and_then(|p| c.items(p)).map_or(0, |i| c.type_hint(i));
            Value::Array(values.iter().map(|v| coerce(v, item)).collect())
        } else if hint & OBJECT != 0 {
            let first = values.first().map_or("", |v| v.as_ref());
            serde_json::from_str(first).unwrap_or_else(|_| Value::String(first.to_owned()))
        } else {
            coerce(values.first().map_or("", |v| v.as_ref()), hint)
        };
        map.insert(key.into_owned(), value);
    }
    Value::Object(map)
}

/// A string as the JSON value the schema's types call for; a string when nothing fits (the
/// validator then reports the type mismatch).
pub(crate) fn coerce(raw: &str, hint: u8) -> Value {
    if hint & (INTEGER | NUMBER) != 0
        && let Ok(n) = raw.parse::<Number>()
    {
        return Value::Number(n);
    }
    if hint & BOOLEAN != 0 {
        match raw {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    if hint & NULL != 0 && hint & STRING == 0 && (raw.is_empty() || raw == "null") {
        return Value::Null;
    }
    Value::String(raw.to_owned())
}

fn decode_component(raw: &str) -> Result<Cow<'_, str>, String> {
    percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| "is not valid percent-encoded UTF-8".to_owned())
}

/// Query pairs with keys decoded and values still raw (so delimiters can be split before
/// decoding). `+` means space, as in forms.
fn parse_query(q: &str) -> Vec<(Cow<'_, str>, &str)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), v)
        })
        .collect()
}

fn form_decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['+', '%']) {
        return Cow::Borrowed(raw);
    }
    let spaced = raw.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

fn form_value(raw: &str) -> Result<Cow<'_, str>, String> {
    if !raw.contains(['+', '%']) {
        return Ok(Cow::Borrowed(raw));
    }
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| Cow::Owned(c.into_owned()))
        .map_err(|_| "is not valid percent-encoded UTF-8".to_owned())
}

fn parse_cookies(headers: &HeaderMap) -> Vec<(&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.trim(), v.trim().trim_matches('"')))
        })
        .collect()
}

/// Items of an array, each decoded and coerced.
fn items<'a>(
    pieces: impl Iterator<Item = &'a str>,
    hint: u8,
    decode: fn(&str) -> Result<Cow<'_, str>, String>,
) -> Result<Value, String> {
    pieces
        .map(|p| decode(p).map(|s| coerce(&s, hint)))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// An object from `k,v,k2,v2` (or from `k=v` pieces when `pairs`).
fn object<'a>(
    pp: &ParamPlan,
    c: &Compiled,
    pieces: impl Iterator<Item = &'a str>,
    pairs: bool,
    decode: fn(&str) -> Result<Cow<'_, str>, String>,
) -> Result<Value, String> {
    let mut map = Map::new();
    let mut insert = |k: &str, v: &str| -> Result<(), String> {
        let key = decode(k)?.into_owned();
        let hint = c.property(pp.node, &key).map_or(0, |p| c.type_hint(p));
        let value = coerce(&decode(v)?, hint);
        map.insert(key, value);
        Ok(())
    };
    if pairs {
        for piece in pieces {
            let (k, v) = piece
                .split_once('=')
                .ok_or_else(|| "must be a list of key=value pairs".to_owned())?;
            insert(k, v)?;
        }
    } else {
        let list: Vec<&str> = pieces.collect();
        if !list.len().is_multiple_of(2) {
            return Err("must be a comma-separated list of key,value pairs".to_owned());
        }
        for kv in list.chunks(2) {
            insert(kv[0], kv[1])?;
        }
    }
    Ok(Value::Object(map))
}

fn no_decode(raw: &str) -> Result<Cow<'_, str>, String> {
    Ok(Cow::Borrowed(raw.trim()))
}

/// Simple style (path and header): `a,b`, `k,v` or exploded `k=v`.
fn simple_value(pp: &ParamPlan, c: &Compiled, raw: &str, percent: bool) -> Result<Value, String> {
    let decode: fn(&str) -> Result<Cow<'_, str>, String> =
        if percent { decode_component } else { no_decode };
    match pp.shape {
        Shape::Scalar(hint) => Ok(coerce(&decode(raw)?, hint)),
        Shape::Array(hint) if raw.is_empty() => items(std::iter::empty(), hint, decode),
        Shape::Array(hint) => items(raw.split(','), hint, decode),
        Shape::Object => object(pp, c, raw.split(','), pp.param.explode, decode),
    }
}

fn path_value(pp: &ParamPlan, c: &Compiled, raw: &str) -> Result<Value, String> {
    let p = pp.param;
    match p.style {
        ParamStyle::Label => {
            let rest = raw
                .strip_prefix('.')
                .ok_or_else(|| "must start with `.` (label style)".to_owned())?;
            let sep = if p.explode { '.' } else { ',' };
            match pp.shape {
                Shape::Scalar(hint) => Ok(coerce(&decode_component(rest)?, hint)),
                Shape::Array(hint) => items(rest.split(sep), hint, decode_component),
                Shape::Object => object(pp, c, rest.split(sep), p.explode, decode_component),
            }
        }
        ParamStyle::Matrix => {
            let prefix = format!(";{}=", p.name);
            if p.explode && !matches!(pp.shape, Shape::Scalar(_)) {
                let pieces = raw.split(';').filter(|s| !s.is_empty());
                return match pp.shape {
                    Shape::Array(hint) => {
                        let key = format!("{}=", p.name);
                        let values: Vec<&str> = pieces
                            .filter_map(|s| s.strip_prefix(key.as_str()))
                            .collect();
                        items(values.into_iter(), hint, decode_component)
                    }
                    _ => object(pp, c, pieces, true, decode_component),
                };
            }
            let rest = raw
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| format!("must start with `{prefix}` (matrix style)"))?;
            match pp.shape {
                Shape::Scalar(hint) => Ok(coerce(&decode_component(rest)?, hint)),
                Shape::Array(hint) => items(rest.split(','), hint, decode_component),
                Shape::Object => object(pp, c, rest.split(','), false, decode_component),
            }
        }
        _ => simple_value(pp, c, raw, true),
    }
}

/// Cookie values and non-exploded form query values: `a,b` lists, `k,v` objects.
fn form_list_value(pp: &ParamPlan, c: &Compiled, raw: &str, sep: char) -> Result<Value, String> {
    match pp.shape {
        Shape::Scalar(hint) => Ok(coerce(&form_value(raw)?, hint)),
        Shape::Array(hint) if raw.is_empty() => items(std::iter::empty(), hint, form_value),
        Shape::Array(hint) => items(raw.split(sep), hint, form_value),
        Shape::Object => object(pp, c, raw.split(','), false, form_value),
    }
}

fn query_value(
    pp: &ParamPlan,
    c: &Compiled,
    query: &[(Cow<'_, str>, &str)],
) -> Result<Option<Value>, String> {
    let p = pp.param;
    let named = || query.iter().filter(|(k, _)| k == p.name).map(|(_, v)| *v);
    match (&pp.shape, p.style) {
        (_, ParamStyle::DeepObject) => deep_object(pp, c, query),
        (Shape::Object, _) if p.explode => {
            // Form-exploded: the object's properties are top-level query keys.
            let mut map = Map::new();
            for (k, v) in query {
                if pp.properties.iter().any(|name| name == k) {
                    let hint = c.property(pp.node, k).map_or(0, |n| c.type_hint(n));
                    map.insert(k.to_string(), coerce(&form_value(v)?, hint));
                }
            }
            Ok((!map.is_empty()).then_some(Value::Object(map)))
        }
        (Shape::Array(hint), ParamStyle::Form) if p.explode => {
            let values: Vec<&str> = named().collect();
            if values.is_empty() {
                return Ok(None);
            }
            items(values.into_iter(), *hint, form_value).map(Some)
        }
        (Shape::Array(hint), ParamStyle::SpaceDelimited | ParamStyle::PipeDelimited) => {
            let Some(raw) = named().next() else {
                return Ok(None);
            };
            let decoded = form_value(raw)?;
            let sep = if p.style == ParamStyle::PipeDelimited {
                '|'
            } else {
                ' '
            };
            if decoded.is_empty() {
                return Ok(Some(Value::Array(Vec::new())));
            }
            Ok(Some(Value::Array(
                decoded.split(sep).map(|s| coerce(s, *hint)).collect(),
            )))
        }
        _ => named()
            .next()
            .map(|raw| form_list_value(pp, c, raw, ','))
            .transpose(),
    }
}

/// `name[a]=1&name[b][c]=2` → `{"a": 1, "b": {"c": 2}}`, coerced by the schema's properties.
fn deep_object(
    pp: &ParamPlan,
    c: &Compiled,
    query: &[(Cow<'_, str>, &str)],
) -> Result<Option<Value>, String> {
    let mut root = Map::new();
    let mut found = false;
    for (k, v) in query {
        let Some(rest) = k.strip_prefix(pp.param.name) else {
            continue;
        };
        let mut keys = Vec::new();
        let mut rest = rest;
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                break;
            };
            keys.push(&inner[..end]);
            rest = &inner[end + 1..];
        }
        if keys.is_empty() || !rest.is_empty() {
            continue;
        }
        found = true;
        let mut node = Some(pp.node);
        let mut map = &mut root;
        for (i, key) in keys.iter().enumerate() {
            node = node.and_then(|n| c.property(n, key));
            if i + 1 == keys.len() {
                let hint = node.map_or(0, |n| c.type_hint(n));
                let value = form_value(v)?;
                if hint & ARRAY != 0 {
                    let item = node.and_then(|n| c.items(n)).map_or(0, |n| c.type_hint(n));
                    let entry = map
                        .entry(key.to_string())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = entry {
                        list.push(coerce(&value, item));
                    }
                } else {
                    map.insert(key.to_string(), coerce(&value, hint));
                }
            } else {
                let entry = map
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(next) = entry else {
                    break;
                };
                map = next;
            }
        }
    }
    Ok(found.then_some(Value::Object(root)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coercion() {
        assert_eq!(coerce("5", INTEGER), json!(5));
        assert_eq!(coerce("5.5", NUMBER), json!(5.5));
        assert_eq!(coerce("x", INTEGER), json!("x"));
        assert_eq!(coerce("inf", NUMBER), json!("inf"));
        assert_eq!(coerce("true", BOOLEAN), json!(true));
        assert_eq!(coerce("", INTEGER | NULL), json!(null));
        assert_eq!(coerce("5", STRING), json!("5"));
        assert_eq!(coerce("5", 0), json!("5"));
    }

    #[test]
    fn query_parsing_keeps_values_raw() {
        let q = parse_query("a=1%2C2,3&b+c=x+y&&d");
        assert_eq!(q.len(), 3);
        assert_eq!(q[0], (Cow::Borrowed("a"), "1%2C2,3"));
        assert_eq!(q[1].0, "b c");
        assert_eq!(q[2], (Cow::Borrowed("d"), ""));
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, "a=1; b=\"two\"".parse().unwrap());
        h.append(COOKIE, "c=3".parse().unwrap());
        assert_eq!(
            parse_cookies(&h),
            vec![("a", "1"), ("b", "two"), ("c", "3")]
        );
    }

    #[test]
    fn multipart_deserializer_shapes() {
        #[derive(serde::Deserialize, Debug)]
        struct Upload {
            name: String,
            file: Vec<u8>,
            raw: Bytes,
            many: Vec<Bytes>,
            maybe: Option<Vec<u8>>,
            absent: Option<String>,
        }
        let mut d = Decoded {
            fields: Vec::new(),
            media: Some(0),
            body: BodyValue::Multipart {
                fields: [("name".to_owned(), json!("n"))].into_iter().collect(),
                files: vec![
                    ("file".into(), vec![Bytes::from_static(b"ab")], false),
                    ("raw".into(), vec![Bytes::from_static(b"cd")], false),
                    (
                        "many".into(),
                        vec![Bytes::from_static(b"1"), Bytes::from_static(b"2")],
                        true,
                    ),
                    ("maybe".into(), vec![Bytes::from_static(b"m")], false),
                ],
            },
            raw: Bytes::new(),
        };
        let u: Upload = d.json_body().unwrap();
        assert_eq!(u.name, "n");
        assert_eq!(u.file, b"ab");
        assert_eq!(&u.raw[..], b"cd");
        assert_eq!(u.many.len(), 2);
        assert_eq!(u.maybe.as_deref(), Some(&b"m"[..]));
        assert!(u.absent.is_none());
        // Taken: a second read sees no body.
        assert!(d.json_body::<Upload>().is_err());
    }

    #[test]
    fn binary_body_as_bytes() {
        let mut d = Decoded {
            fields: vec![("a", json!(1))],
            media: Some(0),
            body: BodyValue::Binary,
            raw: Bytes::from_static(b"\x00\xff"),
        };
        let v: Vec<u8> = d.json_body().unwrap();
        assert_eq!(v, vec![0, 255]);
        assert_eq!(&d.raw_body()[..], b"\x00\xff");
        assert!(d.text_body().is_err());
        #[derive(serde::Deserialize, Debug)]
        struct F {
            a: u8,
        }
        assert_eq!(d.take_fields::<F>().unwrap().a, 1);
        let e = d.take_fields::<F>().unwrap_err();
        assert_eq!(e.status, Some(400));
    }
}
