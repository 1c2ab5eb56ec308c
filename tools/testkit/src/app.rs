//! [`TestApp`]: one test's own slice of the local AWS server, in the way zero2prod's `TestApp`
//! is one test's own running application. The rigs build on it.

use crate::local_aws::{counted_dynamodb, get_item, local_aws, new_table, CallCounter, Item};
use engage_webhooks::{DynamoDedup, DEFAULT_DEDUP_TTL};

/// The tenant of every sample envelope: dedup keys are `<tenant>#<event id>`.
pub const SAMPLE_TENANT: &str = "myTenantName";

/// The SDK configuration for the local server and a fresh dedup table of the test's own, so
/// that tests run in parallel without seeing each other's records. [`FanOutRig`] and
/// [`MirrorRig`] add what their kind of function writes to, and build the functions.
///
/// [`FanOutRig`]: crate::FanOutRig
/// [`MirrorRig`]: crate::MirrorRig
pub struct TestApp {
    pub sdk: aws_config::SdkConfig,
    pub dedup_table: String,
}

impl TestApp {
    /// Connects to the local server (failing loudly when it is not there) and creates the
    /// dedup table, shaped like template.yaml's.
    pub async fn spawn() -> TestApp {
        let sdk = local_aws().await;
        let dedup_table = new_table(&sdk, "pk").await;
        TestApp { sdk, dedup_table }
    }

    /// A fresh DynamoDB client, as a Lambda instance of its own has.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// A fresh DynamoDB client whose operations are counted.
    pub fn counted_dynamodb(&self) -> (aws_sdk_dynamodb::Client, CallCounter) {
        counted_dynamodb(&self.sdk)
    }

    /// The dedup store on this test's table, reached through `client`.
    pub fn dedup(&self, client: aws_sdk_dynamodb::Client) -> DynamoDedup {
        DynamoDedup::new(client, self.dedup_table.clone(), DEFAULT_DEDUP_TTL)
    }

    /// The dedup record stored under `key` (`<tenant>#<event id>`), if any.
    pub async fn dedup_record(&self, key: &str) -> Option<Item> {
        get_item(&self.sdk, &self.dedup_table, "pk", key).await
    }

    /// The dedup record of the sample tenant's event `event_id`, if any.
    pub async fn sample_record(&self, event_id: &str) -> Option<Item> {
        self.dedup_record(&format!("{SAMPLE_TENANT}#{event_id}"))
            .await
    }
}
