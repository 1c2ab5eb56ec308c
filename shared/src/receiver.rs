//! The HTTP contract shared by every function: method, size, signature, envelope, routing
//! and decryption, in that order, as a pure function of the request's parts.

use crate::config::{ConfigError, EngageSecrets};
use crate::crypto::{PayloadCipher, PayloadDecryptor};
use crate::envelope::{Envelope, Event};
use crate::error::{Outcome, WebhookError};
use crate::event::{EventType, Family};
use crate::signature::{delivery_id, delivery_timestamp, SignatureVerifier};
use http::{HeaderMap, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Larger bodies are refused (413) before the signature is even computed.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How long an IN_PROGRESS claim stays another delivery's when the invocation's deadline is
/// unknown (tests, or a runtime without one): longer than Svix's 15 s request timeout.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(20);

/// Everything a family needs to turn a request into an [`Event`], built once at cold start.
#[derive(Debug)]
pub struct Receiver {
    family: Family,
    verifier: SignatureVerifier,
    decryptor: Option<PayloadDecryptor>,
}

/// What a verified request turned out to be.
#[derive(Debug)]
pub enum Received<'a> {
    /// A known event of this function's family.
    Event(Event<'a>),
    /// An event type nobody here knows: acknowledged, no effect.
    UnknownType(String),
}

impl Receiver {
    pub fn new(
        family: Family,
        verifier: SignatureVerifier,
        decryptor: Option<PayloadDecryptor>,
    ) -> Self {
        Receiver {
            family,
            verifier,
            decryptor,
        }
    }

    pub fn from_secrets(
        family: Family,
        secrets: &EngageSecrets,
        cipher: PayloadCipher,
    ) -> Result<Self, ConfigError> {
        Ok(Receiver::new(
            family,
            secrets.verifier()?,
            secrets.decryptor(cipher)?,
        ))
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn receive<'a>(&self, req: &'a Request) -> Result<Received<'a>, WebhookError> {
        self.receive_parts(req.method(), req.headers(), req.body().as_ref())
    }

    /// The contract over bytes. The signature is checked over the raw body before anything
    /// is parsed; routing happens before decryption so a misrouted event costs no crypto.
    pub fn receive_parts<'a>(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &'a [u8],
    ) -> Result<Received<'a>, WebhookError> {
        if method != Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(WebhookError::PayloadTooLarge);
        }
        self.verifier.verify(body, headers)?;
        let envelope = Envelope::parse(body)?;
        let Some(event_type) = EventType::parse(&envelope.event_type) else {
            return Ok(Received::UnknownType(envelope.event_type));
        };
        if event_type.family() != self.family {
            return Err(WebhookError::WrongEndpoint(event_type.family()));
        }
        let payload = envelope.open_payload(self.decryptor.as_ref())?;
        // svix-id is the same on every retry of one message, so it is a sound last resort.
        let id = envelope
            .event_id()
            .or_else(|| delivery_id(headers))
            .ok_or(WebhookError::InvalidEnvelope("no eventId, id or svix-id"))?
            .to_string();
        Ok(Received::Event(Event {
            id,
            event_type,
            tenant: envelope.tenant,
            payload,
            signed_at: delivery_timestamp(headers),
        }))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Until when this invocation may hold a claim: its Lambda deadline (after which the runtime
/// has killed it), else [`DEFAULT_LEASE`] from now.
pub fn lease_until_millis(req: &Request) -> i64 {
    match req.lambda_context_ref() {
        Some(ctx) if ctx.deadline > 0 => ctx.deadline as i64,
        _ => now_millis() + DEFAULT_LEASE.as_millis() as i64,
    }
}

/// Runs a family's effect on a request and answers per the contract, logging ids, types and
/// outcomes only.
pub async fn handle_with<F>(receiver: &Receiver, req: &Request, effect: F) -> Response<Body>
where
    F: AsyncFnOnce(&Event<'_>) -> Result<Outcome, WebhookError>,
{
    let svix_id = delivery_id(req.headers()).unwrap_or("-");
    let family = receiver.family().as_str();
    match receiver.receive(req) {
        Ok(Received::Event(event)) => {
            let result = effect(&event).await;
            let (status, reason) = match &result {
                Ok(o) => (200, o.reason()),
                Err(e) => (e.status().as_u16(), e.reason()),
            };
            if status >= 500 {
                tracing::error!(family, svix_id, event_id = %event.id, event_type = %event.event_type, status, reason, "delivery failed");
            } else {
                tracing::info!(family, svix_id, event_id = %event.id, event_type = %event.event_type, status, reason, "delivery handled");
            }
            respond(result)
        }
        Ok(Received::UnknownType(event_type)) => {
            tracing::warn!(family, svix_id, event_type = %event_type.escape_debug(), "ignored unknown event type");
            respond(Ok(Outcome::IgnoredEventType))
        }
        Err(e) => {
            tracing::warn!(
                family,
                svix_id,
                status = e.status().as_u16(),
                reason = e.reason(),
                "delivery refused"
            );
            respond(Err(e))
        }
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
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{encrypt, random_iv, PayloadKey};
    use crate::signature::signed_headers;
    use http::HeaderValue;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";

    fn receiver(family: Family, with_key: bool) -> Receiver {
        let secrets = EngageSecrets {
            signing_secrets: SECRET.into(),
            payload_keys: with_key.then(|| KEY.to_string()),
        };
        Receiver::from_secrets(family, &secrets, PayloadCipher::Aes256Gcm).unwrap()
    }

    fn signed(body: &[u8]) -> HeaderMap {
        signed_headers(SECRET, "msg_abc", now_millis() / 1000, body).unwrap()
    }

    fn post(r: &Receiver, body: &[u8]) -> Result<Received<'static>, WebhookError> {
        let body: &'static [u8] = Box::leak(body.to_vec().into_boxed_slice());
        r.receive_parts(&Method::POST, &signed(body), body)
    }

    const POINTS: &[u8] = br#"{"id":"e1","eventType":"loyalty.addPoints","isEncrypted":false,"payload":{"amount":1.50,"contactId":"c"},"tenant":"t"}"#;

    #[test]
    fn a_signed_event_of_the_family_is_received() {
        let Received::Event(ev) = post(&receiver(Family::Loyalty, false), POINTS).unwrap() else {
            panic!("not an event");
        };
        assert_eq!(ev.id, "e1");
        assert_eq!(ev.event_type, EventType::LoyaltyAddPoints);
        assert_eq!(ev.tenant, "t");
        assert_eq!(ev.payload.get(), r#"{"amount":1.50,"contactId":"c"}"#);
        assert!(ev.signed_at.is_some());
    }

    #[test]
    fn only_post_is_accepted() {
        let r = receiver(Family::Loyalty, false);
        let err = r
            .receive_parts(&Method::GET, &signed(POINTS), POINTS)
            .unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (405, "method_not_allowed")
        );
    }

    #[test]
    fn bodies_over_one_mebibyte_are_refused_before_verification() {
        let r = receiver(Family::Loyalty, false);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let err = r
            .receive_parts(&Method::POST, &HeaderMap::new(), &big)
            .unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (413, "payload_too_large")
        );
        // Exactly 1 MiB is still read (and here fails on its missing signature).
        let ok_size = vec![b' '; MAX_BODY_BYTES];
        let err = r
            .receive_parts(&Method::POST, &HeaderMap::new(), &ok_size)
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 401);
    }

    #[test]
    fn unsigned_and_badly_signed_requests_are_401() {
        let r = receiver(Family::Loyalty, false);
        let err = r
            .receive_parts(&Method::POST, &HeaderMap::new(), POINTS)
            .unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (401, "missing_signature")
        );
        let mut h = signed(POINTS);
        h.insert("svix-signature", HeaderValue::from_static("v1,AAAA"));
        let err = r.receive_parts(&Method::POST, &h, POINTS).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (401, "invalid_signature")
        );
    }

    #[test]
    fn signature_is_checked_before_the_body_is_parsed() {
        let r = receiver(Family::Loyalty, false);
        let err = r
            .receive_parts(&Method::POST, &HeaderMap::new(), b"not json")
            .unwrap_err();
        assert_eq!(err.status().as_u16(), 401);
        let err = post(&r, b"not json").unwrap_err();
        assert_eq!((err.status().as_u16(), err.reason()), (400, "invalid_json"));
    }

    #[test]
    fn another_familys_event_names_its_endpoint() {
        let err = post(&receiver(Family::Contact, false), POINTS).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (422, "wrong_endpoint")
        );
        assert!(err.to_string().contains("loyalty"));
    }

    #[test]
    fn unknown_types_are_received_as_such_without_decryption() {
        let body = br#"{"id":"e","eventType":"loyalty.pointsExpired","isEncrypted":true,"payload":"garbage","tenant":"t"}"#;
        let got = post(&receiver(Family::Loyalty, false), body).unwrap();
        assert!(matches!(got, Received::UnknownType(t) if t == "loyalty.pointsExpired"));
    }

    #[test]
    fn encrypted_events_need_a_key_and_a_good_ciphertext() {
        let c = PayloadCipher::Aes256Gcm;
        let enc = encrypt(
            c,
            &PayloadKey::parse(KEY).unwrap(),
            &random_iv(c),
            br#"{"amount":2,"contactId":"c"}"#,
        );
        let body = format!(
            r#"{{"eventId":"e","eventType":"point.balance.updated","isEncrypted":true,"payload":"{enc}","tenant":"t"}}"#
        );
        let err = post(&receiver(Family::Loyalty, false), body.as_bytes()).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (500, "payload_key_missing")
        );
        let Received::Event(ev) = post(&receiver(Family::Loyalty, true), body.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(ev.payload.get(), r#"{"amount":2,"contactId":"c"}"#);
        let tampered = body.replace(&enc[20..24], "AAAA");
        let err = post(&receiver(Family::Loyalty, true), tampered.as_bytes()).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.reason()),
            (400, "decryption_failed")
        );
    }

    #[test]
    fn the_svix_id_is_the_event_id_of_last_resort() {
        let body = br#"{"eventType":"loyalty.addPoints","payload":{"amount":1,"contactId":"c"},"tenant":"t"}"#;
        let Received::Event(ev) = post(&receiver(Family::Loyalty, false), body).unwrap() else {
            panic!()
        };
        assert_eq!(ev.id, "msg_abc");
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
}
