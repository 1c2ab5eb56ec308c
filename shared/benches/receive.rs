//! The per-event CPU cost of the receiving core, without network: signature verification,
//! envelope parsing, routing, decryption, fingerprinting and building the queue message.
//! Run: `cargo bench -p engage-webhooks --bench receive`.

use criterion::{criterion_group, criterion_main, Criterion};
use engage_webhooks::config::EngageSecrets;
use engage_webhooks::crypto::{encrypt, random_iv, PayloadCipher, PayloadKey};
use engage_webhooks::fanout::QueueMessage;
use engage_webhooks::receiver::{now_millis, Received};
use engage_webhooks::{Family, Receiver};
use http::{HeaderMap, Method};
use std::hint::black_box;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
const PAYLOAD: &str = r#"{"Amount":100.00,"ContactId":"515c1b2a-7124-4bb9-826b-aedbbe5da8c4","Currency":"SEK","Id":"5f0a9e8d-7c6b-4a59-8e4d-3c2b1a0f9e8d","UniqueCode":"RWD-7Q2K-9XPL","ValidFrom":"2026-11-01T00:00:00+01:00","ValidTo":"2027-01-31T23:59:59+01:00"}"#;

fn body(cipher: Option<PayloadCipher>) -> String {
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

fn headers(body: &str) -> HeaderMap {
    // Signed "now"; criterion's runs stay well inside the 5-minute tolerance.
    engage_webhooks::signature::signed_headers(
        SECRET,
        "msg_bench",
        now_millis() / 1000,
        body.as_bytes(),
    )
    .unwrap()
}

fn receiver(cipher: PayloadCipher) -> Receiver {
    let secrets = EngageSecrets {
        signing_secrets: SECRET.into(),
        payload_keys: Some(KEY.into()),
    };
    Receiver::from_secrets(Family::Loyalty, &secrets, cipher).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive_to_queue_message");
    for (name, cipher) in [
        ("plain", None),
        ("aes-256-gcm", Some(PayloadCipher::Aes256Gcm)),
        ("aes-256-cbc", Some(PayloadCipher::Aes256Cbc)),
    ] {
        let r = receiver(cipher.unwrap_or(PayloadCipher::Aes256Gcm));
        let body = body(cipher);
        let headers = headers(&body);
        group.bench_function(name, |b| {
            b.iter(|| {
                let Ok(Received::Event(event)) =
                    r.receive_parts(&Method::POST, &headers, black_box(body.as_bytes()))
                else {
                    panic!("not received")
                };
                let fingerprint = event.fingerprint();
                let message = QueueMessage::from_event(&event, Some("c"));
                black_box((fingerprint, message))
            })
        });
    }
    group.finish();

    let body = body(None);
    let headers = headers(&body);
    let verifier = EngageSecrets {
        signing_secrets: SECRET.into(),
        payload_keys: None,
    }
    .verifier()
    .unwrap();
    c.bench_function("verify_signature_only", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(body.as_bytes()), &headers)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
