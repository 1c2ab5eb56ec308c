//! The HTTP answer: the one JSON shape every function answers with, and the one record of
//! each delivery: a JSON log line (ids, types, outcome, timings; never a payload value) and
//! its EMF metrics, both from one tracing event (see [`crate::logging`] and
//! [`crate::metrics`]).

use crate::aws_calls;
use crate::clock::now_millis;
use crate::contract::JSON_CONTENT_TYPE;
use crate::error::WebhookError;
use crate::event::{Event, Family};
use crate::message_time::MessageTime;
use crate::metrics::DELIVERY_TARGET;
use crate::outcome::Outcome;
use crate::pipeline::{Received, Receiver};
use crate::signature::{delivery_id, delivery_timestamp};
use http::HeaderMap;
use lambda_http::{Body, Request, Response};
use std::time::Instant;
use tracing::Level;

/// Runs a family's effect on a request, answers per the contract, and records the delivery:
/// one log line and one metrics document, with the AWS requests it made counted.
pub async fn handle_with<F>(receiver: &Receiver, req: &Request, effect: F) -> Response<Body>
where
    F: AsyncFnOnce(&Event<'_>) -> Result<Outcome, WebhookError>,
{
    let started = Instant::now();
    let family = receiver.family();
    let headers = req.headers();
    aws_calls::counting(async {
        match receiver.receive(req) {
            Ok(Received::Event(event)) => {
                let result = effect(&event).await;
                let sent_at = event
                    .message_time
                    .map(MessageTime::millis)
                    .or_else(|| event.signed_at.map(|s| s.saturating_mul(1000)));
                let record = Delivery {
                    event_type: event.event_type.as_str(),
                    tenant: Some(event.tenant.as_str()),
                    event_id: Some(event.id.as_str()),
                    sent_at,
                    ..Delivery::new(family, headers, &result)
                };
                record.emit(started);
                respond(result)
            }
            Ok(Received::UnknownType(name)) => {
                let result = Ok(Outcome::IgnoredEventType);
                let record = Delivery {
                    event_type: metric_name(&name),
                    sent_at: sent_at(headers),
                    ..Delivery::new(family, headers, &result)
                };
                record.emit(started);
                respond(result)
            }
            Err(e) => {
                let result = Err(e);
                let mut record = Delivery::new(family, headers, &result);
                if signature_verified(record.reason) {
                    record.sent_at = sent_at(headers);
                }
                record.emit(started);
                respond(result)
            }
        }
    })
    .await
}

/// What the log line and the metrics say about one delivery.
struct Delivery<'a> {
    family: Family,
    /// Engage's name, or `unknown` when the delivery was refused before its event was built.
    event_type: &'a str,
    tenant: Option<&'a str>,
    event_id: Option<&'a str>,
    svix_id: Option<&'a str>,
    status: u16,
    reason: &'static str,
    /// When Svix created the message (Unix ms), when known and signed.
    sent_at: Option<i64>,
}

impl<'a> Delivery<'a> {
    fn new(family: Family, headers: &'a HeaderMap, result: &Result<Outcome, WebhookError>) -> Self {
        let (status, reason) = match result {
            Ok(o) => (200, o.reason()),
            Err(e) => (e.status().as_u16(), e.reason()),
        };
        Delivery {
            family,
            event_type: "unknown",
            tenant: None,
            event_id: None,
            svix_id: delivery_id(headers).map(log_id),
            status,
            reason,
            sent_at: None,
        }
    }

    /// The delivery's one tracing event: info when accepted, warn when refused (and for an
    /// ignored type), error for a 5xx. The metrics layer turns the same event into EMF.
    fn emit(&self, started: Instant) {
        let duration_ms = started.elapsed().as_micros() as f64 / 1000.0;
        let aws_calls = aws_calls::so_far();
        let event_age_ms = self.sent_at.map(|at| (now_millis() - at).max(0));
        let family = self.family.as_str();
        let (event_type, tenant, event_id, svix_id) =
            (self.event_type, self.tenant, self.event_id, self.svix_id);
        let (status, reason) = (self.status, self.reason);
        macro_rules! delivery {
            ($level:expr, $message:literal) => {
                tracing::event!(
                    target: DELIVERY_TARGET,
                    $level,
                    family,
                    event_type,
                    tenant,
                    event_id,
                    svix_id,
                    reason,
                    status,
                    duration_ms,
                    aws_calls,
                    event_age_ms,
                    $message
                )
            };
        }
        if status >= 500 {
            delivery!(Level::ERROR, "delivery failed");
        } else if status >= 300 {
            delivery!(Level::WARN, "delivery refused");
        } else if reason == Outcome::IgnoredEventType.reason() {
            delivery!(Level::WARN, "delivery ignored");
        } else {
            delivery!(Level::INFO, "delivery handled");
        }
    }
}

/// Refusals decided before (or by) the signature check: their headers are not Engage's word,
/// so no age is read from them.
const BEFORE_SIGNATURE: [&str; 8] = [
    "method_not_allowed",
    "payload_too_large",
    "source_ip_not_allowed",
    "invalid_custom_header",
    "invalid_body",
    "missing_signature",
    "invalid_signature",
    "timestamp_out_of_tolerance",
];

fn signature_verified(reason: &str) -> bool {
    !BEFORE_SIGNATURE.contains(&reason)
}

/// When Svix created the delivery's message: from its id, else its signed timestamp.
fn sent_at(headers: &HeaderMap) -> Option<i64> {
    MessageTime::of_delivery(headers)
        .map(MessageTime::millis)
        .or_else(|| delivery_timestamp(headers).map(|s| s.saturating_mul(1000)))
}

/// An unknown event type's name as logs and metrics carry it: Engage's name when it looks like
/// one (letters, digits, `.`, `_`, `-`; at most 64), else `unknown`. It is a metric dimension,
/// so it must never be free text.
fn metric_name(name: &str) -> &str {
    let is_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if is_name {
        name
    } else {
        "unknown"
    }
}

/// A header id as the log line carries it: Svix's ids are short and plain; anything else
/// (unsigned requests can send anything) is logged as `invalid`.
fn log_id(id: &str) -> &str {
    let plain = id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if plain {
        id
    } else {
        "invalid"
    }
}

/// The JSON answer: `{"status": reason, "message": ...}` on success,
/// `{"error": reason, "message": ...}` otherwise.
pub fn respond(result: Result<Outcome, WebhookError>) -> Response<Body> {
    let (status, key, reason, message) = match &result {
        Ok(o) => (200, "status", o.reason(), o.message().to_string()),
        Err(e) => (e.status().as_u16(), "error", e.reason(), e.to_string()),
    };
    let body = serde_json::json!({ key: reason, "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, JSON_CONTENT_TYPE)
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_json_with_a_stable_reason() {
        let ok = respond(Ok(Outcome::Duplicate));
        assert_eq!(ok.status(), 200);
        let v: serde_json::Value = serde_json::from_slice(ok.body().as_ref()).unwrap();
        assert_eq!(v["status"], "duplicate");
        assert!(v["message"].as_str().unwrap().len() > 10);
        let err = respond(Err(WebhookError::StorageUnavailable));
        assert_eq!(err.status(), 503);
        assert_eq!(err.headers()["content-type"], "application/json");
        let v: serde_json::Value = serde_json::from_slice(err.body().as_ref()).unwrap();
        assert_eq!(v["error"], "storage_unavailable");
        assert!(v.get("status").is_none());
    }
}
