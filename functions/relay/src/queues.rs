//! The SQS calls of the relay: hold a failed message back (its visibility), and move a message
//! that can never succeed to its queue's dead-letter queue at once.

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::types::MessageAttributeValue;
use std::time::Duration;

/// A source queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct QueuePair {
    pub url: String,
    pub dead_letter_url: String,
}

impl QueuePair {
    /// The queue's name, the last segment of its URL (also the last of its ARN).
    fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }
}

/// The queues the relay reads, found by the record's `eventSourceArn`.
pub struct Queues {
    sqs: aws_sdk_sqs::Client,
    pairs: Vec<QueuePair>,
}

impl Queues {
    pub fn new(sqs: aws_sdk_sqs::Client, pairs: Vec<QueuePair>) -> Self {
        Queues { sqs, pairs }
    }

    fn pair_of(&self, record: &SqsMessage) -> Option<&QueuePair> {
        let arn = record.event_source_arn.as_deref()?;
        let name = arn.rsplit(':').next()?;
        self.pairs.iter().find(|p| p.name() == name)
    }

    /// Keeps the message invisible for `delay` (its next try); Lambda returns it to the queue.
    pub async fn hold_back(&self, record: &SqsMessage, delay: Duration) -> Result<(), String> {
        let (Some(pair), Some(receipt)) = (self.pair_of(record), record.receipt_handle.as_deref())
        else {
            return Err("unknown source queue".into());
        };
        self.sqs
            .change_message_visibility()
            .queue_url(&pair.url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| engage_webhooks::sdk_error_kind(&e).to_string())
    }

    /// Sends the message, attributes kept, to the dead-letter queue, then deletes it from the
    /// source. A failure of either leaves it to be tried again (a FIFO DLQ's deduplication id,
    /// the message id, absorbs a second copy).
    pub async fn dead_letter(&self, record: &SqsMessage, reason: &str) -> Result<(), String> {
        let (Some(pair), Some(receipt)) = (self.pair_of(record), record.receipt_handle.as_deref())
        else {
            return Err("unknown source queue".into());
        };
        let mut send = self
            .sqs
            .send_message()
            .queue_url(&pair.dead_letter_url)
            .message_body(record.body.as_deref().unwrap_or_default());
        for (name, value) in &record.message_attributes {
            if let Some(text) = value.string_value.as_deref() {
                send = send.message_attributes(
                    name,
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(text)
                        .build()
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        send = send.message_attributes(
            "relayRefusal",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(reason)
                .build()
                .map_err(|e| e.to_string())?,
        );
        if let Some(group) = record.attributes.get("MessageGroupId") {
            send = send
                .message_group_id(group)
                .message_deduplication_id(record.message_id.as_deref().unwrap_or_default());
        }
        send.send()
            .await
            .map_err(|e| engage_webhooks::sdk_error_kind(&e).to_string())?;
        self.sqs
            .delete_message()
            .queue_url(&pair.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| engage_webhooks::sdk_error_kind(&e).to_string())
    }
}
