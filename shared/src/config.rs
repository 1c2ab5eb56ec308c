//! Settings read once at cold start. A missing or malformed setting stops the cold start with
//! a message naming the variable (and never its value).

use crate::crypto::{PayloadCipher, PayloadDecryptor};
use crate::signature::SignatureVerifier;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

impl ConfigError {
    pub fn invalid(var: &'static str, reason: String) -> Self {
        ConfigError::Invalid { var, reason }
    }
}

pub const SIGNING_SECRETS: &str = "ENGAGE_SIGNING_SECRETS";
pub const PAYLOAD_KEYS: &str = "ENGAGE_PAYLOAD_KEYS";
pub const PAYLOAD_CIPHER: &str = "ENGAGE_PAYLOAD_CIPHER";
pub const SECRETS_ARN: &str = "ENGAGE_SECRETS_ARN";
pub const DEDUP_TABLE: &str = "DEDUP_TABLE";
pub const DEDUP_TTL_SECONDS: &str = "DEDUP_TTL_SECONDS";
pub const CONTACTS_TABLE: &str = "CONTACTS_TABLE";
pub const LOYALTY_QUEUE_URL: &str = "LOYALTY_QUEUE_URL";
pub const PROMOTION_QUEUE_URL: &str = "PROMOTION_QUEUE_URL";

/// Where settings come from: the process environment in a function, a map in tests.
pub struct Settings<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

impl Settings<fn(&str) -> Option<String>> {
    pub fn from_env() -> Self {
        Settings {
            lookup: |name| std::env::var(name).ok(),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    pub fn new(lookup: F) -> Self {
        Settings { lookup }
    }

    /// A set, non-blank value.
    pub fn optional(&self, var: &'static str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.optional(var).ok_or(ConfigError::Missing(var))
    }

    pub fn parsed_or<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(var) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::invalid(var, e.to_string())),
        }
    }

    pub fn dedup(&self) -> Result<DedupSettings, ConfigError> {
        let ttl = self.parsed_or(DEDUP_TTL_SECONDS, DEFAULT_DEDUP_TTL.as_secs())?;
        if ttl < MIN_DEDUP_TTL.as_secs() {
            return Err(ConfigError::invalid(
                DEDUP_TTL_SECONDS,
                format!(
                    "must be at least {} (Svix retries for about 27 hours)",
                    MIN_DEDUP_TTL.as_secs()
                ),
            ));
        }
        Ok(DedupSettings {
            table: self.required(DEDUP_TABLE)?,
            ttl: Duration::from_secs(ttl),
        })
    }

    pub fn cipher(&self) -> Result<PayloadCipher, ConfigError> {
        self.parsed_or(PAYLOAD_CIPHER, PayloadCipher::Aes256Gcm)
    }
}

/// Default life of a dedup record: a week, comfortably past Svix's ~27 h of retries.
pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Anything shorter would forget an event while Svix may still retry it.
pub const MIN_DEDUP_TTL: Duration = Duration::from_secs(28 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupSettings {
    pub table: String,
    pub ttl: Duration,
}

/// The secret material: signing secrets and payload keys, from the environment (local use)
/// or from one Secrets Manager secret (deployed stack, see `secrets`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EngageSecrets {
    pub signing_secrets: String,
    pub payload_keys: Option<String>,
}

impl std::fmt::Debug for EngageSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngageSecrets([redacted])")
    }
}

impl EngageSecrets {
    pub fn from_settings<F: Fn(&str) -> Option<String>>(
        s: &Settings<F>,
    ) -> Result<Self, ConfigError> {
        Ok(EngageSecrets {
            signing_secrets: s.required(SIGNING_SECRETS)?,
            payload_keys: s.optional(PAYLOAD_KEYS),
        })
    }

    pub fn verifier(&self) -> Result<SignatureVerifier, ConfigError> {
        SignatureVerifier::from_list(SIGNING_SECRETS, &self.signing_secrets)
    }

    /// `None` when no key is configured: plaintext events still work, and an encrypted one
    /// answers 500 `payload_key_missing` so Svix keeps it until the key is set.
    pub fn decryptor(
        &self,
        cipher: PayloadCipher,
    ) -> Result<Option<PayloadDecryptor>, ConfigError> {
        self.payload_keys
            .as_deref()
            .filter(|k| !k.trim().is_empty())
            .map(|k| PayloadDecryptor::from_list(PAYLOAD_KEYS, cipher, k))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Settings<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::new(move |k| map.get(k).cloned())
    }

    #[test]
    fn missing_and_blank_values_name_the_variable() {
        let s = settings(&[(DEDUP_TABLE, "  ")]);
        assert_eq!(
            s.required(DEDUP_TABLE),
            Err(ConfigError::Missing(DEDUP_TABLE))
        );
        assert_eq!(s.dedup().unwrap_err().to_string(), "DEDUP_TABLE is not set");
    }

    #[test]
    fn dedup_ttl_defaults_to_seven_days_and_refuses_values_below_svix_retries() {
        let s = settings(&[(DEDUP_TABLE, "t")]);
        assert_eq!(s.dedup().unwrap().ttl, Duration::from_secs(604_800));
        let s = settings(&[(DEDUP_TABLE, "t"), (DEDUP_TTL_SECONDS, "3600")]);
        assert!(s
            .dedup()
            .unwrap_err()
            .to_string()
            .contains(DEDUP_TTL_SECONDS));
        let s = settings(&[(DEDUP_TABLE, "t"), (DEDUP_TTL_SECONDS, "soon")]);
        assert!(s
            .dedup()
            .unwrap_err()
            .to_string()
            .contains(DEDUP_TTL_SECONDS));
        let s = settings(&[(DEDUP_TABLE, "t"), (DEDUP_TTL_SECONDS, "200000")]);
        assert_eq!(s.dedup().unwrap().ttl, Duration::from_secs(200_000));
    }

    #[test]
    fn cipher_defaults_to_gcm_and_rejects_unknown_names() {
        assert_eq!(settings(&[]).cipher(), Ok(PayloadCipher::Aes256Gcm));
        assert_eq!(
            settings(&[(PAYLOAD_CIPHER, "aes-256-cbc")]).cipher(),
            Ok(PayloadCipher::Aes256Cbc)
        );
        let err = settings(&[(PAYLOAD_CIPHER, "rot13")]).cipher().unwrap_err();
        assert!(err.to_string().starts_with(PAYLOAD_CIPHER));
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_validated() {
        let s = settings(&[]);
        assert_eq!(
            EngageSecrets::from_settings(&s),
            Err(ConfigError::Missing(SIGNING_SECRETS))
        );
        let s = settings(&[
            (SIGNING_SECRETS, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            (PAYLOAD_KEYS, "tooShort"),
        ]);
        let secrets = EngageSecrets::from_settings(&s).unwrap();
        assert!(secrets.verifier().is_ok());
        let err = secrets.decryptor(PayloadCipher::Aes256Gcm).unwrap_err();
        assert!(err.to_string().starts_with(PAYLOAD_KEYS));
        assert!(!err.to_string().contains("tooShort"));
        assert!(!format!("{secrets:?}").contains("whsec"));
    }

    #[test]
    fn no_payload_key_means_no_decryptor() {
        let s = settings(&[(SIGNING_SECRETS, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]);
        let secrets = EngageSecrets::from_settings(&s).unwrap();
        assert!(secrets
            .decryptor(PayloadCipher::Aes256Gcm)
            .unwrap()
            .is_none());
    }
}
