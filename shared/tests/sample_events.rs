//! Every sample envelope under events/envelopes parses, routes and validates as its type.

use engage_webhooks::model::*;
use engage_webhooks::{Envelope, Event, EventType};
use std::path::Path;

fn sample(event_type: EventType) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/envelopes")
        .join(format!("{}.json", event_type.as_str()));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn there_is_one_sample_per_type_and_each_parses_as_its_type() {
    for event_type in EventType::ALL {
        let text = sample(event_type);
        let envelope = Envelope::parse(text.as_bytes()).expect("a valid envelope");
        assert_eq!(EventType::parse(&envelope.event_type), Some(event_type));
        assert!(envelope.event_id().is_some(), "{event_type}: an id");
        assert_eq!(envelope.tenant, "myTenantName");
        let event = Event {
            id: envelope.event_id().unwrap().to_string(),
            event_type,
            tenant: envelope.tenant.clone(),
            payload: envelope.open_payload(None).expect("a plain object payload"),
            signed_at: None,
            message_time: None,
        };
        let contact = match event_type {
            EventType::ContactCreated | EventType::ContactUpdated => {
                event.typed_payload::<ContactProfile>().unwrap().contact_id
            }
            EventType::ContactDeleted => {
                let p = event.typed_payload::<ContactDeleted>().unwrap();
                assert_eq!(p.deletion_reason.as_deref(), Some("cancelled membership"));
                p.contact_id
            }
            EventType::AcceptsEmailChanged
            | EventType::AcceptsSmsChanged
            | EventType::AcceptsPostalChanged => {
                let p = event.typed_payload::<PreferenceChanged>().unwrap();
                let flag = event_type.as_str().split('.').nth(1).unwrap();
                assert!(p.value_of(flag).is_some(), "{event_type}: a value");
                assert!(p.date_changed.is_some());
                p.contact_id
            }
            EventType::ConsentChanged => {
                let p = event.typed_payload::<ConsentChanged>().unwrap();
                assert_eq!(p.consent_alias, "myConsentAlias");
                p.contact_id
            }
            EventType::LoyaltyAddPoints => {
                let p = event.typed_payload::<PointsAdded>().unwrap();
                assert_eq!(p.amount.as_str(), "150.50");
                p.contact_id
            }
            EventType::PointBalanceUpdated => {
                let p = event.typed_payload::<PointBalanceUpdated>().unwrap();
                assert_eq!(p.balance.as_str(), "1234.50");
                p.contact_id
            }
            EventType::RewardVoucherCreated => {
                let p = event.typed_payload::<RewardVoucherCreated>().unwrap();
                assert_eq!(p.amount.unwrap().as_str(), "100.00");
                assert_eq!(p.currency.as_deref(), Some("SEK"));
                p.contact_id
            }
            EventType::PromotionMultichannelAssigned => event
                .typed_payload::<PromotionAssigned>()
                .unwrap()
                .contact_id
                .expect("the sample names its contact"),
        };
        assert_eq!(
            contact, "515c1b2a-7124-4bb9-826b-aedbbe5da8c4",
            "{event_type}"
        );
    }
}

#[test]
fn sample_event_ids_are_distinct_so_the_demo_does_not_deduplicate_them() {
    let mut ids: Vec<String> = EventType::ALL
        .iter()
        .map(|t| {
            let text = sample(*t);
            Envelope::parse(text.as_bytes())
                .unwrap()
                .event_id()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EventType::ALL.len());
}
