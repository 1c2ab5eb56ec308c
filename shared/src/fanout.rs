//! Fan-out of loyalty and promotion events to SQS, exactly once per event id.
//!
//! The message body is the decrypted event `{eventId, eventType, tenant, payload}` with the
//! payload's JSON text copied verbatim (numbers keep Engage's digits; unknown fields stay).

use crate::dedup::{ClaimResult, DedupStore, EventIdentity};
use crate::envelope::Event;
use crate::error::{Outcome, WebhookError};
use aws_sdk_sqs::types::MessageAttributeValue;
use serde::Serialize;
use serde_json::value::RawValue;
use std::future::Future;

/// One queue message, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    pub event_id: String,
    pub event_type: String,
    pub tenant: String,
    pub contact_id: Option<String>,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    #[serde(rename = "eventId")]
    event_id: &'a str,
    #[serde(rename = "eventType")]
    event_type: &'a str,
    tenant: &'a str,
    payload: &'a RawValue,
}

impl QueueMessage {
    pub fn from_event(event: &Event<'_>, contact_id: Option<&str>) -> Self {
        let body = serde_json::to_string(&MessageBody {
            event_id: &event.id,
            event_type: event.event_type.as_str(),
            tenant: &event.tenant,
            payload: &event.payload,
        })
        .expect("strings and already-validated raw JSON always serialize");
        QueueMessage {
            body,
            event_id: event.id.clone(),
            event_type: event.event_type.as_str().into(),
            tenant: event.tenant.clone(),
            contact_id: contact_id.map(str::to_string),
        }
    }
}

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
    /// A queue whose URL ends in `.fifo` gets per-contact ordering and SQS-side dedup ids.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        let fifo = queue_url.ends_with(".fifo");
        SqsPublisher {
            client,
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
        .data_type("String")
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
            .message_body(&m.body)
            .message_attributes("eventType", string_attribute(&m.event_type))
            .message_attributes("tenant", string_attribute(&m.tenant));
        if let Some(contact) = &m.contact_id {
            send = send.message_attributes("contactId", string_attribute(contact));
        }
        if self.fifo {
            // SQS keeps a deduplication id for 5 minutes only: the DynamoDB record remains
            // the real guard; this one just absorbs a resend within that window.
            send = send
                .message_group_id(m.contact_id.as_deref().unwrap_or(&m.event_id))
                .message_deduplication_id(&m.event_id);
        }
        send.send()
            .await
            .map(|_| ())
            .map_err(|e| QueueError(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))
    }
}

/// Claims the event, sends its message, and completes the claim; on a send failure the
/// claim is released and the answer is 503, so Svix's retry sends it.
///
/// If marking the record completed fails after the message went out, the answer is still
/// `processed`: the message exists, and a 5xx would only make Svix resend it once the claim's
/// lease runs out. Consumers are idempotent on `eventId` for that rare case (see README).
pub async fn send_once<S: DedupStore, Q: QueuePublisher>(
    store: &S,
    queue: &Q,
    event: &Event<'_>,
    contact_id: Option<&str>,
    lease_until_millis: i64,
) -> Result<Outcome, WebhookError> {
    let identity = EventIdentity::of(event);
    let key = &identity.key;
    let token = match store.claim(&identity.claim(lease_until_millis)).await? {
        ClaimResult::Claimed(token) => token,
        ClaimResult::Exists(existing) => return existing.verdict(&identity.fingerprint),
    };
    // Built only once the claim is ours: a duplicate never pays for the body copy.
    let message = QueueMessage::from_event(event, contact_id);
    match queue.publish(&message).await {
        Ok(()) => {
            if let Err(e) = store.complete(key, &token).await {
                tracing::error!(event_id = %event.id, error = %e, "message sent but the dedup record was not completed");
            }
            Ok(Outcome::Processed)
        }
        Err(e) => {
            tracing::error!(event_id = %event.id, error = %e, "queue send failed");
            if let Err(e) = store.release(key, &token).await {
                tracing::error!(event_id = %event.id, error = %e, "claim not released; it expires with its lease");
            }
            Err(WebhookError::QueueUnavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{Claim, ClaimToken, ExistingRecord, StoreError};
    use crate::event::EventType;
    use std::borrow::Cow;
    use std::sync::Mutex;

    fn event(payload: &str) -> Event<'static> {
        Event {
            id: "ev-1".into(),
            event_type: EventType::RewardVoucherCreated,
            tenant: "shop".into(),
            payload: Cow::Owned(RawValue::from_string(payload.into()).unwrap()),
            signed_at: None,
        }
    }

    #[test]
    fn the_body_carries_the_payload_verbatim() {
        let m = QueueMessage::from_event(
            &event(r#"{"Amount":100.10,"ContactId":"c","Extra":{"n":1e3}}"#),
            Some("c"),
        );
        assert_eq!(
            m.body,
            r#"{"eventId":"ev-1","eventType":"reward.voucher.created","tenant":"shop","payload":{"Amount":100.10,"ContactId":"c","Extra":{"n":1e3}}}"#
        );
        assert_eq!(m.contact_id.as_deref(), Some("c"));
    }

    /// A trait-level fake, only to pin down the order of calls in `send_once`; the real
    /// behaviour is proven against DynamoDB and SQS wire servers in the functions' tests.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<&'static str>>,
        fail_send: bool,
        existing: Option<ExistingRecord>,
    }

    impl DedupStore for Recorder {
        async fn claim(&self, _: &Claim<'_>) -> Result<ClaimResult, StoreError> {
            self.calls.lock().unwrap().push("claim");
            Ok(match &self.existing {
                Some(e) => ClaimResult::Exists(e.clone()),
                None => ClaimResult::Claimed(ClaimToken("t".into())),
            })
        }
        async fn complete(&self, _: &str, _: &ClaimToken) -> Result<(), StoreError> {
            self.calls.lock().unwrap().push("complete");
            Ok(())
        }
        async fn release(&self, _: &str, _: &ClaimToken) -> Result<(), StoreError> {
            self.calls.lock().unwrap().push("release");
            Ok(())
        }
    }

    impl QueuePublisher for Recorder {
        async fn publish(&self, _: &QueueMessage) -> Result<(), QueueError> {
            self.calls.lock().unwrap().push("send");
            if self.fail_send {
                Err(QueueError("down".into()))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn claim_send_complete_or_release() {
        let ok = Recorder::default();
        assert_eq!(
            send_once(&ok, &ok, &event("{}"), None, 0).await,
            Ok(Outcome::Processed)
        );
        assert_eq!(*ok.calls.lock().unwrap(), ["claim", "send", "complete"]);

        let failing = Recorder {
            fail_send: true,
            ..Default::default()
        };
        assert_eq!(
            send_once(&failing, &failing, &event("{}"), None, 0).await,
            Err(WebhookError::QueueUnavailable)
        );
        assert_eq!(*failing.calls.lock().unwrap(), ["claim", "send", "release"]);

        let dup = Recorder {
            existing: Some(ExistingRecord {
                completed: true,
                fingerprint: Some(event("{}").fingerprint()),
            }),
            ..Default::default()
        };
        assert_eq!(
            send_once(&dup, &dup, &event("{}"), None, 0).await,
            Ok(Outcome::Duplicate)
        );
        assert_eq!(*dup.calls.lock().unwrap(), ["claim"]);
    }
}
