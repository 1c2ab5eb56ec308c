//! What an event changes in the mirror, read and validated from its payload. Pure: no I/O.
//! Errors name the problem, never a payload value.

use super::attribute::{self, Unconvertible};
use super::change_time::{utc_text, ChangeTime};
use super::item;
use super::size;
use crate::clock::now_millis;
use crate::error::WebhookError;
use crate::event::Event;
use crate::event::EventType;
use crate::message_time::MessageTime;
use crate::model;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A profile text longer than DynamoDB's whole item is refused before it is even converted;
/// the converted profile is then held to its share of the item ([`size::MAX_PROFILE_BYTES`]).
pub const MAX_PROFILE_TEXT_BYTES: usize = size::MAX_ITEM_BYTES;

/// `contact.updated` fields that describe the event rather than the contact: the delta of
/// the update, which holds the *previous* values of personal data. Not mirrored.
pub const EVENT_ONLY_FIELDS: [&str; 1] = ["changedValues"];

#[derive(Debug, Clone, PartialEq)]
pub struct MirrorChange {
    pub contact_id: String,
    pub tenant: String,
    pub event_id: String,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `contact.created`: the profile, unless one is stored already.
    CreateProfile(Profile),
    /// `contact.updated`: the profile, replacing the stored one unless that one came from a
    /// newer Svix message (equal or unknown message times: the later arrival wins).
    ReplaceProfile(Profile),
    /// `contact.deleted`: the whole item becomes a tombstone.
    Erase(Tombstone),
    /// `contact.accepts*.changed`: one flag, unless the stored one is newer (equal times: the
    /// later arrival wins).
    SetPreference {
        flag: &'static str,
        value: bool,
        at: ChangeTime,
    },
    /// `contact.consent.changed`: one consent, unless the stored one is newer (equal times: the
    /// later arrival wins); a null value only where none is stored.
    SetConsent {
        alias: String,
        value: AttributeValue,
        at: ChangeTime,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub fields: HashMap<String, AttributeValue>,
    /// When the mirror applied it (RFC 3339 UTC).
    pub applied_at: String,
    /// When Svix created the message that carries it, if its id tells.
    pub message_time: Option<MessageTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tombstone {
    /// RFC 3339 UTC: when Svix signed the delivery, else now.
    pub deleted_at: String,
    pub reason: Option<String>,
    /// TTL (Unix seconds).
    pub expires_at: i64,
}

impl MirrorChange {
    pub fn from_event(event: &Event<'_>) -> Result<MirrorChange, WebhookError> {
        let (contact_id, effect) = match event.event_type {
            EventType::ContactCreated => profile(event, Effect::CreateProfile)?,
            EventType::ContactUpdated => profile(event, Effect::ReplaceProfile)?,
            EventType::ContactDeleted => erase(event)?,
            EventType::AcceptsEmailChanged => preference(event, item::ACCEPTS_EMAIL)?,
            EventType::AcceptsSmsChanged => preference(event, item::ACCEPTS_SMS)?,
            EventType::AcceptsPostalChanged => preference(event, item::ACCEPTS_POSTAL)?,
            EventType::ConsentChanged => consent(event)?,
            // The receiver lets only this function's family through; loyalty and promotion
            // events have their own functions.
            other => return Err(WebhookError::WrongEndpoint(other.family())),
        };
        if !item::is_valid_contact_id(&contact_id) {
            return Err(invalid(event, "contactId is blank or too long"));
        }
        Ok(MirrorChange {
            contact_id,
            tenant: event.tenant.clone(),
            event_id: event.id.clone(),
            effect,
        })
    }
}

fn invalid(event: &Event<'_>, problem: &str) -> WebhookError {
    WebhookError::InvalidPayload(format!("{} payload: {problem}", event.event_type))
}

fn unconvertible(event: &Event<'_>, what: &str, why: Unconvertible) -> WebhookError {
    invalid(event, &format!("{what} {}", why.describe()))
}

fn now_seconds() -> i64 {
    now_millis() / 1000
}

fn profile(
    event: &Event<'_>,
    effect: fn(Profile) -> Effect,
) -> Result<(String, Effect), WebhookError> {
    let contact_id = event.typed_payload::<model::ContactProfile>()?.contact_id;
    let text = event.payload.get();
    let too_large = || invalid(event, "the profile is too large to mirror");
    if text.len() > MAX_PROFILE_TEXT_BYTES {
        return Err(too_large());
    }
    let fields = attribute::object_without(text, &EVENT_ONLY_FIELDS)
        .map_err(|why| unconvertible(event, "the profile", why))?;
    if size::map_attribute_bytes(item::PROFILE, &fields) > size::MAX_PROFILE_BYTES {
        return Err(too_large());
    }
    Ok((
        contact_id,
        effect(Profile {
            fields,
            applied_at: utc_text(now_seconds()),
            message_time: event.message_time,
        }),
    ))
}

fn erase(event: &Event<'_>) -> Result<(String, Effect), WebhookError> {
    let deleted = event.typed_payload::<model::ContactDeleted>()?;
    let now = now_seconds();
    let tombstone = Tombstone {
        deleted_at: utc_text(event.signed_at.unwrap_or(now)),
        reason: deleted
            .deletion_reason
            .filter(|r| !r.trim().is_empty())
            .map(|r| bounded(r, item::MAX_DELETION_REASON_BYTES)),
        expires_at: now + item::TOMBSTONE_TTL.as_secs() as i64,
    };
    Ok((deleted.contact_id, Effect::Erase(tombstone)))
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(end);
    }
    text
}

/// Refuses an entry larger than its share of the item.
fn check_entry(
    event: &Event<'_>,
    attribute: &str,
    value: &AttributeValue,
    at: &ChangeTime,
) -> Result<(), WebhookError> {
    if size::entry_bytes(attribute, value, &at.text, &event.id) > size::MAX_ENTRY_BYTES {
        return Err(invalid(
            event,
            &format!("{attribute} is too large to mirror"),
        ));
    }
    Ok(())
}

fn preference(event: &Event<'_>, flag: &'static str) -> Result<(String, Effect), WebhookError> {
    let changed = event.typed_payload::<model::PreferenceChanged>()?;
    let value = changed
        .value_of(flag)
        .ok_or_else(|| invalid(event, &format!("no {flag}, value or newValue")))?;
    let at = ChangeTime::of_event(
        changed.date_changed.as_deref(),
        event.message_time,
        event.signed_at,
    )?;
    check_entry(event, flag, &AttributeValue::Bool(value), &at)?;
    Ok((
        changed.contact_id,
        Effect::SetPreference { flag, value, at },
    ))
}

fn consent(event: &Event<'_>) -> Result<(String, Effect), WebhookError> {
    let changed = event.typed_payload::<model::ConsentChanged>()?;
    if !item::is_valid_alias(&changed.consent_alias) {
        return Err(invalid(
            event,
            "consentAlias must be 1 to 128 letters, digits, '_', '-' or '.'",
        ));
    }
    let value = attribute::from_json(changed.consent_value.get())
        .map_err(|why| unconvertible(event, "consentValue", why))?;
    let at = ChangeTime::of_event(
        changed.date_changed.as_deref(),
        event.message_time,
        event.signed_at,
    )?;
    check_entry(
        event,
        &item::consent_attribute(&changed.consent_alias),
        &value,
        &at,
    )?;
    Ok((
        changed.contact_id,
        Effect::SetConsent {
            alias: changed.consent_alias,
            value,
            at,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: EventType, payload: &str) -> Event<'static> {
        Event {
            signed_at: Some(1_768_922_918),
            ..Event::for_test(event_type, payload)
        }
    }

    fn change(event_type: EventType, payload: &str) -> Result<MirrorChange, WebhookError> {
        MirrorChange::from_event(&event(event_type, payload))
    }

    #[test]
    fn a_profile_is_the_payload_without_the_update_delta() {
        let c = change(
            EventType::ContactUpdated,
            r#"{"contactId":"c","email":"new@example.com","points":1.10,"changedValues":[{"path":"Email","previousValue":"old@example.com"}]}"#,
        )
        .unwrap();
        assert_eq!((c.contact_id.as_str(), c.event_id.as_str()), ("c", "ev-1"));
        let Effect::ReplaceProfile(p) = c.effect else {
            panic!("{:?}", c.effect)
        };
        assert_eq!(
            p.fields,
            HashMap::from([
                ("contactId".into(), AttributeValue::S("c".into())),
                ("email".into(), AttributeValue::S("new@example.com".into())),
                ("points".into(), AttributeValue::N("1.10".into())),
            ])
        );
        assert!(matches!(
            change(EventType::ContactCreated, r#"{"contactId":"c"}"#)
                .unwrap()
                .effect,
            Effect::CreateProfile(_)
        ));
    }

    #[test]
    fn a_deletion_is_a_tombstone_signed_now_and_kept_thirty_days() {
        let c = change(
            EventType::ContactDeleted,
            r#"{"contactId":"c","deletionReason":"gone"}"#,
        )
        .unwrap();
        let Effect::Erase(t) = c.effect else { panic!() };
        assert_eq!(t.deleted_at, "2026-01-20T15:28:38Z");
        assert_eq!(t.reason.as_deref(), Some("gone"));
        let ttl = t.expires_at - now_seconds();
        assert!((ttl - 30 * 24 * 3600).abs() < 5, "{ttl}");
        let c = change(
            EventType::ContactDeleted,
            r#"{"contactId":"c","deletionReason":""}"#,
        );
        assert!(matches!(
            c.unwrap().effect,
            Effect::Erase(Tombstone { reason: None, .. })
        ));
    }

    #[test]
    fn a_preference_is_read_from_its_name_value_or_new_value() {
        for (payload, want) in [
            (
                r#"{"contactId":"c","acceptsSms":false,"value":true}"#,
                false,
            ),
            (r#"{"contactId":"c","value":true}"#, true),
            (r#"{"contactId":"c","newValue":false}"#, false),
        ] {
            let c = change(EventType::AcceptsSmsChanged, payload).unwrap();
            let Effect::SetPreference { flag, value, at } = c.effect else {
                panic!()
            };
            assert_eq!((flag, value), ("acceptsSms", want), "{payload}");
            assert_eq!(at.micros, 1_768_922_918_000_000, "the signed time");
        }
        let err = change(
            EventType::AcceptsEmailChanged,
            r#"{"contactId":"c","acceptsSms":true}"#,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "invalid_payload");
        assert!(err
            .to_string()
            .contains("no acceptsEmail, value or newValue"));
    }

    #[test]
    fn the_message_time_dates_an_undated_change_and_orders_a_profile() {
        let created = Some(MessageTime::from_millis(1_768_922_918_984));
        let dated = |event_type, payload| {
            MirrorChange::from_event(&Event {
                message_time: created,
                ..event(event_type, payload)
            })
            .unwrap()
            .effect
        };
        let Effect::SetPreference { at, .. } = dated(
            EventType::AcceptsSmsChanged,
            r#"{"contactId":"c","value":true}"#,
        ) else {
            panic!()
        };
        assert_eq!(
            at.micros, 1_768_922_918_984_000,
            "the message's time, not the signature's"
        );
        let Effect::ReplaceProfile(p) = dated(EventType::ContactUpdated, r#"{"contactId":"c"}"#)
        else {
            panic!()
        };
        assert_eq!(p.message_time, created);
    }

    #[test]
    fn a_consent_keeps_its_value_exactly_and_validates_its_alias() {
        let c = change(
            EventType::ConsentChanged,
            r#"{"contactId":"c","consentAlias":"terms","consentValue":0.10,"dateChanged":"2026-01-20T16:28:38.985631+01"}"#,
        )
        .unwrap();
        let Effect::SetConsent { alias, value, at } = c.effect else {
            panic!()
        };
        assert_eq!(alias, "terms");
        assert_eq!(value, AttributeValue::N("0.10".into()));
        assert_eq!(at.text, "2026-01-20T16:28:38.985631+01");
        let null = change(
            EventType::ConsentChanged,
            r#"{"contactId":"c","consentAlias":"terms","consentValue":null}"#,
        )
        .unwrap();
        assert!(matches!(
            null.effect,
            Effect::SetConsent {
                value: AttributeValue::Null(true),
                ..
            }
        ));
        for payload in [
            r#"{"contactId":"c","consentAlias":"john@example.com","consentValue":true}"#,
            r#"{"contactId":"c","consentAlias":"","consentValue":true}"#,
            r#"{"contactId":"c","consentAlias":"terms"}"#,
        ] {
            let err = change(EventType::ConsentChanged, payload).unwrap_err();
            assert_eq!(err.reason(), "invalid_payload", "{payload}");
            assert!(!err.to_string().contains("john"), "{err}");
        }
    }

    #[test]
    fn blank_contact_ids_and_unreadable_dates_are_refused() {
        let err = change(EventType::ContactCreated, r#"{"contactId":" "}"#).unwrap_err();
        assert!(err.to_string().contains("contactId"), "{err}");
        let err = change(
            EventType::AcceptsPostalChanged,
            r#"{"contactId":"c","acceptsPostal":true,"dateChanged":"john@example.com"}"#,
        )
        .unwrap_err();
        assert_eq!(err.reason(), "invalid_payload");
        assert!(!err.to_string().contains("john"), "{err}");
    }

    #[test]
    fn what_could_never_fit_is_refused_and_a_long_deletion_reason_is_cut() {
        let filler = "x".repeat(size::MAX_PROFILE_BYTES);
        let err = change(
            EventType::ContactUpdated,
            &format!(r#"{{"contactId":"c","note":"{filler}"}}"#),
        )
        .unwrap_err();
        assert_eq!(err.reason(), "invalid_payload");
        assert!(err.to_string().contains("profile is too large"), "{err}");
        let big = "x".repeat(size::MAX_ENTRY_BYTES);
        let err = change(
            EventType::ConsentChanged,
            &format!(r#"{{"contactId":"c","consentAlias":"terms","consentValue":"{big}"}}"#),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("consent_terms is too large"),
            "{err}"
        );
        let fits = "x".repeat(size::MAX_ENTRY_BYTES / 2);
        assert!(change(
            EventType::ConsentChanged,
            &format!(r#"{{"contactId":"c","consentAlias":"terms","consentValue":"{fits}"}}"#),
        )
        .is_ok());
        let reason = "å".repeat(item::MAX_DELETION_REASON_BYTES);
        let c = change(
            EventType::ContactDeleted,
            &format!(r#"{{"contactId":"c","deletionReason":"{reason}"}}"#),
        )
        .unwrap();
        let Effect::Erase(t) = c.effect else { panic!() };
        let kept = t.reason.unwrap();
        assert_eq!(kept.len(), item::MAX_DELETION_REASON_BYTES);
        assert!(reason.starts_with(&kept));
    }

    #[test]
    fn other_families_are_not_mirrored() {
        let err = change(EventType::LoyaltyAddPoints, r#"{"contactId":"c"}"#).unwrap_err();
        assert_eq!(err.reason(), "wrong_endpoint");
    }
}
