//! An envelope as JSON text: its members in their original order, each value as raw JSON, so
//! that editing one member (the event id, the payload) leaves every other byte's meaning
//! alone and numbers are never re-encoded through floats.

use engage_webhooks::{encrypt, random_iv, EventType, Family, PayloadCipher, PayloadKey};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt;

/// Removes the whitespace between JSON tokens, after checking that `text` is JSON. Every
/// token keeps its exact bytes, so numbers are never re-encoded.
pub fn minify(text: &str) -> Result<String, String> {
    serde_json::from_str::<&RawValue>(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    Ok(out)
}

/// A JSON object's members in their original order, each value as raw JSON text.
#[derive(Debug, Clone)]
pub struct Fields(pub Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Fields {
    pub fn parse(text: &str) -> Result<Fields, String> {
        serde_json::from_str(text).map_err(|e| format!("the envelope is not a JSON object: {e}"))
    }

    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The value of a string member.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    }

    /// Replaces a member in place, or appends it.
    pub fn set(&mut self, name: &str, raw_json: String) {
        let value = RawValue::from_string(raw_json).expect("callers pass valid JSON");
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Removes a member, if present.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("raw values serialise")
    }

    /// The event id: `eventId`, else `id` (Voyado's loyalty examples).
    pub fn event_id(&self) -> Option<String> {
        self.string("eventId").or_else(|| self.string("id"))
    }

    /// Replaces the event id where the envelope keeps it: `id` when it has that and no
    /// `eventId`, else `eventId`.
    pub fn set_event_id(&mut self, id: &str) {
        let field = if self.get("eventId").is_none() && self.get("id").is_some() {
            "id"
        } else {
            "eventId"
        };
        self.set(field, json_string(id));
    }

    /// Whether `isEncrypted` is `true`.
    pub fn is_encrypted(&self) -> bool {
        self.get("isEncrypted").map(RawValue::get) == Some("true")
    }

    /// Encrypts the payload the way Engage does (its exact text, under a fresh random IV) and
    /// sets `isEncrypted` to true. Only a plaintext envelope whose payload is an object can be
    /// encrypted.
    pub fn encrypt_payload(
        &mut self,
        cipher: PayloadCipher,
        key: &PayloadKey,
    ) -> Result<(), String> {
        let payload = self
            .get("payload")
            .map(RawValue::get)
            .filter(|p| p.starts_with('{') && !self.is_encrypted())
            .ok_or(
                "only a plaintext envelope (isEncrypted false, payload an object) can be encrypted",
            )?;
        let sealed = encrypt(cipher, key, &random_iv(cipher), payload.as_bytes());
        self.set("payload", json_string(&sealed));
        self.set("isEncrypted", "true".into());
        Ok(())
    }
}

/// How an envelope is turned into a request body.
#[derive(Debug, Default)]
pub struct Options {
    /// Replaces the event id (`eventId`, or `id` where the envelope uses that).
    pub event_id: Option<String>,
    /// Encrypts the payload with this cipher and key, as Engage does.
    pub encrypt: Option<(PayloadCipher, PayloadKey)>,
}

/// A request body ready to be signed, with what the reports need to know about it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub body: String,
    pub event_type: String,
    pub event_id: Option<String>,
    /// `None` for an event type none of the functions knows.
    pub family: Option<Family>,
    /// The plaintext payload, exactly as it appears in the (minified) envelope.
    pub payload: String,
    pub encrypted: bool,
}

/// Minifies the envelope, then applies `options`.
pub fn prepare(envelope: &str, options: &Options) -> Result<Prepared, String> {
    let mut fields = Fields::parse(&minify(envelope)?)?;
    let event_type = fields
        .string("eventType")
        .ok_or("the envelope has no string eventType")?;
    let payload = fields
        .get("payload")
        .ok_or("the envelope has no payload")?
        .get()
        .to_string();
    if let Some(id) = &options.event_id {
        fields.set_event_id(id);
    }
    if let Some((cipher, key)) = &options.encrypt {
        fields.encrypt_payload(*cipher, key)?;
    }
    Ok(Prepared {
        body: fields.to_json(),
        family: EventType::parse(&event_type).map(EventType::family),
        event_type,
        event_id: fields.event_id(),
        payload,
        encrypted: fields.is_encrypted(),
    })
}

pub(crate) fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_only_drops_whitespace_between_tokens() {
        let text = "{\n  \"a\" : 150.50,\n \"s\": \"x  \\\" y\\\\\",\"n\":[1e400, -0.0 ,{ }]\n}\n";
        assert_eq!(
            minify(text).unwrap(),
            r#"{"a":150.50,"s":"x  \" y\\","n":[1e400,-0.0,{}]}"#
        );
        assert!(minify("{\"a\":").is_err());
        assert!(minify("not json").is_err());
    }

    #[test]
    fn fields_keep_order_and_raw_numbers() {
        let mut f = Fields::parse(r#"{"z":1,"eventType":"x","payload":{"amount":12.50}}"#).unwrap();
        f.set("eventType", json_string("y"));
        f.set("new", "true".into());
        assert_eq!(
            f.to_json(),
            r#"{"z":1,"eventType":"y","payload":{"amount":12.50},"new":true}"#
        );
        f.remove("z");
        f.remove("absent");
        assert_eq!(
            f.to_json(),
            r#"{"eventType":"y","payload":{"amount":12.50},"new":true}"#
        );
        assert!(Fields::parse("[1]").is_err());
    }

    #[test]
    fn prepare_sets_the_id_where_the_envelope_keeps_it() {
        let p = prepare(
            r#"{"eventType":"loyalty.addPoints","id":"a","payload":{"amount":1.10}}"#,
            &Options {
                event_id: Some("b".into()),
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(
            p.body,
            r#"{"eventType":"loyalty.addPoints","id":"b","payload":{"amount":1.10}}"#
        );
        assert_eq!(p.family, Some(Family::Loyalty));
        assert_eq!(p.event_id.as_deref(), Some("b"));
        let p = prepare(
            r#"{"eventType":"other","payload":{}}"#,
            &Options {
                event_id: Some("c".into()),
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(p.family, None);
        assert_eq!(
            p.body,
            r#"{"eventType":"other","payload":{},"eventId":"c"}"#
        );
    }

    #[test]
    fn only_plaintext_object_payloads_are_encrypted() {
        let key = PayloadKey::parse("abcdefghijklmnopqrstuvwxyzABCDEF").unwrap();
        let options = Options {
            encrypt: Some((PayloadCipher::Aes256Gcm, key)),
            ..Options::default()
        };
        assert!(prepare(
            r#"{"eventType":"x","isEncrypted":true,"payload":"abc"}"#,
            &options
        )
        .is_err());
        assert!(prepare(r#"{"eventType":"x","payload":"abc"}"#, &options).is_err());
        assert!(prepare(r#"{"payload":{}}"#, &Options::default()).is_err());
    }

    /// Encrypting keeps the payload's exact text, whitespace included (only `prepare`
    /// minifies), so that it decrypts to the bytes the envelope held.
    #[test]
    fn an_encrypted_payload_decrypts_to_its_exact_text() {
        let text = "{\"eventType\":\"x\",\"isEncrypted\":false,\"payload\":{ \"amount\": 12.50 }}";
        let mut fields = Fields::parse(text).unwrap();
        let key = PayloadKey::parse("abcdefghijklmnopqrstuvwxyzABCDEF").unwrap();
        for cipher in [PayloadCipher::Aes256Gcm, PayloadCipher::Aes256Cbc] {
            let mut sealed = fields.clone();
            sealed.encrypt_payload(cipher, &key).unwrap();
            assert!(sealed.is_encrypted());
            let encoded = sealed.string("payload").unwrap();
            let decryptor =
                engage_webhooks::PayloadDecryptor::new(cipher, std::slice::from_ref(&key));
            assert_eq!(
                decryptor.decrypt(&encoded).unwrap(),
                "{ \"amount\": 12.50 }"
            );
            assert!(sealed.encrypt_payload(cipher, &key).is_err(), "only once");
        }
        fields.set_event_id("e-1");
        assert_eq!(fields.event_id().as_deref(), Some("e-1"));
    }
}
