//! Engage's event types, the function family each one belongs to, and the [`Event`] a
//! verified delivery becomes.

use crate::error::WebhookError;
use crate::message_time::MessageTime;
use crate::tenant_key;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;

/// The four Lambda functions. Every known event type belongs to exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Contact,
    Consent,
    Loyalty,
    Promotion,
}

impl Family {
    pub const fn as_str(self) -> &'static str {
        match self {
            Family::Contact => "contact",
            Family::Consent => "consent",
            Family::Loyalty => "loyalty",
            Family::Promotion => "promotion",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The eleven event types Engage publishes (see `shared/engage-docs` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ContactCreated,
    ContactUpdated,
    ContactDeleted,
    AcceptsEmailChanged,
    AcceptsSmsChanged,
    AcceptsPostalChanged,
    ConsentChanged,
    LoyaltyAddPoints,
    PointBalanceUpdated,
    RewardVoucherCreated,
    PromotionMultichannelAssigned,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::ContactCreated,
        EventType::ContactUpdated,
        EventType::ContactDeleted,
        EventType::AcceptsEmailChanged,
        EventType::AcceptsSmsChanged,
        EventType::AcceptsPostalChanged,
        EventType::ConsentChanged,
        EventType::LoyaltyAddPoints,
        EventType::PointBalanceUpdated,
        EventType::RewardVoucherCreated,
        EventType::PromotionMultichannelAssigned,
    ];

    /// Engage's name, exactly as it appears in `eventType`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::ContactCreated => "contact.created",
            EventType::ContactUpdated => "contact.updated",
            EventType::ContactDeleted => "contact.deleted",
            EventType::AcceptsEmailChanged => "contact.acceptsEmail.changed",
            EventType::AcceptsSmsChanged => "contact.acceptsSms.changed",
            EventType::AcceptsPostalChanged => "contact.acceptsPostal.changed",
            EventType::ConsentChanged => "contact.consent.changed",
            EventType::LoyaltyAddPoints => "loyalty.addPoints",
            EventType::PointBalanceUpdated => "point.balance.updated",
            EventType::RewardVoucherCreated => "reward.voucher.created",
            EventType::PromotionMultichannelAssigned => "promotion.multichannel.assigned",
        }
    }

    /// Matching is exact (case included): Engage's names are identifiers, and guessing at
    /// near-misses would route an event we don't understand into an effect.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    pub const fn family(self) -> Family {
        match self {
            EventType::ContactCreated | EventType::ContactUpdated | EventType::ContactDeleted => {
                Family::Contact
            }
            EventType::AcceptsEmailChanged
            | EventType::AcceptsSmsChanged
            | EventType::AcceptsPostalChanged
            | EventType::ConsentChanged => Family::Consent,
            EventType::LoyaltyAddPoints
            | EventType::PointBalanceUpdated
            | EventType::RewardVoucherCreated => Family::Loyalty,
            EventType::PromotionMultichannelAssigned => Family::Promotion,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified, routed, decrypted event, ready for its family's effect.
#[derive(Debug)]
pub struct Event<'a> {
    /// `eventId`, else `id`, else the delivery's `svix-id`.
    pub id: String,
    pub event_type: EventType,
    pub tenant: String,
    /// The plaintext payload object, exactly as Engage sent it.
    pub payload: Cow<'a, RawValue>,
    /// The signed delivery timestamp (Unix seconds), new on every attempt.
    pub signed_at: Option<i64>,
    /// When Svix created the message, from its `svix-id` (the same on every retry); `None`
    /// when the id is not a Svix message id. Orders profile snapshots, and is the change time
    /// of last resort.
    pub message_time: Option<MessageTime>,
}

impl Event<'_> {
    /// The key under which the event is deduplicated: tenant plus event id (see
    /// [`crate::tenant_key`]).
    pub fn dedup_key(&self) -> String {
        tenant_key::dedup_key(&self.tenant, &self.id)
    }

    /// Identifies the event's content, to tell a true duplicate (same fingerprint) from an id
    /// reused for a different payload. Over the *plaintext*, since a re-encrypted copy of the
    /// same event differs in ciphertext.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.event_type.as_str().as_bytes());
        h.update([0]);
        h.update(self.payload.get().as_bytes());
        let digest = h.finalize();
        let mut out = String::with_capacity(64);
        for b in digest {
            // Writing to a String cannot fail.
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// Parses the payload into its typed model; errors name the problem, never a value.
    pub fn typed_payload<'de, T: Deserialize<'de>>(&'de self) -> Result<T, WebhookError> {
        serde_json::from_str(self.payload.get()).map_err(|e| {
            let text = e.to_string();
            let detail = match text.find("missing field `") {
                Some(at) => {
                    let field = text[at + 15..].split('`').next().unwrap_or("");
                    format!("lacks the field `{field}`")
                }
                None if text.starts_with("invalid") || text.starts_with("unknown variant") => {
                    format!("has a field of the wrong type (column {})", e.column())
                }
                None => format!("is malformed at column {}", e.column()),
            };
            WebhookError::InvalidPayload(format!("the {} payload {detail}", self.event_type))
        })
    }
}

#[cfg(test)]
impl Event<'static> {
    /// An event of `event_type` with `payload` (a JSON object), id `ev-1`, tenant `shop`.
    pub(crate) fn for_test(event_type: EventType, payload: &str) -> Self {
        Event {
            id: "ev-1".into(),
            event_type,
            tenant: "shop".into(),
            payload: Cow::Owned(RawValue::from_string(payload.into()).expect("test JSON")),
            signed_at: None,
            message_time: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn families_partition_the_types() {
        let count = |f: Family| EventType::ALL.iter().filter(|t| t.family() == f).count();
        assert_eq!(count(Family::Contact), 3);
        assert_eq!(count(Family::Consent), 4);
        assert_eq!(count(Family::Loyalty), 3);
        assert_eq!(count(Family::Promotion), 1);
    }

    #[test]
    fn unknown_and_near_miss_names_are_not_types() {
        assert_eq!(EventType::parse("loyalty.removePoints"), None);
        assert_eq!(EventType::parse("Contact.Created"), None);
        assert_eq!(EventType::parse(""), None);
    }

    #[test]
    fn fingerprints_follow_type_and_plaintext() {
        let ev = |t: EventType, p: &str| Event {
            id: "e".into(),
            event_type: t,
            tenant: "t".into(),
            payload: Cow::Owned(RawValue::from_string(p.into()).unwrap()),
            signed_at: None,
            message_time: None,
        };
        let a = ev(EventType::LoyaltyAddPoints, r#"{"amount":1}"#);
        assert_eq!(
            a.fingerprint(),
            ev(EventType::LoyaltyAddPoints, r#"{"amount":1}"#).fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            ev(EventType::LoyaltyAddPoints, r#"{"amount":2}"#).fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            ev(EventType::PointBalanceUpdated, r#"{"amount":1}"#).fingerprint()
        );
        assert_eq!(a.fingerprint().len(), 64);
        assert_eq!(a.dedup_key(), "t#e");
        let hashed_tenant = Event {
            tenant: "t#x".into(),
            ..ev(EventType::LoyaltyAddPoints, "{}")
        };
        assert!(hashed_tenant.dedup_key().starts_with("sha256:"));
    }

    #[test]
    fn typed_payload_errors_never_quote_values() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct P {
            flag: bool,
        }
        let ev = Event {
            id: "e".into(),
            event_type: EventType::AcceptsEmailChanged,
            tenant: "t".into(),
            payload: Cow::Owned(
                RawValue::from_string(r#"{"flag":"john@example.com"}"#.into()).unwrap(),
            ),
            signed_at: None,
            message_time: None,
        };
        let err = ev.typed_payload::<P>().unwrap_err();
        assert_eq!(err.reason(), "invalid_payload");
        assert!(!err.to_string().contains("john"), "{err}");
        let ev = Event {
            payload: Cow::Owned(RawValue::from_string("{}".into()).unwrap()),
            ..ev
        };
        assert_eq!(
            ev.typed_payload::<P>().unwrap_err().to_string(),
            "the contact.acceptsEmail.changed payload lacks the field `flag`"
        );
    }
}
