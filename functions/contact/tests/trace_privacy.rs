//! Issue 14 item 1: at TRACE, the configured level applies to this project's code only; the
//! AWS SDK (whose trace output carries request bodies: the contact's names, email, phone and
//! identity number as written to DynamoDB) stays at INFO. A real handler against the local
//! DynamoDB, with its output captured through the telemetry the binary sets up.

use engage_testkit::*;
use engage_webhooks::{Family, Telemetry};

#[tokio::test]
async fn at_trace_no_personal_value_or_secret_reaches_the_output() {
    let telemetry = Telemetry::from_lookup(|var| match var {
        "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".into()),
        "AWS_LAMBDA_LOG_LEVEL" => Some("TRACE".into()),
        _ => None,
    })
    .expect("valid settings");
    let rig = MirrorRig::new().await;
    let function = rig.function(Family::Contact, None);
    let contact = unique("contact");
    let (created, _) = contact_envelope("contact.created", &contact);
    let (updated, _) = contact_envelope("contact.updated", &contact);
    for envelope in [&created, &updated] {
        let (resp, out) = telemetry
            .capture(function.handle_boxed(sent_ago(envelope, 1_000)))
            .await;
        assert_eq!(answer(&resp), processed());
        assert!(!out.log_lines().is_empty(), "the delivery was logged");
        assert_private(&out, &[&created, &updated]);
        let text = out.text();
        for secret in ["John", "john.doe@example.com", "+46701234567", "20040217-7935"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        let key = SIGNING_SECRET.trim_start_matches("whsec_");
        assert!(!text.contains(key), "the signing secret leaked");
    }
}
