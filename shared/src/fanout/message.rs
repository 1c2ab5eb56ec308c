//! The queue message of a fan-out event: the decrypted event `{eventId, eventType, tenant,
//! payload}` with the payload's JSON text copied verbatim (numbers keep Engage's digits;
//! unknown fields stay), and the attributes consumers filter on.

use crate::event::Event;
use serde::Serialize;
use serde_json::value::RawValue;

/// One queue message, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    pub event_id: String,
    pub event_type: String,
    pub tenant: String,
    pub contact_id: Option<String>,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    #[serde(rename = "eventId")]
    event_id: &'a str,
    #[serde(rename = "eventType")]
    event_type: &'a str,
    tenant: &'a str,
    payload: &'a RawValue,
}

/// Every message attribute is of this data type.
pub const ATTRIBUTE_TYPE: &str = "String";

/// The message attributes, `(name, value)`: what [`QueueMessage::attributes`] sends.
fn attributes<'a>(
    event_type: &'a str,
    tenant: &'a str,
    contact_id: Option<&'a str>,
) -> impl Iterator<Item = (&'static str, &'a str)> {
    [
        ("eventType", Some(event_type)),
        ("tenant", Some(tenant)),
        ("contactId", contact_id),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
}

/// What SQS counts for the attributes: each one's name, data type and value (UTF-8 bytes).
fn attributes_size<'a>(attributes: impl Iterator<Item = (&'static str, &'a str)>) -> usize {
    attributes
        .map(|(name, value)| name.len() + ATTRIBUTE_TYPE.len() + value.len())
        .sum()
}

impl QueueMessage {
    pub fn from_event(event: &Event<'_>, contact_id: Option<&str>) -> Self {
        let body = serde_json::to_string(&MessageBody {
            event_id: &event.id,
            event_type: event.event_type.as_str(),
            tenant: &event.tenant,
            payload: &event.payload,
        })
        .expect("strings and already-validated raw JSON always serialize");
        QueueMessage {
            body,
            event_id: event.id.clone(),
            event_type: event.event_type.as_str().into(),
            tenant: event.tenant.clone(),
            contact_id: contact_id.map(str::to_string),
        }
    }

    /// The message attributes as sent, `(name, value)`, each of type [`ATTRIBUTE_TYPE`].
    pub fn attributes(&self) -> impl Iterator<Item = (&'static str, &str)> {
        attributes(&self.event_type, &self.tenant, self.contact_id.as_deref())
    }

    /// The size SQS counts against its limit: the body, and every attribute's name, data type
    /// and value (UTF-8 bytes).
    pub fn size(&self) -> usize {
        self.body.len() + attributes_size(self.attributes())
    }

    /// The [`size`](Self::size) of `from_event(event, contact_id)`, without building it: a
    /// delivery is checked before its claim, and only a claimed one copies the payload into a
    /// body. The body is serialized around a one-byte placeholder for the payload.
    pub fn size_of(event: &Event<'_>, contact_id: Option<&str>) -> usize {
        let placeholder: &RawValue = serde_json::from_str("0").expect("0 is JSON");
        let skeleton = serde_json::to_string(&MessageBody {
            event_id: &event.id,
            event_type: event.event_type.as_str(),
            tenant: &event.tenant,
            payload: placeholder,
        })
        .expect("strings and a JSON number always serialize");
        let body = skeleton.len() - placeholder.get().len() + event.payload.get().len();
        body + attributes_size(attributes(
            event.event_type.as_str(),
            &event.tenant,
            contact_id,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;

    fn event(payload: &str) -> Event<'static> {
        Event::for_test(EventType::RewardVoucherCreated, payload)
    }

    #[test]
    fn the_body_carries_the_payload_verbatim() {
        let m = QueueMessage::from_event(
            &event(r#"{"Amount":100.10,"ContactId":"c","Extra":{"n":1e3}}"#),
            Some("c"),
        );
        assert_eq!(
            m.body,
            r#"{"eventId":"ev-1","eventType":"reward.voucher.created","tenant":"shop","payload":{"Amount":100.10,"ContactId":"c","Extra":{"n":1e3}}}"#
        );
        assert_eq!(m.contact_id.as_deref(), Some("c"));
        let attributes: Vec<_> = m.attributes().collect();
        assert_eq!(
            attributes,
            [
                ("eventType", "reward.voucher.created"),
                ("tenant", "shop"),
                ("contactId", "c")
            ]
        );
    }

    #[test]
    fn the_size_counts_body_and_attributes_and_is_known_before_the_body_is_built() {
        for (payload, contact) in [
            (r#"{"ContactId":"c"}"#, Some("c")),
            (r#"{"a":"\u0000ä\"","n":1.50}"#, None),
            ("{}", Some("ä-contact")),
        ] {
            let e = event(payload);
            let m = QueueMessage::from_event(&e, contact);
            let attributes = "eventType".len()
                + "reward.voucher.created".len()
                + "tenant".len()
                + "shop".len()
                + contact.map_or(0, |c| "contactId".len() + c.len())
                + ATTRIBUTE_TYPE.len() * (2 + usize::from(contact.is_some()));
            assert_eq!(m.size(), m.body.len() + attributes, "{payload}");
            assert_eq!(QueueMessage::size_of(&e, contact), m.size(), "{payload}");
        }
    }
}
