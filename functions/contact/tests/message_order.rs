//! `contact.updated` snapshots ordered by when Svix created their message (the `svix-id`'s
//! KSUID time, the same on every retry), against moto: an older message arriving after a newer
//! one is stale, so is its retry; ids without a time, and times within one 4 ms step, fall
//! back to arrival order; `contact.deleted` still wins.

use aws_sdk_dynamodb::types::AttributeValue;
use engage_testkit::*;
use engage_webhooks::{now_millis, svix_message_id, Family};

const CONTACT: Family = Family::Contact;
const TRANSACT: &str = "TransactWriteItems";

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A `contact.updated` of `contact` whose `city` is `city`, with its event id.
fn update(contact: &str, city: &str) -> (String, String) {
    let (env, id) = contact_envelope("contact.updated", contact);
    let city = serde_json::to_string(city).unwrap();
    (with_payload(&env, &[("city", &city)], &[]), id)
}

fn city(item: &Item) -> &AttributeValue {
    &item["profile"].as_m().expect("a profile")["city"]
}

#[tokio::test]
async fn an_older_message_arriving_after_a_newer_one_is_stale_and_so_is_its_retry() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let now = now_millis();
    let (older, older_id) = update(&contact, "Uppsala");
    let older_msg = svix_message_id(now - 60_000);
    let (newer, newer_id) = update(&contact, "Lund");
    let newer_msg = svix_message_id(now - 30_000);

    // The older message's first attempt fails (throttled twice: 503, nothing written)...
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule::new(TRANSACT, Times::Always, Fault::Throttling)],
    )
    .await;
    let throttled = aws_sdk_dynamodb::Client::new(&local_aws_at(proxy.url()).await);
    let failing = rig.function_with(CONTACT, throttled, &rig.contacts_table, None);
    assert_eq!(
        attempt(&failing, &older, &older_msg).await,
        (503, "storage_unavailable".into())
    );
    // ... the newer one succeeds ...
    let function = rig.function(CONTACT, None);
    assert_eq!(
        attempt(&function, &newer, &newer_msg).await,
        (200, "processed".into())
    );
    // ... and Svix's retry of the older one, signed later than the newer one was, is stale:
    // the message time is the same on every retry.
    assert_eq!(
        attempt(&function, &older, &older_msg).await,
        (200, "stale".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(city(&item), &s("Lund"));
    assert_eq!(item["profileEventId"], s(&newer_id));
    let stored = item["profileMessageTime"]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(
        stored,
        (now - 30_000) / 4 * 4,
        "the newer message's time, 4 ms steps"
    );
    assert_eq!(
        rig.record(&older_id).await.unwrap()["state"],
        s("COMPLETED")
    );
    assert_eq!(
        attempt(&function, &older, &older_msg).await,
        (200, "duplicate".into()),
        "recorded: a further retry is a duplicate"
    );

    // A newer message still applies.
    let (newest, _) = update(&contact, "Visby");
    let newest_msg = svix_message_id(now - 1_000);
    assert_eq!(
        attempt(&function, &newest, &newest_msg).await.1,
        "processed"
    );
    assert_eq!(city(&rig.contact(&contact).await.unwrap()), &s("Visby"));
}

#[tokio::test]
async fn a_created_carries_its_message_time_and_an_update_from_an_older_message_is_stale() {
    let rig = MirrorRig::new().await;
    let function = rig.function(CONTACT, None);
    let contact = unique("contact");
    let now = now_millis();
    let (created, _) = contact_envelope("contact.created", &contact);
    let created_msg = svix_message_id(now - 10_000);
    assert_eq!(
        attempt(&function, &created, &created_msg).await.1,
        "processed"
    );
    let (update, _) = update(&contact, "Kiruna");
    let update_msg = svix_message_id(now - 20_000);
    assert_eq!(
        attempt(&function, &update, &update_msg).await,
        (200, "stale".into())
    );
    assert_eq!(city(&rig.contact(&contact).await.unwrap()), &s("Stockholm"));
}

#[tokio::test]
async fn an_id_without_a_time_falls_back_to_arrival_order_and_keeps_the_stored_time() {
    let rig = MirrorRig::new().await;
    let function = rig.function(CONTACT, None);
    let contact = unique("contact");
    let now = now_millis();
    let (dated, _) = update(&contact, "Lund");
    assert_eq!(
        attempt(&function, &dated, &svix_message_id(now - 30_000))
            .await
            .1,
        "processed"
    );
    // Not a KSUID: nothing to compare, so the latest arrival wins, as before.
    let (undated, undated_id) = update(&contact, "Malmö");
    assert_eq!(
        attempt(&function, &undated, "msg_p5jXN8AQM9LWM0D4loKWxJek").await,
        (200, "processed".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(city(&item), &s("Malmö"));
    assert_eq!(item["profileEventId"], s(&undated_id));
    let stored = item["profileMessageTime"]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(stored, (now - 30_000) / 4 * 4, "the last known time stays");
    // So a message older than the last dated one is still stale.
    let (old, _) = update(&contact, "Umeå");
    assert_eq!(
        attempt(&function, &old, &svix_message_id(now - 60_000)).await,
        (200, "stale".into())
    );
    assert_eq!(city(&rig.contact(&contact).await.unwrap()), &s("Malmö"));
}

#[tokio::test]
async fn messages_within_one_4_ms_step_fall_back_to_arrival_order() {
    let rig = MirrorRig::new().await;
    let function = rig.function(CONTACT, None);
    let contact = unique("contact");
    let at = now_millis() / 4 * 4 - 5_000;
    let (first, _) = update(&contact, "Lund");
    let (second, second_id) = update(&contact, "Malmö");
    // Two messages whose times differ by 3 ms: one step, a tie.
    assert_eq!(
        attempt(&function, &first, &svix_message_id(at + 3)).await.1,
        "processed"
    );
    assert_eq!(
        attempt(&function, &second, &svix_message_id(at)).await,
        (200, "processed".into()),
        "a tie: the later arrival wins"
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(city(&item), &s("Malmö"));
    assert_eq!(item["profileEventId"], s(&second_id));
}

#[tokio::test]
async fn a_deletion_still_wins_whatever_the_message_times() {
    let rig = MirrorRig::new().await;
    let function = rig.function(CONTACT, None);
    let contact = unique("contact");
    let now = now_millis();
    let (update_env, _) = update(&contact, "Lund");
    assert_eq!(
        attempt(&function, &update_env, &svix_message_id(now - 10_000))
            .await
            .1,
        "processed"
    );
    // A deletion from an older message than the stored snapshot still erases it...
    let (deleted, deleted_id) = contact_envelope("contact.deleted", &contact);
    assert_eq!(
        attempt(&function, &deleted, &svix_message_id(now - 60_000)).await,
        (200, "processed".into())
    );
    // ... and nothing comes back after it, not even a newer message.
    let (late, _) = update(&contact, "Visby");
    assert_eq!(
        attempt(&function, &late, &svix_message_id(now)).await,
        (200, "stale".into())
    );
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(item["deleteEventId"], s(&deleted_id));
    assert!(!item.contains_key("profile"));
    assert!(!item.contains_key("profileMessageTime"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_deliveries_of_an_older_and_a_newer_update_leave_the_newer() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let now = now_millis();
    let (older, _) = update(&contact, "Uppsala");
    let (newer, newer_id) = update(&contact, "Lund");
    let (older_msg, newer_msg) = (svix_message_id(now - 2_000), svix_message_id(now - 1_000));
    // Ten separate instances per message, all at once, newer ones first in line.
    let functions = rig.racing_functions(CONTACT, 20).await;
    let mut racing = tokio::task::JoinSet::new();
    for (i, function) in functions.into_iter().enumerate() {
        let (env, msg) = if i % 2 == 0 {
            (newer.clone(), newer_msg.clone())
        } else {
            (older.clone(), older_msg.clone())
        };
        racing.spawn(async move { attempt(&function, &env, &msg).await });
    }
    let answers = racing.join_all().await;
    let processed = answers.iter().filter(|a| a.1 == "processed").count();
    assert!((1..=2).contains(&processed), "{answers:?}");
    for (status, reason) in &answers {
        assert!(
            matches!(
                (status, reason.as_str()),
                (200, "processed" | "duplicate" | "stale") | (409, "in_progress")
            ),
            "{status} {reason}"
        );
    }
    let item = rig.contact(&contact).await.unwrap();
    assert_eq!(city(&item), &s("Lund"), "{answers:?}");
    assert_eq!(item["profileEventId"], s(&newer_id));
}
