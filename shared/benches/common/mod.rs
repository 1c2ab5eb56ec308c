//! The event, secret and key both benchmarks measure with.

use engage_webhooks::{
    encrypt, now_millis, random_iv, EngageSecrets, Family, PayloadCipher, PayloadKey, Receiver,
};
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
    engage_webhooks::signed_headers(SECRET, "msg_bench", now_millis() / 1000, body.as_bytes())
        .unwrap()
}

pub fn receiver(cipher: PayloadCipher) -> Receiver {
    let secrets = EngageSecrets {
        signing_secrets: SECRET.into(),
        payload_keys: Some(KEY.into()),
    };
    Receiver::from_secrets(Family::Loyalty, &secrets, cipher).unwrap()
}

/// A signed Lambda request of `body`, from a Svix message created a minute ago (its id
/// carries that time, as Svix's do), as `handle_with` receives it.
#[allow(dead_code)] // each bench uses its own subset of this module
pub fn request(body: &str) -> lambda_http::Request {
    let id = engage_webhooks::svix_message_id(now_millis() - 60_000);
    let headers =
        engage_webhooks::signed_headers(SECRET, &id, now_millis() / 1000, body.as_bytes()).unwrap();
    let mut req = lambda_http::http::Request::new(lambda_http::Body::Text(body.to_string()));
    *req.method_mut() = http::Method::POST;
    *req.headers_mut() = headers;
    req
}

/// One delivery through `handle_with` (pipeline, effect, answer, log line and metrics) with
/// an effect that needs no network: it completes on its first poll.
#[allow(dead_code)]
pub fn deliver(
    receiver: &Receiver,
    req: &lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let fut = engage_webhooks::handle_with(receiver, req, async |_| {
        Ok(engage_webhooks::Outcome::Processed)
    });
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(resp) => resp,
        Poll::Pending => panic!("the delivery waited on nothing"),
    }
}

/// Bytes of log lines and of metric lines written by [`observed`] subscribers.
#[allow(dead_code)]
pub static LOG_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
#[allow(dead_code)]
pub static METRIC_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A writer that only counts what it is given.
pub struct Counted(&'static std::sync::atomic::AtomicUsize);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .fetch_add(buf.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The functions' own subscriber (JSON log lines at info, EMF metrics in the namespace the
/// template gives a stack named `engage-webhooks`), its lines counted and dropped.
#[allow(dead_code)]
pub fn observed() -> tracing::Dispatch {
    engage_webhooks::Telemetry::json("info", "EngageWebhooks/engage-webhooks")
        .dispatch(|| Counted(&LOG_BYTES), || Counted(&METRIC_BYTES))
}

/// How a bench makes the subscriber of a run.
#[allow(dead_code)]
pub type MakeDispatch = fn() -> tracing::Dispatch;
