//! What a delivery prints, read back the way CloudWatch reads it: [`observe`] runs a real
//! handler with its log and metric lines captured, [`check_delivery`] holds the one log line
//! and the one EMF document to what the contract says and to each other, and
//! [`assert_private`] finds no payload value anywhere in the output.

use crate::fixtures::payload_of;
use crate::requests::{answer, request, signature_headers, Shape};
use engage_webhooks::{now_millis, svix_message_id, Captured, Telemetry, WebhookFunction};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// The metrics namespace of every observed delivery.
pub const TEST_NAMESPACE: &str = "EngageWebhooks/observability-test";

/// What the output says about the event's age.
#[derive(Debug, Clone, Copy)]
pub enum Age {
    /// Refused before the signature was verified: its headers are not believed.
    Absent,
    /// From the `svix-timestamp` (whole seconds) of a delivery signed now.
    SignedNow,
    /// From the Svix message id's creation time, about this many ms ago.
    About(i64),
}

/// The delivery a test expects to see recorded.
#[derive(Debug, Clone)]
pub struct Want {
    pub family: &'static str,
    pub status: u16,
    pub reason: &'static str,
    /// Engage's name, or `unknown` when refused before the event was built.
    pub event_type: &'static str,
    /// AWS requests put on the wire, retries included.
    pub calls: u64,
    pub age: Age,
}

impl Want {
    /// What a delivery of `event_type` to the `family` function must print.
    pub fn new(
        family: &'static str,
        status: u16,
        reason: &'static str,
        event_type: &'static str,
        calls: u64,
        age: Age,
    ) -> Want {
        Want {
            family,
            status,
            reason,
            event_type,
            calls,
            age,
        }
    }
}

/// Runs `function` on `req` with JSON logs at info and metrics captured.
pub async fn observe(function: &impl WebhookFunction, req: Request) -> ((u16, String), Captured) {
    let (resp, out) = Telemetry::json("info", TEST_NAMESPACE)
        .capture(function.handle(req))
        .await;
    (answer(&resp), out)
}

/// A function of either kind behind one reference (`WebhookFunction` returns `impl Future`,
/// so it cannot be a trait object itself).
pub trait AnyFunction {
    fn handle_boxed(
        &self,
        req: Request,
    ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + '_>>;
}

impl<F: WebhookFunction> AnyFunction for F {
    fn handle_boxed(
        &self,
        req: Request,
    ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send + '_>> {
        Box::pin(self.handle(req))
    }
}

/// [`observe`] for a [`AnyFunction`].
pub async fn observe_any(function: &dyn AnyFunction, req: Request) -> ((u16, String), Captured) {
    let (resp, out) = Telemetry::json("info", TEST_NAMESPACE)
        .capture(function.handle_boxed(req))
        .await;
    (answer(&resp), out)
}

/// A signed POST of `body` whose Svix message was created `ago_ms` before now (its id is a
/// Svix message id, which carries that time).
pub fn sent_ago(body: &str, ago_ms: i64) -> Request {
    let id = svix_message_id(now_millis() - ago_ms);
    request(Shape::FunctionUrl, body, &signature_headers(body, &id))
}

/// Checks the answer, the one delivery log line and the one metrics document against `want`
/// and against each other; returns the log line and the document.
pub fn check_delivery(answer: &(u16, String), out: &Captured, want: &Want) -> (Value, Value) {
    assert_eq!(answer, &(want.status, want.reason.to_string()));
    let deliveries: Vec<Value> = out
        .log_lines()
        .into_iter()
        .filter(|l| l.get("duration_ms").is_some())
        .collect();
    assert_eq!(
        deliveries.len(),
        1,
        "one log line per delivery: {deliveries:?}"
    );
    let log = deliveries[0].clone();
    let metrics = out.metric_lines();
    assert_eq!(
        metrics.len(),
        1,
        "one metrics document per delivery: {metrics:?}"
    );
    let m = metrics[0].clone();
    let ctx = format!("{}\n{log}\n{m}", want.reason);

    let (level, message) = match want.status {
        500.. => ("ERROR", "delivery failed"),
        300.. => ("WARN", "delivery refused"),
        _ if want.reason == "ignored_event_type" => ("WARN", "delivery ignored"),
        _ => ("INFO", "delivery handled"),
    };
    assert_eq!(log["level"], level, "{ctx}");
    assert_eq!(log["message"], message, "{ctx}");
    assert_eq!(log["family"], want.family, "{ctx}");
    assert_eq!(log["event_type"], want.event_type, "{ctx}");
    assert_eq!(log["reason"], want.reason, "{ctx}");
    assert_eq!(log["status"], want.status, "{ctx}");
    assert_eq!(log["aws_calls"], want.calls, "{ctx}");
    let duration = log["duration_ms"]
        .as_f64()
        .expect("duration_ms is a number");
    assert!((0.0..15_000.0).contains(&duration), "{ctx}");
    assert!(
        log["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{ctx}"
    );

    // The metrics: the same delivery, in the contract's names.
    let directives = m["_aws"]["CloudWatchMetrics"]
        .as_array()
        .expect("directives");
    assert_eq!(directives.len(), 2, "{ctx}");
    for d in directives {
        assert_eq!(d["Namespace"], TEST_NAMESPACE, "{ctx}");
    }
    assert_eq!(m["Family"], want.family, "{ctx}");
    assert_eq!(m["EventType"], want.event_type, "{ctx}");
    assert_eq!(m["Outcome"], want.reason, "{ctx}");
    assert_eq!(m["Deliveries"], 1, "{ctx}");
    assert_eq!(
        m["Processed"],
        u8::from(want.reason == "processed"),
        "{ctx}"
    );
    assert_eq!(m["ServerErrors"], u8::from(want.status >= 500), "{ctx}");
    assert_eq!(m["Unauthorized"], u8::from(want.status == 401), "{ctx}");
    // Refused: Engage's own (signed) delivery answered 4xx, except the transient in_progress.
    let signed = !matches!(want.age, Age::Absent);
    assert_eq!(log["signed"], signed, "{ctx}");
    let refused = signed && (400..500).contains(&want.status) && want.reason != "in_progress";
    assert_eq!(m["Refused"], u8::from(refused), "{ctx}");
    assert_eq!(m["AwsCalls"], log["aws_calls"], "{ctx}");
    assert_eq!(m["Latency"], log["duration_ms"], "{ctx}");
    assert!(
        m["_aws"]["Timestamp"].as_i64().expect("Timestamp") <= now_millis(),
        "{ctx}"
    );

    let declared_age = directives[0]["Metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .any(|x| x["Name"] == "EventAge");
    match want.age {
        Age::Absent => {
            assert!(log.get("event_age_ms").is_none(), "{ctx}");
            assert!(m.get("EventAge").is_none() && !declared_age, "{ctx}");
        }
        Age::SignedNow | Age::About(_) => {
            let age = log["event_age_ms"].as_i64().expect("event_age_ms");
            assert_eq!(m["EventAge"], age, "{ctx}");
            assert!(declared_age, "{ctx}");
            // Message times are in 4 ms steps; the machine may be slow.
            let (low, high) = match want.age {
                Age::About(ago) => (ago - 4, ago + 30_000),
                _ => (0, 30_000),
            };
            assert!(
                (low..high).contains(&age),
                "age {age} not in {low}..{high}: {ctx}"
            );
        }
    }
    (log, m)
}

/// No string value of the payloads of `envelopes` appears anywhere in `out`. Values shorter
/// than 4 characters (a currency or country code) identify no one and could occur by chance.
pub fn assert_private(out: &Captured, envelopes: &[&str]) {
    fn strings(v: &Value, into: &mut Vec<String>) {
        match v {
            Value::String(s) if s.len() >= 4 => into.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings(x, into)),
            Value::Object(o) => o.values().for_each(|x| strings(x, into)),
            _ => {}
        }
    }
    let text = out.text();
    for envelope in envelopes {
        let payload: Value = serde_json::from_str(&payload_of(envelope)).expect("a JSON payload");
        let mut values = Vec::new();
        strings(&payload, &mut values);
        assert!(!values.is_empty(), "a payload with values to look for");
        for value in values {
            assert!(
                !text.contains(&value),
                "{value:?} leaked into the output:\n{text}"
            );
        }
    }
}
