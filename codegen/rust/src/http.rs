//! Operations of an HTTP API: request structs, response and error enums,
//! the operation table the runtime reads, the client and the server.
//!
//! Generated code stays thin: it names things and converts between typed
//! values and the runtime's calls. Timeouts, retries, idempotency keys,
//! validation, routing and problem details all live in `contractor-runtime`.

use std::collections::BTreeMap;

use contractor_core::schema::SchemaId;
use contractor_openapi::model::{Api, Media, Method, Operation, ParamIn, Response};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::docs;
use crate::names::{self, Scope, ident};
use crate::types::{Ty, TypeSpace};
use crate::validation::RequestSchemas;

/// How a body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
    Text,
    Binary,
}

impl BodyKind {
    pub fn of(media_type: &str) -> BodyKind {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        let (kind, subtype) = essence.split_once('/').unwrap_or((essence, ""));
        if subtype == "json" || subtype.ends_with("+json") || subtype.contains("json") {
            BodyKind::Json
        } else if essence == "application/x-www-form-urlencoded" {
            BodyKind::Form
        } else if kind == "multipart" {
            BodyKind::Multipart
        } else if kind == "text" {
            BodyKind::Text
        } else {
            BodyKind::Binary
        }
    }

    fn runtime_variant(self) -> TokenStream {
        match self {
            BodyKind::Json => quote!(Json),
            BodyKind::Form => quote!(Form),
            BodyKind::Multipart => quote!(Multipart),
            BodyKind::Text => quote!(Text),
            BodyKind::Binary => quote!(Binary),
        }
    }

    fn word(self) -> &'static str {
        match self {
            BodyKind::Json => "Json",
            BodyKind::Form => "Form",
            BodyKind::Multipart => "Multipart",
            BodyKind::Text => "Text",
            BodyKind::Binary => "Binary",
        }
    }
}

struct ParamPlan {
    wire: String,
    field: String,
    location: ParamIn,
    required: bool,
    ty: Ty,
    schema_def: String,
    style: &'static str,
    explode: bool,
    doc: Option<String>,
}

struct MediaPlan {
    media_type: String,
    kind: BodyKind,
    /// The Rust type of the body (`None`: a body without a schema, sent raw).
    ty: Ty,
    schema_def: Option<String>,
    /// Variant of the body enum when there are several media types.
    variant: String,
    /// Multipart properties sent as files.
    file_fields: Vec<String>,
}

struct BodyPlan {
    required: bool,
    media: Vec<MediaPlan>,
    doc: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StatusKey {
    Code(u16),
    /// `2XX` → 2
    Range(u16),
    Default,
}

struct ResponsePlan {
    key: StatusKey,
    variant: String,
    /// The body's type and how it travels.
    body: Option<(Ty, BodyKind, String)>,
    doc: Option<String>,
}

impl ResponsePlan {
    /// Variants that carry their status (ranges and `default`).
    fn carries_status(&self) -> bool {
        !matches!(self.key, StatusKey::Code(_))
    }
}

struct OpPlan {
    /// Method name on the client and the server trait.
    method: String,
    /// `CREATE_ORDER`: the operation table entry.
    table: String,
    doc: Option<String>,
    op_id: String,
    http_method: Method,
    path: String,
    params: Vec<ParamPlan>,
    body: Option<BodyPlan>,
    /// Request struct name, when the operation takes any input.
    request: Option<String>,
    /// Body enum name when there are several media types.
    body_enum: Option<String>,
    success: Vec<ResponsePlan>,
    /// Name of the success enum (several success responses), else the type.
    success_enum: Option<String>,
    errors: Vec<ResponsePlan>,
    error_enum: String,
    key_policy: &'static str,
    timeout_ms: Option<u64>,
    /// Security alternatives: scheme names.
    security: Vec<Vec<String>>,
}

/// One independently rendered piece of the output (see [`HttpApi::sections`]).
#[derive(Debug, Clone)]
pub enum Section {
    Types(Vec<SchemaId>),
    OperationTypes,
    Spec,
    Client,
    Server,
}

/// How many type definitions one section renders: small enough to spread
/// big contracts over the cores, big enough that the split costs nothing.
const TYPES_PER_SECTION: usize = 400;

pub struct HttpApi<'a> {
    api: &'a Api,
    types: TypeSpace<'a>,
    cycles: crate::types::Cycles,
    schemas: RequestSchemas<'a>,
    ops: Vec<OpPlan>,
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<'a> HttpApi<'a> {
    pub fn plan(api: &'a Api) -> Self {
        let mut types = TypeSpace::new(&api.schemas);
        types.name_components(&api.components);
        let mut this = HttpApi {
            api,
            types,
            schemas: RequestSchemas::new(&api.schemas, &api.components),
            ops: Vec::new(),
            cycles: Default::default(),
        };
        let mut methods = Scope::with_reserved(&["new", "with_http", "http", "router", "config"]);
        let mut tables = Scope::with_reserved(&["SCHEMAS", "OPERATIONS"]);
        for op in &api.operations {
            let plan = this.operation(op, &mut methods, &mut tables);
            this.ops.push(plan);
        }
        this.types.finish();
        this.cycles = this.types.cycles();
        this
    }

    fn operation(&mut self, op: &Operation, methods: &mut Scope, tables: &mut Scope) -> OpPlan {
        let op_id = op
            .operation_id
            .clone()
            .unwrap_or_else(|| format!("{} {}", op.method.as_str(), op.path));
        let method = methods.claim(&names::snake(&op_id));
        let base = names::pascal(&method);
        let table = tables.claim(&names::screaming(&method));

        let mut fields = Scope::with_reserved(&["body"]);
        let mut params = Vec::new();
        let mut declares_key = None;
        for p in &op.parameters {
            if p.location_in == ParamIn::Header && p.name.eq_ignore_ascii_case(IDEMPOTENCY_KEY) {
                declares_key = Some(p.required);
                continue;
            }
            let field = fields.claim(&names::snake(&p.name));
            let ty = match p.schema {
                Some(id) => {
                    self.types
                        .resolve(id, &format!("{base}{}", names::pascal(&p.name)))
                        .0
                }
                None => Ty::String,
            };
            let def_name = format!("{op_id}.{}.{}", p.location_in.as_str(), p.name);
            let schema_def = match p.schema {
                Some(id) => self.schemas.root(def_name, id),
                None => String::new(),
            };
            let style = match (p.style.as_deref(), p.location_in) {
                (Some("deepObject"), _) => "DeepObject",
                (Some("spaceDelimited"), _) => "SpaceDelimited",
                (Some("pipeDelimited"), _) => "PipeDelimited",
                (Some("label"), _) => "Label",
                (Some("matrix"), _) => "Matrix",
                (Some("form"), _) => "Form",
                (Some("simple"), _) => "Simple",
                (_, ParamIn::Query | ParamIn::Cookie) => "Form",
                _ => "Simple",
            };
            let explode = p.explode.unwrap_or(style == "Form");
            params.push(ParamPlan {
                wire: p.name.clone(),
                field,
                location: p.location_in,
                required: p.required,
                ty,
                schema_def,
                style,
                explode,
                doc: p.description.clone(),
            });
        }

        let body = op.request_body.as_ref().and_then(|rb| {
            let mut media = Vec::new();
            let mut variants = Scope::new();
            let several = rb.content.len() > 1;
            for (media_type, m) in &rb.content {
                let kind = BodyKind::of(media_type);
                let hint = if several {
                    format!("{base}{}Body", kind.word())
                } else {
                    format!("{base}Body")
                };
                let (ty, schema_def, file_fields) =
                    self.body_type(&op_id, media_type, m, kind, &hint);
                let variant = variants.claim(kind.word());
                media.push(MediaPlan {
                    media_type: media_type.clone(),
                    kind,
                    ty,
                    schema_def,
                    variant,
                    file_fields,
                });
            }
            (!media.is_empty()).then(|| BodyPlan {
                required: rb.required,
                media,
                doc: rb.description.clone(),
            })
        });

        let mut success = Vec::new();
        let mut errors = Vec::new();
        let mut variant_scope = Scope::with_reserved(&["Other"]);
        let has_success = op
            .responses
            .keys()
            .any(|k| status_key(k).is_some_and(is_success));
        for (status, response) in &op.responses {
            let Some(key) = status_key(status) else {
                continue;
            };
            let variant = variant_scope.claim(&status_variant(&key));
            let hint = format!("{base}{variant}Body");
            let body = self.response_body(response, &hint);
            let doc = response.description.clone();
            if key == StatusKey::Default && !has_success {
                // Only `default` describes success: both sides get it.
                success.push(ResponsePlan {
                    key: key.clone(),
                    variant: variant.clone(),
                    body: body.clone(),
                    doc: doc.clone(),
                });
            }
            let plan = ResponsePlan {
                key: key.clone(),
                variant,
                body,
                doc,
            };
            if is_success(key) {
                success.push(plan);
            } else {
                errors.push(plan);
            }
        }
        let has_input = !params.is_empty() || body.is_some();
        let request = has_input.then(|| self.types.claim_name(&format!("{base}Request")));
        let body_enum = body
            .as_ref()
            .filter(|b| b.media.len() > 1)
            .map(|_| self.types.claim_name(&format!("{base}Body")));
        let success_enum = match success.as_slice() {
            [only] if !only.carries_status() => None,
            [] => None,
            _ => Some(self.types.claim_name(&format!("{base}Response"))),
        };
        let error_enum = self.types.claim_name(&format!("{base}Error"));
        let key_policy = match declares_key {
            Some(true) => "Required",
            Some(false) => "Send",
            None if matches!(op.method, Method::Post | Method::Patch) => "Send",
            None => "None",
        };
        let security = op
            .security
            .iter()
            .map(|alternative| alternative.keys().cloned().collect())
            .collect();
        OpPlan {
            method,
            table,
            doc: docs::join(&[
                op.summary.as_deref(),
                op.description.as_deref(),
                op.deprecated.then_some("Deprecated."),
            ]),
            op_id,
            http_method: op.method,
            path: op.path.clone(),
            params,
            body,
            request,
            body_enum,
            success,
            success_enum,
            errors,
            error_enum,
            key_policy,
            timeout_ms: op.timeout_ms,
            security,
        }
    }

    fn body_type(
        &mut self,
        op_id: &str,
        media_type: &str,
        media: &Media,
        kind: BodyKind,
        hint: &str,
    ) -> (Ty, Option<String>, Vec<String>) {
        let def = |this: &mut Self| {
            media
                .schema
                .map(|id| this.schemas.root(format!("{op_id}.body.{media_type}"), id))
        };
        match (kind, media.schema) {
            (BodyKind::Binary, _) => (Ty::Bytes, None, Vec::new()),
            (BodyKind::Text, _) => (Ty::String, def(self), Vec::new()),
            (BodyKind::Json, None) => (Ty::Json, None, Vec::new()),
            (_, None) => (Ty::JsonMap, None, Vec::new()),
            (_, Some(id)) => {
                let ty = self.types.resolve_value(id, hint);
                let files = if kind == BodyKind::Multipart {
                    let schema = contractor_core::schema::flatten(&self.api.schemas, id);
                    schema
                        .properties
                        .iter()
                        .filter(|(_, p)| is_file(&self.api.schemas, *p))
                        .map(|(name, _)| name.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                (ty, def(self), files)
            }
        }
    }

    fn response_body(&mut self, response: &Response, hint: &str) -> Option<(Ty, BodyKind, String)> {
        let pick = |wanted: BodyKind| {
            response
                .content
                .iter()
                .find(|(media_type, _)| BodyKind::of(media_type) == wanted)
        };
        if let Some((media_type, media)) = pick(BodyKind::Json) {
            let ty = match media.schema {
                Some(id) => self.types.resolve_value(id, hint),
                None => Ty::Json,
            };
            return Some((ty, BodyKind::Json, media_type.clone()));
        }
        if let Some((media_type, _)) = pick(BodyKind::Text) {
            return Some((Ty::String, BodyKind::Text, media_type.clone()));
        }
        let (media_type, _) = response.content.iter().next()?;
        let media_type = if media_type.contains('*') {
            "application/octet-stream".to_string()
        } else {
            media_type.clone()
        };
        Some((Ty::Bytes, BodyKind::Binary, media_type))
    }

    /// The generated module's items: types, the operation table, and the
    /// client and/or server, as one token stream.
    pub fn render(&self, client: bool, server: bool) -> TokenStream {
        let cycles = self.types.cycles();
        let types = self.types.render_some(&self.types.sorted(), &cycles);
        let op_types = self.render_section(&Section::OperationTypes);
        let header = self.types_module_attrs();
        let rest = self
            .sections(client, server)
            .into_iter()
            .filter_map(|s| match s {
                Section::Types(_) | Section::OperationTypes => None,
                other => Some(self.render_section(&other)),
            });
        quote! {
            #header
            pub mod types {
                #types
                #op_types
            }
            #(#rest)*
        }
    }

    /// The pieces of the output, each rendered (and formatted) on its own:
    /// the items of the `types` module in chunks of `chunk` definitions, then
    /// the operation types, and the `spec`, `client` and `server` modules.
    pub fn sections(&self, client: bool, server: bool) -> Vec<Section> {
        let mut out = Vec::new();
        let sorted = self.types.sorted();
        for chunk in sorted.chunks(TYPES_PER_SECTION) {
            out.push(Section::Types(chunk.to_vec()));
        }
        out.push(Section::OperationTypes);
        out.push(Section::Spec);
        // A contract without operations (only webhooks, say) has types and
        // nothing to call or serve.
        if client && !self.ops.is_empty() {
            out.push(Section::Client);
        }
        if server && !self.ops.is_empty() {
            out.push(Section::Server);
        }
        out
    }

    /// The doc and lint attributes of the `types` module.
    pub fn types_module_attrs(&self) -> TokenStream {
        let title = docs::attrs(Some(&format!(
            "Types of {}: the schemas of the contract, and each operation's request, responses and errors.",
            self.api_title()
        )));
        quote! {
            #title
            #[allow(clippy::large_enum_variant, clippy::enum_variant_names)]
        }
    }

    /// Tokens of one section: items of the `types` module for the first two
    /// kinds, whole modules for the others.
    pub fn render_section(&self, section: &Section) -> TokenStream {
        let rt = quote!(contractor_runtime);
        match section {
            Section::Types(ids) => self.types.render_some(ids, &self.cycles),
            Section::OperationTypes => {
                let op_types = self.ops.iter().map(|op| self.render_op_types(op));
                quote! {
                    #[allow(unused_imports)]
                    use #rt::serde::{Deserialize, Serialize};
                    #(#op_types)*
                }
            }
            Section::Spec => {
                let tables = self.ops.iter().map(|op| self.render_table(op));
                let schemas = raw_string(&self.schemas.render());
                quote! {
                    /// What the runtime needs to know of each operation: method, path,
                    /// parameters, bodies, idempotency, timeout and security.
                    pub mod spec {
                        #[allow(unused_imports)]
                        use #rt::spec::{ApiKeyLocation, Body, BodyKind, KeyPolicy, Media, Operation, Param, ParamLocation, ParamStyle, SchemeKind, SecurityScheme};

                        /// The request schemas the server validates against.
                        pub static SCHEMAS: #rt::schema::Schemas = #rt::schema::Schemas::new(#schemas);

                        #(#tables)*
                    }
                }
            }
            Section::Client => self.render_client(),
            Section::Server => self.render_server(),
        }
    }

    fn api_title(&self) -> String {
        if self.api.title.is_empty() {
            "the API".to_string()
        } else {
            format!("{} {}", self.api.title, self.api.api_version)
                .trim()
                .to_string()
        }
    }

    /// A type as seen from a sibling module of `types`.
    fn types_path(&self, ty: &Ty) -> TokenStream {
        match ty {
            Ty::Named(_) => {
                let inner = self.types.tokens(ty);
                quote!(super::types::#inner)
            }
            Ty::Vec(inner) => {
                let inner = self.types_path(inner);
                quote!(Vec<#inner>)
            }
            Ty::Map(inner) => {
                let inner = self.types_path(inner);
                quote!(::std::collections::BTreeMap<String, #inner>)
            }
            Ty::Option(inner) => {
                let inner = self.types_path(inner);
                quote!(Option<#inner>)
            }
            _ => self.types.tokens(ty),
        }
    }

    /// Request struct, body enum, success enum and error enum of one operation.
    fn render_op_types(&self, op: &OpPlan) -> TokenStream {
        let rt = quote!(contractor_runtime);
        let mut out = TokenStream::new();
        if let Some(body_enum) = &op.body_enum {
            let name = ident(body_enum);
            let body = op.body.as_ref().map(|b| &b.media[..]).unwrap_or(&[]);
            let variants = body.iter().map(|m| {
                let v = ident(&m.variant);
                let ty = self.types.tokens(&m.ty);
                let doc = format!(" Sent as `{}`.", m.media_type);
                quote!(#[doc = #doc] #v(#ty),)
            });
            let doc = format!(
                " The request body of `{}`, in one of its media types.",
                op.op_id
            );
            out.extend(quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, PartialEq)]
                pub enum #name { #(#variants)* }
            });
        }
        if let Some(request) = &op.request {
            let name = ident(request);
            let fields = op.params.iter().map(|p| {
                let field = ident(&p.field);
                let ty = self.types.tokens(&p.ty);
                let ty = if p.required { ty } else { quote!(Option<#ty>) };
                let doc = docs::attrs(
                    docs::join(&[
                        Some(&format!(
                            "`{}` ({} parameter{}).",
                            p.wire,
                            p.location.as_str(),
                            if p.required { ", required" } else { "" }
                        )),
                        p.doc.as_deref(),
                    ])
                    .as_deref(),
                );
                quote!(#doc pub #field: #ty,)
            });
            let body = op.body.as_ref().map(|b| {
                let ty = match &op.body_enum {
                    Some(e) => {
                        let e = ident(e);
                        quote!(#e)
                    }
                    None => self.types.tokens(&b.media[0].ty),
                };
                let ty = if b.required { ty } else { quote!(Option<#ty>) };
                let doc = docs::attrs(
                    docs::join(&[Some("The request body."), b.doc.as_deref()]).as_deref(),
                );
                quote!(#doc pub body: #ty,)
            });
            let doc = format!(" The input of `{}`.", op.op_id);
            let default = if op.params.iter().all(|p| !p.required)
                && op.body.as_ref().is_none_or(|b| !b.required)
            {
                quote!(Default,)
            } else {
                quote!()
            };
            out.extend(quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, PartialEq, #default)]
                pub struct #name {
                    #(#fields)*
                    #body
                }
            });
        }
        if let Some(success) = &op.success_enum {
            let name = ident(success);
            let variants = op.success.iter().map(|r| self.response_variant(r));
            let doc = format!(" The responses of `{}` that are not errors.", op.op_id);
            out.extend(quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, PartialEq)]
                pub enum #name { #(#variants)* }
            });
        }
        let name = ident(&op.error_enum);
        let variants = op.errors.iter().map(|r| self.response_variant(r));
        let doc = format!(" The error responses of `{}`.", op.op_id);
        out.extend(quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq)]
            pub enum #name {
                #(#variants)*
                /// A problem the contract does not declare for this operation: a server
                /// answers with it as it is; a client reports undeclared statuses as
                /// `ClientError::UnexpectedStatus` instead.
                Other(#rt::Problem),
            }
        });
        out
    }

    fn response_variant(&self, r: &ResponsePlan) -> TokenStream {
        let v = ident(&r.variant);
        let status_doc = match &r.key {
            StatusKey::Code(c) => format!("`{c}`"),
            StatusKey::Range(c) => format!("`{c}XX`"),
            StatusKey::Default => "any other status (`default`)".to_string(),
        };
        let doc = docs::attrs(
            docs::join(&[Some(&format!("Status: {status_doc}.")), r.doc.as_deref()]).as_deref(),
        );
        let body = r.body.as_ref().map(|(ty, _, _)| self.types.tokens(ty));
        match (r.carries_status(), body) {
            (false, None) => quote!(#doc #v,),
            (false, Some(ty)) => quote!(#doc #v(#ty),),
            (true, None) => quote!(#doc #v { status: u16 },),
            (true, Some(ty)) => quote!(#doc #v { status: u16, body: #ty },),
        }
    }

    fn render_table(&self, op: &OpPlan) -> TokenStream {
        let name = ident(&op.table);
        let id = &op.op_id;
        let method = ident(&op.http_method.upper());
        let path = &op.path;
        let params = op.params.iter().map(|p| {
            let wire = &p.wire;
            let field = &p.field;
            let location = ident(match p.location {
                ParamIn::Path => "Path",
                ParamIn::Query => "Query",
                ParamIn::Header => "Header",
                ParamIn::Cookie => "Cookie",
            });
            let required = p.required;
            let schema = &p.schema_def;
            let style = ident(p.style);
            let explode = p.explode;
            quote! {
                Param {
                    name: #wire,
                    field: #field,
                    location: ParamLocation::#location,
                    required: #required,
                    schema: #schema,
                    style: ParamStyle::#style,
                    explode: #explode,
                },
            }
        });
        let body = match &op.body {
            Some(b) => {
                let required = b.required;
                let media = b.media.iter().map(|m| {
                    let media_type = &m.media_type;
                    let kind = m.kind.runtime_variant();
                    let schema = match &m.schema_def {
                        Some(s) => quote!(Some(#s)),
                        None => quote!(None),
                    };
                    quote!(Media { media_type: #media_type, kind: BodyKind::#kind, schema: #schema },)
                });
                quote!(Some(Body { required: #required, media: &[#(#media)*] }))
            }
            None => quote!(None),
        };
        let key_policy = ident(op.key_policy);
        let timeout = match op.timeout_ms {
            Some(ms) => {
                let ms = Literal::u64_unsuffixed(ms);
                quote!(Some(#ms))
            }
            None => quote!(None),
        };
        let security = op.security.iter().map(|alternative| {
            let schemes = alternative.iter().map(|name| self.render_scheme(name));
            quote!(&[#(#schemes)*],)
        });
        let doc = format!(" `{} {}`", op.http_method.upper(), op.path);
        quote! {
            #[doc = #doc]
            pub static #name: Operation = Operation {
                id: #id,
                method: ::contractor_runtime::http::Method::#method,
                path: #path,
                params: &[#(#params)*],
                body: #body,
                idempotency: KeyPolicy::#key_policy,
                timeout_ms: #timeout,
                security: &[#(#security)*],
            };
        }
    }

    fn render_scheme(&self, name: &str) -> TokenStream {
        let kind = match self.api.security_schemes.get(name) {
            Some(s) if s.kind == "http" && s.detail == "basic" => quote!(SchemeKind::Basic),
            Some(s) if s.kind == "apiKey" => {
                let location = ident(match s.api_key_in.as_deref() {
                    Some("query") => "Query",
                    Some("cookie") => "Cookie",
                    _ => "Header",
                });
                let param = s.api_key_name.clone().unwrap_or_default();
                quote!(SchemeKind::ApiKey { location: ApiKeyLocation::#location, name: #param })
            }
            // http bearer, oauth2, openIdConnect: a bearer token; mutualTLS
            // is a transport matter and also ends here harmlessly.
            _ => quote!(SchemeKind::Bearer),
        };
        quote!(SecurityScheme { name: #name, kind: #kind },)
    }

    fn success_type(&self, op: &OpPlan) -> TokenStream {
        match (&op.success_enum, op.success.as_slice()) {
            (Some(name), _) => {
                let name = ident(name);
                quote!(super::types::#name)
            }
            (None, [only]) => match &only.body {
                Some((ty, _, _)) => self.types_path(ty),
                None => quote!(()),
            },
            (None, _) => quote!(()),
        }
    }

    fn render_client(&self) -> TokenStream {
        let rt = quote!(contractor_runtime);
        let methods = self.ops.iter().map(|op| self.render_client_method(op));
        let doc = format!(
            " A client of {}: one method per operation, each with a timeout, retries where they are safe, an idempotency key on unsafe writes and a correlation id.",
            self.api_title()
        );
        quote! {
            #[doc = #doc]
            #[allow(clippy::result_large_err, clippy::type_complexity)]
            pub mod client {
                pub use #rt::client::{CallOptions, ClientConfig, ClientError, Credentials, RawResponse};
                pub use #rt::retry::RetryPolicy;

                #[doc = #doc]
                #[derive(Debug, Clone)]
                pub struct Client {
                    http: #rt::client::HttpClient,
                }

                impl Client {
                    /// A client for the API at `config.base_url`.
                    pub fn new(config: ClientConfig) -> Result<Self, ClientError<::std::convert::Infallible>> {
                        Ok(Self { http: #rt::client::HttpClient::new(config)? })
                    }

                    /// A client sharing an existing runtime client (and its connection pool).
                    pub fn with_http(http: #rt::client::HttpClient) -> Self {
                        Self { http }
                    }

                    #(#methods)*
                }
            }
        }
    }

    fn render_client_method(&self, op: &OpPlan) -> TokenStream {
        let rt = quote!(contractor_runtime);
        let name = ident(&op.method);
        let table = ident(&op.table);
        let doc = docs::attrs(op.doc.as_deref());
        let route = format!(" `{} {}`", op.http_method.upper(), op.path);
        let success = self.success_type(op);
        let error = ident(&op.error_enum);
        let request_arg = op.request.as_ref().map(|r| {
            let r = ident(r);
            quote!(request: &super::types::#r,)
        });
        let params = op.params.iter().map(|p| {
            let wire = &p.wire;
            let field = ident(&p.field);
            match (p.location, p.style) {
                (ParamIn::Path, _) => quote!(call.path_param(#wire, &request.#field);),
                (ParamIn::Query, "DeepObject") => {
                    quote!(call.deep_object_query(#wire, &request.#field);)
                }
                (ParamIn::Query, _) => {
                    let explode = p.explode;
                    quote!(call.query(#wire, &request.#field, #explode);)
                }
                (ParamIn::Header, _) => quote!(call.header(#wire, &request.#field);),
                (ParamIn::Cookie, _) => quote!(call.cookie(#wire, &request.#field);),
            }
        });
        let body = op.body.as_ref().map(|b| {
            let send = |m: &MediaPlan, value: TokenStream| {
                let media_type = &m.media_type;
                match m.kind {
                    BodyKind::Json => quote!(call.json(#value);),
                    BodyKind::Form => quote!(call.form(#value);),
                    BodyKind::Multipart => {
                        let files = &m.file_fields;
                        quote!(call.multipart(#value, &[#(#files),*]);)
                    }
                    BodyKind::Text => {
                        quote!(call.text(#media_type, ::std::string::ToString::to_string(#value));)
                    }
                    BodyKind::Binary => {
                        let media_type = if media_type.contains('*') {
                            "application/octet-stream"
                        } else {
                            media_type.as_str()
                        };
                        if m.ty == Ty::Bytes {
                            quote!(call.bytes(#media_type, ::std::clone::Clone::clone(#value));)
                        } else {
                            quote!(call.json(#value);)
                        }
                    }
                }
            };
            let send_body = match &op.body_enum {
                Some(e) => {
                    let e = ident(e);
                    let arms = b.media.iter().map(|m| {
                        let v = ident(&m.variant);
                        let send = send(m, quote!(value));
                        quote!(super::types::#e::#v(value) => { #send })
                    });
                    quote!(match body { #(#arms)* })
                }
                None => send(&b.media[0], quote!(body)),
            };
            if b.required {
                quote! { let body = &request.body; #send_body }
            } else {
                quote! { if let Some(body) = &request.body { #send_body } }
            }
        });
        let success_arms = op.success.iter().map(|r| {
            let decode = decode_body(r);
            let value = match (&op.success_enum, &r.body) {
                (None, Some(_)) => decode,
                (None, None) => quote!(()),
                (Some(e), _) => {
                    let e = ident(e);
                    variant_value(&quote!(super::types::#e), r, decode)
                }
            };
            (r.key.clone(), quote!(Ok(#value)))
        });
        let error_arms = op.errors.iter().map(|r| {
            let value = variant_value(&quote!(super::types::#error), r, decode_body(r));
            (r.key.clone(), quote!(Err(ClientError::Api(#value))))
        });
        let mut arms: Vec<(StatusKey, TokenStream)> = success_arms.chain(error_arms).collect();
        // Exact codes, then ranges, then default; `default` splits by class
        // when both the success and the error side have it.
        arms.sort_by_key(|(k, _)| match k {
            StatusKey::Code(_) => 0,
            StatusKey::Range(_) => 1,
            StatusKey::Default => 2,
        });
        let mut defaults: Vec<TokenStream> = Vec::new();
        let mut match_arms: Vec<TokenStream> = Vec::new();
        for (key, value) in arms {
            match key {
                StatusKey::Code(code) => {
                    let code = Literal::u16_unsuffixed(code);
                    match_arms.push(quote!(#code => #value,));
                }
                StatusKey::Range(class) => {
                    let low = Literal::u16_unsuffixed(class * 100);
                    let high = Literal::u16_unsuffixed(class * 100 + 99);
                    match_arms.push(quote!(#low..=#high => #value,));
                }
                StatusKey::Default => defaults.push(value),
            }
        }
        match defaults.as_slice() {
            [] => match_arms.push(quote!(_ => Err(response.unexpected()),)),
            [only] => match_arms.push(quote!(_ => #only,)),
            [ok, err, ..] => {
                match_arms.push(quote!(100..=399 => #ok,));
                match_arms.push(quote!(_ => #err,));
            }
        }
        // With no declared success, any 2xx is success without a body.
        if op.success.is_empty() {
            match_arms.insert(0, quote!(200..=299 => Ok(()),));
        }
        let uses_status = op
            .success
            .iter()
            .chain(&op.errors)
            .any(|r| r.carries_status());
        let status_binding = uses_status.then(|| quote!(let status = response.status.as_u16();));
        let status_expr = if uses_status {
            quote!(status)
        } else {
            quote!(response.status.as_u16())
        };
        let mutable = if op.params.is_empty() && op.body.is_none() {
            quote!()
        } else {
            quote!(mut)
        };
        let _ = rt;
        let separator = (!doc.is_empty()).then(|| quote!(#[doc = ""]));
        quote! {
            #doc
            #separator
            #[doc = #route]
            pub async fn #name(&self, #request_arg options: &CallOptions) -> Result<#success, ClientError<super::types::#error>> {
                let #mutable call = self.http.call(&super::spec::#table, options);
                #(#params)*
                #body
                let response = self.http.send(call).await?;
                #status_binding
                match #status_expr {
                    #(#match_arms)*
                }
            }
        }
    }

    fn render_server(&self) -> TokenStream {
        let rt = quote!(contractor_runtime);
        let trait_methods = self.ops.iter().map(|op| {
            let name = ident(&op.method);
            let doc = docs::attrs(op.doc.as_deref());
            let route = format!(" `{} {}`", op.http_method.upper(), op.path);
            let success = self.success_type(op);
            let error = ident(&op.error_enum);
            let request = op.request.as_ref().map(|r| {
                let r = ident(r);
                quote!(request: super::types::#r,)
            });
            let separator = (!doc.is_empty()).then(|| quote!(#[doc = ""]));
            quote! {
                #doc
                #separator
                #[doc = #route]
                fn #name(&self, context: RequestContext, #request) -> impl ::std::future::Future<Output = Result<#success, super::types::#error>> + Send;
            }
        });
        let handlers = self.ops.iter().map(|op| self.render_handler(op));
        let registrations = self.ops.iter().map(|op| {
            let table = ident(&op.table);
            let handler = ident(&format!("handle_{}", op.method));
            // JSON bodies with a schema are validated and deserialized in one pass when the
            // server knows the handler's type.
            let typed = op.body.iter().flat_map(|b| {
                b.media.iter().enumerate().filter_map(|(i, m)| {
                    let json = m.kind == BodyKind::Json && m.schema_def.is_some();
                    (json && !matches!(m.ty, Ty::Bytes)).then(|| {
                        let ty = self.types_path(&m.ty);
                        let index = Literal::usize_unsuffixed(i);
                        quote!(.json_body::<#ty>(&super::spec::#table, #index))
                    })
                })
            });
            quote!(.operation(&super::spec::#table, #handler::<A>) #(#typed)*)
        });
        let doc = format!(" The server side of {}.", self.api_title());
        quote! {
            #[doc = #doc]
            #[allow(clippy::type_complexity)]
            pub mod server {
                pub use #rt::server::{RequestContext, ServerConfig};
                use #rt::server::Decoded;
                type HttpResponse = #rt::http::Response<#rt::axum::body::Body>;
                use ::std::sync::Arc;

                /// One method per operation. Requests reach it validated and typed; what it
                /// returns becomes the response with its declared status and media type.
                pub trait Api: Send + Sync + 'static {
                    #(#trait_methods)*
                }

                /// An axum router serving `api`: routing (404 and 405 as problems), request
                /// validation (400 and 422 problems with pointers), body limits, per-operation
                /// timeouts, idempotency keys on unsafe operations, and correlation ids.
                pub fn router<A: Api>(api: A, config: ServerConfig) -> #rt::axum::Router {
                    #rt::server::Server::new(api, config, &super::spec::SCHEMAS)
                        #(#registrations)*
                        .into_router()
                }

                #(#handlers)*
            }
        }
    }

    fn render_handler(&self, op: &OpPlan) -> TokenStream {
        let rt = quote!(contractor_runtime);
        let name = ident(&format!("handle_{}", op.method));
        let method = ident(&op.method);
        let error = ident(&op.error_enum);
        let params_struct = (!op.params.is_empty()).then(|| {
            let fields = op.params.iter().map(|p| {
                let field = ident(&p.field);
                let ty = self.types_path(&p.ty);
                if p.required {
                    quote!(#field: #ty,)
                } else {
                    quote!(#field: Option<#ty>,)
                }
            });
            let names = op.params.iter().map(|p| ident(&p.field));
            quote! {
                #[derive(#rt::serde::Deserialize)]
                #[serde(crate = "contractor_runtime::serde")]
                struct Params { #(#fields)* }
                let Params { #(#names),* } = match input.take_fields() {
                    Ok(params) => params,
                    Err(problem) => return #rt::server::IntoHttp::into_http(problem),
                };
            }
        });
        let body = op.body.as_ref().map(|b| {
            let fail = quote!(return #rt::server::IntoHttp::into_http(problem));
            let decode_media = |m: &MediaPlan, wrap: TokenStream| -> TokenStream {
                let wrapped = |value: TokenStream| {
                    if wrap.is_empty() {
                        value
                    } else {
                        quote!(#wrap(#value))
                    }
                };
                match (m.kind, &m.ty) {
                    (_, Ty::Bytes) => {
                        let value = wrapped(quote!(input.raw_body()));
                        quote!(Some(#value))
                    }
                    (BodyKind::Text, _) => {
                        let value = wrapped(quote!(body));
                        quote! {
                            match input.text_body() { Ok(body) => Some(#value), Err(problem) => #fail }
                        }
                    }
                    _ => {
                        let value = wrapped(quote!(body));
                        quote! {
                            match input.json_body() { Ok(body) => Some(#value), Err(problem) => #fail }
                        }
                    }
                }
            };
            let arms = match &op.body_enum {
                Some(e) => {
                    let e = ident(e);
                    let arms = b.media.iter().enumerate().map(|(i, m)| {
                        let v = ident(&m.variant);
                        let decode = decode_media(m, quote!(super::types::#e::#v));
                        quote!(Some(#i) => #decode,)
                    });
                    quote!(#(#arms)*)
                }
                None => {
                    let decode = decode_media(&b.media[0], quote!());
                    quote!(Some(_) => #decode,)
                }
            };
            let unwrap = b.required.then(|| {
                quote! {
                    let Some(body) = body else {
                        return #rt::server::IntoHttp::into_http(
                            #rt::Problem::new(400).with_detail("the request body is required"),
                        );
                    };
                }
            });
            quote! {
                let body = match input.body_media() {
                    #arms
                    _ => None,
                };
                #unwrap
            }
        });
        let call = match &op.request {
            Some(r) => {
                let r = ident(r);
                let fields = op.params.iter().map(|p| ident(&p.field));
                let body_field = op.body.as_ref().map(|_| quote!(body,));
                quote! {
                    let request = super::types::#r { #(#fields,)* #body_field };
                    api.#method(context, request).await
                }
            }
            None => quote!(api.#method(context).await),
        };
        let success_arms = self.server_success(op);
        let error_arms = op.errors.iter().map(|r| {
            let pattern = variant_pattern(&quote!(super::types::#error), r);
            let response = encode_body(r);
            quote!(Err(#pattern) => #response,)
        });
        let unused_mut = if op.params.is_empty() && op.body.is_none() {
            quote!(let _ = input;)
        } else {
            quote!()
        };
        let input_binding = if op.params.is_empty() && op.body.is_none() {
            quote!(input)
        } else {
            quote!(mut input)
        };
        quote! {
            fn #name<A: Api>(api: Arc<A>, context: RequestContext, #input_binding: Decoded) -> #rt::BoxFuture<'static, HttpResponse> {
                Box::pin(async move {
                    #unused_mut
                    #params_struct
                    #body
                    let result = { #call };
                    match result {
                        #success_arms
                        #(#error_arms)*
                        Err(super::types::#error::Other(problem)) => #rt::server::IntoHttp::into_http(problem),
                    }
                })
            }
        }
    }

    fn server_success(&self, op: &OpPlan) -> TokenStream {
        match (&op.success_enum, op.success.as_slice()) {
            (Some(e), _) => {
                let e = ident(e);
                let arms = op.success.iter().map(|r| {
                    let pattern = variant_pattern(&quote!(super::types::#e), r);
                    let response = encode_body(r);
                    quote!(Ok(#pattern) => #response,)
                });
                quote!(#(#arms)*)
            }
            (None, [only]) => {
                let response = encode_body(only);
                match &only.body {
                    Some(_) => quote!(Ok(body) => #response,),
                    None => quote!(Ok(()) => #response,),
                }
            }
            (None, _) => quote!(Ok(()) => ::contractor_runtime::server::empty_response(204),),
        }
    }

    pub fn into_types(self) -> TypeSpace<'a> {
        self.types
    }

    pub fn operation_count(&self) -> usize {
        self.ops.len()
    }

    /// Type names of every operation (for tests).
    pub fn type_names(&self) -> BTreeMap<SchemaId, String> {
        self.types
            .defs()
            .map(|(id, def)| (*id, def.name.clone()))
            .collect()
    }
}

/// `Enum::Variant`, `Enum::Variant(body)` or `Enum::Variant { status, body }`:
/// a response variant bound to `status` and `body`, as a pattern.
fn variant_pattern(enum_path: &TokenStream, r: &ResponsePlan) -> TokenStream {
    variant_value(enum_path, r, quote!(body))
}

/// A response variant built from `status` and `body` (an expression).
fn variant_value(enum_path: &TokenStream, r: &ResponsePlan, body: TokenStream) -> TokenStream {
    let v = ident(&r.variant);
    let shorthand = body.to_string() == "body";
    match (r.carries_status(), &r.body) {
        (false, Some(_)) => quote!(#enum_path::#v(#body)),
        (false, None) => quote!(#enum_path::#v),
        (true, Some(_)) if shorthand => quote!(#enum_path::#v { status, body }),
        (true, Some(_)) => quote!(#enum_path::#v { status, body: #body }),
        (true, None) => quote!(#enum_path::#v { status }),
    }
}

/// A raw string literal (`r#"..."#`, with as many `#` as the text needs),
/// so that JSON reads as JSON in the generated file.
fn raw_string(text: &str) -> TokenStream {
    let mut hashes = 1;
    while text.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let fence = "#".repeat(hashes);
    format!("r{fence}\"{text}\"{fence}")
        .parse()
        .unwrap_or_else(|_| {
            let literal = Literal::string(text);
            quote!(#literal)
        })
}

fn decode_body(r: &ResponsePlan) -> TokenStream {
    match &r.body {
        Some((_, BodyKind::Text, _)) => quote!(response.text()?),
        Some((Ty::Bytes, _, _)) => quote!(response.bytes()),
        Some(_) => quote!(response.json()?),
        None => quote!(()),
    }
}

fn encode_body(r: &ResponsePlan) -> TokenStream {
    let rt = quote!(::contractor_runtime);
    let status = match r.key {
        StatusKey::Code(code) => {
            let code = Literal::u16_unsuffixed(code);
            quote!(#code)
        }
        _ => quote!(status),
    };
    match &r.body {
        None => quote!(#rt::server::empty_response(#status)),
        Some((_, BodyKind::Text, media_type)) => {
            quote!(#rt::server::text_response(#status, #media_type, body))
        }
        Some((Ty::Bytes, _, media_type)) => {
            quote!(#rt::server::bytes_response(#status, #media_type, body))
        }
        Some((_, _, media_type)) if media_type.contains("problem") => {
            quote!(#rt::server::problem_response(#status, &body))
        }
        Some(_) => quote!(#rt::server::json_response(#status, &body)),
    }
}

fn is_file(graph: &contractor_core::schema::SchemaGraph, id: SchemaId) -> bool {
    let s = contractor_core::schema::flatten(graph, id);
    matches!(s.format.as_deref(), Some("binary" | "byte"))
        || s.items
            .is_some_and(|i| matches!(graph.get(i).format.as_deref(), Some("binary")))
}

fn status_key(status: &str) -> Option<StatusKey> {
    let status = status.trim();
    if status.eq_ignore_ascii_case("default") {
        return Some(StatusKey::Default);
    }
    if let Ok(code) = status.parse::<u16>() {
        return (100..=599).contains(&code).then_some(StatusKey::Code(code));
    }
    let bytes = status.as_bytes();
    if bytes.len() == 3
        && bytes[1..].eq_ignore_ascii_case(b"xx")
        && (b'1'..=b'5').contains(&bytes[0])
    {
        return Some(StatusKey::Range(u16::from(bytes[0] - b'0')));
    }
    None
}

fn is_success(key: StatusKey) -> bool {
    match key {
        StatusKey::Code(c) => c < 400,
        StatusKey::Range(c) => c < 4,
        StatusKey::Default => false,
    }
}

fn status_variant(key: &StatusKey) -> String {
    match key {
        // Reason phrases are plain ASCII words: joined as they are, so that
        // 200 is `Ok` (a variant name may be what a prelude item is called).
        StatusKey::Code(code) => match reason(*code) {
            Some(reason) => reason.split(' ').collect(),
            None => format!("Status{code}"),
        },
        StatusKey::Range(class) => format!("Status{class}xx"),
        StatusKey::Default => "Default".to_string(),
    }
}

fn reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        200 => "Ok",
        201 => "Created",
        202 => "Accepted",
        203 => "Non Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi Status",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "Uri Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_choose_how_bodies_travel() {
        assert_eq!(BodyKind::of("application/json"), BodyKind::Json);
        assert_eq!(BodyKind::of("application/problem+json"), BodyKind::Json);
        assert_eq!(
            BodyKind::of("application/json; charset=utf-8"),
            BodyKind::Json
        );
        assert_eq!(
            BodyKind::of("application/x-www-form-urlencoded"),
            BodyKind::Form
        );
        assert_eq!(BodyKind::of("multipart/form-data"), BodyKind::Multipart);
        assert_eq!(BodyKind::of("text/plain"), BodyKind::Text);
        assert_eq!(BodyKind::of("image/*"), BodyKind::Binary);
        assert_eq!(BodyKind::of("application/octet-stream"), BodyKind::Binary);
    }

    #[test]
    fn statuses_parse_into_keys_and_variants() {
        assert_eq!(status_key("200"), Some(StatusKey::Code(200)));
        assert_eq!(status_key("2XX"), Some(StatusKey::Range(2)));
        assert_eq!(status_key("default"), Some(StatusKey::Default));
        assert_eq!(status_key("700"), None);
        assert_eq!(status_key("x-foo"), None);
        assert_eq!(status_variant(&StatusKey::Code(201)), "Created");
        assert_eq!(status_variant(&StatusKey::Code(299)), "Status299");
        assert_eq!(status_variant(&StatusKey::Range(5)), "Status5xx");
    }
}
