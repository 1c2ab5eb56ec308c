//! The two kinds of function under test, each on a [`TestApp`] of its own: fan-out functions
//! (loyalty, promotion) with a queue, mirror functions (contact, consent) with a contacts
//! table. Every function a rig builds has its own SDK clients, as a separate Lambda instance
//! would have. A rig dereferences to its [`TestApp`] (`rig.sdk`, `rig.dedup(..)`).

use crate::app::TestApp;
use crate::fault_endpoints::serialized_local_aws;
use crate::fixtures::receiver;
use crate::local_aws::{get_item, messages, new_queue, new_table, CallCounter, Item};
use crate::requests::{deliver, Shape};
use engage_webhooks::{Family, FanOutFunction, MirrorFunction, PayloadCipher, SqsPublisher};
use std::ops::Deref;

/// A dedup table and a queue of their own on the local server, and fan-out functions of
/// `family` wired to them.
pub struct FanOutRig {
    pub app: TestApp,
    pub family: Family,
    pub queue_url: String,
    /// The dedup table's name (the same as `dedup_table`).
    pub table: String,
}

impl Deref for FanOutRig {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl FanOutRig {
    pub async fn new(family: Family, fifo: bool) -> Self {
        let app = TestApp::spawn().await;
        let queue_url = new_queue(&app.sdk, fifo).await;
        FanOutRig {
            table: app.dedup_table.clone(),
            app,
            family,
            queue_url,
        }
    }

    /// A function with fresh clients; `cipher` gives it the test payload key.
    pub fn function(&self, cipher: Option<PayloadCipher>) -> FanOutFunction {
        self.function_with(
            self.dynamodb(),
            aws_sdk_sqs::Client::new(&self.sdk),
            &self.queue_url,
            cipher,
        )
    }

    /// A function with the given clients and queue (a broken one, a counted one, ...).
    pub fn function_with(
        &self,
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        queue_url: &str,
        cipher: Option<PayloadCipher>,
    ) -> FanOutFunction {
        FanOutFunction::new(
            receiver(self.family, cipher),
            self.dedup(dynamodb),
            SqsPublisher::new(sqs, queue_url.to_string()),
        )
    }

    /// A function with a fresh DynamoDB client whose operations are counted.
    pub fn counted_function(&self) -> (FanOutFunction, CallCounter) {
        let (dynamodb, calls) = self.counted_dynamodb();
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        (
            self.function_with(dynamodb, sqs, &self.queue_url, None),
            calls,
        )
    }

    /// Posts the plaintext `envelope`, signed, to a fresh function (as [`MirrorRig::deliver`]).
    pub async fn deliver(&self, envelope: &str) -> (u16, String) {
        deliver(&self.function(None), Shape::FunctionUrl, envelope).await
    }

    /// Every message now in the queue.
    pub async fn messages(&self) -> Vec<aws_sdk_sqs::types::Message> {
        messages(&self.sdk, &self.queue_url).await
    }

    /// The dedup record stored under `key` (tenant#eventId), if any.
    pub async fn record(&self, key: &str) -> Option<Item> {
        self.dedup_record(key).await
    }
}

/// A dedup table and a contacts table of their own on the local server, and mirror functions
/// (contact or consent) wired to them.
pub struct MirrorRig {
    pub app: TestApp,
    pub contacts_table: String,
}

impl Deref for MirrorRig {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl MirrorRig {
    pub async fn new() -> Self {
        let app = TestApp::spawn().await;
        let contacts_table = new_table(&app.sdk, "contactId").await;
        MirrorRig {
            app,
            contacts_table,
        }
    }

    /// A function of `family` with fresh clients; `cipher` gives it the test payload key.
    pub fn function(&self, family: Family, cipher: Option<PayloadCipher>) -> MirrorFunction {
        self.function_with(family, self.dynamodb(), &self.contacts_table, cipher)
    }

    /// A function of `family` with the given client and contacts table.
    pub fn function_with(
        &self,
        family: Family,
        dynamodb: aws_sdk_dynamodb::Client,
        contacts_table: &str,
        cipher: Option<PayloadCipher>,
    ) -> MirrorFunction {
        MirrorFunction::new(
            receiver(family, cipher),
            self.dedup(dynamodb),
            contacts_table.to_string(),
        )
    }

    /// A function of `family` with a fresh DynamoDB client whose operations are counted.
    pub fn counted_function(&self, family: Family) -> (MirrorFunction, CallCounter) {
        let (dynamodb, calls) = self.counted_dynamodb();
        let function = self.function_with(family, dynamodb, &self.contacts_table, None);
        (function, calls)
    }

    /// `count` functions of `family`, each with its own DynamoDB client (separate Lambda
    /// instances), reaching the local server through one
    /// [`serializing_endpoint`](crate::serializing_endpoint), so that races see DynamoDB's
    /// transaction isolation, which moto's server lacks.
    pub async fn racing_functions(&self, family: Family, count: usize) -> Vec<MirrorFunction> {
        let serial = serialized_local_aws().await;
        (0..count)
            .map(|_| {
                let own_client = aws_sdk_dynamodb::Client::new(&serial);
                self.function_with(family, own_client, &self.contacts_table, None)
            })
            .collect()
    }

    /// Posts the plaintext `envelope`, signed, to a fresh function of `family`.
    pub async fn deliver(&self, family: Family, envelope: &str) -> (u16, String) {
        deliver(&self.function(family, None), Shape::FunctionUrl, envelope).await
    }

    /// The sample tenant's mirror item of `contact_id`, read consistently.
    pub async fn contact(&self, contact_id: &str) -> Option<Item> {
        self.tenant_contact(crate::SAMPLE_TENANT, contact_id).await
    }

    /// `tenant`'s mirror item of `contact_id`, read consistently (key `<tenant>#<contactId>`).
    pub async fn tenant_contact(&self, tenant: &str, contact_id: &str) -> Option<Item> {
        let key = engage_webhooks::mirror_key(tenant, contact_id);
        get_item(&self.sdk, &self.contacts_table, "contactId", &key).await
    }

    /// The dedup record of the sample tenant's event `event_id`.
    pub async fn record(&self, event_id: &str) -> Option<Item> {
        self.sample_record(event_id).await
    }
}
