//! The mirror is tenant-scoped: two tenants of one stack with the same Engage contact id have
//! two items (`<tenant>#<contactId>`), and one tenant's events never change the other's.
//! Against moto.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::Family;

const CONTACT: Family = Family::Contact;
const CONSENT: Family = Family::Consent;
const OTHER_TENANT: &str = "otherTenant";

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// `event_type`'s fixture for `contact` of `tenant`, with `payload` fields set.
fn event(event_type: &str, tenant: &str, contact: &str, payload: &[(&str, &str)]) -> String {
    let (env, _) = contact_envelope(event_type, contact);
    let env = with_payload(&env, payload, &[]);
    with_fields(&env, &[("tenant", &format!("\"{tenant}\""))])
}

#[tokio::test]
async fn one_tenants_deletion_leaves_the_other_tenants_contact_and_its_later_updates_apply() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    for tenant in [SAMPLE_TENANT, OTHER_TENANT] {
        let created = event("contact.created", tenant, &contact, &[]);
        assert_eq!(
            rig.deliver(CONTACT, &created).await,
            processed(),
            "{tenant}"
        );
    }
    let deleted = event("contact.deleted", SAMPLE_TENANT, &contact, &[]);
    assert_eq!(rig.deliver(CONTACT, &deleted).await, processed());

    let gone = rig.contact(&contact).await.unwrap();
    assert!(gone.contains_key("deletedAt"));
    assert_eq!(
        gone["tenant"],
        s(SAMPLE_TENANT),
        "a tombstone keeps its tenant"
    );
    assert_eq!(gone["engageContactId"], s(&contact));
    let kept = rig.tenant_contact(OTHER_TENANT, &contact).await.unwrap();
    assert!(
        !kept.contains_key("deletedAt"),
        "{:?}",
        attribute_names(&kept)
    );
    assert_eq!(kept["tenant"], s(OTHER_TENANT));
    assert_eq!(kept["engageContactId"], s(&contact));
    assert_eq!(kept["contactId"], s(&format!("{OTHER_TENANT}#{contact}")));

    let updated = event(
        "contact.updated",
        OTHER_TENANT,
        &contact,
        &[("city", "\"Malmö\"")],
    );
    assert_eq!(
        rig.deliver(CONTACT, &updated).await,
        processed(),
        "the other tenant's update is not stale"
    );
    let kept = rig.tenant_contact(OTHER_TENANT, &contact).await.unwrap();
    assert_eq!(kept["profile"].as_m().unwrap()["city"], s("Malmö"));
    let late = event("contact.updated", SAMPLE_TENANT, &contact, &[]);
    assert_eq!(
        rig.deliver(CONTACT, &late).await,
        (200, "stale".into()),
        "the deleting tenant's own contact stays deleted"
    );
}

#[tokio::test]
async fn preferences_and_consents_are_scoped_by_tenant_too() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    for (event_type, field, attribute) in [
        ("contact.acceptsSms.changed", "acceptsSms", "acceptsSms"),
        (
            "contact.consent.changed",
            "consentValue",
            "consent_myConsentAlias",
        ),
    ] {
        let mine = event(event_type, SAMPLE_TENANT, &contact, &[(field, "true")]);
        let theirs = event(event_type, OTHER_TENANT, &contact, &[(field, "false")]);
        assert_eq!(rig.deliver(CONSENT, &mine).await, processed());
        assert_eq!(
            rig.deliver(CONSENT, &theirs).await,
            processed(),
            "{event_type}: the same contact id and dateChanged in another tenant is no tie"
        );
        let value = |item: Item| item[attribute].as_m().unwrap()["value"].clone();
        let mine = rig.contact(&contact).await.unwrap();
        assert_eq!(value(mine), AttributeValue::Bool(true), "{event_type}");
        let theirs = rig.tenant_contact(OTHER_TENANT, &contact).await.unwrap();
        assert_eq!(value(theirs), AttributeValue::Bool(false), "{event_type}");
    }
    let deleted = event("contact.deleted", OTHER_TENANT, &contact, &[]);
    assert_eq!(rig.deliver(CONTACT, &deleted).await, processed());
    let later = event(
        "contact.consent.changed",
        SAMPLE_TENANT,
        &contact,
        &[
            ("consentValue", "false"),
            ("dateChanged", "\"2026-02-01T00:00:00Z\""),
        ],
    );
    assert_eq!(
        rig.deliver(CONSENT, &later).await,
        processed(),
        "another tenant's deletion does not block this tenant's consent"
    );
    let mine = rig.contact(&contact).await.unwrap();
    assert_eq!(
        mine["consent_myConsentAlias"].as_m().unwrap()["value"],
        AttributeValue::Bool(false)
    );
    assert!(mine.contains_key("acceptsSms"));
}
