//! Where fan-out messages go: the [`QueuePublisher`] port and its SQS adapter.

use super::message::{QueueMessage, ATTRIBUTE_TYPE};
use crate::aws::sdk_error_kind;
use crate::tenant_key::fifo_id;
use aws_sdk_sqs::types::MessageAttributeValue;
use std::future::Future;

/// A failed send, named by its error code or kind only ([`sdk_error_kind`]).
#[derive(Debug, thiserror::Error)]
#[error("the queue failed: {0}")]
pub struct QueueError(pub String);

/// Where fan-out messages go. One real implementation: [`SqsPublisher`].
pub trait QueuePublisher: Send + Sync {
    fn publish(
        &self,
        message: &QueueMessage,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

#[derive(Debug, Clone)]
pub struct SqsPublisher {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    fifo: bool,
}

impl SqsPublisher {
    /// A queue whose URL ends in `.fifo` gets per-contact ordering and SQS-side dedup ids,
    /// both scoped to the tenant ([`fifo_id`]).
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        let fifo = queue_url.ends_with(".fifo");
        SqsPublisher {
            // Its requests count towards the delivery's `AwsCalls` (crate::aws_calls).
            client: crate::aws_calls::counted_sqs(client),
            queue_url,
            fifo,
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.fifo
    }
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(ATTRIBUTE_TYPE)
        .string_value(value)
        .build()
        .expect("data type is set")
}

impl QueuePublisher for SqsPublisher {
    async fn publish(&self, m: &QueueMessage) -> Result<(), QueueError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&m.body);
        for (name, value) in m.attributes() {
            send = send.message_attributes(name, string_attribute(value));
        }
        if self.fifo {
            // SQS keeps a deduplication id for 5 minutes only: the DynamoDB record remains
            // the real guard; this one absorbs a resend within that window (the SDK's retry
            // of a send whose answer was lost, too). Both ids are the tenant's: two tenants'
            // events with one id are two messages.
            let group = m.contact_id.as_deref().unwrap_or(&m.event_id);
            send = send
                .message_group_id(fifo_id(&m.tenant, group))
                .message_deduplication_id(fifo_id(&m.tenant, &m.event_id));
        }
        send.send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError(sdk_error_kind(&e).to_string()))
    }
}
