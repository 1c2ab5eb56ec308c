//! The local wire-compatible AWS server that `scripts/local-aws.sh` starts (its address in
//! `AWS_ENDPOINT_URL`): SDK configuration with the production timeouts, fresh uniquely named
//! tables and queues, reading back messages and items, and counting SDK calls.

use crate::fixtures::unique;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A DynamoDB item.
pub type Item = std::collections::HashMap<String, AttributeValue>;

/// The local server's address. Fails loudly when it is not set: these tests never skip.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests through scripts/test.sh, which starts the local DynamoDB/SQS server")
    })
}

/// SDK configuration for the local wire server, with the production timeouts and retries.
/// Fails loudly when the server is not there: these tests never skip.
pub async fn local_aws() -> aws_config::SdkConfig {
    local_aws_at(&endpoint()).await
}

/// The same configuration pointed at another endpoint (a refusing or hanging one).
pub async fn local_aws_at(endpoint: &str) -> aws_config::SdkConfig {
    local_aws_with(endpoint, engage_webhooks::aws_timeouts()).await
}

/// The local configuration at `endpoint` with `timeouts` and the production retries.
pub(crate) async fn local_aws_with(
    endpoint: &str,
    timeouts: aws_config::timeout::TimeoutConfig,
) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-north-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "testkit",
        ))
        .timeout_config(timeouts)
        .retry_config(engage_webhooks::aws_retries())
        .load()
        .await
}

/// Creates a fresh table keyed by `key` (a string hash key, as template.yaml's tables are)
/// and returns its name.
pub async fn new_table(sdk: &aws_config::SdkConfig, key: &str) -> String {
    let name = unique("table");
    let client = aws_sdk_dynamodb::Client::new(sdk);
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("a complete attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("a complete key schema"),
        )
        .send()
        .await
        .expect("create table on the local server");
    name
}

/// Creates a fresh queue (FIFO when `fifo`) and returns its URL.
pub async fn new_queue(sdk: &aws_config::SdkConfig, fifo: bool) -> String {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut create = client.create_queue();
    if fifo {
        create = create
            .queue_name(format!("{}.fifo", unique("queue")))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    } else {
        create = create.queue_name(unique("queue"));
    }
    create
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("a queue URL")
}

/// Every message now in the queue (received, not deleted), with all attributes.
pub async fn messages(sdk: &aws_config::SdkConfig, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut all = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// A message attribute's string value.
pub fn attribute(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .map(str::to_string)
}

/// The item of `table` whose `key` is `value`, read consistently.
pub(crate) async fn get_item(
    sdk: &aws_config::SdkConfig,
    table: &str,
    key: &str,
    value: &str,
) -> Option<Item> {
    aws_sdk_dynamodb::Client::new(sdk)
        .get_item()
        .table_name(table)
        .key(key, AttributeValue::S(value.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get_item")
        .item
}

/// An item's attribute names, sorted.
pub fn attribute_names(item: &Item) -> Vec<String> {
    let mut names: Vec<String> = item.keys().cloned().collect();
    names.sort();
    names
}

/// Counts the SDK operations a client starts (retries of one operation count once), and the
/// requests it puts on the wire (each attempt, as the functions' `AwsCalls` metric counts).
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    operations: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
}

impl CallCounter {
    /// Operations started.
    pub fn count(&self) -> usize {
        self.operations.load(Ordering::SeqCst)
    }

    /// Requests sent, retries included.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.operations.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A DynamoDB client whose operations are counted.
pub fn counted_dynamodb(sdk: &aws_config::SdkConfig) -> (aws_sdk_dynamodb::Client, CallCounter) {
    let counter = CallCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .build();
    (aws_sdk_dynamodb::Client::from_conf(config), counter)
}

/// An SQS client whose operations are counted.
pub fn counted_sqs(sdk: &aws_config::SdkConfig) -> (aws_sdk_sqs::Client, CallCounter) {
    let counter = CallCounter::default();
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .build();
    (aws_sdk_sqs::Client::from_conf(config), counter)
}

/// How many items `table` holds, read consistently. Follows the scan's pages: DynamoDB stops
/// a page at 1 MB, which a bulk load's table passes.
pub async fn item_count(sdk: &aws_config::SdkConfig, table: &str) -> usize {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut count = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        count += page.count as usize;
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return count,
        }
    }
}
