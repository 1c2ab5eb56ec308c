//! What the loyalty function prints for every outcome, read back the way CloudWatch reads it:
//! one JSON log line and one EMF metrics document per delivery, fields and values right, the
//! AWS requests counted, and no value of any payload sent anywhere in the output. Real
//! handlers against the local DynamoDB and SQS wire server.

use engage_testkit::*;
use engage_webhooks::{now_millis, Family, PayloadCipher, MAX_BODY_BYTES};
use lambda_http::{Body, Request};

fn want(status: u16, reason: &'static str, event_type: &'static str, calls: u64, age: Age) -> Want {
    Want::new("loyalty", status, reason, event_type, calls, age)
}

#[tokio::test]
async fn accepted_deliveries_log_and_count_their_ids_outcome_age_and_aws_calls() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let function = rig.function(None);
    let (voucher, id) = fresh_envelope("reward.voucher.created");

    // A first delivery: claim, send, complete. Its Svix message was created 90 s ago.
    let (got, out) = observe(&function, sent_ago(&voucher, 90_000)).await;
    let processed = want(
        200,
        "processed",
        "reward.voucher.created",
        3,
        Age::About(90_000),
    );
    let (log, _) = check_delivery(&got, &out, &processed);
    assert_eq!(log["tenant"], SAMPLE_TENANT);
    assert_eq!(log["event_id"], id.as_str());
    assert!(log["svix_id"].as_str().unwrap().starts_with("msg_"));
    assert_private(&out, &[&voucher]);

    // Svix's retry: one DynamoDB read of the record.
    let (got, out) = observe(&function, sent_ago(&voucher, 60_000)).await;
    let duplicate = want(
        200,
        "duplicate",
        "reward.voucher.created",
        1,
        Age::About(60_000),
    );
    let (log, _) = check_delivery(&got, &out, &duplicate);
    assert_eq!(log["event_id"], id.as_str());
    assert_private(&out, &[&voucher]);

    // An event type nobody here knows: no AWS call at all.
    let (unknown, _) = fresh_envelope("loyalty.addPoints");
    let unknown = with_fields(&unknown, &[("eventType", r#""loyalty.pointsExpired""#)]);
    let (got, out) = observe(&function, signed_request(Shape::ApiGatewayHttp, &unknown)).await;
    let ignored = want(
        200,
        "ignored_event_type",
        "loyalty.pointsExpired",
        0,
        Age::SignedNow,
    );
    check_delivery(&got, &out, &ignored);
    assert_private(&out, &[&unknown]);
    assert_eq!(rig.messages().await.len(), 1);
}

#[tokio::test]
async fn every_refusal_logs_and_counts_its_reason_and_leaks_nothing() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let function = rig.function(None);
    let keyed = rig.function(Some(PayloadCipher::Aes256Gcm));
    let (points, _) = fresh_envelope("loyalty.addPoints");
    let (contact, _) = fresh_envelope("contact.created");
    let unsigned = |body: &str| request(Shape::FunctionUrl, body, &[]);

    let get = lambda_http::http::Request::builder()
        .method("GET")
        .body(Body::Empty)
        .unwrap();
    let big = " ".repeat(MAX_BODY_BYTES + 1);
    let old_signature = request(
        Shape::FunctionUrl,
        &points,
        &signature_headers_at(&points, "msg_old", now_millis() / 1000 - 600),
    );
    let tampered = {
        let mut headers = signature_headers(&points, "msg_tampered");
        headers.retain(|(k, _)| k != "svix-signature");
        let forged = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        headers.push(("svix-signature".into(), forged.into()));
        request(Shape::FunctionUrl, &points, &headers)
    };
    let no_contact = with_payload(&points, &[], &["contactId"]);
    let garbage = with_fields(
        &points,
        &[
            ("isEncrypted", "true"),
            ("payload", r#""AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA""#),
        ],
    );
    let envelope_of_john = r#"{"hello":"john@example.com"}"#;
    let cases: Vec<(&dyn AnyFunction, Request, Want, Vec<&str>)> = vec![
        (
            &function,
            get,
            want(405, "method_not_allowed", "unknown", 0, Age::Absent),
            vec![],
        ),
        (
            &function,
            unsigned(&big),
            want(413, "payload_too_large", "unknown", 0, Age::Absent),
            vec![],
        ),
        (
            &function,
            request_from(Shape::FunctionUrl, "127.0.0.1", b"\xff\xfe{", &[]),
            want(400, "invalid_body", "unknown", 0, Age::Absent),
            vec![],
        ),
        (
            &function,
            unsigned(&points),
            want(401, "missing_signature", "unknown", 0, Age::Absent),
            vec![&points],
        ),
        (
            &function,
            tampered,
            want(401, "invalid_signature", "unknown", 0, Age::Absent),
            vec![&points],
        ),
        (
            &function,
            old_signature,
            want(401, "timestamp_out_of_tolerance", "unknown", 0, Age::Absent),
            vec![&points],
        ),
        (
            &function,
            signed_request(Shape::FunctionUrl, "not json"),
            want(400, "invalid_json", "unknown", 0, Age::SignedNow),
            vec![],
        ),
        (
            &function,
            signed_request(Shape::FunctionUrl, envelope_of_john),
            want(400, "invalid_envelope", "unknown", 0, Age::SignedNow),
            vec![],
        ),
        (
            &function,
            signed_request(Shape::FunctionUrl, &contact),
            want(422, "wrong_endpoint", "contact.created", 0, Age::SignedNow),
            vec![&contact],
        ),
        (
            &keyed,
            signed_request(Shape::FunctionUrl, &garbage),
            want(
                400,
                "decryption_failed",
                "loyalty.addPoints",
                0,
                Age::SignedNow,
            ),
            vec![],
        ),
        (
            &function,
            signed_request(Shape::FunctionUrl, &garbage),
            want(
                500,
                "payload_key_missing",
                "loyalty.addPoints",
                0,
                Age::SignedNow,
            ),
            vec![],
        ),
        (
            &function,
            sent_ago(&no_contact, 1_000),
            want(
                400,
                "invalid_payload",
                "loyalty.addPoints",
                0,
                Age::About(1_000),
            ),
            vec![&no_contact],
        ),
    ];
    for (function, req, want, sent) in cases {
        let (got, out) = observe_any(function, req).await;
        check_delivery(&got, &out, &want);
        assert_private(&out, &sent);
        assert!(!out.text().contains("john@example.com"));
    }
    assert!(rig.messages().await.is_empty());
}

#[tokio::test]
async fn conflicts_count_their_one_read_and_outages_their_every_attempt() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let function = rig.function(None);
    let (points, _) = fresh_envelope("loyalty.addPoints");
    assert_eq!(rig.deliver(&points).await, (200, "processed".into()));

    // The same id with another payload: one read of the record, 409.
    let reused = with_payload(&points, &[("amount", "1.00")], &[]);
    let (got, out) = observe(&function, sent_ago(&reused, 5_000)).await;
    let conflict = want(
        409,
        "conflicting_duplicate",
        "loyalty.addPoints",
        1,
        Age::About(5_000),
    );
    check_delivery(&got, &out, &conflict);
    assert_private(&out, &[&reused]);

    // DynamoDB refuses connections: both attempts of the claim are counted.
    let no_storage = rig.function_with(
        refusing_dynamodb().await,
        aws_sdk_sqs::Client::new(&rig.sdk),
        &rig.queue_url,
        None,
    );
    let (balance, _) = fresh_envelope("point.balance.updated");
    let (got, out) = observe(&no_storage, sent_ago(&balance, 2_000)).await;
    let outage = want(
        503,
        "storage_unavailable",
        "point.balance.updated",
        2,
        Age::About(2_000),
    );
    check_delivery(&got, &out, &outage);
    assert_private(&out, &[&balance]);
}

#[tokio::test]
async fn a_hanging_queue_and_the_delivery_that_meets_its_claim_are_both_recorded() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let hanging = local_aws_at(&hanging_endpoint().await).await;
    let stuck = rig.function_with(
        rig.dynamodb(),
        aws_sdk_sqs::Client::new(&hanging),
        &rig.queue_url,
        None,
    );
    let function = rig.function(None);
    let (voucher, _) = fresh_envelope("reward.voucher.created");
    let first = observe(&stuck, sent_ago(&voucher, 10_000));
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        observe(&function, sent_ago(&voucher, 10_000)).await
    };
    let ((got_first, out_first), (got_second, out_second)) = tokio::join!(first, second);
    // Claim, two timed-out sends, release.
    let unavailable = want(
        503,
        "queue_unavailable",
        "reward.voucher.created",
        4,
        Age::About(10_000),
    );
    let (log, _) = check_delivery(&got_first, &out_first, &unavailable);
    assert!(log["duration_ms"].as_f64().unwrap() >= 2_900.0, "{log}");
    // The concurrent retry found the claim: one call, 409.
    let in_progress = want(
        409,
        "in_progress",
        "reward.voucher.created",
        1,
        Age::About(10_000),
    );
    check_delivery(&got_second, &out_second, &in_progress);
    assert_private(&out_first, &[&voucher]);
    assert_private(&out_second, &[&voucher]);
    // Each capture saw only its own delivery, though they ran interleaved on one task.
    assert!(!out_first.text().contains("in_progress"));
    assert!(!out_second.text().contains("queue_unavailable"));
}
