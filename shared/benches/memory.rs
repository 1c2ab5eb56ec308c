//! Memory per event through the receiving core: allocations and bytes allocated per delivery
//! (signature, envelope, routing, decryption, fingerprint, queue message), and the process's
//! peak resident set after many deliveries (a leak would grow it). Then a plaintext delivery
//! through `handle_with` without and with its JSON log line and EMF metrics document (to a
//! sink): the difference is what logs and metrics allocate.
//! Run: `cargo bench -p engage-webhooks --bench memory`.

mod common;

use common::{
    body, deliver, headers, observed, receiver, request, MakeDispatch, CASES, LOG_BYTES,
    METRIC_BYTES,
};
use engage_webhooks::{PayloadCipher, QueueMessage, Received};
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
    println!(
        "{:<14} {:>12} {:>14} {:>10}",
        "payload", "allocs/event", "bytes/event", "body bytes"
    );
    for (name, cipher) in CASES {
        let receiver = receiver(cipher.unwrap_or(PayloadCipher::Aes256Gcm));
        let body = body(cipher);
        let headers = headers(&body);

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
    let receiver = receiver(PayloadCipher::Aes256Gcm);
    let body = body(None);
    let req = request(&body);
    // The subscriber is made after the unobserved run: tracing then asks it about every log
    // statement anew (a single subscriber's answers are cached, as in a function).
    let dispatches: [(&str, MakeDispatch); 2] = [
        ("handle_with, unobserved", tracing::Dispatch::none),
        ("handle_with, observed", observed),
    ];
    for (name, dispatch) in dispatches {
        tracing::dispatcher::with_default(&dispatch(), || {
            let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
            for _ in 0..ROUNDS {
                black_box(deliver(&receiver, black_box(&req)));
            }
            let allocs = (ALLOCS.load(Relaxed) - a0) as f64 / ROUNDS as f64;
            let bytes = (BYTES.load(Relaxed) - b0) as f64 / ROUNDS as f64;
            println!("{name:<24} {allocs:>12.1} {bytes:>14.0} {:>10}", body.len());
        });
    }
    let per_event = |total: &std::sync::atomic::AtomicUsize| total.load(Relaxed) / ROUNDS;
    println!(
        "printed per delivery: log line {} bytes, metrics document {} bytes",
        per_event(&LOG_BYTES),
        per_event(&METRIC_BYTES)
    );
    println!(
        "peak RSS after {} deliveries: {} KiB",
        5 * ROUNDS,
        peak_rss_kib()
    );
}
