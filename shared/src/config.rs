//! Settings read once at cold start. A missing or malformed setting stops the cold start with
//! a message naming the variable (and never its value).
//!
//! Configuration depends on the crypto and signature modules, never the other way round: they
//! check one key or secret and return their own errors, which are wrapped here with the
//! variable's name and the entry's place in its list.

use crate::crypto::{KeyError, PayloadCipher, PayloadDecryptor, PayloadKey};
use crate::event::Family;
use crate::signature::{SecretError, SignatureVerifier, SigningSecret};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A function's own list and the shared fallback are both unset.
    #[error("neither {0} nor {1} is set (one of them is needed)")]
    MissingOneOf(&'static str, &'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("{var} is invalid: entry {entry} {source}")]
    SigningSecret {
        var: &'static str,
        entry: usize,
        source: SecretError,
    },
    #[error("{var} is invalid: entry {entry}: {source}")]
    PayloadKey {
        var: &'static str,
        entry: usize,
        source: KeyError,
    },
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

/// Each Engage endpoint's own signing secrets (Svix gives every endpoint its own). A function
/// whose family's list is set accepts only that list; otherwise it uses [`SIGNING_SECRETS`].
pub const CONTACT_SIGNING_SECRETS: &str = "ENGAGE_CONTACT_SIGNING_SECRETS";
pub const CONSENT_SIGNING_SECRETS: &str = "ENGAGE_CONSENT_SIGNING_SECRETS";
pub const LOYALTY_SIGNING_SECRETS: &str = "ENGAGE_LOYALTY_SIGNING_SECRETS";
pub const PROMOTION_SIGNING_SECRETS: &str = "ENGAGE_PROMOTION_SIGNING_SECRETS";
/// The IP lock (Voyado's layer 3): addresses and CIDR ranges; empty: off.
pub const ALLOWED_SOURCE_IPS: &str = "ENGAGE_ALLOWED_SOURCE_IPS";
/// The name of the custom header Engage adds to every webhook; empty: off.
pub const CUSTOM_HEADER: &str = "ENGAGE_CUSTOM_HEADER";
/// The custom header's accepted tokens for local runs (the deployed stack reads the secret's
/// `customHeaderTokens`).
pub const CUSTOM_HEADER_TOKENS: &str = "ENGAGE_CUSTOM_HEADER_TOKENS";
/// The Engage tenants this stack serves; empty: any.
pub const TENANTS: &str = "ENGAGE_TENANTS";

/// The variable holding `family`'s own signing secrets.
pub const fn family_signing_secrets_var(family: Family) -> &'static str {
    match family {
        Family::Contact => CONTACT_SIGNING_SECRETS,
        Family::Consent => CONSENT_SIGNING_SECRETS,
        Family::Loyalty => LOYALTY_SIGNING_SECRETS,
        Family::Promotion => PROMOTION_SIGNING_SECRETS,
    }
}

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
        if ttl > MAX_DEDUP_TTL.as_secs() {
            return Err(ConfigError::invalid(
                DEDUP_TTL_SECONDS,
                format!("must be at most {} (one year)", MAX_DEDUP_TTL.as_secs()),
            ));
        }
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
/// One year: far past any retry, and small enough that no expiry time can overflow.
pub const MAX_DEDUP_TTL: Duration = Duration::from_secs(365 * 24 * 3600);
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
        verifier_from_list(SIGNING_SECRETS, &self.signing_secrets)
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
            .map(|k| decryptor_from_list(PAYLOAD_KEYS, cipher, k))
            .transpose()
    }
}

/// One list of secret values and the setting it was read from (named in errors; the values
/// never are).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretList {
    pub source: &'static str,
    pub list: String,
}

impl std::fmt::Debug for SecretList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretList({}, [redacted])", self.source)
    }
}

impl SecretList {
    /// `Some` when `list` holds anything but separators.
    pub fn new(source: &'static str, list: Option<String>) -> Option<Self> {
        list.filter(|l| split_list(l).next().is_some())
            .map(|list| SecretList { source, list })
    }
}

/// The secret material of one function, resolved for its family at cold start: the signing
/// secrets it accepts (its family's own list when that is set, and then only it; else the
/// shared list), the payload keys and the custom header tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSecrets {
    pub signing: SecretList,
    pub payload_keys: Option<SecretList>,
    pub custom_header_tokens: Option<SecretList>,
}

impl FunctionSecrets {
    /// From the environment (local runs): `ENGAGE_<FAMILY>_SIGNING_SECRETS`, else
    /// `ENGAGE_SIGNING_SECRETS`; `ENGAGE_PAYLOAD_KEYS`; `ENGAGE_CUSTOM_HEADER_TOKENS`.
    pub fn from_settings<F: Fn(&str) -> Option<String>>(
        family: Family,
        s: &Settings<F>,
    ) -> Result<Self, ConfigError> {
        let own = family_signing_secrets_var(family);
        let signing = SecretList::new(own, s.optional(own))
            .or_else(|| SecretList::new(SIGNING_SECRETS, s.optional(SIGNING_SECRETS)))
            .ok_or(ConfigError::MissingOneOf(own, SIGNING_SECRETS))?;
        Ok(FunctionSecrets {
            signing,
            payload_keys: SecretList::new(PAYLOAD_KEYS, s.optional(PAYLOAD_KEYS)),
            custom_header_tokens: SecretList::new(
                CUSTOM_HEADER_TOKENS,
                s.optional(CUSTOM_HEADER_TOKENS),
            ),
        })
    }

    pub fn verifier(&self) -> Result<SignatureVerifier, ConfigError> {
        verifier_from_list(self.signing.source, &self.signing.list)
    }

    /// `None` when no key is configured (see [`EngageSecrets::decryptor`]).
    pub fn decryptor(
        &self,
        cipher: PayloadCipher,
    ) -> Result<Option<PayloadDecryptor>, ConfigError> {
        self.payload_keys
            .as_ref()
            .map(|k| decryptor_from_list(k.source, cipher, &k.list))
            .transpose()
    }
}

/// Splits a setting that holds several values separated by commas and/or whitespace.
pub fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// `list` holds one or more `whsec_...` secrets separated by commas or whitespace.
pub fn verifier_from_list(var: &'static str, list: &str) -> Result<SignatureVerifier, ConfigError> {
    let secrets = parse_list(var, list, "no signing secret given", |entry, secret| {
        SigningSecret::parse(secret).map_err(|source| ConfigError::SigningSecret {
            var,
            entry,
            source,
        })
    })?;
    Ok(SignatureVerifier::new(secrets))
}

/// Parses `ENGAGE_PAYLOAD_KEYS`-style text: keys separated by commas or whitespace, tried in
/// order (rotation).
pub fn decryptor_from_list(
    var: &'static str,
    cipher: PayloadCipher,
    list: &str,
) -> Result<PayloadDecryptor, ConfigError> {
    let keys = parse_list(var, list, "no key given", |entry, key| {
        PayloadKey::parse(key).map_err(|source| ConfigError::PayloadKey { var, entry, source })
    })?;
    Ok(PayloadDecryptor::new(cipher, &keys))
}

/// Every entry of `list` parsed by `parse` (given its 1-based place, for the error); at least
/// one, else `Invalid` with `if_empty`.
fn parse_list<T>(
    var: &'static str,
    list: &str,
    if_empty: &str,
    parse: impl Fn(usize, &str) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    let items = split_list(list)
        .enumerate()
        .map(|(i, entry)| parse(i + 1, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        return Err(ConfigError::invalid(var, if_empty.into()));
    }
    Ok(items)
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
        let s = settings(&[(DEDUP_TABLE, "t"), (DEDUP_TTL_SECONDS, "31536000")]);
        assert_eq!(s.dedup().unwrap().ttl, Duration::from_secs(31_536_000));
        for too_long in ["31536001", "18446744073709551615"] {
            let s = settings(&[(DEDUP_TABLE, "t"), (DEDUP_TTL_SECONDS, too_long)]);
            let err = s.dedup().unwrap_err().to_string();
            assert!(
                err.contains(DEDUP_TTL_SECONDS) && err.contains("31536000"),
                "{err}"
            );
        }
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
    fn signing_secret_lists_are_validated_and_errors_name_the_variable() {
        assert!(verifier_from_list("S", "").is_err());
        assert!(verifier_from_list("S", " , ").is_err());
        assert!(verifier_from_list("S", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        let err = verifier_from_list("S", "whsec_!!!").unwrap_err();
        assert!(err.to_string().contains('S'), "{err}");
        assert_eq!(err.to_string(), "S is invalid: entry 1 is not valid base64");
        let err = verifier_from_list("S", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "S is invalid: entry 2 does not start with whsec_"
        );
        let two = verifier_from_list(
            "S",
            "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkhISE=,\n whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        assert_eq!(
            format!("{:?}", two.unwrap()),
            "SignatureVerifier(2 secrets)"
        );
    }

    #[test]
    fn payload_key_lists_are_validated_and_errors_name_the_variable() {
        const KEY_A: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
        const KEY_B: &str = "0123456789abcdefghijABCDEFGHIJKL";
        assert!(decryptor_from_list("K", PayloadCipher::Aes256Gcm, " ").is_err());
        let err = decryptor_from_list("K", PayloadCipher::Aes256Gcm, "abc").unwrap_err();
        assert!(err.to_string().contains("K"));
        assert!(
            !err.to_string().contains("abc"),
            "a key must never be echoed"
        );
        assert_eq!(
            err.to_string(),
            "K is invalid: entry 1: a key must be 32 characters, got 3"
        );
        let ok = decryptor_from_list("K", PayloadCipher::Aes256Cbc, &format!("{KEY_A}, {KEY_B}"));
        assert_eq!(
            format!("{:?}", ok.unwrap()),
            "PayloadDecryptor(aes-256-cbc, 2 keys)"
        );
    }

    #[test]
    fn lists_split_on_commas_and_whitespace() {
        let parts: Vec<&str> = split_list(" a,b\n c,, d ").collect();
        assert_eq!(parts, ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_function_uses_its_familys_list_and_then_only_it() {
        const OWN: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        const SHARED: &str = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkhISE=";
        let s = settings(&[
            (SIGNING_SECRETS, SHARED),
            (LOYALTY_SIGNING_SECRETS, OWN),
            (CUSTOM_HEADER_TOKENS, "a b"),
        ]);
        let loyalty = FunctionSecrets::from_settings(Family::Loyalty, &s).unwrap();
        assert_eq!(loyalty.signing.source, LOYALTY_SIGNING_SECRETS);
        assert_eq!(loyalty.signing.list, OWN);
        assert_eq!(loyalty.custom_header_tokens.unwrap().list, "a b");
        assert!(!format!("{:?}", loyalty.signing).contains("whsec"));
        let contact = FunctionSecrets::from_settings(Family::Contact, &s).unwrap();
        assert_eq!(contact.signing.source, SIGNING_SECRETS);
        // A blank own list is unset; neither set names both variables.
        let s = settings(&[(PROMOTION_SIGNING_SECRETS, " , ")]);
        assert_eq!(
            FunctionSecrets::from_settings(Family::Promotion, &s),
            Err(ConfigError::MissingOneOf(
                PROMOTION_SIGNING_SECRETS,
                SIGNING_SECRETS
            ))
        );
        for (family, var) in [
            (Family::Contact, "ENGAGE_CONTACT_SIGNING_SECRETS"),
            (Family::Consent, "ENGAGE_CONSENT_SIGNING_SECRETS"),
            (Family::Loyalty, "ENGAGE_LOYALTY_SIGNING_SECRETS"),
            (Family::Promotion, "ENGAGE_PROMOTION_SIGNING_SECRETS"),
        ] {
            assert_eq!(family_signing_secrets_var(family), var);
        }
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

    #[test]
    fn a_short_signing_secret_in_any_list_names_its_variable() {
        // 23 bytes once decoded, then 24 (Svix's published example secret).
        let short = "whsec_c2hvcnQtc2lnbmluZy1zZWNyZXQtMDA=";
        let long = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        for var in [
            SIGNING_SECRETS,
            CONTACT_SIGNING_SECRETS,
            CONSENT_SIGNING_SECRETS,
            LOYALTY_SIGNING_SECRETS,
            PROMOTION_SIGNING_SECRETS,
        ] {
            let family = [
                Family::Contact,
                Family::Consent,
                Family::Loyalty,
                Family::Promotion,
            ]
            .into_iter()
            .find(|f| family_signing_secrets_var(*f) == var)
            .unwrap_or(Family::Contact);
            let list = format!("{long} {short}");
            let s = settings(&[(var, &list)]);
            let err = FunctionSecrets::from_settings(family, &s)
                .unwrap()
                .verifier()
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!(
                    "{var} is invalid: entry 2 decodes to 23 bytes; a signing secret needs at least 24"
                )
            );
            assert!(!err.contains(&short[6..]), "{err}");
            let s = settings(&[(var, long)]);
            assert!(FunctionSecrets::from_settings(family, &s)
                .unwrap()
                .verifier()
                .is_ok());
        }
    }
}
