//! Exactly-once bookkeeping: one DynamoDB record per event (tenant + event id).
//!
//! A record is claimed IN_PROGRESS with a conditional put, then marked COMPLETED once the
//! effect has happened, or deleted (released) when the effect failed, so that Svix's retry can
//! claim it again. A claim held by an invocation that crashed or timed out is takeable once
//! that invocation's deadline (`leaseUntil`) has passed. Records carry a TTL (`expiresAt`),
//! and since DynamoDB deletes expired items only within ~48 h, expiry is also checked in the
//! condition. The conditional put returns the existing record when it fails, so a duplicate
//! costs exactly one DynamoDB call.

use crate::envelope::Event;
use crate::error::{Outcome, WebhookError};
use crate::receiver::now_millis;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const COMPLETED: &str = "COMPLETED";

/// Condition under which a new claim (or a completed record written in a transaction) may
/// replace what is stored: nothing there, an expired record, or an abandoned claim.
pub const TAKEABLE: &str = "attribute_not_exists(pk) OR expiresAt < :nowSeconds \
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
}

impl ExistingRecord {
    /// What a delivery that found this record answers.
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

    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Self {
        ExistingRecord {
            completed: item
                .get("state")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(COMPLETED),
            fingerprint: item.get("fingerprint").and_then(|v| v.as_s().ok()).cloned(),
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

#[derive(Debug, thiserror::Error)]
#[error("the dedup store failed: {0}")]
pub struct StoreError(pub String);

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
        DynamoDedup { client, table, ttl }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// The record's attributes, for a claim (`IN_PROGRESS`) or a transactional `COMPLETED`.
    pub fn record(
        &self,
        claim: &Claim<'_>,
        state: &str,
        token: &str,
    ) -> HashMap<String, AttributeValue> {
        let now = now_millis();
        let expires = now / 1000 + self.ttl.as_secs() as i64;
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

    /// A put of `item` into the dedup table that succeeds only where [`TAKEABLE`] holds and,
    /// when it fails, returns the record in the way (so a duplicate costs one call).
    pub fn put_if_takeable(&self, item: HashMap<String, AttributeValue>) -> PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(TAKEABLE)
            .set_expression_attribute_names(Some(Self::takeable_names()))
            .set_expression_attribute_values(Some(Self::takeable_values()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    /// Names and values that [`TAKEABLE`] refers to.
    pub fn takeable_names() -> HashMap<String, String> {
        HashMap::from([("#state".into(), "state".into())])
    }

    pub fn takeable_values() -> HashMap<String, AttributeValue> {
        let now = now_millis();
        HashMap::from([
            (":nowSeconds".into(), num(now / 1000)),
            (":nowMillis".into(), num(now)),
            (":inProgress".into(), AttributeValue::S(IN_PROGRESS.into())),
        ])
    }

    fn key(key: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([("pk".into(), AttributeValue::S(key.into()))])
    }
}

pub fn num(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn store_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}

impl DedupStore for DynamoDedup {
    async fn claim(&self, claim: &Claim<'_>) -> Result<ClaimResult, StoreError> {
        let token = new_token();
        let result = self
            .put_if_takeable(self.record(claim, IN_PROGRESS, &token))
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimResult::Claimed(ClaimToken(token))),
            Err(SdkError::ServiceError(se)) => match se.err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let existing = failed
                        .item()
                        .map(ExistingRecord::from_item)
                        // No item returned: it vanished meanwhile. Let Svix retry.
                        .unwrap_or(ExistingRecord {
                            completed: false,
                            fingerprint: Some(claim.fingerprint.into()),
                        });
                    Ok(ClaimResult::Exists(existing))
                }
                _ => Err(store_error(SdkError::ServiceError(se))),
            },
            Err(e) => Err(store_error(e)),
        }
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
            .map_err(store_error)
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .condition_expression("claimToken = :token AND #state = :inProgress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .expression_attribute_values(":inProgress", AttributeValue::S(IN_PROGRESS.into()))
            .send()
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(completed: bool, fp: &str) -> ExistingRecord {
        ExistingRecord {
            completed,
            fingerprint: Some(fp.into()),
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
    fn tokens_are_unique() {
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 32);
    }
}
