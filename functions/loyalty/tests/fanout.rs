//! The loyalty function against real DynamoDB and SQS wire protocols (moto's server, started
//! by scripts/test.sh): exactly one message per event, whatever Svix does.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{Family, PayloadCipher, WebhookFunction};
use serde_json::Value;

const TYPES: [&str; 3] = [
    "loyalty.addPoints",
    "point.balance.updated",
    "reward.voucher.created",
];

fn body_of(m: &aws_sdk_sqs::types::Message) -> &str {
    m.body().expect("a body")
}

#[tokio::test]
async fn every_type_plain_and_encrypted_in_every_request_shape_gives_one_exact_message() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let mut expected = Vec::new();
    for cipher in CIPHERS {
        let function = rig.function(cipher);
        for event_type in TYPES {
            for shape in Shape::ALL {
                let (plain, id) = fresh_envelope(event_type);
                let got = deliver(&function, shape, &sealed(&plain, cipher)).await;
                assert_eq!(
                    got,
                    (200, "processed".into()),
                    "{event_type} {cipher:?} {shape:?}"
                );
                expected.push((id, event_type, payload_of(&plain)));
            }
        }
    }
    let messages = rig.messages().await;
    assert_eq!(messages.len(), expected.len());
    for (id, event_type, payload) in expected {
        let matching: Vec<_> = messages
            .iter()
            .filter(|m| attribute(m, "eventType").as_deref() == Some(event_type))
            .filter(|m| {
                serde_json::from_str::<Value>(body_of(m)).unwrap()["eventId"] == id.as_str()
            })
            .collect();
        assert_eq!(matching.len(), 1, "one message for {id}");
        let m = matching[0];
        // The payload is forwarded byte for byte: decimals keep their digits (150.50, 1234.50,
        // 100.00), PascalCase voucher fields and fields we don't model stay.
        let want = format!(
            r#"{{"eventId":"{id}","eventType":"{event_type}","tenant":"myTenantName","payload":{payload}}}"#
        );
        assert_eq!(body_of(m), want);
        assert_eq!(attribute(m, "tenant").as_deref(), Some("myTenantName"));
        assert_eq!(
            attribute(m, "contactId").as_deref(),
            Some("515c1b2a-7124-4bb9-826b-aedbbe5da8c4")
        );
    }
}

#[tokio::test]
async fn decimals_and_unknown_fields_reach_the_queue_exactly_as_sent() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, _) = fresh_envelope("reward.voucher.created");
    let payload = r#"{"Amount":0.1000000000000000055511151231257827,"ContactId":"c-1","Currency":"SEK","Id":"v-1","UniqueCode":"U","ValidFrom":"2026-11-01T00:00:00+01:00","ValidTo":"2027-01-31T23:59:59+01:00","NewField":{"nested":[1.10,2E+3]}}"#;
    let env = with_fields(&env, &[("payload", payload)]);
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    assert!(body_of(&messages[0]).ends_with(&format!(r#""payload":{payload}}}"#)));
}

#[tokio::test]
async fn a_sequential_duplicate_answers_duplicate_sends_nothing_and_costs_one_dynamodb_call() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let first = deliver(&rig.function(None), Shape::ApiGatewayHttp, &env).await;
    assert_eq!(first, (200, "processed".into()));

    let (function, calls) = rig.counted_function();
    // A Svix retry is signed anew: different svix-id and timestamp, same body.
    assert_a_retry_is_a_one_call_duplicate(&function, &calls, Shape::FunctionUrl, &env).await;
    assert_eq!(rig.messages().await.len(), 1);

    let record = rig
        .record(&format!("myTenantName#{id}"))
        .await
        .expect("a record");
    assert_eq!(record["state"], AttributeValue::S("COMPLETED".into()));
    let expires: i64 = record["expiresAt"].as_n().unwrap().parse().unwrap();
    let now = engage_webhooks::now_millis() / 1000;
    assert!(
        (expires - now - 7 * 24 * 3600).abs() < 60,
        "TTL is 7 days by default"
    );
}

#[tokio::test]
async fn the_same_id_with_another_payload_is_a_conflicting_duplicate() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, _) = fresh_envelope("point.balance.updated");
    let function = rig.function(None);
    let first = deliver(&function, Shape::FunctionUrl, &env).await;
    assert_eq!(first.1, "processed");
    let changed = env.replace("1234.50", "1234.51");
    assert_ne!(changed, env);
    let again = deliver(&function, Shape::FunctionUrl, &changed).await;
    assert_eq!(again, (409, "conflicting_duplicate".into()));
    assert_eq!(rig.messages().await.len(), 1);
}

#[tokio::test]
async fn a_re_encrypted_copy_of_the_same_event_is_a_duplicate_not_a_conflict() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, _) = fresh_envelope("loyalty.addPoints");
    let function = rig.function(Some(PayloadCipher::Aes256Gcm));
    let a = encrypted(&env, PayloadCipher::Aes256Gcm);
    let b = encrypted(&env, PayloadCipher::Aes256Gcm);
    assert_ne!(a, b, "fresh nonces");
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &a).await.1,
        "processed"
    );
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &b).await.1,
        "duplicate"
    );
    assert_eq!(rig.messages().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_event_give_exactly_one_message() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, _) = fresh_envelope("reward.voucher.created");
    let functions: Vec<_> = (0..20).map(|_| rig.function(None)).collect();
    assert_exactly_one_processed_concurrently(&functions, &env).await;
    assert_eq!(rig.messages().await.len(), 1);
}

async fn sqs_failure_then_recovery(
    bad_sqs: aws_sdk_sqs::Client,
    bad_queue_url: &str,
    rig: &FanOutRig,
) {
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let broken = rig.function_with(
        aws_sdk_dynamodb::Client::new(&rig.sdk),
        bad_sqs,
        bad_queue_url,
        None,
    );
    assert_unavailable_within_ten_seconds(&broken, &env, "queue_unavailable").await;
    assert!(
        rig.record(&format!("myTenantName#{id}")).await.is_none(),
        "the claim was released: no record, so the retry can claim it"
    );
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    assert!(body_of(&messages[0]).contains(&id));
}

#[tokio::test]
async fn a_missing_queue_gives_503_and_the_retry_sends_exactly_once() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let missing = format!("{}/123456789012/{}", endpoint(), unique("no-such-queue"));
    sqs_failure_then_recovery(aws_sdk_sqs::Client::new(&rig.sdk), &missing, &rig).await;
}

#[tokio::test]
async fn a_refusing_sqs_endpoint_gives_503_and_the_retry_sends_exactly_once() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let refusing = local_aws_at(&refusing_endpoint()).await;
    sqs_failure_then_recovery(aws_sdk_sqs::Client::new(&refusing), &rig.queue_url, &rig).await;
}

#[tokio::test]
async fn a_hanging_sqs_endpoint_gives_503_within_ten_seconds_and_the_retry_sends_exactly_once() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let hanging = local_aws_at(&hanging_endpoint().await).await;
    sqs_failure_then_recovery(aws_sdk_sqs::Client::new(&hanging), &rig.queue_url, &rig).await;
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_and_sends_nothing() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let sqs = aws_sdk_sqs::Client::new(&rig.sdk);
    let function = rig.function_with(hanging_dynamodb().await, sqs, &rig.queue_url, None);
    let (env, _) = fresh_envelope("loyalty.addPoints");
    assert_unavailable_within_ten_seconds(&function, &env, "storage_unavailable").await;
    assert!(rig.messages().await.is_empty());
}

async fn put_claim(rig: &FanOutRig, key: &str, fingerprint: &str, lease_until_millis: i64) {
    let dedup = rig.dedup(aws_sdk_dynamodb::Client::new(&rig.sdk));
    let claim = engage_webhooks::Claim {
        key,
        fingerprint,
        event_type: "loyalty.addPoints",
        lease_until_millis,
    };
    aws_sdk_dynamodb::Client::new(&rig.sdk)
        .put_item()
        .table_name(&rig.table)
        .set_item(Some(dedup.record(
            &claim,
            "IN_PROGRESS",
            "crashed-invocation",
        )))
        .send()
        .await
        .unwrap();
}

fn fingerprint_of(env: &str, event_type: engage_webhooks::EventType) -> String {
    engage_webhooks::Event {
        id: String::new(),
        event_type,
        tenant: String::new(),
        payload: std::borrow::Cow::Owned(
            serde_json::value::RawValue::from_string(payload_of(env)).unwrap(),
        ),
        signed_at: None,
        message_time: None,
    }
    .fingerprint()
}

/// Leaves a crashed invocation's claim on a fresh addPoints event, its deadline
/// `lease_from_now_millis` away, then delivers the event; returns the answer.
async fn deliver_over_a_claim(rig: &FanOutRig, lease_from_now_millis: i64) -> (u16, String) {
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let fp = fingerprint_of(&env, engage_webhooks::EventType::LoyaltyAddPoints);
    let now = engage_webhooks::now_millis();
    let key = format!("myTenantName#{id}");
    put_claim(rig, &key, &fp, now + lease_from_now_millis).await;
    rig.deliver(&env).await
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_invocation_is_taken_once_its_deadline_has_passed() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let got = deliver_over_a_claim(&rig, -1_000).await;
    assert_eq!(got, (200, "processed".into()));
    assert_eq!(rig.messages().await.len(), 1);
}

#[tokio::test]
async fn a_claim_whose_deadline_has_not_passed_answers_in_progress() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let got = deliver_over_a_claim(&rig, 60_000).await;
    assert_eq!(got, (409, "in_progress".into()));
    assert!(rig.messages().await.is_empty());
}

#[tokio::test]
async fn a_contact_event_is_the_wrong_endpoint_and_sends_nothing() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, id) = fresh_envelope("contact.created");
    let resp = rig
        .function(None)
        .handle(signed_request(Shape::ApiGatewayHttp, &env))
        .await;
    assert_eq!(answer(&resp), (422, "wrong_endpoint".into()));
    let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    assert!(v["message"].as_str().unwrap().contains("contact"));
    rig.assert_left_nothing(&id).await;
}

#[tokio::test]
async fn an_unknown_loyalty_type_is_acknowledged_and_sends_nothing() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let env = with_fields(&env, &[("eventType", "\"loyalty.pointsExpired\"")]);
    assert_eq!(rig.deliver(&env).await, (200, "ignored_event_type".into()));
    rig.assert_left_nothing(&id).await;
}

#[tokio::test]
async fn a_fifo_queue_gets_per_contact_groups_and_event_id_dedup() {
    let rig = FanOutRig::new(Family::Loyalty, true).await;
    let (env, id) = fresh_envelope("point.balance.updated");
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    let system = messages[0].attributes().unwrap();
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    // Both scoped to the tenant (`<tenant>#<id>`; see docs/queues.md).
    assert_eq!(
        system[&A::MessageGroupId],
        "myTenantName#515c1b2a-7124-4bb9-826b-aedbbe5da8c4"
    );
    assert_eq!(
        system[&A::MessageDeduplicationId],
        format!("myTenantName#{id}")
    );
}

#[tokio::test]
async fn an_invalid_payload_is_400_and_leaves_nothing_behind() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let env = with_fields(&env, &[("payload", r#"{"contactId":"c","amount":"lots"}"#)]);
    assert_eq!(rig.deliver(&env).await, (400, "invalid_payload".into()));
    rig.assert_left_nothing(&id).await;
}
