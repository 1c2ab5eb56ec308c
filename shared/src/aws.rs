//! AWS SDK configuration with bounded timeouts and retries, and the one way a failed SDK
//! call is described in logs and errors ([`sdk_error_kind`]).
//!
//! Svix abandons a request after 15 s and retries it later, so every call here must give up
//! well before that: a hanging DynamoDB or SQS turns into a 503 in a few seconds, never a
//! Lambda timeout. Worst case per call: 2 attempts x 1.5 s, capped at 3 s in all; a delivery
//! makes at most three sequential calls (claim, send, complete or release), so it answers
//! within about 9 s even when every dependency hangs.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
// The SDK-wide error types; every service crate re-exports the same ones.
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(3000);
pub const MAX_ATTEMPTS: u32 = 2;

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(200))
}

/// The variable that points the SDK at a local AWS (moto) in local runs.
pub const ENDPOINT_URL_VAR: &str = "AWS_ENDPOINT_URL";

/// The shared SDK configuration: region and credentials from the Lambda environment, the
/// endpoint from `AWS_ENDPOINT_URL` when set (local runs), bounded timeouts and retries.
///
/// The template declares `AWS_ENDPOINT_URL` empty so that `sam local invoke --env-vars` can
/// set it; deployed it stays empty. The SDK does not treat an empty value as unset: the
/// loader warns "invalid value for endpoint URL setting" and each service client takes `""`
/// as its endpoint, so every call would fail. An empty (or blank) value is therefore removed
/// from the environment here, once at init before the SDK reads it: deployed, the SDK
/// resolves the regional endpoint exactly as if the variable were not declared.
pub async fn load() -> SdkConfig {
    drop_empty_endpoint_setting();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// Removes `AWS_ENDPOINT_URL` when it is set but blank (see [`load`]). Runs at init, before
/// the SDK or any other code reads the environment.
fn drop_empty_endpoint_setting() {
    if std::env::var_os(ENDPOINT_URL_VAR).is_some_and(|v| v.to_string_lossy().trim().is_empty()) {
        std::env::remove_var(ENDPOINT_URL_VAR);
    }
}

/// A failed SDK call as logs and errors name it: the service's error code (for example
/// `ThrottlingException`, `ResourceNotFoundException`) or, when no service answer came back,
/// the kind of failure. Never the service's message: it can quote attribute names or values
/// of the payload.
pub fn sdk_error_kind<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> &str {
    match err {
        SdkError::ServiceError(se) => se.err().code().unwrap_or("unknown service error"),
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ConstructionFailure(_) => "request construction",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;

    #[test]
    fn a_service_error_is_named_by_its_code_never_its_message() {
        let failed = ConditionalCheckFailedException::builder()
            .message("the item {email: john@example.com} ...")
            .meta(
                aws_sdk_dynamodb::error::ErrorMetadata::builder()
                    .code("ConditionalCheckFailedException")
                    .message("the item {email: john@example.com} ...")
                    .build(),
            )
            .build();
        let err: SdkError<PutItemError, ()> =
            SdkError::service_error(PutItemError::ConditionalCheckFailedException(failed), ());
        assert_eq!(sdk_error_kind(&err), "ConditionalCheckFailedException");
        let timeout: SdkError<PutItemError, ()> = SdkError::timeout_error("slow");
        assert_eq!(sdk_error_kind(&timeout), "timeout");
    }
}
