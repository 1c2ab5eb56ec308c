//! Signing secrets, payload keys and custom header tokens from AWS Secrets Manager, read once
//! at cold start.
//!
//! The secret is a JSON object with string values, as the Secrets Manager console's
//! key/value editor writes it, in the same formats as the environment variables:
//!
//! ```json
//! {"contactSigningSecrets": "whsec_c", "consentSigningSecrets": "whsec_d",
//!  "loyaltySigningSecrets": "whsec_l", "promotionSigningSecrets": "whsec_p",
//!  "signingSecrets": "", "payloadKeys": "key1,key2", "customHeaderTokens": "token1 token2"}
//! ```
//!
//! A function uses its family's `<family>SigningSecrets` when that is filled (and then only
//! it), else the shared `signingSecrets`. `payloadKeys` may be empty or absent when end-to-end
//! encryption is off; `customHeaderTokens` when the custom header check is off.

use crate::aws::sdk_error_kind;
use crate::config::{ConfigError, FunctionSecrets, SecretList, Settings, SECRETS_ARN};
use crate::event::Family;
use serde::Deserialize;

/// How errors name the secret's fields: the variable first, then the field (never a value).
pub const SECRET_SIGNING_SECRETS: &str = "ENGAGE_SECRETS_ARN (signingSecrets)";
pub const SECRET_PAYLOAD_KEYS: &str = "ENGAGE_SECRETS_ARN (payloadKeys)";
pub const SECRET_CUSTOM_HEADER_TOKENS: &str = "ENGAGE_SECRETS_ARN (customHeaderTokens)";

/// The secret's field holding `family`'s own signing secrets, and how errors name it.
pub const fn family_field(family: Family) -> (&'static str, &'static str) {
    match family {
        Family::Contact => (
            "contactSigningSecrets",
            "ENGAGE_SECRETS_ARN (contactSigningSecrets)",
        ),
        Family::Consent => (
            "consentSigningSecrets",
            "ENGAGE_SECRETS_ARN (consentSigningSecrets)",
        ),
        Family::Loyalty => (
            "loyaltySigningSecrets",
            "ENGAGE_SECRETS_ARN (loyaltySigningSecrets)",
        ),
        Family::Promotion => (
            "promotionSigningSecrets",
            "ENGAGE_SECRETS_ARN (promotionSigningSecrets)",
        ),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretDocument {
    #[serde(default)]
    signing_secrets: Option<String>,
    #[serde(default)]
    contact_signing_secrets: Option<String>,
    #[serde(default)]
    consent_signing_secrets: Option<String>,
    #[serde(default)]
    loyalty_signing_secrets: Option<String>,
    #[serde(default)]
    promotion_signing_secrets: Option<String>,
    #[serde(default)]
    payload_keys: Option<String>,
    #[serde(default)]
    custom_header_tokens: Option<String>,
}

impl SecretDocument {
    fn family_list(&mut self, family: Family) -> Option<String> {
        match family {
            Family::Contact => self.contact_signing_secrets.take(),
            Family::Consent => self.consent_signing_secrets.take(),
            Family::Loyalty => self.loyalty_signing_secrets.take(),
            Family::Promotion => self.promotion_signing_secrets.take(),
        }
    }
}

/// Parses the secret's text for `family`'s function; errors name the setting and field, never
/// the content.
pub fn parse_secret(family: Family, text: &str) -> Result<FunctionSecrets, ConfigError> {
    let mut doc: SecretDocument = serde_json::from_str(text).map_err(|_| {
        ConfigError::invalid(
            SECRETS_ARN,
            "the secret is not a JSON object of string values".into(),
        )
    })?;
    let (field, label) = family_field(family);
    let signing = SecretList::new(label, doc.family_list(family))
        .or_else(|| SecretList::new(SECRET_SIGNING_SECRETS, doc.signing_secrets.take()))
        .ok_or_else(|| {
            ConfigError::invalid(
                SECRETS_ARN,
                format!(
                    "the secret's {field} is empty and its signingSecrets is empty: fill one in (see docs/deploy.md#secrets)"
                ),
            )
        })?;
    Ok(FunctionSecrets {
        signing,
        payload_keys: SecretList::new(SECRET_PAYLOAD_KEYS, doc.payload_keys),
        custom_header_tokens: SecretList::new(
            SECRET_CUSTOM_HEADER_TOKENS,
            doc.custom_header_tokens,
        ),
    })
}

/// The secrets of `family`'s function from `ENGAGE_SECRETS_ARN` when it is set, else from the
/// environment (local use: see [`FunctionSecrets::from_settings`]).
pub async fn load<F: Fn(&str) -> Option<String>>(
    family: Family,
    settings: &Settings<F>,
    sdk: &aws_config::SdkConfig,
) -> Result<FunctionSecrets, ConfigError> {
    let Some(arn) = settings.optional(SECRETS_ARN) else {
        return FunctionSecrets::from_settings(family, settings);
    };
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(arn.trim())
        .send()
        .await
        .map_err(|e| {
            ConfigError::invalid(
                SECRETS_ARN,
                format!("the secret could not be read ({})", sdk_error_kind(&e)),
            )
        })?;
    let text = out.secret_string().ok_or_else(|| {
        ConfigError::invalid(SECRETS_ARN, "the secret has no string value".into())
    })?;
    parse_secret(family, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Family; 4] = [
        Family::Contact,
        Family::Consent,
        Family::Loyalty,
        Family::Promotion,
    ];

    #[test]
    fn parses_the_documented_shape() {
        let s = parse_secret(
            Family::Loyalty,
            r#"{"signingSecrets":"whsec_a whsec_b","payloadKeys":"k1,k2"}"#,
        )
        .unwrap();
        assert_eq!(s.signing.list, "whsec_a whsec_b");
        assert_eq!(s.signing.source, SECRET_SIGNING_SECRETS);
        assert_eq!(s.payload_keys.unwrap().list, "k1,k2");
        assert_eq!(s.custom_header_tokens, None);
        let s = parse_secret(
            Family::Loyalty,
            r#"{"signingSecrets":"whsec_a","payloadKeys":"","customHeaderTokens":" , "}"#,
        )
        .unwrap();
        assert_eq!(s.payload_keys, None);
        assert_eq!(s.custom_header_tokens, None);
    }

    #[test]
    fn each_family_uses_only_its_own_list_when_it_is_filled() {
        let text = r#"{"contactSigningSecrets":"whsec_c","consentSigningSecrets":"whsec_d",
            "loyaltySigningSecrets":"whsec_l","promotionSigningSecrets":"whsec_p",
            "signingSecrets":"whsec_shared","customHeaderTokens":"t1 t2"}"#;
        for (family, own) in ALL
            .into_iter()
            .zip(["whsec_c", "whsec_d", "whsec_l", "whsec_p"])
        {
            let s = parse_secret(family, text).unwrap();
            assert_eq!(s.signing.list, own, "{family}");
            assert_eq!(s.signing.source, family_field(family).1);
            assert_eq!(s.custom_header_tokens.as_ref().unwrap().list, "t1 t2");
        }
    }

    #[test]
    fn an_empty_family_list_falls_back_to_the_shared_one() {
        let text = r#"{"contactSigningSecrets":"  ","signingSecrets":"whsec_shared"}"#;
        let s = parse_secret(Family::Contact, text).unwrap();
        assert_eq!(s.signing.list, "whsec_shared");
        assert_eq!(s.signing.source, SECRET_SIGNING_SECRETS);
        // A family list is only the family's: another family still uses the shared list.
        let text = r#"{"contactSigningSecrets":"whsec_c","signingSecrets":"whsec_shared"}"#;
        assert_eq!(
            parse_secret(Family::Consent, text).unwrap().signing.list,
            "whsec_shared"
        );
        // Only a family list, no shared one: the other families cannot start.
        let text = r#"{"contactSigningSecrets":"whsec_c"}"#;
        assert!(parse_secret(Family::Contact, text).is_ok());
        let err = parse_secret(Family::Loyalty, text).unwrap_err();
        assert!(
            err.to_string().contains("loyaltySigningSecrets is empty"),
            "{err}"
        );
    }

    #[test]
    fn an_unfilled_or_malformed_secret_stops_the_cold_start_without_echoing_it() {
        let err = parse_secret(
            Family::Promotion,
            r#"{"signingSecrets":"","payloadKeys":""}"#,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with(SECRETS_ARN), "{err}");
        assert!(err.to_string().contains("signingSecrets is empty"));
        assert!(err.to_string().contains("promotionSigningSecrets"));
        let err = parse_secret(Family::Promotion, "whsec_plain_text_secret").unwrap_err();
        assert!(err.to_string().starts_with(SECRETS_ARN));
        assert!(!err.to_string().contains("whsec_plain"));
    }

    #[test]
    fn an_invalid_entry_names_the_secret_and_its_field() {
        let s = parse_secret(
            Family::Contact,
            r#"{"contactSigningSecrets":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw notasecret"}"#,
        )
        .unwrap();
        let err = s.verifier().unwrap_err().to_string();
        assert_eq!(
            err,
            "ENGAGE_SECRETS_ARN (contactSigningSecrets) is invalid: entry 2 does not start with whsec_"
        );
        let s = parse_secret(
            Family::Contact,
            r#"{"signingSecrets":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","payloadKeys":"short"}"#,
        )
        .unwrap();
        let err = s
            .decryptor(crate::crypto::PayloadCipher::Aes256Gcm)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(SECRET_PAYLOAD_KEYS), "{err}");
        assert!(!err.contains("short"), "{err}");
    }

    #[test]
    fn a_short_signing_secret_names_the_secrets_field() {
        // 23 bytes once decoded.
        let short = "whsec_c2hvcnQtc2lnbmluZy1zZWNyZXQtMDA=";
        for family in ALL {
            let (field, label) = family_field(family);
            let text = format!(r#"{{"{field}":"{short}"}}"#);
            let err = parse_secret(family, &text)
                .unwrap()
                .verifier()
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("{label} is invalid: entry 1 decodes to 23 bytes")),
                "{err}"
            );
            assert!(!err.contains(&short[6..]), "{err}");
        }
        let text = format!(r#"{{"signingSecrets":"{short}"}}"#);
        let err = parse_secret(Family::Loyalty, &text)
            .unwrap()
            .verifier()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(SECRET_SIGNING_SECRETS), "{err}");
    }
}
