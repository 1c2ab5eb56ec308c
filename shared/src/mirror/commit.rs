//! The event's dedup record and its mirror change, committed together in one
//! `TransactWriteItems`: a first delivery costs one round trip, and no crash can leave one
//! without the other.
//!
//! Item 0 is the dedup record, put `COMPLETED` under [`TAKEABLE`]; item 1 is the change with
//! its ordering condition. When the transaction is cancelled:
//! - item 0 failed its condition: the event is known; its record (returned with `ALL_OLD`)
//!   gives the verdict: `duplicate`, `conflicting_duplicate` or `in_progress`;
//! - item 1 failed its condition: the change is stale; the dedup record is written alone
//!   (the same conditional put) and the answer is `stale`;
//! - a `TransactionConflict`: a concurrent write to the same items; 409 `in_progress`, and
//!   Svix's retry settles it.
//!
//! Anything else is 503 `storage_unavailable`. The SDK gives the transaction an idempotency
//! token, so its own retry of a commit whose answer was lost does not apply it twice.

use super::change::MirrorChange;
use crate::dedup::{new_token, DynamoDedup, EventIdentity, ExistingRecord, COMPLETED, TAKEABLE};
use crate::envelope::Event;
use crate::error::{Outcome, WebhookError};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use std::collections::HashMap;

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const CONFLICT: &str = "TransactionConflict";

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
        let identity = EventIdentity::of(event);
        let record =
            self.dedup
                .record(&identity.claim(lease_until_millis), COMPLETED, &new_token());
        let write = change
            .write(&self.contacts_table)
            .map_err(|_| WebhookError::StorageUnavailable)?;
        let result = self
            .dedup
            .client()
            .transact_write_items()
            .transact_items(self.record_put(record.clone())?)
            .transact_items(write)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Outcome::Processed),
            Err(e) => e,
        };
        if let SdkError::ServiceError(se) = &err {
            if let TransactWriteItemsError::TransactionCanceledException(cancelled) = se.err() {
                let reasons = cancelled.cancellation_reasons();
                return self
                    .cancelled(event, reasons, record, &identity.key, &identity.fingerprint)
                    .await;
            }
        }
        Err(unavailable(&event.id, "transaction", &err))
    }

    async fn cancelled(
        &self,
        event: &Event<'_>,
        reasons: &[CancellationReason],
        record: Item,
        key: &str,
        fingerprint: &str,
    ) -> Result<Outcome, WebhookError> {
        match classify(reasons) {
            Cancelled::Known(Some(item)) => ExistingRecord::from_item(item).verdict(fingerprint),
            // DynamoDB returns the record (ALL_OLD); read it if an implementation doesn't.
            Cancelled::Known(None) => self
                .read_record(&event.id, key, fingerprint)
                .await?
                .verdict(fingerprint),
            Cancelled::Conflict => Err(WebhookError::InProgress),
            Cancelled::Stale => self.record_stale(event, record, fingerprint).await,
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
        record: Item,
        fingerprint: &str,
    ) -> Result<Outcome, WebhookError> {
        let result = self.dedup.put_if_takeable(record).send().await;
        let err = match result {
            Ok(_) => return Ok(Outcome::Stale),
            Err(e) => e,
        };
        if let SdkError::ServiceError(se) = &err {
            if let PutItemError::ConditionalCheckFailedException(failed) = se.err() {
                // A concurrent delivery of the same event recorded it first.
                return existing_or_vanished(failed.item(), fingerprint).verdict(fingerprint);
            }
        }
        Err(unavailable(&event.id, "stale record", &err))
    }

    async fn read_record(
        &self,
        event_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<ExistingRecord, WebhookError> {
        let out = self
            .dedup
            .client()
            .get_item()
            .table_name(self.dedup.table())
            .key("pk", AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(event_id, "record read", &e))?;
        Ok(existing_or_vanished(out.item(), fingerprint))
    }

    fn record_put(&self, record: Item) -> Result<TransactWriteItem, WebhookError> {
        let put = Put::builder()
            .table_name(self.dedup.table())
            .set_item(Some(record))
            .condition_expression(TAKEABLE)
            .set_expression_attribute_names(Some(DynamoDedup::takeable_names()))
            .set_expression_attribute_values(Some(DynamoDedup::takeable_values()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|_| WebhookError::StorageUnavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
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
    Cancelled::Failed
}

/// The record found, or, when it vanished meanwhile (expired and swept), one that makes the
/// delivery answer `in_progress` so that Svix retries it.
fn existing_or_vanished(item: Option<&Item>, fingerprint: &str) -> ExistingRecord {
    item.map(ExistingRecord::from_item)
        .unwrap_or(ExistingRecord {
            completed: false,
            fingerprint: Some(fingerprint.to_string()),
        })
}

/// Logs a failed DynamoDB call by error code or kind only (a service message could name
/// attributes of the payload), and answers 503.
fn unavailable<E, R>(event_id: &str, call: &'static str, err: &SdkError<E, R>) -> WebhookError
where
    E: ProvideErrorMetadata,
{
    let kind = match err {
        SdkError::ServiceError(se) => se.err().code().unwrap_or("unknown service error"),
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ConstructionFailure(_) => "request construction",
        _ => "other",
    };
    tracing::error!(event_id, call, kind, "mirror storage failed");
    WebhookError::StorageUnavailable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    #[test]
    fn cancellations_are_told_apart_by_item_and_code() {
        let record = HashMap::from([("state".to_string(), AttributeValue::S(COMPLETED.into()))]);
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
        assert_eq!(classify(&[reason("ThrottlingError")]), Cancelled::Failed);
        assert_eq!(classify(&[]), Cancelled::Failed);
    }

    #[test]
    fn a_vanished_record_makes_the_delivery_retry() {
        assert_eq!(
            existing_or_vanished(None, "f").verdict("f"),
            Err(WebhookError::InProgress)
        );
    }
}
