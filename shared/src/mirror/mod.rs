//! The contact mirror in DynamoDB (`CONTACTS_TABLE`), kept by the contact and consent
//! functions and read directly by the shops (My Pages, checkout). Engage is the master; the
//! mirror must end up right whatever order Svix delivers events in. See docs/contact-mirror.md.
//!
//! - [`item`]: the item's shape (attribute names, the tombstone).
//! - [`attribute`]: Engage's JSON as DynamoDB values, numbers exact.
//! - [`change_time`]: a change's time as an orderable instant: `dateChanged`, else the Svix
//!   message time, else the signed timestamp.
//! - [`change`]: what an event changes, read and validated from its payload.
//! - [`write`]: that change as a conditional DynamoDB write (the ordering rules).
//! - [`commit`]: the write and the event's dedup record (built by `crate::dedup`) in one
//!   transaction, retried within the invocation when it conflicts.
//! - [`function`]: the Lambda function built on them.

mod attribute;
mod change;
mod change_time;
mod commit;
mod function;
mod item;
mod write;

pub use change::{Effect, MirrorChange};
pub use change_time::ChangeTime;
pub use commit::{MirrorStore, CONFLICT_RETRY_BUDGET, MAX_CONFLICT_RETRIES};
pub use function::MirrorFunction;
pub use item::TOMBSTONE_ATTRIBUTES;
