//! Keys built from a tenant and an id are the tenant's own: two tenants' events with one id
//! are two events (two dedup records, two FIFO messages, two groups), a `#` in a tenant name
//! cannot make two events meet, and FIFO ids stay within SQS's 128 visible ASCII characters
//! whatever the id. Against moto's FIFO queues.

use aws_sdk_sqs::types::MessageSystemAttributeName as A;
use engage_testkit::*;
use engage_webhooks::{dedup_key, Family};
use serde_json::Value;

/// The sample `envelope` with `tenant` and event id `id` (in the field the sample uses).
fn as_event_of(envelope: &str, tenant: &str, id: &str) -> String {
    let field = if envelope.contains("\"eventId\"") {
        "eventId"
    } else {
        "id"
    };
    let tenant = serde_json::to_string(tenant).unwrap();
    let id = serde_json::to_string(id).unwrap();
    with_fields(envelope, &[("tenant", &tenant), (field, &id)])
}

fn system<'a>(m: &'a aws_sdk_sqs::types::Message, name: &A) -> &'a str {
    m.attributes().expect("system attributes")[name].as_str()
}

fn tenant_of(m: &aws_sdk_sqs::types::Message) -> String {
    let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
    body["tenant"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn two_tenants_events_with_one_id_are_two_messages_on_a_fifo_queue() {
    let rig = FanOutRig::new(Family::Loyalty, true).await;
    let (sample, _) = fresh_envelope("loyalty.addPoints");
    let id = unique("shared-id");
    for tenant in ["storeNorth", "storeSouth"] {
        let env = as_event_of(&sample, tenant, &id);
        assert_eq!(
            rig.deliver(&env).await,
            (200, "processed".into()),
            "{tenant}"
        );
    }
    let mut messages = rig.messages().await;
    assert_eq!(
        messages.len(),
        2,
        "within SQS's 5-minute deduplication window"
    );
    messages.sort_by_key(tenant_of);
    let contact = "515c1b2a-7124-4bb9-826b-aedbbe5da8c4";
    for (m, tenant) in messages.iter().zip(["storeNorth", "storeSouth"]) {
        assert_eq!(tenant_of(m), tenant);
        assert_eq!(
            system(m, &A::MessageDeduplicationId),
            format!("{tenant}#{id}")
        );
        assert_eq!(system(m, &A::MessageGroupId), format!("{tenant}#{contact}"));
        assert!(rig.record(&format!("{tenant}#{id}")).await.is_some());
    }
}

#[tokio::test]
async fn a_hash_sign_in_a_tenant_name_cannot_merge_two_events() {
    let rig = FanOutRig::new(Family::Loyalty, true).await;
    let (sample, _) = fresh_envelope("reward.voucher.created");
    let suffix = unique("x");
    // `a#b` + `c` and `a` + `b#c` would both be `a#b#c`: one event answered as the other's
    // duplicate, and its voucher never sent.
    let (tenant_with_hash, id) = (format!("a#{suffix}"), "c".to_string());
    let (tenant, id_with_hash) = ("a".to_string(), format!("{suffix}#c"));
    let first = as_event_of(&sample, &tenant_with_hash, &id);
    let second = as_event_of(&sample, &tenant, &id_with_hash);
    assert_eq!(rig.deliver(&first).await, (200, "processed".into()));
    assert_eq!(rig.deliver(&second).await, (200, "processed".into()));
    assert_eq!(rig.messages().await.len(), 2);

    // The tenant without `#` keeps the key its records always had; the other gets a hashed one.
    let plain = dedup_key(&tenant, &id_with_hash);
    assert_eq!(plain, format!("a#{suffix}#c"));
    let hashed = dedup_key(&tenant_with_hash, &id);
    assert!(
        hashed.starts_with("sha256:") && !hashed.contains('#'),
        "{hashed}"
    );
    assert!(rig.record(&plain).await.is_some());
    assert!(rig.record(&hashed).await.is_some());
    assert_eq!(rig.deliver(&first).await, (200, "duplicate".into()));
    assert_eq!(rig.deliver(&second).await, (200, "duplicate".into()));
}

#[tokio::test]
async fn fifo_ids_fit_sqs_whatever_the_event_id_and_contact() {
    let rig = FanOutRig::new(Family::Loyalty, true).await;
    let (sample, _) = fresh_envelope("point.balance.updated");
    for (id, contact) in [
        ("e".repeat(300), "515c1b2a".to_string()),
        ("with space ä".to_string(), "c".repeat(200)),
    ] {
        let env = as_event_of(&sample, "myTenantName", &id);
        let contact_json = serde_json::to_string(&contact).unwrap();
        let env = with_payload(&env, &[("contactId", &contact_json)], &[]);
        assert_eq!(rig.deliver(&env).await, (200, "processed".into()), "{id}");
    }
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 2);
    for m in &messages {
        for name in [A::MessageDeduplicationId, A::MessageGroupId] {
            let value = system(m, &name);
            assert!(value.len() <= 128, "{value}");
            assert!(value.bytes().all(|b| b.is_ascii_graphic()), "{value}");
        }
        let dedup = system(m, &A::MessageDeduplicationId);
        assert!(
            dedup.starts_with("sha256:"),
            "too long or not ASCII: {dedup}"
        );
    }
    let groups: Vec<&str> = messages
        .iter()
        .map(|m| system(m, &A::MessageGroupId))
        .collect();
    assert!(groups.contains(&"myTenantName#515c1b2a"), "{groups:?}");
}
