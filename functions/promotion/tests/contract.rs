//! The HTTP contract, end to end through a function's handler: every refusal is JSON with a
//! stable reason, says nothing of the payload, and has no effect on DynamoDB or SQS.

use engage_testkit::*;
use engage_webhooks::{Family, PayloadCipher, WebhookFunction};
use serde_json::Value;

const TYPE: &str = "promotion.multichannel.assigned";

fn json(resp: &lambda_http::Response<lambda_http::Body>) -> Value {
    assert_eq!(resp.headers()["content-type"], "application/json");
    serde_json::from_slice(resp.body().as_ref()).unwrap()
}

#[tokio::test]
async fn every_refusal_is_a_short_json_reason_and_has_no_effect() {
    let rig = FanOutRig::new(Family::Promotion, false).await;
    let plain_fn = rig.function(None);
    let keyed_fn = rig.function(Some(PayloadCipher::Aes256Gcm));
    let (env, _) = fresh_envelope(TYPE);
    let secret_value = "515c1b2a-7124-4bb9-826b-aedbbe5da8c4";

    // 405: not a POST.
    let mut get = signed_request(Shape::FunctionUrl, &env);
    *get.method_mut() = lambda_http::http::Method::GET;
    let cases: Vec<(&str, lambda_http::Request, &_, u16, &str)> = vec![
        ("GET", get, &plain_fn, 405, "method_not_allowed"),
        (
            "over 1 MiB",
            signed_request(
                Shape::FunctionUrl,
                &format!("{}{}", env, " ".repeat(1 << 20)),
            ),
            &plain_fn,
            413,
            "payload_too_large",
        ),
        (
            "unsigned",
            request(Shape::FunctionUrl, &env, &[]),
            &plain_fn,
            401,
            "missing_signature",
        ),
        (
            "signed for another body",
            request(Shape::FunctionUrl, &env, &signature_headers("{}", "msg_x")),
            &plain_fn,
            401,
            "invalid_signature",
        ),
        (
            "stale timestamp",
            {
                let ts = engage_webhooks::now_millis() / 1000 - 600;
                let sig =
                    engage_webhooks::sign(SIGNING_SECRET, "msg_old", ts, env.as_bytes()).unwrap();
                request(
                    Shape::FunctionUrl,
                    &env,
                    &[
                        ("svix-id".into(), "msg_old".into()),
                        ("svix-timestamp".into(), ts.to_string()),
                        ("svix-signature".into(), sig),
                    ],
                )
            },
            &plain_fn,
            401,
            "timestamp_out_of_tolerance",
        ),
        (
            "not JSON",
            signed_request(Shape::FunctionUrl, "hello"),
            &plain_fn,
            400,
            "invalid_json",
        ),
        (
            "not an envelope",
            signed_request(Shape::FunctionUrl, r#"{"hello":"world"}"#),
            &plain_fn,
            400,
            "invalid_envelope",
        ),
        (
            "encrypted, no key configured",
            signed_request(
                Shape::FunctionUrl,
                &encrypted(&env, PayloadCipher::Aes256Gcm),
            ),
            &plain_fn,
            500,
            "payload_key_missing",
        ),
        (
            "encrypted with the other cipher",
            signed_request(
                Shape::FunctionUrl,
                &encrypted(&env, PayloadCipher::Aes256Cbc),
            ),
            &keyed_fn,
            400,
            "decryption_failed",
        ),
        (
            "wrong type in payload",
            signed_request(
                Shape::FunctionUrl,
                &with_fields(
                    &env,
                    &[("payload", &format!(r#"{{"contactId":["{secret_value}"]}}"#))],
                ),
            ),
            &plain_fn,
            400,
            "invalid_payload",
        ),
    ];
    for (what, req, function, status, reason) in cases {
        let resp = function.handle(req).await;
        let body = json(&resp);
        assert_eq!(resp.status().as_u16(), status, "{what}: {body}");
        assert_eq!(body["error"], reason, "{what}");
        let message = body["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && message.len() < 120,
            "{what}: one short sentence"
        );
        assert!(!message.contains(secret_value), "{what}: no payload echo");
        assert!(!message.contains("whsec_"), "{what}: no secret");
        assert_eq!(
            body.as_object().unwrap().len(),
            2,
            "{what}: error + message only"
        );
    }
    assert!(rig.messages().await.is_empty(), "no refusal had an effect");
}
