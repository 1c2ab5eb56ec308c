//! Memory per event through the receiving core: allocations and bytes allocated per delivery
//! (signature, envelope, routing, decryption, fingerprint, queue message), and the process's
//! peak resident set after many deliveries (a leak would grow it).
//! Run: `cargo bench -p engage-webhooks --bench memory`.

use engage_webhooks::config::EngageSecrets;
use engage_webhooks::crypto::{encrypt, random_iv, PayloadCipher, PayloadKey};
use engage_webhooks::fanout::QueueMessage;
use engage_webhooks::receiver::{now_millis, Received};
use engage_webhooks::{Family, Receiver};
use http::Method;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
const PAYLOAD: &str = r#"{"Amount":100.00,"ContactId":"515c1b2a-7124-4bb9-826b-aedbbe5da8c4","Currency":"SEK","Id":"5f0a9e8d-7c6b-4a59-8e4d-3c2b1a0f9e8d","UniqueCode":"RWD-7Q2K-9XPL","ValidFrom":"2026-11-01T00:00:00+01:00","ValidTo":"2027-01-31T23:59:59+01:00"}"#;
const ROUNDS: usize = 100_000;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let secrets = EngageSecrets {
        signing_secrets: SECRET.into(),
        payload_keys: Some(KEY.into()),
    };
    println!(
        "{:<14} {:>12} {:>14} {:>10}",
        "payload", "allocs/event", "bytes/event", "body bytes"
    );
    for (name, cipher) in [
        ("plain", None),
        ("aes-256-gcm", Some(PayloadCipher::Aes256Gcm)),
        ("aes-256-cbc", Some(PayloadCipher::Aes256Cbc)),
    ] {
        let receiver = Receiver::from_secrets(
            Family::Loyalty,
            &secrets,
            cipher.unwrap_or(PayloadCipher::Aes256Gcm),
        )
        .unwrap();
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
        let body = format!(
            r#"{{"eventId":"e8f7d6c5","eventType":"reward.voucher.created","isEncrypted":{},"payload":{payload},"tenant":"myTenantName"}}"#,
            cipher.is_some()
        );
        let headers = engage_webhooks::signature::signed_headers(
            SECRET,
            "msg_m",
            now_millis() / 1000,
            body.as_bytes(),
        )
        .unwrap();

        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        for _ in 0..ROUNDS {
            let Ok(Received::Event(event)) =
                receiver.receive_parts(&Method::POST, &headers, black_box(body.as_bytes()))
            else {
                panic!("not received");
            };
            black_box((
                event.fingerprint(),
                QueueMessage::from_event(&event, Some("c")),
            ));
        }
        let allocs = (ALLOCS.load(Relaxed) - a0) as f64 / ROUNDS as f64;
        let bytes = (BYTES.load(Relaxed) - b0) as f64 / ROUNDS as f64;
        println!("{name:<14} {allocs:>12.1} {bytes:>14.0} {:>10}", body.len());
    }
    println!(
        "peak RSS after {} deliveries: {} KiB",
        3 * ROUNDS,
        peak_rss_kib()
    );
}
