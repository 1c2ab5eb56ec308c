//! Fan-out of loyalty and promotion events to SQS, exactly once per event id.
//!
//! - [`message`]: the queue message built from an event.
//! - [`publisher`]: the queue port and its SQS adapter.
//! - [`sendable`]: what SQS can never take, refused before the claim.
//! - [`send_once`](mod@send_once): claim, send, complete or release.
//! - [`function`]: the Lambda function built on them.

mod function;
mod message;
mod publisher;
mod send_once;
mod sendable;

pub use function::{validated_contact_id, FanOutFunction};
pub use message::QueueMessage;
pub use publisher::{QueueError, QueuePublisher, SqsPublisher};
pub use send_once::send_once;
pub use sendable::{check_sendable, MAX_MESSAGE_BYTES as MAX_QUEUE_MESSAGE_BYTES};
