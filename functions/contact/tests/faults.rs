//! The contact function when DynamoDB misbehaves the way real DynamoDB does and moto never
//! does, driven through `FaultProxy`: transactions cancelled by a conflict (retried inside
//! the invocation, within a bound), throttling (the SDK's retry, then 503 with nothing
//! written), and answers lost on the way back (the delivery's own record is its own).

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{Family, MirrorFunction, CONFLICT_RETRY_BUDGET, MAX_CONFLICT_RETRIES};
use std::time::{Duration, Instant};

const CONTACT: Family = Family::Contact;
const TRANSACT: &str = "TransactWriteItems";

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A contact function of `rig` whose DynamoDB is reached through a proxy applying `rules`.
async fn behind_proxy(rig: &MirrorRig, rules: Vec<Rule>) -> (MirrorFunction, FaultProxy) {
    let proxy = FaultProxy::start(&endpoint(), rules).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&local_aws_at(proxy.url()).await);
    let function = rig.function_with(CONTACT, dynamodb, &rig.contacts_table, None);
    (function, proxy)
}

#[tokio::test]
async fn a_conflicted_transaction_is_retried_inside_the_invocation_and_processed() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.updated", &contact);
    // Item 1 (the contact's mirror item) is being written by another transaction, twice.
    let rules = vec![Rule::new(TRANSACT, Times::First(2), Fault::conflict(2, 1))];
    let (function, proxy) = behind_proxy(&rig, rules).await;
    let started = Instant::now();
    let got = deliver(&function, Shape::FunctionUrl, &env).await;
    let took = started.elapsed();
    assert_eq!(got, (200, "processed".into()));
    assert_eq!(proxy.faulted(TRANSACT), 2, "two conflicts");
    assert_eq!(
        proxy.seen(TRANSACT),
        3,
        "two retries, the third attempt committed"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    let item = rig.contact(&contact).await.expect("mirrored");
    assert_eq!(item["profileEventId"], s(&id));
    assert_eq!(rig.record(&id).await.unwrap()["state"], s("COMPLETED"));
}

#[tokio::test]
async fn a_transaction_that_keeps_conflicting_answers_in_progress_within_the_bound() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.updated", &contact);
    let rules = vec![Rule::new(TRANSACT, Times::Always, Fault::conflict(2, 0))];
    let (function, proxy) = behind_proxy(&rig, rules).await;
    let started = Instant::now();
    let got = deliver(&function, Shape::FunctionUrl, &env).await;
    let took = started.elapsed();
    assert_eq!(got, (409, "in_progress".into()));
    // Every retry is tried (fewer only if the machine is so slow that the budget ends first).
    let attempts = proxy.seen(TRANSACT);
    assert!(
        (2..=1 + MAX_CONFLICT_RETRIES as usize).contains(&attempts),
        "{attempts} attempts"
    );
    // The budget bounds when the last attempt may start; each conflict answers at once here.
    assert!(
        took < CONFLICT_RETRY_BUDGET + Duration::from_millis(1500),
        "answered in {took:?}"
    );
    rig.assert_left_nothing(&id, &contact).await;
    assert_eq!(
        rig.deliver(CONTACT, &env).await,
        (200, "processed".into()),
        "Svix's retry applies it"
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_once_then_answered_503_with_nothing_written() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, _) = contact_envelope("contact.created", &contact);
    let rules = vec![Rule::new(
        TRANSACT,
        Times::First(1),
        Fault::ProvisionedThroughputExceeded,
    )];
    let (function, proxy) = behind_proxy(&rig, rules).await;
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &env).await,
        (200, "processed".into())
    );
    assert_eq!(
        proxy.seen(TRANSACT),
        2,
        "the SDK retried the throttled call"
    );

    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.created", &contact);
    let rules = vec![Rule::new(TRANSACT, Times::Always, Fault::Throttling)];
    let (function, proxy) = behind_proxy(&rig, rules).await;
    assert_unavailable_within_ten_seconds(&function, &env, "storage_unavailable").await;
    assert_eq!(
        proxy.seen(TRANSACT),
        2,
        "the SDK's two attempts, no conflict retries"
    );
    rig.assert_left_nothing(&id, &contact).await;
    assert_eq!(rig.deliver(CONTACT, &env).await, (200, "processed".into()));
}

#[tokio::test]
async fn a_transaction_whose_answer_was_lost_is_processed_once_not_in_progress() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (env, id) = contact_envelope("contact.created", &contact);
    // The first attempt commits; its answer never arrives; the SDK sends it again. Real
    // DynamoDB answers that retry from its idempotency token; moto runs it again and finds
    // the record this delivery wrote.
    let rules = vec![Rule::new(TRANSACT, Times::First(1), Fault::DropAnswer)];
    let (function, proxy) = behind_proxy(&rig, rules).await;
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &env).await,
        (200, "processed".into())
    );
    assert_eq!(proxy.seen(TRANSACT), 2);
    let item = rig.contact(&contact).await.expect("mirrored");
    assert_eq!(item["profileEventId"], s(&id));
    assert_eq!(rig.record(&id).await.unwrap()["state"], s("COMPLETED"));
    assert_eq!(
        rig.deliver(CONTACT, &env).await,
        (200, "duplicate".into()),
        "a Svix retry is a duplicate"
    );
}

#[tokio::test]
async fn a_lost_answer_to_a_stale_events_record_is_still_stale() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (updated, _) = contact_envelope("contact.updated", &contact);
    assert_eq!(rig.deliver(CONTACT, &updated).await.1, "processed");
    // A created after an update is stale; its record is put alone, and that answer is lost.
    let (created, created_id) = contact_envelope("contact.created", &contact);
    let rules = vec![Rule::new("PutItem", Times::First(1), Fault::DropAnswer)];
    let (function, proxy) = behind_proxy(&rig, rules).await;
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &created).await,
        (200, "stale".into())
    );
    assert_eq!(proxy.seen("PutItem"), 2);
    let record = rig.record(&created_id).await.expect("recorded");
    assert_eq!(record["state"], s("COMPLETED"));
}

#[tokio::test]
async fn a_conflict_on_the_stale_events_record_is_in_progress_not_unavailable() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (updated, _) = contact_envelope("contact.updated", &contact);
    assert_eq!(rig.deliver(CONTACT, &updated).await.1, "processed");
    let (created, created_id) = contact_envelope("contact.created", &contact);
    let rules = vec![Rule::new(
        "PutItem",
        Times::Always,
        Fault::TransactionConflictException,
    )];
    let (function, _proxy) = behind_proxy(&rig, rules).await;
    assert_eq!(
        deliver(&function, Shape::FunctionUrl, &created).await,
        (409, "in_progress".into())
    );
    assert!(rig.record(&created_id).await.is_none());
    assert_eq!(rig.deliver(CONTACT, &created).await, (200, "stale".into()));
}
