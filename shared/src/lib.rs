//! The receiving core shared by the four Engage webhook functions: signature verification,
//! payload decryption, envelope parsing, the typed event model, routing, deduplication in
//! DynamoDB, fan-out to SQS, the contact mirror and the one HTTP contract every function
//! answers with.
//!
//! Verification, decryption and parsing are pure functions over bytes. The effects sit behind
//! two adapters: the dedup record store ([`DedupStore`], implemented by [`DynamoDedup`], which
//! alone knows the record's shape and condition) and the queue ([`QueuePublisher`],
//! implemented by [`SqsPublisher`]). The mirror writes its change and the event's dedup record
//! in one DynamoDB transaction, the record's part built by [`DynamoDedup`] as well.
//!
//! Modules are private; this file chooses the public surface. A request goes
//! [`WebhookFunction::handle`] → the pipeline ([`Receiver`]: method, size, signature, envelope,
//! routing, decryption → [`Event`]) → the family's effect (fan-out [`send_once`] or
//! [`MirrorStore::commit`]) → the answer ([`respond`]). See `docs/architecture.md`.

mod answer;
mod aws;
mod aws_calls;
mod clock;
mod cold_start;
mod config;
mod contract;
mod crypto;
mod dedup;
mod envelope;
mod error;
mod event;
mod fanout;
mod function;
mod logging;
mod message_time;
mod metrics;
mod mirror;
pub mod model;
mod outcome;
mod pipeline;
pub mod relay;
mod secrets;
mod security;
mod signature;
mod tenant_key;

pub use answer::{handle_with, respond};
pub use aws::{
    load as load_aws_config, retries as aws_retries, sdk_error_kind, timeouts as aws_timeouts,
    ENDPOINT_URL_VAR,
};
pub use clock::{lease_until_millis, now_millis};
pub use config::{
    decryptor_from_list, split_list, verifier_from_list, ConfigError, DedupSettings, EngageSecrets,
    Settings, CONTACTS_TABLE, DEDUP_TABLE, DEDUP_TTL_SECONDS, DEFAULT_DEDUP_TTL, LOYALTY_QUEUE_URL,
    MIN_DEDUP_TTL, PAYLOAD_CIPHER, PAYLOAD_KEYS, PROMOTION_QUEUE_URL, SECRETS_ARN, SIGNING_SECRETS,
};
// The access settings and per-family signing secrets (issue 9).
pub use config::{
    family_signing_secrets_var, FunctionSecrets, SecretList, ALLOWED_SOURCE_IPS,
    CONSENT_SIGNING_SECRETS, CONTACT_SIGNING_SECRETS, CUSTOM_HEADER, CUSTOM_HEADER_TOKENS,
    LOYALTY_SIGNING_SECRETS, PROMOTION_SIGNING_SECRETS, TENANTS,
};
pub use contract::{
    DEFAULT_LEASE, JSON_CONTENT_TYPE, MAX_BODY_BYTES, SVIX_ID, SVIX_SIGNATURE, SVIX_TIMESTAMP,
    WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
pub use crypto::{
    encrypt, random_iv, DecryptionFailed, KeyError, PayloadCipher, PayloadDecryptor, PayloadKey,
    UnknownCipher,
};
pub use dedup::{
    Claim, ClaimResult, ClaimToken, CompletedRecord, DedupStore, DynamoDedup, EventIdentity,
    ExistingRecord, StoreError,
};
pub use envelope::Envelope;
pub use error::WebhookError;
pub use event::{Event, EventType, Family};
pub use fanout::{
    check_sendable, send_once, validated_contact_id, FanOutFunction, QueueError, QueueMessage,
    QueuePublisher, SqsPublisher, MAX_QUEUE_MESSAGE_BYTES,
};
pub use function::{serve, WebhookFunction};
pub use logging::{Buffer, Captured, Telemetry, LOG_FORMAT, LOG_LEVEL, RUST_LOG};
pub use message_time::{svix_message_id, MessageTime};
pub use metrics::{metric_line_level, DEFAULT_NAMESPACE, METRICS_NAMESPACE};
pub use mirror::{
    ChangeTime, Effect, MirrorChange, MirrorFunction, MirrorStore, CONFLICT_RETRY_BUDGET,
    MAX_CONFLICT_RETRIES, TOMBSTONE_ATTRIBUTES,
};
pub use outcome::Outcome;
pub use pipeline::{Received, Receiver};
pub use security::{source_ip, CustomHeaderCheck, Guards, SourceIpAllowList, TenantLock};
pub use signature::{
    delivery_id, delivery_timestamp, sign, signed_headers, SecretError, SignatureVerifier,
    SigningError, SigningSecret,
};
pub use tenant_key::{dedup_key, fifo_id, mirror_key};
