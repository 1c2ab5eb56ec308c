//! Limits on what a change can do to the mirror, against moto: a future-dated `dateChanged`
//! cannot freeze a flag or consent, and no contact item grows past DynamoDB's 400 KB (what
//! could never fit is 400 `invalid_payload` before any write; DynamoDB's own size refusal is
//! the same 400, never a 5xx retry), nothing half-written.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{now_millis, svix_message_id, Family};

const CONTACT: Family = Family::Contact;
const CONSENT: Family = Family::Consent;

fn value(item: &Item, attribute: &str) -> AttributeValue {
    item[attribute].as_m().unwrap()["value"].clone()
}

#[tokio::test]
async fn a_future_dated_change_is_ordered_by_its_message_time_and_freezes_nothing() {
    let rig = MirrorRig::new().await;
    let function = rig.function(CONSENT, None);
    for (event_type, field, attribute) in [
        (
            "contact.acceptsEmail.changed",
            "acceptsEmail",
            "acceptsEmail",
        ),
        (
            "contact.consent.changed",
            "consentValue",
            "consent_myConsentAlias",
        ),
    ] {
        let contact = unique("contact");
        let now = now_millis();
        let (env, _) = contact_envelope(event_type, &contact);
        let future = with_payload(
            &env,
            &[(field, "true"), ("dateChanged", "\"2099-01-01T00:00:00Z\"")],
            &[],
        );
        let sent = now - 10_000;
        let got = attempt(&function, &future, &svix_message_id(sent)).await;
        assert_eq!(got, processed(), "{event_type}");
        let item = rig.contact(&contact).await.unwrap();
        let entry = item[attribute].as_m().unwrap();
        assert_eq!(
            entry["changedAtMicros"],
            AttributeValue::N((sent / 4 * 4 * 1000).to_string()),
            "{event_type}: dated by its message"
        );

        let (env, _) = contact_envelope(event_type, &contact);
        let dated_now = format!(
            "\"{}\"",
            engage_webhooks::ChangeTime::at_unix_millis(now).text
        );
        let real = with_payload(&env, &[(field, "false"), ("dateChanged", &dated_now)], &[]);
        let got = attempt(&function, &real, &svix_message_id(now)).await;
        assert_eq!(
            got,
            processed(),
            "{event_type}: a real later change applies"
        );
        let item = rig.contact(&contact).await.unwrap();
        assert_eq!(value(&item, attribute), AttributeValue::Bool(false));
    }
}

#[tokio::test]
async fn a_consent_or_profile_that_could_never_fit_is_400_and_writes_nothing() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.consent.changed", &contact);
    let huge = format!("\"{}\"", "x".repeat(20 * 1024));
    let env = with_payload(&env, &[("consentValue", &huge)], &[]);
    let (status, body) = rig.deliver(CONSENT, &env).await;
    assert_eq!((status, body.as_str()), (400, "invalid_payload"));
    assert!(rig.contact(&contact).await.is_none());
    assert!(rig.record(&id).await.is_none());

    let (env, id) = contact_envelope("contact.created", &contact);
    let filler = format!("\"{}\"", "x".repeat(310 * 1024));
    let env = with_payload(&env, &[("note", &filler)], &[]);
    let (status, body) = rig.deliver(CONTACT, &env).await;
    assert_eq!((status, body.as_str()), (400, "invalid_payload"));
    assert!(rig.contact(&contact).await.is_none());
    assert!(rig.record(&id).await.is_none());
}

#[tokio::test]
async fn dynamodbs_item_size_refusal_is_400_not_a_retry_and_leaves_the_item_as_it_was() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, _) = contact_envelope("contact.created", &contact);
    let filler = format!("\"{}\"", "x".repeat(290 * 1024));
    let env = with_payload(&env, &[("note", &filler)], &[]);
    assert_eq!(rig.deliver(CONTACT, &env).await, processed());
    let value = format!("\"{}\"", "v".repeat(15 * 1024));
    let mut refused = None;
    for n in 0..20 {
        let (env, id) = contact_envelope("contact.consent.changed", &contact);
        let alias = format!("\"alias{n}\"");
        let env = with_payload(
            &env,
            &[("consentAlias", &alias), ("consentValue", &value)],
            &[],
        );
        let (status, body) = rig.deliver(CONSENT, &env).await;
        if status == 400 {
            assert_eq!(body, "invalid_payload");
            refused = Some((n, id));
            break;
        }
        assert_eq!((status, body.as_str()), (200, "processed"), "consent {n}");
    }
    let (n, id) = refused.expect("the item reaches DynamoDB's limit within 20 consents");
    assert!(n >= 5, "{n} consents of 15 KB fit next to a 290 KB profile");
    assert!(
        rig.record(&id).await.is_none(),
        "not recorded: a resend may apply it"
    );
    let item = rig.contact(&contact).await.unwrap();
    assert!(!item.contains_key(&format!("consent_alias{n}")));
    assert!(item.contains_key(&format!("consent_alias{}", n - 1)));
}
