//! The HTTP answer: the one JSON shape every function answers with, and the one record of
//! each delivery: a JSON log line (ids, types, outcome, timings; never a payload value) and
//! its EMF metrics, both from one tracing event (see [`crate::logging`] and
//! [`crate::metrics`]).

use crate::aws_calls;
use crate::clock::now_millis;
use crate::contract::JSON_CONTENT_TYPE;
use crate::envelope::Envelope;
use crate::error::WebhookError;
use crate::event::{Event, Family};
use crate::message_time::MessageTime;
use crate::metrics::{plain_name, DELIVERY_TARGET};
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
                // Refused after the signature (wrong endpoint, tenant, decryption...): the
                // envelope is Engage's word, so its type, tenant and id go on the record. It is
                // parsed again only on this rare path, so accepted deliveries pay nothing.
                let envelope = signature_verified(record.reason)
                    .then(|| Envelope::parse(req.body().as_ref()).ok())
                    .flatten();
                if signature_verified(record.reason) {
                    record.sent_at = sent_at(headers);
                }
                if let Some(envelope) = &envelope {
                    record.event_type = metric_name(&envelope.event_type);
                    record.tenant = Some(envelope.tenant.as_str());
                    record.event_id = envelope.event_id();
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
    /// Engage's name, or `unknown` when the delivery was refused before its envelope was read.
    event_type: &'a str,
    tenant: Option<&'a str>,
    event_id: Option<&'a str>,
    svix_id: Option<&'a str>,
    status: u16,
    reason: &'static str,
    /// The signature was verified (the `Refused` metric counts only these).
    signed: bool,
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
            signed: signature_verified(reason),
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
        let (status, reason, signed) = (self.status, self.reason, self.signed);
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
                    signed,
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
/// one (a plain name of at most 64 bytes), else `unknown`. It is a metric dimension, so it must
/// never be free text.
fn metric_name(name: &str) -> &str {
    plain_name(name, 64).unwrap_or("unknown")
}

/// A header id as the log line carries it: Svix's ids are short and plain; anything else
/// (unsigned requests can send anything) is logged as `invalid`.
fn log_id(id: &str) -> &str {
    plain_name(id, 64).unwrap_or("invalid")
}

/// Svix's delivery-control header, and its value that stops all retries of the message.
pub const WEBHOOK_DELIVERY: &str = "webhook-delivery";
pub const ABORT_MESSAGE: &str = "abort-message";

/// The JSON answer: `{"status": reason, "message": ...}` on success,
/// `{"error": reason, "message": ...}` otherwise.
pub fn respond(result: Result<Outcome, WebhookError>) -> Response<Body> {
    let (status, key, reason, message) = match &result {
        Ok(o) => (200, "status", o.reason(), o.message().to_string()),
        Err(e) => (e.status().as_u16(), "error", e.reason(), e.to_string()),
    };
    let body = serde_json::json!({ key: reason, "message": message }).to_string();
    let mut builder = Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, JSON_CONTENT_TYPE);
    if result.as_ref().is_err_and(WebhookError::aborts_retries) {
        builder = builder.header(WEBHOOK_DELIVERY, ABORT_MESSAGE);
    }
    builder
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngageSecrets;
    use crate::crypto::PayloadCipher;
    use crate::logging::{Captured, Telemetry};
    use crate::signature::signed_headers;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const POINTS: &str = r#"{"id":"e1","eventType":"loyalty.addPoints","isEncrypted":false,"payload":{"amount":1.50,"contactId":"c-john"},"tenant":"t"}"#;

    /// One delivery of `body`, its effect `outcome`, polled to completion without a runtime.
    fn deliver(body: &str, outcome: Result<Outcome, WebhookError>) -> Response<Body> {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let secrets = EngageSecrets {
            signing_secrets: SECRET.into(),
            payload_keys: None,
        };
        let receiver =
            Receiver::from_secrets(Family::Loyalty, &secrets, PayloadCipher::Aes256Gcm).unwrap();
        let id = crate::message_time::svix_message_id(now_millis() - 30_000);
        let mut req = Request::new(Body::Text(body.to_string()));
        *req.method_mut() = http::Method::POST;
        *req.headers_mut() =
            signed_headers(SECRET, &id, now_millis() / 1000, body.as_bytes()).unwrap();
        let fut = handle_with(&receiver, &req, async |_| outcome);
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(resp) => resp,
            Poll::Pending => panic!("nothing to wait for"),
        }
    }

    #[test]
    fn each_delivery_is_one_log_line_and_one_document() {
        // Without a subscriber nothing is recorded, and the answer is the same.
        let silent = tracing::dispatcher::with_default(&tracing::Dispatch::none(), || {
            deliver(POINTS, Ok(Outcome::Processed))
        });
        assert_eq!(silent.status(), 200);
        // (A subscriber made after the statements were first reached: tracing asks it anew.)
        let captured = Captured::default();
        let dispatch = Telemetry::json("info", "EngageWebhooks/unit")
            .dispatch(captured.logs.clone(), captured.metrics.clone());
        tracing::dispatcher::with_default(&dispatch, || {
            assert_eq!(deliver(POINTS, Ok(Outcome::Processed)).status(), 200);
            let failed = deliver(POINTS, Err(WebhookError::QueueUnavailable));
            assert_eq!(failed.status(), 503);
        });
        let logs = captured.log_lines();
        let metrics = captured.metric_lines();
        assert_eq!((logs.len(), metrics.len()), (2, 2), "{logs:?}");
        assert_eq!(logs[0]["reason"], "processed");
        assert_eq!(logs[1]["level"], "ERROR");
        assert_eq!(metrics[1]["ServerErrors"], 1);
        for log in &logs {
            let age = log["event_age_ms"].as_i64().unwrap();
            assert!((29_996..60_000).contains(&age), "{log}");
            assert_eq!(log["aws_calls"], 0);
        }
        assert!(!captured.text().contains("john"));
    }

    #[test]
    fn a_refusal_after_the_signature_names_the_envelopes_type_tenant_and_id() {
        let captured = Captured::default();
        let dispatch = Telemetry::json("info", "EngageWebhooks/unit")
            .dispatch(captured.logs.clone(), captured.metrics.clone());
        let contact = r#"{"eventId":"e-contact","eventType":"contact.created","isEncrypted":false,"payload":{"contactId":"c-john","email":"john@example.com"},"tenant":"t"}"#;
        tracing::dispatcher::with_default(&dispatch, || {
            // Routed to the loyalty receiver: 422 wrong_endpoint, decided after the signature.
            assert_eq!(deliver(contact, Ok(Outcome::Processed)).status(), 422);
            // Not an envelope at all: nothing to name.
            assert_eq!(deliver("[1]", Ok(Outcome::Processed)).status(), 400);
        });
        let logs = captured.log_lines();
        let metrics = captured.metric_lines();
        assert_eq!(logs[0]["reason"], "wrong_endpoint");
        assert_eq!(logs[0]["event_type"], "contact.created");
        assert_eq!(logs[0]["tenant"], "t");
        assert_eq!(logs[0]["event_id"], "e-contact");
        assert_eq!(metrics[0]["EventType"], "contact.created");
        assert_eq!(logs[1]["event_type"], "unknown");
        assert!(
            logs[1].get("event_id").is_none_or(|v| v.is_null()),
            "{}",
            logs[1]
        );
        assert!(!captured.text().contains("john"));
    }

    #[test]
    fn only_names_become_event_types_and_only_plain_ids_are_logged() {
        assert_eq!(
            metric_name("loyalty.pointsExpired"),
            "loyalty.pointsExpired"
        );
        assert_eq!(metric_name("a b"), "unknown");
        assert_eq!(metric_name(&"x".repeat(65)), "unknown");
        assert_eq!(
            log_id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
        );
        assert_eq!(log_id("john@example.com"), "invalid");
        // Everything the pipeline decides before the signature is verified, in its order.
        for reason in [
            WebhookError::MethodNotAllowed.reason(),
            WebhookError::PayloadTooLarge.reason(),
            WebhookError::SourceIpNotAllowed.reason(),
            WebhookError::InvalidCustomHeader.reason(),
            WebhookError::InvalidBody.reason(),
            WebhookError::MissingSignature("svix-id").reason(),
            WebhookError::InvalidSignature.reason(),
            WebhookError::TimestampOutOfTolerance.reason(),
        ] {
            assert!(!signature_verified(reason), "{reason}");
        }
        for reason in [
            WebhookError::InvalidJson.reason(),
            WebhookError::TenantNotAllowed.reason(),
            WebhookError::WrongEndpoint(Family::Contact).reason(),
            WebhookError::PayloadKeyMissing.reason(),
            WebhookError::StorageUnavailable.reason(),
        ] {
            assert!(signature_verified(reason), "{reason}");
        }
    }

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

    #[test]
    fn only_refusals_no_setting_could_heal_tell_svix_to_stop_retrying() {
        let contact = r#"{"eventId":"e-contact","eventType":"contact.created","isEncrypted":false,"payload":{"contactId":"c"},"tenant":"t"}"#;
        let cases = [
            (deliver("[1]", Ok(Outcome::Processed)), 400, true),
            (deliver("{", Ok(Outcome::Processed)), 400, true),
            (
                deliver(POINTS, Err(WebhookError::ConflictingDuplicate)),
                409,
                true,
            ),
            (deliver(contact, Ok(Outcome::Processed)), 422, false),
            (deliver(POINTS, Err(WebhookError::InProgress)), 409, false),
            (
                deliver(POINTS, Err(WebhookError::QueueUnavailable)),
                503,
                false,
            ),
            (
                deliver(POINTS, Err(WebhookError::InvalidPayload("x".into()))),
                400,
                false,
            ),
            (deliver(POINTS, Ok(Outcome::Processed)), 200, false),
        ];
        for (resp, status, aborts) in cases {
            assert_eq!(resp.status(), status);
            let header = resp.headers().get(WEBHOOK_DELIVERY);
            assert_eq!(
                header.map(|v| v.to_str().unwrap()),
                aborts.then_some(ABORT_MESSAGE),
                "{status}"
            );
        }
    }

    #[test]
    fn refused_counts_signed_deliveries_answered_4xx_except_in_progress() {
        let captured = Captured::default();
        let dispatch = Telemetry::json("info", "EngageWebhooks/unit")
            .dispatch(captured.logs.clone(), captured.metrics.clone());
        let contact = r#"{"eventId":"e-contact","eventType":"contact.created","isEncrypted":false,"payload":{"contactId":"c"},"tenant":"t"}"#;
        tracing::dispatcher::with_default(&dispatch, || {
            deliver(contact, Ok(Outcome::Processed)); // 422 wrong_endpoint, signed
            deliver(POINTS, Err(WebhookError::InvalidPayload("x".into()))); // 400, signed
            deliver(POINTS, Err(WebhookError::InProgress)); // 409, transient
            deliver(POINTS, Err(WebhookError::QueueUnavailable)); // 503
            deliver(POINTS, Ok(Outcome::Processed)); // 200
                                                     // Not correctly signed: 401 before the signature is believed.
            let mut req = Request::new(Body::Text(POINTS.to_string()));
            *req.method_mut() = http::Method::POST;
            let receiver = Receiver::from_secrets(
                Family::Loyalty,
                &EngageSecrets {
                    signing_secrets: SECRET.into(),
                    payload_keys: None,
                },
                PayloadCipher::Aes256Gcm,
            )
            .unwrap();
            let fut = handle_with(&receiver, &req, async |_| Ok(Outcome::Processed));
            let resp = futures_poll(fut);
            assert_eq!(resp.status(), 401);
        });
        let refused: Vec<u64> = captured
            .metric_lines()
            .iter()
            .map(|m| m["Refused"].as_u64().unwrap())
            .collect();
        assert_eq!(refused, [1, 1, 0, 0, 0, 0]);
        let signed: Vec<bool> = captured
            .log_lines()
            .iter()
            .map(|l| l["signed"].as_bool().unwrap())
            .collect();
        assert_eq!(signed, [true, true, true, true, true, false]);
        let declared = &captured.metric_lines()[0]["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Dimensions"], serde_json::json!([["Family"]]));
        assert!(declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Name"] == "Refused" && m["Unit"] == "Count"));
    }

    fn futures_poll<F: std::future::Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("nothing to wait for"),
        }
    }
}
