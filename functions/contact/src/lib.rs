//! The contact function: `contact.created`, `contact.updated` and `contact.deleted` kept in
//! the contact mirror (`CONTACTS_TABLE`), in order and exactly once. The logic is the shared
//! mirror (see docs/contact-mirror.md).

use engage_webhooks::{ConfigError, Family, MirrorFunction};

pub const FAMILY: Family = Family::Contact;

/// Builds the function from the environment, once per cold start.
pub async fn from_env() -> Result<MirrorFunction, ConfigError> {
    MirrorFunction::from_env(FAMILY).await
}
