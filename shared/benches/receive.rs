//! The per-event CPU cost of the receiving core, without network: signature verification,
//! envelope parsing, routing, decryption, fingerprinting and building the queue message.
//! Run: `cargo bench -p engage-webhooks --bench receive`.

mod common;

use common::{body, headers, receiver, CASES, SECRET};
use criterion::{criterion_group, criterion_main, Criterion};
use engage_webhooks::config::EngageSecrets;
use engage_webhooks::crypto::PayloadCipher;
use engage_webhooks::fanout::QueueMessage;
use engage_webhooks::receiver::Received;
use http::Method;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive_to_queue_message");
    for (name, cipher) in CASES {
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
