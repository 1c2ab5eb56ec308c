//! The receiving core shared by the four Engage webhook functions: signature verification,
//! payload decryption, envelope parsing, the typed event model, routing, deduplication in
//! DynamoDB, fan-out to SQS and the one HTTP contract every function answers with.
//!
//! Verification, decryption and parsing are pure functions over bytes; DynamoDB and SQS sit
//! behind the small [`dedup::DedupStore`] and [`fanout::QueuePublisher`] traits.

pub mod aws;
pub mod cold_start;
pub mod config;
pub mod crypto;
pub mod dedup;
pub mod envelope;
pub mod error;
pub mod event;
pub mod fanout;
pub mod fanout_function;
pub mod mirror;
pub mod model;
pub mod receiver;
pub mod secrets;
pub mod signature;

pub use envelope::Event;
pub use error::{Outcome, WebhookError};
pub use event::{EventType, Family};
pub use receiver::Receiver;
