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

/// The eleven event types Engage publishes (see `shared/engage-docs` and the README's table).
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

    /// Parses the payload into its typed model. An error names the field's path and what was
    /// expected (`contact.created: payload.contact.email: invalid type, expected a string`),
    /// never the value (values may be personal data) and never serde_json's line/column.
    pub fn typed_payload<'de, T: Deserialize<'de>>(&'de self) -> Result<T, WebhookError> {
        let mut json = serde_json::Deserializer::from_str(self.payload.get());
        serde_path_to_error::deserialize(&mut json).map_err(|e| {
            WebhookError::InvalidPayload(format!("{}: {}", self.event_type, payload_problem(&e)))
        })
    }
}

/// `payload.<path>: <kind>[, expected ...]` for a payload that does not fit its model. Only
/// the path, serde's kind of error and the type's own expectation are kept: the rest of
/// serde_json's message quotes the value it got.
fn payload_problem(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    let at = match path.as_str() {
        "." => "payload".to_string(),
        p if p.starts_with('[') => format!("payload{p}"),
        p => format!("payload.{p}"),
    };
    let inner = e.inner();
    if !inner.is_data() {
        return format!("{at}: malformed JSON");
    }
    let text = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let text = text.strip_suffix(&suffix).unwrap_or(&text);
    if let Some(rest) = text.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return format!("{at}.{field}: missing");
    }
    const KINDS: [&str; 6] = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
        "duplicate field",
    ];
    let Some(kind) = KINDS.into_iter().find(|k| text.starts_with(k)) else {
        return format!("{at}: invalid value");
    };
    // serde's own messages end in ", expected <what the type wants>"; ours (model::scalar)
    // read "<kind>: expected ...". Anything before it may be the value.
    let expected = match text.rfind(", expected ") {
        Some(i) => Some(&text[i + 2..]),
        None => text[kind.len()..]
            .strip_prefix(": ")
            .filter(|t| t.starts_with("expected ")),
    };
    match expected {
        Some(expected) => format!("{at}: {kind}, {expected}"),
        None => format!("{at}: {kind}"),
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

    /// A payload model with a nested object, a list and an enum, like Engage's.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct P {
        flag: bool,
        #[serde(default)]
        contact: Option<Contact>,
        #[serde(default)]
        items: Vec<Contact>,
        #[serde(default)]
        status: Option<Status>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Contact {
        email: String,
    }
    #[derive(Debug, Deserialize)]
    enum Status {
        Active,
    }

    fn payload_error(payload: &str) -> WebhookError {
        Event::for_test(EventType::AcceptsEmailChanged, payload)
            .typed_payload::<P>()
            .unwrap_err()
    }

    #[test]
    fn a_wrong_type_names_the_field_and_the_expected_type_not_the_value() {
        let err = payload_error(r#"{"flag":"john@example.com"}"#);
        assert_eq!(err.reason(), "invalid_payload");
        assert_eq!(
            err.to_string(),
            "contact.acceptsEmail.changed: payload.flag: invalid type, expected a boolean"
        );
    }

    #[test]
    fn a_missing_field_is_named_with_its_path() {
        assert_eq!(
            payload_error("{}").to_string(),
            "contact.acceptsEmail.changed: payload.flag: missing"
        );
        assert_eq!(
            payload_error(r#"{"flag":true,"contact":{}}"#).to_string(),
            "contact.acceptsEmail.changed: payload.contact.email: missing"
        );
    }

    #[test]
    fn a_nested_field_is_named_by_its_whole_path() {
        let err = payload_error(r#"{"flag":true,"contact":{"email":["john@example.com"]}}"#);
        assert_eq!(
            err.to_string(),
            "contact.acceptsEmail.changed: payload.contact.email: invalid type, expected a string"
        );
        let err = payload_error(r#"{"flag":true,"items":[{"email":"a"},{"email":7}]}"#);
        assert_eq!(
            err.to_string(),
            "contact.acceptsEmail.changed: payload.items[1].email: invalid type, expected a string"
        );
    }

    #[test]
    fn payload_errors_never_quote_values_nor_positions() {
        for payload in [
            r#"{"flag":"john@example.com, expected me at line 9 column 9"}"#,
            r#"{"flag":true,"status":"john@example.com"}"#,
            r#"{"flag":true,"contact":{"email":"a","email":"john@example.com"}}"#,
            r#"{"flag":true,"contact":{"email":{"john@example.com":1}}}"#,
        ] {
            let err = payload_error(payload).to_string();
            assert!(!err.contains("john"), "{err}");
            assert!(!err.contains("column"), "{err}");
            assert!(
                err.starts_with("contact.acceptsEmail.changed: payload."),
                "{err}"
            );
        }
        assert_eq!(
            payload_error(r#"{"flag":true,"status":"john@example.com"}"#).to_string(),
            "contact.acceptsEmail.changed: payload.status: unknown variant, expected `Active`"
        );
    }
}
