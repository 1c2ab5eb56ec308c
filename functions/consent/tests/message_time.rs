//! A preference or consent change without `dateChanged` is dated by when Svix created its
//! message (the `svix-id`'s KSUID time), not by the attempt's `svix-timestamp`: a late retry of
//! an older undated change stays older than a change delivered in between. Against moto.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{now_millis, svix_message_id, Family};

const CONSENT: Family = Family::Consent;

/// An undated change of `event_type` for `contact` to `value` (JSON text).
fn undated(event_type: &str, field: &str, contact: &str, value: &str) -> String {
    let (env, _) = contact_envelope(event_type, contact);
    with_payload(&env, &[(field, value)], &["dateChanged"])
}

#[tokio::test]
async fn a_late_retry_of_an_older_undated_change_is_stale_for_a_flag_and_a_consent() {
    let rig = MirrorRig::new().await;
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule::new(
            "TransactWriteItems",
            Times::Always,
            Fault::Throttling,
        )],
    )
    .await;
    let throttled = aws_sdk_dynamodb::Client::new(&local_aws_at(proxy.url()).await);
    let failing = rig.function_with(CONSENT, throttled, &rig.contacts_table, None);
    let function = rig.function(CONSENT, None);
    for (event_type, field, attribute) in [
        ("contact.acceptsSms.changed", "acceptsSms", "acceptsSms"),
        (
            "contact.consent.changed",
            "consentValue",
            "consent_myConsentAlias",
        ),
    ] {
        let contact = unique("contact");
        let now = now_millis();
        let older = undated(event_type, field, &contact, "true");
        let older_msg = svix_message_id(now - 60_000);
        let newer = undated(event_type, field, &contact, "false");
        let newer_msg = svix_message_id(now - 30_000);

        let first = attempt(&failing, &older, &older_msg).await;
        assert_eq!(first, (503, "storage_unavailable".into()), "{event_type}");
        let got = attempt(&function, &newer, &newer_msg).await;
        assert_eq!(got, (200, "processed".into()), "{event_type}");
        // Signed after the newer change was delivered, but created before it.
        let retry = attempt(&function, &older, &older_msg).await;
        assert_eq!(retry, (200, "stale".into()), "{event_type}");

        let item = rig.contact(&contact).await.unwrap();
        let entry = item[attribute].as_m().unwrap();
        assert_eq!(entry["value"], AttributeValue::Bool(false), "{event_type}");
        let micros: i64 = entry["changedAtMicros"].as_n().unwrap().parse().unwrap();
        assert_eq!(micros, (now - 30_000) / 4 * 4 * 1000, "{event_type}");
        let text = entry["changedAt"].as_s().unwrap();
        let parsed = engage_webhooks::ChangeTime::parse(text).expect("RFC 3339");
        assert_eq!(parsed.micros, micros, "{text}");
        assert!(text.ends_with('Z'), "UTC: {text}");
    }
}

#[tokio::test]
async fn a_date_changed_still_comes_first() {
    let rig = MirrorRig::new().await;
    let function = rig.function(CONSENT, None);
    let contact = unique("contact");
    let (env, _) = contact_envelope("contact.acceptsEmail.changed", &contact);
    // The fixture's dateChanged (January 2026) is what orders it, not a message time of now.
    assert_eq!(
        attempt(&function, &env, &svix_message_id(now_millis()))
            .await
            .1,
        "processed"
    );
    let item = rig.contact(&contact).await.unwrap();
    let entry = item["acceptsEmail"].as_m().unwrap();
    assert_eq!(
        entry["changedAtMicros"],
        AttributeValue::N("1768922918985631".into())
    );
}
