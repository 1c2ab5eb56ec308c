//! How a delivery reaches a function: the Lambda request shapes of `events/requests/`, signed
//! as Svix signs each attempt (by `engage-sign`), and the answer read back as status and reason.

use crate::fixtures::{repo_root, unique, SIGNING_SECRET};
use base64::Engine;
use engage_webhooks::WebhookFunction;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// How the request reaches the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// API Gateway HTTP API (payload format 2.0).
    ApiGatewayHttp,
    /// Lambda Function URL, body as text.
    FunctionUrl,
    /// Lambda Function URL with the body base64-encoded (`isBase64Encoded: true`).
    FunctionUrlBase64,
}

impl Shape {
    pub const ALL: [Shape; 3] = [
        Shape::ApiGatewayHttp,
        Shape::FunctionUrl,
        Shape::FunctionUrlBase64,
    ];
}

/// The three signature headers for `body`, signed now with [`SIGNING_SECRET`].
pub fn signature_headers(body: &str, msg_id: &str) -> Vec<(String, String)> {
    signature_headers_at(body, msg_id, engage_sign::now_seconds())
}

/// The three signature headers for `body`, signed with [`SIGNING_SECRET`] as of `timestamp`
/// (Unix seconds): a stale or future delivery.
pub fn signature_headers_at(body: &str, msg_id: &str, timestamp: i64) -> Vec<(String, String)> {
    engage_sign::sign(SIGNING_SECRET, msg_id, timestamp, body, false)
        .expect("the test secret signs")
        .pairs()
}

/// A Lambda request of `shape` carrying `body` and `headers`, parsed by lambda_http exactly as
/// the runtime parses a real event.
pub fn request(shape: Shape, body: &str, headers: &[(String, String)]) -> Request {
    lambda_request(shape, None, body.as_bytes(), headers)
}

/// A Lambda request of `shape` from `source_ip` (the shape's own when `None`) carrying `body`
/// and `headers`, parsed by lambda_http as the runtime parses a real event. A body that is not
/// UTF-8, and every body of [`Shape::FunctionUrlBase64`], travels base64-encoded
/// (`isBase64Encoded: true`).
pub(crate) fn lambda_request(
    shape: Shape,
    source_ip: Option<&str>,
    body: &[u8],
    headers: &[(String, String)],
) -> Request {
    let file = match shape {
        Shape::ApiGatewayHttp => "apigw-http-v2.json",
        Shape::FunctionUrl | Shape::FunctionUrlBase64 => "function-url.json",
    };
    let path = repo_root().join("events/requests").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut event: Value = serde_json::from_str(&text).expect("a JSON request shape");
    if let Some(source_ip) = source_ip {
        event["requestContext"]["http"]["sourceIp"] = Value::String(source_ip.into());
    }
    for (k, v) in headers {
        event["headers"][k.to_ascii_lowercase()] = Value::String(v.clone());
    }
    match std::str::from_utf8(body) {
        Ok(text) if shape != Shape::FunctionUrlBase64 => {
            event["body"] = Value::String(text.into());
        }
        _ => {
            event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
            event["isBase64Encoded"] = Value::Bool(true);
        }
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid Lambda HTTP event")
}

/// A correctly signed POST of `body`.
pub fn signed_request(shape: Shape, body: &str) -> Request {
    request(
        shape,
        body,
        &signature_headers(body, &format!("msg_{}", unique("t"))),
    )
}

/// The answer's status and its JSON reason (`status` or `error` field).
pub fn answer(resp: &Response<Body>) -> (u16, String) {
    let v: Value = serde_json::from_slice(resp.body().as_ref()).expect("a JSON answer");
    let reason = v
        .get("status")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str);
    (
        resp.status().as_u16(),
        reason.expect("a reason").to_string(),
    )
}

/// Posts `body`, freshly signed (as Svix signs each delivery and retry anew), in `shape` to
/// `function` and returns its answer: one line for what most tests do over and over.
pub async fn deliver(function: &impl WebhookFunction, shape: Shape, body: &str) -> (u16, String) {
    answer(&function.handle(signed_request(shape, body)).await)
}

/// Hands `req` to `function` and returns its answer.
pub async fn send(function: &impl WebhookFunction, req: Request) -> (u16, String) {
    answer(&function.handle(req).await)
}

/// An attempt of Svix message `msg_id` carrying `envelope` as a Function URL request, signed
/// now (as every attempt is).
pub async fn attempt(
    function: &impl WebhookFunction,
    envelope: &str,
    msg_id: &str,
) -> (u16, String) {
    let headers = signature_headers(envelope, msg_id);
    send(function, request(Shape::FunctionUrl, envelope, &headers)).await
}

/// The answer of a delivery that took effect: `(200, "processed")`.
pub fn processed() -> (u16, String) {
    (200, "processed".into())
}

/// The answer of a refused delivery: `(status, reason)`.
pub fn refused(status: u16, reason: &str) -> (u16, String) {
    (status, reason.to_string())
}
