//! Exactly once per event id: claim the dedup record, send, then complete (or release).

use super::message::QueueMessage;
use super::publisher::QueuePublisher;
use crate::dedup::{ClaimResult, DedupStore, EventIdentity};
use crate::error::WebhookError;
use crate::event::Event;
use crate::outcome::Outcome;

/// Claims the event, sends its message, and completes the claim; on a send failure the
/// claim is released and the answer is 503, so Svix's retry sends it.
///
/// If marking the record completed fails after the message went out, the answer is still
/// `processed`: the message exists, and a 5xx would only make Svix resend it once the claim's
/// lease runs out. Consumers are idempotent on `eventId` for that rare case (see docs/queues.md).
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
    use crate::fanout::QueueError;
    use std::sync::Mutex;

    fn event(payload: &str) -> Event<'static> {
        Event::for_test(EventType::RewardVoucherCreated, payload)
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
                claim_token: None,
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
