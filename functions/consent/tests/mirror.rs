//! The consent function against the real DynamoDB wire protocol (moto's server, started by
//! scripts/test.sh): each preference flag and consent holds its newest value whatever order
//! Svix delivers in, a consent never reverts to unset, and every event takes effect once.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{Family, WebhookFunction};
use serde_json::Value;
use std::collections::HashMap;

const CONSENT: Family = Family::Consent;
const CONTACT: Family = Family::Contact;

/// Each type, the attribute it writes, the fixture's value, its `dateChanged` as sent and
/// that instant in UTC epoch microseconds (computed independently).
const FIXTURES: [(&str, &str, bool, &str, i64); 4] = [
    (
        "contact.acceptsEmail.changed",
        "acceptsEmail",
        true,
        "2026-01-20T16:28:38.985631+01:00",
        1_768_922_918_985_631,
    ),
    (
        "contact.acceptsSms.changed",
        "acceptsSms",
        false,
        "2026-01-20T16:31:02.120000+01:00",
        1_768_923_062_120_000,
    ),
    (
        "contact.acceptsPostal.changed",
        "acceptsPostal",
        true,
        "2026-01-21T09:05:44.500000+01:00",
        1_768_982_744_500_000,
    ),
    (
        "contact.consent.changed",
        "consent_myConsentAlias",
        true,
        "2026-01-20T16:28:38.985631+01:00",
        1_768_922_918_985_631,
    ),
];

/// 09:30 UTC is later than 10:00 at +01:00 (09:00 UTC), though earlier as text.
const NEWER: &str = r#""2026-03-01T09:30:00Z""#;
const OLDER: &str = r#""2026-03-01T10:00:00+01:00""#;
const NEWER_BY_A_MICROSECOND: &str = r#""2026-03-01T09:30:00.000001Z""#;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn entry<'a>(item: &'a Item, attribute: &str) -> &'a HashMap<String, AttributeValue> {
    item.get(attribute)
        .and_then(|e| e.as_m().ok())
        .unwrap_or_else(|| panic!("no {attribute} in {:?}", attribute_names(item)))
}

/// The value stored for a flag or consent `attribute`.
fn value_of<'a>(item: &'a Item, attribute: &str) -> &'a AttributeValue {
    &entry(item, attribute)["value"]
}

/// The fixture of `event_type` for `contact`, with its value (under the flag's own name, or
/// `consentValue`) and `dateChanged` replaced.
fn change(event_type: &str, contact: &str, value: &str, date: &str) -> (String, String) {
    let (env, id) = contact_envelope(event_type, contact);
    let field = match event_type {
        "contact.acceptsEmail.changed" => "acceptsEmail",
        "contact.acceptsSms.changed" => "acceptsSms",
        "contact.acceptsPostal.changed" => "acceptsPostal",
        _ => "consentValue",
    };
    (
        with_payload(&env, &[(field, value), ("dateChanged", date)], &[]),
        id,
    )
}

#[tokio::test]
async fn every_type_plain_and_encrypted_in_every_request_shape_sets_its_value() {
    let rig = MirrorRig::new().await;
    for cipher in CIPHERS {
        let function = rig.function(CONSENT, cipher);
        for shape in Shape::ALL {
            for (event_type, attribute, value, date, micros) in FIXTURES {
                let contact = unique("contact");
                let (plain, id) = contact_envelope(event_type, &contact);
                let got = deliver(&function, shape, &sealed(&plain, cipher)).await;
                let case = format!("{event_type} {cipher:?} {shape:?}");
                assert_eq!(got, (200, "processed".into()), "{case}");
                let item = rig.contact(&contact).await.expect("mirrored");
                let want = HashMap::from([
                    ("value".to_string(), AttributeValue::Bool(value)),
                    ("changedAt".to_string(), s(date)),
                    ("changedAtMicros".to_string(), n(micros)),
                    ("eventId".to_string(), s(&id)),
                ]);
                assert_eq!(entry(&item, attribute), &want, "{case}");
                assert_eq!(item["tenant"], s("myTenantName"));
                let mut names = vec!["contactId", "engageContactId", "tenant", attribute];
                names.sort();
                assert_eq!(attribute_names(&item), names, "{case}");
                assert_eq!(rig.record(&id).await.unwrap()["state"], s("COMPLETED"));
            }
        }
    }
}

#[tokio::test]
async fn the_flag_is_read_from_its_own_name_then_value_then_new_value_and_none_is_400() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    for (i, (set, want)) in [
        (vec![("acceptsSms", "false"), ("value", "true")], false),
        (vec![("value", "true")], true),
        (vec![("newValue", "false")], false),
    ]
    .into_iter()
    .enumerate()
    {
        let (env, _) = contact_envelope("contact.acceptsSms.changed", &contact);
        let date = format!("\"2026-03-01T09:30:0{i}Z\"");
        let mut fields = set.clone();
        fields.push(("dateChanged", &date));
        let env = with_payload(&env, &fields, &["acceptsSms"]);
        assert_eq!(
            rig.deliver(CONSENT, &env).await,
            (200, "processed".into()),
            "{set:?}"
        );
        let item = rig.contact(&contact).await.unwrap();
        assert_eq!(value_of(&item, "acceptsSms"), &AttributeValue::Bool(want));
    }
    let (env, id) = contact_envelope("contact.acceptsPostal.changed", &unique("contact"));
    let env = with_payload(&env, &[("acceptsEmail", "true")], &["acceptsPostal"]);
    let resp = rig
        .function(CONSENT, None)
        .handle(signed_request(Shape::FunctionUrl, &env))
        .await;
    assert_eq!(answer(&resp), (400, "invalid_payload".into()));
    let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    assert!(v["message"].as_str().unwrap().contains("acceptsPostal"));
    assert!(rig.record(&id).await.is_none());
}

#[tokio::test]
async fn newer_then_older_keeps_the_newer_and_an_equal_time_is_the_later_arrival_for_every_kind() {
    let rig = MirrorRig::new().await;
    for (event_type, attribute, _, _, _) in FIXTURES {
        let contact = unique("contact");
        let (newer, newer_id) = change(event_type, &contact, "true", NEWER);
        let (older, older_id) = change(event_type, &contact, "false", OLDER);
        let (equal, equal_id) = change(event_type, &contact, "false", NEWER);
        assert_eq!(
            rig.deliver(CONSENT, &newer).await,
            (200, "processed".into())
        );
        assert_eq!(
            rig.deliver(CONSENT, &older).await,
            (200, "stale".into()),
            "{event_type}: older in UTC, though later as text"
        );
        let item = rig.contact(&contact).await.unwrap();
        let stored = entry(&item, attribute);
        assert_eq!(stored["value"], AttributeValue::Bool(true), "{event_type}");
        assert_eq!(stored["eventId"], s(&newer_id));
        assert_eq!(stored["changedAt"], s("2026-03-01T09:30:00Z"));
        let record = rig
            .record(&older_id)
            .await
            .expect("the stale event is recorded");
        assert_eq!(record["state"], s("COMPLETED"));
        assert_eq!(
            rig.deliver(CONSENT, &older).await,
            (200, "duplicate".into()),
            "a retry of the stale event"
        );
        assert_eq!(
            rig.deliver(CONSENT, &equal).await,
            (200, "processed".into()),
            "{event_type}: an equal change time is the later arrival, which wins (as for profiles)"
        );
        let item = rig.contact(&contact).await.unwrap();
        let stored = entry(&item, attribute);
        assert_eq!(stored["value"], AttributeValue::Bool(false), "{event_type}");
        assert_eq!(stored["eventId"], s(&equal_id));

        let (newest, newest_id) = change(event_type, &contact, "false", NEWER_BY_A_MICROSECOND);
        assert_eq!(
            rig.deliver(CONSENT, &newest).await,
            (200, "processed".into())
        );
        let item = rig.contact(&contact).await.unwrap();
        let stored = entry(&item, attribute);
        assert_eq!(stored["value"], AttributeValue::Bool(false), "{event_type}");
        assert_eq!(stored["eventId"], s(&newest_id));
        assert_eq!(stored["changedAtMicros"], n(1_772_357_400_000_001));
    }
}

#[tokio::test]
async fn flags_and_consents_are_ordered_independently() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (email, _) = change("contact.acceptsEmail.changed", &contact, "true", NEWER);
    let (sms, _) = change("contact.acceptsSms.changed", &contact, "true", OLDER);
    let (terms, _) = change("contact.consent.changed", &contact, "true", NEWER);
    let (news, _) = change("contact.consent.changed", &contact, "false", OLDER);
    let news = with_payload(&news, &[("consentAlias", r#""newsletter""#)], &[]);
    for env in [&email, &sms, &terms, &news] {
        assert_eq!(rig.deliver(CONSENT, env).await, (200, "processed".into()));
    }
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(
        attribute_names(&item),
        [
            "acceptsEmail",
            "acceptsSms",
            "consent_myConsentAlias",
            "consent_newsletter",
            "contactId",
            "engageContactId",
            "tenant"
        ]
    );
    assert_eq!(
        value_of(&item, "consent_newsletter"),
        &AttributeValue::Bool(false)
    );
}

#[tokio::test]
async fn a_consent_once_set_never_reverts_to_unset() {
    let rig = MirrorRig::new().await;
    let event = "contact.consent.changed";

    let contact = unique("contact");
    let (set, set_id) = change(event, &contact, "true", OLDER);
    let (unset, unset_id) = change(event, &contact, "null", NEWER);
    assert_eq!(rig.deliver(CONSENT, &set).await, (200, "processed".into()));
    assert_eq!(
        rig.deliver(CONSENT, &unset).await,
        (200, "stale".into()),
        "a later null never replaces a value"
    );
    let item = rig.contact(&contact).await.unwrap();
    let stored = entry(&item, "consent_myConsentAlias");
    assert_eq!(stored["value"], AttributeValue::Bool(true));
    assert_eq!(stored["eventId"], s(&set_id));
    assert!(rig.record(&unset_id).await.is_some());

    // A null stored first (nothing was set yet) gives way to any value, even an older one.
    let contact = unique("contact");
    let (unset, _) = change(event, &contact, "null", NEWER);
    let (set, set_id) = change(event, &contact, r#""granted""#, OLDER);
    let (unset_again, _) = change(event, &contact, "null", NEWER_BY_A_MICROSECOND);
    assert_eq!(
        rig.deliver(CONSENT, &unset).await,
        (200, "processed".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(
        value_of(&item, "consent_myConsentAlias"),
        &AttributeValue::Null(true)
    );
    assert_eq!(rig.deliver(CONSENT, &set).await, (200, "processed".into()));
    assert_eq!(
        rig.deliver(CONSENT, &unset_again).await,
        (200, "stale".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    let stored = entry(&item, "consent_myConsentAlias");
    assert_eq!(stored["value"], s("granted"));
    assert_eq!(stored["eventId"], s(&set_id));
}

#[tokio::test]
async fn consent_values_are_stored_exactly_as_sent() {
    let rig = MirrorRig::new().await;
    for (json, want) in [
        (
            "0.1000000000000000055511151231257827",
            AttributeValue::N("0.1000000000000000055511151231257827".into()),
        ),
        (r#""2026-01-20""#, s("2026-01-20")),
        (
            r#"{"accepted":true,"version":3}"#,
            AttributeValue::M(HashMap::from([
                ("accepted".into(), AttributeValue::Bool(true)),
                ("version".into(), n(3)),
            ])),
        ),
    ] {
        let contact = unique("contact");
        let (env, _) = change("contact.consent.changed", &contact, json, NEWER);
        assert_eq!(rig.deliver(CONSENT, &env).await, (200, "processed".into()));
        let item = rig.contact(&contact).await.unwrap();
        assert_eq!(value_of(&item, "consent_myConsentAlias"), &want, "{json}");
    }
}

#[tokio::test]
async fn without_date_changed_the_signed_svix_timestamp_orders_the_change() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, _) = contact_envelope("contact.acceptsEmail.changed", &contact);
    let undated = with_payload(&env, &[("acceptsEmail", "false")], &["dateChanged"]);
    let before = engage_webhooks::now_millis() / 1000;
    assert_eq!(
        rig.deliver(CONSENT, &undated).await,
        (200, "processed".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    let stored = entry(&item, "acceptsEmail");
    let micros: i64 = stored["changedAtMicros"].as_n().unwrap().parse().unwrap();
    assert!((micros / 1_000_000 - before).abs() <= 2, "{micros}");
    let text = stored["changedAt"].as_s().unwrap();
    assert!(text.ends_with('Z'), "RFC 3339 UTC: {text}");

    // The fixture's date (January 2026) is older than now; one in 2099 is newer.
    let (old, _) = contact_envelope("contact.acceptsEmail.changed", &contact);
    assert_eq!(rig.deliver(CONSENT, &old).await, (200, "stale".into()));
    let next_year = r#""2099-01-01T00:00:00+01:00""#;
    let (later, _) = change("contact.acceptsEmail.changed", &contact, "true", next_year);
    assert_eq!(
        rig.deliver(CONSENT, &later).await,
        (200, "processed".into())
    );
}

#[tokio::test]
async fn an_unreadable_date_or_alias_is_400_unquoted_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    for (event_type, set, mention) in [
        (
            "contact.acceptsSms.changed",
            ("dateChanged", r#""john@example.com""#),
            "dateChanged",
        ),
        (
            "contact.consent.changed",
            ("dateChanged", r#""20/01/2026 16:28""#),
            "dateChanged",
        ),
        (
            "contact.consent.changed",
            ("consentAlias", r#""john@example.com""#),
            "consentAlias",
        ),
        (
            "contact.consent.changed",
            ("consentAlias", r#""""#),
            "consentAlias",
        ),
        (
            "contact.acceptsEmail.changed",
            ("acceptsEmail", r#""yes""#),
            "acceptsEmail",
        ),
    ] {
        let contact = unique("contact");
        let (env, id) = contact_envelope(event_type, &contact);
        let env = with_payload(&env, &[set], &[]);
        let (resp, out) = engage_webhooks::Telemetry::json("info", TEST_NAMESPACE)
            .capture(
                rig.function(CONSENT, None)
                    .handle(signed_request(Shape::FunctionUrl, &env)),
            )
            .await;
        assert_eq!(answer(&resp), (400, "invalid_payload".into()), "{set:?}");
        let body = String::from_utf8_lossy(resp.body().as_ref()).to_string();
        assert!(!body.contains("john") && !body.contains("2026"), "{body}");
        // Nor do the delivery's log line and metrics quote the payload.
        assert!(
            !out.text().contains("john") && !out.text().contains("20/01/2026"),
            "{}",
            out.text()
        );
        assert_private(&out, &[&env]);
        assert_eq!(out.metric_lines()[0]["Outcome"], "invalid_payload");
        if mention != "acceptsEmail" {
            assert!(body.contains(mention), "{body}");
        }
        rig.assert_left_nothing(&id, &contact).await;
    }
}

#[tokio::test]
async fn a_sequential_duplicate_answers_duplicate_changes_nothing_and_costs_one_dynamodb_call() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (first, _) = change("contact.consent.changed", &contact, "true", OLDER);
    let (second, second_id) = change("contact.consent.changed", &contact, "false", NEWER);
    assert_eq!(rig.deliver(CONSENT, &first).await.1, "processed");
    assert_eq!(rig.deliver(CONSENT, &second).await.1, "processed");
    let (function, calls) = rig.counted_function(CONSENT);
    assert_a_retry_is_a_one_call_duplicate(&function, &calls, Shape::FunctionUrlBase64, &second)
        .await;
    let item = rig.contact(&contact).await.unwrap();
    let stored = entry(&item, "consent_myConsentAlias");
    assert_eq!(stored["eventId"], s(&second_id));
    assert_eq!(stored["value"], AttributeValue::Bool(false));
}

#[tokio::test]
async fn a_first_delivery_costs_one_dynamodb_call_and_a_stale_one_two() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (newer, _) = change("contact.acceptsPostal.changed", &contact, "true", NEWER);
    let (older, _) = change("contact.acceptsPostal.changed", &contact, "false", OLDER);
    for (env, reason, want_calls) in [(&newer, "processed", 1), (&older, "stale", 2)] {
        let (function, calls) = rig.counted_function(CONSENT);
        let got = deliver(&function, Shape::FunctionUrl, env).await;
        assert_eq!(got, (200, reason.into()));
        assert_eq!(calls.count(), want_calls, "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_event_give_exactly_one_processed_effect() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.consent.changed", &contact);
    let functions = rig.racing_functions(CONSENT, 20).await;
    assert_exactly_one_processed_concurrently(&functions, &env).await;
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(entry(&item, "consent_myConsentAlias")["eventId"], s(&id));
    assert_eq!(rig.record(&id).await.unwrap()["state"], s("COMPLETED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_an_older_and_a_newer_change_leave_the_newer() {
    let rig = MirrorRig::new().await;
    for _ in 0..5 {
        let contact = unique("contact");
        let (newer, newer_id) = change("contact.acceptsEmail.changed", &contact, "true", NEWER);
        let (older, older_id) = change("contact.acceptsEmail.changed", &contact, "false", OLDER);
        let racing = rig.racing_functions(CONSENT, 2).await;
        let (a, b) = tokio::join!(
            deliver(&racing[0], Shape::FunctionUrl, &older),
            deliver(&racing[1], Shape::FunctionUrl, &newer)
        );
        assert_eq!(b, (200, "processed".into()));
        assert!(a.1 == "processed" || a.1 == "stale", "{a:?}");
        let item = rig.contact(&contact).await.unwrap();
        assert_eq!(entry(&item, "acceptsEmail")["eventId"], s(&newer_id));
        assert!(rig.record(&older_id).await.is_some());
    }
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_within_ten_seconds_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    rig.assert_an_outage_is_retried_cleanly(CONSENT, "contact.consent.changed")
        .await;
}

#[tokio::test]
async fn preferences_and_consents_arriving_before_the_profile_are_kept() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (sms, _) = contact_envelope("contact.acceptsSms.changed", &contact);
    let (consent, _) = contact_envelope("contact.consent.changed", &contact);
    let (created, created_id) = contact_envelope("contact.created", &contact);
    assert_eq!(rig.deliver(CONSENT, &sms).await.1, "processed");
    assert_eq!(rig.deliver(CONSENT, &consent).await.1, "processed");
    assert_eq!(
        rig.deliver(CONTACT, &created).await,
        (200, "processed".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(
        attribute_names(&item),
        [
            "acceptsSms",
            "consent_myConsentAlias",
            "contactId",
            "engageContactId",
            "profile",
            "profileEventId",
            "profileUpdatedAt",
            "tenant"
        ]
    );
    assert_eq!(item["profileEventId"], s(&created_id));
    assert_eq!(value_of(&item, "acceptsSms"), &AttributeValue::Bool(false));
}

#[tokio::test]
async fn misrouted_events_are_the_wrong_endpoint_and_write_nothing() {
    let rig = MirrorRig::new().await;
    for (event_type, family) in [
        ("contact.created", "contact"),
        ("loyalty.addPoints", "loyalty"),
        ("promotion.multichannel.assigned", "promotion"),
    ] {
        let (env, id) = fresh_envelope(event_type);
        let resp = rig
            .function(CONSENT, None)
            .handle(signed_request(Shape::ApiGatewayHttp, &env))
            .await;
        assert_eq!(
            answer(&resp),
            (422, "wrong_endpoint".into()),
            "{event_type}"
        );
        let v: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert!(v["message"].as_str().unwrap().contains(family));
        assert!(rig.record(&id).await.is_none());
    }
}

#[tokio::test]
async fn an_unknown_consent_type_is_acknowledged_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.acceptsEmail.changed", &contact);
    let env = with_fields(&env, &[("eventType", r#""contact.acceptsPush.changed""#)]);
    assert_eq!(
        rig.deliver(CONSENT, &env).await,
        (200, "ignored_event_type".into())
    );
    rig.assert_left_nothing(&id, &contact).await;
}

// The shop-side reader of docs/contact-mirror.md ("Reading the mirror"), verbatim, so the documented code compiles and works.
pub struct Choices {
    pub accepts_email: Option<bool>,
    pub accepts_sms: Option<bool>,
    pub accepts_postal: Option<bool>,
    /// consentAlias -> value as Engage sent it (`Bool`, `S`, `N`, ... or `Null` if not set).
    pub consents: HashMap<String, AttributeValue>,
}

/// `None` when the contact is unknown to the mirror or deleted in Engage.
pub async fn choices(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    tenant: &str,
    contact_id: &str,
) -> Result<Option<Choices>, aws_sdk_dynamodb::Error> {
    let out = client
        .get_item()
        .table_name(table)
        .key(
            "contactId",
            AttributeValue::S(format!("{tenant}#{contact_id}")),
        )
        .consistent_read(true)
        .send()
        .await?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    if item.contains_key("deletedAt") {
        return Ok(None);
    }
    let value = |entry: &AttributeValue| entry.as_m().ok()?.get("value").cloned();
    let flag = |name: &str| value(item.get(name)?)?.as_bool().ok().copied();
    let consents = item
        .iter()
        .filter_map(|(name, entry)| {
            Some((name.strip_prefix("consent_")?.to_string(), value(entry)?))
        })
        .collect();
    Ok(Some(Choices {
        accepts_email: flag("acceptsEmail"),
        accepts_sms: flag("acceptsSms"),
        accepts_postal: flag("acceptsPostal"),
        consents,
    }))
}

#[tokio::test]
async fn the_documented_reader_sees_preferences_and_consents_and_nothing_after_deletion() {
    let rig = MirrorRig::new().await;
    let client = aws_sdk_dynamodb::Client::new(&rig.sdk);
    let contact = unique("contact");
    let read = || choices(&client, &rig.contacts_table, SAMPLE_TENANT, &contact);
    assert!(read().await.unwrap().is_none(), "unknown contact");
    for event_type in [
        "contact.created",
        "contact.acceptsEmail.changed",
        "contact.acceptsSms.changed",
        "contact.consent.changed",
    ] {
        let (env, _) = contact_envelope(event_type, &contact);
        let family = if event_type == "contact.created" {
            CONTACT
        } else {
            CONSENT
        };
        assert_eq!(rig.deliver(family, &env).await.1, "processed");
    }
    let got = read().await.unwrap().expect("a contact");
    assert_eq!(got.accepts_email, Some(true));
    assert_eq!(got.accepts_sms, Some(false));
    assert_eq!(got.accepts_postal, None, "never changed");
    assert_eq!(
        got.consents,
        HashMap::from([("myConsentAlias".to_string(), AttributeValue::Bool(true))])
    );
    let (deleted, _) = contact_envelope("contact.deleted", &contact);
    assert_eq!(rig.deliver(CONTACT, &deleted).await.1, "processed");
    assert!(read().await.unwrap().is_none(), "deleted in Engage");
}
