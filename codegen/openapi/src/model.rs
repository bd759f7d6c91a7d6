//! The OpenAPI model the diff rules read: operations with their parameters,
//! bodies and responses, every schema lowered into one `SchemaGraph`. 3.0 and
//! 3.1 documents land here alike (`nullable: true` and `type: [.., "null"]`
//! both become a `null` type), and every element keeps its source location.

use std::collections::BTreeMap;

use contractor_core::Location;
use contractor_core::schema::{SchemaGraph, SchemaId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
        }
    }

    pub fn upper(self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParamIn {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamIn {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

/// A parameter, keyed by where it travels and its name (header names
/// compare case-insensitively, so their key is lower-cased).
#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location_in: ParamIn,
    pub required: bool,
    pub deprecated: bool,
    pub schema: Option<SchemaId>,
    pub style: Option<String>,
    pub explode: Option<bool>,
    pub description: Option<String>,
    pub location: Location,
}

impl Parameter {
    pub fn key(&self) -> (ParamIn, String) {
        let name = if self.location_in == ParamIn::Header {
            self.name.to_ascii_lowercase()
        } else {
            self.name.clone()
        };
        (self.location_in, name)
    }
}

/// One media type of a body.
#[derive(Debug, Clone)]
pub struct Media {
    pub schema: Option<SchemaId>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    pub description: Option<String>,
    /// Media type (lower-cased) -> content.
    pub content: BTreeMap<String, Media>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Header {
    pub required: bool,
    pub deprecated: bool,
    pub schema: Option<SchemaId>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub description: Option<String>,
    /// Header name (lower-cased) -> header.
    pub headers: BTreeMap<String, Header>,
    pub content: BTreeMap<String, Media>,
    pub location: Location,
}

/// Alternatives: any one requirement satisfies the operation; each
/// requirement names schemes (all needed) with their scopes.
pub type Security = Vec<BTreeMap<String, Vec<String>>>;

#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// The path as written (`/pets/{petId}`).
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub deprecated: bool,
    /// `x-timeout`: the server's budget for the operation, in milliseconds
    /// (written as a number of milliseconds or a duration such as `"5s"`).
    pub timeout_ms: Option<u64>,
    /// `x-sunset` (an RFC 3339 date), when the operation may be removed.
    pub sunset: Option<String>,
    /// Path-item and operation parameters merged (operation wins).
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    /// Status code or range (`200`, `2XX`, `default`) -> response.
    pub responses: BTreeMap<String, Response>,
    /// The effective security (operation's, else the document's).
    pub security: Security,
    pub location: Location,
}

impl Operation {
    /// Matching key: method and path with parameter names erased, so that
    /// renaming `{id}` to `{petId}` is not a removal.
    pub fn key(&self) -> (String, Method) {
        (normalize_path(&self.path), self.method)
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.method.upper(), self.path)
    }
}

/// `/pets/{petId}/toys/{id}` -> `/pets/{}/toys/{}`.
pub fn normalize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct SecurityScheme {
    /// `apiKey`, `http`, `oauth2`, `openIdConnect`, `mutualTLS`.
    pub kind: String,
    /// For http: the scheme (`bearer`, `basic`); for apiKey: `in` and name.
    pub detail: String,
    /// For apiKey: where the key travels (`header`, `query`, `cookie`).
    pub api_key_in: Option<String>,
    /// For apiKey: the header, query parameter or cookie name.
    pub api_key_name: Option<String>,
    pub location: Location,
}

/// A lowered OpenAPI document.
#[derive(Debug, Default)]
pub struct Api {
    /// `3.0.3`, `3.1.0`, ...
    pub version: String,
    /// `info.title`, `info.version` and `info.description`.
    pub title: String,
    pub api_version: String,
    pub description: Option<String>,
    pub operations: Vec<Operation>,
    /// Webhooks (3.1) are operations the API calls: their requests are
    /// what the API sends, so rules treat them with the directions swapped.
    pub webhooks: Vec<Operation>,
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    pub schemas: SchemaGraph,
    /// Component schema name -> id (for messages and the changelog).
    pub components: BTreeMap<String, SchemaId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_ignoring_parameter_names() {
        assert_eq!(
            normalize_path("/pets/{petId}/toys/{id}"),
            "/pets/{}/toys/{}"
        );
        assert_eq!(
            normalize_path("/pets/{id}/toys/{toy}"),
            normalize_path("/pets/{petId}/toys/{id}")
        );
        assert_ne!(
            normalize_path("/pets/{id}"),
            normalize_path("/pets/{id}/toys")
        );
    }
}
