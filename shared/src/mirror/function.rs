//! A mirror function (contact, consent): verify, decrypt, validate, then commit the change and
//! its dedup record together.

use super::change::MirrorChange;
use super::commit::MirrorStore;
use crate::config::{ConfigError, EngageSecrets, Settings, CONTACTS_TABLE};
use crate::dedup::DynamoDedup;
use crate::envelope::Event;
use crate::event::Family;
use crate::receiver::{handle_with, lease_until_millis, Receiver};
use lambda_http::{Body, Request, Response};

pub struct MirrorFunction {
    receiver: Receiver,
    store: MirrorStore,
}

impl MirrorFunction {
    /// `dedup`'s client also writes the contacts table (both go into one transaction).
    pub fn new(receiver: Receiver, dedup: DynamoDedup, contacts_table: String) -> Self {
        MirrorFunction {
            receiver,
            store: MirrorStore::new(dedup, contacts_table),
        }
    }

    /// Everything built once at cold start, from the environment (and Secrets Manager when
    /// `ENGAGE_SECRETS_ARN` is set).
    pub async fn from_env(family: Family) -> Result<Self, ConfigError> {
        let settings = Settings::from_env();
        let contacts_table = settings.required(CONTACTS_TABLE)?;
        let dedup = settings.dedup()?;
        let cipher = settings.cipher()?;
        let sdk = crate::aws::load().await;
        let secrets: EngageSecrets = crate::secrets::load(&settings, &sdk).await?;
        Ok(MirrorFunction::new(
            Receiver::from_secrets(family, &secrets, cipher)?,
            DynamoDedup::new(aws_sdk_dynamodb::Client::new(&sdk), dedup.table, dedup.ttl),
            contacts_table,
        ))
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let lease = lease_until_millis(&req);
        handle_with(&self.receiver, &req, async |event: &Event<'_>| {
            let change = MirrorChange::from_event(event)?;
            self.store.commit(event, &change, lease).await
        })
        .await
    }
}
