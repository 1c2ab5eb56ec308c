//! What every function builds once, at cold start, before its family-specific parts.

use crate::config::{ConfigError, Settings};
use crate::dedup::DynamoDedup;
use crate::event::Family;
use crate::receiver::Receiver;

pub struct ColdStart {
    /// Bounded timeouts and retries, endpoint from `AWS_ENDPOINT_URL` when set.
    pub sdk: aws_config::SdkConfig,
    pub receiver: Receiver,
    pub dedup: DynamoDedup,
}

impl ColdStart {
    /// Reads the dedup settings and cipher, loads the secrets (Secrets Manager when
    /// `ENGAGE_SECRETS_ARN` is set, else the environment) and builds the verifier and keys.
    pub async fn load<F: Fn(&str) -> Option<String>>(
        family: Family,
        settings: &Settings<F>,
    ) -> Result<Self, ConfigError> {
        let dedup = settings.dedup()?;
        let cipher = settings.cipher()?;
        let sdk = crate::aws::load().await;
        let secrets = crate::secrets::load(settings, &sdk).await?;
        Ok(ColdStart {
            receiver: Receiver::from_secrets(family, &secrets, cipher)?,
            dedup: DynamoDedup::new(aws_sdk_dynamodb::Client::new(&sdk), dedup.table, dedup.ttl),
            sdk,
        })
    }
}
