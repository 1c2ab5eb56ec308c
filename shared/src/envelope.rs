//! The Engage envelope `{eventId, eventType, isEncrypted, payload, tenant}`, parsed without
//! copying the payload; the pipeline builds the decrypted, routed [`crate::Event`] from it.

use crate::crypto::PayloadDecryptor;
use crate::error::WebhookError;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The envelope as sent. `payload` stays raw JSON text borrowed from the body: it is
/// forwarded byte for byte, so decimals keep exactly the digits Engage sent.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// Voyado's examples use `eventId`, but the loyalty ones call it `id`.
    #[serde(rename = "eventId", default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "eventType")]
    pub event_type: String,
    #[serde(rename = "isEncrypted", default)]
    pub is_encrypted: bool,
    #[serde(borrow)]
    pub payload: &'a RawValue,
    pub tenant: String,
}

impl<'a> Envelope<'a> {
    /// Parses the body. Not JSON at all is `invalid_json`; JSON of the wrong shape is
    /// `invalid_envelope` (serde's own text is not used: it can quote payload values).
    pub fn parse(body: &'a [u8]) -> Result<Self, WebhookError> {
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                WebhookError::InvalidEnvelope(envelope_problem(&e))
            }
            _ => WebhookError::InvalidJson,
        })?;
        if envelope.event_type.trim().is_empty() {
            return Err(WebhookError::InvalidEnvelope("eventType is empty"));
        }
        if envelope.tenant.trim().is_empty() {
            return Err(WebhookError::InvalidEnvelope("tenant is empty"));
        }
        Ok(envelope)
    }

    /// `eventId`, else `id`.
    pub fn event_id(&self) -> Option<&str> {
        // A blank `eventId` does not hide a real `id`.
        fn given(id: &Option<String>) -> Option<&str> {
            id.as_deref().filter(|id| !id.trim().is_empty())
        }
        given(&self.event_id).or_else(|| given(&self.id))
    }

    /// The plaintext payload: borrowed as-is, or decrypted when `isEncrypted` is true.
    /// Either way it must be a JSON object.
    pub fn open_payload(
        &self,
        decryptor: Option<&PayloadDecryptor>,
    ) -> Result<Cow<'a, RawValue>, WebhookError> {
        if !self.is_encrypted {
            if !is_object(self.payload) {
                return Err(WebhookError::InvalidEnvelope(
                    "payload must be an object when isEncrypted is false",
                ));
            }
            return Ok(Cow::Borrowed(self.payload));
        }
        let encoded: Cow<str> = serde_json::from_str(self.payload.get()).map_err(|_| {
            WebhookError::InvalidEnvelope("payload must be a string when isEncrypted is true")
        })?;
        let decryptor = decryptor.ok_or(WebhookError::PayloadKeyMissing)?;
        let plain = decryptor
            .decrypt(&encoded)
            .map_err(|_| WebhookError::DecryptionFailed)?;
        let raw = RawValue::from_string(plain).map_err(|_| WebhookError::DecryptionFailed)?;
        if !is_object(&raw) {
            return Err(WebhookError::DecryptionFailed);
        }
        Ok(Cow::Owned(raw))
    }
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

/// A short, value-free description of what is wrong with the envelope.
fn envelope_problem(e: &serde_json::Error) -> &'static str {
    let text = e.to_string();
    for (field, problem) in [
        ("eventType", "eventType is missing or not a string"),
        ("tenant", "tenant is missing or not a string"),
        ("payload", "payload is missing"),
    ] {
        if text.contains(&format!("missing field `{field}`")) {
            return problem;
        }
    }
    if text.starts_with("invalid type") {
        "a field has the wrong type"
    } else {
        "the body is not a JSON object with the envelope's fields"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{encrypt, random_iv, PayloadCipher, PayloadKey};

    const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";

    fn decryptor(c: PayloadCipher) -> PayloadDecryptor {
        PayloadDecryptor::new(c, &[PayloadKey::parse(KEY).unwrap()])
    }

    #[test]
    fn parses_event_id_or_id() {
        let a = br#"{"eventId":"e1","eventType":"contact.created","isEncrypted":false,"payload":{},"tenant":"t"}"#;
        assert_eq!(Envelope::parse(a).unwrap().event_id(), Some("e1"));
        let b = br#"{"id":"e2","eventType":"loyalty.addPoints","isEncrypted":false,"payload":{},"tenant":"t"}"#;
        assert_eq!(Envelope::parse(b).unwrap().event_id(), Some("e2"));
        let c = br#"{"eventType":"loyalty.addPoints","payload":{},"tenant":"t"}"#;
        let env = Envelope::parse(c).unwrap();
        assert_eq!(env.event_id(), None);
        assert!(!env.is_encrypted, "isEncrypted defaults to false");
        let d = br#"{"eventId":" ","id":"e4","eventType":"loyalty.addPoints","payload":{},"tenant":"t"}"#;
        assert_eq!(Envelope::parse(d).unwrap().event_id(), Some("e4"));
        let e =
            br#"{"eventId":"","id":"","eventType":"loyalty.addPoints","payload":{},"tenant":"t"}"#;
        assert_eq!(Envelope::parse(e).unwrap().event_id(), None);
    }

    #[test]
    fn the_plain_payload_is_borrowed_byte_for_byte() {
        let body = br#"{"eventId":"e","eventType":"loyalty.addPoints","payload":{"amount":12.50,"x":1e400},"tenant":"t"}"#;
        let env = Envelope::parse(body).unwrap();
        let payload = env.open_payload(None).unwrap();
        assert!(matches!(payload, Cow::Borrowed(_)));
        assert_eq!(payload.get(), r#"{"amount":12.50,"x":1e400}"#);
    }

    #[test]
    fn not_json_and_wrong_shapes_are_told_apart() {
        assert_eq!(
            Envelope::parse(b"not json").unwrap_err(),
            WebhookError::InvalidJson
        );
        assert_eq!(
            Envelope::parse(b"{\"eventType\":").unwrap_err(),
            WebhookError::InvalidJson
        );
        assert_eq!(
            Envelope::parse(br#"{"eventType":"x","payload":{}}"#).unwrap_err(),
            WebhookError::InvalidEnvelope("tenant is missing or not a string")
        );
        assert_eq!(
            Envelope::parse(br#"{"tenant":"t","payload":{}}"#).unwrap_err(),
            WebhookError::InvalidEnvelope("eventType is missing or not a string")
        );
        assert_eq!(
            Envelope::parse(br#"{"tenant":"t","eventType":"x"}"#).unwrap_err(),
            WebhookError::InvalidEnvelope("payload is missing")
        );
        assert_eq!(
            Envelope::parse(br#"{"tenant":"t","eventType":5,"payload":{}}"#).unwrap_err(),
            WebhookError::InvalidEnvelope("a field has the wrong type")
        );
        assert_eq!(
            Envelope::parse(br#"[1,2]"#).unwrap_err().reason(),
            "invalid_envelope"
        );
        assert_eq!(
            Envelope::parse(br#"{"tenant":" ","eventType":"x","payload":{}}"#).unwrap_err(),
            WebhookError::InvalidEnvelope("tenant is empty")
        );
    }

    #[test]
    fn plain_payload_must_be_an_object_and_encrypted_one_a_string() {
        let env = Envelope::parse(br#"{"eventType":"x","tenant":"t","payload":"abc"}"#).unwrap();
        assert_eq!(
            env.open_payload(None).unwrap_err().reason(),
            "invalid_envelope"
        );
        let env = Envelope::parse(
            br#"{"eventType":"x","tenant":"t","isEncrypted":true,"payload":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(
            env.open_payload(Some(&decryptor(PayloadCipher::Aes256Gcm)))
                .unwrap_err()
                .reason(),
            "invalid_envelope"
        );
    }

    #[test]
    fn encrypted_payloads_decrypt_to_their_object() {
        for c in [PayloadCipher::Aes256Gcm, PayloadCipher::Aes256Cbc] {
            let plain = r#"{"amount":10.10}"#;
            let enc = encrypt(
                c,
                &PayloadKey::parse(KEY).unwrap(),
                &random_iv(c),
                plain.as_bytes(),
            );
            let body =
                format!(r#"{{"eventType":"x","tenant":"t","isEncrypted":true,"payload":"{enc}"}}"#);
            let env = Envelope::parse(body.as_bytes()).unwrap();
            assert_eq!(env.open_payload(Some(&decryptor(c))).unwrap().get(), plain);
        }
    }

    #[test]
    fn an_encrypted_payload_without_a_key_is_a_configuration_fault() {
        let env = Envelope::parse(
            br#"{"eventType":"x","tenant":"t","isEncrypted":true,"payload":"QUJD"}"#,
        )
        .unwrap();
        assert_eq!(
            env.open_payload(None).unwrap_err(),
            WebhookError::PayloadKeyMissing
        );
    }

    #[test]
    fn undecryptable_or_non_object_plaintext_fails_decryption() {
        let c = PayloadCipher::Aes256Gcm;
        let key = PayloadKey::parse(KEY).unwrap();
        for plain in ["[1]", "not json", "\"str\""] {
            let enc = encrypt(c, &key, &random_iv(c), plain.as_bytes());
            let body =
                format!(r#"{{"eventType":"x","tenant":"t","isEncrypted":true,"payload":"{enc}"}}"#);
            let env = Envelope::parse(body.as_bytes()).unwrap();
            assert_eq!(
                env.open_payload(Some(&decryptor(c))).unwrap_err(),
                WebhookError::DecryptionFailed,
                "{plain}"
            );
        }
        let env = Envelope::parse(
            br#"{"eventType":"x","tenant":"t","isEncrypted":true,"payload":"@@@"}"#,
        )
        .unwrap();
        assert_eq!(
            env.open_payload(Some(&decryptor(c))).unwrap_err(),
            WebhookError::DecryptionFailed
        );
    }
}
