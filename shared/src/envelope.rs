//! The Engage envelope `{eventId, eventType, isEncrypted, payload, tenant}`, parsed without
//! copying the payload, and the decrypted, routed [`Event`] built from it.

use crate::crypto::PayloadDecryptor;
use crate::error::WebhookError;
use crate::event::EventType;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt::Write as _;

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
        self.event_id
            .as_deref()
            .or(self.id.as_deref())
            .filter(|id| !id.trim().is_empty())
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

/// A verified, routed, decrypted event, ready for its family's effect.
#[derive(Debug)]
pub struct Event<'a> {
    /// `eventId`, else `id`, else the delivery's `svix-id`.
    pub id: String,
    pub event_type: EventType,
    pub tenant: String,
    /// The plaintext payload object, exactly as Engage sent it.
    pub payload: Cow<'a, RawValue>,
    /// The signed delivery timestamp (Unix seconds): the change time of last resort.
    pub signed_at: Option<i64>,
}

impl Event<'_> {
    /// The key under which the event is deduplicated: tenant plus event id.
    pub fn dedup_key(&self) -> String {
        format!("{}#{}", self.tenant, self.id)
    }

    /// Identifies the event's content, to tell a true duplicate (same fingerprint) from an id
    /// reused for a different payload. Over the *plaintext*, since a re-encrypted copy of the
    /// same event differs in ciphertext.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.event_type.as_str().as_bytes());
        h.update([0]);
        h.update(self.payload.get().as_bytes());
        let digest = h.finalize();
        let mut out = String::with_capacity(64);
        for b in digest {
            // Writing to a String cannot fail.
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// Parses the payload into its typed model; errors name the problem, never a value.
    pub fn typed_payload<'de, T: Deserialize<'de>>(&'de self) -> Result<T, WebhookError> {
        serde_json::from_str(self.payload.get()).map_err(|e| {
            let text = e.to_string();
            let detail = match text.find("missing field `") {
                Some(at) => {
                    let field = text[at + 15..].split('`').next().unwrap_or("");
                    format!("lacks the field `{field}`")
                }
                None if text.starts_with("invalid") || text.starts_with("unknown variant") => {
                    format!("has a field of the wrong type (column {})", e.column())
                }
                None => format!("is malformed at column {}", e.column()),
            };
            WebhookError::InvalidPayload(format!("the {} payload {detail}", self.event_type))
        })
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

    #[test]
    fn fingerprints_follow_type_and_plaintext() {
        let ev = |t: EventType, p: &str| Event {
            id: "e".into(),
            event_type: t,
            tenant: "t".into(),
            payload: Cow::Owned(RawValue::from_string(p.into()).unwrap()),
            signed_at: None,
        };
        let a = ev(EventType::LoyaltyAddPoints, r#"{"amount":1}"#);
        assert_eq!(
            a.fingerprint(),
            ev(EventType::LoyaltyAddPoints, r#"{"amount":1}"#).fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            ev(EventType::LoyaltyAddPoints, r#"{"amount":2}"#).fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            ev(EventType::PointBalanceUpdated, r#"{"amount":1}"#).fingerprint()
        );
        assert_eq!(a.fingerprint().len(), 64);
        assert_eq!(a.dedup_key(), "t#e");
    }

    #[test]
    fn typed_payload_errors_never_quote_values() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct P {
            flag: bool,
        }
        let ev = Event {
            id: "e".into(),
            event_type: EventType::AcceptsEmailChanged,
            tenant: "t".into(),
            payload: Cow::Owned(
                RawValue::from_string(r#"{"flag":"john@example.com"}"#.into()).unwrap(),
            ),
            signed_at: None,
        };
        let err = ev.typed_payload::<P>().unwrap_err();
        assert_eq!(err.reason(), "invalid_payload");
        assert!(!err.to_string().contains("john"), "{err}");
        let ev = Event {
            payload: Cow::Owned(RawValue::from_string("{}".into()).unwrap()),
            ..ev
        };
        assert_eq!(
            ev.typed_payload::<P>().unwrap_err().to_string(),
            "the contact.acceptsEmail.changed payload lacks the field `flag`"
        );
    }
}
