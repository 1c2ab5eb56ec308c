//! The event, secret and key both benchmarks measure with.

use engage_webhooks::config::EngageSecrets;
use engage_webhooks::crypto::{encrypt, random_iv, PayloadCipher, PayloadKey};
use engage_webhooks::receiver::now_millis;
use engage_webhooks::{Family, Receiver};
use http::HeaderMap;

pub const CASES: [(&str, Option<PayloadCipher>); 3] = [
    ("plain", None),
    ("aes-256-gcm", Some(PayloadCipher::Aes256Gcm)),
    ("aes-256-cbc", Some(PayloadCipher::Aes256Cbc)),
];

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
pub const PAYLOAD: &str = r#"{"Amount":100.00,"ContactId":"515c1b2a-7124-4bb9-826b-aedbbe5da8c4","Currency":"SEK","Id":"5f0a9e8d-7c6b-4a59-8e4d-3c2b1a0f9e8d","UniqueCode":"RWD-7Q2K-9XPL","ValidFrom":"2026-11-01T00:00:00+01:00","ValidTo":"2027-01-31T23:59:59+01:00"}"#;

pub fn body(cipher: Option<PayloadCipher>) -> String {
    let payload = match cipher {
        None => PAYLOAD.to_string(),
        Some(c) => format!(
            "\"{}\"",
            encrypt(
                c,
                &PayloadKey::parse(KEY).unwrap(),
                &random_iv(c),
                PAYLOAD.as_bytes()
            )
        ),
    };
    format!(
        r#"{{"eventId":"e8f7d6c5-b4a3-4921-8f0e-1d2c3b4a5968","eventType":"reward.voucher.created","isEncrypted":{},"payload":{payload},"tenant":"myTenantName"}}"#,
        cipher.is_some()
    )
}

pub fn headers(body: &str) -> HeaderMap {
    // Signed "now"; criterion's runs stay well inside the 5-minute tolerance.
    engage_webhooks::signature::signed_headers(
        SECRET,
        "msg_bench",
        now_millis() / 1000,
        body.as_bytes(),
    )
    .unwrap()
}

pub fn receiver(cipher: PayloadCipher) -> Receiver {
    let secrets = EngageSecrets {
        signing_secrets: SECRET.into(),
        payload_keys: Some(KEY.into()),
    };
    Receiver::from_secrets(Family::Loyalty, &secrets, cipher).unwrap()
}
