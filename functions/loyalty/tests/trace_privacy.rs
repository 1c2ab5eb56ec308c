//! Issue 14 item 1: at TRACE, the configured level applies to this project's code only; the
//! AWS SDK (whose trace output carries request bodies: the event's payload as sent to SQS)
//! stays at INFO. A real handler against the local DynamoDB and SQS, with its output captured
//! through the telemetry the binary sets up.

use engage_testkit::*;
use engage_webhooks::{Family, Telemetry};

#[tokio::test]
async fn at_trace_no_payload_value_or_secret_reaches_the_output() {
    let telemetry = Telemetry::from_lookup(|var| match var {
        "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".into()),
        "AWS_LAMBDA_LOG_LEVEL" => Some("TRACE".into()),
        _ => None,
    })
    .expect("valid settings");
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let function = rig.function(None);
    let events: Vec<String> = ["loyalty.addPoints", "reward.voucher.created"]
        .iter()
        .map(|t| fresh_envelope(t).0)
        .collect();
    for envelope in &events {
        let (resp, out) = telemetry
            .capture(function.handle_boxed(sent_ago(envelope, 1_000)))
            .await;
        assert_eq!(answer(&resp), processed());
        assert!(!out.log_lines().is_empty(), "the delivery was logged");
        assert_private(&out, &[envelope]);
        let key = SIGNING_SECRET.trim_start_matches("whsec_");
        assert!(!out.text().contains(key), "the signing secret leaked");
    }
    assert_eq!(rig.messages().await.len(), 2, "both reached the queue");
}
