//! Promotion events SQS could never take are refused before the claim (400 `invalid_payload`
//! naming the field) rather than answered 503 for 27 hours: a contact id that is present but
//! blank, or that holds a character SQS refuses in an attribute. Against moto.

use engage_testkit::*;
use engage_webhooks::{Family, WebhookFunction};
use serde_json::Value;

const TYPE: &str = "promotion.multichannel.assigned";

#[tokio::test]
async fn a_blank_or_unsendable_contact_id_is_refused_and_leaves_nothing() {
    let rig = FanOutRig::new(Family::Promotion, true).await;
    for (field, value, problem) in [
        ("contactId", r#""""#, "contactId is empty or blank"),
        ("ContactId", r#""  ""#, "contactId is empty or blank"),
        (
            "contactId",
            r#""c\u001f""#,
            "contactId holds a character SQS",
        ),
    ] {
        let (env, id) = fresh_envelope(TYPE);
        let env = with_payload(&env, &[(field, value)], &["contactId"]);
        let resp = rig
            .function(None)
            .handle(signed_request(Shape::FunctionUrl, &env))
            .await;
        assert_eq!(answer(&resp), (400, "invalid_payload".into()), "{value}");
        let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(problem), "{message}");
        rig.assert_left_nothing(&id).await;
    }
    // Without a contact id the assignment is still sent (grouped by its event).
    let (env, _) = fresh_envelope(TYPE);
    let env = with_payload(&env, &[], &["contactId"]);
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    assert_eq!(rig.messages().await.len(), 1);
}
