//! What every function builds once, at cold start, before its family-specific parts.

use crate::config::{ConfigError, Settings, CUSTOM_HEADER, CUSTOM_HEADER_TOKENS, SECRETS_ARN};
use crate::dedup::DynamoDedup;
use crate::event::Family;
use crate::pipeline::Receiver;
use crate::secrets::SECRET_CUSTOM_HEADER_TOKENS;
use crate::security::{header_name, CustomHeaderCheck, Guards, SourceIpAllowList, TenantLock};

pub struct ColdStart {
    /// Bounded timeouts and retries, endpoint from `AWS_ENDPOINT_URL` when set.
    pub sdk: aws_config::SdkConfig,
    pub receiver: Receiver,
    pub dedup: DynamoDedup,
}

impl ColdStart {
    /// Reads the dedup settings, cipher and access settings (source IPs, custom header name,
    /// tenants), then loads the secrets (Secrets Manager when `ENGAGE_SECRETS_ARN` is set, else
    /// the environment) and builds the verifier, keys and custom header check. The settings
    /// that need no AWS call are checked first.
    pub async fn load<F: Fn(&str) -> Option<String>>(
        family: Family,
        settings: &Settings<F>,
    ) -> Result<Self, ConfigError> {
        let dedup = settings.dedup()?;
        let cipher = settings.cipher()?;
        let source_ips = SourceIpAllowList::from_settings(settings)?;
        let custom_header_name = header_name(settings.optional(CUSTOM_HEADER).as_deref())?;
        let tenants = TenantLock::from_settings(settings);
        let sdk = crate::aws::load().await;
        let secrets = crate::secrets::load(family, settings, &sdk).await?;
        let tokens = secrets.custom_header_tokens.as_ref();
        let custom_header = match custom_header_name {
            Some(name) => {
                let source = tokens.map(|t| t.source).unwrap_or(
                    if settings.optional(SECRETS_ARN).is_some() {
                        SECRET_CUSTOM_HEADER_TOKENS
                    } else {
                        CUSTOM_HEADER_TOKENS
                    },
                );
                Some(CustomHeaderCheck::new(
                    name,
                    tokens.map(|t| t.list.as_str()),
                    source,
                )?)
            }
            None => {
                if let Some(t) = tokens {
                    tracing::warn!(
                        tokens = t.source,
                        "custom header tokens are configured but {CUSTOM_HEADER} is not set: the custom header check is off"
                    );
                }
                None
            }
        };
        let verifier = secrets.verifier()?;
        let decryptor = secrets.decryptor(cipher)?;
        // What is on, for the operator: counts and setting names, never values or addresses.
        tracing::info!(
            family = family.as_str(),
            signing_secrets = secrets.signing.source,
            source_ip_ranges = source_ips.as_ref().map_or(0, SourceIpAllowList::len),
            custom_header = custom_header.is_some(),
            tenants = tenants.as_ref().map_or(0, |t| t.names().len()),
            "access checks configured"
        );
        let receiver = Receiver::new(family, verifier, decryptor).with_guards(Guards {
            source_ips,
            custom_header,
            tenants,
        });
        Ok(ColdStart {
            receiver,
            dedup: DynamoDedup::new(aws_sdk_dynamodb::Client::new(&sdk), dedup.table, dedup.ttl),
            sdk,
        })
    }
}
