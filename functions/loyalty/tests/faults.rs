//! The loyalty function when an AWS answer is lost on its way back (driven through
//! `FaultProxy`, which forwards the request and then closes the connection): the SDK's retry
//! of a claim finds the claim it wrote itself and proceeds; a resent message is absorbed by a
//! FIFO queue's deduplication id, and can reach a standard queue twice.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{Family, FanOutFunction};
use serde_json::Value;

fn event_id_of(m: &aws_sdk_sqs::types::Message) -> String {
    let body: Value = serde_json::from_str(m.body().expect("a body")).expect("JSON");
    body["eventId"].as_str().expect("an eventId").to_string()
}

/// A loyalty function whose DynamoDB (`dynamodb_rules`) and SQS (`sqs_rules`) calls go
/// through proxies of their own.
async fn behind_proxies(
    rig: &FanOutRig,
    dynamodb_rules: Vec<Rule>,
    sqs_rules: Vec<Rule>,
) -> (FanOutFunction, FaultProxy, FaultProxy) {
    let dynamodb_proxy = FaultProxy::start(&endpoint(), dynamodb_rules).await;
    let sqs_proxy = FaultProxy::start(&endpoint(), sqs_rules).await;
    let function = rig.function_with(
        aws_sdk_dynamodb::Client::new(&local_aws_at(dynamodb_proxy.url()).await),
        aws_sdk_sqs::Client::new(&local_aws_at(sqs_proxy.url()).await),
        &rig.queue_url,
        None,
    );
    (function, dynamodb_proxy, sqs_proxy)
}

/// Delivers `env` to a loyalty function whose first `SendMessage` answer is lost, asserts it
/// processed, and returns the SQS proxy.
async fn processed_losing_the_first_send_answer(rig: &FanOutRig, env: &str) -> FaultProxy {
    let (function, _, sqs) = behind_proxies(
        rig,
        vec![],
        vec![Rule::new("SendMessage", Times::First(1), Fault::DropAnswer)],
    )
    .await;
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, env).await,
        (200, "processed".into())
    );
    sqs
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_ours_and_gives_exactly_one_message() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, id) = fresh_envelope("loyalty.addPoints");
    let (function, dynamodb, _) = behind_proxies(
        &rig,
        vec![Rule::new("PutItem", Times::First(1), Fault::DropAnswer)],
        vec![],
    )
    .await;
    // The claim is written, its answer lost; the SDK's retry finds that claim, with this
    // delivery's token: ours, so the event is sent now instead of answering 409.
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &env).await,
        (200, "processed".into())
    );
    assert_eq!(dynamodb.seen("PutItem"), 2, "the SDK retried the claim");
    assert_eq!(dynamodb.faulted("PutItem"), 1);
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(event_id_of(&messages[0]), id);
    let record = rig.record(&format!("myTenantName#{id}")).await.unwrap();
    assert_eq!(record["state"], AttributeValue::S("COMPLETED".into()));
    assert_eq!(rig.deliver(&env).await, (200, "duplicate".into()));
    // (Messages read above stay invisible for 10 minutes: only a new one would show.)
    assert!(rig.messages().await.is_empty(), "no second message");
}

#[tokio::test]
async fn a_lost_send_answer_on_a_fifo_queue_gives_one_message() {
    let rig = FanOutRig::new(Family::Loyalty, true).await;
    let (env, id) = fresh_envelope("reward.voucher.created");
    let sqs = processed_losing_the_first_send_answer(&rig, &env).await;
    assert_eq!(sqs.seen("SendMessage"), 2, "the SDK sent it again");
    let messages = rig.messages().await;
    assert_eq!(
        messages.len(),
        1,
        "the deduplication id absorbed the resend"
    );
    assert_eq!(event_id_of(&messages[0]), id);
}

/// The one gap the dedup table cannot close, pinned so that the advice of docs/queues.md stays true:
/// SQS standard queues have no deduplication, so consumers dedup on `eventId`.
#[tokio::test]
async fn a_lost_send_answer_on_a_standard_queue_can_deliver_twice_with_one_event_id() {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (env, id) = fresh_envelope("point.balance.updated");
    let sqs = processed_losing_the_first_send_answer(&rig, &env).await;
    assert_eq!(sqs.seen("SendMessage"), 2);
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| event_id_of(m) == id));
    assert_eq!(rig.deliver(&env).await, (200, "duplicate".into()));
}
