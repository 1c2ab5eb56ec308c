//! Loyalty events SQS could never take are refused before the claim, 400 `invalid_payload`
//! naming the field (never its value), instead of a 503 that Svix would retry for 27 hours:
//! a blank contact id, characters SQS refuses in the body or an attribute, a message over
//! SQS's 1 MiB with its attributes. Through the real handler against moto.

use engage_testkit::*;
use engage_webhooks::{Family, MAX_BODY_BYTES, MAX_QUEUE_MESSAGE_BYTES};
use lambda_http::Body;
use serde_json::Value;

/// Delivers `envelope` and returns the status, the reason and the message.
async fn refusal(rig: &FanOutRig, envelope: &str) -> (u16, String, String) {
    use engage_webhooks::WebhookFunction;
    let resp = rig
        .function(None)
        .handle(signed_request(Shape::FunctionUrl, envelope))
        .await;
    let (status, reason) = answer(&resp);
    let body = match resp.body() {
        Body::Text(t) => t.clone(),
        other => String::from_utf8_lossy(other.as_ref()).into_owned(),
    };
    let v: Value = serde_json::from_str(&body).unwrap();
    (status, reason, v["message"].as_str().unwrap().to_string())
}

async fn assert_refused_naming(rig: &FanOutRig, envelope: &str, id: &str, field: &str) {
    let (status, reason, message) = refusal(rig, envelope).await;
    assert_eq!(
        (status, reason.as_str()),
        (400, "invalid_payload"),
        "{message}"
    );
    assert!(message.contains(field), "names {field}: {message}");
    rig.assert_left_nothing(id).await;
}

#[tokio::test]
async fn an_empty_or_blank_contact_id_is_refused_before_the_claim() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    for blank in [r#""""#, r#""   ""#, r#""\t""#] {
        let (env, id) = fresh_envelope("loyalty.addPoints");
        let env = with_payload(&env, &[("contactId", blank)], &[]);
        assert_refused_naming(&rig, &env, &id, "contactId is empty or blank").await;
    }
    let (voucher, id) = fresh_envelope("reward.voucher.created");
    let voucher = with_payload(&voucher, &[("ContactId", r#"" ""#)], &[]);
    assert_refused_naming(&rig, &voucher, &id, "ContactId is empty or blank").await;
}

#[tokio::test]
async fn characters_sqs_refuses_are_refused_and_named_by_field() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    // JSON carries them as escapes; decoded, they are in the contactId attribute's value.
    for contact in [
        r#""c-\u0000""#,
        r#""c-\u0008""#,
        r#""c-\uFFFE""#,
        r#""c-\uFFFF""#,
    ] {
        let (env, id) = fresh_envelope("point.balance.updated");
        let env = with_payload(&env, &[("contactId", contact)], &[]);
        assert_refused_naming(&rig, &env, &id, "contactId holds a character SQS").await;
    }
    // A literal U+FFFE is valid JSON, and would be in the body as it is.
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let env = with_payload(&env, &[("description", "\"a\u{FFFE}b\"")], &[]);
    assert_refused_naming(&rig, &env, &id, "payload holds a character SQS").await;
    // The tenant is an attribute too.
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let env = with_fields(&env, &[("tenant", r#""shop\u0001""#)]);
    let (status, reason, message) = refusal(&rig, &env).await;
    assert_eq!((status, reason.as_str()), (400, "invalid_payload"));
    assert!(
        message.contains("tenant holds a character SQS"),
        "{message}"
    );
    assert!(rig.record(&format!("shop\u{1}#{id}")).await.is_none());
    assert!(rig.messages().await.is_empty());
}

#[tokio::test]
async fn an_escaped_control_character_in_the_body_is_sent_as_it_came() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, _) = fresh_envelope("loyalty.addPoints");
    let env = with_payload(&env, &[("description", r#""tab\ttab nul\u0000""#)], &[]);
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    assert!(messages[0]
        .body()
        .unwrap()
        .contains(r#""description":"tab\ttab nul\u0000""#));
}

/// The sample `loyalty.addPoints` for `contact`, padded with a filler field to `bytes` bytes.
fn padded(contact: &str, bytes: usize) -> (String, String) {
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let contact = serde_json::to_string(contact).unwrap();
    let with = |n: usize| {
        let filler = format!("\"{}\"", "x".repeat(n));
        with_payload(&env, &[("contactId", &contact), ("filler", &filler)], &[])
    };
    let env = with(bytes - with(0).len());
    assert_eq!(env.len(), bytes);
    (env, id)
}

#[tokio::test]
async fn a_message_over_one_mebibyte_with_its_attributes_is_refused_and_one_under_is_sent() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    // A request within the 1 MiB body limit whose message is larger: the contact id is both
    // in the body and in the contactId attribute.
    let long_contact = "c".repeat(30_000);
    let (env, id) = padded(&long_contact, MAX_BODY_BYTES);
    assert_refused_naming(&rig, &env, &id, "too large for SQS").await;

    let (env, id) = padded("515c1b2a-7124-4bb9-826b-aedbbe5da8c4", 1_000_000);
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    let body = messages[0].body().unwrap();
    assert!(body.len() < MAX_QUEUE_MESSAGE_BYTES && body.len() > 999_000);
    assert!(body.contains(&id));
}
