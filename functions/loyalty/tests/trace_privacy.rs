//! Issue 14 item 1: the real loyalty binary at TRACE, driven by a loopback Lambda Runtime API
//! against the local AWS, with the custom header check on. lambda_runtime prints the raw event
//! (body and headers) at TRACE; the configured level applies to this project's crates only,
//! so no token, secret or payload value may appear anywhere in what it prints.

use engage_testkit::*;

const TOKEN: &str = "tok-8d2b6f0a4c9e1d3b5a7f9c2e4b6d8a0f";

#[tokio::test]
async fn at_trace_no_token_secret_or_payload_value_reaches_the_output() {
    let rig = FanOutRig::new(engage_webhooks::Family::Loyalty, false).await;
    let envelopes: Vec<String> = ["loyalty.addPoints", "reward.voucher.created"]
        .iter()
        .map(|t| fresh_envelope(t).0)
        .collect();
    let events: Vec<String> = envelopes
        .iter()
        .map(|body| {
            let mut headers = signature_headers(body, &format!("msg_{}", unique("t")));
            headers.push(("x-engage-token".into(), TOKEN.into()));
            function_url_event(body, &headers)
        })
        .collect();
    let endpoint = endpoint();
    let run = run_binary(
        env!("CARGO_BIN_EXE_loyalty"),
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_REGION", "eu-north-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("DEDUP_TABLE", &rig.table),
            ("LOYALTY_QUEUE_URL", &rig.queue_url),
            ("ENGAGE_SIGNING_SECRETS", SIGNING_SECRET),
            ("ENGAGE_CUSTOM_HEADER", "x-engage-token"),
            ("ENGAGE_CUSTOM_HEADER_TOKENS", TOKEN),
        ],
        events,
    );
    let text = &run.output;
    assert_eq!(run.answers.len(), 2, "both answered:\n{text}");
    for answer in &run.answers {
        assert_eq!(answer["statusCode"], 200, "{answer}\n{text}");
    }
    assert_eq!(rig.messages().await.len(), 2, "both reached the queue");
    assert!(
        text.contains("delivery handled"),
        "the deliveries were logged:\n{text}"
    );
    let key = SIGNING_SECRET.trim_start_matches("whsec_");
    for secret in [TOKEN, key] {
        assert!(!text.contains(secret), "a secret leaked:\n{text}");
    }
    for envelope in &envelopes {
        let payload: serde_json::Value = serde_json::from_str(&payload_of(envelope)).unwrap();
        for (field, value) in payload.as_object().unwrap() {
            if let Some(s) = value.as_str().filter(|s| s.len() >= 4) {
                assert!(!text.contains(s), "{field} leaked:\n{text}");
            }
        }
    }
}
