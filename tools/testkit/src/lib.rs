//! Test support for the functions' integration tests, built around one value per test in the
//! way zero2prod's `TestApp` is: a [`TestApp`] holds the local server's SDK configuration and a
//! dedup table of the test's own, a rig ([`FanOutRig`], [`MirrorRig`]) adds what its kind of
//! function writes to, builds the functions and offers `deliver(..)` and read-backs.
//!
//! Requests are built from the real Lambda event shapes in `events/requests/` and the sample
//! envelopes in `events/envelopes/`, edited and signed at test time by `engage-sign`'s library
//! with the test secret of `events/local.env`. AWS resources are created, uniquely named, on
//! the local wire-compatible server that `scripts/local-aws.sh` starts (its address comes
//! from `AWS_ENDPOINT_URL`).
//!
//! | module | concern |
//! |---|---|
//! | `fixtures` | test secrets, sample envelopes and their edits, ciphers, the test receiver |
//! | `requests` | request shapes, signed requests, answers, [`send`], [`attempt`], [`deliver`] |
//! | `access` | requests from a chosen `sourceIp`, with any body bytes, signed with any secret; settings as a cold start reads them |
//! | `local_aws` | SDK configuration, tables, queues, messages, items, [`CallCounter`] |
//! | `fault_endpoints` | refusing, hanging and serializing endpoints |
//! | `fault_proxy` | [`FaultProxy`]: chosen DynamoDB/SQS requests answered with AWS's errors, or their answers lost |
//! | `relay` | (private) the loopback HTTP relaying those two share |
//! | `app` | [`TestApp`] |
//! | `rigs` | [`FanOutRig`], [`MirrorRig`] |
//! | `assertions` | the `assert_*` helpers |
//! | `runtime_api` | a function's real binary driven by a loopback Lambda Runtime API, its output captured ([`run_binary`]) |
//! | `telemetry` | a delivery's log line and metrics, captured and checked ([`check_delivery`]) |
//!
//! Everything is re-exported here, so a test needs only `use engage_testkit::*;`.

mod access;
mod app;
mod assertions;
mod fault_endpoints;
mod fault_proxy;
mod fixtures;
mod local_aws;
mod relay;
mod requests;
mod rigs;
mod runtime_api;
mod telemetry;

pub use access::{
    request_from, send_signed, settings_with, signature_headers_for_bytes, signed_from,
};
pub use app::{TestApp, SAMPLE_TENANT};
pub use assertions::{
    assert_a_retry_is_a_one_call_duplicate, assert_exactly_one_processed_concurrently,
    assert_unavailable_within_ten_seconds,
};
pub use fault_endpoints::{
    hanging_dynamodb, hanging_endpoint, refusing_dynamodb, refusing_endpoint, serialized_local_aws,
    serializing_endpoint,
};
pub use fault_proxy::{Fault, FaultProxy, Rule, Times};
pub use fixtures::{
    contact_envelope, encrypted, envelope, fresh_envelope, payload_of, receiver, repo_root, sealed,
    unique, with_fields, with_payload, CIPHERS, PAYLOAD_KEY, SIGNING_SECRET,
};
pub use local_aws::{
    attribute, attribute_names, counted_dynamodb, counted_sqs, endpoint, item_count, local_aws,
    local_aws_at, messages, new_queue, new_table, CallCounter, Item,
};
pub use requests::{
    answer, attempt, deliver, processed, refused, request, send, signature_headers,
    signature_headers_at, signed_request, Shape,
};
pub use rigs::{FanOutRig, MirrorRig};
pub use runtime_api::{function_url_event, run_binary, BinaryRun};
pub use telemetry::{
    assert_private, check_delivery, observe, observe_any, sent_ago, Age, AnyFunction, Want,
    TEST_NAMESPACE,
};
