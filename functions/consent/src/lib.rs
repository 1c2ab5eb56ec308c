//! The consent function: `contact.acceptsEmail.changed`, `contact.acceptsSms.changed`,
//! `contact.acceptsPostal.changed` and `contact.consent.changed` kept in the contact mirror
//! (`CONTACTS_TABLE`), newest change wins, exactly once. The logic is the shared mirror (see
//! README, "The contact mirror").

use engage_webhooks::{ConfigError, Family, MirrorFunction};

pub const FAMILY: Family = Family::Consent;

/// Builds the function from the environment, once per cold start.
pub async fn from_env() -> Result<MirrorFunction, ConfigError> {
    MirrorFunction::from_env(FAMILY).await
}
