//! Signing secrets and payload keys from AWS Secrets Manager, read once at cold start.
//!
//! The secret is a JSON object with string values, as the Secrets Manager console's
//! key/value editor writes it, in the same formats as the environment variables:
//! `{"signingSecrets": "whsec_a whsec_b", "payloadKeys": "key1,key2"}`. `payloadKeys` may be
//! empty or absent when end-to-end encryption is off.

use crate::config::{ConfigError, EngageSecrets, Settings, SECRETS_ARN};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretDocument {
    #[serde(default)]
    signing_secrets: String,
    #[serde(default)]
    payload_keys: Option<String>,
}

/// Parses the secret's text; errors name the setting, never the content.
pub fn parse_secret(text: &str) -> Result<EngageSecrets, ConfigError> {
    let doc: SecretDocument = serde_json::from_str(text).map_err(|_| {
        ConfigError::invalid(
            SECRETS_ARN,
            "the secret is not a JSON object of string values".into(),
        )
    })?;
    if doc.signing_secrets.trim().is_empty() {
        return Err(ConfigError::invalid(
            SECRETS_ARN,
            "the secret's signingSecrets is empty: fill it in (see README)".into(),
        ));
    }
    Ok(EngageSecrets {
        signing_secrets: doc.signing_secrets,
        payload_keys: doc.payload_keys.filter(|k| !k.trim().is_empty()),
    })
}

/// The secrets from `ENGAGE_SECRETS_ARN` when it is set, else from
/// `ENGAGE_SIGNING_SECRETS` / `ENGAGE_PAYLOAD_KEYS` (local use).
pub async fn load<F: Fn(&str) -> Option<String>>(
    settings: &Settings<F>,
    sdk: &aws_config::SdkConfig,
) -> Result<EngageSecrets, ConfigError> {
    let Some(arn) = settings.optional(SECRETS_ARN) else {
        return EngageSecrets::from_settings(settings);
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
                format!(
                    "the secret could not be read ({})",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                ),
            )
        })?;
    let text = out.secret_string().ok_or_else(|| {
        ConfigError::invalid(SECRETS_ARN, "the secret has no string value".into())
    })?;
    parse_secret(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let s =
            parse_secret(r#"{"signingSecrets":"whsec_a whsec_b","payloadKeys":"k1,k2"}"#).unwrap();
        assert_eq!(s.signing_secrets, "whsec_a whsec_b");
        assert_eq!(s.payload_keys.as_deref(), Some("k1,k2"));
        let s = parse_secret(r#"{"signingSecrets":"whsec_a","payloadKeys":""}"#).unwrap();
        assert_eq!(s.payload_keys, None);
    }

    #[test]
    fn an_unfilled_or_malformed_secret_stops_the_cold_start_without_echoing_it() {
        let err = parse_secret(r#"{"signingSecrets":"","payloadKeys":""}"#).unwrap_err();
        assert!(err.to_string().contains("signingSecrets is empty"));
        let err = parse_secret("whsec_plain_text_secret").unwrap_err();
        assert!(err.to_string().starts_with(SECRETS_ARN));
        assert!(!err.to_string().contains("whsec_plain"));
    }
}
