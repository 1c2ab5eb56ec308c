//! The mirror item's shape: one item per contact and tenant in `CONTACTS_TABLE`, every piece
//! of state a top-level attribute so that each can be written and conditioned on its own
//! (DynamoDB cannot SET a child of a map that does not exist yet).
//!
//! ```text
//! contactId         S   partition key: `<tenant>#<Engage contactId>` (crate::tenant_key)
//! tenant            S   the Engage tenant the item belongs to
//! engageContactId   S   Engage's contactId, as sent
//! profile           M   contact.created / contact.updated payload, Engage's field names
//! profileEventId    S   event that wrote `profile`
//! profileUpdatedAt  S   when the mirror applied it (RFC 3339, UTC)
//! profileMessageTime N  when Svix created the message that wrote `profile` (Unix ms), if known
//! acceptsEmail      M   { value BOOL, changedAt S, changedAtMicros N, eventId S }
//! acceptsSms        M   (same)
//! acceptsPostal     M   (same)
//! consent_<alias>   M   { value (as sent), changedAt S, changedAtMicros N, eventId S }
//! ```
//!
//! After `contact.deleted` the item is only a tombstone: [`TOMBSTONE_ATTRIBUTES`].

use std::time::Duration;

pub const CONTACT_ID: &str = "contactId";
pub const TENANT: &str = "tenant";
/// Engage's own contact id (the key holds it scoped by the tenant).
pub const ENGAGE_CONTACT_ID: &str = "engageContactId";
pub const PROFILE: &str = "profile";
pub const PROFILE_EVENT_ID: &str = "profileEventId";
pub const PROFILE_UPDATED_AT: &str = "profileUpdatedAt";
/// The Svix message time of the profile's snapshot: a snapshot from an older message is stale.
pub const PROFILE_MESSAGE_TIME: &str = "profileMessageTime";

pub const DELETED_AT: &str = "deletedAt";
pub const DELETION_REASON: &str = "deletionReason";
pub const DELETE_EVENT_ID: &str = "deleteEventId";
/// The contacts table's TTL attribute (Unix seconds); only tombstones carry it.
pub const EXPIRES_AT: &str = "expiresAt";

/// Every attribute a tombstone can have: nothing else survives a deletion.
pub const TOMBSTONE_ATTRIBUTES: [&str; 7] = [
    CONTACT_ID,
    TENANT,
    ENGAGE_CONTACT_ID,
    DELETED_AT,
    DELETION_REASON,
    DELETE_EVENT_ID,
    EXPIRES_AT,
];

/// How long a tombstone outlives the deletion: far beyond Svix's ~27.5 h of retries, so no
/// late event can find the contact gone and recreate it.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The three preference flags, each a top-level attribute under Engage's own name.
pub const ACCEPTS_EMAIL: &str = "acceptsEmail";
pub const ACCEPTS_SMS: &str = "acceptsSms";
pub const ACCEPTS_POSTAL: &str = "acceptsPostal";

/// Consents live in `consent_<consentAlias>`.
pub const CONSENT_PREFIX: &str = "consent_";

/// Fields of a preference or consent entry.
pub const VALUE: &str = "value";
pub const CHANGED_AT: &str = "changedAt";
pub const CHANGED_AT_MICROS: &str = "changedAtMicros";
pub const EVENT_ID: &str = "eventId";

/// Longest consent alias accepted (the attribute name stays short and readable).
pub const MAX_ALIAS_LEN: usize = 128;
/// A deletion reason is kept up to this many bytes (cut at a character boundary): a
/// deletion is never refused for its reason, and the tombstone stays small.
pub const MAX_DELETION_REASON_BYTES: usize = 1024;
/// DynamoDB allows 2048 bytes in a partition key; Engage's ids are GUIDs.
pub const MAX_CONTACT_ID_LEN: usize = 1024;

pub fn consent_attribute(alias: &str) -> String {
    format!("{CONSENT_PREFIX}{alias}")
}

/// A consent alias becomes part of an attribute name: letters, digits, `_`, `-` and `.`.
pub fn is_valid_alias(alias: &str) -> bool {
    !alias.is_empty()
        && alias.len() <= MAX_ALIAS_LEN
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

pub fn is_valid_contact_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= MAX_CONTACT_ID_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_identifiers() {
        for ok in ["myConsentAlias", "terms_v2", "news-letter.se", "a"] {
            assert!(is_valid_alias(ok), "{ok}");
        }
        let long = "a".repeat(MAX_ALIAS_LEN + 1);
        for bad in ["", "with space", "ä", "a#b", "x:y", long.as_str()] {
            assert!(!is_valid_alias(bad), "{bad}");
        }
        assert_eq!(consent_attribute("terms"), "consent_terms");
    }

    #[test]
    fn contact_ids_are_non_blank_and_bounded() {
        assert!(is_valid_contact_id("515c1b2a-7124-4bb9-826b-aedbbe5da8c4"));
        assert!(!is_valid_contact_id(" "));
        assert!(!is_valid_contact_id(&"c".repeat(MAX_CONTACT_ID_LEN + 1)));
    }
}
