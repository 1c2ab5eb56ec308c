//! The per-event CPU cost of the receiving core, without network: signature verification,
//! envelope parsing, routing, decryption, fingerprinting and building the queue message.
//! `delivery_record` adds what each delivery prints: the same delivery through `handle_with`
//! (pipeline, a no-network effect, the JSON answer) with no subscriber (`unobserved`) and
//! with the functions' own JSON log line and EMF metrics document written to a sink
//! (`observed`); the difference is the cost of logs and metrics.
//! Run: `cargo bench -p engage-webhooks --bench receive`.

mod common;

use common::{
    body, deliver, headers, observed, receiver, request, MakeDispatch, CASES, METRIC_BYTES, SECRET,
};
use criterion::{criterion_group, criterion_main, Criterion};
use engage_webhooks::{EngageSecrets, PayloadCipher, QueueMessage, Received};
use http::Method;
use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;

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

    let mut group = c.benchmark_group("delivery_record");
    let r = receiver(PayloadCipher::Aes256Gcm);
    let req = request(&body);
    // The subscriber is made after the unobserved run: tracing then asks it about every log
    // statement anew (a single subscriber's answers are cached, as in a function).
    let dispatches: [(&str, MakeDispatch); 2] = [
        ("unobserved", tracing::Dispatch::none),
        ("observed", observed),
    ];
    for (name, dispatch) in dispatches {
        let before = METRIC_BYTES.load(Relaxed);
        tracing::dispatcher::with_default(&dispatch(), || {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let resp = deliver(&r, black_box(&req));
                    assert_eq!(resp.status(), 200);
                    resp
                })
            });
        });
        // The observed run really printed its metric lines, and only it did.
        assert_eq!(
            METRIC_BYTES.load(Relaxed) > before,
            name == "observed",
            "{name}"
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
