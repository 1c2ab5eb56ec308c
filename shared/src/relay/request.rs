//! One queue message → one signed POST. The body is the queue message's body byte for byte (the
//! contract in `docs/queues.md`); the idempotency key is the tenant + event id, the same text
//! on every try, and doubles as the Standard Webhooks `webhook-id`, so a receiver deduplicating
//! on either sees one event once.

use crate::tenant_key::fifo_id;
use serde::Deserialize;
use std::borrow::Cow;
use svix::webhooks::Webhook;

/// The header carrying the idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Why a message cannot be relayed; each is permanent (the message goes to the DLQ).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("bad relay signing secret")]
    Secret,
    #[error("message body is not an event: {0}")]
    NotAnEvent(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// The relay's own Standard Webhooks secret (`whsec_` + base64), loaded once at init.
pub struct VoucherSigner(Webhook);

impl VoucherSigner {
    pub fn parse(secret: &str) -> Result<Self, RelayError> {
        Webhook::new(secret.trim())
            .map(VoucherSigner)
            .map_err(|_| RelayError::Secret)
    }
}

impl std::fmt::Debug for VoucherSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoucherSigner([redacted])")
    }
}

#[derive(Deserialize)]
struct Ids<'a> {
    #[serde(rename = "eventId", borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    tenant: Cow<'a, str>,
}

/// The request for one message: its key and the headers to send with `body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherRequest {
    pub idempotency_key: String,
    pub timestamp: i64,
    pub signature: String,
}

impl VoucherRequest {
    /// Signs `body` (a queue message's body) at `timestamp` (Unix seconds).
    pub fn sign(signer: &VoucherSigner, body: &str, timestamp: i64) -> Result<Self, RelayError> {
        let ids: Ids<'_> =
            serde_json::from_str(body).map_err(|e| RelayError::NotAnEvent(e.to_string()))?;
        if ids.event_id.trim().is_empty() || ids.tenant.trim().is_empty() {
            return Err(RelayError::NotAnEvent("blank eventId or tenant".into()));
        }
        // Visible ASCII, at most 128 characters (hashed otherwise): always a valid header value.
        let idempotency_key = fifo_id(&ids.tenant, &ids.event_id);
        let signature = signer
            .0
            .sign(&idempotency_key, timestamp, body.as_bytes())
            .map_err(|e| RelayError::Sign(e.to_string()))?;
        Ok(VoucherRequest {
            idempotency_key,
            timestamp,
            signature,
        })
    }

    /// `(name, value)` of every header but `content-type`.
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (IDEMPOTENCY_KEY, self.idempotency_key.clone()),
            (crate::contract::WEBHOOK_ID, self.idempotency_key.clone()),
            (
                crate::contract::WEBHOOK_TIMESTAMP,
                self.timestamp.to_string(),
            ),
            (crate::contract::WEBHOOK_SIGNATURE, self.signature.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn signature_verifies_with_svix_and_key_is_tenant_and_event() {
        let signer = VoucherSigner::parse(SECRET).unwrap();
        let body =
            r#"{"eventId":"e1","eventType":"reward.voucher.created","tenant":"t","payload":{}}"#;
        let request = VoucherRequest::sign(&signer, body, 1_700_000_000).unwrap();
        assert_eq!(request.idempotency_key, "t#e1");
        let mut headers = http::HeaderMap::new();
        for (name, value) in request.headers() {
            headers.insert(name, value.parse().unwrap());
        }
        Webhook::new(SECRET)
            .unwrap()
            .verify_ignoring_timestamp(body.as_bytes(), &headers)
            .unwrap();
    }

    #[test]
    fn a_body_without_ids_is_refused() {
        let signer = VoucherSigner::parse(SECRET).unwrap();
        assert!(matches!(
            VoucherRequest::sign(&signer, r#"{"tenant":"t"}"#, 1),
            Err(RelayError::NotAnEvent(_))
        ));
    }
}
