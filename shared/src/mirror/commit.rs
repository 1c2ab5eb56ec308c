//! The event's dedup record and its mirror change, committed together in one
//! `TransactWriteItems`: a first delivery costs one round trip, and no crash can leave one
//! without the other.
//!
//! Item 0 is the dedup record, put `COMPLETED` (the `Put` is the dedup module's:
//! [`DynamoDedup::transact_put`]); item 1 is the change with its ordering condition. When the
//! transaction is cancelled:
//! - item 0 failed its condition: the event is known; its record (returned with `ALL_OLD`)
//!   gives the verdict: `duplicate`, `conflicting_duplicate` or `in_progress`. A record with
//!   this delivery's own token means the transaction had committed and its answer was lost
//!   (the SDK retried it): `processed`;
//! - item 1 failed its condition: the change is stale; the dedup record is written alone
//!   ([`DynamoDedup::put_alone`]) and the answer is `stale`;
//! - a `TransactionConflict`: a concurrent transaction on the same items (contact and consent
//!   events of one contact write the same mirror item). Nothing was written, so the
//!   transaction is retried here ([`ConflictRetry`]: jittered backoff, at most
//!   [`MAX_CONFLICT_RETRIES`] retries, none starting later than [`CONFLICT_RETRY_BUDGET`]
//!   after the first attempt), and only then answered 409 `in_progress`. Leaving it to Svix
//!   would put the event 5 s or more behind newer ones.
//!
//! A write DynamoDB refuses because the contact's item would pass 400 KB (a
//! `ValidationException`, or a `ValidationError` cancellation reason, about the item's size)
//! can never succeed on a retry: it is 400 `invalid_payload`, with nothing written (see
//! `size`). Anything else is 503 `storage_unavailable`. Real DynamoDB answers the SDK's retry of a
//! committed transaction (same `ClientRequestToken`) with success; a server that runs it
//! again instead finds the record with this delivery's token (above).
//!
//! Worst case: conflicts until the budget (1.5 s), one last attempt (3 s, the SDK's operation
//! timeout) and the stale record's put or a record read (3 s): 7.5 s, within Svix's 15 s.

use super::change::MirrorChange;
use crate::aws::sdk_error_kind;
use crate::dedup::{CompletedRecord, DynamoDedup, EventIdentity, StoreError};
use crate::error::WebhookError;
use crate::event::Event;
use crate::outcome::Outcome;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, TransactWriteItem};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const CONFLICT: &str = "TransactionConflict";
const VALIDATION: &str = "ValidationError";
const VALIDATION_EXCEPTION: &str = "ValidationException";
/// DynamoDB's messages for an item past 400 KB: "Item size has exceeded the maximum allowed
/// size" and "Item size to update has exceeded the maximum allowed size".
const ITEM_TOO_LARGE: &str = "maximum allowed size";

/// Retries of a conflicted transaction, at most.
pub const MAX_CONFLICT_RETRIES: u32 = 4;
/// No retry of a conflicted transaction starts later than this after the first attempt.
pub const CONFLICT_RETRY_BUDGET: Duration = Duration::from_millis(1500);
/// The first pause; each next one doubles, up to [`MAX_CONFLICT_PAUSE`].
const FIRST_CONFLICT_PAUSE: Duration = Duration::from_millis(40);
const MAX_CONFLICT_PAUSE: Duration = Duration::from_millis(320);

type Item = HashMap<String, AttributeValue>;

/// The dedup table and the contacts table, written through one client.
#[derive(Debug, Clone)]
pub struct MirrorStore {
    dedup: DynamoDedup,
    contacts_table: String,
}

impl MirrorStore {
    pub fn new(dedup: DynamoDedup, contacts_table: String) -> Self {
        MirrorStore {
            dedup,
            contacts_table,
        }
    }

    pub fn contacts_table(&self) -> &str {
        &self.contacts_table
    }

    /// Applies `change` for `event` exactly once, in order.
    pub async fn commit(
        &self,
        event: &Event<'_>,
        change: &MirrorChange,
        lease_until_millis: i64,
    ) -> Result<Outcome, WebhookError> {
        let record = self
            .dedup
            .completed_record(&EventIdentity::of(event), lease_until_millis);
        let write = change
            .write(&self.contacts_table)
            .map_err(|_| WebhookError::StorageUnavailable)?;
        let put = self
            .dedup
            .transact_put(&record)
            .map_err(|e| storage_failed(&event.id, "transaction", e))?;
        let mut retry = ConflictRetry::start();
        loop {
            let reasons = match self.transact(&put, &write).await {
                Ok(()) => return Ok(Outcome::Processed),
                Err(Transacted::Cancelled(reasons)) => reasons,
                Err(Transacted::TooLarge) => return Err(too_large(event)),
                Err(Transacted::Failed(kind)) => {
                    return Err(storage_failed(&event.id, "transaction", kind))
                }
            };
            if classify(&reasons) == Cancelled::Conflict {
                if let Some(pause) = retry.next_pause() {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                tracing::warn!(event_id = %event.id, retries = retry.retries(), "mirror transaction still conflicting");
                return Err(WebhookError::InProgress);
            }
            return self.cancelled(event, &reasons, &record).await;
        }
    }

    /// One attempt at the transaction (the SDK's own retries included).
    async fn transact(
        &self,
        put: &TransactWriteItem,
        write: &TransactWriteItem,
    ) -> Result<(), Transacted> {
        let result = self
            .dedup
            .client()
            .transact_write_items()
            .transact_items(put.clone())
            .transact_items(write.clone())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if let SdkError::ServiceError(se) = &err {
            if let TransactWriteItemsError::TransactionCanceledException(cancelled) = se.err() {
                return Err(Transacted::Cancelled(
                    cancelled.cancellation_reasons().to_vec(),
                ));
            }
            if se.err().code() == Some(VALIDATION_EXCEPTION)
                && se.err().message().is_some_and(is_size_message)
            {
                return Err(Transacted::TooLarge);
            }
        }
        Err(Transacted::Failed(StoreError(
            sdk_error_kind(&err).to_string(),
        )))
    }

    async fn cancelled(
        &self,
        event: &Event<'_>,
        reasons: &[CancellationReason],
        record: &CompletedRecord,
    ) -> Result<Outcome, WebhookError> {
        match classify(reasons) {
            // DynamoDB returns the record (ALL_OLD); it is read back if an implementation doesn't.
            Cancelled::Known(returned) => {
                let existing = self
                    .dedup
                    .found(record, returned)
                    .await
                    .map_err(|e| storage_failed(&event.id, "record read", e))?;
                record.verdict(&existing, Outcome::Processed)
            }
            Cancelled::Conflict => Err(WebhookError::InProgress),
            Cancelled::TooLarge => Err(too_large(event)),
            Cancelled::Stale => self.record_stale(event, record).await,
            Cancelled::Failed => {
                let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
                tracing::error!(event_id = %event.id, reasons = ?codes, "mirror transaction cancelled");
                Err(WebhookError::StorageUnavailable)
            }
        }
    }

    /// A stale change is not applied, but its event is recorded as done.
    async fn record_stale(
        &self,
        event: &Event<'_>,
        record: &CompletedRecord,
    ) -> Result<Outcome, WebhookError> {
        match self.dedup.put_alone(record).await {
            Ok(None) => Ok(Outcome::Stale),
            // Ours (an earlier attempt's answer was lost), or a concurrent delivery of the
            // same event recorded it first.
            Ok(Some(existing)) => record.verdict(&existing, Outcome::Stale),
            // A concurrent delivery's transaction holds the record right now.
            Err(e) if e.is_transaction_conflict() => Err(WebhookError::InProgress),
            Err(e) => Err(storage_failed(&event.id, "stale record", e)),
        }
    }
}

/// How one attempt at the transaction ended, when it did not commit.
enum Transacted {
    Cancelled(Vec<CancellationReason>),
    /// DynamoDB refused the write for the item's size.
    TooLarge,
    Failed(StoreError),
}

/// The pauses between attempts at a conflicted transaction: 40 ms doubling up to 320 ms, each
/// jittered to between half and all of it (so that the transactions in conflict do not meet
/// again), at most [`MAX_CONFLICT_RETRIES`], and none that would start an attempt later than
/// [`CONFLICT_RETRY_BUDGET`] after the first.
#[derive(Debug)]
pub struct ConflictRetry {
    started: Instant,
    retries: u32,
}

impl ConflictRetry {
    pub fn start() -> Self {
        ConflictRetry {
            started: Instant::now(),
            retries: 0,
        }
    }

    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The pause before the next attempt, or `None` when retrying is over.
    pub fn next_pause(&mut self) -> Option<Duration> {
        if self.retries >= MAX_CONFLICT_RETRIES {
            return None;
        }
        let ceiling = FIRST_CONFLICT_PAUSE
            .saturating_mul(1 << self.retries)
            .min(MAX_CONFLICT_PAUSE);
        let pause = ceiling / 2 + (ceiling / 2).mul_f64(rand::random::<f64>());
        if self.started.elapsed() + pause > CONFLICT_RETRY_BUDGET {
            return None;
        }
        self.retries += 1;
        Some(pause)
    }
}

/// Why the transaction (item 0: dedup record, item 1: mirror change) was cancelled.
#[derive(Debug, PartialEq)]
enum Cancelled<'a> {
    /// The event has a record already (returned, if the implementation returns it).
    Known(Option<&'a Item>),
    /// A concurrent transaction wrote the same items.
    Conflict,
    /// The change is older than what the mirror holds (or the contact is deleted).
    Stale,
    /// The change would take the contact's item past DynamoDB's 400 KB.
    TooLarge,
    /// Anything else (throttling, validation, a missing table...).
    Failed,
}

/// A known event beats a conflict, which beats a stale change: the dedup verdict is final,
/// and a conflict may hide a record or a newer change, so only a retry can tell.
fn classify(reasons: &[CancellationReason]) -> Cancelled<'_> {
    let code = |i: usize| reasons.get(i).and_then(CancellationReason::code);
    if code(0) == Some(CONDITION_FAILED) {
        return Cancelled::Known(reasons[0].item());
    }
    if code(0) == Some(CONFLICT) || code(1) == Some(CONFLICT) {
        return Cancelled::Conflict;
    }
    if code(1) == Some(CONDITION_FAILED) {
        return Cancelled::Stale;
    }
    let message = reasons.get(1).and_then(CancellationReason::message);
    if code(1) == Some(VALIDATION) && message.is_some_and(is_size_message) {
        return Cancelled::TooLarge;
    }
    Cancelled::Failed
}

fn is_size_message(message: &str) -> bool {
    message.contains(ITEM_TOO_LARGE)
}

/// The contact's item cannot take this change: no retry can fix it. The event is not
/// recorded (nothing of the transaction was written), so a resend after the item shrinks
/// applies it.
fn too_large(event: &Event<'_>) -> WebhookError {
    tracing::warn!(event_id = %event.id, "mirror item would exceed DynamoDB's item size");
    WebhookError::InvalidPayload(format!(
        "{} payload: the contact's mirror item would exceed DynamoDB's 400 KB",
        event.event_type
    ))
}

/// Logs a failed DynamoDB call by error code or kind only (see [`sdk_error_kind`]) and
/// answers 503.
fn storage_failed(event_id: &str, call: &'static str, err: StoreError) -> WebhookError {
    tracing::error!(event_id, call, kind = %err.0, "mirror storage failed");
    WebhookError::StorageUnavailable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    #[test]
    fn conflict_retries_are_jittered_doubling_and_bounded() {
        let mut retry = ConflictRetry::start();
        let mut total = Duration::ZERO;
        let mut ceilings = vec![];
        while let Some(pause) = retry.next_pause() {
            total += pause;
            ceilings.push(pause);
        }
        assert_eq!(retry.retries(), MAX_CONFLICT_RETRIES);
        for (pause, ceiling_ms) in ceilings.iter().zip([40u64, 80, 160, 320]) {
            let ceiling = Duration::from_millis(ceiling_ms);
            assert!(*pause >= ceiling / 2 && *pause <= ceiling, "{pause:?}");
        }
        assert!(total <= Duration::from_millis(600), "{total:?}");
        assert_eq!(retry.next_pause(), None, "over stays over");

        let mut late = ConflictRetry {
            started: Instant::now() - CONFLICT_RETRY_BUDGET,
            retries: 0,
        };
        assert_eq!(late.next_pause(), None, "no retry starts past the budget");
    }

    #[test]
    fn cancellations_are_told_apart_by_item_and_code() {
        let record = HashMap::from([("any".to_string(), AttributeValue::S("record".into()))]);
        let known = CancellationReason::builder()
            .code(CONDITION_FAILED)
            .set_item(Some(record.clone()))
            .build();
        let none = || reason("None");
        assert_eq!(
            classify(&[known.clone(), none()]),
            Cancelled::Known(Some(&record))
        );
        assert_eq!(
            classify(&[known, reason(CONDITION_FAILED)]),
            Cancelled::Known(Some(&record)),
            "a known event is a duplicate, not a stale change"
        );
        assert_eq!(
            classify(&[reason(CONDITION_FAILED), none()]),
            Cancelled::Known(None)
        );
        assert_eq!(
            classify(&[none(), reason(CONDITION_FAILED)]),
            Cancelled::Stale
        );
        assert_eq!(classify(&[reason(CONFLICT), none()]), Cancelled::Conflict);
        assert_eq!(classify(&[none(), reason(CONFLICT)]), Cancelled::Conflict);
        assert_eq!(
            classify(&[reason(CONFLICT), reason(CONDITION_FAILED)]),
            Cancelled::Conflict
        );
        assert_eq!(
            classify(&[none(), reason("ValidationError")]),
            Cancelled::Failed
        );
        let too_large = CancellationReason::builder()
            .code("ValidationError")
            .message("Item size to update has exceeded the maximum allowed size")
            .build();
        assert_eq!(classify(&[none(), too_large]), Cancelled::TooLarge);
        assert_eq!(classify(&[reason("ThrottlingError")]), Cancelled::Failed);
        assert_eq!(classify(&[]), Cancelled::Failed);
    }
}
