//! A mirror function (contact, consent): verify, decrypt, validate, then commit the change and
//! its dedup record together.

use super::change::MirrorChange;
use super::commit::MirrorStore;
use crate::answer::handle_with;
use crate::clock::lease_until_millis;
use crate::cold_start::ColdStart;
use crate::config::{ConfigError, Settings, CONTACTS_TABLE};
use crate::dedup::DynamoDedup;
use crate::event::{Event, Family};
use crate::function::WebhookFunction;
use crate::pipeline::Receiver;
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
        MirrorFunction::from_settings(family, &Settings::from_env()).await
    }

    /// [`MirrorFunction::from_env`] with the settings read from `settings` (tests give a map).
    pub async fn from_settings<F: Fn(&str) -> Option<String>>(
        family: Family,
        settings: &Settings<F>,
    ) -> Result<Self, ConfigError> {
        let contacts_table = settings.required(CONTACTS_TABLE)?;
        let base = ColdStart::load(family, settings).await?;
        Ok(MirrorFunction::new(
            base.receiver,
            base.dedup,
            contacts_table,
        ))
    }
}

impl WebhookFunction for MirrorFunction {
    async fn handle(&self, req: Request) -> Response<Body> {
        let lease = lease_until_millis(&req);
        handle_with(&self.receiver, &req, async |event: &Event<'_>| {
            let change = MirrorChange::from_event(event)?;
            self.store.commit(event, &change, lease).await
        })
        .await
    }

    fn family(&self) -> Family {
        self.receiver.family()
    }
}
