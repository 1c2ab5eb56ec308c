//! The claims most tests make, each as one `assert_*` call: a retry is a one-call duplicate,
//! an outage answers 503 in time and leaves nothing, concurrent deliveries process once.

use crate::fault_endpoints::hanging_dynamodb;
use crate::fixtures::{contact_envelope, unique};
use crate::local_aws::CallCounter;
use crate::requests::{answer, deliver, signed_request, Shape};
use crate::rigs::{FanOutRig, MirrorRig};
use engage_webhooks::{Family, WebhookFunction};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

/// Asserts that a Svix retry of `envelope` (signed anew, in `shape`) answers duplicate at the
/// cost of one DynamoDB call, counted by `calls` from zero: the claim alone, nothing after.
pub async fn assert_a_retry_is_a_one_call_duplicate(
    function: &impl WebhookFunction,
    calls: &CallCounter,
    shape: Shape,
    envelope: &str,
) {
    let again = deliver(function, shape, envelope).await;
    assert_eq!(again, (200, "duplicate".into()));
    assert_eq!(
        calls.count(),
        1,
        "a duplicate costs exactly one DynamoDB call"
    );
}

/// Asserts that `function` answers a delivery of `envelope` with 503 and `reason` within 10 s,
/// so that Svix (which gives up at 15 s) sees a retryable failure, not a timeout.
pub async fn assert_unavailable_within_ten_seconds(
    function: &impl WebhookFunction,
    envelope: &str,
    reason: &str,
) {
    let started = Instant::now();
    let got = deliver(function, Shape::FunctionUrl, envelope).await;
    let took = started.elapsed();
    assert_eq!(got, (503, reason.to_string()));
    assert!(
        took < Duration::from_secs(10),
        "answered in {took:?}, Svix gives up at 15 s"
    );
}

/// Delivers `envelope` through every one of `functions` at once (Svix's parallel retries
/// reaching separate Lambda instances) and asserts the exactly-once contract: one delivery is
/// processed, each other one answers duplicate or in progress.
pub async fn assert_exactly_one_processed_concurrently(
    functions: &[impl WebhookFunction],
    envelope: &str,
) {
    let answers = join_all(functions.iter().map(|f| {
        let req = signed_request(Shape::FunctionUrl, envelope);
        async move { answer(&f.handle(req).await) }
    }))
    .await;
    let processed = answers.iter().filter(|a| a.1 == "processed").count();
    assert_eq!(processed, 1, "{answers:?}");
    for (status, reason) in &answers {
        assert!(
            matches!(
                (status, reason.as_str()),
                (200, "processed" | "duplicate") | (409, "in_progress")
            ),
            "{status} {reason}"
        );
    }
}

impl FanOutRig {
    /// Asserts that the sample tenant's event `event_id` left no message and no dedup record:
    /// what every refused or ignored delivery must leave behind.
    pub async fn assert_left_nothing(&self, event_id: &str) {
        assert!(self.messages().await.is_empty(), "no message");
        assert!(
            self.sample_record(event_id).await.is_none(),
            "no dedup record"
        );
    }
}

impl MirrorRig {
    /// Asserts that event `event_id` for `contact_id` left no dedup record and no mirror item:
    /// what every failed, refused or ignored delivery must leave behind.
    pub async fn assert_left_nothing(&self, event_id: &str, contact_id: &str) {
        assert!(self.record(event_id).await.is_none(), "no dedup record");
        assert!(self.contact(contact_id).await.is_none(), "no mirror change");
    }

    /// Asserts that a fresh `event_type` event, delivered to a `family` function whose
    /// DynamoDB hangs, answers 503 within 10 s and leaves nothing, so that Svix's retry then
    /// applies it: an outage never loses nor half-applies an event.
    pub async fn assert_an_outage_is_retried_cleanly(&self, family: Family, event_type: &str) {
        let hanging = hanging_dynamodb().await;
        let function = self.function_with(family, hanging, &self.contacts_table, None);
        let contact = unique("contact");
        let (env, id) = contact_envelope(event_type, &contact);
        assert_unavailable_within_ten_seconds(&function, &env, "storage_unavailable").await;
        self.assert_left_nothing(&id, &contact).await;
        let retry = self.deliver(family, &env).await;
        assert_eq!(retry, (200, "processed".into()), "the retry");
    }
}

/// Polls all `futures` together on the current task and returns their outputs in order, as
/// `futures::future::join_all` does (this crate does not depend on `futures`).
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("polled to the end"))
        .collect()
}
