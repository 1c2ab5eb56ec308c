//! What the mirror functions (contact, consent) print for every outcome, read back the way
//! CloudWatch reads it: one JSON log line and one EMF metrics document per delivery, with the
//! AWS requests counted exactly as a counting client sees them, and no personal value of the
//! event (names, email, phone, identity number, address, previous values) anywhere in the
//! output. Real handlers against the local DynamoDB wire server.

use engage_testkit::*;
use engage_webhooks::Family;

const NEWER: &str = r#""2026-03-01T09:30:00Z""#;
const OLDER: &str = r#""2026-03-01T10:00:00+01:00""#;

#[tokio::test]
async fn a_contacts_life_is_logged_and_counted_without_one_personal_value() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (created, created_id) = contact_envelope("contact.created", &contact);
    let (updated, _) = contact_envelope("contact.updated", &contact);
    let (deleted, _) = contact_envelope("contact.deleted", &contact);
    let cases = [
        (&created, "processed", "contact.created", 120_000),
        (&created, "duplicate", "contact.created", 60_000),
        (&updated, "processed", "contact.updated", 30_000),
        (&deleted, "processed", "contact.deleted", 1_000),
    ];
    for (envelope, reason, event_type, ago) in cases {
        // A counting client of the test's own: the metric must agree with it.
        let (function, calls) = rig.counted_function(Family::Contact);
        let (got, out) = observe(&function, sent_ago(envelope, ago)).await;
        let expected = Want::new("contact", 200, reason, event_type, 1, Age::About(ago));
        let (log, _) = check_delivery(&got, &out, &expected);
        assert_eq!(log["aws_calls"], calls.count() as u64, "{reason}");
        assert_eq!(log["tenant"], SAMPLE_TENANT);
        assert_private(&out, &[&created, &updated, &deleted]);
        for personal in [
            "John",
            "Doe",
            "john.doe@example.com",
            "+46701234567",
            "20040217-7935",
            "previousEmail@email.com",
        ] {
            assert!(!out.text().contains(personal), "{personal} in the output");
        }
        if reason == "duplicate" {
            assert_eq!(log["event_id"], created_id.as_str());
        }
    }
}

#[tokio::test]
async fn a_stale_change_counts_its_two_calls_and_a_bad_one_its_refusal() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (newer, _) = contact_envelope("contact.acceptsEmail.changed", &contact);
    let newer = with_payload(
        &newer,
        &[("acceptsEmail", "true"), ("dateChanged", NEWER)],
        &[],
    );
    let (older, _) = contact_envelope("contact.acceptsEmail.changed", &contact);
    let older = with_payload(
        &older,
        &[("acceptsEmail", "false"), ("dateChanged", OLDER)],
        &[],
    );
    for (envelope, reason, calls) in [(&newer, "processed", 1), (&older, "stale", 2)] {
        let (function, counted) = rig.counted_function(Family::Consent);
        let (got, out) = observe(&function, sent_ago(envelope, 3_000)).await;
        let expected = Want::new(
            "consent",
            200,
            reason,
            "contact.acceptsEmail.changed",
            calls,
            Age::About(3_000),
        );
        let (log, metrics) = check_delivery(&got, &out, &expected);
        assert_eq!(log["aws_calls"], counted.count() as u64);
        assert_eq!(metrics["Processed"], u8::from(reason == "processed"));
        assert_private(&out, &[envelope]);
    }

    // A change whose date is someone's email address: refused, and the address is not printed.
    let (bad, _) = contact_envelope("contact.acceptsSms.changed", &contact);
    let bad = with_payload(&bad, &[("dateChanged", r#""john@example.com""#)], &[]);
    let (got, out) = observe(&rig.function(Family::Consent, None), sent_ago(&bad, 1_000)).await;
    let expected = Want::new(
        "consent",
        400,
        "invalid_payload",
        "contact.acceptsSms.changed",
        0,
        Age::About(1_000),
    );
    check_delivery(&got, &out, &expected);
    assert_private(&out, &[&bad]);

    // DynamoDB refuses connections: the transaction's two attempts are counted, 503.
    let function = rig.function_with(
        Family::Consent,
        refusing_dynamodb().await,
        &rig.contacts_table,
        None,
    );
    let (got, out) = observe(&function, sent_ago(&newer, 2_000)).await;
    let expected = Want::new(
        "consent",
        503,
        "storage_unavailable",
        "contact.acceptsEmail.changed",
        2,
        Age::About(2_000),
    );
    check_delivery(&got, &out, &expected);
    assert_private(&out, &[&newer]);
}
