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
        [
            ("eventType", Some(self.event_type.as_str())),
            ("tenant", Some(self.tenant.as_str())),
            ("contactId", self.contact_id.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }

    /// The size SQS counts against its limit: the body, and every attribute's name, data type
    /// and value (UTF-8 bytes).
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes()
                .map(|(name, value)| name.len() + ATTRIBUTE_TYPE.len() + value.len())
                .sum::<usize>()
    }

    /// The [`size`](Self::size) of `from_event(event, contact_id)`, without copying the
    /// payload: a delivery is checked before its claim, and only a claimed one builds its body.
    pub fn size_of(event: &Event<'_>, contact_id: Option<&str>) -> usize {
        let placeholder = RawValue::from_string("0".into()).expect("0 is JSON");
        let mut skeleton = QueueMessage::from_event(
            &Event {
                id: event.id.clone(),
                event_type: event.event_type,
                tenant: event.tenant.clone(),
                payload: std::borrow::Cow::Owned(placeholder),
                signed_at: None,
                message_time: None,
            },
            contact_id,
        );
        skeleton.body.pop();
        skeleton.size() + event.payload.get().len()
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
