//! Exactly-once bookkeeping: one DynamoDB record per event (tenant + event id).
//!
//! A record is claimed IN_PROGRESS with a conditional put, then marked COMPLETED once the
//! effect has happened, or deleted (released) when the effect failed, so that Svix's retry can
//! claim it again. A claim held by an invocation that crashed or timed out is takeable once
//! that invocation's deadline (`leaseUntil`) has passed. Records carry a TTL (`expiresAt`),
//! and since DynamoDB deletes expired items only within ~48 h, expiry is also checked in the
//! condition. The conditional put returns the existing record when it fails, so a duplicate
//! costs exactly one DynamoDB call.
//!
//! Every record carries the token of the invocation that wrote it (`claimToken`). When a put
//! took effect but its answer was lost, the SDK's retry finds that record in its own way; its
//! token is this invocation's, so the claim (or the completed record) is ours, not another
//! delivery's.
//!
//! This module is the record's one owner: its shape (attribute names), its [`TAKEABLE`]
//! condition, reading it back, and the "record vanished" fallback. The fan-out uses it through
//! [`DedupStore`] (claim, complete, release); the mirror writes a [`CompletedRecord`] inside
//! its own transaction, with the `Put` built here ([`DynamoDedup::transact_put`]).

use crate::aws::sdk_error_kind;
use crate::clock::now_millis;
use crate::error::WebhookError;
use crate::event::Event;
use crate::outcome::Outcome;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

/// Condition under which a new claim (or a completed record written in a transaction) may
/// replace what is stored: nothing there, an expired record, or an abandoned claim.
const TAKEABLE: &str = "attribute_not_exists(pk) OR expiresAt < :nowSeconds \
     OR (#state = :inProgress AND leaseUntil < :nowMillis)";

/// What a claim asks for.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub key: &'a str,
    pub fingerprint: &'a str,
    pub event_type: &'a str,
    /// The claimant's deadline (Unix ms): after it the claim may be taken over.
    pub lease_until_millis: i64,
}

/// What identifies an event for deduplication, computed once per delivery: its key (tenant and
/// event id) and the fingerprint of its content.
#[derive(Debug, Clone)]
pub struct EventIdentity {
    pub key: String,
    pub fingerprint: String,
    pub event_type: &'static str,
}

impl EventIdentity {
    pub fn of(event: &Event<'_>) -> Self {
        EventIdentity {
            key: event.dedup_key(),
            fingerprint: event.fingerprint(),
            event_type: event.event_type.as_str(),
        }
    }

    pub fn claim(&self, lease_until_millis: i64) -> Claim<'_> {
        Claim {
            key: &self.key,
            fingerprint: &self.fingerprint,
            event_type: self.event_type,
            lease_until_millis,
        }
    }
}

/// A record found where a claim wanted to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingRecord {
    pub completed: bool,
    pub fingerprint: Option<String>,
    /// The token of the invocation that wrote it.
    pub claim_token: Option<String>,
}

impl ExistingRecord {
    /// Whether this invocation wrote the record itself: an earlier attempt of the same call
    /// took effect but its answer was lost, and the SDK's retry found it.
    pub fn is_ours(&self, token: &str) -> bool {
        self.claim_token.as_deref() == Some(token)
    }

    /// What a delivery that found someone else's record answers.
    pub fn verdict(&self, fingerprint: &str) -> Result<Outcome, WebhookError> {
        if self.fingerprint.as_deref() != Some(fingerprint) {
            return Err(WebhookError::ConflictingDuplicate);
        }
        if self.completed {
            Ok(Outcome::Duplicate)
        } else {
            Err(WebhookError::InProgress)
        }
    }

    /// The record found, or, when it vanished meanwhile (expired and swept), one that makes
    /// the delivery answer `in_progress` so that Svix retries it.
    pub fn found_or_vanished(item: Option<&Item>, fingerprint: &str) -> Self {
        item.map(ExistingRecord::from_item)
            .unwrap_or(ExistingRecord {
                completed: false,
                fingerprint: Some(fingerprint.to_string()),
                claim_token: None,
            })
    }

    pub fn from_item(item: &Item) -> Self {
        ExistingRecord {
            completed: item
                .get("state")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(COMPLETED),
            fingerprint: item.get("fingerprint").and_then(|v| v.as_s().ok()).cloned(),
            claim_token: item.get("claimToken").and_then(|v| v.as_s().ok()).cloned(),
        }
    }
}

/// Proof of a claim: only its holder may complete or release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(pub String);

#[derive(Debug)]
pub enum ClaimResult {
    Claimed(ClaimToken),
    Exists(ExistingRecord),
}

/// A failed dedup call, named by its error code or kind only ([`sdk_error_kind`]).
#[derive(Debug, thiserror::Error)]
#[error("the dedup store failed: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// A write refused because a transaction was writing the same item at that moment.
    pub fn is_transaction_conflict(&self) -> bool {
        self.0 == "TransactionConflictException"
    }
}

impl<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R> From<SdkError<E, R>> for StoreError {
    fn from(e: SdkError<E, R>) -> Self {
        StoreError(sdk_error_kind(&e).to_string())
    }
}

impl From<StoreError> for WebhookError {
    fn from(_: StoreError) -> Self {
        WebhookError::StorageUnavailable
    }
}

/// The dedup record store. One real implementation: [`DynamoDedup`].
pub trait DedupStore: Send + Sync {
    fn claim(
        &self,
        claim: &Claim<'_>,
    ) -> impl Future<Output = Result<ClaimResult, StoreError>> + Send;
    fn complete(
        &self,
        key: &str,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn release(
        &self,
        key: &str,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Clone)]
pub struct DynamoDedup {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
}

impl DynamoDedup {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, ttl: Duration) -> Self {
        // Its requests count towards the delivery's `AwsCalls` (crate::aws_calls).
        let client = crate::aws_calls::counted_dynamodb(client);
        DynamoDedup { client, table, ttl }
    }

    /// The client, shared with writes that go into one transaction with a record (the
    /// mirror's). The record's part of such a transaction is [`DynamoDedup::transact_put`].
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// The record's attributes, for a claim (`IN_PROGRESS`) or a transactional `COMPLETED`.
    pub fn record(&self, claim: &Claim<'_>, state: &str, token: &str) -> Item {
        let now = now_millis();
        // The setting is at most a year (config), but never let a sum wrap: a wrapped expiry
        // in the past would make DynamoDB delete the record at once and turn dedup off.
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let expires = (now / 1000).saturating_add(ttl);
        HashMap::from([
            ("pk".into(), AttributeValue::S(claim.key.into())),
            ("state".into(), AttributeValue::S(state.into())),
            (
                "fingerprint".into(),
                AttributeValue::S(claim.fingerprint.into()),
            ),
            (
                "eventType".into(),
                AttributeValue::S(claim.event_type.into()),
            ),
            ("leaseUntil".into(), num(claim.lease_until_millis)),
            ("claimToken".into(), AttributeValue::S(token.into())),
            ("updatedAt".into(), num(now)),
            ("expiresAt".into(), num(expires)),
        ])
    }

    /// The event's record, `COMPLETED` from the start, for a write that records its event in
    /// the same transaction (the mirror). Built once per delivery: the transaction and, for a
    /// stale change, the put alone write the same record.
    pub fn completed_record(
        &self,
        identity: &EventIdentity,
        lease_until_millis: i64,
    ) -> CompletedRecord {
        let token = new_token();
        CompletedRecord {
            item: self.record(&identity.claim(lease_until_millis), COMPLETED, &token),
            key: identity.key.clone(),
            fingerprint: identity.fingerprint.clone(),
            token,
        }
    }

    /// The transaction's `Put` of `record`: it succeeds only where `TAKEABLE` holds and, when
    /// its condition fails, the cancellation returns the record in the way (`ALL_OLD`).
    pub fn transact_put(&self, record: &CompletedRecord) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record.item.clone()))
            .condition_expression(TAKEABLE)
            .set_expression_attribute_names(Some(takeable_names()))
            .set_expression_attribute_values(Some(takeable_values()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|_| StoreError("request construction".into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes `record` alone, under the same condition: `None` when written, else the record in
    /// the way (a concurrent delivery of the same event recorded it first).
    pub async fn put_alone(
        &self,
        record: &CompletedRecord,
    ) -> Result<Option<ExistingRecord>, StoreError> {
        self.put_if_takeable(record.item.clone(), &record.fingerprint)
            .await
    }

    /// The record a transaction found in its way: the one DynamoDB returned with the
    /// cancellation, else read back (consistently), else the vanished fallback.
    pub async fn found(
        &self,
        record: &CompletedRecord,
        returned: Option<&Item>,
    ) -> Result<ExistingRecord, StoreError> {
        if let Some(item) = returned {
            return Ok(ExistingRecord::from_item(item));
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&record.key)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(ExistingRecord::found_or_vanished(
            out.item(),
            &record.fingerprint,
        ))
    }

    /// A put of `item` that succeeds only where `TAKEABLE` holds: `None` when written, else
    /// the record in the way, returned with the failure (so a duplicate costs one call).
    async fn put_if_takeable(
        &self,
        item: Item,
        fingerprint: &str,
    ) -> Result<Option<ExistingRecord>, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(TAKEABLE)
            .set_expression_attribute_names(Some(takeable_names()))
            .set_expression_attribute_values(Some(takeable_values()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(se)) => match se.err() {
                PutItemError::ConditionalCheckFailedException(failed) => Ok(Some(
                    ExistingRecord::found_or_vanished(failed.item(), fingerprint),
                )),
                _ => Err(SdkError::ServiceError(se).into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    fn key(key: &str) -> Item {
        HashMap::from([("pk".into(), AttributeValue::S(key.into()))])
    }
}

/// An event's record written `COMPLETED` in one step: see [`DynamoDedup::completed_record`].
#[derive(Debug, Clone)]
pub struct CompletedRecord {
    item: Item,
    key: String,
    fingerprint: String,
    token: String,
}

impl CompletedRecord {
    /// What a delivery that finds `existing` in this record's place answers: `written` when
    /// `existing` is this very record (an earlier attempt of the same call wrote it and its
    /// answer was lost), else the verdict on someone else's record.
    pub fn verdict(
        &self,
        existing: &ExistingRecord,
        written: Outcome,
    ) -> Result<Outcome, WebhookError> {
        if existing.is_ours(&self.token) {
            tracing::info!("the event's record is this delivery's own: an answer was lost");
            return Ok(written);
        }
        existing.verdict(&self.fingerprint)
    }
}

/// Names and values that [`TAKEABLE`] refers to.
fn takeable_names() -> HashMap<String, String> {
    HashMap::from([("#state".into(), "state".into())])
}

fn takeable_values() -> Item {
    let now = now_millis();
    HashMap::from([
        (":nowSeconds".into(), num(now / 1000)),
        (":nowMillis".into(), num(now)),
        (":inProgress".into(), AttributeValue::S(IN_PROGRESS.into())),
    ])
}

fn num(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl DedupStore for DynamoDedup {
    async fn claim(&self, claim: &Claim<'_>) -> Result<ClaimResult, StoreError> {
        let token = new_token();
        let item = self.record(claim, IN_PROGRESS, &token);
        Ok(match self.put_if_takeable(item, claim.fingerprint).await? {
            None => ClaimResult::Claimed(ClaimToken(token)),
            // The SDK retried a put that had taken effect (its answer was lost): the claim
            // in the way is this one.
            Some(existing) if existing.is_ours(&token) => {
                tracing::info!("the claim found is this delivery's own: an answer was lost");
                ClaimResult::Claimed(ClaimToken(token))
            }
            Some(existing) => ClaimResult::Exists(existing),
        })
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .update_expression("SET #state = :completed, updatedAt = :now REMOVE leaseUntil")
            .condition_expression("claimToken = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":completed", AttributeValue::S(COMPLETED.into()))
            .expression_attribute_values(":now", num(now_millis()))
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(StoreError::from)
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .condition_expression("claimToken = :token AND #state = :inProgress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .expression_attribute_values(":inProgress", AttributeValue::S(IN_PROGRESS.into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Nothing of ours is there any more: an earlier attempt of this delete took effect
            // and its answer was lost (or the claim was taken over after its lease).
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    DeleteItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(completed: bool, fp: &str) -> ExistingRecord {
        ExistingRecord {
            completed,
            fingerprint: Some(fp.into()),
            claim_token: None,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(rec(true, "a").verdict("a"), Ok(Outcome::Duplicate));
        assert_eq!(rec(false, "a").verdict("a"), Err(WebhookError::InProgress));
        assert_eq!(
            rec(true, "a").verdict("b"),
            Err(WebhookError::ConflictingDuplicate)
        );
        assert_eq!(
            rec(false, "a").verdict("b"),
            Err(WebhookError::ConflictingDuplicate)
        );
    }

    #[test]
    fn records_read_back_from_items() {
        let item = HashMap::from([
            ("state".to_string(), AttributeValue::S(COMPLETED.into())),
            ("fingerprint".to_string(), AttributeValue::S("f".into())),
        ]);
        assert_eq!(ExistingRecord::from_item(&item), rec(true, "f"));
        assert!(!ExistingRecord::from_item(&HashMap::new()).completed);
    }

    #[test]
    fn a_record_with_this_deliverys_token_is_its_own() {
        let item = HashMap::from([
            ("state".to_string(), AttributeValue::S(COMPLETED.into())),
            ("fingerprint".to_string(), AttributeValue::S("f".into())),
            ("claimToken".to_string(), AttributeValue::S("mine".into())),
        ]);
        let found = ExistingRecord::from_item(&item);
        assert!(found.is_ours("mine"));
        assert!(!found.is_ours("theirs"));
        assert!(
            !rec(true, "f").is_ours("mine"),
            "a record without a token is nobody's"
        );
        let record = CompletedRecord {
            item: HashMap::new(),
            key: "k".into(),
            fingerprint: "f".into(),
            token: "mine".into(),
        };
        assert_eq!(record.verdict(&found, Outcome::Stale), Ok(Outcome::Stale));
        let theirs = ExistingRecord {
            claim_token: Some("theirs".into()),
            ..found
        };
        assert_eq!(
            record.verdict(&theirs, Outcome::Stale),
            Ok(Outcome::Duplicate)
        );
    }

    #[test]
    fn a_vanished_record_makes_the_delivery_retry() {
        assert_eq!(
            ExistingRecord::found_or_vanished(None, "f").verdict("f"),
            Err(WebhookError::InProgress)
        );
    }

    #[test]
    fn tokens_are_unique() {
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 32);
    }
}
