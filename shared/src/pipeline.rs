//! The request pipeline shared by every function, as a pure function of the request's parts,
//! ending in an [`Event`] (or an unknown type to acknowledge). The checks run in the
//! contract's order: method, size, source IP, custom header, UTF-8 body, signature, envelope,
//! tenant, routing, decryption. Everything before the signature is cheap and reads only what
//! AWS and the headers give; nothing is parsed before the signature is verified. The answer
//! is [`crate::answer`]'s.

use crate::config::{ConfigError, EngageSecrets};
use crate::contract::MAX_BODY_BYTES;
use crate::crypto::{PayloadCipher, PayloadDecryptor};
use crate::envelope::Envelope;
use crate::error::WebhookError;
use crate::event::{Event, EventType, Family};
use crate::security::{source_ip, Guards};
use crate::signature::{delivery_id, delivery_timestamp, SignatureVerifier};
use http::{HeaderMap, Method};
use lambda_http::Request;

/// Everything a family needs to turn a request into an [`Event`], built once at cold start.
#[derive(Debug)]
pub struct Receiver {
    family: Family,
    verifier: SignatureVerifier,
    decryptor: Option<PayloadDecryptor>,
    guards: Guards,
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
            guards: Guards::default(),
        }
    }

    /// The same receiver with the source-IP lock, custom header and tenant lock of `guards`.
    pub fn with_guards(self, guards: Guards) -> Self {
        Receiver { guards, ..self }
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

    /// The request's client address is the event's `requestContext` `sourceIp` (never a
    /// header).
    pub fn receive<'a>(&self, req: &'a Request) -> Result<Received<'a>, WebhookError> {
        self.receive_from(
            source_ip(req),
            req.method(),
            req.headers(),
            req.body().as_ref(),
        )
    }

    /// [`Receiver::receive_from`] with no known client address (refused when the IP lock is
    /// on).
    pub fn receive_parts<'a>(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &'a [u8],
    ) -> Result<Received<'a>, WebhookError> {
        self.receive_from(None, method, headers, body)
    }

    /// The contract over bytes, `source_ip` being the address AWS saw the request come from.
    /// The signature is checked over the raw body before anything is parsed; routing happens
    /// before decryption so a misrouted event costs no crypto.
    pub fn receive_from<'a>(
        &self,
        source_ip: Option<&str>,
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
        if let Some(allowed) = &self.guards.source_ips {
            if !allowed.allows_source(source_ip) {
                return Err(WebhookError::SourceIpNotAllowed);
            }
        }
        if let Some(header) = &self.guards.custom_header {
            header
                .check(headers)
                .map_err(|_| WebhookError::InvalidCustomHeader)?;
        }
        // Svix signs text: a body that is not UTF-8 is a broken request, not a forged one.
        if std::str::from_utf8(body).is_err() {
            return Err(WebhookError::InvalidBody);
        }
        self.verifier.verify(body, headers)?;
        let envelope = Envelope::parse(body)?;
        if let Some(tenants) = &self.guards.tenants {
            if !tenants.allows(&envelope.tenant) {
                return Err(WebhookError::TenantNotAllowed);
            }
        }
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
            message_time: crate::message_time::MessageTime::of_delivery(headers),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_millis;
    use crate::crypto::{encrypt, random_iv, PayloadKey};
    use crate::signature::signed_headers;
    use http::HeaderValue;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// A custom header token of the minimum length.
    const TOKEN: &str = "tok-0123456789abcdef0123456789ab";
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

    /// The (status, reason) `r` refuses a request with.
    fn refusal(
        r: &Receiver,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (u16, &'static str) {
        let err = r.receive_parts(method, headers, body).unwrap_err();
        (err.status().as_u16(), err.reason())
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
        assert_eq!(
            refusal(&r, &Method::GET, &signed(POINTS), POINTS),
            (405, "method_not_allowed")
        );
    }

    #[test]
    fn bodies_over_one_mebibyte_are_refused_before_verification() {
        let r = receiver(Family::Loyalty, false);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            refusal(&r, &Method::POST, &HeaderMap::new(), &big),
            (413, "payload_too_large")
        );
        // Exactly 1 MiB is still read (and here fails on its missing signature).
        let ok_size = vec![b' '; MAX_BODY_BYTES];
        assert_eq!(
            refusal(&r, &Method::POST, &HeaderMap::new(), &ok_size).0,
            401
        );
    }

    #[test]
    fn unsigned_and_badly_signed_requests_are_401() {
        let r = receiver(Family::Loyalty, false);
        assert_eq!(
            refusal(&r, &Method::POST, &HeaderMap::new(), POINTS),
            (401, "missing_signature")
        );
        let mut h = signed(POINTS);
        h.insert("svix-signature", HeaderValue::from_static("v1,AAAA"));
        assert_eq!(
            refusal(&r, &Method::POST, &h, POINTS),
            (401, "invalid_signature")
        );
    }

    #[test]
    fn signature_is_checked_before_the_body_is_parsed() {
        let r = receiver(Family::Loyalty, false);
        assert_eq!(
            refusal(&r, &Method::POST, &HeaderMap::new(), b"not json").0,
            401
        );
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

    fn guarded() -> Receiver {
        use crate::security::{CustomHeaderCheck, SourceIpAllowList, TenantLock};
        receiver(Family::Loyalty, false).with_guards(Guards {
            source_ips: SourceIpAllowList::parse("S", "192.0.2.0/24 2001:db8::/32").unwrap(),
            custom_header: CustomHeaderCheck::from_settings(Some("X-Token"), Some(TOKEN), "T")
                .unwrap(),
            tenants: TenantLock::parse("t"),
        })
    }

    fn reason(r: Result<Received<'_>, WebhookError>) -> &'static str {
        match r {
            Ok(Received::Event(_)) => "event",
            Ok(Received::UnknownType(_)) => "unknown",
            Err(e) => e.reason(),
        }
    }

    #[test]
    fn the_guards_run_in_the_contract_order() {
        let r = guarded();
        let mut token = signed(POINTS);
        token.insert("x-token", HeaderValue::from_static(TOKEN));
        let bad_utf8: &[u8] = b"{\"id\":\"\xff\"}";
        let other_tenant: &[u8] =
            br#"{"id":"e1","eventType":"nobody.knows","payload":{},"tenant":"u"}"#;
        let mut other_signed = signed(other_tenant);
        other_signed.insert("x-token", HeaderValue::from_static(TOKEN));
        let none = HeaderMap::new();
        let ip = Some("192.0.2.1");
        let far = Some("198.51.100.1");
        for (got, want) in [
            (
                r.receive_from(far, &Method::GET, &none, bad_utf8),
                "method_not_allowed",
            ),
            (
                r.receive_from(far, &Method::POST, &none, bad_utf8),
                "source_ip_not_allowed",
            ),
            (
                r.receive_from(None, &Method::POST, &token, POINTS),
                "source_ip_not_allowed",
            ),
            (
                r.receive_parts(&Method::POST, &token, POINTS),
                "source_ip_not_allowed",
            ),
            (
                r.receive_from(ip, &Method::POST, &none, bad_utf8),
                "invalid_custom_header",
            ),
            (
                r.receive_from(ip, &Method::POST, &token, bad_utf8),
                "invalid_body",
            ),
            (
                r.receive_from(ip, &Method::POST, &token, b"{}"),
                "invalid_signature",
            ),
            (
                r.receive_from(ip, &Method::POST, &other_signed, other_tenant),
                "tenant_not_allowed",
            ),
            (
                r.receive_from(Some("2001:db8::9"), &Method::POST, &token, POINTS),
                "event",
            ),
        ] {
            assert_eq!(reason(got), want);
        }
    }

    #[test]
    fn without_guards_any_address_and_no_header_are_served() {
        let r = receiver(Family::Loyalty, false);
        let got = r.receive_from(Some("198.51.100.1"), &Method::POST, &signed(POINTS), POINTS);
        assert_eq!(reason(got), "event");
        assert_eq!(
            reason(r.receive_from(None, &Method::POST, &signed(POINTS), POINTS)),
            "event"
        );
        let err = r
            .receive_parts(&Method::POST, &signed(POINTS), &[0xff])
            .unwrap_err();
        assert_eq!((err.status().as_u16(), err.reason()), (400, "invalid_body"));
    }
}
