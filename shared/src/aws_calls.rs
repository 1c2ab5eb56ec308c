//! How many AWS requests one delivery made, counted with no extra call and no shared counter.
//!
//! The SDK clients are built once per cold start and shared by every delivery the instance
//! answers. Lambda gives an instance one invocation at a time, but tests (and the local run)
//! drive many deliveries through the same clients at once, so a counter on the client would
//! mix them. Instead each delivery runs inside [`counting`], which gives it a task-local
//! counter, and the [`CountAwsCalls`] interceptor on the DynamoDB and SQS clients adds one to
//! the counter of whichever delivery is sending. The SDK runs its interceptors in the calling
//! future, so the counter it finds is that delivery's. A request sent outside [`counting`]
//! (the cold start's Secrets Manager read) has no counter and is not counted.
//!
//! What is counted is every request put on the wire: each attempt, so a retried call counts
//! twice (it is billed and waited for twice).

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static AWS_CALLS: Cell<u32>;
}

/// Runs `fut` with a fresh AWS request counter of its own, readable inside it with
/// [`so_far`].
pub async fn counting<F: Future>(fut: F) -> F::Output {
    AWS_CALLS.scope(Cell::new(0), fut).await
}

/// The AWS requests sent so far by the delivery this runs in (0 outside [`counting`]).
pub fn so_far() -> u32 {
    AWS_CALLS.try_with(Cell::get).unwrap_or(0)
}

/// The SDK interceptor that counts each request just before it is transmitted.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountAwsCalls;

impl Intercept for CountAwsCalls {
    fn name(&self) -> &'static str {
        "CountAwsCalls"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Outside a delivery there is no counter, and nothing to count.
        let _ = AWS_CALLS.try_with(|calls| calls.set(calls.get().saturating_add(1)));
        Ok(())
    }
}

/// `client` with its requests counted (same configuration, connection pool and credentials).
pub fn counted_dynamodb(client: aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    let config = client
        .config()
        .to_builder()
        .interceptor(CountAwsCalls)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// `client` with its requests counted.
pub fn counted_sqs(client: aws_sdk_sqs::Client) -> aws_sdk_sqs::Client {
    let config = client
        .config()
        .to_builder()
        .interceptor(CountAwsCalls)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client whose every request fails at once, without a server: nothing to wait for.
    fn unreachable_dynamodb() -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-north-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url("http://127.0.0.1:1")
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .build();
        counted_dynamodb(aws_sdk_dynamodb::Client::from_conf(config))
    }

    #[tokio::test]
    async fn each_attempt_counts_and_only_inside_its_own_delivery() {
        let client = unreachable_dynamodb();
        // Outside a delivery: sent, not counted, no panic.
        assert!(client.list_tables().send().await.is_err());
        assert_eq!(so_far(), 0);
        let one = counting(async {
            assert!(client.list_tables().send().await.is_err());
            so_far()
        });
        let two = counting(async {
            assert!(client.list_tables().send().await.is_err());
            assert!(client.list_tables().send().await.is_err());
            so_far()
        });
        // Interleaved on one task, each sees its own: two attempts per failed call.
        assert_eq!(tokio::join!(one, two), (2, 4));
    }
}
