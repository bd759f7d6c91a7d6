//! Building responses. Bodies are always fully buffered, so the idempotency layer can store
//! them without copying a stream.

use axum::body::Body;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::correlation;
use crate::problem::{PROBLEM_JSON, Problem};

fn status_or_500(status: u16) -> Result<StatusCode, Response<Body>> {
    StatusCode::from_u16(status).map_err(|_| {
        tracing::error!(status, "handler returned an invalid status code");
        Problem::new(500).into_http()
    })
}

fn with_body(status: StatusCode, content_type: HeaderValue, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, content_type);
    resp
}

fn serialized<T: Serialize>(status: u16, body: &T, content_type: &'static str) -> Response<Body> {
    let status = match status_or_500(status) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match serde_json::to_vec(body) {
        Ok(bytes) => with_body(
            status,
            HeaderValue::from_static(content_type),
            Body::from(bytes),
        ),
        Err(e) => {
            tracing::error!(error = %e, "response body could not be serialized");
            Problem::new(500).into_http()
        }
    }
}

/// A JSON response; a value that does not serialize is logged and becomes a 500 problem.
pub fn json_response<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    serialized(status, body, "application/json")
}

/// An `application/problem+json` response from any serializable problem shape (a generated
/// problem type, say). Inside a server request, `correlation_id` and `instance` are filled in
/// when the object leaves them out or null.
pub fn problem_response<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    match serde_json::to_value(body) {
        Ok(Value::Object(mut map)) => {
            let unset = |v: Option<&Value>| v.is_none_or(Value::is_null);
            if unset(map.get("correlation_id"))
                && let Some(id) = correlation::current()
            {
                map.insert("correlation_id".to_owned(), Value::String(id));
            }
            if unset(map.get("instance"))
                && let Some(path) = correlation::current_instance()
            {
                map.insert("instance".to_owned(), Value::String(path));
            }
            serialized(status, &map, PROBLEM_JSON)
        }
        _ => serialized(status, body, PROBLEM_JSON),
    }
}

/// A response without a body.
pub fn empty_response(status: u16) -> Response<Body> {
    match status_or_500(status) {
        Ok(s) => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = s;
            resp
        }
        Err(resp) => resp,
    }
}

/// A text response.
pub fn text_response(status: u16, content_type: &str, body: String) -> Response<Body> {
    bytes_response(status, content_type, Bytes::from(body))
}

/// A binary response.
pub fn bytes_response(status: u16, content_type: &str, body: Bytes) -> Response<Body> {
    let status = match status_or_500(status) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match HeaderValue::from_str(content_type) {
        Ok(ct) => with_body(status, ct, Body::from(body)),
        Err(_) => {
            tracing::error!(content_type, "handler returned an invalid content type");
            Problem::new(500).into_http()
        }
    }
}

/// Converts a handler's result into a response.
pub trait IntoHttp {
    /// The response.
    fn into_http(self) -> Response<Body>;
}

impl IntoHttp for Response<Body> {
    fn into_http(self) -> Response<Body> {
        self
    }
}

impl IntoHttp for std::convert::Infallible {
    fn into_http(self) -> Response<Body> {
        match self {}
    }
}

/// The problem as `application/problem+json` with its status (500 when absent). Inside a
/// server request, `correlation_id` and `instance` (the request path) are filled in when the
/// problem does not set them.
impl IntoHttp for Problem {
    fn into_http(mut self) -> Response<Body> {
        if !self.extensions.contains_key("correlation_id")
            && let Some(id) = correlation::current()
        {
            self.extensions
                .insert("correlation_id".to_owned(), id.into());
        }
        if self.instance.is_none() {
            self.instance = correlation::current_instance();
        }
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        with_body(
            status,
            HeaderValue::from_static(PROBLEM_JSON),
            Body::from(body),
        )
    }
}

/// `Ok` and `Err` alike become responses.
pub fn respond<R: IntoHttp, E: IntoHttp>(result: Result<R, E>) -> Response<Body> {
    match result {
        Ok(r) => r.into_http(),
        Err(e) => e.into_http(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn body(resp: Response<Body>) -> Bytes {
        resp.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn helpers() {
        let r = json_response(201, &serde_json::json!({"a": 1}));
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(&body(r).await[..], br#"{"a":1}"#);

        assert_eq!(empty_response(204).status(), 204);
        assert_eq!(empty_response(1000).status(), 500);
        let r = text_response(200, "text/plain", "hi".into());
        assert_eq!(r.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(bytes_response(200, "bad\ntype", Bytes::new()).status(), 500);

        struct NotSerializable;
        impl Serialize for NotSerializable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        assert_eq!(json_response(200, &NotSerializable).status(), 500);
    }

    #[tokio::test]
    async fn problems_are_decorated_inside_a_request() {
        let r = correlation::scope_request("cid".into(), http::Uri::from_static("/x"), async {
            respond::<Response<Body>, _>(Err(Problem::new(404)))
        })
        .await;
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let p: Problem = serde_json::from_slice(&body(r).await).unwrap();
        assert_eq!(p.correlation_id(), Some("cid"));
        assert_eq!(p.instance.as_deref(), Some("/x"));
        // Any problem shape gets the same fields; explicit ones are kept.
        let r = correlation::scope_request("cid".into(), http::Uri::from_static("/y"), async {
            problem_response(
                409,
                &serde_json::json!({"title": "t", "correlation_id": null}),
            )
        })
        .await;
        assert_eq!(r.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let v: serde_json::Value = serde_json::from_slice(&body(r).await).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"title": "t", "correlation_id": "cid", "instance": "/y"})
        );
        let plain = Problem::new(400).into_http();
        let p: Problem = serde_json::from_slice(&body(plain).await).unwrap();
        assert_eq!(p.correlation_id(), None);
    }
}
