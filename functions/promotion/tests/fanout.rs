//! The promotion function against real DynamoDB and SQS wire protocols.

use engage_testkit::*;
use engage_webhooks::Family;

const TYPE: &str = "promotion.multichannel.assigned";

#[tokio::test]
async fn plain_and_encrypted_assignments_in_every_shape_give_one_exact_message_each() {
    let rig = FanOutRig::new(Family::Promotion, false).await;
    let mut sent = Vec::new();
    for cipher in CIPHERS {
        let function = rig.function(cipher);
        for shape in Shape::ALL {
            let (plain, id) = fresh_envelope(TYPE);
            let got = deliver(&function, shape, &sealed(&plain, cipher)).await;
            assert_eq!(got, (200, "processed".into()), "{cipher:?} {shape:?}");
            sent.push((id, payload_of(&plain)));
        }
    }
    let messages = rig.messages().await;
    assert_eq!(messages.len(), sent.len());
    for (id, payload) in sent {
        let want = format!(
            r#"{{"eventId":"{id}","eventType":"{TYPE}","tenant":"myTenantName","payload":{payload}}}"#
        );
        let found: Vec<_> = messages
            .iter()
            .filter(|m| m.body() == Some(want.as_str()))
            .collect();
        assert_eq!(found.len(), 1, "exactly one message for {id}");
        assert_eq!(attribute(found[0], "eventType").as_deref(), Some(TYPE));
        assert_eq!(
            attribute(found[0], "tenant").as_deref(),
            Some("myTenantName")
        );
        assert_eq!(
            attribute(found[0], "contactId").as_deref(),
            Some("515c1b2a-7124-4bb9-826b-aedbbe5da8c4")
        );
    }
}

#[tokio::test]
async fn an_assignment_without_a_contact_has_no_contact_attribute_and_groups_by_event_on_fifo() {
    let rig = FanOutRig::new(Family::Promotion, true).await;
    let (env, id) = fresh_envelope(TYPE);
    let env = with_fields(&env, &[("payload", r#"{"promotionId":"p-1"}"#)]);
    assert_eq!(rig.deliver(&env).await, (200, "processed".into()));
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(attribute(&messages[0], "contactId"), None);
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let system = messages[0].attributes().unwrap();
    let scoped = format!("myTenantName#{id}");
    assert_eq!(system[&A::MessageGroupId], scoped);
    assert_eq!(system[&A::MessageDeduplicationId], scoped);
}

#[tokio::test]
async fn duplicates_send_nothing_and_misrouted_or_unknown_events_send_nothing() {
    let rig = FanOutRig::new(Family::Promotion, false).await;
    let function = rig.function(None);
    let (env, _) = fresh_envelope(TYPE);
    let first = deliver(&function, Shape::ApiGatewayHttp, &env).await;
    assert_eq!(first.1, "processed");
    let again = deliver(&function, Shape::ApiGatewayHttp, &env).await;
    assert_eq!(again, (200, "duplicate".into()));
    let (loyalty, _) = fresh_envelope("reward.voucher.created");
    let misrouted = deliver(&function, Shape::FunctionUrl, &loyalty).await;
    assert_eq!(misrouted, (422, "wrong_endpoint".into()));
    let (unknown, _) = fresh_envelope(TYPE);
    let unknown = with_fields(
        &unknown,
        &[("eventType", "\"promotion.multichannel.revoked\"")],
    );
    let ignored = deliver(&function, Shape::FunctionUrl, &unknown).await;
    assert_eq!(ignored, (200, "ignored_event_type".into()));
    assert_eq!(rig.messages().await.len(), 1);
}
