//! What SQS can never take, found before the claim: an event whose message SQS would refuse
//! is answered 400 `invalid_payload` (naming the field, never its value) instead of claiming,
//! failing the send, releasing and answering 503 for Svix's 27 hours of retries.
//!
//! SQS refuses a message that holds a character outside
//! `#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF` in its body or a
//! string attribute, and one larger than 1 MiB (1 048 576 bytes, body and attributes
//! together: each attribute's name, data type and value). The body carries the payload's JSON
//! text verbatim, so an escaped `\u0000` in it is six harmless ASCII characters; a literal
//! U+FFFE is not. Attribute values are the decoded strings (tenant, contact id), so there an
//! escaped control character is a real one.

use super::message::QueueMessage;
use crate::error::WebhookError;
use crate::event::{Event, EventType};

/// SQS's largest message (body and attributes), whatever a queue's own setting. A queue set
/// lower (`MaximumMessageSize`) refuses more: then the send fails (503) until the setting is
/// raised, and the event is kept for Svix's retries.
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// A character SQS accepts in a message body or string attribute value.
pub fn accepts_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text SQS accepts in a message body or string attribute value.
pub fn accepts_text(text: &str) -> bool {
    text.chars().all(accepts_char)
}

/// The payload field the contact id is read from, as Engage spells it.
fn contact_field(event_type: EventType) -> &'static str {
    match event_type {
        EventType::RewardVoucherCreated => "ContactId",
        _ => "contactId",
    }
}

/// Refuses an event SQS would never accept as the message [`QueueMessage::from_event`]
/// builds from it (with `contact_id` as its contact): a blank contact id, a character SQS
/// refuses, or a message over [`MAX_MESSAGE_BYTES`].
pub fn check_sendable(event: &Event<'_>, contact_id: Option<&str>) -> Result<(), WebhookError> {
    let refuse = |problem: String| {
        WebhookError::InvalidPayload(format!("the {} event: {problem}", event.event_type))
    };
    let refused_char = |field: &str| {
        refuse(format!(
            "{field} holds a character SQS does not accept (a control character, U+FFFE or U+FFFF)"
        ))
    };
    if let Some(contact) = contact_id {
        let field = contact_field(event.event_type);
        if contact.trim().is_empty() {
            return Err(refuse(format!("{field} is empty or blank")));
        }
        if !accepts_text(contact) {
            return Err(refused_char(field));
        }
    }
    if !accepts_text(&event.tenant) {
        return Err(refused_char("tenant"));
    }
    // The body holds the id as a JSON string, where control characters are escaped.
    if !event.id.chars().all(|c| c < ' ' || accepts_char(c)) {
        return Err(refused_char("eventId"));
    }
    if !accepts_text(event.payload.get()) {
        return Err(refused_char("payload"));
    }
    let size = QueueMessage::size_of(event, contact_id);
    if size > MAX_MESSAGE_BYTES {
        return Err(refuse(format!(
            "the payload is too large for SQS: the message would be {size} bytes with its \
             attributes, over the limit of {MAX_MESSAGE_BYTES}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(payload: &str) -> Event<'static> {
        Event::for_test(EventType::LoyaltyAddPoints, payload)
    }

    #[test]
    fn the_documented_character_ranges() {
        for ok in [
            '\t',
            '\n',
            '\r',
            ' ',
            'ä',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{1FFFE}',
            '\u{10FFFF}',
        ] {
            assert!(accepts_char(ok), "{:x}", ok as u32);
        }
        for refused in ['\u{0}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!accepts_char(refused), "{:x}", refused as u32);
        }
    }

    #[test]
    fn an_escaped_control_character_in_the_body_is_fine_a_decoded_one_in_an_attribute_is_not() {
        let e = event(r#"{"amount":1,"contactId":"c","note":"a\u0000b"}"#);
        assert_eq!(check_sendable(&e, Some("c")), Ok(()));
        let err = check_sendable(&e, Some("c\u{0}")).unwrap_err();
        assert_eq!(err.reason(), "invalid_payload");
        assert!(
            err.to_string().contains("contactId holds a character"),
            "{err}"
        );
        let raw = event("{\"amount\":1,\"contactId\":\"c\",\"note\":\"a\u{FFFE}b\"}");
        let err = check_sendable(&raw, Some("c")).unwrap_err();
        assert!(
            err.to_string().contains("payload holds a character"),
            "{err}"
        );
    }

    #[test]
    fn blank_contacts_refused_tenants_and_ids_each_named() {
        let e = event(r#"{"amount":1,"contactId":" "}"#);
        for blank in ["", " ", "\t"] {
            let err = check_sendable(&e, Some(blank)).unwrap_err();
            assert!(
                err.to_string().contains("contactId is empty or blank"),
                "{err}"
            );
        }
        let voucher = Event::for_test(EventType::RewardVoucherCreated, "{}");
        let err = check_sendable(&voucher, Some("")).unwrap_err();
        assert!(err.to_string().contains("ContactId is empty"), "{err}");
        assert_eq!(check_sendable(&e, None), Ok(()), "no contact, no attribute");
        let tenant = Event {
            tenant: "shop\u{1}".into(),
            ..event("{}")
        };
        let err = check_sendable(&tenant, None).unwrap_err();
        assert!(err.to_string().contains("tenant holds"), "{err}");
        let id = Event {
            id: "ev\u{FFFF}".into(),
            ..event("{}")
        };
        let err = check_sendable(&id, None).unwrap_err();
        assert!(err.to_string().contains("eventId holds"), "{err}");
        let escaped_id = Event {
            id: "ev\u{0}".into(),
            ..event("{}")
        };
        assert_eq!(
            check_sendable(&escaped_id, None),
            Ok(()),
            "escaped in the body"
        );
    }

    #[test]
    fn a_message_over_one_mebibyte_with_its_attributes_is_refused() {
        let contact = "c".repeat(1000);
        let fill = |n: usize| {
            format!(
                r#"{{"amount":1,"contactId":"{contact}","x":"{}"}}"#,
                "x".repeat(n)
            )
        };
        let probe = event(&fill(0));
        let room = MAX_MESSAGE_BYTES - QueueMessage::size_of(&probe, Some(&contact));
        let fits = event(&fill(room));
        assert_eq!(
            QueueMessage::size_of(&fits, Some(&contact)),
            MAX_MESSAGE_BYTES
        );
        assert_eq!(check_sendable(&fits, Some(&contact)), Ok(()));
        let over = event(&fill(room + 1));
        let err = check_sendable(&over, Some(&contact)).unwrap_err();
        assert!(err.to_string().contains("1048577 bytes"), "{err}");
        assert!(!err.to_string().contains("ccc"), "never the value: {err}");
    }
}
