//! Svix signature verification over the raw body, with several active signing secrets, and
//! signing (for tests, the sample events and the signing tool).

use crate::contract::{SVIX_ID, SVIX_SIGNATURE, SVIX_TIMESTAMP, WEBHOOK_ID, WEBHOOK_TIMESTAMP};
use crate::error::WebhookError;
use http::HeaderMap;
use svix::webhooks::{Webhook, WebhookError as SvixError};

/// One verifier per configured `whsec_...` secret, built once at cold start.
///
/// Several secrets are accepted at once so the signing secret can be rotated on our side
/// without a window in which valid deliveries are refused.
pub struct SignatureVerifier {
    secrets: Vec<Webhook>,
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignatureVerifier({} secrets)", self.secrets.len())
    }
}

/// Why a text is not a signing secret. Never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("does not start with whsec_")]
    NotWhsec,
    #[error("is not valid base64")]
    NotBase64,
    /// Standard Webhooks requires at least 24 bytes of key (Svix's own secrets are 24): a
    /// shorter key is guessable, so it stops the cold start rather than guard anything.
    #[error("decodes to {0} bytes; a signing secret needs at least {MIN_SECRET_BYTES}")]
    TooShort(usize),
}

/// The shortest signing key accepted, in decoded bytes (Standard Webhooks' minimum).
pub const MIN_SECRET_BYTES: usize = 24;

/// One `whsec_...` signing secret, checked.
pub struct SigningSecret(Webhook);

impl SigningSecret {
    pub fn parse(secret: &str) -> Result<Self, SecretError> {
        use base64::Engine;
        let Some(key) = secret.strip_prefix("whsec_") else {
            return Err(SecretError::NotWhsec);
        };
        let webhook = Webhook::new(secret).map_err(|_| SecretError::NotBase64)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| SecretError::NotBase64)?
            .len();
        if bytes < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(bytes));
        }
        Ok(SigningSecret(webhook))
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

impl SignatureVerifier {
    /// A verifier accepting any of `secrets` (the configuration makes sure there is one).
    pub fn new(secrets: impl IntoIterator<Item = SigningSecret>) -> Self {
        SignatureVerifier {
            secrets: secrets.into_iter().map(|s| s.0).collect(),
        }
    }

    /// Accepts the delivery if any configured secret matches any signature in the header.
    /// Both `svix-*` and Standard Webhooks `webhook-*` header names are read, and Svix's
    /// 5-minute tolerance applies in both directions.
    pub fn verify(&self, body: &[u8], headers: &HeaderMap) -> Result<(), WebhookError> {
        let mut last = WebhookError::InvalidSignature;
        for secret in &self.secrets {
            match secret.verify(body, headers) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = map_svix_error(e);
                    // Header and timestamp problems are the same for every secret.
                    if last != WebhookError::InvalidSignature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

fn map_svix_error(e: SvixError) -> WebhookError {
    match e {
        SvixError::MissingHeader(name) => WebhookError::MissingSignature(match name {
            "id" => SVIX_ID,
            "timestamp" => SVIX_TIMESTAMP,
            _ => SVIX_SIGNATURE,
        }),
        SvixError::TimestampTooOldError
        | SvixError::FutureTimestampError
        | SvixError::InvalidTimestamp => WebhookError::TimestampOutOfTolerance,
        // A body that is not UTF-8 cannot carry a Svix signature.
        _ => WebhookError::InvalidSignature,
    }
}

/// The message id of a delivery (`svix-id`, else `webhook-id`): the same on every retry.
pub fn delivery_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(SVIX_ID)
        .or_else(|| headers.get(WEBHOOK_ID))
        .and_then(|v| v.to_str().ok())
}

/// The attempt's signed timestamp in Unix seconds (`svix-timestamp`, else `webhook-timestamp`).
pub fn delivery_timestamp(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(SVIX_TIMESTAMP)
        .or_else(|| headers.get(WEBHOOK_TIMESTAMP))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Why a body could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("bad secret: {0}")]
    Secret(String),
    #[error("cannot sign: {0}")]
    Sign(String),
    #[error("{0}")]
    HeaderValue(String),
}

/// Signs `body` the way Svix does and returns the signature header's value, for tests, the
/// sample-event tools and the local demo.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let webhook = Webhook::new(secret).map_err(|e| SigningError::Secret(e.to_string()))?;
    webhook
        .sign(msg_id, timestamp, body)
        .map_err(|e| SigningError::Sign(e.to_string()))
}

/// The three `svix-*` headers for `body`, signed with `secret` at `timestamp` (Unix seconds).
pub fn signed_headers(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<HeaderMap, SigningError> {
    let signature = sign(secret, msg_id, timestamp, body)?;
    let value = |v: &str| {
        http::HeaderValue::from_str(v).map_err(|e| SigningError::HeaderValue(e.to_string()))
    };
    let mut headers = HeaderMap::new();
    headers.insert(SVIX_ID, value(msg_id)?);
    headers.insert(SVIX_TIMESTAMP, value(&timestamp.to_string())?);
    headers.insert(SVIX_SIGNATURE, value(&signature)?);
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const OTHER: &str = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkhISE=";

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn verifier(secrets: &[&str]) -> SignatureVerifier {
        SignatureVerifier::new(secrets.iter().map(|s| SigningSecret::parse(s).unwrap()))
    }

    fn headers(prefix: &str, id: &str, ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::HeaderName::try_from(format!("{prefix}-id")).unwrap(),
            HeaderValue::from_str(id).unwrap(),
        );
        h.insert(
            http::HeaderName::try_from(format!("{prefix}-timestamp")).unwrap(),
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert(
            http::HeaderName::try_from(format!("{prefix}-signature")).unwrap(),
            HeaderValue::from_str(sig).unwrap(),
        );
        h
    }

    #[test]
    fn svix_published_test_vector_signs_as_published() {
        let sig = sign(
            SECRET,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn svix_published_test_vector_verifies_apart_from_its_old_timestamp() {
        let v = verifier(&[SECRET]);
        let h = headers(
            "svix",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
        // The vector is from 2021, so the tolerance check must reject it...
        assert_eq!(
            v.verify(br#"{"test": 2432232314}"#, &h),
            Err(WebhookError::TimestampOutOfTolerance)
        );
        // ...while the signature itself is right.
        Webhook::new(SECRET)
            .unwrap()
            .verify_ignoring_timestamp(br#"{"test": 2432232314}"#, &h)
            .unwrap();
    }

    #[test]
    fn both_header_families_verify() {
        let v = verifier(&[SECRET]);
        let ts = now();
        let body = br#"{"a":1}"#;
        let sig = sign(SECRET, "msg_1", ts, body).unwrap();
        assert_eq!(v.verify(body, &headers("svix", "msg_1", ts, &sig)), Ok(()));
        assert_eq!(
            v.verify(body, &headers("webhook", "msg_1", ts, &sig)),
            Ok(())
        );
    }

    #[test]
    fn any_of_several_signatures_in_the_header_may_match() {
        let v = verifier(&[SECRET]);
        let ts = now();
        let body = br#"{"a":1}"#;
        let good = sign(SECRET, "msg_1", ts, body).unwrap();
        let bad = sign(OTHER, "msg_1", ts, body).unwrap();
        let header = format!("{bad} v1a,ignored {good}");
        assert_eq!(
            v.verify(body, &headers("svix", "msg_1", ts, &header)),
            Ok(())
        );
    }

    #[test]
    fn any_of_several_secrets_may_match_for_rotation() {
        let v = verifier(&[OTHER, SECRET]);
        let ts = now();
        let body = br#"{"a":1}"#;
        for secret in [SECRET, OTHER] {
            let sig = sign(secret, "msg_1", ts, body).unwrap();
            assert_eq!(v.verify(body, &headers("svix", "msg_1", ts, &sig)), Ok(()));
        }
    }

    #[test]
    fn a_tampered_body_or_wrong_secret_is_rejected() {
        let v = verifier(&[SECRET]);
        let ts = now();
        let sig = sign(SECRET, "msg_1", ts, br#"{"a":1}"#).unwrap();
        assert_eq!(
            v.verify(br#"{"a":2}"#, &headers("svix", "msg_1", ts, &sig)),
            Err(WebhookError::InvalidSignature)
        );
        let other = sign(OTHER, "msg_1", ts, br#"{"a":1}"#).unwrap();
        assert_eq!(
            v.verify(br#"{"a":1}"#, &headers("svix", "msg_1", ts, &other)),
            Err(WebhookError::InvalidSignature)
        );
        // The id is part of the signed content.
        assert_eq!(
            v.verify(br#"{"a":1}"#, &headers("svix", "msg_2", ts, &sig)),
            Err(WebhookError::InvalidSignature)
        );
    }

    #[test]
    fn the_five_minute_tolerance_applies_both_ways() {
        let v = verifier(&[SECRET]);
        let body = br#"{"a":1}"#;
        for (ts, ok) in [
            (now() - 290, true),
            (now() + 290, true),
            (now() - 310, false),
            (now() + 310, false),
        ] {
            let sig = sign(SECRET, "msg_1", ts, body).unwrap();
            let got = v.verify(body, &headers("svix", "msg_1", ts, &sig));
            if ok {
                assert_eq!(got, Ok(()), "ts offset {}", ts - now());
            } else {
                assert_eq!(got, Err(WebhookError::TimestampOutOfTolerance));
            }
        }
    }

    #[test]
    fn missing_headers_are_named() {
        let v = verifier(&[SECRET]);
        let mut h = headers("svix", "msg_1", now(), "v1,xx");
        h.remove("svix-signature");
        assert_eq!(
            v.verify(b"{}", &h),
            Err(WebhookError::MissingSignature("svix-signature"))
        );
        assert_eq!(
            v.verify(b"{}", &HeaderMap::new()),
            Err(WebhookError::MissingSignature("svix-id"))
        );
    }

    #[test]
    fn a_non_utf8_body_cannot_be_verified() {
        let v = verifier(&[SECRET]);
        let h = headers("svix", "msg_1", now(), "v1,xx");
        assert_eq!(
            v.verify(&[0xff, 0xfe], &h),
            Err(WebhookError::InvalidSignature)
        );
    }

    #[test]
    fn secrets_are_validated_at_configuration() {
        assert_eq!(SigningSecret::parse("").unwrap_err(), SecretError::NotWhsec);
        assert_eq!(
            SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::NotWhsec
        );
        let err = SigningSecret::parse("whsec_!!!").unwrap_err();
        assert_eq!(err, SecretError::NotBase64);
        assert!(!err.to_string().contains("!!!"), "{err}");
        // Lists of secrets and the variable's name in errors: see config.rs.
    }

    fn whsec_of(len: usize) -> String {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD.encode(vec![0x5a; len]);
        format!("whsec_{key}")
    }

    #[test]
    fn a_secret_must_decode_to_at_least_24_bytes() {
        assert_eq!(
            SigningSecret::parse(&whsec_of(23)).unwrap_err(),
            SecretError::TooShort(23)
        );
        assert_eq!(
            SigningSecret::parse("whsec_c2hvcnQ=").unwrap_err(),
            SecretError::TooShort(5)
        );
        assert!(SigningSecret::parse(&whsec_of(24)).is_ok());
        assert!(SigningSecret::parse(&whsec_of(32)).is_ok());
        // Svix's published example secret is exactly 24 bytes.
        assert!(SigningSecret::parse(SECRET).is_ok());
        let secret = whsec_of(23);
        let err = SigningSecret::parse(&secret).unwrap_err().to_string();
        assert_eq!(
            err,
            "decodes to 23 bytes; a signing secret needs at least 24"
        );
        assert!(!err.contains(&secret[6..]), "{err}");
    }

    #[test]
    fn delivery_id_and_timestamp_read_either_header_family() {
        let h = headers("webhook", "msg_9", 1700000000, "v1,x");
        assert_eq!(delivery_id(&h), Some("msg_9"));
        assert_eq!(delivery_timestamp(&h), Some(1700000000));
        assert_eq!(delivery_id(&HeaderMap::new()), None);
    }
}
