//! The contact function against the real DynamoDB wire protocol (moto's server, started by
//! scripts/test.sh): the mirror holds the contact's profile as Engage sent it, a deletion
//! erases it for good, and every event takes effect exactly once, whatever Svix does.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{Family, WebhookFunction, TOMBSTONE_ATTRIBUTES};
use serde_json::Value;
use std::collections::HashMap;

const CONTACT: Family = Family::Contact;
const CONSENT: Family = Family::Consent;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.into())
}

fn profile(item: &Item) -> &HashMap<String, AttributeValue> {
    item.get("profile")
        .and_then(|p| p.as_m().ok())
        .expect("a profile")
}

fn tombstone_names(with_reason: bool) -> Vec<String> {
    let mut names: Vec<String> = TOMBSTONE_ATTRIBUTES
        .iter()
        .filter(|n| with_reason || **n != "deletionReason")
        .map(|n| n.to_string())
        .collect();
    names.sort();
    names
}

/// The payload's top-level fields, minus the update delta, each string one stored verbatim.
fn assert_profile_is_payload(item: &Item, envelope: &str) {
    let payload: serde_json::Map<String, Value> =
        serde_json::from_str(&payload_of(envelope)).unwrap();
    let stored = profile(item);
    let mut want: Vec<&String> = payload.keys().filter(|k| *k != "changedValues").collect();
    want.sort();
    let mut got: Vec<&String> = stored.keys().collect();
    got.sort();
    assert_eq!(got, want);
    for (name, value) in &payload {
        if let Value::String(text) = value {
            assert_eq!(stored[name], s(text), "{name}");
        }
    }
    assert_eq!(
        stored["customAttributes"],
        AttributeValue::M(HashMap::from([(
            "myCustomAttribute".into(),
            s("myCustomAttributeValue")
        )]))
    );
}

#[tokio::test]
async fn every_type_plain_and_encrypted_in_every_request_shape_is_mirrored() {
    let rig = MirrorRig::new().await;
    for cipher in CIPHERS {
        let function = rig.function(CONTACT, cipher);
        for shape in Shape::ALL {
            let contact = unique("contact");
            let case = format!("{cipher:?} {shape:?}");
            let processed = (200, "processed".to_string());

            let (created, created_id) = contact_envelope("contact.created", &contact);
            let got = deliver(&function, shape, &sealed(&created, cipher)).await;
            assert_eq!(got, processed, "{case}");
            let item = rig.contact(&contact).await.expect("mirrored");
            assert_profile_is_payload(&item, &created);
            assert_eq!(item["profileEventId"], s(&created_id));
            assert_eq!(item["tenant"], s("myTenantName"));
            assert_eq!(profile(&item)["email"], s("john.doe@example.com"));

            let (updated, updated_id) = contact_envelope("contact.updated", &contact);
            let got = deliver(&function, shape, &sealed(&updated, cipher)).await;
            assert_eq!(got, processed, "{case}");
            let item = rig.contact(&contact).await.unwrap();
            assert_profile_is_payload(&item, &updated);
            assert_eq!(item["profileEventId"], s(&updated_id));
            assert_eq!(profile(&item)["email"], s("myNewEmail@email.com"));
            assert!(
                !format!("{item:?}").contains("previousEmail"),
                "the update's delta (previous values) is not mirrored"
            );

            let (deleted, deleted_id) = contact_envelope("contact.deleted", &contact);
            let got = deliver(&function, shape, &sealed(&deleted, cipher)).await;
            assert_eq!(got, processed, "{case}");
            let item = rig.contact(&contact).await.unwrap();
            assert_eq!(attribute_names(&item), tombstone_names(true), "{case}");
            assert_eq!(item["deleteEventId"], s(&deleted_id));
            assert_eq!(item["deletionReason"], s("cancelled membership"));

            for id in [created_id, updated_id, deleted_id] {
                let record = rig.record(&id).await.expect("a dedup record");
                assert_eq!(record["state"], s("COMPLETED"));
            }
        }
    }
}

#[tokio::test]
async fn the_profile_keeps_engages_field_names_custom_attributes_and_exact_numbers() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, _) = contact_envelope("contact.created", &contact);
    let custom = r#"{"shoeSize":42.5,"memberSince":2019,"bigNumber":12345678901234567890123,"exact":0.1000000000000000055511151231257827,"tags":["vip",1,true,null],"nested":{"deep":{"empty":""}},"Odd Name-ä":false}"#;
    let env = with_payload(&env, &[("customAttributes", custom)], &[]);
    assert_eq!(rig.deliver(CONTACT, &env).await, (200, "processed".into()));
    let item = rig.contact(&contact).await.unwrap();
    let want = AttributeValue::M(HashMap::from([
        ("shoeSize".into(), n("42.5")),
        ("memberSince".into(), n("2019")),
        ("bigNumber".into(), n("12345678901234567890123")),
        ("exact".into(), n("0.1000000000000000055511151231257827")),
        (
            "tags".into(),
            AttributeValue::L(vec![
                s("vip"),
                n("1"),
                AttributeValue::Bool(true),
                AttributeValue::Null(true),
            ]),
        ),
        (
            "nested".into(),
            AttributeValue::M(HashMap::from([(
                "deep".into(),
                AttributeValue::M(HashMap::from([("empty".into(), s(""))])),
            )])),
        ),
        ("Odd Name-ä".into(), AttributeValue::Bool(false)),
    ]));
    assert_eq!(profile(&item)["customAttributes"], want);
}

#[tokio::test]
async fn a_sequential_duplicate_answers_duplicate_changes_nothing_and_costs_one_dynamodb_call() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (first, _) = contact_envelope("contact.updated", &contact);
    let first = with_payload(&first, &[("email", r#""first@example.com""#)], &[]);
    let (second, second_id) = contact_envelope("contact.updated", &contact);
    assert_eq!(rig.deliver(CONTACT, &first).await.1, "processed");
    assert_eq!(rig.deliver(CONTACT, &second).await.1, "processed");

    let (function, calls) = rig.counted_function(CONTACT);
    // A Svix retry is signed anew: different svix-id and timestamp, same body.
    assert_a_retry_is_a_one_call_duplicate(&function, &calls, Shape::ApiGatewayHttp, &first).await;
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(
        item["profileEventId"],
        s(&second_id),
        "the retry changed nothing"
    );
    assert_eq!(profile(&item)["email"], s("myNewEmail@email.com"));
}

#[tokio::test]
async fn a_first_delivery_costs_one_dynamodb_call() {
    let rig = MirrorRig::new().await;
    let (function, calls) = rig.counted_function(CONTACT);
    let (env, _) = contact_envelope("contact.created", &unique("contact"));
    let got = deliver(&function, Shape::FunctionUrl, &env).await;
    assert_eq!(got, (200, "processed".into()));
    assert_eq!(calls.count(), 1, "record and change in one transaction");
}

#[tokio::test]
async fn the_same_id_with_another_payload_is_a_conflicting_duplicate() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.updated", &contact);
    assert_eq!(rig.deliver(CONTACT, &env).await.1, "processed");
    let changed = with_payload(&env, &[("city", r#""Malmö""#)], &[]);
    assert_eq!(
        rig.deliver(CONTACT, &changed).await,
        (409, "conflicting_duplicate".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(profile(&item)["city"], s("Stockholm"));
    assert_eq!(item["profileEventId"], s(&id));
}

#[tokio::test]
async fn updates_apply_in_arrival_order_and_a_created_arriving_after_an_update_is_stale() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (updated, updated_id) = contact_envelope("contact.updated", &contact);
    let (created, created_id) = contact_envelope("contact.created", &contact);
    assert_eq!(
        rig.deliver(CONTACT, &updated).await,
        (200, "processed".into())
    );
    assert_eq!(rig.deliver(CONTACT, &created).await, (200, "stale".into()));
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(item["profileEventId"], s(&updated_id));
    assert_eq!(profile(&item)["email"], s("myNewEmail@email.com"));
    let record = rig
        .record(&created_id)
        .await
        .expect("the stale event is recorded");
    assert_eq!(record["state"], s("COMPLETED"));
    assert_eq!(
        rig.deliver(CONTACT, &created).await,
        (200, "duplicate".into()),
        "its retry is a duplicate"
    );

    // contact.updated carries no change time, and these test deliveries' svix-ids carry no
    // message time: the latest arrival wins (docs/contact-mirror.md, ordering rule 5; tests/message_order.rs).
    let (later, later_id) = contact_envelope("contact.updated", &contact);
    let later = with_payload(&later, &[("city", r#""Göteborg""#)], &[]);
    assert_eq!(
        rig.deliver(CONTACT, &later).await,
        (200, "processed".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(item["profileEventId"], s(&later_id));
    assert_eq!(profile(&item)["city"], s("Göteborg"));
}

#[tokio::test]
async fn a_deletion_erases_all_personal_data_and_no_late_event_brings_the_contact_back() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let envelope = |t: &str| contact_envelope(t, &contact);
    let (created, _) = envelope("contact.created");
    let (email, _) = envelope("contact.acceptsEmail.changed");
    let (consent, _) = envelope("contact.consent.changed");
    assert_eq!(rig.deliver(CONTACT, &created).await.1, "processed");
    assert_eq!(rig.deliver(CONSENT, &email).await.1, "processed");
    assert_eq!(rig.deliver(CONSENT, &consent).await.1, "processed");
    let before = rig.contact(&contact).await.unwrap();
    for name in ["profile", "acceptsEmail", "consent_myConsentAlias"] {
        assert!(before.contains_key(name), "{name}");
    }

    let (deleted, deleted_id) = envelope("contact.deleted");
    assert_eq!(
        rig.deliver(CONTACT, &deleted).await,
        (200, "processed".into())
    );

    // Late deliveries, even ones whose change time is far in the future.
    let future = r#""2099-01-01T00:00:00+01:00""#;
    let (late_update, update_id) = envelope("contact.updated");
    let (late_create, create_id) = envelope("contact.created");
    let (late_sms, sms_id) = envelope("contact.acceptsSms.changed");
    let late_sms = with_payload(&late_sms, &[("dateChanged", future)], &[]);
    let (late_consent, consent_id) = envelope("contact.consent.changed");
    let late_consent = with_payload(&late_consent, &[("dateChanged", future)], &[]);
    let (late_null, null_id) = envelope("contact.consent.changed");
    let late_null = with_payload(
        &late_null,
        &[("consentAlias", r#""other""#), ("consentValue", "null")],
        &["dateChanged"],
    );
    for (family, late, what) in [
        (CONTACT, &late_update, "update"),
        (CONTACT, &late_create, "create"),
        (CONSENT, &late_sms, "future sms flag"),
        (CONSENT, &late_consent, "future consent"),
        (CONSENT, &late_null, "null consent"),
    ] {
        let got = rig.deliver(family, late).await;
        assert_eq!(got, (200, "stale".into()), "late {what}");
    }
    assert_eq!(
        rig.deliver(CONTACT, &deleted).await,
        (200, "duplicate".into())
    );
    for id in [&update_id, &create_id, &sms_id, &consent_id, &null_id] {
        let record = rig.record(id).await.expect("a late event is recorded");
        assert_eq!(record["state"], s("COMPLETED"));
    }

    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(attribute_names(&item), tombstone_names(true));
    assert_eq!(item["engageContactId"], s(&contact));
    assert_eq!(item["tenant"], s(SAMPLE_TENANT));
    assert_eq!(item["deleteEventId"], s(&deleted_id));
    let text = format!("{item:?}");
    for personal in [
        "john",
        "John",
        "Doe",
        "example.com",
        "email.com",
        "+4670",
        "20040217",
        "Storgatan",
        "11122",
        "Stockholm",
        "CRM-12345",
        "1234567",
    ] {
        assert!(!text.contains(personal), "{personal} survived the deletion");
    }
    let deleted_at = item["deletedAt"].as_s().unwrap();
    let when = engage_webhooks::ChangeTime::parse(deleted_at).expect("RFC 3339");
    assert!(deleted_at.ends_with('Z'), "UTC: {deleted_at}");
    let now = engage_webhooks::now_millis() / 1000;
    assert!((when.micros / 1_000_000 - now).abs() < 60, "{deleted_at}");
    let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
    assert!(
        (expires - now - 30 * 24 * 3600).abs() < 60,
        "tombstones live 30 days, past Svix's retries"
    );
}

#[tokio::test]
async fn a_deletion_of_a_contact_never_seen_leaves_a_tombstone_that_blocks_late_events() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (deleted, _) = contact_envelope("contact.deleted", &contact);
    let deleted = with_payload(&deleted, &[], &["deletionReason"]);
    assert_eq!(rig.deliver(CONTACT, &deleted).await.1, "processed");
    let (created, _) = contact_envelope("contact.created", &contact);
    assert_eq!(rig.deliver(CONTACT, &created).await, (200, "stale".into()));
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(attribute_names(&item), tombstone_names(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_event_give_exactly_one_processed_effect() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.updated", &contact);
    let functions = rig.racing_functions(CONTACT, 20).await;
    assert_exactly_one_processed_concurrently(&functions, &env).await;
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(item["profileEventId"], s(&id));
    assert_eq!(rig.record(&id).await.unwrap()["state"], s("COMPLETED"));
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_within_ten_seconds_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    rig.assert_an_outage_is_retried_cleanly(CONTACT, "contact.created")
        .await;
}

#[tokio::test]
async fn a_failing_mirror_write_leaves_no_dedup_record_so_the_retry_applies_it() {
    let rig = MirrorRig::new().await;
    let function = rig.function_with(
        CONTACT,
        aws_sdk_dynamodb::Client::new(&rig.sdk),
        &unique("no-such-table"),
        None,
    );
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.created", &contact);
    let got = deliver(&function, Shape::FunctionUrl, &env).await;
    assert_eq!(got, (503, "storage_unavailable".into()));
    assert!(
        rig.record(&id).await.is_none(),
        "the dedup record is not committed without the change"
    );
    assert_eq!(rig.deliver(CONTACT, &env).await, (200, "processed".into()));
    assert!(rig.contact(&contact).await.is_some());
}

#[tokio::test]
async fn a_loyalty_event_is_the_wrong_endpoint_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let resp = rig
        .function(CONTACT, None)
        .handle(signed_request(Shape::ApiGatewayHttp, &env))
        .await;
    assert_eq!(answer(&resp), (422, "wrong_endpoint".into()));
    let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    assert!(v["message"].as_str().unwrap().contains("loyalty"));
    assert!(rig.record(&id).await.is_none());
    let (env, id) = fresh_envelope("contact.acceptsEmail.changed");
    assert_eq!(
        rig.deliver(CONTACT, &env).await,
        (422, "wrong_endpoint".into())
    );
    assert!(rig.record(&id).await.is_none());
}

#[tokio::test]
async fn an_unknown_contact_type_is_acknowledged_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.created", &contact);
    let env = with_fields(&env, &[("eventType", r#""contact.merged""#)]);
    assert_eq!(
        rig.deliver(CONTACT, &env).await,
        (200, "ignored_event_type".into())
    );
    rig.assert_left_nothing(&id, &contact).await;
}

#[tokio::test]
async fn an_invalid_payload_is_400_unquoted_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    let (env, id) = contact_envelope("contact.created", "c");
    let env = with_payload(&env, &[], &["contactId"]);
    let (resp, out) = engage_webhooks::Telemetry::json("info", TEST_NAMESPACE)
        .capture(
            rig.function(CONTACT, None)
                .handle(signed_request(Shape::FunctionUrl, &env)),
        )
        .await;
    assert_eq!(answer(&resp), (400, "invalid_payload".into()));
    let body = String::from_utf8_lossy(resp.body().as_ref()).to_string();
    assert!(body.contains("contactId"), "{body}");
    assert!(!body.contains("john"), "{body}");
    // Nor do the delivery's log line and metrics quote the payload.
    assert!(
        !out.text().to_lowercase().contains("john"),
        "{}",
        out.text()
    );
    assert_private(&out, &[&env]);
    assert_eq!(out.metric_lines()[0]["Outcome"], "invalid_payload");
    assert!(rig.record(&id).await.is_none());
}
